package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Column declares one logical column of a file kind.
type Column struct {
	Name     string   // logical name, used to fetch the value from a Row
	Headers  []string // header texts accepted for it, matched trimmed and case-insensitively
	Required bool
}

// Columns declares the logical columns of a file kind.
type Columns []Column

// validate catches declarations that would make a header ambiguous; these
// come from configuration (header overrides), so they name the header text.
func (cols Columns) validate() error {
	if len(cols) == 0 {
		return errors.New("no columns declared")
	}
	names := map[string]bool{}
	owner := map[string]string{}
	for _, c := range cols {
		if c.Name == "" {
			return errors.New("a column has no name")
		}
		if names[c.Name] {
			return fmt.Errorf("column %s declared twice", c.Name)
		}
		names[c.Name] = true
		if len(c.Headers) == 0 {
			return fmt.Errorf("column %s: no header name accepted for it", c.Name)
		}
		for _, h := range c.Headers {
			k := headerKey(h)
			if k == "" {
				return fmt.Errorf("column %s: empty header name", c.Name)
			}
			if o, ok := owner[k]; ok && o != c.Name {
				return fmt.Errorf("header %q is used for both %s and %s", h, o, c.Name)
			}
			owner[k] = c.Name
		}
	}
	return nil
}

func (cols Columns) describe() string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		req := "optional"
		if c.Required {
			req = "required"
		}
		parts[i] = fmt.Sprintf("%s (%s; header %s)", c.Name, req, strings.Join(quoteAll(c.Headers), " or "))
	}
	return strings.Join(parts, ", ")
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func headerKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Row is one data row, its values looked up by logical column name.
type Row struct {
	Line   int // physical line (1-based) where the row starts
	names  []string
	values []string
	lines  []int
	has    []bool
}

// Value returns the value of a logical column, "" when the file has no such
// column.
func (r Row) Value(name string) string {
	if i := r.index(name); i >= 0 {
		return r.values[i]
	}
	return ""
}

// Has reports whether the file has the logical column at all, which tells
// an empty value from an absent column.
func (r Row) Has(name string) bool {
	i := r.index(name)
	return i >= 0 && r.has[i]
}

// LineOf returns the physical line where the column's value starts: a row
// whose earlier field spans lines has later values on later lines.
func (r Row) LineOf(name string) int {
	if i := r.index(name); i >= 0 && r.has[i] {
		return r.lines[i]
	}
	return r.Line
}

func (r Row) index(name string) int {
	for i, n := range r.names {
		if n == name {
			return i
		}
	}
	return -1
}

// Reader reads the rows of a CSV file with a header, one at a time.
type Reader struct {
	name  string
	csv   *csv.Reader
	lim   *limitReader
	enc   Encoding
	delim rune

	names   []string // logical names, in declaration order
	has     []bool   // logical column present in the header
	field   []int    // per header field: logical index, or -1 for an unnamed field
	headers []string // per header field: the text as written
	done    error    // io.EOF or a fatal error, returned from then on
}

// NewReader reads the header of r and maps it onto cols. name is the file
// name used in errors. Header problems, an empty file and an undetectable
// delimiter are returned as *FileError.
func NewReader(r io.Reader, name string, d Dialect, cols Columns) (*Reader, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := cols.validate(); err != nil {
		return nil, err
	}
	rd, err := openRecords(r, name, d)
	if err != nil {
		return nil, err
	}
	if err := rd.readHeader(cols); err != nil {
		return nil, err
	}
	return rd, nil
}

// openRecords settles encoding and delimiter and sets up the record reader.
func openRecords(r io.Reader, name string, d Dialect) (*Reader, error) {
	br := bufio.NewReaderSize(r, sampleSize)
	text, enc, err := decode(br, d.Encoding)
	if errors.Is(err, errUTF16) {
		return nil, &FileError{File: name, Line: 1, Reason: err.Error()}
	}
	if err != nil {
		return nil, &FileError{File: name, Line: 1, Reason: "cannot read the file", Err: err}
	}
	tb, ok := text.(*bufio.Reader)
	if !ok {
		tb = bufio.NewReaderSize(text, sampleSize)
	}
	delim := d.Delimiter
	if delim == 0 {
		if delim, err = sniffDelimiter(tb, name); err != nil {
			return nil, err
		}
	}
	lim := newLimitReader(tb, MaxRecordBytes)
	cr := csv.NewReader(bufio.NewReaderSize(lim, readAhead))
	cr.Comma = delim
	cr.FieldsPerRecord = -1 // a short or long row is a row error, not the end of the file
	cr.ReuseRecord = true
	return &Reader{name: name, csv: cr, lim: lim, enc: enc, delim: delim}, nil
}

