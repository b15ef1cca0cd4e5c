package sqlsource

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/tdstest"
	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/mapping"
)

// The bad input catalogue of docs/reliability.md: an operator's query
// whose columns have the wrong type, NULLs or missing columns, over MySQL
// and over the TDS server.

// badTable holds three web orders: A and C are sound, B has a NULL or a
// wrong value in every column a case may read; each case maps other
// columns to the order's fields.
const (
	badTableMySQL = `CREATE TABLE %s (id INT NOT NULL PRIMARY KEY, o VARCHAR(20) NULL, c VARCHAR(20) NULL, p DATETIME NULL,
		st VARCHAR(20) NOT NULL, g DECIMAL(12,2) NULL, n INT NULL, tx VARCHAR(30) NULL, dt VARCHAR(30) NULL)`
	badTableSQLServer = `CREATE TABLE %s (id INT NOT NULL PRIMARY KEY, o NVARCHAR(20) NULL, c NVARCHAR(20) NULL, p DATETIME2 NULL,
		st NVARCHAR(20) NOT NULL, g DECIMAL(12,2) NULL, n INT NULL, tx NVARCHAR(30) NULL, dt NVARCHAR(30) NULL)`
	badRows = `INSERT INTO %s (id, o, c, p, st, g, n, tx, dt) VALUES
		(1, 'A', '1', '2026-01-15 10:00:00', 'paid', 10.00, 5, '10.00', '2026-01-15 10:00'),
		(2, 'B', NULL, NULL, 'paid', NULL, NULL, 'abc', '31/02/2026'),
		(3, 'C', '3', '2026-01-15 11:00:00', 'paid', 12.50, 7, '12,50', '15/01/2026')`
)

// TestBadInputQueryResults runs each case's query on both servers and
// checks the exact answer: the sound orders mapped, each refused order
// named by its row (the cursor value), column, value read and reason; a
// result without a required column refuses the whole fetch, naming the
// field and the columns it has.
func TestBadInputQueryResults(t *testing.T) {
	tests := []struct {
		name string
		// fields is the select list after the cursor column id, with
		// %s for the quoted name "order".
		fields string
		want   []string // "A" mapped, or "row id=N column value: reason part"
		fatal  string   // the fetch fails with this, nothing is mapped
	}{
		{name: "NULL customer", fields: "o AS %s, c AS customer, '2026-01-15' AS placed_at, st AS status, 1.00 AS gross",
			want: []string{"A", `row id=2 customer "": is missing: at least one row of the order must give it (customer identifier (web:42), or a bare value given the connector's ident_kind); order B (1 record) not applied`, "C"}},
		{name: "NULL amount", fields: "o AS %s, '1' AS customer, '2026-01-15' AS placed_at, st AS status, g AS gross",
			want: []string{"A", `row id=2 gross "": is missing: every row is a line of the order and needs its gross amount, such as 1,234.56; order B (1 record) not applied`, "C"}},
		{name: "NULL date", fields: "o AS %s, '1' AS customer, p AS placed_at, st AS status, 1.00 AS gross",
			want: []string{"A", `row id=2 placed_at "": is missing: at least one row of the order must give it (when the order was placed); order B (1 record) not applied`, "C"}},
		{name: "NULL order id", fields: "NULL AS %s, '1' AS customer, p AS placed_at, st AS status, 1.00 AS gross",
			want: []string{`row id=1 order "": is missing: every row of an order needs the order id; the record is not applied`,
				`row id=2 order "": is missing`, `row id=3 order "": is missing`}},
		{name: "text in the amount column", fields: "o AS %s, '1' AS customer, '2026-01-15' AS placed_at, st AS status, tx AS gross",
			want: []string{"A", `row id=2 gross "abc": is not a number; expected an amount such as 1,234.56; order B (1 record) not applied`,
				`row id=3 gross "12,50": ',' used as decimal separator; this file uses '.' for decimals`}},
		{name: "text date out of range", fields: "o AS %s, '1' AS customer, dt AS placed_at, st AS status, 1.00 AS gross",
			want: []string{"A", `row id=2 placed_at "31/02/2026": no such day or time: a part is out of range`, "C"}},
		{name: "number in the date column", fields: "o AS %s, '1' AS customer, n AS placed_at, st AS status, 1.00 AS gross",
			want: []string{`row id=1 placed_at "5": not a date in the formats configured`, `row id=2 placed_at "": is missing`,
				`row id=3 placed_at "7": not a date in the formats configured`}},
		{name: "number in the status column", fields: "o AS %s, '1' AS customer, '2026-01-15' AS placed_at, n AS status, 1.00 AS gross",
			want: []string{`row id=1 status "5": unknown status: expected placed, payment_unconfirmed, paid, completed, cancelled; map the shop's status in the connector's statuses`,
				`row id=2 status "": is missing`, `row id=3 status "7": unknown status`}},
		{name: "required column missing", fields: "o AS %s, '1' AS customer, p AS placed_at, g AS gross",
			fatal: `sql "shop-orders": the query's result does not fit the connector: field status is required for web_order facts and the result has no column "status" (its columns: id, order, customer, placed_at, gross): select it (... AS status), or map it in the connector's columns`},
	}
	backends := []struct {
		name, driver, ddl, top, limit, order string
		dsn                                  func(t *testing.T) string
	}{
		{"mysql", DriverMySQL, badTableMySQL, "", " LIMIT :limit", "`order`", func(t *testing.T) string { return testdb.MySQL(t) }},
		{"sqlserver", DriverSQLServer, badTableSQLServer, "TOP (:limit) ", "", "[order]", func(t *testing.T) string { return tdstest.Open(t) }},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := openEnv(t, be.driver, be.dsn(t))
			table := e.table(be.ddl)
			e.exec(fmt.Sprintf(badRows, table))
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					query := "SELECT " + be.top + "id, " + fmt.Sprintf(tt.fields, be.order) + " FROM " + table + " WHERE id > :last_id ORDER BY id" + be.limit
					s := e.open("shop-orders", mapping.Spec{Type: mapping.TypeWebOrder, Program: "shop", IdentKind: "web", Location: time.UTC},
						query, CursorColumn{Column: "id", Type: CursorInt})
					b, err := s.Fetch(context.Background(), "", 10)
					if tt.fatal != "" {
						if err == nil || err.Error() != tt.fatal || len(b.Items) != 0 {
							t.Fatalf("fetch: %d items, error %v\nwant no items and %s", len(b.Items), err, tt.fatal)
						}
						return
					}
					if err != nil {
						t.Fatalf("fetch: %v", err)
					}
					var got []string
					for _, it := range b.Items {
						if it.Err == nil {
							got = append(got, it.Fact.Order.ID)
							continue
						}
						got = append(got, fmt.Sprintf("%s %s %q: %s", strings.TrimPrefix(it.Err.Origin, "shop-orders "), it.Err.Column, it.Err.Value, it.Err.Reason))
					}
					if len(got) != len(tt.want) {
						t.Fatalf("items %q, want %q", got, tt.want)
					}
					for i, w := range tt.want {
						if !strings.HasPrefix(got[i], w) {
							t.Errorf("item %d = %s\nwant it to start with %s", i, got[i], w)
						}
					}
					if b.More || string(b.Next) != `{"v":1,"columns":["id"],"last":["3"]}` {
						t.Errorf("next %s more %v: the cursor must pass the refused rows", b.Next, b.More)
					}
				})
			}
		})
	}
}
