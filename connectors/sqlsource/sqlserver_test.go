package sqlsource

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/internal/tdstest"
	"github.com/pointsync/pointsync/mapping"
)

// These tests drive go-mssqldb over the TDS protocol against the
// loopback server of internal/tdstest, or a real SQL Server when
// POINTSYNC_TEST_SQLSERVER_DSN is set.

// mssqlEnv is a test's SQL Server database.
type mssqlEnv struct{ *dbEnv }

func newSQLServer(t *testing.T) *mssqlEnv {
	t.Helper()
	return &mssqlEnv{openEnv(t, DriverSQLServer, tdstest.Open(t))}
}

// documentsDDL is an ERP's document lines, one row per line, each with
// its document's values.
const documentsDDL = `CREATE TABLE %s (
	id INT NOT NULL PRIMARY KEY,
	rv ROWVERSION,
	doc_key NVARCHAR(40) NOT NULL,
	doc_kind VARCHAR(20) NOT NULL,
	web_order NVARCHAR(20) NOT NULL,
	doc_date DATETIME2(7) NOT NULL,
	updated_at DATETIME2(7) NOT NULL,
	updated_off DATETIMEOFFSET(7) NULL,
	code NVARCHAR(20) NOT NULL,
	line INT NOT NULL,
	gross MONEY NOT NULL,
	qty DECIMAL(18,4) NULL,
	spese DECIMAL(18,4) NULL,
	sconto FLOAT NULL,
	promo BIT NULL
)`

// docSelect reads documentsDDL rows as ERP document lines.
const docSelect = `SELECT id, rv, doc_key AS [key], doc_kind AS kind, web_order AS [order], doc_date AS [date],
	updated_at, updated_off, code, line, gross, qty AS quantity, spese AS shipping, sconto AS discount, promo AS discounted FROM `

// docLine is a row of documentsDDL.
type docLine struct {
	id      int
	doc     string
	line    int
	gross   string
	updated string
	offset  string
	code    string
	qty     any
	spese   any
	sconto  any
	promo   any
}

func (e *mssqlEnv) insert(table string, lines ...docLine) {
	e.t.Helper()
	for _, l := range lines {
		if l.gross == "" {
			l.gross = "10.00"
		}
		if l.updated == "" {
			l.updated = fmt.Sprintf("2026-01-01 10:00:%02d", l.id%60)
		}
		if l.code == "" {
			l.code = fmt.Sprintf("C%04d", l.id)
		}
		if l.line == 0 {
			l.line = 1
		}
		var off any
		if l.offset != "" {
			off = l.offset
		}
		e.exec("INSERT INTO "+table+` (id, doc_key, doc_kind, web_order, doc_date, updated_at, updated_off, code, line, gross, qty, spese, sconto, promo)
			VALUES (@p1, @p2, 'invoice', @p3, '2026-01-15 10:00:00', CAST(@p4 AS DATETIME2(7)), CAST(@p5 AS DATETIMEOFFSET(7)), @p6, @p7, CAST(@p8 AS MONEY), @p9, @p10, @p11, @p12)`,
			l.id, l.doc, "W-"+l.doc, l.updated, off, l.code, l.line, l.gross, l.qty, l.spese, l.sconto, l.promo)
	}
}

func (e *mssqlEnv) source(query string, cursor ...CursorColumn) *Source {
	e.t.Helper()
	return e.open("erp-documents", mapping.Spec{Type: mapping.TypeERPDocument, Program: "shop", Location: time.UTC}, query, cursor...)
}

