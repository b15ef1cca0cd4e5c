package csvdrop

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

// dialectSeeds are small tables of each fact type, one row a line and the
// values separated by '|' in the order mapping.Fields lists the type's
// fields, written as the reference dialect writes them: decimal comma,
// the default date formats.
var dialectSeeds = map[mapping.Type][]string{
	mapping.TypeWebOrder: {
		"W1|42|2026-01-15 10:00:00|Pagato|2026-01-15 11:00:00|||5,00||||A1|1|120,00||||\nW1|42|||||||||2|A2|0,5|1.234,50|10|no|",
		"W2|email:Anna@Example.com|2026-01-16T09:00:00+01:00|placed||1,00|||100||B|2|50||x|P2",
	},
	mapping.TypeERPDocument: {
		"|DDT|2026|A|17||W1|15/01/2026||||1|A1|1|120,00|||\n|FT|2026||18|invoice|W1|16/01/2026 09:30|1,00|5,00|DDT/2026/A/17|1|A1|1|120,00|||",
		"K9||||||W2|2026-02-01|||||P|0,250|3,20|0,20|sì|",
	},
	mapping.TypeTillReceipt: {
		"S1|T1|42|15/01/2026 10:00|0420001234|GOLD|||12||A100|2|12,50||||\nS1|T1|42|15/01/2026 10:00|0420001234||||3|2|FRUTTA|0,250|3,20|0,20|sì|",
		"S2|T9|7|2026-01-15T18:30:00+01:00|0999||PREMIO1|1.200|500|||1|1.234,56|34,56|x|P2\nS2|T9|8|31/02/2026 10:00|0999|||||||1|x||||",
	},
	mapping.TypeAction: {
		"web:42|Registrazione||15/01/2026 10:00|\n43|newsletter||15/01/2026|P2\nWEB:43|recensione|R9|2026-01-15T10:00:00Z|",
	},
	mapping.TypeLink: {
		"web:1|card:0420001234|||||\n||42|C0017|0420005678|anna@example.com|\n||44|erp:C1|card:0001||",
	},
}

// wideLayout is the one layout of the variants with their own date
// format: day first with dots, fractions of a second and the offset, so
// that every instant the default formats read is written exactly.
const wideLayout = "02.01.2006 15:04:05.999999999 Z07:00"

// dropVariant is a dialect to compare with the reference one, picked by
// the bits of flags.
type dropVariant struct {
	dialect csvio.Dialect // as the file is written
	read    csvio.Dialect // as the source is told
	point   bool          // decimal point: '.' and ',' swap in numbers
	dates   bool          // dates in wideLayout
	italian bool          // headers by their first alternative name
}

func newDropVariant(flags uint8) dropVariant {
	v := dropVariant{point: flags&4 != 0, dates: flags&32 != 0, italian: flags&64 != 0}
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
		d.DateFormats = []string{wideLayout}
	}
	v.dialect, v.read = d, d
	v.read.BOM = false
	if flags&128 != 0 { // left to detection
		v.read.Delimiter, v.read.Encoding = 0, csvio.EncodingAuto
	}
	return v
}

// windows1252Text replaces what Windows-1252 cannot hold with '?', so the
// reference and the variant carry the same text.
func windows1252Text(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		if _, ok := charmap.Windows1252.EncodeRune(r); !ok || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}

