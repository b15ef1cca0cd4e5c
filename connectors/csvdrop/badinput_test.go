package csvdrop

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/pointsync/pointsync/csvio"
)

// The bad input catalogue of docs/reliability.md: one till file per
// class of bad input, and what the drop folder answers.

const (
	badHeader    = "negozio;cassa;scontrino;data_ora;tessera;articolo;importo;punti_guadagnati\n"
	badHeaderQty = "negozio;cassa;scontrino;data_ora;tessera;articolo;quantita;importo\n"
	badHeaderRow = "negozio;cassa;scontrino;riga;data_ora;tessera;articolo;importo\n"
)

// badRow is a one-line receipt of store S1, till T1.
func badRow(receipt int, at, product, gross, earned string) string {
	return fmt.Sprintf("S1;T1;%d;%s;04200%05d;%s;%s;%s\n", receipt, at, receipt, product, gross, earned)
}

var badGood = badRow(1, "15/01/2026 10:00", "A", "1,00", "1")

// utf16File encodes s as UTF-16 with its byte order mark, as Excel's
// "Unicode text" saves it.
func utf16File(s string, bigEndian bool) string {
	b := []byte{0xFF, 0xFE}
	if bigEndian {
		b = []byte{0xFE, 0xFF}
	}
	for _, r := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(r>>8), byte(r))
		} else {
			b = append(b, byte(r), byte(r>>8))
		}
	}
	return string(b)
}

// badReject is a rejected row as the error report lists it.
type badReject struct {
	line   int
	column string
	reason string // a part of the reason
}

