package csvio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzAdjustmentReader(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "adjustments", "*", "input.csv"))
	for _, p := range inputs {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false, false)
		f.Add(data, true, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, point, amount bool) {
		d := Dialect{}
		if point {
			d.Decimal = DecimalPoint
		}
		ar, err := NewAdjustmentReader(bytes.NewReader(data), "fuzz.csv", d, nil, amount)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Line < 1 || fe.File != "fuzz.csv" {
				t.Fatalf("header error %T %v, want a *FileError with a line", err, err)
			}
			return
		}
		last := 1 // the header's line or later
		for calls := 0; ; calls++ {
			if calls > len(data)+1 {
				t.Fatalf("%d calls to Next on %d bytes: the reader does not advance", calls, len(data))
			}
			a, err := ar.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *RowError
			var fe *FileError
			switch {
			case errors.As(err, &re):
				if re.Line <= last {
					t.Fatalf("row error on line %d after line %d: %v", re.Line, last, err)
				}
				last = re.Line
			case errors.As(err, &fe):
				if fe.Line < 1 {
					t.Fatalf("fatal error without a line: %v", err)
				}
				if _, again := ar.Next(); again != err {
					t.Fatalf("after fatal %v, Next returned %v", err, again)
				}
				return
			case err != nil:
				t.Fatalf("error of type %T: %v", err, err)
			default:
				if a.Line <= last {
					t.Fatalf("row on line %d after line %d", a.Line, last)
				}
				last = a.Line
				if a.Customer == "" || a.Points == 0 || utf8.RuneCountInString(a.Note) > MaxNoteRunes {
					t.Fatalf("row that should have been refused: %+v", a)
				}
				if a.HasExpiry != !a.Expiry.IsZero() {
					t.Fatalf("HasExpiry %v with expiry %v", a.HasExpiry, a.Expiry)
				}
			}
		}
	})
}

var numberSeeds = []string{
	"0", "12", "12,5", "12,50", "-0,05", "+3", "1.234", "1.234,56", "1.234.567,89",
	"12.50", "1,234.56", "12,345", "12.5", "1.23,00", "12.34.5", "€12", "12 EUR",
	"1 234", "", "-", ",5", "5,", "100000000000,01", "150,00", "9223372036854775807",
}

func FuzzParseCents(f *testing.F) {
	for _, s := range numberSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, point bool) {
		dec := DecimalComma
		if point {
			dec = DecimalPoint
		}
		c, err := ParseCents(s, dec)
		if err != nil {
			var ve *ValueError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		if c > maxCents || c < -maxCents {
			t.Fatalf("ParseCents(%q) = %d, beyond the limit", s, c)
		}
		back, err := ParseCents(FormatCents(c, dec), dec)
		if err != nil || back != c {
			t.Fatalf("ParseCents(%q) = %d, formatted %q, read back %d, %v", s, c, FormatCents(c, dec), back, err)
		}
	})
}

func FuzzParseInt(f *testing.F) {
	for _, s := range numberSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, point bool) {
		dec := DecimalComma
		if point {
			dec = DecimalPoint
		}
		n, err := ParseInt(s, dec)
		if err != nil {
			return
		}
		if n > maxPoints || n < -maxPoints {
			t.Fatalf("ParseInt(%q) = %d, beyond the limit", s, n)
		}
		if back, err := ParseInt(FormatInt(n), dec); err != nil || back != n {
			t.Fatalf("ParseInt(%q) = %d, read back %d, %v", s, n, back, err)
		}
		// The two parsers share a grammar: where both accept, they agree.
		if c, err := ParseCents(s, dec); err == nil && c != n*100 {
			t.Fatalf("ParseInt(%q) = %d but ParseCents = %d", s, n, c)
		}
		if back, err := ParseCents(FormatCents(n*100, dec), dec); n <= maxCents/100 && n >= -maxCents/100 && (err != nil || back != n*100) {
			t.Fatalf("%d points as cents: %d, %v", n, back, err)
		}
	})
}

// FuzzReaderQuoting checks the reader's records against encoding/csv on the
// same bytes, with quoting read from the raw input at each field's position:
// spaces are trimmed exactly around unquoted values, blank records are
// skipped, and grammar errors become row errors on the record's first line.
func FuzzReaderQuoting(f *testing.F) {
	for _, s := range []string{
		"a;b;c\n a ; b ; c \n",
		"\" a \";\" b \"\r\n\"x\n y \"; z \n",
		"a;\"b\"\"c\" \nd;e\n",
		";;\n  \n\"\"\n",
		"a;\"open\nb;c\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.TrimPrefix(data, utf8BOM)
		if !utf8.Valid(data) {
			return
		}
		rd, err := openRecords(bytes.NewReader(data), "q.csv", Dialect{Delimiter: ';', Encoding: EncodingUTF8})
		if err != nil {
			t.Fatal(err)
		}
		ref := csv.NewReader(bytes.NewReader(data))
		ref.Comma, ref.FieldsPerRecord = ';', -1
		lines := bytes.Split(data, []byte("\n"))
		for {
			want, werr := ref.Read()
			if werr == nil {
				blank := true
				for i, v := range want {
					l, c := ref.FieldPos(i)
					if raw := lines[l-1]; c > len(raw) || raw[c-1] != '"' {
						want[i] = strings.TrimSpace(v)
					}
					blank = blank && want[i] == ""
				}
				if blank {
					continue
				}
			}
			got, line, err := rd.record()
			var pe *csv.ParseError
			switch {
			case errors.Is(werr, io.EOF):
				if !errors.Is(err, io.EOF) {
					t.Fatalf("reference at EOF, reader gave %q %v", got, err)
				}
				return
			case errors.As(werr, &pe):
				var re *RowError
				if !errors.As(err, &re) || re.Line != pe.StartLine {
					t.Fatalf("reference error %v, reader gave %q %v", werr, got, err)
				}
			case werr != nil:
				t.Fatal(werr)
			default:
				l, _ := ref.FieldPos(0)
				if err != nil || line != l || !slices.Equal(got, want) {
					t.Fatalf("line %d: reference %q, reader gave line %d %q %v", l, want, line, got, err)
				}
			}
		}
	})
}
