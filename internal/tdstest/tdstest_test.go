package tdstest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-sql/civil"
	mssql "github.com/microsoft/go-mssqldb"
)

// These tests speak to the server only through database/sql and
// go-mssqldb, through Open: with POINTSYNC_TEST_SQLSERVER_DSN set they
// run, unchanged, against a real SQL Server.

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlserver", Open(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustExec(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, q string, args ...any) sql.Result {
	t.Helper()
	res, err := db.ExecContext(testCtx(t), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

// errNumber is the SQL Server error number of err, or 0.
func errNumber(err error) int32 {
	var e mssql.Error
	if errors.As(err, &e) {
		return e.Number
	}
	return 0
}

func TestConnectAndPing(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	var version string
	var one int64
	if err := db.QueryRowContext(ctx, "SELECT @@VERSION, 1").Scan(&version, &one); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(version, "SQL Server") || one != 1 {
		t.Errorf("SELECT @@VERSION, 1 = %q, %d", version, one)
	}
	var trancount, spid int64
	if err := db.QueryRowContext(ctx, "SELECT @@TRANCOUNT, @@SPID").Scan(&trancount, &spid); err != nil {
		t.Fatal(err)
	}
	if trancount != 0 || spid <= 0 {
		t.Errorf("@@TRANCOUNT, @@SPID = %d, %d", trancount, spid)
	}
}

func TestLoginFailures(t *testing.T) {
	dsn := Open(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	pass, _ := u.User.Password()
	tests := []struct {
		name   string
		edit   func(u *url.URL)
		number int32
	}{
		{"bad password", func(u *url.URL) { u.User = url.UserPassword(user, pass+"x") }, 18456},
		{"unknown user", func(u *url.URL) { u.User = url.UserPassword("nobody_"+user, pass) }, 18456},
		{"unknown database", func(u *url.URL) {
			q := u.Query()
			q.Set("database", "no_such_database_here")
			u.RawQuery = q.Encode()
		}, 18456},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := *u
			tt.edit(&bad)
			db, err := sql.Open("sqlserver", bad.String())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.PingContext(testCtx(t))
			if got := errNumber(err); got != tt.number {
				t.Fatalf("ping: error %v (number %d), want number %d", err, got, tt.number)
			}
		})
	}
}

// roundTrip is one value written through a parameter and read back.
type roundTrip struct {
	name    string
	sqlType string
	in      any
	scan    func() any          // a pointer to scan into
	want    any                 // what *scan() must hold
	equal   func(a, b any) bool // default: bytes.Equal for []byte, == otherwise
}

func timeEqual(a, b any) bool { return a.(time.Time).Equal(b.(time.Time)) }

