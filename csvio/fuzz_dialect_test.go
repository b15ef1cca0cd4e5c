package csvio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// fuzzDialect is the dialect a file is written in, picked by bits of
// flags: delimiter, encoding with or without a BOM.
func fuzzDialect(flags uint8) Dialect {
	d := Dialect{Delimiter: []rune{';', ',', '\t', '|'}[flags&3], Encoding: EncodingUTF8}
	switch flags >> 2 & 3 {
	case 1:
		d.BOM = true
	case 2:
		d.Encoding = EncodingWindows1252
	}
	return d
}

// writerQuotes tells whether encoding/csv's writer, under the Writer,
// puts v in quotes: only a quoted value keeps its surrounding spaces.
func writerQuotes(v string, delim rune) bool {
	if v == "" {
		return false
	}
	if v == `\.` || strings.ContainsRune(v, delim) || strings.ContainsAny(v, "\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(v)
	return unicode.IsSpace(r)
}

// FuzzDialectRoundTrip writes a table with the Writer in a dialect and
// reads it back with the Reader, told the dialect or left to detect the
// delimiter and the encoding: every row written comes back on the line
// it was written at, with its values (spaces around an unquoted value
// dropped, line ends as '\n'), rows of empty values skipped; a row the
// Writer refuses holds a value the encoding cannot carry.
func FuzzDialectRoundTrip(f *testing.F) {
	f.Add("Anna\x0012,50\x00 lead\x00trail \x00caf\u00e9\x00a;b\x00\"q\"\x00line\nbreak", uint8(0), uint8(1))
	f.Add("web:1\x0010\x00\x00\x00x\x00\r\n", uint8(9), uint8(0))
	f.Add("\u20ac5\x00\u00e0\u00e8\x00\u2603\x00ok", uint8(8), uint8(2))
	f.Add("\xff\xfe\x00x\x00\x00\x00 \x00 ", uint8(5), uint8(3))
	f.Add("\\.\x00sep=;\x00\t\x00\u00a0", uint8(6), uint8(0))
	f.Fuzz(func(t *testing.T, data string, flags, cols uint8) {
		d := fuzzDialect(flags)
		n := int(cols%4) + 2
		header := make([]string, n)
		columns := make(Columns, n)
		for i := range header {
			header[i] = fmt.Sprintf("c%d", i+1)
			columns[i] = Column{Name: header[i], Headers: []string{header[i]}}
		}
		cells := strings.Split(data, "\x00")
		for len(cells)%n != 0 {
			cells = append(cells, "")
		}

		var buf bytes.Buffer
		w, err := NewWriter(&buf, d, header)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			line   int
			values []string
		}
		var want []row
		line := 2
		for i := 0; i < len(cells); i += n {
			rec := cells[i : i+n]
			if err := w.Write(rec); err != nil {
				if !refusable(rec, d.Encoding) {
					t.Fatalf("row %q refused: %v", rec, err)
				}
				continue
			}
			vals := make([]string, n)
			blank, lines := true, 1
			for j, v := range rec {
				v = strings.ReplaceAll(v, "\r", "")
				lines += strings.Count(v, "\n")
				if !writerQuotes(rec[j], d.Delimiter) {
					v = strings.TrimSpace(v)
				}
				vals[j] = v
				blank = blank && v == ""
			}
			if !blank {
				want = append(want, row{line, vals})
			}
			line += lines
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		file := buf.Bytes()

		for _, auto := range []bool{false, true} {
			rd := d
			rd.BOM = false
			if auto {
				rd.Encoding = EncodingAuto
				if d.Delimiter != '|' { // detection knows ';', ',' and tab
					rd.Delimiter = 0
				}
				// Windows-1252 bytes that happen to be valid UTF-8 are
				// read as UTF-8: detection cannot know better.
				if d.Encoding == EncodingWindows1252 && utf8.Valid(file) && !isASCII(file) {
					continue
				}
			}
			r, err := NewReader(bytes.NewReader(file), "rt.csv", rd, columns)
			if err != nil {
				t.Fatalf("auto %v: header of %q: %v", auto, file, err)
			}
			if r.Delimiter() != d.Delimiter {
				t.Fatalf("auto %v: delimiter %q, written with %q", auto, r.Delimiter(), d.Delimiter)
			}
			if enc := r.Encoding(); enc != d.Encoding && !(auto && isASCII(file) && enc == EncodingUTF8) {
				t.Fatalf("auto %v: encoding %v, written in %v", auto, enc, d.Encoding)
			}
			var got []row
			for {
				rw, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("auto %v: reading %q: %v", auto, file, err)
				}
				vals := make([]string, n)
				for j, c := range header {
					vals[j] = rw.Value(c)
				}
				got = append(got, row{rw.Line, vals})
			}
			if !slices.EqualFunc(got, want, func(a, b row) bool { return a.line == b.line && slices.Equal(a.values, b.values) }) {
				t.Fatalf("auto %v, dialect %+v:\nwritten %+v\nread    %+v\nfile %q", auto, d, want, got, file)
			}
		}
	})
}

