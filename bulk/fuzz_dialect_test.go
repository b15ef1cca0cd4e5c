package bulk

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/pointsync/pointsync/csvio"
)

// importVariant is a dialect to compare with the reference one (';',
// decimal comma, UTF-8, the default date formats, English headers),
// picked by the bits of flags.
type importVariant struct {
	write   csvio.Dialect // as the file is written
	read    csvio.Dialect // as the import is told
	point   bool          // decimal point: '.' and ',' swap in the points
	dates   bool          // expiry dates as 31.12.2026
	headers []string
	columns map[string]string // header overrides, when the headers are not built-in names
}

const importLayout = "02.01.2006"

func newImportVariant(flags uint8) importVariant {
	v := importVariant{point: flags&4 != 0, dates: flags&32 != 0, headers: []string{"customer", "points", "expiry", "note"}}
	d := csvio.Dialect{Delimiter: []rune{';', ',', '\t', ';'}[flags&3], Encoding: csvio.EncodingUTF8}
	switch flags >> 3 & 3 {
	case 1:
		d.BOM = true
	case 2, 3:
		d.Encoding = csvio.EncodingWindows1252
	}
	if v.point {
		d.Decimal = csvio.DecimalPoint
	}
	if v.dates {
		d.DateFormats = []string{importLayout, "2006-01-02"}
	}
	switch flags >> 6 {
	case 1:
		v.headers = []string{"cliente", "punti", "scadenza", "nota"}
	case 2:
		v.headers = []string{"Tessera Cliente", "Saldo", "Valida fino al", "Causale"}
		v.columns = map[string]string{"customer": "Tessera Cliente", "points": "Saldo", "expiry": "Valida fino al", "note": "Causale"}
	}
	v.write, v.read = d, d
	v.read.BOM = false
	if flags&128 != 0 && flags&64 != 0 { // left to detection
		v.read.Delimiter, v.read.Encoding = 0, csvio.EncodingAuto
	}
	return v
}

// importTable reads the fuzzer's text as rows of customer, points,
// expiry and note, separated by '|', trimmed, in text Windows-1252 holds.
func importTable(data string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(data, "\n") {
		row := make([]string, 4)
		for j, v := range strings.Split(line, "|") {
			if j < len(row) {
				v = strings.Map(func(r rune) rune {
					if _, ok := charmap.Windows1252.EncodeRune(r); !ok || r == utf8.RuneError || r == '\r' {
						return '?'
					}
					return r
				}, strings.ToValidUTF8(v, "?"))
				row[j] = strings.TrimSpace(v)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// translate writes the reference rows in the variant's notation; an
// expiry only the variant reads becomes "x" in both.
func (v importVariant) translate(ref [][]string) [][]string {
	out := make([][]string, len(ref))
	for i, row := range ref {
		out[i] = append([]string(nil), row...)
		if v.point {
			out[i][1] = strings.Map(func(r rune) rune {
				switch r {
				case '.':
					return ','
				case ',':
					return '.'
				}
				return r
			}, row[1])
		}
		if v.dates && row[2] != "" {
			if d, err := csvio.ParseDate(row[2], nil); err == nil {
				out[i][2] = d.Format(importLayout)
			} else if _, err := csvio.ParseDate(row[2], v.read.DateFormats); err == nil {
				ref[i][2], out[i][2] = "x", "x"
			}
		}
	}
	return out
}

func importFile(t *testing.T, d csvio.Dialect, header []string, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := csvio.NewWriter(&buf, d, header)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatalf("row %q: %v", r, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzImportDialects imports the same adjustments, as a dry run, written
// in the reference dialect and in another one (delimiter, decimal point,
// Windows-1252 or a BOM, day-first dates with dots, Italian or configured
// headers, delimiter and encoding detected): both give the same counts
// and refuse the same lines and columns, and every refusal names a data
// line and says why.
func FuzzImportDialects(f *testing.F) {
	for i, s := range []string{
		"web:1|1.000|31/12/2099|natale\nweb:2|12,5||\nweb:2|20||ok",
		"web:1|-5||storno\ncard:9001|1,50|2099-01-31|\nweb:9|7||nuovo",
		"web:1|0||\n|3||\nweb:1|5|31/02/2099|\nweb:1|5|01/01/2020|passato\nweb:1|5|2099-12-31|caf\u00e9; \"virgolette\"",
		"email:Anna@Example.com|1.234.567||\nweb:2|-2||\nweb:1|99999999999999||",
	} {
		f.Add(s, uint8(i*53), false, false)
		f.Add(s, uint8(255-i*17), true, true)
		f.Add(s, uint8(64+i*9), false, true)
	}
	l := openSQLite(f)
	seed(f, l)
	f.Fuzz(func(t *testing.T, data string, flags uint8, amount, create bool) {
		p := shop
		if amount {
			p = card
		}
		v := newImportVariant(flags)
		ref := importTable(data)
		other := v.translate(ref)
		run := func(d csvio.Dialect, columns map[string]string, content []byte) ImportResult {
			t.Helper()
			o := ImportOptions{Program: p, Dialect: d, Name: "fuzz.csv", SkipInvalid: true, CreateCustomers: create, DryRun: true, Actor: "fuzz"}
			if columns != nil {
				cols, err := csvio.AdjustmentColumns(columns)
				if err != nil {
					t.Fatal(err)
				}
				o.Columns = cols
			}
			res, err := Import(context.Background(), l, bytes.NewReader(content), o)
			if err != nil {
				t.Fatalf("dialect %+v: %v\n%q", d, err, content)
			}
			return res
		}
		refFile := importFile(t, csvio.Dialect{Delimiter: ';', Encoding: csvio.EncodingUTF8}, []string{"customer", "points", "expiry", "note"}, ref)
		want := run(csvio.Dialect{}, nil, refFile)

		file := importFile(t, v.write, v.headers, other)
		read := v.read
		if read.Encoding == csvio.EncodingAuto && v.write.Encoding == csvio.EncodingWindows1252 && utf8.Valid(file) {
			// Windows-1252 bytes that happen to be valid UTF-8 are read
			// as UTF-8: detection cannot know better.
			read.Encoding = csvio.EncodingWindows1252
		}
		got := run(read, v.columns, file)

		if got.Applied != want.Applied || got.Replayed != want.Replayed || got.Rejected != want.Rejected || len(got.Errors) != len(want.Errors) {
			t.Fatalf("dialect %+v: %+v; the reference gives %+v\nfiles %q\n      %q", v.write, got, want, refFile, file)
		}
		if want.Replayed != 0 || !want.DryRun {
			t.Fatalf("a dry run of new content: %+v", want)
		}
		for i, w := range want.Errors {
			g := got.Errors[i]
			switch {
			case w.Line < 2 || w.Reason == "":
				t.Fatalf("refusal without a data line or a reason: %+v", w)
			case w.Column != "" && w.Column != "customer" && w.Column != "points" && w.Column != "expiry" && w.Column != "note":
				t.Fatalf("refusal naming column %q: %+v", w.Column, w)
			case g.Line != w.Line || g.Column != w.Column:
				t.Fatalf("dialect %+v: refusal %d is %+v; the reference gives %+v\nfiles %q\n      %q", v.write, i, g, w, refFile, file)
			}
		}
	})
}
