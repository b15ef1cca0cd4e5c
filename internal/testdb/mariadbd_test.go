package testdb

import (
	"database/sql"
	"os"
	"strings"
	"testing"
)

// TestMariaDBOutage: a private server keeps what was committed across a
// SIGTERM and a SIGKILL, loses what was not, refuses connections while it
// is down, and comes back on the same address; Cleanup stops it and
// removes its directory.
func TestMariaDBOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("installs and restarts a private MariaDB server (about ten seconds); skipped with -short")
	}
	m := NewMariaDB(t)
	dsn, err := m.CreateDatabase("mariadbd")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dsn, "root@tcp("+m.Addr()+")/pointsync_test_mariadbd") {
		t.Fatalf("DSN %q does not name root on %s and the database", dsn, m.Addr())
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE facts (k VARCHAR(20) PRIMARY KEY) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		down func() error
	}{
		{"stopped", m.Stop},
		{"killed", m.Kill},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.Exec("INSERT INTO facts VALUES (?)", tt.name+"-committed"); err != nil {
				t.Fatal(err)
			}
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec("INSERT INTO facts VALUES (?)", tt.name+"-open"); err != nil {
				t.Fatal(err)
			}
			if err := tt.down(); err != nil {
				t.Fatal(err)
			}
			if m.Running() {
				t.Fatal("Running after the server went down")
			}
			if err := tx.Commit(); err == nil {
				t.Fatal("a transaction open when the server went down committed")
			}
			if err := db.Ping(); err == nil || !strings.Contains(err.Error(), "connection refused") {
				t.Fatalf("ping while the server is down: %v; want connection refused", err)
			}
			if err := m.Start(); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM facts WHERE k = ?", tt.name+"-committed").Scan(&n); err != nil || n != 1 {
				t.Fatalf("the committed row after the restart: %d row(s), %v", n, err)
			}
			if err := db.QueryRow("SELECT COUNT(*) FROM facts WHERE k = ?", tt.name+"-open").Scan(&n); err != nil || n != 0 {
				t.Fatalf("the uncommitted row after the restart: %d row(s), %v", n, err)
			}
		})
	}
	m.Cleanup()
	if m.Running() {
		t.Fatal("Running after Cleanup")
	}
	if _, err := os.Stat(m.dir); !os.IsNotExist(err) {
		t.Fatalf("Cleanup left %s: %v", m.dir, err)
	}
	if err := db.Ping(); err == nil {
		t.Fatal("the server answers after Cleanup")
	}
}