// Delimiter is the delimiter in use, configured or detected.
func (r *Reader) Delimiter() rune { return r.delim }

// Encoding is the encoding in use, configured or detected.
func (r *Reader) Encoding() Encoding { return r.enc }

// sniffDelimiter looks at the first non-blank line without consuming it.
func sniffDelimiter(tb *bufio.Reader, name string) (rune, error) {
	buf, err := tb.Peek(sampleSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, &FileError{File: name, Line: 1, Reason: "cannot read the file", Err: err}
	}
	line := 1
	for len(buf) > 0 {
		l := buf
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			l, buf = buf[:i], buf[i+1:]
		} else {
			buf = nil
		}
		if len(bytes.TrimSpace(l)) == 0 {
			line++
			continue
		}
		// Excel's own hint line, "sep=;", names the delimiter outright.
		if t := bytes.TrimRight(l, "\r"); len(t) == 5 && bytes.EqualFold(t[:4], []byte("sep=")) {
			if err := checkDelimiter(rune(t[4])); err == nil {
				return rune(t[4]), nil
			}
		}
		d, err := detectDelimiter(l)
		if err != nil {
			return 0, &FileError{File: name, Line: line, Err: err}
		}
		return d, nil
	}
	return 0, &FileError{File: name, Line: 1, Reason: "the file is empty: a header line is expected"}
}

func (r *Reader) readHeader(cols Columns) error {
	rec, line, err := r.record()
	if err == nil && isSepLine(rec, r.delim) {
		rec, line, err = r.record()
	}
	if err == io.EOF {
		return &FileError{File: r.name, Line: 1, Reason: "the file is empty: a header line is expected"}
	}
	var re *RowError
	if errors.As(err, &re) {
		return &FileError{File: r.name, Line: re.Line, Reason: "header: " + re.Reason}
	}
	if err != nil {
		return err
	}
	if r.enc == EncodingUTF8 {
		for i, h := range rec {
			if !utf8.ValidString(h) {
				l, _ := r.csv.FieldPos(i)
				return &FileError{File: r.name, Line: l, Reason: fmt.Sprintf("header %q is not valid UTF-8: the file is probably Windows-1252; set its encoding to windows-1252", truncate(h))}
			}
		}
	}

	r.names = make([]string, len(cols))
	r.has = make([]bool, len(cols))
	lookup := map[string]int{}
	for i, c := range cols {
		r.names[i] = c.Name
		for _, h := range c.Headers {
			lookup[headerKey(h)] = i
		}
	}
	r.field = make([]int, len(rec))
	r.headers = make([]string, len(rec))
	seen := make([]string, len(cols))
	var problems []string
	for i, h := range rec {
		h = strings.TrimSpace(h)
		r.headers[i] = h
		r.field[i] = -1
		if h == "" {
			continue // Excel leaves empty header cells after the last column
		}
		c, ok := lookup[headerKey(h)]
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown column %q", truncate(h)))
			continue
		}
		if seen[c] != "" {
			problems = append(problems, fmt.Sprintf("columns %q and %q both mean %s", seen[c], truncate(h), cols[c].Name))
			continue
		}
		seen[c] = h
		r.field[i] = c
		r.has[c] = true
	}
	for i, c := range cols {
		if c.Required && !r.has[i] {
			problems = append(problems, fmt.Sprintf("missing required column %s", c.Name))
		}
	}
	if len(rec) == 1 && len(problems) > 0 {
		if d, err := detectDelimiter([]byte(rec[0])); err == nil && d != r.delim {
			problems = append(problems, fmt.Sprintf("the header looks delimited by %s, not %s: check the delimiter setting", delimName(d), delimName(r.delim)))
		}
	}
	if len(problems) > 0 {
		return &FileError{File: r.name, Line: line, Reason: fmt.Sprintf("header: %s; expected columns: %s; header names can be mapped in the configuration",
			strings.Join(problems, "; "), cols.describe())}
	}
	return nil
}

// isSepLine recognises the "sep=;" line Excel writes before the header.
func isSepLine(rec []string, delim rune) bool {
	return strings.EqualFold(strings.Join(rec, string(delim)), "sep="+string(delim))
}

