package sqlsource

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/connectors"
)

// balancesDDL is the write-back table of README.md.
const balancesDDL = `CREATE TABLE %s (
	customer VARCHAR(64) NOT NULL,
	program VARCHAR(64) NOT NULL,
	earned DECIMAL(12,2) NOT NULL,
	provisional DECIMAL(12,2) NOT NULL,
	spent DECIMAL(12,2) NOT NULL,
	expired DECIMAL(12,2) NOT NULL,
	expiring_date DATE NULL,
	expiring_points DECIMAL(12,2) NULL,
	updated_at DATETIME(6) NOT NULL,
	PRIMARY KEY (customer, program)
)`

func (e *mysqlEnv) newTable(o TableOptions) *Table {
	e.t.Helper()
	o.Name = "shop-balances"
	o.DSN = e.dsn
	if o.Identifier == "" {
		o.Identifier = "web"
	}
	tb, err := NewTable(o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { tb.Close() })
	return tb
}

// dump lists a table's rows as text, ordered by its first column,
// without updated_at.
func (e *mysqlEnv) dump(query string) []string {
	e.t.Helper()
	rows, err := e.db.Query(query)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]nullText, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			parts = append(parts, v.text())
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// nullText reads any column as text, NULL as "NULL".
type nullText struct {
	s     string
	valid bool
}

func (n *nullText) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.valid = false
	case []byte:
		n.s, n.valid = string(x), true
	default:
		n.s, n.valid = fmt.Sprint(x), true
	}
	return nil
}

func (n nullText) text() string {
	if !n.valid {
		return "NULL"
	}
	return n.s
}

func balances() []connectors.Balance {
	return []connectors.Balance{
		{Program: "card", Customer: "web:1001", Identifiers: []string{"web:1001", "card:0420001234"}, Earned: 1273, Provisional: 638, Spent: 5,
			Expired: 0, Expiring: []connectors.Expiring{{Date: "2026-12-31", Points: 1000}, {Date: "2027-06-30", Points: 273}}},
		{Program: "card", Customer: "card:0420009999", Identifiers: []string{"card:0420009999"}, Earned: 50},
		{Program: "card", Customer: "erp:C1", Identifiers: []string{"erp:C1", "web:7", "web:8"}, Earned: -5, Spent: 99999999999},
	}
}

