package tdstest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests are about the loopback server itself (outages, what it
// refuses, what it traces); they use New, so they run without a real
// SQL Server even when POINTSYNC_TEST_SQLSERVER_DSN is set.

func TestStartDefaultsAndClose(t *testing.T) {
	srv, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	dsn := srv.DSN()
	if !strings.HasPrefix(dsn, "sqlserver://sa:Loopback-1@127.0.0.1:") || !strings.HasSuffix(dsn, "?database=erp&encrypt=disable") || !strings.Contains(dsn, srv.Addr()) {
		t.Errorf("DSN %q", dsn)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := srv.Resume(); err == nil {
		t.Fatal("Resume after Close succeeded")
	}
}

func TestOptionsAndTrace(t *testing.T) {
	var mu sync.Mutex
	var trace []string
	srv, err := Start(Options{Database: "Gestionale", User: "erp_reader", Password: "p@ss:w/rd", Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		trace = append(trace, strings.TrimSpace(fmt.Sprintf(format, args...)))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRowContext(testCtx(t), "SELECT TOP 1 DB_NAME() FROM (SELECT 1 AS x) AS t").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "Gestionale" {
		t.Errorf("DB_NAME() = %q", name)
	}
	mustExec(t, db, "USE gestionale")
	if _, err := db.ExecContext(testCtx(t), "USE other"); errNumber(err) != 911 {
		t.Errorf("USE of another database: %v, want error 911", err)
	}
	db.Close()
	srv.Close()
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(trace, "\n")
	for _, want := range []string{"logged in as erp_reader", "batch: SELECT TOP 1 DB_NAME()", "sqlite: SELECT 'Gestionale' FROM ( SELECT 1 AS x ) AS t LIMIT 1", "error 911"} {
		if !strings.Contains(all, want) {
			t.Errorf("the trace lacks %q:\n%s", want, all)
		}
	}
}

func TestEncryptionRefused(t *testing.T) {
	srv := New(t)
	for _, enc := range []string{"true", "strict"} {
		t.Run(enc, func(t *testing.T) {
			db, err := sql.Open("sqlserver", strings.Replace(srv.DSN(), "encrypt=disable", "encrypt="+enc, 1))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := db.PingContext(ctx); err == nil {
				t.Fatal("a connection requiring encryption succeeded")
			}
		})
	}
	// the server is still fine afterwards
	db, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedStatements(t *testing.T) {
	srv := New(t)
	db, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"DECLARE @x INT",
		"EXEC sp_who",
		"IF 1 = 1 SELECT 1",
		"SAVE TRANSACTION s",
		"MERGE INTO t USING u ON 1 = 1 WHEN MATCHED THEN DELETE;",
		"CREATE PROCEDURE p AS SELECT 1",
		"WAITFOR TIME '10:00'",
		"SELECT TOP 10 PERCENT 1",
	} {
		_, err := db.ExecContext(testCtx(t), q)
		if errNumber(err) != errUnsupported || !strings.Contains(err.Error(), "tdstest") {
			t.Errorf("%s: %v, want error %d explaining what tdstest lacks", q, err, errUnsupported)
		}
	}
	if _, err := db.ExecContext(testCtx(t), "sp_who"); errNumber(err) != errNoProcedure {
		t.Errorf("a stored procedure by RPC: %v, want error %d", err, errNoProcedure)
	}
	if err := db.PingContext(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestAttentionRollsBackAnInterruptedWrite(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	srv, err := Start(Options{Logf: func(format string, args ...any) {
		if strings.Contains(fmt.Sprintf(format, args...), "sqlite: WITH s AS") {
			once.Do(func() { close(started) })
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	db, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec(t, db, "CREATE TABLE n (i BIGINT NOT NULL)")
	tx, err := db.BeginTx(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, tx, "INSERT INTO n VALUES (-1)")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// cancel once the INSERT runs inside SQLite (it would run for minutes)
		<-started
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	_, err = tx.ExecContext(ctx, "WITH s AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM s WHERE i < 1000000000) INSERT INTO n (i) SELECT i FROM s OPTION (MAXRECURSION 0)")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the interrupted INSERT: %v, want context.Canceled", err)
	}
	// SQLite rolled the transaction back; the client was told so
	if err := tx.Commit(); err == nil {
		t.Fatal("Commit of a transaction the server rolled back succeeded")
	}
	var count int64
	if err := db.QueryRowContext(testCtx(t), "SELECT COUNT(*) FROM n").Scan(&count); err != nil || count != 0 {
		t.Fatalf("after the rollback: COUNT(*) = %d, %v; want 0", count, err)
	}
}

func TestPrintAndEmptyBatch(t *testing.T) {
	srv := New(t)
	db, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec(t, db, "PRINT N'hello'")
	mustExec(t, db, "PRINT @p1", "from a parameter")
	mustExec(t, db, "-- nothing but a comment")
	mustExec(t, db, ";")
}
func TestPauseResume(t *testing.T) {
	srv := New(t)
	db, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec(t, db, "CREATE TABLE kept (id INT NOT NULL PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO kept VALUES (1), (2)")

	srv.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM kept").Scan(&n); err == nil {
		t.Fatal("a query while paused succeeded")
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(testCtx(t), "SELECT COUNT(*) FROM kept").Scan(&n); err != nil || n != 2 {
		t.Fatalf("after Resume: COUNT(*) = %d, %v; want 2", n, err)
	}
}

func TestPauseCutsARunningQuery(t *testing.T) {
	srv := New(t)
	db, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(testCtx(t), "WAITFOR DELAY '00:00:30'")
		done <- err
	}()
	// the query must be running before the outage
	for deadline := time.Now().Add(10 * time.Second); ; {
		srv.mu.Lock()
		running := false
		for s := range srv.sessions {
			s.mu.Lock()
			running = running || s.running
			s.mu.Unlock()
		}
		srv.mu.Unlock()
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the WAITFOR never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Pause()
	if err := <-done; err == nil {
		t.Fatal("a query cut by Pause succeeded")
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}