func roundTrips() []roundTrip {
	ts := time.Date(2024, 3, 9, 17, 45, 12, 123456700, time.UTC)
	long := strings.Repeat("pointsync è€ ", 800)
	blob := bytes.Repeat([]byte{0, 1, 2, 254, 255}, 4000)
	newInt := func() any { return new(int64) }
	newStr := func() any { return new(string) }
	newBytes := func() any { return new([]byte) }
	newTime := func() any { return new(time.Time) }
	newFloat := func() any { return new(float64) }
	guid := mssql.UniqueIdentifier{0x6f, 0x96, 0x19, 0xff, 0x8b, 0x86, 0xd0, 0x11, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff}
	return []roundTrip{
		{"bigint max", "BIGINT", int64(math.MaxInt64), newInt, int64(math.MaxInt64), nil},
		{"bigint min", "BIGINT", int64(math.MinInt64), newInt, int64(math.MinInt64), nil},
		{"int", "INT", int32(-2147483648), newInt, int64(-2147483648), nil},
		{"smallint", "SMALLINT", int16(-32768), newInt, int64(-32768), nil},
		{"tinyint", "TINYINT", uint8(255), newInt, int64(255), nil},
		{"bit", "BIT", true, func() any { return new(bool) }, true, nil},
		{"decimal", "DECIMAL(18,4)", "12345.6789", newBytes, []byte("12345.6789"), nil},
		{"decimal negative cent", "DECIMAL(10,4)", "-0.01", newBytes, []byte("-0.0100"), nil},
		{"numeric", "NUMERIC(12,2)", "-0.01", newBytes, []byte("-0.01"), nil},
		{"numeric from int", "NUMERIC(12,2)", int64(42), newBytes, []byte("42.00"), nil},
		{"money", "MONEY", "1234567.8912", newBytes, []byte("1234567.8912"), nil},
		{"smallmoney", "SMALLMONEY", "-214748.3648", newBytes, []byte("-214748.3648"), nil},
		{"float", "FLOAT", math.Pi, newFloat, math.Pi, nil},
		{"real", "REAL", float32(1.5), newFloat, 1.5, nil},
		{"datetime2", "DATETIME2", ts, newTime, ts, timeEqual},
		{"datetime2(3)", "DATETIME2(3)", ts, newTime, time.Date(2024, 3, 9, 17, 45, 12, 123000000, time.UTC), timeEqual},
		{"datetime", "DATETIME", time.Date(2024, 3, 9, 17, 45, 12, 123000000, time.UTC), newTime, time.Date(2024, 3, 9, 17, 45, 12, 123000000, time.UTC), timeEqual},
		{"smalldatetime", "SMALLDATETIME", time.Date(2024, 3, 9, 17, 45, 29, 0, time.UTC), newTime, time.Date(2024, 3, 9, 17, 45, 0, 0, time.UTC), timeEqual},
		{"date", "DATE", civil.Date{Year: 2024, Month: 2, Day: 29}, newTime, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), timeEqual},
		{"date from datetime2", "DATE", civil.DateTime{Date: civil.Date{Year: 2024, Month: 2, Day: 29}, Time: civil.Time{Hour: 23, Minute: 59}}, newTime, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), timeEqual},
		{"time", "TIME", civil.Time{Hour: 13, Minute: 14, Second: 15, Nanosecond: 1234500}, newTime, time.Date(1, 1, 1, 13, 14, 15, 1234500, time.UTC), timeEqual},
		{"datetimeoffset", "DATETIMEOFFSET", ts, newTime, ts, timeEqual},
		{"nvarchar", "NVARCHAR(50)", "è€ 漢字 😀", newStr, "è€ 漢字 😀", nil},
		{"nvarchar max", "NVARCHAR(MAX)", long, newStr, long, nil},
		{"nvarchar empty", "NVARCHAR(10)", "", newStr, "", nil},
		{"varchar", "VARCHAR(50)", "è€ caffè", newStr, "è€ caffè", nil},
		{"varchar max", "VARCHAR(MAX)", "a long note", newStr, "a long note", nil},
		{"char padded", "CHAR(5)", "ab", newStr, "ab   ", nil},
		{"nchar padded", "NCHAR(3)", "è", newStr, "è  ", nil},
		{"varbinary", "VARBINARY(16)", []byte{0, 1, 2, 255}, newBytes, []byte{0, 1, 2, 255}, nil},
		{"varbinary max", "VARBINARY(MAX)", blob, newBytes, blob, nil},
		{"binary padded", "BINARY(4)", []byte{1, 2}, newBytes, []byte{1, 2, 0, 0}, nil},
		{"uniqueidentifier", "UNIQUEIDENTIFIER", guid, func() any { return new(mssql.UniqueIdentifier) }, guid, nil},
		{"null int", "INT", sql.NullInt64{}, func() any { return new(sql.NullInt64) }, sql.NullInt64{}, nil},
		{"null bit", "BIT", sql.NullBool{}, func() any { return new(sql.NullBool) }, sql.NullBool{}, nil},
		{"null float", "FLOAT", sql.NullFloat64{}, func() any { return new(sql.NullFloat64) }, sql.NullFloat64{}, nil},
		{"null decimal", "DECIMAL(18,4)", nil, func() any { return new(sql.NullString) }, sql.NullString{}, nil},
		{"null datetime2", "DATETIME2", sql.NullTime{}, func() any { return new(sql.NullTime) }, sql.NullTime{}, nil},
		{"null date", "DATE", mssql.NullDate{}, func() any { return new(sql.NullTime) }, sql.NullTime{}, nil},
		{"null nvarchar", "NVARCHAR(20)", sql.NullString{}, func() any { return new(sql.NullString) }, sql.NullString{}, nil},
		{"null nvarchar max", "NVARCHAR(MAX)", nil, func() any { return new(sql.NullString) }, sql.NullString{}, nil},
		{"null varbinary", "VARBINARY(10)", []byte(nil), func() any { return new([]byte) }, []byte(nil), nil},
		{"null untyped", "BIGINT", nil, func() any { return new(sql.NullInt64) }, sql.NullInt64{}, nil},
	}
}