func TestMySQLTableWrite(t *testing.T) {
	e := newMySQL(t)
	table := e.table(balancesDDL)
	tb := e.newTable(TableOptions{Table: table, Amount: true, BatchSize: 2})
	ctx := context.Background()
	query := "SELECT customer, program, earned, provisional, spent, expired, expiring_date, expiring_points, updated_at IS NOT NULL FROM " + table + " ORDER BY customer"
	want := []string{
		"1001 card 12.73 6.38 0.05 0.00 2026-12-31 10.00 1",
		"7 card -0.05 0.00 999999999.99 0.00 NULL NULL 1",
		"8 card -0.05 0.00 999999999.99 0.00 NULL NULL 1",
	}
	for i := range 2 {
		if err := tb.Write(ctx, balances()); err != nil {
			t.Fatal(err)
		}
		if got := e.dump(query); !reflect.DeepEqual(got, want) {
			t.Fatalf("write %d: rows\n%s\nwant\n%s", i+1, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// A later balance replaces the row: absolute values.
	b := balances()[:1]
	b[0].Earned, b[0].Expiring = 1, nil
	if err := tb.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := e.dump(query)[0]; got != "1001 card 0.01 6.38 0.05 0.00 NULL NULL 1" {
		t.Errorf("after an update: %s", got)
	}
	if err := tb.Write(ctx, nil); err != nil {
		t.Errorf("writing nothing: %v", err)
	}
}

func TestMySQLTablePoints(t *testing.T) {
	e := newMySQL(t)
	table := e.table(`CREATE TABLE %s (
		web_user BIGINT NOT NULL PRIMARY KEY,
		punti INT NOT NULL,
		in_scadenza INT NULL,
		scadenza DATE NULL,
		aggiornato DATETIME NOT NULL
	)`)
	tb := e.newTable(TableOptions{Table: table, Columns: map[string]string{
		"customer": "web_user", "earned": "punti", "expiring_points": "in_scadenza", "expiring_date": "scadenza", "updated_at": "aggiornato",
	}})
	if err := tb.Probe(context.Background()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	for range 2 {
		if err := tb.Write(context.Background(), balances()); err != nil {
			t.Fatal(err)
		}
	}
	got := e.dump("SELECT web_user, punti, in_scadenza, scadenza FROM " + table + " ORDER BY web_user")
	want := []string{"7 -5 NULL NULL", "8 -5 NULL NULL", "1001 1273 1000 2026-12-31"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

func TestMySQLTableProbe(t *testing.T) {
	e := newMySQL(t)
	good := e.table(balancesDDL)
	if err := e.newTable(TableOptions{Table: good, Amount: true}).Probe(context.Background()); err != nil {
		t.Errorf("good table: %v", err)
	}
	schema := e.dump("SELECT DATABASE()")[0]
	if err := e.newTable(TableOptions{Table: schema + "." + good, Amount: true}).Probe(context.Background()); err != nil {
		t.Errorf("good table named with its schema: %v", err)
	}
	noKey := e.table(`CREATE TABLE %s (customer VARCHAR(64) NOT NULL, program VARCHAR(64) NOT NULL, earned INT NOT NULL, KEY (customer))`)
	customerOnly := e.table(`CREATE TABLE %s (customer VARCHAR(64) NOT NULL UNIQUE, program VARCHAR(64) NOT NULL, earned INT NOT NULL)`)
	tests := []struct {
		name string
		o    TableOptions
		want []string
	}{
		{"no unique key", TableOptions{Table: noKey, Columns: map[string]string{"customer": "customer", "program": "program", "earned": "earned"}},
			[]string{"no PRIMARY KEY or UNIQUE key of the table is made of exactly (customer, program): INSERT ... ON DUPLICATE KEY UPDATE finds a customer's row by it, and without it every write adds rows",
				"ALTER TABLE `" + noKey + "` ADD UNIQUE KEY (`customer`, `program`)"}},
		{"key without the program written", TableOptions{Table: customerOnly, Columns: map[string]string{"customer": "customer", "program": "program", "earned": "earned"}},
			[]string{"made of exactly (customer, program)"}},
		{"missing columns and amount types", TableOptions{Table: noKey, Amount: true, Columns: map[string]string{"customer": "customer", "earned": "earned", "spent": "spent"}},
			[]string{"figure earned: column earned is INT, and the program's figures are amounts written exactly, such as 12.73: make it DECIMAL(12,2)",
				"figure spent: the table has no column spent (its columns: customer, program, earned)",
				"made of exactly (customer)"}},
		{"no table", TableOptions{Table: "t_missing"}, []string{"table t_missing does not exist in database " + schema}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			err := e.newTable(tt.o).Probe(context.Background())
			mustContain(t, err, tt.want...)
		})
	}
	e.t = t
	tb := e.newTable(TableOptions{Table: customerOnly, Columns: map[string]string{"customer": "customer", "earned": "earned"}})
	if err := tb.Probe(context.Background()); err != nil {
		t.Errorf("a key on the customer alone, program not written: %v", err)
	}
}

func TestNewTableRefuses(t *testing.T) {
	tests := []struct {
		name string
		o    TableOptions
		want string
	}{
		{"no name", TableOptions{Name: ""}, "the name is empty"},
		{"no DSN", TableOptions{Name: "x", Table: "t", Identifier: "web"}, "the DSN is empty"},
		{"table name", TableOptions{Name: "x", DSN: offlineDSN, Table: "t; DROP TABLE x", Identifier: "web"}, "is not a plain table name"},
		{"three parts", TableOptions{Name: "x", DSN: offlineDSN, Table: "a.b.c", Identifier: "web"}, "write table or schema.table"},
		{"quoted", TableOptions{Name: "x", DSN: offlineDSN, Table: "`t`", Identifier: "web"}, "is not a plain table name"},
		{"identifier", TableOptions{Name: "x", DSN: offlineDSN, Table: "t", Identifier: "shop"}, `identifier "shop": use web, erp, card or email`},
		{"figure", TableOptions{Name: "x", DSN: offlineDSN, Table: "t", Identifier: "web", Columns: map[string]string{"customer": "c", "balance": "b"}}, `unknown figure "balance"`},
		{"column", TableOptions{Name: "x", DSN: offlineDSN, Table: "t", Identifier: "web", Columns: map[string]string{"customer": "c`x"}}, "is not a plain column name"},
		{"no customer", TableOptions{Name: "x", DSN: offlineDSN, Table: "t", Identifier: "web", Columns: map[string]string{"earned": "e"}}, "the customer column is needed"},
		{"same column twice", TableOptions{Name: "x", DSN: offlineDSN, Table: "t", Identifier: "web", Columns: map[string]string{"customer": "c", "earned": "C"}}, "customer and earned are both written to column C"},
		{"batch size", TableOptions{Name: "x", DSN: offlineDSN, Table: "t", Identifier: "web", BatchSize: 10_001}, "batch size 10001: use 1 to 8191 rows"},
		{"DSN", TableOptions{Name: "x", DSN: "app:s3cr3t-pw@db/shop", Table: "t", Identifier: "web"}, "the DSN is not a MySQL DSN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := NewTable(tt.o)
			if err == nil {
				tb.Close()
			}
			mustContain(t, err, tt.want)
			if err != nil && strings.Contains(err.Error(), "s3cr3t-pw") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestTableInsert(t *testing.T) {
	tb, err := NewTable(TableOptions{Name: "x", DSN: offlineDSN, Table: "shop.balances", Identifier: "web",
		Columns: map[string]string{"customer": "cust", "program": "prog", "earned": "pts", "updated_at": "at"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	want := "INSERT INTO `shop`.`balances` (`cust`,`prog`,`pts`,`at`) VALUES (?,?,?,UTC_TIMESTAMP(6)),(?,?,?,UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE `pts`=VALUES(`pts`),`at`=VALUES(`at`)"
	if got := tb.insert(2); got != want {
		t.Errorf("insert:\n%s\nwant\n%s", got, want)
	}
}
