package tdstest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
)

func mssqlNVarCharMax(s string) mssql.NVarCharMax { return mssql.NVarCharMax(s) }

// TestDialect runs T-SQL that SQLite spells differently and checks the
// values SQL Server gives.
func TestDialect(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	d := func(y, m, day int) time.Time { return time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		query string
		args  []any
		want  []any // the Go values of the single row
	}{
		{"SELECT ISNULL(NULL, 5), ISNULL(7, 5)", nil, []any{int64(5), int64(7)}},
		{"SELECT LEN(N'abc  '), LEN(N'')", nil, []any{int64(3), int64(0)}},
		{"SELECT N'pointsync' + N' è€', 'a' + 'b' + 'c'", nil, []any{"pointsync è€", "abc"}},
		{"SELECT CONCAT(N'x', 1, NULL, N'y')", nil, []any{"x1y"}},
		{"SELECT UPPER(N'àb'), LOWER(N'ÀB')", nil, []any{"ÀB", "àb"}},
		{"SELECT N'it''s', 'N''x'''", nil, []any{"it's", "N'x'"}},
		{"SELECT DATEADD(day, 1, CAST('2024-02-28' AS DATE))", nil, []any{d(2024, 2, 29)}},
		{"SELECT DATEADD(month, 1, CAST('2024-01-31' AS DATETIME2))", nil, []any{d(2024, 2, 29)}},
		{"SELECT DATEDIFF(day, '2024-01-01', '2024-03-01'), DATEDIFF(month, '2024-01-31', '2024-02-01')", nil, []any{int64(60), int64(1)}},
		{"SELECT YEAR(CAST('2024-05-06' AS DATE)), MONTH('2024-05-06'), DAY('2024-05-06'), DATEPART(hour, '2024-05-06 07:08:09')", nil, []any{int64(2024), int64(5), int64(6), int64(7)}},
		{"SELECT CHARINDEX(N'b', N'abc'), CHARINDEX(N'z', N'abc'), CHARINDEX(N'B', N'abcb', 3)", nil, []any{int64(2), int64(0), int64(4)}},
		{"SELECT LEFT(N'abcdef', 2), RIGHT(N'abcdef', 2), SUBSTRING(N'abcdef', 2, 3)", nil, []any{"ab", "ef", "bcd"}},
		{"SELECT COALESCE(NULL, N'x'), NULLIF(1, 1)", nil, []any{"x", nil}},
		{"SELECT CASE WHEN 1 = 1 THEN N'y' ELSE N'n' END, IIF(2 > 1, 10, 20)", nil, []any{"y", int64(10)}},
		{"SELECT CAST(12.345 AS DECIMAL(10,2)), CAST(-12.345 AS DECIMAL(10,2))", nil, []any{[]byte("12.35"), []byte("-12.35")}},
		{"SELECT CONVERT(NVARCHAR(10), 42), CAST(1 AS BIT), CAST(N'2' AS INT)", nil, []any{"42", true, int64(2)}},
		{"SELECT CAST(N'pointsync loyalty' AS VARCHAR), CAST(N'abc' AS NVARCHAR(2))", nil, []any{"pointsync loyalty", "ab"}},
		{"SELECT CONVERT(VARCHAR(10), CAST('2024-01-05' AS DATE), 103), CONVERT(CHAR(8), CAST('2024-01-05' AS DATE), 112), CONVERT(VARCHAR(19), CAST('2024-01-05 07:08:09' AS DATETIME2), 120)", nil, []any{"05/01/2024", "20240105", "2024-01-05 07:08:09"}},
		{"SELECT CONVERT(DATE, '15/01/2024', 103), CONVERT(DATETIME2(0), '15.01.2024 10:30', 104)", nil, []any{d(2024, 1, 15), time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)}},
		{"SELECT CAST(N'2024-05-06T07:08:09.5' AS DATETIME2(1))", nil, []any{time.Date(2024, 5, 6, 7, 8, 9, 500000000, time.UTC)}},
		{"SELECT 7 / 2, 7 % 2, ABS(-3)", nil, []any{int64(3), int64(1), int64(3)}},
		{"SELECT COUNT(*) FROM (SELECT 1 AS x UNION ALL SELECT 2) AS t", nil, []any{int64(2)}},
		{"SELECT 0x0A0B, 0x", nil, []any{[]byte{10, 11}, []byte{}}},
		{"SELECT [order] FROM (SELECT 1 AS [order]) AS x", nil, []any{int64(1)}},
		{"SELECT total = 5, [name with space] = N'x'", nil, []any{int64(5), "x"}},
		{"SELECT @a + 1, @b", []any{sql.Named("a", 41), sql.Named("b", "è")}, []any{int64(42), "è"}},
		{"SELECT TOP (1) v FROM (SELECT 2 AS v UNION ALL SELECT 1) AS x ORDER BY v", nil, []any{int64(1)}},
		{"/* comment */ SELECT 1 -- trailing comment", nil, []any{int64(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			if !rows.Next() {
				t.Fatalf("no row: %v", rows.Err())
			}
			got := make([]any, len(tt.want))
			ptrs := make([]any, len(got))
			for i := range got {
				ptrs[i] = &got[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !sameValue(got[i], tt.want[i]) {
					t.Errorf("column %d = %#v (%T), want %#v (%T)", i+1, got[i], got[i], tt.want[i], tt.want[i])
				}
			}
		})
	}
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	}
	return reflect.DeepEqual(got, want)
}

