package sqlsource

import (
	"strings"
	"testing"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want []string
	}{
		{"no name", func(o *Options) { o.Name = "" }, []string{"the name is empty"}},
		{"driver", func(o *Options) { o.Driver = "postgres" }, []string{`sql "shop-orders": driver "postgres": use sqlserver (SQL Server) or mysql`}},
		{"no DSN", func(o *Options) { o.DSN = " " }, []string{"the DSN is empty"}},
		{"negative timeout", func(o *Options) { o.Timeout = -1 }, []string{"timeout -1ns is negative"}},
		{"no cursor", func(o *Options) { o.Cursor = nil }, []string{"no cursor column"}},
		{"cursor type", func(o *Options) { o.Cursor[0].Type = "serial" }, []string{`cursor column id: unknown type "serial"`}},
		{"cursor start", func(o *Options) { o.Cursor[0].Start = "ten" }, []string{`cursor column id: start: "ten" is not a whole number`}},
		{"cursor column name", func(o *Options) { o.Cursor[0].Column = "doc-rv" }, []string{`cursor column "doc-rv": use a plain name`}},
		{"cursor column twice", func(o *Options) {
			o.Cursor = append(o.Cursor, CursorColumn{Column: "ID", Type: CursorInt})
		}, []string{"cursor column ID is listed twice"}},
		{"other placeholder", func(o *Options) {
			o.Query = "SELECT * FROM orders WHERE id > :last_id AND shop = :shop ORDER BY id LIMIT :limit"
		}, []string{"placeholder :shop is not allowed: a query takes only :limit, :last_id"}},
		{"placeholder of another column", func(o *Options) {
			o.Query = "SELECT * FROM orders WHERE id > :last_ID ORDER BY id LIMIT :limit"
		}, []string{"placeholder :last_ID is not allowed"}},
		{"no limit", func(o *Options) { o.Query = "SELECT * FROM orders WHERE id > :last_id ORDER BY id" }, []string{"it does not use :limit"}},
		{"no cursor placeholder", func(o *Options) {
			o.Cursor = append(o.Cursor, CursorColumn{Column: "updated_at", Type: CursorTime})
		}, []string{"it does not use :last_updated_at", "(:last_id, :last_updated_at)"}},
		{"query syntax", func(o *Options) { o.Query = "SELECT 'x FROM t" }, []string{"query: line 1:8: unterminated string"}},
		{"empty query", func(o *Options) { o.Query = "" }, []string{"query: the query is empty"}},
		{"unknown field", func(o *Options) { o.Columns = map[string]string{"total": "amount"} }, []string{`columns: "total" is not a field of web_order facts (order, customer`}},
		{"empty column", func(o *Options) { o.Columns = map[string]string{"gross": ""} }, []string{"columns: gross: the column name is empty"}},
		{"mapping", func(o *Options) { o.Mapping.Program = "" }, []string{"mapping: program: empty"}},
		{"mysql DSN", func(o *Options) { o.DSN = "app:s3cr3t-pw@127.0.0.1/shop" }, []string{"the DSN is not a MySQL DSN"}},
		{"sqlserver DSN", func(o *Options) {
			o.Driver = DriverSQLServer
			o.Query = "SELECT TOP (:limit) * FROM docs WHERE id > :last_id ORDER BY id"
			o.DSN = "sqlserver://app:s3cr3t-pw@erp:notaport?database=x"
		}, []string{"the DSN is not a SQL Server DSN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := orderOptions()
			o.Cursor = append([]CursorColumn(nil), o.Cursor...)
			tt.edit(&o)
			s, err := New(o)
			if err == nil {
				s.Close()
			}
			mustContain(t, err, tt.want...)
			if err != nil && strings.Contains(err.Error(), "s3cr3t-pw") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestNewMapping(t *testing.T) {
	s := newSource(t, func(o *Options) {
		o.Mapping.Decimal = csvio.DecimalComma
		o.Mapping.DateFormats = []string{"02/01/2006", "2006-01-02"}
		o.Columns = map[string]string{"order": "order_id"}
	})
	if s.spec.Decimal != csvio.DecimalPoint {
		t.Errorf("decimal %v, want point: drivers write numbers with a point", s.spec.Decimal)
	}
	want := []string{"2006-01-02T15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02", "02/01/2006"}
	if strings.Join(s.spec.DateFormats, "|") != strings.Join(want, "|") {
		t.Errorf("date formats %q, want %q", s.spec.DateFormats, want)
	}
	for _, f := range s.fields {
		if f.name == "order" && (f.column != "order_id" || !f.explicit) {
			t.Errorf("order read from %q (explicit %v)", f.column, f.explicit)
		}
		if f.name == "customer" && (f.column != "customer" || f.explicit) {
			t.Errorf("customer read from %q (explicit %v)", f.column, f.explicit)
		}
	}
	if s.text != "SELECT * FROM orders WHERE id > ? ORDER BY id LIMIT ?" || strings.Join(s.params, ",") != "last_id,limit" {
		t.Errorf("query %q with %q", s.text, s.params)
	}
	args := s.args([]cval{{i: 17}}, 500)
	if len(args) != 2 || args[0] != int64(17) || args[1] != int64(500) {
		t.Errorf("args %#v", args)
	}
}

func TestSecretsOf(t *testing.T) {
	tests := []struct {
		dsn  string
		want []string
	}{
		{"app:pa55word@tcp(db:3306)/shop", []string{"pa55word"}},
		{"app:p@ss:word@tcp(db:3306)/shop", []string{"p@ss:word"}},
		{"sqlserver://sa:Str0ng%21pw@erp:1433?database=X", []string{"Str0ng%21pw", "Str0ng!pw"}},
		{"server=erp;user id=sa;password=Str0ng!pw;database=X", []string{"Str0ng!pw"}},
		{"sqlserver://erp?user+id=sa&password=Str0ng%21pw", []string{"Str0ng%21pw", "Str0ng!pw"}},
	}
	for _, tt := range tests {
		got := secretsOf(tt.dsn)
		for _, w := range tt.want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("secretsOf(%q) = %q, missing %q", tt.dsn, got, w)
			}
		}
	}
}

func TestScrub(t *testing.T) {
	dsn := "app:pa55word@tcp(db:3306)/shop"
	err := scrubDSN(errString("parse "+dsn+": bad; pa55word"), dsn)
	if strings.Contains(err.Error(), "pa55word") || strings.Contains(err.Error(), "db:3306") {
		t.Errorf("scrubbed error %q still shows the DSN", err)
	}
	plain := errString("connection refused")
	if scrubDSN(plain, dsn) != plain {
		t.Errorf("an error without secrets is changed")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestResolve(t *testing.T) {
	col := func(driver, name, typ string) resultCol {
		return resultCol{name: name, dbType: typ, class: classify(driver, typ)}
	}
	tests := []struct {
		name   string
		driver string
		facts  mapping.Type
		cursor []CursorColumn
		cols   [][2]string // name, database type
		scale0 bool        // the first column is a DECIMAL without decimals
		mapped bool        // shipping is mapped to column spese
		want   []string    // problems, in order; fatal ones marked "!"
	}{
		{
			name: "good web orders", driver: DriverMySQL, facts: mapping.TypeWebOrder,
			cursor: []CursorColumn{{Column: "id", Type: CursorInt}},
			cols:   [][2]string{{"id", "BIGINT"}, {"order", "VARCHAR"}, {"Customer", "INT"}, {"placed_at", "DATETIME"}, {"status", "VARCHAR"}, {"gross", "DECIMAL"}, {"shipping", "DECIMAL"}},
		},
		{
			name: "mysql types that do not fit", driver: DriverMySQL, facts: mapping.TypeWebOrder,
			cursor: []CursorColumn{{Column: "id", Type: CursorInt}, {Column: "updated_at", Type: CursorTime}},
			cols: [][2]string{{"id", "VARCHAR"}, {"updated_at", "BIGINT"}, {"order", "VARCHAR"}, {"customer", "INT"}, {"placed_at", "INT"},
				{"status", "VARCHAR"}, {"gross", "DOUBLE"}, {"quantity", "DATETIME"}},
			want: []string{
				"field placed_at: column placed_at is INT, a number, not a date",
				"field quantity: column quantity is DATETIME, not a number",
				"field gross: column gross is DOUBLE, floating point, which loses cents: cast it to DECIMAL in the query, e.g. CAST(gross AS DECIMAL(18,2))",
				"cursor column id is VARCHAR, and its cursor type is int: an int cursor reads integer columns",
				"cursor column updated_at is BIGINT, and its cursor type is time: a time cursor reads date and time columns",
			},
		},
		{
			name: "missing columns", driver: DriverSQLServer, facts: mapping.TypeWebOrder,
			cursor: []CursorColumn{{Column: "rv", Type: CursorBinary}},
			cols:   [][2]string{{"order", "NVARCHAR"}, {"customer", "NVARCHAR"}, {"status", "NVARCHAR"}, {"gross", "MONEY"}},
			mapped: true,
			want: []string{
				`!field shipping is mapped to column "spese", which the query's result does not have (its columns: order, customer, status, gross)`,
				`!field placed_at is required for web_order facts and the result has no column "placed_at" (its columns: order, customer, status, gross)`,
				"!cursor column rv is not in the query's result (its columns: order, customer, status, gross)",
			},
		},
		{
			name: "sql server rowversion and money", driver: DriverSQLServer, facts: mapping.TypeERPDocument,
			cursor: []CursorColumn{{Column: "rv", Type: CursorBinary}},
			cols: [][2]string{{"rv", "BINARY"}, {"key", "NVARCHAR"}, {"kind", "VARCHAR"}, {"order", "NVARCHAR"}, {"date", "DATETIME2"},
				{"gross", "MONEY"}, {"quantity", "DECIMAL"}, {"spese", "SMALLMONEY"}},
			mapped: true,
		},
		{
			name: "document without key or kind", driver: DriverSQLServer, facts: mapping.TypeERPDocument,
			cursor: []CursorColumn{{Column: "rv", Type: CursorBinary}},
			cols:   [][2]string{{"rv", "TIMESTAMP"}, {"number", "INT"}, {"order", "NVARCHAR"}, {"date", "DATETIMEOFFSET"}, {"gross", "REAL"}},
			want: []string{
				"field gross: column gross is REAL, floating point",
				"!a document is identified by the field key, or by doc_type, year, series and number (doc_type and number at least), and the result has neither (its columns: rv, number, order, date, gross)",
				"!a document needs its kind: select the field kind",
			},
		},
		{
			name: "link with one identifier", driver: DriverMySQL, facts: mapping.TypeLink,
			cursor: []CursorColumn{{Column: "id", Type: CursorInt}},
			cols:   [][2]string{{"id", "INT"}, {"web", "INT"}},
			want:   []string{"!a link needs two identifiers of the customer: the fields known and other, or two of web, erp, card and email; the result has 1 of them"},
		},
		{
			name: "int cursor on numeric(18,0)", driver: DriverSQLServer, facts: mapping.TypeAction,
			cursor: []CursorColumn{{Column: "id", Type: CursorInt}},
			cols:   [][2]string{{"id", "DECIMAL"}, {"customer", "NVARCHAR"}, {"kind", "NVARCHAR"}, {"at", "DATE"}},
			scale0: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, func(o *Options) {
				o.Cursor = tt.cursor
				o.Query = "SELECT :limit"
				for _, c := range tt.cursor {
					o.Query += ", :last_" + c.Column
				}
				o.Mapping.Type = tt.facts
				if tt.mapped {
					o.Columns = map[string]string{"shipping": "spese"}
				}
			})
			s.driver = tt.driver
			var cols []resultCol
			for _, c := range tt.cols {
				cols = append(cols, col(tt.driver, c[0], c[1]))
			}
			if tt.scale0 {
				cols[0].scaled, cols[0].scale = true, 0
			}
			l, probs := s.resolve(cols)
			probs = append(probs, s.cursorProblems(l)...)
			var got []string
			for _, p := range probs {
				text := p.text
				if p.fatal {
					text = "!" + text
				}
				got = append(got, text)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n%s\nwant it to start with:\n%s", i, got[i], tt.want[i])
				}
			}
		})
	}
}