// docIDs lists the documents of items with their line counts: "A:3".
func docIDs(items []mapping.Item) []string {
	var out []string
	for _, it := range items {
		if it.Err != nil {
			out = append(out, "error: "+it.Err.Reason)
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d", it.Fact.Document.Key, len(it.Fact.Document.Lines)))
	}
	return out
}

func TestSQLServerCursorTypes(t *testing.T) {
	e := newSQLServer(t)
	tests := []struct {
		name   string
		cursor CursorColumn
		where  string // the query's condition and order
		lines  []docLine
	}{
		{"int", CursorColumn{Column: "id", Type: CursorInt}, "id > :last_id ORDER BY id",
			[]docLine{{id: 1, doc: "A"}, {id: 2, doc: "B"}, {id: 10, doc: "C"}, {id: 11, doc: "D"}}},
		{"datetime2 at 100 ns boundaries", CursorColumn{Column: "updated_at", Type: CursorTime}, "updated_at > :last_updated_at ORDER BY updated_at",
			[]docLine{
				{id: 1, doc: "A", updated: "2026-01-01 10:00:00.0000001"},
				{id: 2, doc: "B", updated: "2026-01-01 10:00:00.0000002"},
				{id: 3, doc: "C", updated: "2026-01-01 10:00:00.9999999"},
				{id: 4, doc: "D", updated: "2026-01-01 10:00:01"},
				{id: 5, doc: "E", updated: "2026-01-01 10:00:01.0000001"},
				{id: 6, doc: "F", updated: "2026-12-31 23:59:59.9999999"},
			}},
		{"datetimeoffset", CursorColumn{Column: "updated_off", Type: CursorTime}, "updated_off > :last_updated_off ORDER BY updated_off",
			[]docLine{
				{id: 1, doc: "A", offset: "2026-01-01 10:00:00.0000001 +01:00"},
				{id: 2, doc: "B", offset: "2026-01-01 09:00:00.0000002 +00:00"},
				{id: 3, doc: "C", offset: "2026-01-01 12:00:00.5 +02:00"},
			}},
		{"text", CursorColumn{Column: "code", Type: CursorText}, "code > :last_code ORDER BY code",
			[]docLine{{id: 1, doc: "A", code: "A-001"}, {id: 2, doc: "B", code: "A-002"}, {id: 3, doc: "C", code: "B"}}},
		{"rowversion", CursorColumn{Column: "rv", Type: CursorBinary}, "rv > :last_rv ORDER BY rv",
			[]docLine{{id: 4, doc: "A"}, {id: 3, doc: "B"}, {id: 2, doc: "C"}, {id: 1, doc: "D"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			table := e.table(documentsDDL)
			e.insert(table, tt.lines...)
			s := e.source("SELECT TOP (:limit) "+strings.TrimPrefix(docSelect, "SELECT ")+table+" WHERE "+tt.where, tt.cursor)
			var want []string
			for _, l := range tt.lines {
				want = append(want, l.doc+":1")
			}
			for _, limit := range []int{1, 2, 100} {
				items, _ := drain(t, s, limit)
				if got := docIDs(items); !reflect.DeepEqual(got, want) {
					t.Errorf("limit %d: documents %q, want %q", limit, got, want)
				}
			}
		})
	}
}

func TestSQLServerCursorValues(t *testing.T) {
	e := newSQLServer(t)
	table := e.table(documentsDDL)
	e.insert(table, docLine{id: 1, doc: "A", updated: "2026-01-01 10:00:00.1234567", offset: "2026-01-01 10:00:00.1234567 +01:00"})
	tests := []struct {
		cursor CursorColumn
		where  string
		next   string
		origin string
	}{
		{CursorColumn{Column: "updated_at", Type: CursorTime, Start: "2026-01-01 10:00:00.1234566"}, "updated_at > :last_updated_at",
			`{"v":1,"columns":["updated_at"],"last":["2026-01-01 10:00:00.1234567"]}`, "erp-documents row updated_at=2026-01-01 10:00:00.1234567"},
		// SQL Server keeps the offset (+01:00); the loopback server
		// keeps the instant in UTC: the cursor holds what was read.
		{CursorColumn{Column: "updated_off", Type: CursorTime}, "updated_off > :last_updated_off", "", "erp-documents row updated_off=2026-01-01T"},
		{CursorColumn{Column: "rv", Type: CursorBinary}, "rv > :last_rv", "", "erp-documents row rv=0x"},
	}
	for _, tt := range tests {
		t.Run(tt.cursor.Column, func(t *testing.T) {
			s := e.source("SELECT TOP (:limit) "+strings.TrimPrefix(docSelect, "SELECT ")+table+" WHERE "+tt.where, tt.cursor)
			b, err := s.Fetch(context.Background(), "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Items) != 1 || (tt.next != "" && string(b.Next) != tt.next) || !strings.HasPrefix(b.Items[0].Origin, tt.origin) {
				t.Fatalf("%d items from %q, next %s; want next %s from %s", len(b.Items), b.Items[0].Origin, b.Next, tt.next, tt.origin)
			}
			if tt.cursor.Column == "updated_off" {
				last, err := decodeCursor(s.cursor, b.Next)
				if err != nil || !last[0].offset || !last[0].t.Equal(time.Date(2026, 1, 1, 9, 0, 0, 123456700, time.UTC)) {
					t.Errorf("datetimeoffset cursor %s: %v", b.Next, err)
				}
			}
			again, err := s.Fetch(context.Background(), b.Next, 10)
			if err != nil || len(again.Items) != 0 || again.Next != b.Next {
				t.Fatalf("after the row: %v, next %s, %v", summary(again.Items), again.Next, err)
			}
		})
	}
}

func TestSQLServerCompoundCursor(t *testing.T) {
	e := newSQLServer(t)
	table := e.table(documentsDDL)
	same := "2026-01-01 10:00:00.5"
	e.insert(table,
		docLine{id: 1, doc: "A", updated: "2026-01-01 09:00:00"},
		docLine{id: 2, doc: "B", updated: same}, docLine{id: 3, doc: "C", updated: same}, docLine{id: 4, doc: "D", updated: same},
		docLine{id: 5, doc: "E", updated: same}, docLine{id: 6, doc: "F", updated: "2026-01-01 10:00:00.5000001"},
		docLine{id: 7, doc: "G", updated: "2026-01-01 11:00:00"},
	)
	s := e.source("SELECT TOP (:limit) "+strings.TrimPrefix(docSelect, "SELECT ")+table+
		` WHERE updated_at > :last_updated_at OR (updated_at = :last_updated_at AND id > :last_id) ORDER BY updated_at, id`,
		CursorColumn{Column: "updated_at", Type: CursorTime}, CursorColumn{Column: "id", Type: CursorInt})
	items, batches := drain(t, s, 3)
	if got, want := docIDs(items), []string{"A:1", "B:1", "C:1", "D:1", "E:1", "F:1", "G:1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("documents %q, want %q", got, want)
	}
	var got []string
	for _, b := range batches {
		got = append(got, strings.Join(docIDs(b.Items), ","))
	}
	if want := []string{"A:1,B:1", "C:1,D:1", "E:1,F:1", "G:1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("batches %q, want %q", got, want)
	}
}

func TestSQLServerBatchesKeepGroups(t *testing.T) {
	e := newSQLServer(t)
	table := e.table(documentsDDL)
	// The cursor is the document's update time, shared by its lines;
	// documents B and C share it too. D's 5 lines exceed the limit.
	var lines []docLine
	id := 0
	for _, d := range []struct {
		doc     string
		lines   int
		updated string
	}{{"A", 3, "2026-01-01 10:00:01"}, {"B", 2, "2026-01-01 10:00:02"}, {"C", 1, "2026-01-01 10:00:02"}, {"D", 5, "2026-01-01 10:00:03"}, {"E", 1, "2026-01-01 10:00:04"}} {
		for i := range d.lines {
			id++
			lines = append(lines, docLine{id: id, doc: d.doc, line: i + 1, updated: d.updated})
		}
	}
	e.insert(table, lines...)
	s := e.source("SELECT TOP (:limit) "+strings.TrimPrefix(docSelect, "SELECT ")+table+" WHERE updated_at > :last_updated_at ORDER BY updated_at, id",
		CursorColumn{Column: "updated_at", Type: CursorTime})
	items, batches := drain(t, s, 2)
	if got, want := docIDs(items), []string{"A:3", "B:2", "C:1", "D:5", "E:1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("documents %q, want %q", got, want)
	}
	var got []string
	for _, b := range batches {
		got = append(got, strings.Join(docIDs(b.Items), ","))
	}
	// A (3 lines): 2 rows, then 4 end after A. B and C share a value:
	// 2, 4 rows hold no end, 8 rows end after C. D: 2, 4, 8 rows: the
	// end of the data.
	if want := []string{"A:3", "B:2,C:1", "D:5,E:1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("batches %q, want %q", got, want)
	}

	// The same cursor gives the same batch, the one that grew too.
	for i, b := range batches {
		from := connectorsCursor("")
		if i > 0 {
			from = batches[i-1].Next
		}
		again, err := s.Fetch(context.Background(), from, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, b) {
			t.Errorf("batch %d fetched again: %v, first %v", i+1, summary(again.Items), summary(b.Items))
		}
	}
}

func TestSQLServerRepeatFetch(t *testing.T) {
	e := newSQLServer(t)
	table := e.table(documentsDDL)
	e.insert(table, docLine{id: 1, doc: "A", line: 1}, docLine{id: 2, doc: "A", line: 2}, docLine{id: 3, doc: "B"},
		docLine{id: 4, doc: "C", line: 1}, docLine{id: 5, doc: "C", line: 2})
	s := e.source("SELECT TOP (:limit) "+strings.TrimPrefix(docSelect, "SELECT ")+table+" WHERE rv > :last_rv ORDER BY rv",
		CursorColumn{Column: "rv", Type: CursorBinary})
	ctx := context.Background()
	cur := ""
	for range 10 {
		a, err := s.Fetch(ctx, connectorsCursor(cur), 2)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Fetch(ctx, connectorsCursor(cur), 2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("from %s: %v then %v", cur, summary(a.Items), summary(b.Items))
		}
		if !a.More {
			return
		}
		cur = string(a.Next)
	}
	t.Fatal("no end")
}

func TestSQLServerExactMoney(t *testing.T) {
	e := newSQLServer(t)
	table := e.table(documentsDDL)
	e.insert(table,
		docLine{id: 1, doc: "A", gross: "12345.6789"},
		docLine{id: 2, doc: "B", gross: "0.10", spese: "4.9000", qty: "0.2500"},
		docLine{id: 3, doc: "C", gross: "99999999.99"},
		docLine{id: 4, doc: "D", gross: "-0.01"},
		docLine{id: 5, doc: "E", gross: "100000000000.01"},
		docLine{id: 6, doc: "F", gross: "12.5", promo: true},
	)
	s := e.source("SELECT TOP (:limit) "+strings.TrimPrefix(docSelect, "SELECT ")+table+" WHERE id > :last_id ORDER BY id",
		CursorColumn{Column: "id", Type: CursorInt})
	items, _ := drain(t, s, 100)
	if len(items) != 6 {
		t.Fatalf("items %v", summary(items))
	}
	if e := items[0].Err; e == nil || e.Column != "gross" || e.Value != "12345.6789" ||
		!strings.HasPrefix(e.Reason, "has 4 decimals and the field is read exactly to cents") ||
		!strings.HasSuffix(e.Reason, "; document A (1 record) not applied") {
		t.Errorf("12345.6789: %+v", items[0])
	}
	if e := items[3].Err; e == nil || !strings.Contains(e.Reason, "gross -0.01 is negative") {
		t.Errorf("-0.01: %v (a line's gross may not be negative: the error shows the value read)", summary(items[3:4]))
	}
	if e := items[4].Err; e == nil || !strings.Contains(e.Reason, "too large") {
		t.Errorf("beyond 100 billion: %v", summary(items[4:5]))
	}
	b := items[1].Fact.Document
	if b.Lines[0].Gross != 10 || b.Shipping != 490 || b.Lines[0].Quantity != 250 {
		t.Errorf("B: %+v", b)
	}
	if c := items[2].Fact.Document; c.Lines[0].Gross != 9999999999 {
		t.Errorf("C: gross %d", c.Lines[0].Gross)
	}
	if f := items[5].Fact.Document; f.Lines[0].Gross != 1250 || !f.Lines[0].Discounted || f.Lines[0].Quantity != 1000 {
		t.Errorf("F: %+v", f.Lines[0])
	}
}

func TestSQLServerFloatRefused(t *testing.T) {
	e := newSQLServer(t)
	table := e.table(documentsDDL)
	e.insert(table, docLine{id: 1, doc: "A"}, docLine{id: 2, doc: "B", line: 1}, docLine{id: 3, doc: "B", line: 2, sconto: 0.3}, docLine{id: 4, doc: "C"})
	s := e.source("SELECT TOP (:limit) "+strings.TrimPrefix(docSelect, "SELECT ")+table+" WHERE id > :last_id ORDER BY id",
		CursorColumn{Column: "id", Type: CursorInt})
	items, _ := drain(t, s, 10)
	want := []string{"A:1",
		"error: is a floating-point column (FLOAT, REAL or DOUBLE), which loses cents: cast it to DECIMAL in the query, e.g. CAST(amount AS DECIMAL(18,2)); document B (2 records) not applied",
		"C:1"}
	if got := docIDs(items); !reflect.DeepEqual(got, want) {
		t.Fatalf("items %q, want %q", got, want)
	}
	if e := items[1].Err; e.Column != "discount" || e.Value != "0.3" || e.Origin != "erp-documents row id=3" {
		t.Errorf("error %+v", e)
	}
}

func TestSQLServerProbe(t *testing.T) {
	e := newSQLServer(t)
	table := e.table(documentsDDL)
	good := e.source("SELECT TOP (:limit) id, rv, doc_key AS [key], doc_kind AS kind, web_order AS [order], doc_date AS [date], gross, qty AS quantity FROM "+
		table+" WHERE rv > :last_rv ORDER BY rv", CursorColumn{Column: "rv", Type: CursorBinary})
	if err := good.Probe(context.Background()); err != nil {
		t.Errorf("a good query: %v", err)
	}
	bad := e.source("SELECT TOP (:limit) code AS rv, doc_key AS [key], id AS [date], CAST(gross AS FLOAT) AS gross FROM "+
		table+" WHERE code > :last_rv ORDER BY code", CursorColumn{Column: "rv", Type: CursorBinary})
	err := bad.Probe(context.Background())
	mustContain(t, err,
		`sql "erp-documents": the query's result does not fit the connector:`,
		"field date: column date is INT, a number, not a date",
		"field gross: column gross is FLOAT, floating point, which loses cents",
		`field order is required for erp_document facts and the result has no column "order" (its columns: rv, key, date, gross)`,
		"a document needs its kind",
		"cursor column rv is NVARCHAR, and its cursor type is binary",
	)
	if n := strings.Count(err.Error(), "\n  - "); n != 5 {
		t.Errorf("%d problems reported, want 5:\n%v", n, err)
	}
}

func TestSQLServerNotOrdered(t *testing.T) {
	e := newSQLServer(t)
	table := e.table(documentsDDL)
	e.insert(table, docLine{id: 1, doc: "A"}, docLine{id: 2, doc: "B"}, docLine{id: 3, doc: "C"})
	s := e.source("SELECT TOP (:limit) "+strings.TrimPrefix(docSelect, "SELECT ")+table+" WHERE rv > :last_rv ORDER BY id DESC",
		CursorColumn{Column: "rv", Type: CursorBinary})
	_, err := s.Fetch(context.Background(), "", 10)
	mustContain(t, err, "row 2 has cursor rv=0x", "before the row before it (rv=0x", "the query must ORDER BY the cursor columns rv")
}

func TestSQLServerWrongPassword(t *testing.T) {
	e := newSQLServer(t)
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	u.User = url.UserPassword(user, "Wr0ng-S3cret!")
	dsn := u.String()
	s, err := New(Options{Name: "erp-documents", Driver: DriverSQLServer, DSN: dsn, Query: "SELECT TOP (:limit) :last_id AS id",
		Cursor:  []CursorColumn{{Column: "id", Type: CursorInt}},
		Mapping: mapping.Spec{Type: mapping.TypeAction, Program: "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, err := range map[string]error{"fetch": fetchErr(s), "probe": s.Probe(context.Background())} {
		mustContain(t, err, `sql "erp-documents": running the query:`, "Login failed")
		if strings.Contains(err.Error(), "Wr0ng-S3cret") || strings.Contains(err.Error(), "Wr0ng-S3cret%21") || strings.Contains(err.Error(), u.Host) && strings.Contains(err.Error(), "sqlserver://") {
			t.Errorf("%s: the error shows the DSN: %v", name, err)
		}
	}
}

func connectorsCursor(s string) connectors.Cursor { return connectors.Cursor(s) }
