package sqlsource

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/mapping"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.Drop()
	os.Exit(code)
}

// offlineDSN is a MySQL DSN of a server nobody listens on: New does not
// connect, so tests of what New and the mapping decide need no server.
const offlineDSN = "app:s3cr3t-pw@tcp(127.0.0.1:1)/shop"

// orderOptions are the options of a shop connector reading web orders
// with an int cursor.
func orderOptions() Options {
	return Options{
		Name:   "shop-orders",
		Driver: DriverMySQL,
		DSN:    offlineDSN,
		Query:  "SELECT * FROM orders WHERE id > :last_id ORDER BY id LIMIT :limit",
		Cursor: []CursorColumn{{Column: "id", Type: CursorInt}},
		Mapping: mapping.Spec{
			Type: mapping.TypeWebOrder, Program: "shop", IdentKind: "web",
		},
	}
}

// newSource builds a Source from orderOptions changed by edit.
func newSource(t *testing.T, edit func(*Options)) *Source {
	t.Helper()
	o := orderOptions()
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustContain fails unless err's text holds every part.
func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// summary shows items as "order W1", "error: reason", for messages and
// comparisons.
func summary(items []mapping.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		switch {
		case it.Err != nil:
			out[i] = "error " + it.Err.Column + ": " + it.Err.Reason
		case it.Fact != nil:
			out[i] = it.Fact.Subject()
		}
	}
	return out
}

// dbEnv is a test's database as one driver reaches it, and a handle on it
// for setting up tables.
type dbEnv struct {
	t      *testing.T
	driver string
	dsn    string
	db     *sql.DB
}

func openEnv(t *testing.T, driver, dsn string) *dbEnv {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &dbEnv{t: t, driver: driver, dsn: dsn, db: db}
}

func (e *dbEnv) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// table creates a table of its own for the test from ddl, whose %s is
// the table's unique name, and drops it at the end.
func (e *dbEnv) table(ddl string) string {
	e.t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	e.exec(fmt.Sprintf(ddl, name))
	e.t.Cleanup(func() { e.db.Exec("DROP TABLE IF EXISTS " + name) })
	return name
}

// open makes a Source of the connector name on the test's database.
func (e *dbEnv) open(name string, spec mapping.Spec, query string, cursor ...CursorColumn) *Source {
	e.t.Helper()
	s, err := New(Options{Name: name, Driver: e.driver, DSN: e.dsn, Query: query, Cursor: cursor, Mapping: spec})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}
