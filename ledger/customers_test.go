package ledger

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestListCustomers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		buildScenario(t, l, clock)
		ctx := context.Background()
		// The balances at 2026-01-15 10:00, by hand (see buildScenario).
		rowA := CustomerRow{Customer: custA, Identifiers: []Ident{custA, "web:7"}, Earned: 200, Spent: 20, Expired: 80, Expiring: []Expiring{}}
		rowB := CustomerRow{Customer: custB, Identifiers: []Ident{custB}, Earned: 30, Spent: 10, Expiring: []Expiring{}}
		rowC := CustomerRow{Customer: custC, Identifiers: []Ident{custC}, Earned: 50, Expiring: []Expiring{{"2026-01-31", 50}}}
		rowD := CustomerRow{Customer: custD, Identifiers: []Ident{custD}, Spent: 40, Expiring: []Expiring{}}
		rowE := CustomerRow{Customer: custE, Identifiers: []Ident{custE}, Provisional: 60, Expiring: []Expiring{}}
		// On 2026-02-01 C's lot has expired.
		rowCFeb := CustomerRow{Customer: custC, Identifiers: []Ident{custC}, Expired: 50, Expiring: []Expiring{}}
		tests := []struct {
			name  string
			q     CustomerQuery
			rows  []CustomerRow
			total int
		}{
			{"default: by first identifier", CustomerQuery{}, []CustomerRow{rowA, rowE, rowC, rowD, rowB}, 5},
			{"customer descending", CustomerQuery{Sort: "customer", Desc: true}, []CustomerRow{rowB, rowD, rowC, rowE, rowA}, 5},
			// Ties (D and E at 0) go by account, in either direction.
			{"earned descending", CustomerQuery{Sort: "earned", Desc: true}, []CustomerRow{rowA, rowC, rowB, rowD, rowE}, 5},
			{"earned ascending", CustomerQuery{Sort: "earned"}, []CustomerRow{rowD, rowE, rowB, rowC, rowA}, 5},
			{"provisional descending", CustomerQuery{Sort: "provisional", Desc: true, Limit: 1}, []CustomerRow{rowE}, 5},
			{"spent descending", CustomerQuery{Sort: "spent", Desc: true}, []CustomerRow{rowD, rowA, rowB, rowC, rowE}, 5},
			{"expired descending", CustomerQuery{Sort: "expired", Desc: true, Limit: 2}, []CustomerRow{rowA, rowB}, 5},
			{"page 2 of 2 rows", CustomerQuery{Offset: 2, Limit: 2}, []CustomerRow{rowC, rowD}, 5},
			{"last page", CustomerQuery{Offset: 4, Limit: 2}, []CustomerRow{rowB}, 5},
			{"past the end", CustomerQuery{Offset: 10}, []CustomerRow{}, 5},
			{"search with a kind", CustomerQuery{Search: "card:0042"}, []CustomerRow{rowA, rowE}, 2},
			{"search a value in any kind", CustomerQuery{Search: "0042"}, []CustomerRow{rowA, rowE}, 2},
			{"search finds a second identifier", CustomerQuery{Search: "web:7"}, []CustomerRow{rowA}, 1},
			{"search any kind by a value", CustomerQuery{Search: "7"}, []CustomerRow{rowA}, 1},
			{"search web prefix", CustomerQuery{Search: " web:1 "}, []CustomerRow{rowB}, 1},
			{"search e-mail ignores case", CustomerQuery{Search: "ANN@"}, []CustomerRow{rowC}, 1},
			{"search e-mail kind ignores case", CustomerQuery{Search: "Email:Ann"}, []CustomerRow{rowC}, 1},
			{"search erp keeps case", CustomerQuery{Search: "erp:c"}, []CustomerRow{}, 0},
			{"search a whole kind", CustomerQuery{Search: "erp:"}, []CustomerRow{rowD}, 1},
			{"search an unknown kind is a value", CustomerQuery{Search: "gift:1"}, []CustomerRow{}, 0},
			{"min earned", CustomerQuery{Min: map[string]int64{"earned": 30}}, []CustomerRow{rowA, rowC, rowB}, 3},
			{"max spent", CustomerQuery{Max: map[string]int64{"spent": 15}}, []CustomerRow{rowE, rowC, rowB}, 3},
			{"min expired", CustomerQuery{Min: map[string]int64{"expired": 1}}, []CustomerRow{rowA}, 1},
			{"min provisional", CustomerQuery{Min: map[string]int64{"provisional": 1}}, []CustomerRow{rowE}, 1},
			{"range of earned", CustomerQuery{Min: map[string]int64{"earned": 30}, Max: map[string]int64{"earned": 50}}, []CustomerRow{rowC, rowB}, 2},
			{"filters, search, sort and page together",
				CustomerQuery{Search: "card:", Max: map[string]int64{"earned": 1000}, Sort: "earned", Desc: true, Limit: 1, Offset: 1},
				[]CustomerRow{rowE}, 2},
			{"at a later instant", CustomerQuery{At: time.Date(2026, 2, 1, 0, 0, 0, 0, rome), Sort: "expired", Desc: true, Limit: 2},
				[]CustomerRow{rowA, rowCFeb}, 5},
		}
		check := func(t *testing.T, note string) {
			for _, tt := range tests {
				t.Run(tt.name+note, func(t *testing.T) {
					q := tt.q
					q.Program = "shop"
					page, err := l.ListCustomers(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if page.Total != tt.total {
						t.Errorf("total = %d, want %d", page.Total, tt.total)
					}
					if !reflect.DeepEqual(page.Rows, tt.rows) {
						t.Errorf("rows =\n%+v\nwant\n%+v", page.Rows, tt.rows)
					}
				})
			}
		}
		check(t, "")
		if _, err := l.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, " after the sweep")

		// Every row is the customer's Balance.
		page, err := l.ListCustomers(ctx, CustomerQuery{Program: "shop", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rows {
			b := newH(t, l).balance("shop", r.Customer, time.Time{})
			if r.Earned != b.Earned || r.Provisional != b.Provisional || r.Spent != b.Spent || r.Expired != b.Expired || !reflect.DeepEqual(r.Expiring, b.Expiring) {
				t.Errorf("row %+v differs from the balance %+v", r, b)
			}
		}
		// Another program has its own (empty) list.
		page, err = l.ListCustomers(ctx, CustomerQuery{Program: "card"})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 0 || page.Rows == nil || len(page.Rows) != 0 {
			t.Fatalf("program card: %+v", page)
		}
	})
}