func TestCurrentTime(t *testing.T) {
	db := openDB(t)
	var utc, utc2 time.Time
	if err := db.QueryRowContext(testCtx(t), "SELECT SYSUTCDATETIME(), GETUTCDATE()").Scan(&utc, &utc2); err != nil {
		t.Fatal(err)
	}
	if utc.Year() < 2025 || utc2.Year() < 2025 {
		t.Errorf("SYSUTCDATETIME(), GETUTCDATE() = %v, %v", utc, utc2)
	}
	rows, err := db.QueryContext(testCtx(t), "SELECT TOP (0) SYSDATETIME() AS a, GETDATE() AS b, SYSDATETIMEOFFSET() AS c")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cts, _ := rows.ColumnTypes()
	var names []string
	for _, ct := range cts {
		names = append(names, ct.DatabaseTypeName())
	}
	if fmt.Sprint(names) != "[DATETIME2 DATETIME DATETIMEOFFSET]" {
		t.Errorf("column types %v", names)
	}
}

func TestMultipleStatements(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE log (id INT NOT NULL PRIMARY KEY, msg NVARCHAR(20) NULL)")
	rows, err := db.QueryContext(ctx, "SET NOCOUNT ON; INSERT INTO log VALUES (1, N'a'); SELECT COUNT(*) AS n FROM log; SELECT msg, id FROM log")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	if !rows.Next() {
		t.Fatal("no first result set")
	}
	if err := rows.Scan(&n); err != nil || n != 1 {
		t.Fatalf("first result: %d, %v", n, err)
	}
	if rows.Next() {
		t.Fatal("first result set has a second row")
	}
	if !rows.NextResultSet() || !rows.Next() {
		t.Fatalf("no second result set: %v", rows.Err())
	}
	var msg string
	var id int64
	if err := rows.Scan(&msg, &id); err != nil || msg != "a" || id != 1 {
		t.Fatalf("second result: %q %d %v", msg, id, err)
	}
	if rows.NextResultSet() {
		t.Fatal("a third result set")
	}

	// control statements need no semicolon
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res := mustExec(t, conn, "SET NOCOUNT ON\nINSERT INTO log VALUES (2, NULL)")
	if n, _ := res.RowsAffected(); n != 0 {
		t.Errorf("rows affected with NOCOUNT ON: %d, want 0", n)
	}
	res = mustExec(t, conn, "SET NOCOUNT OFF\nUPDATE log SET msg = N'b' WHERE msg IS NULL")
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("rows affected with NOCOUNT OFF: %d, want 1", n)
	}
}