// TestBadInputDropFiles drops one file per case and checks the exact
// answer: the receipts applied (with their time), every rejected row with
// its line, column and reason, the same rows in the error report beside
// the file, and where the file ends (archive, or rejected/ when nothing
// of it could be read). Times are read in Europe/Rome.
func TestBadInputDropFiles(t *testing.T) {
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	utf8Dialect := func(o *Options) { o.Dialect.Encoding = csvio.EncodingUTF8 }
	tests := []struct {
		name     string
		content  string
		opts     func(*Options)
		applied  []string // receipt@time (UTC), and its lines when not 1
		rejects  []badReject
		rejected bool // the whole file in rejected/
	}{
		// Truncated files.
		{name: "cut mid-row", content: badHeader + badGood + "S1;T1;2;15/01/2026 10:00;04200",
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "", "the row has 5 fields but the header has 8"}}},
		{name: "cut inside a quoted value", content: badHeader + badGood + `S1;T1;2;15/01/2026 10:00;0420000002;"Caffè in gr`,
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "", "a quote opened in this row is never closed: the file ends inside it (line 3); close the quote"}}},
		{name: "cut before the last value", content: badHeader + badGood + "S1;T1;2;15/01/2026 10:00;0420000002;A;2,0",
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "", "the row has 7 fields but the header has 8"}}},
		{name: "no final newline", content: badHeader + badGood + strings.TrimSuffix(badRow(2, "15/01/2026 10:05", "A", "2,00", "2"), "\n"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z", "S1/T1/2@2026-01-15T09:05:00Z"}},
		{name: "zero bytes", content: "", rejected: true,
			rejects: []badReject{{1, "", "the whole file is rejected: the file is empty: a header line is expected"}}},
		{name: "only a byte order mark", content: "\xef\xbb\xbf", rejected: true,
			rejects: []badReject{{1, "", "the whole file is rejected: the file is empty"}}},
		{name: "cut inside the header", content: "negozio;cassa;scon", rejected: true,
			rejects: []badReject{{1, "", `the whole file is rejected: header: unknown column "scon"; missing required column receipt`}}},
		{name: "zeros after a crash", content: badHeader + badGood + "\x00\x00\x00\x00\x00\x00\n",
			// The unreadable row may be a line of receipt 1: it is not
			// applied either, and both are reported.
			rejects: []badReject{
				{2, "", "receipt S1/T1/1 is not applied: the unreadable row at line 3 beside it does not show which receipt it belongs to"},
				{3, "", "the row has 1 fields but the header has 8"},
			}},

		// Wrong encoding.
		{name: "windows-1252 in a utf-8 file", opts: utf8Dialect,
			content: badHeader + badGood + badRow(2, "15/01/2026 10:00", "CAFF\xc8", "2,00", "2") + badRow(3, "15/01/2026 10:00", "A", "3,00", "3"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z", "S1/T1/3@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "product", "not valid UTF-8: from here on the file looks like Windows-1252; set its encoding to windows-1252"}}},
		{name: "utf-16 little endian", content: utf16File(badHeader+badGood, false), rejected: true,
			rejects: []badReject{{1, "", "the whole file is rejected: the file is UTF-16 (it starts with a UTF-16 byte order mark), which is not read: save it again as UTF-8"}}},
		{name: "utf-16 big endian", content: utf16File(badHeader+badGood, true), rejected: true,
			rejects: []badReject{{1, "", "the file is UTF-16"}}},
		{name: "a stray byte in a number", content: badHeader + badGood + badRow(2, "15/01/2026 10:00", "A", "2,\xff0", "2"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "gross", "is not a number; expected an amount such as 1.234,56; receipt S1/T1/2 (1 row, line 3) not applied"}}},

		// Headers.
		{name: "unknown extra column", content: strings.TrimSuffix(badHeader, "\n") + ";colore\n" + strings.TrimSuffix(badGood, "\n") + ";rosso\n", rejected: true,
			rejects: []badReject{{1, "", `header: unknown column "colore"; expected columns: store (required;`}}},
		{name: "missing column", content: "negozio;cassa;scontrino;data_ora;articolo;importo\nS1;T1;1;15/01/2026 10:00;A;1,00\n", rejected: true,
			rejects: []badReject{{1, "", "header: missing required column card"}}},
		{name: "duplicated header", content: "negozio;cassa;scontrino;data_ora;tessera;importo;importo\nS1;T1;1;15/01/2026 10:00;0420000001;1,00;1,00\n", rejected: true,
			rejects: []badReject{{1, "", `header: columns "importo" and "importo" both mean gross`}}},
		{name: "two names of one field", content: "negozio;store;cassa;scontrino;data_ora;tessera;importo\nS1;S1;T1;1;15/01/2026 10:00;0420000001;1,00\n", rejected: true,
			rejects: []badReject{{1, "", `header: columns "negozio" and "store" both mean store`}}},

		// Duplicate rows in one file.
		{name: "a receipt line twice", content: badHeaderRow +
			"S1;T1;1;1;15/01/2026 10:00;0420000001;A;1,00\nS1;T1;1;1;15/01/2026 10:00;0420000001;A;1,00\nS1;T1;2;1;15/01/2026 10:00;0420000002;A;2,00\n",
			applied: []string{"S1/T1/2@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "line", "line 1 of receipt S1/T1/1 appears twice: lines 2 and 3 of the file; receipt S1/T1/1 (2 rows, lines 2-3) not applied"}}},
		{name: "the same row twice", content: badHeader + badGood + badGood,
			// Without a line column, two equal rows are two equal lines
			// of the receipt: two of the same article.
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z (2 lines)"}},
		{name: "a receipt again further on", content: badHeader + badGood + badRow(2, "15/01/2026 10:00", "A", "2,00", "2") + badGood,
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z", "S1/T1/2@2026-01-15T09:00:00Z"},
			rejects: []badReject{{4, "", "receipt S1/T1/1 appeared earlier in this input, apart from these rows: the rows of one receipt must be adjacent"}}},

		// Negative and huge numbers.
		{name: "negative amount", content: badHeader + badGood + badRow(2, "15/01/2026 10:00", "A", "-2,00", "2"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "", "gross -2.00 is negative (a return is a credit note, not a negative line); receipt S1/T1/2 (1 row, line 3) not applied"}}},
		{name: "amount beyond int64 cents", content: badHeader + badGood + badRow(2, "15/01/2026 10:00", "A", "99999999999999999999,00", "2"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "gross", "is too large (the limit is 100000000000,00)"}}},
		{name: "points beyond the limit", content: badHeader + badGood + badRow(2, "15/01/2026 10:00", "A", "2,00", "10000000000000"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "earned", "is too large (the limit is 1000000000000)"}}},
		{name: "negative points", content: badHeader + badGood + badRow(2, "15/01/2026 10:00", "A", "2,00", "-5"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "", "till receipt S1/T1/2: earned and spent cannot be negative"}}},
		{name: "negative and huge quantities", content: badHeaderQty +
			"S1;T1;1;15/01/2026 10:00;0420000001;A;1;1,00\nS1;T1;2;15/01/2026 10:00;0420000002;A;-1;1,00\nS1;T1;3;15/01/2026 10:00;0420000003;A;1000000000,001;1,00\n",
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{
				{3, "quantity", "is negative: a quantity cannot be below zero"},
				{4, "quantity", "is too large (the limit is 1000000000 units)"},
			}},

		// Dates.
		{name: "year 0001", content: badHeader + badGood + badRow(2, "01/01/0001 10:00", "A", "2,00", "2"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "at", "year 1 is out of range (2000 to 2200); check the date"}}},
		{name: "year 9999", content: badHeader + badGood + badRow(2, "31/12/9999 10:00", "A", "2,00", "2"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "at", "year 9999 is out of range (2000 to 2200)"}}},
		{name: "february 30", content: badHeader + badGood + badRow(2, "30/02/2026 10:00", "A", "2,00", "2"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "at", `no such day or time: a part is out of range; expected a date such as "2026-01-15T10:30:00+01:00"`}}},
		{name: "date in another format", content: badHeader + badGood + badRow(2, "15.01.2026 10:00", "A", "2,00", "2"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z"},
			rejects: []badReject{{3, "at", "not a date in the formats configured"}}},
		{name: "hour skipped by summer time", content: badHeader + badGood + badRow(2, "29/03/2026 02:30", "A", "2,00", "2"),
			// 02:30 does not exist in Rome that night: read with the
			// winter offset, 03:30 summer time.
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z", "S1/T1/2@2026-03-29T01:30:00Z"}},
		{name: "hour repeated at the end of summer time", content: badHeader + badGood + badRow(2, "25/10/2026 02:30", "A", "2,00", "2"),
			// 02:30 happens twice that night: read as the second one.
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z", "S1/T1/2@2026-10-25T01:30:00Z"}},
		{name: "time with its own zone", content: badHeader + badGood + badRow(2, "2026-01-15T10:00:00Z", "A", "2,00", "2"),
			applied: []string{"S1/T1/1@2026-01-15T09:00:00Z", "S1/T1/2@2026-01-15T10:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, func(o *Options) {
				o.Mapping.Location = rome
				if tt.opts != nil {
					tt.opts(o)
				}
			})
			d.drop("store.csv", tt.content, time.Minute)
			d.run(100)

			var applied []string
			for _, f := range d.facts() {
				a := f.Receipt.Key() + "@" + f.Receipt.At.UTC().Format(time.RFC3339)
				if n := len(f.Receipt.Lines); n != 1 {
					a += fmt.Sprintf(" (%d lines)", n)
				}
				applied = append(applied, a)
			}
			if !reflect.DeepEqual(applied, tt.applied) {
				t.Errorf("applied %q, want %q", applied, tt.applied)
			}

			var rejects []badReject
			for _, rs := range d.rejects {
				for _, r := range rs {
					if r.Origin != "store.csv" {
						t.Errorf("reject %+v does not name the file", r)
					}
					rejects = append(rejects, badReject{r.Line, r.Column, r.Reason})
				}
			}
			if len(rejects) != len(tt.rejects) {
				t.Fatalf("rejects %+v, want %d like %+v", rejects, len(tt.rejects), tt.rejects)
			}
			for i, w := range tt.rejects {
				if g := rejects[i]; g.line != w.line || g.column != w.column || !strings.Contains(g.reason, w.reason) {
					t.Errorf("reject %d = line %d column %q %q\nwant line %d column %q with %q", i, g.line, g.column, g.reason, w.line, w.column, w.reason)
				}
			}

			dir := d.archived("")
			if tt.rejected {
				dir = "rejected/"
			}
			want := []string{dir + "store.csv"}
			if len(tt.rejects) > 0 {
				want = append(want, dir+"store.csv.errors.csv")
			}
			if got := d.tree(); !reflect.DeepEqual(got, want) {
				t.Fatalf("tree %v, want %v", got, want)
			}
			if len(tt.rejects) == 0 {
				return
			}
			report := d.read(dir + "store.csv.errors.csv")
			for _, w := range tt.rejects {
				if !strings.Contains(report, fmt.Sprintf("\r\n%d;%s;", w.line, w.column)) {
					t.Errorf("the error report does not list line %d column %q:\n%s", w.line, w.column, report)
				}
			}
		})
	}
}

