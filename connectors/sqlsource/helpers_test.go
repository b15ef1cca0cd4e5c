package sqlsource

import (
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