// Next returns the next data row. A *RowError concerns that row only and the
// caller may go on; io.EOF ends the file; any other error is a *FileError
// and is returned again on every later call.
func (r *Reader) Next() (Row, error) {
	if r.done != nil {
		return Row{}, r.done
	}
	rec, line, err := r.record()
	if err != nil {
		var re *RowError
		if !errors.As(err, &re) {
			r.done = err
		}
		return Row{}, err
	}
	if len(rec) != len(r.field) {
		return Row{}, &RowError{File: r.name, Line: line,
			Reason: fmt.Sprintf("the row has %d fields but the header has %d (a value holding %s must be in quotes)", len(rec), len(r.field), delimName(r.delim))}
	}
	row := Row{Line: line, names: r.names, has: r.has,
		values: make([]string, len(r.names)), lines: make([]int, len(r.names))}
	for i, v := range rec {
		fl, _ := r.csv.FieldPos(i)
		c := r.field[i]
		if r.enc == EncodingUTF8 && !utf8.ValidString(v) {
			// Name the very line: the value may span several.
			return Row{}, &RowError{File: r.name, Line: fl + strings.Count(v[:firstInvalid(v)], "\n"), Column: r.columnName(i), Value: v,
				Reason: "not valid UTF-8: from here on the file looks like Windows-1252; set its encoding to windows-1252"}
		}
		if c < 0 {
			if v != "" {
				return Row{}, &RowError{File: r.name, Line: fl, Column: r.columnName(i), Value: v,
					Reason: "a value under a column with no header; name the column or remove the value"}
			}
			continue
		}
		row.values[c] = v
		row.lines[c] = fl
	}
	return row, nil
}

func (r *Reader) columnName(field int) string {
	if c := r.field[field]; c >= 0 {
		return r.names[c]
	}
	if h := r.headers[field]; h != "" {
		return h
	}
	return fmt.Sprintf("#%d", field+1)
}

// firstInvalid is the index of the first byte of s that is not UTF-8.
func firstInvalid(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return i
			}
		}
	}
	return len(s)
}

func delimName(d rune) string {
	if d == '\t' {
		return "a tab"
	}
	return fmt.Sprintf("%q", d)
}

// record returns the next non-blank record, with spaces trimmed around its
// unquoted fields, and the line where it starts. Grammar errors come back as
// *RowError because encoding/csv resumes at the next line.
func (r *Reader) record() ([]string, int, error) {
	for {
		rec, err := r.csv.Read()
		if err != nil {
			var pe *csv.ParseError
			var tl *tooLongError
			switch {
			case errors.As(err, &pe):
				r.lim.mark(r.csv.InputOffset(), pe.Line)
				atEOF := r.lim.eof && r.csv.InputOffset() == r.lim.delivered
				return nil, pe.StartLine, &RowError{File: r.name, Line: pe.StartLine, Reason: quoteReason(pe, atEOF)}
			case errors.Is(err, io.EOF):
				return nil, 0, io.EOF
			case errors.As(err, &tl):
				return nil, 0, &FileError{File: r.name, Line: tl.line, Reason: tl.Error(), Err: errRecordTooLong}
			default:
				return nil, 0, &FileError{File: r.name, Line: r.lim.line, Reason: "cannot read the file", Err: err}
			}
		}
		start, _ := r.csv.FieldPos(0)
		blank := true
		dl := utf8.RuneLen(r.delim)
		for i, f := range rec {
			line, col := r.csv.FieldPos(i)
			var quoted bool
			switch {
			case strings.Contains(f, "\n"):
				quoted = true // only a quoted value can hold a line break
			case i < len(rec)-1:
				// An unquoted value is exactly the bytes up to the delimiter;
				// a quoted one is at least two bytes longer.
				nl, ncol := r.csv.FieldPos(i + 1)
				quoted = nl != line || ncol-col-dl != len(f)
			default:
				quoted = r.lim.endsWithQuote(line)
			}
			if !quoted {
				f = strings.TrimSpace(f)
				rec[i] = f
			}
			if f != "" {
				blank = false
			}
		}
		last := len(rec) - 1
		end, _ := r.csv.FieldPos(last)
		end += strings.Count(rec[last], "\n")
		r.lim.mark(r.csv.InputOffset(), end)
		if blank {
			continue
		}
		return rec, start, nil
	}
}

func quoteReason(pe *csv.ParseError, atEOF bool) string {
	if errors.Is(pe.Err, csv.ErrBareQuote) {
		return fmt.Sprintf("a quote inside a value that does not start with a quote (line %d, column %d); put the whole value in quotes and write each quote inside it twice", pe.Line, pe.Column)
	}
	if atEOF {
		return fmt.Sprintf("a quote opened in this row is never closed: the file ends inside it (line %d); close the quote", pe.Line)
	}
	if pe.Line != pe.StartLine {
		return fmt.Sprintf("a quote opened in this row is not closed properly (found at line %d, column %d); the lines in between were read as part of this row", pe.Line, pe.Column)
	}
	return fmt.Sprintf("a quoted value is not closed properly (column %d): after the closing quote only the delimiter or the end of the line may follow, and a quote inside the value must be written twice", pe.Column)
}