func TestRoundTripEveryType(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	cases := roundTrips()
	var cols []string
	for i, c := range cases {
		cols = append(cols, fmt.Sprintf("c%d %s NULL", i, c.sqlType))
	}
	mustExec(t, db, "CREATE TABLE vals (id INT NOT NULL PRIMARY KEY, "+strings.Join(cols, ", ")+")")
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			col := fmt.Sprintf("c%d", i)
			mustExec(t, db, "INSERT INTO vals (id, "+col+") VALUES (@id, @v)", sql.Named("id", i), sql.Named("v", c.in))
			dest := c.scan()
			if err := db.QueryRowContext(ctx, "SELECT "+col+" FROM vals WHERE id = @p1", i).Scan(dest); err != nil {
				t.Fatal(err)
			}
			got := deref(dest)
			equal := c.equal
			if equal == nil {
				equal = func(a, b any) bool {
					if ab, ok := a.([]byte); ok {
						bb, _ := b.([]byte)
						return bytes.Equal(ab, bb) && (ab == nil) == (bb == nil)
					}
					return a == b
				}
			}
			if !equal(got, c.want) {
				t.Errorf("%s: wrote %v, read %#v, want %#v", c.sqlType, short(c.in), short(got), short(c.want))
			}
		})
	}
}

func deref(p any) any {
	switch v := p.(type) {
	case *int64:
		return *v
	case *string:
		return *v
	case *[]byte:
		return *v
	case *time.Time:
		return *v
	case *float64:
		return *v
	case *bool:
		return *v
	case *mssql.UniqueIdentifier:
		return *v
	case *sql.NullInt64:
		return *v
	case *sql.NullBool:
		return *v
	case *sql.NullFloat64:
		return *v
	case *sql.NullString:
		return *v
	case *sql.NullTime:
		return *v
	}
	panic(fmt.Sprintf("deref %T", p))
}

func short(v any) any {
	s := fmt.Sprintf("%v", v)
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return v
}

