package sqlsource

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/mapping"
)

// mysqlEnv is a test's MySQL database (testdb's, emptied).
type mysqlEnv struct{ *dbEnv }

func newMySQL(t *testing.T) *mysqlEnv {
	t.Helper()
	return &mysqlEnv{openEnv(t, DriverMySQL, testdb.MySQL(t))}
}

// ordersDDL is a shop's order lines, one row per line.
const ordersDDL = `CREATE TABLE %s (
	id BIGINT NOT NULL PRIMARY KEY,
	order_id VARCHAR(20) NOT NULL,
	customer VARCHAR(20) NOT NULL,
	placed_at DATETIME(6) NOT NULL,
	status VARCHAR(20) NOT NULL,
	gross DECIMAL(14,4) NOT NULL,
	updated_at DATETIME(6) NOT NULL,
	code VARCHAR(20) COLLATE utf8mb4_bin NOT NULL,
	rv VARBINARY(8) NOT NULL,
	shipping DECIMAL(10,2) NULL,
	discount DOUBLE NULL,
	product VARCHAR(20) NULL,
	status_at DATETIME NULL
)`

// orderSelect reads ordersDDL rows as web order lines.
const orderSelect = "SELECT id, order_id AS `order`, customer, placed_at, status, gross, updated_at, code, rv, shipping, discount, product, status_at FROM "

// line is a row of ordersDDL.
type line struct {
	id       int64
	order    string
	gross    string
	updated  string
	code     string
	rv       []byte
	shipping any
	discount any
}

func (e *mysqlEnv) insert(table string, lines ...line) {
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
		if l.rv == nil {
			l.rv = []byte{0, 0, 0, 0, 0, 0, byte(l.id >> 8), byte(l.id)}
		}
		e.exec("INSERT INTO "+table+" (id, order_id, customer, placed_at, status, gross, updated_at, code, rv, shipping, discount) VALUES (?, ?, '42', '2026-01-15 10:00:00', 'paid', ?, ?, ?, ?, ?, ?)",
			l.id, l.order, l.gross, l.updated, l.code, l.rv, l.shipping, l.discount)
	}
}

func (e *mysqlEnv) source(query string, cursor ...CursorColumn) *Source {
	e.t.Helper()
	return e.open("shop-orders", mapping.Spec{Type: mapping.TypeWebOrder, Program: "shop", IdentKind: "web", Location: time.UTC}, query, cursor...)
}

// drain fetches from the start until the source has no more, as the
// daemon does, and checks that every batch moves the cursor on and that
// fetching again from the end brings nothing.
func drain(t *testing.T, s connectors.Source, limit int) (items []mapping.Item, batches []connectors.Batch) {
	t.Helper()
	ctx := context.Background()
	var cur connectors.Cursor
	for range 1000 {
		b, err := s.Fetch(ctx, cur, limit)
		if err != nil {
			t.Fatalf("Fetch(%s, %d): %v", cur, limit, err)
		}
		batches = append(batches, b)
		items = append(items, b.Items...)
		if !b.More {
			end, err := s.Fetch(ctx, b.Next, limit)
			if err != nil {
				t.Fatalf("Fetch at the end: %v", err)
			}
			if len(end.Items) != 0 || end.Next != b.Next || end.More {
				t.Fatalf("Fetch at the end gave %v next %s more %v", summary(end.Items), end.Next, end.More)
			}
			return items, batches
		}
		if b.Next == cur {
			t.Fatalf("batch after %s has More but does not move the cursor", cur)
		}
		cur = b.Next
	}
	t.Fatal("no end after 1000 batches")
	return nil, nil
}

