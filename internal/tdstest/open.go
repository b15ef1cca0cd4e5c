package tdstest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	// the driver the returned DSNs are for
	_ "github.com/microsoft/go-mssqldb"
)

// Env names the variable that points tests at a real SQL Server instead
// of the loopback server: a go-mssqldb DSN of a login that may create
// databases, e.g. sqlserver://sa:pw@host:1433?encrypt=disable.
const Env = "POINTSYNC_TEST_SQLSERVER_DSN"

// New starts a loopback server for the test and closes it at its end.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start(Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close the loopback SQL Server: %v", err)
		}
	})
	return s
}

// Open returns the DSN of an empty SQL Server database for the test
// (driver "sqlserver"). With POINTSYNC_TEST_SQLSERVER_DSN set it creates
// a uniquely named database on that server (pointsync_test_<random>) and
// drops it when the test ends; otherwise it starts a loopback server.
func Open(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		return New(t).DSN()
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "sqlserver" {
		t.Fatalf("%s must be a sqlserver:// DSN, e.g. sqlserver://sa:pw@host:1433?encrypt=disable (got %q: %v)", Env, dsn, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "pointsync_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("sqlserver", dsn)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database %s on %s (%s): %v", name, u.Host, Env, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("sqlserver", dsn)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// SINGLE_USER cuts the connections the test's pools still hold.
		q := fmt.Sprintf("ALTER DATABASE %s SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE %s", name, name)
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Errorf("drop test database %s on %s: %v", name, u.Host, err)
		}
	})
	q := u.Query()
	q.Set("database", name)
	u.RawQuery = q.Encode()
	return u.String()
}