func TestDateTimeComparisonsAreExact(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE docs (id INT NOT NULL PRIMARY KEY, updated DATETIME2(7) NOT NULL)")
	base := time.Date(2025, 11, 30, 23, 59, 59, 999999900, time.UTC)
	for i := 0; i < 3; i++ {
		mustExec(t, db, "INSERT INTO docs (id, updated) VALUES (@p1, @p2)", i, base.Add(time.Duration(i)*100*time.Nanosecond))
	}
	tests := []struct {
		op   string
		last time.Time
		want int64
	}{
		{">", base, 2},
		{">", base.Add(-100 * time.Nanosecond), 3},
		{">=", base.Add(100 * time.Nanosecond), 2},
		{"=", base.Add(200 * time.Nanosecond), 1},
		{">", base.Add(200 * time.Nanosecond), 0},
	}
	for _, tt := range tests {
		var n int64
		q := "SELECT COUNT(*) FROM docs WHERE updated " + tt.op + " @last"
		if err := db.QueryRowContext(ctx, q, sql.Named("last", tt.last)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != tt.want {
			t.Errorf("updated %s %s: %d rows, want %d", tt.op, tt.last.Format(time.RFC3339Nano), n, tt.want)
		}
	}
	var latest time.Time
	if err := db.QueryRowContext(ctx, "SELECT MAX(updated) AS latest FROM docs").Scan(&latest); err != nil {
		t.Fatal(err)
	}
	if want := base.Add(200 * time.Nanosecond); !latest.Equal(want) {
		t.Errorf("MAX(updated) = %v, want %v", latest, want)
	}
}

func TestTopAndMetadata(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, `CREATE TABLE erp_docs (
		id BIGINT NOT NULL PRIMARY KEY,
		code VARCHAR(20) NOT NULL,
		customer NVARCHAR(40) NULL,
		total DECIMAL(19,4) NOT NULL,
		paid MONEY NULL,
		updated DATETIME2(3) NOT NULL,
		doc_date DATE NULL,
		flag BIT NOT NULL DEFAULT 0,
		rv ROWVERSION)`)
	for i := 1; i <= 5; i++ {
		mustExec(t, db, "INSERT INTO erp_docs (id, code, customer, total, updated) VALUES (@p1, @p2, @p3, @p4, @p5)",
			int64(i), fmt.Sprintf("DDT-%03d", i), "cliente", fmt.Sprintf("%d.50", i), time.Date(2026, 1, i, 8, 0, 0, 0, time.UTC))
	}
	type colWant struct {
		name, typ  string
		prec, scal int64
		decimal    bool
	}
	want := []colWant{
		{"id", "BIGINT", 0, 0, false},
		{"code", "VARCHAR", 0, 0, false},
		{"customer", "NVARCHAR", 0, 0, false},
		{"total", "DECIMAL", 19, 4, true},
		{"paid", "MONEY", 0, 0, false},
		{"updated", "DATETIME2", 0, 3, true},
		{"doc_date", "DATE", 0, 0, false},
		{"flag", "BIT", 0, 0, false},
		{"rv", "BINARY", 0, 0, false},
		{"rv_number", "BIGINT", 0, 0, false},
	}
	queries := []struct {
		name  string
		query string
		args  []any
		rows  int
	}{
		{"top (0)", "SELECT TOP (0) id, code, customer, total, paid, updated, doc_date, flag, rv, CAST(rv AS BIGINT) AS rv_number FROM erp_docs ORDER BY id", nil, 0},
		{"top 2", "SELECT TOP 2 id, code, customer, total, paid, updated, doc_date, flag, rv, CAST(rv AS BIGINT) AS rv_number FROM dbo.erp_docs ORDER BY id DESC", nil, 2},
		{"top (@n)", "SELECT TOP (@n) id, code, customer, total, paid, updated, doc_date, flag, rv, CAST(rv AS BIGINT) AS rv_number FROM [dbo].[erp_docs] WITH (NOLOCK) WHERE updated > @after ORDER BY updated", []any{sql.Named("n", 3), sql.Named("after", time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC))}, 3},
		{"offset fetch", "SELECT id, code, customer, total, paid, updated, doc_date, flag, rv, CAST(rv AS BIGINT) AS rv_number FROM erp_docs ORDER BY id OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY", nil, 2},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, q.query, q.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cts, err := rows.ColumnTypes()
			if err != nil {
				t.Fatal(err)
			}
			if len(cts) != len(want) {
				t.Fatalf("%d columns, want %d", len(cts), len(want))
			}
			for i, ct := range cts {
				p, s, ok := ct.DecimalSize()
				if ct.Name() != want[i].name || ct.DatabaseTypeName() != want[i].typ || ok != want[i].decimal || (ok && want[i].typ == "DECIMAL" && (p != want[i].prec || s != want[i].scal)) || (ok && want[i].typ == "DATETIME2" && s != want[i].scal) {
					t.Errorf("column %d: %s %s (%d,%d,%v), want %+v", i, ct.Name(), ct.DatabaseTypeName(), p, s, ok, want[i])
				}
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n != q.rows {
				t.Errorf("%d rows, want %d", n, q.rows)
			}
		})
	}
}