// orderIDs lists the orders of items, with their line counts: "A:3".
func orderIDs(t *testing.T, items []mapping.Item) []string {
	t.Helper()
	var out []string
	for _, it := range items {
		if it.Err != nil {
			out = append(out, "error: "+it.Err.Reason)
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d", it.Fact.Order.ID, len(it.Fact.Order.Lines)))
	}
	return out
}

func TestMySQLCursorTypes(t *testing.T) {
	e := newMySQL(t)
	tests := []struct {
		name   string
		cursor CursorColumn
		lines  []line
	}{
		{"int", CursorColumn{Column: "id", Type: CursorInt}, []line{{id: 1, order: "A"}, {id: 2, order: "B"}, {id: 10, order: "C"}, {id: 11, order: "D"}}},
		{"time at microsecond boundaries", CursorColumn{Column: "updated_at", Type: CursorTime}, []line{
			{id: 1, order: "A", updated: "2026-01-01 10:00:00.000001"},
			{id: 2, order: "B", updated: "2026-01-01 10:00:00.000002"},
			{id: 3, order: "C", updated: "2026-01-01 10:00:00.999999"},
			{id: 4, order: "D", updated: "2026-01-01 10:00:01"},
			{id: 5, order: "E", updated: "2026-01-01 10:00:01.000001"},
			{id: 6, order: "F", updated: "2026-12-31 23:59:59.999999"},
		}},
		{"text", CursorColumn{Column: "code", Type: CursorText}, []line{
			{id: 1, order: "A", code: "A-001"}, {id: 2, order: "B", code: "A-002"}, {id: 3, order: "C", code: "B"}, {id: 4, order: "D", code: "b"},
		}},
		{"binary", CursorColumn{Column: "rv", Type: CursorBinary}, []line{
			{id: 1, order: "A", rv: []byte{0, 0, 0, 0, 0, 0, 0, 1}}, {id: 2, order: "B", rv: []byte{0, 0, 0, 0, 0, 0, 0, 0xFF}},
			{id: 3, order: "C", rv: []byte{0, 0, 0, 0, 0, 0, 1, 0}}, {id: 4, order: "D", rv: []byte{0xFF, 0, 0, 0, 0, 0, 0, 0}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			table := e.table(ordersDDL)
			e.insert(table, tt.lines...)
			c := tt.cursor.Column
			s := e.source(fmt.Sprintf("%s%s WHERE %s > :last_%s ORDER BY %s LIMIT :limit", orderSelect, table, c, c, c), tt.cursor)
			for _, limit := range []int{1, 2, 100} {
				items, _ := drain(t, s, limit)
				var want []string
				for _, l := range tt.lines {
					want = append(want, l.order+":1")
				}
				if got := orderIDs(t, items); !reflect.DeepEqual(got, want) {
					t.Errorf("limit %d: orders %q, want %q", limit, got, want)
				}
			}
		})
	}
}

func TestMySQLTimeCursorValue(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	e.insert(table, line{id: 1, order: "A", updated: "2026-01-01 10:00:00.123456"})
	s := e.source(orderSelect+table+" WHERE updated_at > :last_updated_at ORDER BY updated_at LIMIT :limit",
		CursorColumn{Column: "updated_at", Type: CursorTime, Start: "2026-01-01 10:00:00.123455"})
	b, err := s.Fetch(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"columns":["updated_at"],"last":["2026-01-01 10:00:00.123456"]}`
	if string(b.Next) != want || len(b.Items) != 1 {
		t.Fatalf("next %s with %d items, want %s", b.Next, len(b.Items), want)
	}
	if got := b.Items[0].Origin; got != "shop-orders row updated_at=2026-01-01 10:00:00.123456" {
		t.Errorf("origin %q", got)
	}
	o := b.Items[0].Fact.Order
	if !o.PlacedAt.Equal(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("placed at %v", o.PlacedAt)
	}
}

func TestMySQLCompoundCursor(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	same := "2026-01-01 10:00:00.5"
	lines := []line{
		{id: 1, order: "A", updated: "2026-01-01 09:00:00"},
		{id: 2, order: "B", updated: same}, {id: 3, order: "C", updated: same}, {id: 4, order: "D", updated: same},
		{id: 5, order: "E", updated: same}, {id: 6, order: "F", updated: "2026-01-01 10:00:00.500001"},
		{id: 7, order: "G", updated: "2026-01-01 11:00:00"},
	}
	e.insert(table, lines...)
	s := e.source(orderSelect+table+` WHERE updated_at > :last_updated_at OR (updated_at = :last_updated_at AND id > :last_id)
		ORDER BY updated_at, id LIMIT :limit`,
		CursorColumn{Column: "updated_at", Type: CursorTime}, CursorColumn{Column: "id", Type: CursorInt})
	items, batches := drain(t, s, 3)
	want := []string{"A:1", "B:1", "C:1", "D:1", "E:1", "F:1", "G:1"}
	if got := orderIDs(t, items); !reflect.DeepEqual(got, want) {
		t.Errorf("orders %q, want %q", got, want)
	}
	// A full batch ends before its last row, whose order may go on in
	// the rows not read.
	var got []string
	for _, b := range batches {
		got = append(got, strings.Join(orderIDs(t, b.Items), ","))
	}
	if want := []string{"A:1,B:1", "C:1,D:1", "E:1,F:1", "G:1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("batches %q, want %q", got, want)
	}
	if got := string(batches[1].Next); got != `{"v":1,"columns":["updated_at","id"],"last":["2026-01-01 10:00:00.5","4"]}` {
		t.Errorf("second batch ends at %s", got)
	}
}

func TestMySQLBatchesKeepGroups(t *testing.T) {
	e := newMySQL(t)
	t.Run("lines of an order", func(t *testing.T) {
		e.t = t
		table := e.table(ordersDDL)
		var lines []line
		id := int64(0)
		for _, o := range []struct {
			order string
			lines int
		}{{"A", 3}, {"B", 1}, {"C", 5}, {"D", 2}} {
			for range o.lines {
				id++
				lines = append(lines, line{id: id, order: o.order})
			}
		}
		e.insert(table, lines...)
		s := e.source(orderSelect+table+" WHERE id > :last_id ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
		items, batches := drain(t, s, 2)
		if got, want := orderIDs(t, items), []string{"A:3", "B:1", "C:5", "D:2"}; !reflect.DeepEqual(got, want) {
			t.Errorf("orders %q, want %q", got, want)
		}
		var sizes []string
		for _, b := range batches {
			sizes = append(sizes, strings.Join(orderIDs(t, b.Items), ","))
		}
		// A's 3 lines exceed the limit: the query runs with 4 rows and
		// ends after A; C's 5 lines take 8 rows, the end of the data.
		if want := []string{"A:3", "B:1", "C:5,D:2"}; !reflect.DeepEqual(sizes, want) {
			t.Errorf("batches %q, want %q", sizes, want)
		}
	})
	t.Run("rows sharing a cursor value", func(t *testing.T) {
		e.t = t
		table := e.table(ordersDDL)
		// The cursor is the order's update time: every line of an
		// order, and orders B and C, share it.
		e.insert(table,
			line{id: 1, order: "A", updated: "2026-01-01 10:00:01"},
			line{id: 2, order: "B", updated: "2026-01-01 10:00:02"},
			line{id: 3, order: "B", updated: "2026-01-01 10:00:02"},
			line{id: 4, order: "C", updated: "2026-01-01 10:00:02"},
			line{id: 5, order: "D", updated: "2026-01-01 10:00:03"},
			line{id: 6, order: "D", updated: "2026-01-01 10:00:03"},
			line{id: 7, order: "E", updated: "2026-01-01 10:00:04"},
		)
		s := e.source(orderSelect+table+" WHERE updated_at > :last_updated_at ORDER BY updated_at, id LIMIT :limit",
			CursorColumn{Column: "updated_at", Type: CursorTime})
		items, batches := drain(t, s, 3)
		if got, want := orderIDs(t, items), []string{"A:1", "B:2", "C:1", "D:2", "E:1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("orders %q, want %q", got, want)
		}
		for _, b := range batches {
			ids := orderIDs(t, b.Items)
			joined := "," + strings.Join(ids, ",") + ","
			if strings.Contains(joined, ",B:2,") != strings.Contains(joined, ",C:1,") {
				t.Errorf("batch %q splits B and C, which share a cursor value", ids)
			}
		}
	})
}

func TestMySQLRepeatFetch(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	e.insert(table, line{id: 1, order: "A"}, line{id: 2, order: "A"}, line{id: 3, order: "B"}, line{id: 4, order: "C"}, line{id: 5, order: "C"})
	s := e.source(orderSelect+table+" WHERE id > :last_id ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
	ctx := context.Background()
	var cur connectors.Cursor
	for {
		a, err := s.Fetch(ctx, cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Fetch(ctx, cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("from %s: %v then %v", cur, summary(a.Items), summary(b.Items))
		}
		if !a.More {
			break
		}
		cur = a.Next
	}
}

func TestMySQLExactDecimals(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	e.insert(table,
		line{id: 1, order: "A", gross: "12345.6789"},
		line{id: 2, order: "B", gross: "0.10", shipping: "4.90"},
		line{id: 3, order: "C", gross: "99999999.99"},
		line{id: 4, order: "D", gross: "12.5000"},
		line{id: 5, order: "E", gross: "-0.01"},
		line{id: 6, order: "F", gross: "12345.6700"},
	)
	s := e.source(orderSelect+table+" WHERE id > :last_id ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
	items, _ := drain(t, s, 100)
	if len(items) != 6 {
		t.Fatalf("items %v", summary(items))
	}
	if e := items[0].Err; e == nil || e.Column != "gross" || e.Value != "12345.6789" ||
		!strings.HasPrefix(e.Reason, "has 4 decimals and the field is read exactly to cents: round it in the query") ||
		!strings.HasSuffix(e.Reason, "; order A (1 record) not applied") || e.Origin != "shop-orders row id=1" {
		t.Errorf("12345.6789: %+v", e)
	}
	if e := items[4].Err; e == nil || !strings.Contains(e.Reason, "gross -0.01 is negative") {
		t.Errorf("-0.01: %+v (a line's gross may not be negative: the error shows the value read)", items[4])
	}
	for i, want := range map[int][2]int64{1: {10, 490}, 2: {9999999999, 0}, 3: {1250, 0}, 5: {1234567, 0}} {
		o := items[i].Fact.Order
		if o.Lines[0].Gross != want[0] || o.Shipping != want[1] {
			t.Errorf("order %s: gross %d shipping %d, want %d and %d", o.ID, o.Lines[0].Gross, o.Shipping, want[0], want[1])
		}
	}
}

func TestMySQLNulls(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	e.insert(table, line{id: 1, order: "A"})
	s := e.source(orderSelect+table+" WHERE id > :last_id ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
	b, err := s.Fetch(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != 1 || b.Items[0].Fact == nil {
		t.Fatalf("items %v", summary(b.Items))
	}
	o := b.Items[0].Fact.Order
	if o.Shipping != 0 || o.Lines[0].Product != "" || o.Lines[0].Discount != 0 || !o.StatusAt.Equal(o.PlacedAt) {
		t.Errorf("NULLs read as %+v", o)
	}
}

func TestMySQLFloatRefused(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	e.insert(table, line{id: 1, order: "A"}, line{id: 2, order: "B"}, line{id: 3, order: "B", discount: 1.1}, line{id: 4, order: "C"})
	s := e.source(orderSelect+table+" WHERE id > :last_id ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
	items, _ := drain(t, s, 10)
	got := orderIDs(t, items)
	want := []string{"A:1",
		"error: is a floating-point column (FLOAT, REAL or DOUBLE), which loses cents: cast it to DECIMAL in the query, e.g. CAST(amount AS DECIMAL(18,2)); order B (2 records) not applied",
		"C:1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("items %q, want %q", got, want)
	}
	if e := items[1].Err; e.Column != "discount" || e.Value != "1.1" || e.Origin != "shop-orders row id=3" {
		t.Errorf("error %+v", e)
	}

	// A gross read from a DOUBLE column refuses every order.
	s = e.source("SELECT id, order_id AS `order`, customer, placed_at, status, CAST(gross AS DOUBLE) AS gross FROM "+table+
		" WHERE id > :last_id ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
	items, _ = drain(t, s, 10)
	for _, it := range items {
		if it.Err == nil || it.Err.Column != "gross" || !strings.Contains(it.Err.Reason, "floating-point") {
			t.Errorf("float gross: %v", summary([]mapping.Item{it}))
		}
	}
}

func TestMySQLProbe(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	good := e.source("SELECT id, order_id AS `order`, customer, placed_at, status, gross, shipping, product FROM "+table+
		" WHERE id > :last_id ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
	if err := good.Probe(context.Background()); err != nil {
		t.Errorf("a good query: %v", err)
	}
	bad := e.source("SELECT code AS id, order_id AS `order`, customer, 12 AS placed_at, CAST(gross AS DOUBLE) AS gross FROM "+table+
		" WHERE code > :last_id ORDER BY code LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
	err := bad.Probe(context.Background())
	mustContain(t, err,
		`sql "shop-orders": the query's result does not fit the connector:`,
		"field placed_at: column placed_at is INT, a number, not a date",
		"field gross: column gross is DOUBLE, floating point, which loses cents",
		`field status is required for web_order facts and the result has no column "status" (its columns: id, order, customer, placed_at, gross)`,
		"cursor column id is VARCHAR, and its cursor type is int",
	)
	if n := strings.Count(err.Error(), "\n  - "); n != 4 {
		t.Errorf("%d problems reported, want 4:\n%v", n, err)
	}
}

func TestMySQLFetchRefusesBadResults(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	e.insert(table, line{id: 1, order: "A"}, line{id: 2, order: "B"}, line{id: 3, order: "C"})
	tests := []struct {
		name   string
		query  string
		cursor CursorColumn
		want   []string
	}{
		{"not ordered by the cursor", orderSelect + table + " WHERE id > :last_id ORDER BY id DESC LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt},
			[]string{`sql "shop-orders": row 2 has cursor id=2, before the row before it (id=3): the query must ORDER BY the cursor columns id`}},
		{"more rows than asked", orderSelect + table + " WHERE id > :last_id OR :limit < 0 ORDER BY id", CursorColumn{Column: "id", Type: CursorInt},
			[]string{"the query returned more than the 1 rows asked"}},
		{"cursor column missing", "SELECT order_id AS `order` FROM " + table + " WHERE id > :last_id ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt},
			[]string{"cursor column id is not in the query's result (its columns: order)", `field customer is required`}},
		{"cursor NULL", "SELECT n.x, t.order_id AS `order`, t.customer, t.placed_at, t.status, t.gross FROM " + table +
			" t LEFT JOIN (SELECT 1 AS x) n ON 1 = 0 WHERE :last_x IS NOT NULL ORDER BY t.id LIMIT :limit", CursorColumn{Column: "x", Type: CursorInt},
			[]string{"row 1: cursor column x (", ") is NULL: a cursor column must always have a value"}},
		{"syntax", "SELEKT :limit, :last_id", CursorColumn{Column: "id", Type: CursorInt},
			[]string{`sql "shop-orders": running the query: Error 1064`, "check that the database server is reachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.source(tt.query, tt.cursor)
			limit := 10
			if tt.name == "more rows than asked" {
				limit = 1
			}
			_, err := s.Fetch(context.Background(), "", limit)
			mustContain(t, err, tt.want...)
		})
	}
}

func TestMySQLNoPlaceToEnd(t *testing.T) {
	e := newMySQL(t)
	table := e.table(ordersDDL)
	var lines []line
	for i := range 70 {
		lines = append(lines, line{id: int64(i + 1), order: fmt.Sprintf("O%02d", i), updated: "2026-01-01 10:00:00.25"})
	}
	e.insert(table, lines...)
	s := e.source(orderSelect+table+" WHERE updated_at > :last_updated_at ORDER BY updated_at, id LIMIT :limit",
		CursorColumn{Column: "updated_at", Type: CursorTime})
	_, err := s.Fetch(context.Background(), "", 1)
	mustContain(t, err, "all 64 rows from cursor updated_at=2026-01-01 10:00:00.25 on have that same cursor value",
		"the cursor must grow from one document to the next")
	// With room for them all, they are one batch.
	b, err := s.Fetch(context.Background(), "", 2)
	if err != nil || len(b.Items) != 70 || b.More {
		t.Fatalf("limit 2 (up to 128 rows): %d items, more %v, %v", len(b.Items), b.More, err)
	}

	// Rows read again before the cursor (an overlapping window) are
	// mapped again, but the cursor never moves back, and a query that
	// reads nothing past the cursor cannot end a batch.
	s = e.source(orderSelect+table+" WHERE id > :last_id - 5 ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt})
	after := encodeCursor(s.cursor, []cval{{i: 68}})
	b, err = s.Fetch(context.Background(), after, 10)
	if err != nil || len(b.Items) != 7 || b.More || string(b.Next) != `{"v":1,"columns":["id"],"last":["70"]}` {
		t.Fatalf("overlapping window: %d items, next %s, more %v, %v", len(b.Items), b.Next, b.More, err)
	}
	b, err = s.Fetch(context.Background(), b.Next, 10)
	if err != nil || len(b.Items) != 5 || b.More || string(b.Next) != `{"v":1,"columns":["id"],"last":["70"]}` {
		t.Fatalf("overlapping window at the end: %d items, next %s, more %v, %v", len(b.Items), b.Next, b.More, err)
	}
	s = e.source(orderSelect+table+" WHERE :last_id IS NOT NULL ORDER BY id LIMIT :limit", CursorColumn{Column: "id", Type: CursorInt, Start: "1000"})
	_, err = s.Fetch(context.Background(), "", 1)
	mustContain(t, err, "all 64 rows read lie at or before the stored cursor id=1000: the query must read the rows after it")
}

func TestMySQLWrongPassword(t *testing.T) {
	e := newMySQL(t)
	cfg, err := mysql.ParseDSN(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Passwd = "Wr0ng-S3cret"
	dsn := cfg.FormatDSN()
	s, err := New(Options{Name: "shop-orders", Driver: DriverMySQL, DSN: dsn, Query: "SELECT :limit, :last_id",
		Cursor:  []CursorColumn{{Column: "id", Type: CursorInt}},
		Mapping: mapping.Spec{Type: mapping.TypeAction, Program: "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, err := range map[string]error{"fetch": fetchErr(s), "probe": s.Probe(context.Background())} {
		mustContain(t, err, `sql "shop-orders": running the query:`, "Access denied", "password")
		if strings.Contains(err.Error(), "Wr0ng-S3cret") || strings.Contains(err.Error(), dsn) {
			t.Errorf("%s: the error shows the DSN: %v", name, err)
		}
	}
}

func fetchErr(s *Source) error {
	_, err := s.Fetch(context.Background(), "", 10)
	return err
}