func TestListCustomersLimits(t *testing.T) {
	clock := &testClock{t: romeAt(15, 10)}
	l := openSQLite(t, clock)
	h := newH(t, l)
	ids := make([]Ident, 1005)
	if err := l.Update(h.ctx, func(tx *Tx) error {
		for i := range ids {
			ids[i] = benchIdent(i)
			if _, _, err := tx.EnsureCustomer(ids[i]); err != nil {
				return err
			}
			if _, err := tx.Credit(CreditRequest{Account: Account{"shop", ids[i]}, Meta: Meta{Source: SourceERP, Key: string(ids[i])}, Amount: 1}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		limit, want int
	}{{0, 50}, {-3, 50}, {7, 7}, {1000, 1000}, {5000, 1000}}
	for _, tt := range tests {
		page, err := l.ListCustomers(h.ctx, CustomerQuery{Program: "shop", Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Rows) != tt.want || page.Total != len(ids) {
			t.Errorf("limit %d: %d rows of %d, want %d of %d", tt.limit, len(page.Rows), page.Total, tt.want, len(ids))
		}
	}
}

func TestListCustomersRefuses(t *testing.T) {
	clock := &testClock{t: romeAt(15, 10)}
	l := openSQLite(t, clock)
	tests := []struct {
		name string
		q    CustomerQuery
		want error
	}{
		{"unknown program", CustomerQuery{Program: "gold"}, ErrUnknownProgram},
		{"unknown sort", CustomerQuery{Program: "shop", Sort: "debt"}, ErrInvalid},
		{"unknown min column", CustomerQuery{Program: "shop", Min: map[string]int64{"customer": 1}}, ErrInvalid},
		{"unknown max column", CustomerQuery{Program: "shop", Max: map[string]int64{"balance": 1}}, ErrInvalid},
		{"negative offset", CustomerQuery{Program: "shop", Offset: -1}, ErrInvalid},
		{"search too long", CustomerQuery{Program: "shop", Search: string(make([]byte, 200))}, ErrInvalid},
		{"search not text", CustomerQuery{Program: "shop", Search: "card:\xff"}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.ListCustomers(context.Background(), tt.q)
			wantErr(t, err, tt.want)
		})
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ in, want string }{
		{"card:0042", "card:0043"},
		{"web:", "web;"},
		{"email:anz", "email:an{"},
		{"web:a\U0010FFFF", "web:b"},
		{"web:\uD7FF", "web:\uE000"},
		{"web:é", "web:ê"},
	}
	for _, tt := range tests {
		if got := prefixEnd(tt.in); got != tt.want {
			t.Errorf("prefixEnd(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSearchRanges checks the ranges of a search against a plain prefix
// test: an identifier lies in one of the ranges exactly when it starts
// with the search (in the search's kind, or in any kind's value when the
// search names none; e-mail values without case).
func FuzzSearchRanges(f *testing.F) {
	for _, c := range [][2]string{
		{"card:0042", "card:00421"}, {"0042", "web:0042"}, {"Email:Ann", "email:anna@x.it"}, {"web:", "web:1"},
		{"erp:C\U0010FFFF", "erp:C\U0010FFFFx"}, {"x:y", "web:x:y1"}, {"\uD7FF", "web:\uE000"}, {"card: 12", "card:123"},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, search, ident string) {
		ranges, err := searchRanges(search)
		if err != nil || len(ranges) == 0 {
			return
		}
		id, err := ParseIdent(ident)
		if err != nil {
			return
		}
		in := false
		for _, r := range ranges {
			if string(id) >= r[0] && string(id) < r[1] {
				in = true
			}
		}
		kind, value, _ := strings.Cut(string(id), ":")
		want := strings.TrimSpace(search)
		if k, v, ok := strings.Cut(want, ":"); ok && slices.Contains(identKinds, strings.ToLower(strings.TrimSpace(k))) {
			if kind != strings.ToLower(strings.TrimSpace(k)) {
				want = "\x00" // another kind: no value matches
			} else {
				want = strings.TrimSpace(v)
			}
		}
		if kind == IdentEmail {
			want = strings.ToLower(want)
		}
		if match := strings.HasPrefix(value, want); in != match {
			t.Fatalf("identifier %q, search %q: in ranges %q is %v, starts with it is %v", id, search, ranges, in, match)
		}
	})
}
