package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

var rome = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	return loc
}()

// onePointPerEuro is the program of SPEC E6-E8: 1 point per whole euro,
// points expire 365 days after they are earned.
func onePointPerEuro() Program {
	return Program{
		Program: rules.Program{ID: "shop", Unit: rules.UnitPoints, Location: rome, Expiry: rules.ExpiryPolicy{Kind: rules.ExpiryDays, Days: 365}},
		Accrual: rules.AccrualRules{Base: "value", Mode: "steps", Points: 1, Per: 100},
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.Drop()
	os.Exit(code)
}

// forEachBackend runs f on a fresh SQLite ledger and, with
// POINTSYNC_TEST_MYSQL_DSN, on an emptied MySQL database.
func forEachBackend(t *testing.T, f func(t *testing.T, l *ledger.Ledger, c *clock)) {
	t.Helper()
	for _, backend := range []string{ledger.BackendSQLite, ledger.BackendMySQL} {
		t.Run(backend, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, rome)}
			f(t, openLedger(t, backend, c), c)
		})
	}
}

func openLedger(t testing.TB, backend string, c *clock) *ledger.Ledger {
	t.Helper()
	progs := []ledger.Program{{ID: "shop", Location: rome}}
	if backend == ledger.BackendSQLite {
		l, err := ledger.Open(context.Background(), ledger.Options{Path: filepath.Join(t.TempDir(), "l.db"), Programs: progs, Clock: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	l, err := ledger.Open(context.Background(), ledger.Options{Backend: ledger.BackendMySQL, DSN: testdb.MySQL(t), Programs: progs, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// run applies facts in one transaction each, as separate batches would.
func run(t testing.TB, l *ledger.Ledger, f func(tx *ledger.Tx) error) {
	t.Helper()
	if err := l.Update(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

func balance(t testing.TB, l *ledger.Ledger, id ledger.Ident) ledger.Balance {
	t.Helper()
	b, err := l.Balance(context.Background(), ledger.Account{Program: "shop", Customer: id}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func want(t testing.TB, b ledger.Balance, earned, provisional, spent int64) {
	t.Helper()
	if b.Earned != earned || b.Provisional != provisional || b.Spent != spent {
		t.Fatalf("balance earned %d, provisional %d, spent %d; want %d, %d, %d", b.Earned, b.Provisional, b.Spent, earned, provisional, spent)
	}
}

// euros is one line of a document worth cents.
func euros(product string, cents int64) []rules.Line {
	return []rules.Line{{Product: product, Quantity: 1000, Gross: cents}}
}