func TestRowsAffected(t *testing.T) {
	db := openDB(t)
	mustExec(t, db, "CREATE TABLE cards (num NVARCHAR(20) NOT NULL PRIMARY KEY, points INT NOT NULL)")
	tests := []struct {
		query string
		args  []any
		want  int64
	}{
		{"INSERT INTO cards (num, points) VALUES (N'A1', 10), (N'A2', 20), (N'A3', 30)", nil, 3},
		{"UPDATE cards SET points = points + @p1 WHERE points >= @p2", []any{5, 20}, 2},
		{"UPDATE cards SET points = 0 WHERE num = 'none'", nil, 0},
		{"DELETE FROM cards WHERE num = @p1", []any{"A1"}, 1},
		{"INSERT INTO cards (num, points) SELECT num + 'b', points FROM cards", nil, 2},
		{"DELETE cards", nil, 4},
	}
	for _, tt := range tests {
		n, err := mustExec(t, db, tt.query, tt.args...).RowsAffected()
		if err != nil {
			t.Fatal(err)
		}
		if n != tt.want {
			t.Errorf("%s: %d rows affected, want %d", tt.query, n, tt.want)
		}
	}
}

func TestTransactions(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE moves (id INT NOT NULL PRIMARY KEY, points INT NOT NULL)")
	count := func() int64 {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM moves").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, "INSERT INTO moves VALUES (1, 10)")
	var inTx int64
	if err := tx.QueryRowContext(ctx, "SELECT @@TRANCOUNT").Scan(&inTx); err != nil {
		t.Fatal(err)
	}
	if inTx != 1 {
		t.Errorf("@@TRANCOUNT in a transaction = %d, want 1", inTx)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("after rollback: %d rows, want 0", n)
	}

	tx, err = db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, "INSERT INTO moves VALUES (@p1, @p2)", 2, 20)
	mustExec(t, tx, "INSERT INTO moves VALUES (@p1, @p2)", 3, 30)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("after commit: %d rows, want 2", n)
	}

	// a failed statement leaves the transaction open and usable
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO moves VALUES (2, 99)"); errNumber(err) != 2627 {
		t.Fatalf("duplicate key in a transaction: %v, want error 2627", err)
	}
	mustExec(t, tx, "INSERT INTO moves VALUES (4, 40)")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Fatalf("after the second commit: %d rows, want 3", n)
	}

	// transaction statements in batch text, on one connection
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mustExec(t, conn, "BEGIN TRAN; INSERT INTO moves VALUES (5, 50); ROLLBACK")
	mustExec(t, conn, "BEGIN TRANSACTION")
	mustExec(t, conn, "INSERT INTO moves VALUES (6, 60)")
	var tc int64
	if err := conn.QueryRowContext(ctx, "SELECT @@TRANCOUNT").Scan(&tc); err != nil {
		t.Fatal(err)
	}
	if tc != 1 {
		t.Errorf("@@TRANCOUNT after BEGIN TRANSACTION = %d, want 1", tc)
	}
	mustExec(t, conn, "COMMIT TRANSACTION")
	if n := count(); n != 4 {
		t.Fatalf("after batch transactions: %d rows, want 4", n)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); errNumber(err) != 3902 {
		t.Errorf("COMMIT without BEGIN: %v, want error 3902", err)
	}
}