func TestIdentityAndOutput(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE customers (id INT IDENTITY(100,1) NOT NULL PRIMARY KEY, name NVARCHAR(20) NOT NULL, created DATETIME2(0) NOT NULL DEFAULT SYSUTCDATETIME())")
	var id int64
	if err := db.QueryRowContext(ctx, "INSERT INTO customers (name) OUTPUT INSERTED.id VALUES (@p1)", "Anna").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != 100 {
		t.Errorf("first IDENTITY(100,1) value = %d, want 100", id)
	}
	if err := db.QueryRowContext(ctx, "INSERT INTO customers (name) VALUES (@p1); SELECT CAST(SCOPE_IDENTITY() AS BIGINT)", "Bruno").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != 101 {
		t.Errorf("SCOPE_IDENTITY() = %d, want 101", id)
	}
	rows, err := db.QueryContext(ctx, "UPDATE customers SET name = N'Bruna' OUTPUT INSERTED.id, INSERTED.name WHERE id = 101")
	if err != nil {
		t.Fatal(err)
	}
	cts, _ := rows.ColumnTypes()
	if len(cts) != 2 || cts[0].DatabaseTypeName() != "INT" || cts[1].DatabaseTypeName() != "NVARCHAR" {
		t.Errorf("OUTPUT column types: %v", cts)
	}
	var name string
	if !rows.Next() || rows.Scan(&id, &name) != nil || id != 101 || name != "Bruna" {
		t.Errorf("UPDATE ... OUTPUT: %d %q %v", id, name, rows.Err())
	}
	rows.Close()
	var created time.Time
	if err := db.QueryRowContext(ctx, "SELECT created FROM customers WHERE id = 100").Scan(&created); err != nil || created.Year() < 2025 {
		t.Errorf("DEFAULT SYSUTCDATETIME(): %v, %v", created, err)
	}
}

func TestDDL(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, `CREATE TABLE dbo.stores (
		code CHAR(4) NOT NULL,
		region NVARCHAR(10) NOT NULL CONSTRAINT df_region DEFAULT N'nord',
		opened DATE NULL,
		CONSTRAINT pk_stores PRIMARY KEY CLUSTERED (code ASC)
	)`)
	mustExec(t, db, `CREATE TABLE receipts (
		id BIGINT NOT NULL PRIMARY KEY NONCLUSTERED,
		store CHAR(4) NOT NULL REFERENCES stores (code) ON DELETE CASCADE,
		amount DECIMAL(9,2) NOT NULL DEFAULT ((0)),
		INDEX ix_store NONCLUSTERED (store)
	)`)
	mustExec(t, db, "CREATE INDEX ix_region ON stores (region)")
	mustExec(t, db, "CREATE UNIQUE NONCLUSTERED INDEX ix_region ON receipts (id, store) WITH (FILLFACTOR = 90)")
	mustExec(t, db, "INSERT INTO stores (code) VALUES ('S001')")
	mustExec(t, db, "INSERT INTO receipts (id, store) VALUES (1, 'S001')")
	if _, err := db.ExecContext(ctx, "INSERT INTO receipts (id, store) VALUES (2, 'NONE')"); errNumber(err) != 547 {
		t.Errorf("foreign key violation: %v, want error 547", err)
	}
	var region string
	var amount []byte
	if err := db.QueryRowContext(ctx, "SELECT s.region, r.amount FROM stores s JOIN receipts r ON r.store = s.code").Scan(&region, &amount); err != nil || region != "nord" || string(amount) != "0.00" {
		t.Errorf("defaults: %q %q %v", region, amount, err)
	}
	mustExec(t, db, "ALTER TABLE stores ADD note NVARCHAR(20) NULL, rv ROWVERSION")
	var rv []byte
	if err := db.QueryRowContext(ctx, "SELECT rv FROM stores WHERE code = 'S001'").Scan(&rv); err != nil || len(rv) != 8 {
		t.Errorf("rowversion of an existing row after ALTER TABLE ADD: %x, %v", rv, err)
	}
	mustExec(t, db, "UPDATE stores SET note = N'ok'")
	mustExec(t, db, "ALTER TABLE stores DROP COLUMN note")
	if _, err := db.ExecContext(ctx, "SELECT note FROM stores"); errNumber(err) != 207 {
		t.Errorf("dropped column: %v, want error 207", err)
	}
	mustExec(t, db, "DROP INDEX ix_region ON stores")
	mustExec(t, db, "DELETE FROM stores")
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM receipts").Scan(&n); err != nil || n != 0 {
		t.Errorf("ON DELETE CASCADE: %d receipts left, %v", n, err)
	}
	mustExec(t, db, "DROP TABLE IF EXISTS receipts")
	mustExec(t, db, "DROP TABLE IF EXISTS receipts")
	mustExec(t, db, "TRUNCATE TABLE stores")
	mustExec(t, db, "DROP TABLE stores")
	if _, err := db.ExecContext(ctx, "DROP TABLE stores"); errNumber(err) != 3701 {
		t.Errorf("DROP TABLE of a missing table: %v, want error 3701", err)
	}
	mustExec(t, db, "CREATE TABLE stores (code INT NOT NULL)")
	if _, err := db.ExecContext(ctx, "CREATE TABLE stores (code INT NOT NULL)"); errNumber(err) != 2714 {
		t.Errorf("CREATE TABLE of an existing table: %v, want error 2714", err)
	}
}