// refusable reports whether the Writer may refuse rec in enc: a value that
// is not UTF-8 text, or one with a character Windows-1252 lacks.
func refusable(rec []string, enc Encoding) bool {
	for _, v := range rec {
		if !utf8.ValidString(v) {
			return true
		}
		if enc != EncodingWindows1252 {
			continue
		}
		for _, r := range v {
			if _, ok := windows1252Rune(r); !ok {
				return true
			}
		}
	}
	return false
}

func windows1252Rune(r rune) (byte, bool) {
	if r == utf8.RuneError {
		return 0, false
	}
	return charmap.Windows1252.EncodeRune(r)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fuzzLayouts are date layouts an operator may configure, with and
// without a time of day.
var fuzzLayouts = []string{"2/1/2006", "2006-01-02", "02/01/2006", "02.01.2006", "01/02/2006", "2006-01-02 15:04",
	"02/01/2006 15:04:05", "20060102", "2 Jan 2006", "02-Jan-06", "06-01-02", "2006-002", "Jan _2 2006"}

// FuzzParseDate checks ParseDate against time.Parse and against the
// layout it writes with: a date read is in range and is the first
// layout's reading of the text; a layout Dialect.Validate accepts writes
// every day in range in a form it reads back as that day.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"31/12/2026", "2026-12-31", "29/02/2027", "1/1/2000", "31/12/1999", "01/01/2201", "2026-1-5", "", "12.03.2026", "20260315"} {
		f.Add(s, uint8(0), int32(0))
	}
	f.Add("05-Mar-26", uint8(9), int32(45000))
	f.Add("", uint8(10), int32(55000))
	f.Fuzz(func(t *testing.T, s string, pick uint8, day int32) {
		layouts := []string{fuzzLayouts[int(pick)%len(fuzzLayouts)]}
		if pick&0x80 != 0 {
			layouts = nil // the defaults
		}
		got, err := ParseDate(s, layouts)
		var wantT time.Time
		found := false
		for _, l := range cmpOr(layouts, defaultDateFormats) {
			if tm, err := time.Parse(l, s); err == nil {
				wantT, found = tm, true
				break
			}
		}
		switch {
		case err != nil:
			var ve *ValueError
			if !errors.As(err, &ve) || ve.Reason == "" || ve.Value != s {
				t.Fatalf("ParseDate(%q): error %T %v, want a *ValueError with the value and a reason", s, err, err)
			}
			if found && wantT.Year() >= minYear && wantT.Year() <= maxYear {
				t.Fatalf("ParseDate(%q, %q) refused what time.Parse reads as %v: %v", s, layouts, wantT, err)
			}
		case !found:
			t.Fatalf("ParseDate(%q, %q) = %v, no layout reads it", s, layouts, got)
		case got != (Date{wantT.Year(), wantT.Month(), wantT.Day()}):
			t.Fatalf("ParseDate(%q, %q) = %v, time.Parse reads %v", s, layouts, got, wantT)
		case got.Year < minYear || got.Year > maxYear:
			t.Fatalf("ParseDate(%q) = %v, out of range", s, got)
		}

		// Written and read back with a layout the dialect accepts.
		l := fuzzLayouts[int(pick)%len(fuzzLayouts)]
		if (Dialect{DateFormats: []string{l}, DateFormat: l}).Validate() != nil {
			return
		}
		span := int32(time.Date(maxYear, 12, 31, 0, 0, 0, 0, time.UTC).Sub(time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24)
		tm := time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int((day%(span+1)+span+1)%(span+1)))
		want := Date{tm.Year(), tm.Month(), tm.Day()}
		back, err := ParseDate(want.Format(l), []string{l})
		if err != nil || back != want {
			t.Fatalf("layout %q passes Validate but writes %v as %q, read back as %v, %v", l, want, want.Format(l), back, err)
		}
	})
}

func cmpOr(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}
