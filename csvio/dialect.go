package csvio

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Decimal says which character separates the decimals in numbers.
type Decimal int

const (
	// DecimalComma is the Italian form: "1.234,56". It is the zero value
	// because Italian Excel writes it.
	DecimalComma Decimal = iota
	// DecimalPoint is the English form: "1,234.56".
	DecimalPoint
)

func (d Decimal) String() string {
	if d == DecimalPoint {
		return "point"
	}
	return "comma"
}

// separators returns the decimal and the thousands separator of d.
func (d Decimal) separators() (dec, thousands byte) {
	if d == DecimalPoint {
		return '.', ','
	}
	return ',', '.'
}

// Encoding is the character encoding of a file.
type Encoding int

const (
	// EncodingAuto reads a UTF-8 BOM or samples the start of the file;
	// writers treat it as UTF-8.
	EncodingAuto Encoding = iota
	EncodingUTF8
	EncodingWindows1252
)

func (e Encoding) String() string {
	switch e {
	case EncodingUTF8:
		return "utf-8"
	case EncodingWindows1252:
		return "windows-1252"
	default:
		return "auto"
	}
}

// Default layouts: day first, as Italian staff write dates, and ISO, which
// cannot be confused with it. "2/1/2006" also takes "02/01/2006".
var (
	defaultDateFormats = []string{"2/1/2006", "2006-01-02"}
)

const defaultDateFormat = "02/01/2006"

// Dialect is how one kind of file is written. The zero value is what Italian
// Excel produces: delimiter detected, decimal comma, encoding detected, dates
// as 31/12/2026 or 2026-12-31.
type Dialect struct {
	// Delimiter separates fields; 0 detects ';', ',' or tab from the header
	// line when reading and writes ';' (Excel's choice with decimal comma).
	Delimiter rune
	Decimal   Decimal
	Encoding  Encoding
	// DateFormats are Go layouts tried in order when reading a date.
	DateFormats []string
	// DateFormat is the Go layout used when writing a date.
	DateFormat string
	// BOM makes a writer start with a UTF-8 byte order mark, which Excel
	// needs to open a UTF-8 file with accents right. With Windows-1252 it is
	// a configuration error. Readers ignore it: a BOM is always stripped.
	BOM bool
}

// Validate reports a dialect that cannot work, naming the setting.
func (d Dialect) Validate() error {
	if d.Delimiter != 0 {
		if err := checkDelimiter(d.Delimiter); err != nil {
			return err
		}
	}
	if d.Decimal != DecimalComma && d.Decimal != DecimalPoint {
		return fmt.Errorf("decimal: unknown value %d", int(d.Decimal))
	}
	if d.Encoding < EncodingAuto || d.Encoding > EncodingWindows1252 {
		return fmt.Errorf("encoding: unknown value %d", int(d.Encoding))
	}
	for _, l := range d.DateFormats {
		if err := checkLayout(l); err != nil {
			return fmt.Errorf("date formats: %w", err)
		}
	}
	if d.DateFormat != "" {
		if err := checkWriteLayout(d.DateFormat); err != nil {
			return fmt.Errorf("date format: %w", err)
		}
	}
	return nil
}

func checkDelimiter(r rune) error {
	if r == '"' || r == '\r' || r == '\n' || r == ' ' || r == utf8.RuneError || !utf8.ValidRune(r) {
		return fmt.Errorf("delimiter %q cannot be used; use \";\", \",\" or tab", r)
	}
	return nil
}

// checkLayout catches a layout that would never parse a day, such as one
// written in the operator's notation ("dd/mm/yyyy") instead of Go's.
func checkLayout(l string) error {
	d := Date{Year: 2026, Month: 12, Day: 31}
	got, err := ParseDate(d.Format(l), []string{l})
	if err != nil || got != d {
		return fmt.Errorf("layout %q does not write and read back a day; write it as Go layouts do, e.g. \"02/01/2006\" for 31/12/2026", l)
	}
	return nil
}

// checkWriteLayout checks a layout dates are written with: every day a
// reader accepts must come back as itself, so a two-digit year, which
// reads 2123 back as 2023, is refused.
func checkWriteLayout(l string) error {
	if err := checkLayout(l); err != nil {
		return err
	}
	for _, d := range []Date{{Year: minYear, Month: 1, Day: 1}, {Year: maxYear, Month: 12, Day: 31}} {
		if got, err := ParseDate(d.Format(l), []string{l}); err != nil || got != d {
			return fmt.Errorf("layout %q writes %s as %q, which does not read back as that day; write the year with four digits (2006)", l, d, d.Format(l))
		}
	}
	return nil
}

func (d Dialect) dateFormats() []string {
	if len(d.DateFormats) == 0 {
		return defaultDateFormats
	}
	return d.DateFormats
}

func (d Dialect) dateFormat() string {
	if d.DateFormat == "" {
		return defaultDateFormat
	}
	return d.DateFormat
}

// ParseDelimiter reads the configuration word for a delimiter: "auto", ";",
// ",", "tab" (or "semicolon", "comma", a literal tab). "auto" gives 0.
func ParseDelimiter(s string) (rune, error) {
	if s == "\t" {
		return '\t', nil
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return 0, nil
	case ";", "semicolon":
		return ';', nil
	case ",", "comma":
		return ',', nil
	case "tab", `\t`:
		return '\t', nil
	}
	return 0, fmt.Errorf("delimiter %q: use auto, \";\", \",\" or tab", s)
}

// ParseDecimal reads the configuration word for the decimal separator.
func ParseDecimal(s string) (Decimal, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "comma", ",":
		return DecimalComma, nil
	case "point", "dot", ".":
		return DecimalPoint, nil
	}
	return 0, fmt.Errorf("decimal %q: use comma (1.234,56) or point (1,234.56)", s)
}

// ParseEncoding reads the configuration word for the encoding.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return EncodingAuto, nil
	case "utf-8", "utf8":
		return EncodingUTF8, nil
	case "windows-1252", "cp1252", "windows1252":
		return EncodingWindows1252, nil
	}
	return 0, fmt.Errorf("encoding %q: use auto, utf-8 or windows-1252", s)
}

// errNoDelimiter is wrapped by the header error when detection fails, so a
// caller can tell the operator to configure it.
var errNoDelimiter = errors.New("cannot detect the delimiter")

// detectDelimiter counts the candidate delimiters outside quotes in the
// header line. Only the header is used: data rows hold decimal commas.
func detectDelimiter(line []byte) (rune, error) {
	var semi, comma, tab int
	inQuotes := false
	for _, c := range line {
		switch c {
		case '"':
			inQuotes = !inQuotes
		case ';':
			if !inQuotes {
				semi++
			}
		case ',':
			if !inQuotes {
				comma++
			}
		case '\t':
			if !inQuotes {
				tab++
			}
		}
	}
	best, n, tie := rune(0), 0, false
	for _, c := range []struct {
		r rune
		n int
	}{{';', semi}, {',', comma}, {'\t', tab}} {
		switch {
		case c.n > n:
			best, n, tie = c.r, c.n, false
		case c.n == n && n > 0:
			tie = true
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: the header line has no ';', ',' or tab; set the delimiter in the configuration", errNoDelimiter)
	}
	if tie {
		return 0, fmt.Errorf("%w: the header line has %d ';', %d ',' and %d tabs; set the delimiter in the configuration", errNoDelimiter, semi, comma, tab)
	}
	return best, nil
}
