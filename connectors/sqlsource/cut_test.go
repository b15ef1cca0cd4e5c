package sqlsource

import (
	"strings"
	"testing"

	"github.com/pointsync/pointsync/mapping"
)

// orderRows makes rows of web orders from "ORDER@CURSOR" specs: "A@1"
// is a line of order A whose cursor (an int) is 1; "A@1!" has a float
// gross.
func orderRows(s *Source, specs ...string) []row {
	rows := make([]row, len(specs))
	for i, spec := range specs {
		order, rest, _ := strings.Cut(spec, "@")
		bad := strings.HasSuffix(rest, "!")
		rest = strings.TrimSuffix(rest, "!")
		c, err := s.cursor[0].parse(rest)
		if err != nil {
			panic(err)
		}
		vals := []cval{c}
		rows[i] = row{cursor: vals, rec: mapping.Record{
			Seq: int64(i + 1), Origin: "shop-orders row " + cursorText(s.cursor, vals),
			Values: map[string]string{"order": order, "customer": "42", "placed_at": "2026-01-15 10:00:00", "status": "paid", "gross": "10.00"},
		}}
		if bad {
			rows[i].bad = &badValue{value: "10", reason: "is a floating-point column"}
			rows[i].badField = "gross"
		}
	}
	return rows
}

func TestCut(t *testing.T) {
	tests := []struct {
		name  string
		last  int64 // the stored cursor
		rows  []string
		items []string // "" when no batch can end in the rows
		next  string
	}{
		{"orders each with its cursor", 0, []string{"A@1", "B@2", "C@3"}, []string{"order A", "order B"}, "2"},
		{"never inside an order", 0, []string{"A@1", "A@1", "B@2", "B@2"}, []string{"order A"}, "1"},
		{"never between rows sharing a cursor", 0, []string{"A@1", "B@1", "C@2", "C@2"}, []string{"order A", "order B"}, "1"},
		{"the last order may go on", 0, []string{"A@1", "B@2", "B@3"}, []string{"order A"}, "1"},
		{"order ends where the cursor does not change", 0, []string{"A@1", "A@2", "B@2", "B@3"}, nil, ""},
		{"one order fills the limit", 0, []string{"A@1", "A@2", "A@3"}, nil, ""},
		{"one cursor value fills the limit", 0, []string{"A@5", "B@5", "C@5"}, nil, ""},
		{"rows read again before the cursor", 2, []string{"A@1", "B@2", "C@3", "D@4"}, []string{"order A", "order B", "order C"}, "3"},
		{"no end past the cursor", 3, []string{"A@1", "B@2", "C@3", "D@4"}, nil, ""},
		{"a bad line refuses its order only", 0, []string{"A@1", "B@2!", "B@2", "C@3", "D@4"},
			[]string{"order A", "error gross: is a floating-point column; order B (2 records) not applied", "order C"}, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, nil)
			b, ok := s.cut(orderRows(s, tt.rows...), []cval{{i: tt.last}})
			if ok != (tt.items != nil) {
				t.Fatalf("cut: %v, %v", ok, summary(b.Items))
			}
			if !ok {
				return
			}
			if got := summary(b.Items); strings.Join(got, "|") != strings.Join(tt.items, "|") {
				t.Errorf("items %q, want %q", got, tt.items)
			}
			last, err := decodeCursor(s.cursor, b.Next)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.cursor[0].format(last[0]); got != tt.next || !b.More {
				t.Errorf("next %s more %v, want %s and more", got, b.More, tt.next)
			}
		})
	}
}

func TestCutActions(t *testing.T) {
	s := newSource(t, func(o *Options) { o.Mapping.Type = mapping.TypeAction })
	rows := make([]row, 3)
	for i, c := range []int64{1, 2, 2} {
		vals := []cval{{i: c}}
		rows[i] = row{cursor: vals, rec: mapping.Record{Seq: int64(i + 1), Origin: "o", Values: map[string]string{
			"customer": "42", "kind": "newsletter", "at": "2026-01-15 10:00:00"}}}
	}
	b, ok := s.cut(rows, []cval{{i: 0}})
	if !ok || len(b.Items) != 1 || b.Items[0].Seq != 1 {
		t.Fatalf("cut %v %v: want the first action alone (the next two share a cursor)", ok, summary(b.Items))
	}
}

func TestCutLinksOfOneRow(t *testing.T) {
	s := newSource(t, func(o *Options) { o.Mapping.Type = mapping.TypeLink })
	rows := make([]row, 3)
	for i, c := range []int64{1, 2, 3} {
		vals := []cval{{i: c}}
		rows[i] = row{cursor: vals, rec: mapping.Record{Seq: int64(i + 1), Origin: "o", Values: map[string]string{
			"web": "4" + string(rune('0'+i)), "erp": "C" + string(rune('0'+i)), "email": "a@example.com"}}}
	}
	rows[1].bad = &badValue{value: "x", reason: "bad"}
	rows[1].badField = "web"
	b, ok := s.cut(rows, []cval{{i: 0}})
	got := summary(b.Items)
	want := []string{"link web:40 erp:C0", "link web:40 email:a@example.com", "error web: bad; the record is not applied"}
	if len(b.Items) == 3 && b.Items[2].Seq != 2 {
		t.Errorf("the refused row's item has Seq %d, want 2", b.Items[2].Seq)
	}
	if !ok || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("cut %v %q, want %q", ok, got, want)
	}
}

func TestMapAll(t *testing.T) {
	s := newSource(t, nil)
	items := s.mapAll(orderRows(s, "A@1", "A@1", "B@2!", "C@3"))
	want := []string{"order A", "error gross: is a floating-point column; order B (1 record) not applied", "order C"}
	if got := summary(items); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("items %q, want %q", got, want)
	}
	if items[1].Err.Origin != "shop-orders row id=2" || items[1].Err.Line != 0 || items[1].Seq != 3 {
		t.Errorf("error item %+v %+v", items[1], items[1].Err)
	}
}
