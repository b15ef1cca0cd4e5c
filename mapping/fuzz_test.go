package mapping

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/csvio"
)

// fuzzRecords reads the fuzzer's text as records: one per line, values
// separated by '|' in the order Fields lists the type's fields; an empty
// value is present and empty. Bit 0 of flags drops the file lines, as SQL
// and JSON sources have none.
func fuzzRecords(fields []Field, data string, flags byte) []Record {
	var out []Record
	for i, line := range strings.Split(data, "\n") {
		if line == "" && i > 0 {
			continue
		}
		vals := map[string]string{}
		for j, v := range strings.Split(line, "|") {
			if j < len(fields) {
				vals[fields[j].Name] = v
			}
		}
		r := Record{Seq: int64(len(out) + 1), Origin: "fuzz", Line: i + 2, Values: vals}
		if flags&1 != 0 {
			r.Line = 0
		}
		out = append(out, r)
	}
	return out
}

// fuzzSeed writes records back in fuzzRecords' form.
func fuzzSeed(fields []Field, recs []Record) string {
	lines := make([]string, len(recs))
	for i, r := range recs {
		vals := make([]string, len(fields))
		for j, f := range fields {
			vals[j] = r.Values[f.Name]
		}
		lines[i] = strings.Join(vals, "|")
	}
	return strings.Join(lines, "\n")
}

func FuzzMapper(f *testing.F) {
	// The golden cases are the seeds, each for its own type.
	dirs, _ := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "spec.json"))
		if err != nil {
			f.Fatal(err)
		}
		var gs goldenSpec
		if err := json.Unmarshal(data, &gs); err != nil {
			f.Fatal(err)
		}
		var recs []Record
		if _, err := os.Stat(filepath.Join(dir, "input.json")); err == nil {
			recs = readJSONRecords(f, filepath.Join(dir, "input.json"))
		} else {
			recs = readCSVRecords(f, filepath.Join(dir, "input.csv"))
		}
		fields, err := Fields(gs.Type)
		if err != nil {
			f.Fatal(err)
		}
		typ := byte(0)
		for i, t := range Types() {
			if t == gs.Type {
				typ = byte(i)
			}
		}
		f.Add(typ, fuzzSeed(fields, recs), gs.Decimal == "point", gs.Amount, byte(0))
	}
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, typ byte, data string, point, amount bool, flags byte) {
		types := Types()
		s := Spec{
			Type: types[int(typ)%len(types)], Program: "P1", Amount: amount, Location: loc,
			IdentKind: []string{"", "web", "erp", "card", "email"}[int(flags>>1)%5],
			Statuses:  map[string]Status{"Pagato": StatusPaid, "Annullato": StatusCancelled},
			DocKinds:  map[string]DocKind{"FT": DocInvoice, "ANN": DocCancellation},
		}
		if point {
			s.Decimal = csvio.DecimalPoint
		}
		m, err := NewMapper(s)
		if err != nil {
			t.Fatal(err)
		}
		fields, _ := Fields(s.Type)
		recs := fuzzRecords(fields, data, flags)
		items := mapAll(m, recs)
		checkItems(t, recs, items)
		for _, it := range items {
			if it.Origin != "fuzz" || (it.Err != nil && it.Err.Origin != "fuzz") {
				t.Fatalf("item %+v lost its origin", it)
			}
			if it.Err != nil && it.Err.Line < it.Line && flags&1 == 0 {
				t.Fatalf("error on line %d before its group's first line %d", it.Err.Line, it.Line)
			}
		}
		// The same input gives the same items, on the same Mapper after
		// Flush and on a new one: a source fetching again after a crash
		// must see the same batch.
		if again := mapAll(m, recs); !reflect.DeepEqual(again, items) {
			t.Fatalf("the same input mapped twice differs:\n%+v\n%+v", items, again)
		}
		fresh, _ := NewMapper(s)
		if again := mapAll(fresh, recs); !reflect.DeepEqual(again, items) {
			t.Fatalf("a new Mapper maps the same input differently:\n%+v\n%+v", items, again)
		}
	})
}

// FuzzTimes checks that skipping the layouts a value cannot fit changes
// nothing: the value reads as trying every layout in order would read it.
func FuzzTimes(f *testing.F) {
	for _, s := range []string{"2026-01-15T10:00:00+01:00", "2026-01-15 10:00", "15/01/2026 9:05", "15/01/2026",
		"2026-01-15  10:00", "31/02/2026", "2026-1-5", "15.01.2026 10.00", "Jan 15 2026 10:00PM", "2026-01-15 10:00:00,123"} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		f.Fatal(err)
	}
	layouts := append([]string{"02.01.2006 15.04", "Jan _2 2006 03:04PM", "2/1/2006", "2006-01-02 15:04:05.000", "20060102", "02-Jan-06", "2006-002"},
		DefaultDateFormats...)
	v := values{loc: loc}
	for _, l := range layouts {
		v.layouts = append(v.layouts, newLayout(l))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range v.layouts {
			if _, err := time.ParseInLocation(l.text, s, loc); err == nil && !l.fits(s) {
				t.Fatalf("layout %q reads %q, but its prefix %q refuses it", l.text, s, l.prefix)
			}
		}
		got, err := v.time(s)
		var want time.Time
		found := false
		for _, l := range layouts {
			if tm, err := time.ParseInLocation(l, s, loc); err == nil {
				want, found = tm, true
				break
			}
		}
		switch {
		case found && want.Year() >= minYear && want.Year() <= maxYear:
			if err != nil || !got.Equal(want) {
				t.Fatalf("time(%q) = %v, %v; trying every layout gives %v", s, got, err, want)
			}
		case err == nil:
			t.Fatalf("time(%q) = %v; no layout reads it in range", s, got)
		}
	})
}
