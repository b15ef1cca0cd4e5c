package mapping

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/csvio"
)

var update = flag.Bool("update", false, "rewrite the expected files of golden tests")

// goldenSpec is spec.json of a case: a Spec as a configuration writes it.
type goldenSpec struct {
	Type        Type               `json:"type"`
	Program     string             `json:"program"`
	Amount      bool               `json:"amount"`
	Decimal     string             `json:"decimal"`
	DateFormats []string           `json:"date_formats"`
	Location    string             `json:"location"`
	Statuses    map[string]Status  `json:"statuses"`
	DocKinds    map[string]DocKind `json:"doc_kinds"`
	IdentKind   string             `json:"ident_kind"`
}

func (g goldenSpec) spec(t testing.TB) Spec {
	t.Helper()
	s := Spec{Type: g.Type, Program: g.Program, Amount: g.Amount, DateFormats: g.DateFormats,
		Statuses: g.Statuses, DocKinds: g.DocKinds, IdentKind: g.IdentKind}
	if g.Decimal != "" {
		dec, err := csvio.ParseDecimal(g.Decimal)
		if err != nil {
			t.Fatal(err)
		}
		s.Decimal = dec
	}
	if g.Location != "" {
		loc, err := time.LoadLocation(g.Location)
		if err != nil {
			t.Fatal(err)
		}
		s.Location = loc
	}
	return s
}

// goldenItem is one line of expected.json.
type goldenItem struct {
	Seq    int64           `json:"seq"`
	Origin string          `json:"origin"`
	Line   int             `json:"line"`
	Fact   *Fact           `json:"fact,omitempty"`
	Error  *goldenRowError `json:"error,omitempty"`
}

type goldenRowError struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// readCSVRecords reads a test input: a ';'-separated file whose header
// holds logical field names. An empty cell is a present, empty value, as
// csvio gives it.
func readCSVRecords(t testing.TB, path string) []Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	var recs []Record
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return recs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		line, _ := cr.FieldPos(0)
		r := Record{Seq: int64(len(recs) + 1), Origin: filepath.Base(path), Line: line, Values: map[string]string{}}
		for i, v := range row {
			if i < len(header) {
				r.Values[header[i]] = v
			}
		}
		recs = append(recs, r)
	}
}

// readJSONRecords reads a test input as a webservice sends it: an array
// of objects of text values, with no lines.
func readJSONRecords(t testing.TB, path string) []Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]string
	if err := json.Unmarshal(data, &objs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	recs := make([]Record, len(objs))
	for i, o := range objs {
		recs[i] = Record{Seq: int64(i + 1), Origin: filepath.Base(path), Values: o}
	}
	return recs
}

// mapAll runs records through m as a source would: Add each, then Flush.
func mapAll(m *Mapper, recs []Record) []Item {
	var items []Item
	for _, r := range recs {
		items = append(items, m.Add(r)...)
	}
	return append(items, m.Flush()...)
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata/cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := runGolden(t, dir)
			path := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it, then review it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("items differ from %s:\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
}

func runGolden(t *testing.T, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gs goldenSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&gs); err != nil {
		t.Fatalf("spec.json: %v", err)
	}
	m, err := NewMapper(gs.spec(t))
	if err != nil {
		t.Fatalf("NewMapper: %v", err)
	}
	var recs []Record
	if _, err := os.Stat(filepath.Join(dir, "input.json")); err == nil {
		recs = readJSONRecords(t, filepath.Join(dir, "input.json"))
	} else {
		recs = readCSVRecords(t, filepath.Join(dir, "input.csv"))
	}
	items := mapAll(m, recs)
	checkItems(t, recs, items)
	out := make([]goldenItem, len(items))
	for i, it := range items {
		out[i] = goldenItem{Seq: it.Seq, Origin: it.Origin, Line: it.Line, Fact: it.Fact}
		if it.Err != nil {
			out[i].Error = &goldenRowError{Line: it.Err.Line, Column: it.Err.Column, Value: it.Err.Value, Reason: it.Err.Reason}
		}
	}
	var b strings.Builder
	b.WriteString("[\n")
	for i, it := range out {
		line, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		if i < len(out)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	return []byte(b.String())
}

// checkItems holds what every run must: exactly one of fact and error,
// facts that validate, items in input order, and every record accounted
// for by the last item.
func checkItems(t testing.TB, recs []Record, items []Item) {
	t.Helper()
	var last int64
	for i, it := range items {
		if (it.Fact == nil) == (it.Err == nil) {
			t.Fatalf("item %d: want exactly one of Fact and Err: %+v", i, it)
		}
		if it.Fact != nil {
			if err := it.Fact.Validate(); err != nil {
				t.Fatalf("item %d: fact does not validate: %v", i, err)
			}
		}
		if it.Err != nil && it.Err.Reason == "" {
			t.Fatalf("item %d: error without a reason: %+v", i, it.Err)
		}
		if it.Seq < last {
			t.Fatalf("item %d: seq %d after %d", i, it.Seq, last)
		}
		last = it.Seq
	}
	if len(recs) > 0 && (len(items) == 0 || items[len(items)-1].Seq != recs[len(recs)-1].Seq) {
		t.Fatalf("%d records, but the last item does not close the last record: %+v", len(recs), items)
	}
}
