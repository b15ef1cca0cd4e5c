package httpjson

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/mapping"
	"github.com/pointsync/pointsync/rules"
)

func TestFetchRecordsWebOrders(t *testing.T) {
	line := func(order, customer, product string, gross string) string {
		return `{"id":"` + order + `","user":` + customer + `,"created":"2026-03-02T09:00:00+01:00","state":"processing","sku":"` + product + `","total":` + gross + `}`
	}
	pg := &pager{pages: map[string]string{
		"": `{"orders":[` + strings.Join([]string{
			line("W1", "42", "A", "100.00"), line("W1", "42", "B", "20.5"),
			line("W2", "43", "A", "10"), line("W2", "43", "C", "0.99"),
		}, ",") + `],"cursor":"p2"}`,
		"p2": `{"orders":[` + line("W3", `"web:44"`, "A", "5") + `,` + line("W3", `"web:44"`, "D", "7") + `],"cursor":"p3"}`,
		"p3": `{"orders":[],"cursor":"p3"}`,
	}}
	srv := newServer(t, pg)
	s, err := NewSource(PullOptions{
		Name: "shop", URL: srv.URL + "/orders", Format: FormatRecords, Program: "shop",
		ItemsField: "orders", NextField: "cursor",
		Mapping: mapping.Spec{Type: mapping.TypeWebOrder, IdentKind: "web", Statuses: map[string]mapping.Status{"processing": mapping.StatusPaid}},
		Fields:  map[string]string{"order": "id", "customer": "user", "placed_at": "created", "status": "state", "product": "sku", "gross": "total"},
	})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		seq      int64
		id, cust string
		lines    []rules.Line
	}
	pages := []struct {
		after connectors.Cursor
		items []want
		next  connectors.Cursor
		more  bool
	}{
		{"", []want{
			{2, "W1", "web:42", []rules.Line{{Product: "A", Quantity: 1000, Gross: 10000}, {Product: "B", Quantity: 1000, Gross: 2050}}},
			{4, "W2", "web:43", []rules.Line{{Product: "A", Quantity: 1000, Gross: 1000}, {Product: "C", Quantity: 1000, Gross: 99}}},
		}, "p2", true},
		{"p2", []want{
			{2, "W3", "web:44", []rules.Line{{Product: "A", Quantity: 1000, Gross: 500}, {Product: "D", Quantity: 1000, Gross: 700}}},
		}, "p3", true},
		{"p3", nil, "p3", false},
	}
	for _, p := range pages {
		b, err := s.Fetch(context.Background(), p.after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if b.Next != p.next || b.More != p.more || len(b.Items) != len(p.items) {
			t.Fatalf("after %q: next %q more %v, %d items; want %q %v %d", p.after, b.Next, b.More, len(b.Items), p.next, p.more, len(p.items))
		}
		for i, w := range p.items {
			it := b.Items[i]
			if it.Err != nil {
				t.Fatalf("after %q item %d: %v", p.after, i, it.Err)
			}
			o := it.Fact.Order
			if it.Seq != w.seq || o.ID != w.id || o.Customer != w.cust || o.Status != mapping.StatusPaid || it.Fact.Program != "shop" {
				t.Errorf("after %q item %d: seq %d %+v", p.after, i, it.Seq, o)
			}
			if len(o.Lines) != len(w.lines) {
				t.Fatalf("order %s: lines %+v, want %+v", o.ID, o.Lines, w.lines)
			}
			for j := range w.lines {
				if o.Lines[j] != w.lines[j] {
					t.Errorf("order %s line %d: %+v, want %+v", o.ID, j, o.Lines[j], w.lines[j])
				}
			}
			origin := srv.URL + "/orders"
			if p.after != "" {
				origin += "#" + string(p.after)
			}
			if it.Origin != origin {
				t.Errorf("origin %q, want %q", it.Origin, origin)
			}
		}
	}
}

// A record that cannot be read takes its group down with it: the order
// must not earn on the lines that were read.
func TestFetchRecordsBrokenLineRefusesItsOrder(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"items":[
			{"order":"W1","customer":"web:1","placed_at":"2026-03-02T09:00:00Z","status":"placed","gross":"10"},
			{"order":"W1","customer":"web:1","placed_at":"2026-03-02T09:00:00Z","status":"placed","gross":{"value":"90"}},
			{"order":"W2","customer":"web:2","placed_at":"2026-03-02T09:00:00Z","status":"placed","gross":"5"}
		],"next":"n"}`))
	}))
	s, err := NewSource(PullOptions{URL: srv.URL, Format: FormatRecords, Program: "shop", Mapping: mapping.Spec{Type: mapping.TypeWebOrder}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Fetch(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != 3 {
		t.Fatalf("%d items, want 3", len(b.Items))
	}
	if e := b.Items[0].Err; e == nil || !strings.Contains(e.Reason, "order W1 is not applied: item 2") || b.Items[0].Seq != 1 {
		t.Errorf("item 1: %+v, want W1 refused", b.Items[0])
	}
	if e := b.Items[1].Err; e == nil || e.Column != "gross" || b.Items[1].Seq != 2 {
		t.Errorf("item 2: %+v, want the unreadable gross of record 2", b.Items[1])
	}
	if f := b.Items[2].Fact; f == nil || f.Order.ID != "W2" {
		t.Errorf("item 3: %+v, want W2 applied", b.Items[2])
	}
}

func TestRecordValues(t *testing.T) {
	s, err := NewSource(PullOptions{URL: "http://x", Format: FormatRecords, Program: "shop",
		Mapping: mapping.Spec{Type: mapping.TypeWebOrder},
		Fields:  map[string]string{"order": "id", "placed_at": "when", "status_at": "when"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, rerr := s.dec.record([]byte(`{"id":7,"when":"2026-03-02","order":"ignored","gross":1.5,"discounted":true,"shipping":null,"note":{"a":1},"status":"paid"}`), 3, "o")
	if rerr != nil {
		t.Fatal(rerr)
	}
	want := map[string]string{"order": "7", "placed_at": "2026-03-02", "status_at": "2026-03-02", "gross": "1,5", "discounted": "true", "status": "paid"}
	if len(rec.Values) != len(want) {
		t.Errorf("values %v, want %v", rec.Values, want)
	}
	for k, v := range want {
		if rec.Values[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, rec.Values[k], v, rec.Values)
		}
	}
	if rec.Seq != 3 || rec.Origin != "o" || rec.Line != 0 {
		t.Errorf("record %+v", rec)
	}
}