func TestErrorNumbers(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	db.SetMaxOpenConns(1) // the errors must leave the one connection usable
	mustExec(t, db, "CREATE TABLE items (code NVARCHAR(5) NOT NULL PRIMARY KEY, qty INT NOT NULL, CONSTRAINT qty_positive CHECK (qty >= 0))")
	mustExec(t, db, "INSERT INTO items (code, qty) VALUES (N'A', 1)")
	tests := []struct {
		name   string
		query  string
		args   []any
		number int32
	}{
		{"invalid object", "SELECT * FROM no_such_table", nil, 208},
		{"invalid object with parameter", "SELECT * FROM no_such_table WHERE x = @p1", []any{1}, 208},
		{"invalid column", "SELECT no_such_column FROM items", nil, 207},
		{"syntax", "SELEC code FROM items", nil, 102},
		{"unique key", "INSERT INTO items (code, qty) VALUES (N'A', 2)", nil, 2627},
		{"null", "INSERT INTO items (code, qty) VALUES (N'B', NULL)", nil, 515},
		{"null parameter", "INSERT INTO items (code, qty) VALUES (@p1, @p2)", []any{"B", nil}, 515},
		{"check", "INSERT INTO items (code, qty) VALUES (N'C', -1)", nil, 547},
		{"truncation", "INSERT INTO items (code, qty) VALUES (@p1, 1)", []any{"TOOLONG"}, 2628},
		{"int overflow", "INSERT INTO items (code, qty) VALUES (N'D', @p1)", []any{int64(1) << 40}, 8115},
		{"unclosed quote", "SELECT 'abc FROM items", nil, 105},
		{"conversion", "SELECT CAST(N'abc' AS INT)", nil, 245},
		{"undeclared variable", "SELECT @nothing", nil, 137},
		{"rollback without begin", "ROLLBACK", nil, 3903},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, tt.query, tt.args...)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
			}
			if got := errNumber(err); got != tt.number {
				t.Fatalf("%s: error %v (number %d), want number %d", tt.query, err, got, tt.number)
			}
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM items").Scan(&n); err != nil || n != 1 {
				t.Fatalf("after the error: COUNT(*) = %d, %v; want 1 and the connection usable", n, err)
			}
		})
	}
}

func TestAttentionCancelsWaitfor(t *testing.T) {
	db := openDB(t)
	db.SetMaxOpenConns(1)
	spid := func() int64 {
		var n int64
		if err := db.QueryRowContext(testCtx(t), "SELECT @@SPID").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := spid()
	tests := []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		want   error
		reused bool // go-mssqldb drops a connection whose deadline passed
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled, true},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := db.ExecContext(ctx, "WAITFOR DELAY '00:00:05'")
			elapsed := time.Since(start)
			if !errors.Is(err, tt.want) {
				t.Fatalf("WAITFOR DELAY '00:00:05' stopped after 300ms: %v, want %v", err, tt.want)
			}
			// without attention handling the call would last the full 5s
			if elapsed >= 4*time.Second {
				t.Fatalf("WAITFOR DELAY '00:00:05' stopped after 300ms returned only after %v", elapsed)
			}
			after := spid()
			if tt.reused && after != before {
				t.Errorf("the connection was replaced after attention (@@SPID %d, then %d)", before, after)
			}
			before = after
		})
	}
	var one int64
	// a query whose rows are left unread is cancelled by Rows.Close
	mustExec(t, db, "CREATE TABLE many (i INT NOT NULL)")
	mustExec(t, db, "WITH n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO many (i) SELECT i FROM n OPTION (MAXRECURSION 0)")
	rows, err := db.QueryContext(testCtx(t), "SELECT a.i FROM many a")
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(testCtx(t), "SELECT 2").Scan(&one); err != nil || one != 2 {
		t.Fatalf("after closing unread rows: %d, %v", one, err)
	}
}

func TestRowversion(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, status NVARCHAR(10) NOT NULL, rv ROWVERSION NOT NULL)")
	read := func(id int) ([]byte, int64) {
		var rv []byte
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT rv, CAST(rv AS BIGINT) FROM orders WHERE id = @p1", id).Scan(&rv, &n); err != nil {
			t.Fatal(err)
		}
		if len(rv) != 8 {
			t.Fatalf("rowversion of %d bytes, want 8", len(rv))
		}
		var be int64
		for _, b := range rv {
			be = be<<8 | int64(b)
		}
		if be != n {
			t.Fatalf("CAST(rv AS BIGINT) = %d, but rv = %x", n, rv)
		}
		return rv, n
	}
	mustExec(t, db, "INSERT INTO orders (id, status) VALUES (1, N'placed')")
	rv1, n1 := read(1)
	mustExec(t, db, "INSERT INTO orders (id, status) VALUES (2, N'placed')")
	_, n2 := read(2)
	mustExec(t, db, "UPDATE orders SET status = N'paid' WHERE id = 1")
	_, n3 := read(1)
	if !(n1 > 0 && n2 > n1 && n3 > n2) {
		t.Fatalf("rowversions %d, %d, %d: each insert and update must raise it", n1, n2, n3)
	}
	var changed int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE rv > @p1", rv1).Scan(&changed); err != nil {
		t.Fatal(err)
	}
	if changed != 2 {
		t.Errorf("rows with rv > the first: %d, want 2", changed)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE CAST(rv AS BIGINT) > @p1", n2).Scan(&changed); err != nil {
		t.Fatal(err)
	}
	if changed != 1 {
		t.Errorf("rows with CAST(rv AS BIGINT) > %d: %d, want 1", n2, changed)
	}
}

