package mapping

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/rules"
)

func rome(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func newMapper(t testing.TB, s Spec) *Mapper {
	t.Helper()
	m, err := NewMapper(s)
	if err != nil {
		t.Fatalf("NewMapper: %v", err)
	}
	return m
}

// recs makes records of a file: Seq from 1, lines from 2 (after the
// header), each given as alternating field names and values.
func recs(rows ...[]string) []Record {
	out := make([]Record, len(rows))
	for i, kv := range rows {
		vals := map[string]string{}
		for j := 0; j+1 < len(kv); j += 2 {
			vals[kv[j]] = kv[j+1]
		}
		out[i] = Record{Seq: int64(i + 1), Origin: "drop.csv", Line: i + 2, Values: vals}
	}
	return out
}

func receiptRow(receipt string, kv ...string) []string {
	return append([]string{"store", "S1", "till", "T1", "receipt", receipt, "at", "15/01/2026 10:00", "card", "0420001234", "gross", "10,00"}, kv...)
}

func TestNewMapperRefusesBadSpecs(t *testing.T) {
	good := func(change func(*Spec)) Spec {
		s := Spec{Type: TypeWebOrder, Program: "P1"}
		change(&s)
		return s
	}
	tests := []struct {
		name    string
		spec    Spec
		wantErr string // "" means valid
	}{
		{"minimal", good(func(*Spec) {}), ""},
		{"every type", good(func(s *Spec) { s.Type = TypeLink }), ""},
		{"12-hour layout with PM", good(func(s *Spec) { s.DateFormats = []string{"02/01/2006 03:04 PM"} }), ""},
		{"date-only layout", good(func(s *Spec) { s.DateFormats = []string{"2006-01-02"} }), ""},
		{"statuses", good(func(s *Spec) {
			s.Statuses = map[string]Status{"Pagato": StatusPaid, " pagato ": StatusPaid, "paid": StatusCompleted}
		}), ""},
		{"unknown type", good(func(s *Spec) { s.Type = "receipt" }), `facts: unknown fact type "receipt"`},
		{"empty program", good(func(s *Spec) { s.Program = " " }), "program: empty"},
		{"bad decimal", good(func(s *Spec) { s.Decimal = csvio.Decimal(7) }), "decimal: unknown value 7"},
		{"operator notation", good(func(s *Spec) { s.DateFormats = []string{"2006-01-02", "dd/mm/yyyy"} }), `date_formats[1]: layout "dd/mm/yyyy" does not write and read back a date`},
		{"12-hour layout without PM", good(func(s *Spec) { s.DateFormats = []string{"2006-01-02 03:04"} }), "date_formats[0]"},
		{"month only", good(func(s *Spec) { s.DateFormats = []string{"01/2006"} }), "date_formats[0]"},
		{"empty layout", good(func(s *Spec) { s.DateFormats = []string{""} }), "date_formats[0]"},
		{"ident kind", good(func(s *Spec) { s.IdentKind = "phone" }), `ident_kind: unknown kind "phone"`},
		{"status target", good(func(s *Spec) { s.Statuses = map[string]Status{"Pagato": "payed"} }), `statuses: "Pagato" maps to unknown "payed"`},
		{"empty status text", good(func(s *Spec) { s.Statuses = map[string]Status{" ": StatusPaid} }), "statuses: an empty text"},
		{"status clash", good(func(s *Spec) { s.Statuses = map[string]Status{"Pagato": StatusPaid, "PAGATO": StatusCompleted} }), "is mapped to both"},
		{"doc kind target", good(func(s *Spec) { s.DocKinds = map[string]DocKind{"FT": "fattura"} }), `document_kinds: "FT" maps to unknown "fattura"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMapper(tt.spec)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewMapper: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("NewMapper accepted the spec, want error %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("NewMapper error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSpecDefaultsAndCopies(t *testing.T) {
	statuses := map[string]Status{"Pagato": StatusPaid}
	m := newMapper(t, Spec{Type: TypeWebOrder, Program: "P1", Statuses: statuses})
	s := m.Spec()
	if !reflect.DeepEqual(s.DateFormats, DefaultDateFormats) || s.Location != time.UTC {
		t.Fatalf("Spec() = %+v, want the default date formats and UTC", s)
	}
	// Neither the caller's map nor the returned Spec can change the
	// Mapper afterwards.
	statuses["Pagato"] = StatusCancelled
	s.DateFormats[0] = "nonsense"
	s.Statuses["Pagato"] = StatusCancelled
	items := mapAll(m, recs([]string{"order", "W1", "customer", "web:1", "placed_at", "2026-01-15 10:00", "status", "Pagato", "gross", "1,00"}))
	if len(items) != 1 || items[0].Fact == nil || items[0].Fact.Order.Status != StatusPaid {
		t.Fatalf("items %+v, want one paid order", items)
	}
	if got := m.Spec().DateFormats[0]; got != time.RFC3339 {
		t.Fatalf("Spec().DateFormats[0] = %q after the caller edited a copy", got)
	}
}

func TestTimesAndZones(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		in      string
		loc     *time.Location
		layouts []string
		want    time.Time
		wantErr string
	}{
		{"2026-01-15 10:00", rome(t), nil, utc("2026-01-15T09:00:00Z"), ""},
		{"2026-07-15 10:00", rome(t), nil, utc("2026-07-15T08:00:00Z"), ""},
		{"15/01/2026 10:00:30", rome(t), nil, utc("2026-01-15T09:00:30Z"), ""},
		{"15/01/2026", rome(t), nil, utc("2026-01-14T23:00:00Z"), ""},
		{"2026-01-15T10:00:00Z", rome(t), nil, utc("2026-01-15T10:00:00Z"), ""},
		{"2026-01-15T10:00:00+05:30", rome(t), nil, utc("2026-01-15T04:30:00Z"), ""},
		{"2026-01-15 10:00", nil, nil, utc("2026-01-15T10:00:00Z"), ""},
		{"15.01.2026 10.00", rome(t), []string{"02.01.2006 15.04"}, utc("2026-01-15T09:00:00Z"), ""},
		{"01/15/2026 10:00 PM", nil, []string{"01/02/2006 03:04 PM"}, utc("2026-01-15T22:00:00Z"), ""},
		{"2026-01-15 10:00", rome(t), []string{"02/01/2006"}, time.Time{}, `not a date in the formats configured; expected a date such as "15/01/2026"`},
		{"15/13/2026", rome(t), nil, time.Time{}, "no such day or time"},
		{"30/02/2026 10:00", rome(t), nil, time.Time{}, "no such day or time"},
		{"0001-01-01", rome(t), nil, time.Time{}, "year 1 is out of range (2000 to 2200)"},
		{"yesterday", rome(t), nil, time.Time{}, "not a date"},
	}
	for _, tt := range tests {
		m := newMapper(t, Spec{Type: TypeAction, Program: "P1", Location: tt.loc, DateFormats: tt.layouts})
		items := mapAll(m, recs([]string{"customer", "web:1", "kind", "registration", "at", tt.in}))
		if len(items) != 1 {
			t.Fatalf("%q: %d items, want 1", tt.in, len(items))
		}
		it := items[0]
		switch {
		case tt.wantErr == "" && it.Err != nil:
			t.Errorf("%q: %v", tt.in, it.Err)
		case tt.wantErr == "" && !it.Fact.Action.At.Equal(tt.want):
			t.Errorf("%q in %v = %v, want %v", tt.in, tt.loc, it.Fact.Action.At, tt.want)
		case tt.wantErr == "" && it.Fact.Action.At.Location() != time.UTC:
			t.Errorf("%q: time in %v, want UTC", tt.in, it.Fact.Action.At.Location())
		case tt.wantErr != "" && it.Err == nil:
			t.Errorf("%q = %v, want error %q", tt.in, it.Fact.Action.At, tt.wantErr)
		case tt.wantErr != "" && (it.Err.Column != "at" || !strings.Contains(it.Err.Reason, tt.wantErr)):
			t.Errorf("%q: error %v, want it on column at containing %q", tt.in, it.Err, tt.wantErr)
		}
	}
}

func TestReceiptNumbers(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		rows    [][]string
		want    TillReceipt // lines, earned and spent are compared
		wantErr string      // substring of the item's error
	}{
		{
			name: "points, decimal comma",
			spec: Spec{Type: TypeTillReceipt, Program: "P1"},
			rows: [][]string{
				receiptRow("1", "gross", "1.234,56", "discount", "0,56", "quantity", "0,250", "earned", "1.234", "spent", "100"),
				receiptRow("1", "gross", "5", "quantity", "", "earned", "", "discounted", "S"),
			},
			want: TillReceipt{Lines: []rules.Line{{Quantity: 250, Gross: 123456, Discount: 56}, {Quantity: 1000, Gross: 500, Discounted: true}},
				Earned: ptr(1234), Spent: 100},
		},
		{
			name: "amount card, decimal point",
			spec: Spec{Type: TypeTillReceipt, Program: "CASH", Amount: true, Decimal: csvio.DecimalPoint},
			rows: [][]string{
				receiptRow("1", "gross", "127.60", "earned", "6.38", "spent", "12.73"),
			},
			want: TillReceipt{Lines: []rules.Line{{Quantity: 1000, Gross: 12760}}, Earned: ptr(638), Spent: 1273},
		},
		{
			name: "no earned anywhere leaves it to the rules",
			spec: Spec{Type: TypeTillReceipt, Program: "P1"},
			rows: [][]string{receiptRow("1", "earned", " "), receiptRow("1", "line", "9")},
			want: TillReceipt{Lines: []rules.Line{{Quantity: 1000, Gross: 1000}, {Quantity: 1000, Gross: 1000}}},
		},
		{
			name: "a service line has quantity zero",
			spec: Spec{Type: TypeTillReceipt, Program: "P1"},
			rows: [][]string{receiptRow("1", "quantity", "0", "discounted", "FALSO")},
			want: TillReceipt{Lines: []rules.Line{{Quantity: 0, Gross: 1000}}},
		},
		{
			name:    "amount with points program",
			spec:    Spec{Type: TypeTillReceipt, Program: "P1"},
			rows:    [][]string{receiptRow("1", "earned", "6,38")},
			wantErr: "points must be whole numbers",
		},
		{
			name:    "amount card with three decimals",
			spec:    Spec{Type: TypeTillReceipt, Program: "CASH", Amount: true},
			rows:    [][]string{receiptRow("1", "spent", "6,385")},
			wantErr: "amounts must have at most 2 decimals; round it in the file (for thousands this file uses '.'); expected an amount such as 1.234,56 (the program's unit is amount)",
		},
		{
			name:    "negative quantity",
			spec:    Spec{Type: TypeTillReceipt, Program: "P1"},
			rows:    [][]string{receiptRow("1", "quantity", "-1")},
			wantErr: "is negative",
		},
		{
			name:    "four decimals of quantity",
			spec:    Spec{Type: TypeTillReceipt, Program: "P1"},
			rows:    [][]string{receiptRow("1", "quantity", "0,2505")},
			wantErr: "quantities have at most 3",
		},
		{
			name:    "not a flag",
			spec:    Spec{Type: TypeTillReceipt, Program: "P1"},
			rows:    [][]string{receiptRow("1", "discounted", "forse")},
			wantErr: "expected yes or no",
		},
		{
			name:    "spent above the bill",
			spec:    Spec{Type: TypeTillReceipt, Program: "P1"},
			rows:    [][]string{receiptRow("1", "spent", "1001")},
			wantErr: "fidelity discount 10.01 is above the document total 10.00",
		},
		{
			name:    "currency symbol",
			spec:    Spec{Type: TypeTillReceipt, Program: "P1"},
			rows:    [][]string{receiptRow("1", "gross", "€ 10,00")},
			wantErr: "remove the currency symbol",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := mapAll(newMapper(t, tt.spec), recs(tt.rows...))
			if len(items) != 1 {
				t.Fatalf("%d items, want 1: %+v", len(items), items)
			}
			it := items[0]
			if tt.wantErr != "" {
				if it.Err == nil || !strings.Contains(it.Err.Reason, tt.wantErr) {
					t.Fatalf("item %+v (error %v), want an error containing %q", it, it.Err, tt.wantErr)
				}
				return
			}
			if it.Err != nil {
				t.Fatal(it.Err)
			}
			got := it.Fact.Receipt
			if !reflect.DeepEqual(got.Lines, tt.want.Lines) || !reflect.DeepEqual(got.Earned, tt.want.Earned) || got.Spent != tt.want.Spent {
				t.Fatalf("lines %+v earned %v spent %d, want %+v earned %v spent %d",
					got.Lines, deref(got.Earned), got.Spent, tt.want.Lines, deref(tt.want.Earned), tt.want.Spent)
			}
		})
	}
}

func ptr(n int64) *int64 { return &n }

func deref(p *int64) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatInt(*p, 10)
}

func TestFlags(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "0": false, "1": true, "true": true, "FALSE": false, "yes": true, "No": false,
		"si": true, "sì": true, "SÌ": true, "x": true, "X": true, "s": true, "n": false, "VERO": true, "falso": false,
	} {
		got, err := parseBool(in)
		if err != nil || got != want {
			t.Errorf("parseBool(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2", "forse", "-", "ok"} {
		if _, err := parseBool(in); err == nil {
			t.Errorf("parseBool(%q) accepted", in)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	tests := []struct {
		in, kind, want, wantErr string
	}{
		{"42", "web", "web:42", ""},
		{"web:42", "", "web:42", ""},
		{"WEB: 42", "", "web:42", ""},
		{"card:0001234", "web", "card:0001234", ""},
		{"0001234", "card", "card:0001234", ""},
		{"anna@example.com", "email", "email:anna@example.com", ""},
		{"12:30", "erp", "erp:12:30", ""},
		{"42", "", "", "has no identifier kind"},
		{"phone:333", "", "", "has no identifier kind"},
		{"email:", "", "", "the email identifier is empty"},
	}
	for _, tt := range tests {
		got, err := ident(tt.in, tt.kind)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ident(%q, %q) = %q, %v, want %q", tt.in, tt.kind, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ident(%q, %q) = %q, %v, want error %q", tt.in, tt.kind, got, err, tt.wantErr)
		}
	}
}

func TestCardNumbersAreMasked(t *testing.T) {
	// A customer written as a card, and a card that differs within a
	// receipt, reach the report masked.
	m := newMapper(t, Spec{Type: TypeAction, Program: "P1", IdentKind: "card"})
	items := mapAll(m, recs([]string{"customer", "0420001234", "kind", "registration", "at", "nonsense"},
		[]string{"customer", "card:0420001234", "kind", "nonsense", "at", "2026-01-15"}))
	for _, it := range items {
		if it.Err == nil || strings.Contains(it.Err.Error(), "0420001234") {
			t.Errorf("item %+v: want an error that does not show the card number", it)
		}
	}
	// A review without its id is refused by validation, which names the
	// customer.
	m = newMapper(t, Spec{Type: TypeAction, Program: "P1", IdentKind: "card"})
	items = mapAll(m, recs([]string{"customer", "0420001234", "kind", "review", "at", "2026-01-15"}))
	if len(items) != 1 || items[0].Err == nil || !strings.Contains(items[0].Err.Reason, "review by card:******1234: the review id is missing") {
		t.Fatalf("items %+v: want the validation error with the card masked", items)
	}
	m = newMapper(t, Spec{Type: TypeTillReceipt, Program: "P1"})
	items = mapAll(m, recs(receiptRow("1"), receiptRow("1", "card", "0420009999")))
	if len(items) != 1 || items[0].Err == nil || strings.Contains(items[0].Err.Error(), "0420009999") || strings.Contains(items[0].Err.Error(), "0420001234") {
		t.Fatalf("items %+v: want one error that shows neither card number", items)
	}
}

func TestGroupsAndPositions(t *testing.T) {
	m := newMapper(t, Spec{Type: TypeTillReceipt, Program: "P1"})
	rs := recs(receiptRow("1"), receiptRow("1", "line", "2"), receiptRow("1", "line", "3"), receiptRow("2"))
	for i, r := range rs[:3] {
		if got := m.Add(r); got != nil {
			t.Fatalf("Add(row %d) = %+v while its receipt is open", i, got)
		}
	}
	got := m.Add(rs[3])
	if len(got) != 1 || got[0].Fact == nil || got[0].Seq != 3 || got[0].Line != 2 || got[0].Origin != "drop.csv" || len(got[0].Fact.Receipt.Lines) != 3 {
		t.Fatalf("Add(next receipt) = %+v, want receipt 1 with 3 lines, Seq 3, line 2", got)
	}
	got = m.Flush()
	if len(got) != 1 || got[0].Fact == nil || got[0].Fact.Receipt.Receipt != "2" || got[0].Seq != 4 || got[0].Line != 5 {
		t.Fatalf("Flush() = %+v, want receipt 2, Seq 4, line 5", got)
	}
	if got := m.Flush(); got != nil {
		t.Fatalf("second Flush() = %+v, want nil", got)
	}
	// A new input may hold the same receipt again: the Mapper forgot the
	// first input.
	items := mapAll(m, recs(receiptRow("1")))
	if len(items) != 1 || items[0].Err != nil {
		t.Fatalf("the same receipt in a new input: %+v", items)
	}
}

func TestErrorGroupsCountTheirRows(t *testing.T) {
	m := newMapper(t, Spec{Type: TypeTillReceipt, Program: "P1"})
	items := mapAll(m, recs(
		receiptRow("1"),
		receiptRow("1", "line", "2", "gross", "dieci"),
		receiptRow("1", "line", "3", "gross", "also bad"),
		receiptRow("1", "line", "4"),
		receiptRow("2"),
	))
	if len(items) != 2 {
		t.Fatalf("%d items, want 2: %+v", len(items), items)
	}
	e := items[0].Err
	if e == nil || e.Line != 3 || e.Column != "gross" || e.Value != "dieci" || items[0].Seq != 4 || items[0].Line != 2 {
		t.Fatalf("first item %+v (error %+v), want the error of line 3 closing lines 2-5", items[0], e)
	}
	if want := "; receipt S1/T1/1 (4 rows, lines 2-5) not applied"; !strings.HasSuffix(e.Reason, want) {
		t.Fatalf("reason %q, want it to end with %q", e.Reason, want)
	}
	if want := `drop.csv:3: gross "dieci": is not a number; expected an amount such as 1.234,56; receipt`; !strings.HasPrefix(e.Error(), want) {
		t.Fatalf("Error() = %q, want it to start with %q", e.Error(), want)
	}
	if items[1].Fact == nil || items[1].Seq != 5 {
		t.Fatalf("second item %+v, want receipt 2", items[1])
	}
}

func TestOrderSnapshotsMayRepeat(t *testing.T) {
	m := newMapper(t, Spec{Type: TypeWebOrder, Program: "P1", IdentKind: "web"})
	row := func(order, status string) []string {
		return []string{"order", order, "customer", "1", "placed_at", "2026-01-15", "status", status, "status_at", "2026-01-16", "gross", "10"}
	}
	items := mapAll(m, recs(row("W1", "placed"), row("W2", "placed"), row("W1", "paid")))
	if len(items) != 3 {
		t.Fatalf("%d items, want 3", len(items))
	}
	for i, it := range items {
		if it.Err != nil {
			t.Fatalf("item %d: %v", i, it.Err)
		}
	}
	if items[2].Fact.Order.ID != "W1" || items[2].Fact.Order.Status != StatusPaid {
		t.Fatalf("third item %+v, want W1 paid", items[2].Fact.Order)
	}
}

func TestManyLinesFindDuplicates(t *testing.T) {
	m := newMapper(t, Spec{Type: TypeERPDocument, Program: "P1"})
	var rows [][]string
	doc := []string{"key", "FT/1", "kind", "invoice", "order", "W1", "date", "2026-01-15", "gross", "1"}
	for i := 1; i <= 3*idScanLimit; i++ {
		rows = append(rows, append(slicesClone(doc), "line", fmt.Sprintf("L%d", i)))
	}
	items := mapAll(m, recs(rows...))
	if len(items) != 1 || items[0].Err != nil || len(items[0].Fact.Document.Lines) != 3*idScanLimit {
		t.Fatalf("items %+v, want one document of %d lines", items, 3*idScanLimit)
	}
	rows = append(rows, append(slicesClone(doc), "line", "L7"))
	items = mapAll(m, recs(rows...))
	want := fmt.Sprintf("line L7 of document FT/1 appears twice: lines 8 and %d of the file", len(rows)+1)
	if len(items) != 1 || items[0].Err == nil || !strings.Contains(items[0].Err.Reason, want) {
		t.Fatalf("items %+v, want an error containing %q", items, want)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func TestHugeGroupIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("maps more than 100000 records")
	}
	m := newMapper(t, Spec{Type: TypeTillReceipt, Program: "P1"})
	vals := map[string]string{"store": "S1", "till": "T1", "receipt": "1", "at": "2026-01-15", "card": "1", "gross": "1"}
	var items []Item
	n := maxGroupRows + 10
	for i := 1; i <= n; i++ {
		v := vals
		if i <= maxGroupRows+1 {
			// Distinct line ids, so that only the size stops the group.
			v = map[string]string{"store": "S1", "till": "T1", "receipt": "1", "at": "2026-01-15", "card": "1", "gross": "1", "line": strconv.Itoa(i)}
		}
		items = append(items, m.Add(Record{Seq: int64(i), Origin: "big.csv", Line: i + 1, Values: v})...)
	}
	items = append(items, m.Flush()...)
	if len(items) != 1 || items[0].Err == nil || items[0].Seq != int64(n) {
		t.Fatalf("%d items, want one error closing all %d rows", len(items), n)
	}
	want := fmt.Sprintf("has more than %d rows", maxGroupRows)
	if e := items[0].Err; e.Line != maxGroupRows+2 || !strings.Contains(e.Reason, want) ||
		!strings.HasSuffix(e.Reason, fmt.Sprintf("(%d rows, lines 2-%d) not applied", n, n+1)) {
		t.Fatalf("error %v, want it on line %d saying %q and counting %d rows", e, maxGroupRows+2, want, n)
	}
}

func TestRecordsWithoutValues(t *testing.T) {
	for _, typ := range Types() {
		m := newMapper(t, Spec{Type: typ, Program: "P1"})
		items := mapAll(m, []Record{{Seq: 1}, {Seq: 2, Values: map[string]string{}}})
		checkItems(t, []Record{{Seq: 1}, {Seq: 2}}, items)
		for _, it := range items {
			if it.Err == nil {
				t.Errorf("%s: an empty record made %+v", typ, it.Fact)
			}
		}
	}
}

func TestFields(t *testing.T) {
	if _, err := Fields("receipt"); err == nil || !strings.Contains(err.Error(), `unknown fact type "receipt"`) {
		t.Fatalf("Fields(receipt) error %v", err)
	}
	for _, typ := range Types() {
		fs, err := Fields(typ)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]string{}
		byName := map[string]Field{}
		for _, f := range fs {
			byName[f.Name] = f
			if f.Help == "" {
				t.Errorf("%s.%s: no help", typ, f.Name)
			}
			for _, h := range append([]string{f.Name}, f.Headers...) {
				k := strings.ToLower(h)
				if other, dup := names[k]; dup {
					t.Errorf("%s: header %q is both %s and %s", typ, h, other, f.Name)
				}
				names[k] = f.Name
			}
		}
		if len(groupFieldsOf[typ]) > maxGroupFields {
			t.Errorf("%s: %d group fields, more than %d slots", typ, len(groupFieldsOf[typ]), maxGroupFields)
		}
		for _, gf := range groupFieldsOf[typ] {
			f, ok := byName[gf.name]
			if !ok || f.Line || f.Required != gf.required || gf.help != f.Help {
				t.Errorf("%s: group field %s (required %v) disagrees with Fields: %+v", typ, gf.name, gf.required, f)
			}
		}
		if _, ok := byName[fieldProgram]; !ok {
			t.Errorf("%s: no program field", typ)
		}
		if gross, ok := byName[fieldGross]; grouped(typ) != ok || (ok && (!gross.Required || !gross.Line)) {
			t.Errorf("%s: gross field %+v, want a required line field exactly for grouped types", typ, gross)
		}
		// Callers get copies.
		fs[0].Headers[0] = "changed"
		fs[0].Name = "changed"
		again, _ := Fields(typ)
		if again[0].Name == "changed" || (len(again[0].Headers) > 0 && again[0].Headers[0] == "changed") {
			t.Errorf("%s: editing the result of Fields changed the table", typ)
		}
	}
}

func TestStatusesMatchLoosely(t *testing.T) {
	m := newMapper(t, Spec{Type: TypeWebOrder, Program: "P1", IdentKind: "web",
		Statuses: map[string]Status{"Da Verificare": StatusPaymentUnconfirmed, "placed": StatusPaid}})
	for in, want := range map[string]Status{
		"da verificare": StatusPaymentUnconfirmed, "  DA VERIFICARE ": StatusPaymentUnconfirmed,
		"Cancelled": StatusCancelled, "PAID": StatusPaid,
		"placed": StatusPaid, // the shop's own text wins over the canonical name
	} {
		items := mapAll(m, recs([]string{"order", "W1", "customer", "1", "placed_at", "2026-01-15", "status", in, "gross", "1"}))
		if len(items) != 1 || items[0].Err != nil || items[0].Fact.Order.Status != want {
			t.Errorf("status %q: %+v, want %s", in, items, want)
		}
	}
}

func TestLayoutPrefix(t *testing.T) {
	for l, want := range map[string]string{
		time.RFC3339:                    "\x00\x00\x00\x00-\x00\x00-\x00\x00T",
		"2006-01-02 15:04:05":           "\x00\x00\x00\x00-\x00\x00-\x00\x00",
		"02/01/2006 15:04":              "\x00\x00/\x00\x00/\x00\x00\x00\x00",
		"02.01.2006":                    "\x00\x00.\x00\x00.\x00\x00\x00\x00",
		"2006-01-02T15:04:05.000Z07:00": "\x00\x00\x00\x00-\x00\x00-\x00\x00T",
		"2/1/2006":                      "",
		"Jan _2 2006":                   "",
		"06-01-02":                      "",
		"20060102":                      "\x00\x00\x00\x00\x00\x00\x00\x00",
	} {
		if got := layoutPrefix(l); got != want {
			t.Errorf("layoutPrefix(%q) = %q, want %q", l, got, want)
		}
	}
}
