package csvio

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf16"
)

// The bad input catalogue of docs/reliability.md, for the readers every
// CSV file goes through (drops and imports).

// TestBadInputUTF16 reads a file saved as UTF-16 (Excel's "Unicode
// text"): whatever encoding is configured, it is refused at line 1 with
// what to do, instead of a header of noise.
func TestBadInputUTF16(t *testing.T) {
	text := "customer;points\nweb:1;5\n"
	encode := func(bigEndian bool) string {
		b := []byte{0xFF, 0xFE}
		if bigEndian {
			b = []byte{0xFE, 0xFF}
		}
		for _, r := range utf16.Encode([]rune(text)) {
			if bigEndian {
				b = append(b, byte(r>>8), byte(r))
			} else {
				b = append(b, byte(r), byte(r>>8))
			}
		}
		return string(b)
	}
	const want = "in.csv:1: the file is UTF-16 (it starts with a UTF-16 byte order mark), which is not read: save it again as UTF-8 (in Excel: CSV UTF-8) or Windows-1252"
	for _, big := range []bool{false, true} {
		for _, enc := range []Encoding{EncodingAuto, EncodingUTF8, EncodingWindows1252} {
			_, err := NewAdjustmentReader(strings.NewReader(encode(big)), "in.csv", Dialect{Encoding: enc}, nil, false)
			var fe *FileError
			if !errors.As(err, &fe) || err.Error() != want {
				t.Errorf("big endian %v, encoding %v: %T %v\nwant a *FileError %s", big, enc, err, err, want)
			}
		}
	}
	// A Windows-1252 file whose first letters are ÿ and þ is not UTF-16
	// when no byte order mark of two bytes stands first: "ÿ;" is read.
	r, err := NewReader(strings.NewReader("\xff;id\n1;2\n"), "w.csv", Dialect{}, Columns{{Name: "id", Required: true, Headers: []string{"id"}}, {Name: "y", Headers: []string{"ÿ"}}})
	if err != nil {
		t.Fatalf("a Windows-1252 header starting with ÿ: %v", err)
	}
	if row, err := r.Next(); err != nil || row.Value("id") != "2" || row.Value("y") != "1" {
		t.Fatalf("row %+v, %v", row, err)
	}
}

// TestBadInputImportValues reads one import file whose rows each carry a
// bad date or number: every bad row is reported with its line, column and
// reason, and the good rows of the same file are read.
func TestBadInputImportValues(t *testing.T) {
	rows := []struct {
		row    string
		column string
		reason string // "" for a good row
	}{
		{"web:1;5;2026-12-31", "", ""},
		{"web:2;5;0001-01-01", "expiry", "year 1 is out of range (2000 to 2200); check the date"},
		{"web:3;5;9999-12-31", "expiry", "year 9999 is out of range (2000 to 2200); check the date"},
		{"web:4;5;30/02/2026", "expiry", "no such day: the day or the month is out of range"},
		{"web:5;5;2026-02-29", "expiry", "no such day: the day or the month is out of range"},
		{"web:6;5;29/02/2028", "", ""},
		{"web:7;5;31/12/26", "expiry", `not a date in the formats configured: "2/1/2006" (like 31/12/2026), "2006-01-02" (like 2026-12-31)`},
		{"web:8;5;2026-12-31T00:00:00Z", "expiry", "not a date in the formats configured"},
		{"web:9;-9223372036854775808;", "points", "is too large (the limit is 1000000000000)"},
		{"web:10;9223372036854775807;", "points", "is too large (the limit is 1000000000000)"},
		{"web:11;1.000.000.000.000;", "", ""},
		{"web:12;-1.000.000.000.001;", "points", "is too large (the limit is 1000000000000)"},
		{"web:13;-7;", "", ""},
		{"web:14;1e3;", "points", "is not a number"},
		{"web:15;0x10;", "points", "is not a number"},
	}
	in := "customer;points;expiry\n"
	for _, r := range rows {
		in += r.row + "\n"
	}
	ar, err := NewAdjustmentReader(strings.NewReader(in), "in.csv", Dialect{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]error{}
	read := map[int]Adjustment{}
	for {
		a, err := ar.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			got[re.Line] = re
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		read[a.Line] = a
	}
	for i, r := range rows {
		line := i + 2
		err := got[line]
		if r.reason == "" {
			if _, ok := read[line]; !ok || err != nil {
				t.Errorf("line %d %q: not read (%v)", line, r.row, err)
			}
			continue
		}
		var re *RowError
		if !errors.As(err, &re) || re.File != "in.csv" || re.Column != r.column || !strings.Contains(re.Reason, r.reason) {
			t.Errorf("line %d %q: %v\nwant column %q with %q", line, r.row, err, r.column, r.reason)
		}
	}
	if a := read[7]; !a.HasExpiry || a.Expiry != (Date{Year: 2028, Month: 2, Day: 29}) {
		t.Errorf("29/02/2028 read as %+v", a.Expiry)
	}
	if a := read[12]; a.Points != 1_000_000_000_000 {
		t.Errorf("1.000.000.000.000 read as %d", a.Points)
	}
}