func TestConcurrentConnections(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE hits (worker INT NOT NULL, n INT NOT NULL, PRIMARY KEY (worker, n))")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	spids := make([]int64, 2)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := db.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			if err := conn.QueryRowContext(ctx, "SELECT @@SPID").Scan(&spids[w]); err != nil {
				errs <- err
				return
			}
			// a #temp table is private to its connection
			if _, err := conn.ExecContext(ctx, "CREATE TABLE #mine (worker INT NOT NULL)"); err != nil {
				errs <- err
				return
			}
			if _, err := conn.ExecContext(ctx, "INSERT INTO #mine VALUES (@p1)", w); err != nil {
				errs <- err
				return
			}
			for n := 0; n < 50; n++ {
				if _, err := conn.ExecContext(ctx, "INSERT INTO hits (worker, n) VALUES (@p1, @p2)", w, n); err != nil {
					errs <- err
					return
				}
			}
			var mine int64
			if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM #mine WHERE worker = @p1", w).Scan(&mine); err != nil || mine != 1 {
				errs <- fmt.Errorf("worker %d sees %d of its own #mine rows: %v", w, mine, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if spids[0] == spids[1] {
		t.Errorf("both connections have @@SPID %d", spids[0])
	}
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM hits").Scan(&n); err != nil || n != 100 {
		t.Fatalf("COUNT(*) = %d, %v; want 100", n, err)
	}
}

func TestLargeResult(t *testing.T) {
	db := openDB(t)
	ctx := testCtx(t)
	mustExec(t, db, "CREATE TABLE big (i INT NOT NULL PRIMARY KEY, label NVARCHAR(40) NOT NULL, amount DECIMAL(12,2) NOT NULL)")
	res := mustExec(t, db, `WITH n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
		INSERT INTO big (i, label, amount) SELECT i, CONCAT(N'riga ', i), i / 4.0 FROM n OPTION (MAXRECURSION 0)`)
	if n, _ := res.RowsAffected(); n != 10000 {
		t.Fatalf("inserted %d rows, want 10000", n)
	}
	rows, err := db.QueryContext(ctx, "SELECT i, label, amount FROM big ORDER BY i")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := 1
	for rows.Next() {
		var i int64
		var label string
		var amount []byte
		if err := rows.Scan(&i, &label, &amount); err != nil {
			t.Fatal(err)
		}
		wantAmount := fmt.Sprintf("%d.%02d", want/4, (want%4)*25)
		if i != int64(want) || label != fmt.Sprintf("riga %d", want) || string(amount) != wantAmount {
			t.Fatalf("row %d: %d %q %s, want %d %q %s", want, i, label, amount, want, fmt.Sprintf("riga %d", want), wantAmount)
		}
		want++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want != 10001 {
		t.Fatalf("read %d rows, want 10000", want-1)
	}
}

func TestTempTablesEndWithTheirConnection(t *testing.T) {
	dsn := Open(t)
	for round := 0; round < 2; round++ {
		db, err := sql.Open("sqlserver", dsn)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		// a fresh connection has no #work table, whatever the last one left
		mustExec(t, conn, "CREATE TABLE #work (id INT NOT NULL)")
		mustExec(t, conn, "INSERT INTO #work VALUES (@p1)", round)
		conn.Close()
		db.Close()
	}
}
