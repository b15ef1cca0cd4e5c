package tdstest

import (
	"errors"
	"fmt"
	"testing"
)

func TestTranslate(t *testing.T) {
	e := &env{database: "erp", user: "sa", spid: 53, tranCount: 2, rowCount: 7}
	tests := []struct {
		in   string
		want string
		err  int32 // expected SQL Server error number instead
	}{
		{in: "SELECT TOP (5) a FROM dbo.t ORDER BY a", want: "SELECT a FROM t ORDER BY a LIMIT ( 5 )"},
		{in: "SELECT DISTINCT TOP 10 a FROM [t]", want: `SELECT DISTINCT a FROM "t" LIMIT 10`},
		{in: "SELECT TOP (@n) a FROM t WITH (NOLOCK, READPAST) WHERE b = N'x'", want: "SELECT a FROM t WHERE b = 'x' LIMIT ( @n )"},
		{in: "SELECT a FROM t (NOLOCK)", want: "SELECT a FROM t"},
		{in: "SELECT a FROM t WHERE b IN (snapshot)", want: "SELECT a FROM t WHERE b IN ( snapshot )"},
		{in: "SELECT a FROM t WHERE a IN (SELECT TOP 1 b FROM u ORDER BY b)", want: "SELECT a FROM t WHERE a IN ( SELECT b FROM u ORDER BY b LIMIT 1 )"},
		{in: "SELECT TOP (0) * FROM t", want: "SELECT * FROM t LIMIT ( 0 )"},
		{in: "WITH c AS (SELECT TOP 2 a FROM t) SELECT * FROM c", want: "WITH c AS ( SELECT a FROM t LIMIT 2 ) SELECT * FROM c"},
		{in: "SELECT ISNULL(a, 0), LEN(b), GETDATE() FROM t", want: "SELECT IFNULL ( a , 0 ) , tds_len ( b ) , tds_now ( ) FROM t"},
		{in: "SELECT CAST(rv AS BIGINT) FROM t", want: "SELECT tds_cast ( rv , 'BIGINT' ) FROM t"},
		{in: "SELECT CONVERT(decimal(10, 2), x) FROM t", want: "SELECT tds_cast ( x , 'DECIMAL(10,2)' ) FROM t"},
		{in: "SELECT CONVERT(varchar(10), d, 103) FROM t", want: "SELECT tds_convert ( d , 'VARCHAR(10)' , 103 ) FROM t"},
		{in: "SELECT TRY_CAST(x AS nvarchar(max))", want: "SELECT tds_try_cast ( x , 'NVARCHAR(MAX)' )"},
		{in: "SELECT DATEADD(dd, -7, SYSUTCDATETIME())", want: "SELECT tds_dateadd ( 'day' , - 7 , tds_now ( ) )"},
		{in: "SELECT DATEDIFF(minute, a, b), YEAR(a) FROM t", want: "SELECT tds_datediff ( 'minute' , a , b ) , tds_datepart ( 'year' , a ) FROM t"},
		{in: "SELECT 0xABC, @@TRANCOUNT, @@SPID, @@ROWCOUNT", want: "SELECT X'0ABC' , 2 , 53 , 7"},
		{in: "SELECT a FROM erp.dbo.t JOIN erp..u ON t.id = u.id", want: "SELECT a FROM t JOIN u ON t . id = u . id"},
		{in: "SELECT [dbo].[t].[a] FROM [dbo].[t]", want: `SELECT "t" . "a" FROM "t"`},
		{in: "INSERT INTO t (a) OUTPUT INSERTED.id, inserted.a AS x VALUES (1)", want: "INSERT INTO t ( a ) VALUES ( 1 ) RETURNING id , a AS x"},
		{in: "DELETE FROM t OUTPUT DELETED.* WHERE a = 1", want: "DELETE FROM t WHERE a = 1 RETURNING *"},
		{in: "DELETE t WHERE a = 1", want: "DELETE FROM t WHERE a = 1"},
		{in: "INSERT t VALUES (1)", want: "INSERT INTO t VALUES ( 1 )"},
		{in: "SELECT a FROM t ORDER BY a OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY", want: "SELECT a FROM t ORDER BY a LIMIT 5 OFFSET 10"},
		{in: "SELECT a FROM t ORDER BY a OFFSET @skip ROWS", want: "SELECT a FROM t ORDER BY a LIMIT - 1 OFFSET @skip"},
		{in: "SELECT x = 1, [y z] = a FROM t", want: `SELECT 1 AS x , a AS "y z" FROM t`},
		{in: "SELECT a + 'x' + b FROM t", want: "SELECT a || 'x' || b FROM t"},
		{in: "SELECT a + 1 FROM t", want: "SELECT a + 1 FROM t"},
		{in: "SELECT * FROM #tmp", want: `SELECT * FROM "#tmp"`},
		{in: "SELECT a COLLATE Latin1_General_CS_AS, b COLLATE SQL_Latin1_General_CP1_CI_AS FROM t", want: "SELECT a COLLATE BINARY , b COLLATE tds_ci FROM t"},
		{in: "SELECT a FROM t OPTION (RECOMPILE, MAXDOP 1)", want: "SELECT a FROM t"},
		{in: "TRUNCATE TABLE t", want: "DELETE FROM t"},
		{in: "SELECT UPPER(a), CHARINDEX('x', a), LEFT(a, 2) FROM t LEFT JOIN u ON 1 = 1", want: "SELECT tds_upper ( a ) , tds_charindex ( 'x' , a ) , tds_left ( a , 2 ) FROM t LEFT JOIN u ON 1 = 1"},
		{in: "INSERT INTO len (a) VALUES (1)", want: "INSERT INTO len ( a ) VALUES ( 1 )"},
		{in: "SELECT SCOPE_IDENTITY(), @@IDENTITY, DB_NAME()", want: "SELECT last_insert_rowid ( ) , last_insert_rowid ( ) , 'erp'"},
		{in: "SELECT a FROM t WHERE d > CURRENT_TIMESTAMP", want: "SELECT a FROM t WHERE d > tds_now ( )"},
		{in: "SELECT TOP 10 PERCENT a FROM t", err: errUnsupported},
		{in: "SELECT TOP 1 WITH TIES a FROM t ORDER BY a", err: errUnsupported},
		{in: "SELECT TOP 1 a FROM t UNION SELECT TOP 1 b FROM u", err: errUnsupported},
		{in: "UPDATE TOP (1) t SET a = 1", err: errUnsupported},
		{in: "SELECT a INTO t2 FROM t", err: errUnsupported},
		{in: "INSERT INTO t (a) OUTPUT INSERTED.a INTO @x VALUES (1)", err: errUnsupported},
		{in: "UPDATE t SET a = 1 OUTPUT DELETED.a", err: errUnsupported},
		{in: "SELECT @@NO_SUCH_GLOBAL", err: errMustDeclare},
		{in: "SELECT CAST(a AS NOTATYPE) FROM t", err: 243},
		{in: "SELECT DATEADD(fortnight, 1, a) FROM t", err: 155},
		{in: "SELECT CAST(a) FROM t", err: errSyntax},
		{in: "SELECT ISNULL(a, 0 FROM t", err: errSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			stmts, err := splitBatch(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(stmts) != 1 {
				t.Fatalf("%d statements, want 1", len(stmts))
			}
			tr, err := translate(stmts[0].toks, e)
			if tt.err != 0 {
				var se *sqlError
				if !errors.As(err, &se) || se.number != tt.err {
					t.Fatalf("translate: %v (sql %q), want error %d", err, tr.sql, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.sql != tt.want {
				t.Errorf("translate:\n got %s\nwant %s", tr.sql, tt.want)
			}
		})
	}
}

func TestSplitBatch(t *testing.T) {
	tests := []struct {
		in   string
		want []string // kind:text of each statement
	}{
		{"SELECT 1; SELECT 2;", []string{"sql:SELECT 1", "sql:SELECT 2"}},
		{"SET NOCOUNT ON SELECT 1", []string{"set:SET NOCOUNT ON", "sql:SELECT 1"}},
		{"SET NOCOUNT ON\nUPDATE t SET a = 1 WHERE b = 2", []string{"set:SET NOCOUNT ON", "sql:UPDATE t SET a = 1 WHERE b = 2"}},
		{"BEGIN TRAN INSERT t VALUES (1) COMMIT", []string{"begin:BEGIN TRAN", "sql:INSERT t VALUES (1)", "commit:COMMIT"}},
		{"BEGIN TRANSACTION t1; ROLLBACK TRANSACTION t1", []string{"begin:BEGIN TRANSACTION t1", "rollback:ROLLBACK TRANSACTION t1"}},
		{"SET TRANSACTION ISOLATION LEVEL READ COMMITTED SELECT 1", []string{"set:SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "sql:SELECT 1"}},
		{"SET TEXTSIZE -1 SET XACT_ABORT ON", []string{"set:SET TEXTSIZE -1", "set:SET XACT_ABORT ON"}},
		{"CREATE TABLE t (a INT REFERENCES u ON DELETE SET NULL)", []string{"create:CREATE TABLE t (a INT REFERENCES u ON DELETE SET NULL)"}},
		{"INSERT INTO t VALUES (1) WAITFOR DELAY '00:00:01' SELECT 1", []string{"sql:INSERT INTO t VALUES (1)", "waitfor:WAITFOR DELAY '00:00:01'", "sql:SELECT 1"}},
		{"DECLARE @x INT", []string{"unsupported:DECLARE @x INT"}},
		{"-- only a comment\n;;", nil},
		{"SELECT ';' AS [a;b]; SELECT (1)", []string{"sql:SELECT ';' AS [a;b]", "sql:SELECT (1)"}},
	}
	names := map[stmtKind]string{skSQL: "sql", skSet: "set", skBegin: "begin", skCommit: "commit", skRollback: "rollback",
		skWaitfor: "waitfor", skPrint: "print", skUse: "use", skCreateTable: "create", skAlterTable: "alter", skDropTable: "drop", skUnsupported: "unsupported"}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			stmts, err := splitBatch(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, st := range stmts {
				got = append(got, names[st.kind]+":"+st.text)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("split:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSelectHintsOfAUnion(t *testing.T) {
	stmts, err := splitBatch("SELECT 1 AS a, CAST(2 AS INT) UNION ALL SELECT 3000000000, 4")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := translate(stmts[0].toks, &env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.front) != 2 || tr.front[0].typ != nil || tr.front[1].typ != nil || tr.front[0].unnamed || !tr.front[1].unnamed {
		t.Errorf("hints of a UNION: %+v", tr.front)
	}
}

func TestSelectHints(t *testing.T) {
	stmts, err := splitBatch("SELECT CAST(a AS DECIMAL(10,2)) AS x, b, COUNT(*), t.*, @p, SYSDATETIME() now FROM t")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := translate(stmts[0].toks, &env{})
	if err != nil {
		t.Fatal(err)
	}
	describe := func(h hint) string {
		s := ""
		if h.typ != nil {
			s = h.typ.String()
		}
		if h.param != "" {
			s += "@" + h.param
		}
		if h.unnamed {
			s += " unnamed"
		}
		return s
	}
	var front, back []string
	for _, h := range tr.front {
		front = append(front, describe(h))
	}
	for _, h := range tr.back {
		back = append(back, describe(h))
	}
	if got, want := fmt.Sprintf("%q %q", front, back), `["DECIMAL(10,2)" "" "INT unnamed"] ["DATETIME2(7)" "@p unnamed"]`; got != want {
		t.Errorf("hints %s, want %s", got, want)
	}
}

func TestParseCreateTable(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  int32
	}{
		{
			in:   "CREATE TABLE dbo.t (id INT IDENTITY(1,1) NOT NULL, name NVARCHAR(10) NULL DEFAULT N'x', CONSTRAINT pk PRIMARY KEY CLUSTERED (id))",
			want: `CREATE TABLE "t" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL CONSTRAINT "tds_range:t:id" CHECK ( "id" BETWEEN -2147483648 AND 2147483647 ) , "name" TEXT DEFAULT ( 'x' ) COLLATE tds_ci CONSTRAINT "tds_len:t:name" CHECK ( tds_ucs2len ( "name" ) <= 10 ) )`,
		},
		{
			in:   "CREATE TABLE #w (a DECIMAL(9,2) NOT NULL DEFAULT ((0)), b DATETIME2 DEFAULT GETDATE(), c VARBINARY(MAX), rv ROWVERSION NOT NULL)",
			want: `CREATE TEMP TABLE "#w" ( "a" NUMERIC NOT NULL DEFAULT ( ( 0 ) ) , "b" TEXT DEFAULT ( tds_now ( ) ) , "c" BLOB , "rv" BLOB )`,
		},
		{
			in:   "CREATE TABLE r (s CHAR(4) NOT NULL FOREIGN KEY REFERENCES s (code) ON DELETE CASCADE ON UPDATE NO ACTION, x VARCHAR(5) COLLATE Latin1_General_BIN)",
			want: `CREATE TABLE "r" ( "s" TEXT NOT NULL REFERENCES s ( code ) ON DELETE CASCADE ON UPDATE NO ACTION COLLATE tds_ci CONSTRAINT "tds_len:r:s" CHECK ( length ( "s" ) <= 4 ) , "x" TEXT COLLATE BINARY CONSTRAINT "tds_len:r:x" CHECK ( length ( "x" ) <= 5 ) )`,
		},
		{in: "CREATE TABLE t (id INT IDENTITY(1,1), v INT)", err: errUnsupported},
		{in: "CREATE TABLE t (id INT IDENTITY(1,2) PRIMARY KEY)", err: errUnsupported},
		{in: "CREATE TABLE t (a INT, b AS (a + 1))", err: errUnsupported},
		{in: "CREATE TABLE t (a GEOGRAPHY)", err: 2715},
		{in: "CREATE TABLE t (a ROWVERSION, b TIMESTAMP)", err: 2738},
		{in: "CREATE TABLE t (a INT NOT NULL WHATEVER)", err: errSyntax},
		{in: "CREATE TABLE t", err: errSyntax},
		{in: "CREATE TABLE sales.t (a INT)", err: errUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			stmts, err := splitBatch(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			x := &xlat{env: &env{database: "erp"}, params: map[string]bool{}}
			toks, err := x.normalize(stmts[0].toks)
			if err != nil {
				t.Fatal(err)
			}
			def, err := x.parseCreateTable(toks)
			if tt.err != 0 {
				var se *sqlError
				if !errors.As(err, &se) || se.number != tt.err {
					t.Fatalf("parse: %v, want error %d", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := def.sqliteCreateTable(); got != tt.want {
				t.Errorf("CREATE TABLE:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestTranslateIndex(t *testing.T) {
	tests := []struct{ in, want string }{
		{"CREATE UNIQUE NONCLUSTERED INDEX ix_a ON dbo.t (a DESC, b) INCLUDE (c) WITH (FILLFACTOR = 80) ON [PRIMARY]", `CREATE UNIQUE INDEX "t.ix_a" ON t ( a DESC , b )`},
		{"CREATE INDEX ix ON t (a) WHERE a IS NOT NULL", `CREATE INDEX "t.ix" ON t ( a ) WHERE a IS NOT NULL`},
		{"DROP INDEX ix ON t", `DROP INDEX "t.ix"`},
		{"DROP INDEX IF EXISTS t.ix", `DROP INDEX IF EXISTS "t.ix"`},
	}
	for _, tt := range tests {
		stmts, err := splitBatch(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		x := &xlat{env: &env{}, params: map[string]bool{}}
		toks, err := x.normalize(stmts[0].toks)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := translateIndex(toks)
		if !ok || err != nil || got != tt.want {
			t.Errorf("%s:\n got %s (%v, %v)\nwant %s", tt.in, got, ok, err, tt.want)
		}
	}
}