func TestCaseInsensitiveText(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE codes (code NVARCHAR(10) NOT NULL PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO codes VALUES (N'beta'), (N'Alpha'), (N'gamma  ')")
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM codes WHERE code = @p1", "ALPHA").Scan(&n); err != nil || n != 1 {
		t.Errorf("case-insensitive equality: %d, %v", n, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM codes WHERE code = N'gamma'").Scan(&n); err != nil || n != 1 {
		t.Errorf("trailing spaces in equality: %d, %v", n, err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO codes VALUES (N'BETA')"); errNumber(err) != 2627 {
		t.Errorf("case-insensitive primary key: %v, want error 2627", err)
	}
	rows, err := db.QueryContext(ctx, "SELECT code FROM codes ORDER BY code")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		got = append(got, s)
	}
	if fmt.Sprint(got) != "[Alpha beta gamma  ]" {
		t.Errorf("ORDER BY code: %q", got)
	}
}

func TestSessionState(t *testing.T) {
	db := openDB(t)
	db.SetMaxOpenConns(1)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE t (id INT NOT NULL PRIMARY KEY)")

	// a transaction left open in batch text is rolled back when the
	// pool hands the connection out again (reset connection)
	mustExec(t, db, "BEGIN TRAN; INSERT INTO t VALUES (1)")
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after a reset: COUNT(*) = %d, %v; want 0", n, err)
	}

	// XACT_ABORT ON: an error rolls the transaction back
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustExec(t, conn, "INSERT INTO t VALUES (1)")
	mustExec(t, conn, "SET XACT_ABORT ON")
	mustExec(t, conn, "BEGIN TRAN")
	mustExec(t, conn, "INSERT INTO t VALUES (2)")
	if _, err := conn.ExecContext(ctx, "INSERT INTO t VALUES (1)"); errNumber(err) != 2627 {
		t.Fatalf("duplicate key: %v", err)
	}
	var tc int64
	if err := conn.QueryRowContext(ctx, "SELECT @@TRANCOUNT").Scan(&tc); err != nil || tc != 0 {
		t.Fatalf("@@TRANCOUNT after an error under XACT_ABORT: %d, %v; want 0", tc, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after the abort: COUNT(*) = %d, %v; want 1", n, err)
	}
	// nested BEGIN TRAN counts
	mustExec(t, conn, "SET XACT_ABORT OFF; BEGIN TRAN; BEGIN TRAN")
	if err := conn.QueryRowContext(ctx, "SELECT @@TRANCOUNT").Scan(&tc); err != nil || tc != 2 {
		t.Fatalf("@@TRANCOUNT after two BEGIN TRAN: %d, %v", tc, err)
	}
	mustExec(t, conn, "INSERT INTO t VALUES (3); COMMIT")
	if err := conn.QueryRowContext(ctx, "SELECT @@TRANCOUNT").Scan(&tc); err != nil || tc != 1 {
		t.Fatalf("@@TRANCOUNT after one COMMIT: %d, %v", tc, err)
	}
	mustExec(t, conn, "ROLLBACK")
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("ROLLBACK undoes the inner commit too: COUNT(*) = %d, %v", n, err)
	}
	if err := conn.PingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestResultMetadata(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	conn, err := db.Conn(ctx) // the #temp table lives on one connection
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustExec(t, db, "CREATE TABLE prices (sku VARCHAR(12) NOT NULL PRIMARY KEY, price DECIMAL(9,3) NULL, since DATE NULL)")
	mustExec(t, db, "CREATE VIEW current_prices AS SELECT sku, price FROM prices WHERE since IS NOT NULL")
	mustExec(t, conn, "CREATE TABLE #tmp (n SMALLINT NOT NULL, note NCHAR(4) NULL)")
	tests := []struct {
		query string
		want  string // name:TYPE nullable...
	}{
		{"SELECT COUNT(*), 1 AS one, sku, N'x' AS x, 'ab' AS y, 2.50 AS z FROM prices GROUP BY sku", "[:INT one:INT sku:VARCHAR x:NVARCHAR y:VARCHAR z:DECIMAL]"},
		{"SELECT * FROM current_prices", "[sku:VARCHAR price:DECIMAL]"},
		{"SELECT p.price AS cost, x.sku FROM prices p JOIN (SELECT sku FROM prices) AS x ON x.sku = p.sku", "[cost:DECIMAL sku:VARCHAR]"},
		{"SELECT n, note FROM #tmp", "[n:SMALLINT note:NCHAR]"},
		{"SELECT CAST(NULL AS DATE) AS d, CONVERT(VARBINARY(4), 0x01) AS b, CAST(1 AS TINYINT) AS t", "[d:DATE b:VARBINARY t:TINYINT]"},
	}
	for _, tt := range tests {
		rows, err := conn.QueryContext(ctx, tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		cts, err := rows.ColumnTypes()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ct := range cts {
			got = append(got, ct.Name()+":"+ct.DatabaseTypeName())
		}
		for rows.Next() {
		}
		rows.Close()
		if fmt.Sprint(got) != tt.want {
			t.Errorf("%s: columns %v, want %s", tt.query, got, tt.want)
		}
	}
	rows, err := db.QueryContext(ctx, "SELECT sku, price FROM prices")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cts, _ := rows.ColumnTypes()
	if n, ok := cts[0].Nullable(); !ok || n {
		t.Errorf("sku nullable = %v, %v; want false", n, ok)
	}
	if n, ok := cts[1].Nullable(); !ok || !n {
		t.Errorf("price nullable = %v, %v; want true", n, ok)
	}
	if l, ok := cts[0].Length(); !ok || l != 12 {
		t.Errorf("sku length = %d, %v; want 12", l, ok)
	}
}

func TestPacketSizes(t *testing.T) {
	dsn := Open(t)
	big := strings.Repeat("0123456789è", 7000)
	for _, size := range []string{"512", "32767"} {
		t.Run(size, func(t *testing.T) {
			db, err := sql.Open("sqlserver", dsn+"&packet+size="+size)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var got string
			var n int64
			if err := db.QueryRowContext(testCtx(t), "SELECT @p1, LEN(@p1)", mssqlNVarCharMax(big)).Scan(&got, &n); err != nil {
				t.Fatal(err)
			}
			if got != big || n != int64(len([]rune(big))) {
				t.Errorf("a %d-character value came back as %d characters (LEN %d)", len([]rune(big)), len([]rune(got)), n)
			}
		})
	}
}

// TestMinActiveRowversion reads the rows of committed transactions only,
// as pointsync's rowversion cursors do.
func TestMinActiveRowversion(t *testing.T) {
	db := openDB(t)
	mustExec(t, db, `CREATE TABLE mar (id INT PRIMARY KEY, ts ROWVERSION)`)
	mustExec(t, db, `INSERT INTO mar (id) VALUES (1)`)
	mustExec(t, db, `INSERT INTO mar (id) VALUES (2)`)
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM mar WHERE ts > CAST(@p1 AS BINARY(8)) AND ts < MIN_ACTIVE_ROWVERSION()`, int64(0)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("rows below MIN_ACTIVE_ROWVERSION() = %d, want 2", n)
	}
	var first int64
	if err := db.QueryRow(`SELECT CAST(ts AS BIGINT) FROM mar WHERE id = 1`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM mar WHERE ts > CAST(@p1 AS BINARY(8)) AND ts < MIN_ACTIVE_ROWVERSION()`, first).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("rows after the first's rowversion = %d, want 1", n)
	}
}