// dropTable reads the fuzzer's text as rows of len(fields) values, each
// trimmed (only quoted values keep surrounding spaces, and quoting
// depends on the delimiter) and without line breaks.
func dropTable(fields []mapping.Field, data string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(data, "\n") {
		row := make([]string, len(fields))
		for j, v := range strings.Split(line, "|") {
			if j < len(row) {
				row[j] = strings.TrimSpace(windows1252Text(strings.ReplaceAll(v, "\r", "")))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// firstTime is the instant the first of layouts reads s as, as the
// Mapper tries them.
func firstTime(s string, layouts []string, loc *time.Location) (time.Time, bool) {
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// translate writes the reference table in the variant's notation. A time
// the reference cannot read but the variant could is replaced by "x" in
// both, so that the two stay the same content.
func (v dropVariant) translate(fields []mapping.Field, ref [][]string, loc *time.Location) [][]string {
	out := make([][]string, len(ref))
	for i, row := range ref {
		out[i] = make([]string, len(row))
		for j, s := range row {
			switch fields[j].Kind {
			case mapping.KindMoney, mapping.KindPoints, mapping.KindQuantity:
				if v.point {
					s = strings.Map(func(r rune) rune {
						switch r {
						case '.':
							return ','
						case ',':
							return '.'
						}
						return r
					}, s)
				}
			case mapping.KindTime:
				if !v.dates || s == "" {
					break
				}
				if t, ok := firstTime(s, mapping.DefaultDateFormats, loc); ok {
					s = t.Format(wideLayout)
				} else if _, ok := firstTime(s, []string{wideLayout}, loc); ok {
					ref[i][j], s = "x", "x"
				}
			}
			out[i][j] = s
		}
	}
	return out
}

// dropFile writes a table under header in dialect d.
func dropFile(t *testing.T, d csvio.Dialect, header []string, rows [][]string) []byte {
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

// dropItems drops content as one file and reads it to the end.
func dropItems(t *testing.T, spec mapping.Spec, d csvio.Dialect, content []byte) []mapping.Item {
	t.Helper()
	dm := newDaemon(t, func(o *Options) { o.Mapping, o.Dialect = spec, d })
	dm.drop("f.csv", string(content), time.Minute)
	dm.run(1000)
	keys := dm.unitKeys()
	if len(keys) != 1 {
		t.Fatalf("%d units for one file", len(keys))
	}
	return dm.items[keys[0]]
}

// FuzzDropDialects drops the same table of each fact type twice: in the
// reference dialect (';', decimal comma, UTF-8, the default date formats,
// headers by field name) and in another one (delimiter, decimal point,
// Windows-1252 or a BOM, its own date format, Italian headers, delimiter
// and encoding detected). Both give the same items: the same facts, and
// errors on the same lines and columns; the facts are valid and every
// error names its line.
func FuzzDropDialects(f *testing.F) {
	for i, typ := range mapping.Types() {
		for j, s := range dialectSeeds[typ] {
			f.Add(uint8(i), s, uint8(j*37+i*101))
			f.Add(uint8(i), s, uint8(255-j*64-i))
		}
	}
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, typ uint8, data string, flags uint8) {
		checkDropDialects(t, loc, typ, data, flags)
	})
}

// checkDropDialects drops the table data of fact type typ in the
// reference dialect and in the variant flags picks, and compares.
func checkDropDialects(t *testing.T, loc *time.Location, typ uint8, data string, flags uint8) {
	ty := mapping.Types()[int(typ)%len(mapping.Types())]
	fields, err := mapping.Fields(ty)
	if err != nil {
		t.Fatal(err)
	}
	v := newDropVariant(flags)
	ref := dropTable(fields, data)
	other := v.translate(fields, ref, loc)

	spec := mapping.Spec{Type: ty, Program: "P1", Location: loc, IdentKind: "web",
		Statuses: map[string]mapping.Status{"Pagato": mapping.StatusPaid},
		DocKinds: map[string]mapping.DocKind{"DDT": mapping.DocDeliveryNote, "FT": mapping.DocInvoice}}
	names, italian := make([]string, len(fields)), make([]string, len(fields))
	for i, fl := range fields {
		names[i], italian[i] = fl.Name, fl.Name
		if v.italian && len(fl.Headers) > 0 {
			italian[i] = fl.Headers[0]
		}
	}
	refFile := dropFile(t, csvio.Dialect{Delimiter: ';', Encoding: csvio.EncodingUTF8}, names, ref)
	want := dropItems(t, spec, csvio.Dialect{}, refFile)

	file := dropFile(t, v.dialect, italian, other)
	read := v.read
	if read.Encoding == csvio.EncodingAuto && v.dialect.Encoding == csvio.EncodingWindows1252 && utf8.Valid(file) && !ascii(file) {
		// Windows-1252 bytes that happen to be valid UTF-8 are read
		// as UTF-8: detection cannot know better.
		read.Encoding = csvio.EncodingWindows1252
	}
	vspec := spec
	if v.point {
		vspec.Decimal = csvio.DecimalPoint
	}
	vspec.DateFormats = v.dialect.DateFormats
	got := dropItems(t, vspec, read, file)

	if len(got) != len(want) {
		t.Fatalf("%s in %+v: %d items, the reference gives %d\nreference %s\nvariant   %s", ty, v.dialect, len(got), len(want), itemsText(want), itemsText(got))
	}
	for i, w := range want {
		g := got[i]
		if w.Fact != nil {
			if err := w.Fact.Validate(); err != nil {
				t.Fatalf("item %d: an invalid fact passed: %v", i, err)
			}
		} else if w.Err.Line < 2 || w.Err.Reason == "" {
			t.Fatalf("item %d: error without a data line or a reason: %+v", i, w.Err)
		}
		if g.Seq != w.Seq || g.Line != w.Line || (g.Fact == nil) != (w.Fact == nil) ||
			(w.Err != nil && (g.Err.Line != w.Err.Line || g.Err.Column != w.Err.Column)) || factJSON(t, g.Fact) != factJSON(t, w.Fact) {
			t.Fatalf("%s in %+v: item %d differs\nreference %s\nvariant   %s\nfiles %q\n      %q", ty, v.dialect, i, itemsText(want[i:i+1]), itemsText(got[i:i+1]), refFile, file)
		}
	}
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func factJSON(t *testing.T, f *mapping.Fact) string {
	if f == nil {
		return ""
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func itemsText(items []mapping.Item) string {
	var b strings.Builder
	for _, it := range items {
		if it.Fact != nil {
			fj, _ := json.Marshal(it.Fact)
			b.WriteString("\n  " + string(fj))
		} else {
			b.WriteString("\n  " + it.Err.Error())
		}
	}
	return b.String()
}