// TestBadInputReplayedFile drops a file, then the same file under the
// same name once it is archived: the copy is archived beside it and
// brings nothing; a file under the same name with other content is read.
func TestBadInputReplayedFile(t *testing.T) {
	d := newDaemon(t, nil)
	content := badHeader + badGood + badRow(2, "15/01/2026 10:05", "A", "x", "2")
	d.drop("store.csv", content, time.Minute)
	d.run(100)
	d.drop("store.csv", content, time.Minute)
	d.run(100)
	if got := len(d.facts()); got != 1 {
		t.Fatalf("%d facts after the replay, want 1: the copy was applied again", got)
	}
	if last := d.batches[len(d.batches)-1]; last.Done == nil || last.Done.Name != "store.csv" || len(last.Items) != 0 {
		t.Fatalf("last batch %+v, want the copy finished with no items", last)
	}
	// The copy adds no rejects and no second report.
	want := []string{d.archived("store-2.csv"), d.archived("store.csv"), d.archived("store.csv.errors.csv")}
	if got := d.tree(); !reflect.DeepEqual(got, want) {
		t.Fatalf("tree %v, want %v", got, want)
	}
	if !d.logged("duplicate") {
		t.Error("the replay was not logged as a duplicate")
	}
	d.drop("store.csv", badHeader+badRow(3, "15/01/2026 10:10", "A", "3,00", "3"), time.Minute)
	d.run(100)
	if got := len(d.facts()); got != 2 {
		t.Fatalf("%d facts, want 2: a new file under an old name is read", got)
	}
}
