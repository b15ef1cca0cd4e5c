// Package tdstest is a loopback SQL Server for tests: it speaks TDS 7.4,
// as github.com/microsoft/go-mssqldb (driver "sqlserver") does, on
// 127.0.0.1, and runs the statements on SQLite (modernc.org/sqlite) in
// a temporary file. Tests drive the real driver over the real wire
// protocol; no SQL Server can be installed where they run.
//
// # Use
//
//	dsn := tdstest.Open(t) // an empty database for this test
//	db, err := sql.Open("sqlserver", dsn)
//
// Open starts a server (closed by t.Cleanup) unless
// POINTSYNC_TEST_SQLSERVER_DSN (Env) names a real server, e.g.
//
//	POINTSYNC_TEST_SQLSERVER_DSN='sqlserver://sa:pw@host:1433?encrypt=disable' go test ./...
//
// in which case it creates a database pointsync_test_<random> there and
// drops it at the end of the test: the same tests then check the real
// thing. New and Start give the *Server itself, for Pause and Resume
// (an outage: the listener closes and every connection is cut, even in
// the middle of a query; the data stays), CutResults (the connection lost
// in the middle of a result set, after a given number of rows reached the
// client) and Options.Logf (a trace of logins, batches, their SQLite
// translation and errors).
//
// # Protocol
//
// PRELOGIN (no encryption: the DSN must say encrypt=disable; a client
// that requires TLS fails with "server does not support encryption"),
// LOGIN7 with SQL Server authentication (a wrong user or password is
// error 18456, an unknown database 4060), negotiated packet size, SQL
// batches, RPC sp_executesql (by id 10 or by name) with parameters of
// every type go-mssqldb sends (integers, bit, decimal/numeric, money,
// float, [n]varchar and (max), varbinary, date, time, datetime,
// datetime2, datetimeoffset, uniqueidentifier, NULL of each; output
// parameters are read as input and not returned), transaction manager
// requests (BeginTx, Commit, Rollback), attention (a cancelled context
// stops the running statement and is acknowledged with DONE_ATTN; the
// connection stays usable), and the reset-connection flag (the pool's
// sp_reset_connection: an open transaction is rolled back, SET options
// and #temp tables are dropped). Results carry COLMETADATA, ROW, DONE,
// DONEINPROC, DONEPROC and RETURNSTATUS as SQL Server sends them, with
// row counts (RowsAffected), and errors are ERROR tokens with SQL Server
// numbers (208, 207, 102, 105, 137, 245, 241, 515, 547, 2627, 2628,
// 2714, 3902, 3903, 8115, 1222, ...) and SQLite's own text in the
// message; a failed statement does not end the session.
//
// # T-SQL
//
// Each statement is rewritten for SQLite at the token level (string and
// N'...' literals, [bracketed] and "quoted" names, comments respected):
//
//   - TOP (n), TOP n, TOP (@p) become LIMIT; TOP (0) returns the columns
//     and no rows. OFFSET n ROWS FETCH NEXT m ROWS ONLY becomes LIMIT m
//     OFFSET n.
//   - N'..' literals, 0x.. literals, dbo. and database..  prefixes, #temp
//     tables (per connection), table hints WITH (NOLOCK) and OPTION (...)
//     are handled; "alias = expression" in a select list is rewritten.
//   - ISNULL, LEN, GETDATE, GETUTCDATE, SYSDATETIME, SYSUTCDATETIME,
//     SYSDATETIMEOFFSET, CURRENT_TIMESTAMP (the clock is UTC), DATEADD,
//     DATEDIFF, DATEPART, YEAR, MONTH, DAY, CAST, CONVERT, TRY_CAST,
//     TRY_CONVERT (with the date styles), CHARINDEX, LEFT, RIGHT,
//     REPLICATE, UPPER, LOWER, SCOPE_IDENTITY, NEWID, DB_NAME and the @@
//     variables (VERSION, TRANCOUNT, SPID, ROWCOUNT, IDENTITY, DBTS,
//     SERVERNAME, ...) follow SQL Server's rules. CONCAT, COALESCE, IIF, SUBSTRING, ABS and most
//     other functions are SQLite's own.
//   - '+' joins strings when one side is a string literal; use CONCAT
//     otherwise.
//   - INSERT/UPDATE/DELETE ... OUTPUT INSERTED.col (DELETED.col in a
//     DELETE) becomes RETURNING.
//   - Several statements in one batch run in order, each with its own
//     result and DONE. Separate them with ';' (SET, BEGIN TRAN, COMMIT,
//     ROLLBACK, WAITFOR and USE may go without).
//   - SET NOCOUNT and SET XACT_ABORT behave as in SQL Server; every other
//     SET is accepted and ignored. BEGIN TRAN/COMMIT/ROLLBACK nest by
//     count. WAITFOR DELAY 'hh:mm:ss[.fff]' sleeps (attention wakes it).
//     PRINT sends its text as an INFO message.
//   - CREATE TABLE takes SQL Server types, IDENTITY(seed, 1) on a
//     single-column primary key, DEFAULT (GETDATE() and the like),
//     CHECK, UNIQUE, PRIMARY KEY and FOREIGN KEY constraints (CLUSTERED,
//     WITH (...), ON [filegroup] are dropped) and inline INDEX; CREATE
//     [UNIQUE] INDEX, DROP INDEX ... ON, ALTER TABLE ... ADD column[s],
//     ALTER TABLE ... DROP COLUMN, DROP TABLE [IF EXISTS] a[, b] and
//     TRUNCATE TABLE work. A column's SQL Server type is kept in a
//     catalog and gives the result metadata; strings longer than their
//     column (2628) and integers outside their type (8115) are refused as
//     SQL Server refuses them. Character columns compare and sort
//     case-insensitively and ignore trailing spaces (as
//     SQL_Latin1_General_CP1_CI_AS does), unless declared with a _CS or
//     _BIN collation. CHAR, NCHAR and BINARY values are padded.
//   - ROWVERSION (or TIMESTAMP) is emulated with a database-wide counter
//     set on every insert and update by triggers: selected it is
//     BINARY(8), big-endian as in SQL Server; it compares with a binary
//     parameter (WHERE rv > @last with a []byte), CAST(rv AS BIGINT)
//     gives the number, and @@DBTS the counter.
//
// Storage: dates and times are kept as fixed-width text ('YYYY-MM-DD
// HH:MM:SS.fffffff', dates 'YYYY-MM-DD', in UTC), decimal and money with
// SQLite's NUMERIC affinity; triggers normalise every value written to
// its column's form and precision (datetime2(3), datetime's 1/300 s,
// smalldatetime's minute, a decimal's scale), and parameters are bound
// in the same form, so WHERE updated > @last and ORDER BY are exact.
// Decimals are sent as their exact scaled integer, never through a
// float on the way out (SQLite stores a decimal with a fractional part
// as a float, so values with more than 15 significant digits lose
// precision).
//
// Result metadata comes from the catalog for table columns (through
// views and subqueries too), from the statement for CAST/CONVERT, known
// functions, @@ variables and parameters, and otherwise from the values:
// integers are BIGINT, reals FLOAT, text in the storage form DATETIME2(7)
// or DATE, other text NVARCHAR(4000) (or MAX), blobs VARBINARY, all NULL
// NVARCHAR(4000). go-mssqldb scans them into the Go types a real server
// gives: int64, bool, []byte for decimal and money, float64, time.Time,
// string, []byte.
//
// # Not supported
//
// TLS, Windows and Azure AD logins, MARS, bulk copy, stored procedures
// (EXEC, CREATE PROCEDURE) other than sp_executesql, output parameters,
// table-valued and sql_variant parameters, local variables (DECLARE,
// SET @x), control-of-flow (IF, WHILE, BEGIN...END, TRY), savepoints,
// MERGE, SELECT ... INTO, TOP with PERCENT or WITH TIES or in
// INSERT/UPDATE/DELETE, OUTPUT ... INTO, DELETED values in an UPDATE,
// UPDATE/DELETE with a FROM join, APPLY, PIVOT, FOR XML/JSON, computed
// columns, IDENTITY other than a single-column primary key with
// increment 1, ALTER TABLE other than ADD/DROP COLUMN, schemas other
// than dbo, CONVERT styles other than those between dates and strings
// (1-5, 8, 10-12, 20, 21, 23, 24, 101-105, 108, 110-112, 120, 121, 126,
// 127; others are ignored for non-date conversions), and SET ROWCOUNT
// (accepted and ignored, like every SET but NOCOUNT and XACT_ABORT).
// Known differences from SQL Server: locking is SQLite's (a transaction
// takes the database's write lock at BEGIN, other writers wait up to
// 10s, then fail with 1222); an attention that interrupts an INSERT,
// UPDATE or DELETE inside a transaction rolls the whole transaction back
// (SQLite does), which is reported to the client as a rollback;
// datetimeoffset values are kept as UTC instants (read back with offset
// +00:00), and a datetimeoffset parameter (what go-mssqldb sends for a
// time.Time) written to a datetime2 column stores its UTC time, where
// SQL Server keeps the local time; SUM, MIN, MAX and arithmetic over
// decimal columns come back as FLOAT. A failed statement ends its batch,
// except constraint violations, after which the batch goes on as in SQL
// Server.
package tdstest
