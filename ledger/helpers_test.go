package ledger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/testdb"
)

// testClock is a settable clock shared by a test and its ledger.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var rome = mustLoc("Europe/Rome")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var testPrograms = []Program{{ID: "shop", Location: rome}, {ID: "card", Location: rome}}

// forEachBackend runs f on a fresh SQLite ledger and, when mysqlEnv is set,
// on a fresh MySQL database; the same suite proves both backends.
func forEachBackend(t *testing.T, f func(t *testing.T, l *Ledger, clock *testClock)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
		l := openSQLite(t, clock)
		f(t, l, clock)
	})
	t.Run("mysql", func(t *testing.T) {
		clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
		l := openMySQL(t, clock)
		f(t, l, clock)
	})
}

func openSQLite(t testing.TB, clock *testClock) *Ledger {
	t.Helper()
	l, err := Open(context.Background(), Options{
		Path:     filepath.Join(t.TempDir(), "ledger.db"),
		Programs: testPrograms,
		Clock:    clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.Drop()
	os.Exit(code)
}

// openMySQL opens the process's MySQL test database, emptied.
func openMySQL(t testing.TB, clock *testClock) *Ledger {
	t.Helper()
	l, err := Open(context.Background(), Options{Backend: BackendMySQL, DSN: testdb.MySQL(t), Programs: testPrograms, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// h wraps a ledger with terse helpers that fail the test on error.
type h struct {
	t   testing.TB
	l   *Ledger
	ctx context.Context
	n   int
}

func newH(t testing.TB, l *Ledger) *h { return &h{t: t, l: l, ctx: context.Background()} }

func (h *h) key() string {
	h.n++
	return "k" + strconv.Itoa(h.n)
}

func (h *h) customer(id Ident) {
	h.t.Helper()
	if err := h.l.Update(h.ctx, func(tx *Tx) error { _, _, err := tx.EnsureCustomer(id); return err }); err != nil {
		h.t.Fatal(err)
	}
}

func (h *h) do(f func(tx *Tx) (Result, error)) Result {
	h.t.Helper()
	r, err := h.try(f)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *h) try(f func(tx *Tx) (Result, error)) (Result, error) {
	var r Result
	err := h.l.Update(h.ctx, func(tx *Tx) error {
		var err error
		r, err = f(tx)
		return err
	})
	return r, err
}

func (h *h) balance(program string, id Ident, at time.Time) Balance {
	h.t.Helper()
	b, err := h.l.Balance(h.ctx, Account{program, id}, at)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *h) credit(id Ident, amount int64, expires *time.Time) int64 {
	h.t.Helper()
	return h.do(func(tx *Tx) (Result, error) {
		return tx.Credit(CreditRequest{Account: Account{"shop", id}, Meta: Meta{Source: SourceERP, Key: h.key(), Reason: "accrual"}, Amount: amount, Expires: expires})
	}).Main()
}

func (h *h) spend(id Ident, amount int64, pending bool) int64 {
	h.t.Helper()
	return h.do(func(tx *Tx) (Result, error) {
		return tx.Spend(SpendRequest{Account: Account{"shop", id}, Meta: Meta{Source: SourceWeb, Key: h.key(), Reason: "redemption"}, Amount: amount, Pending: pending})
	}).Main()
}

func tp(t time.Time) *time.Time { return &t }

func wantBalance(t testing.TB, got Balance, earned, provisional, spent, expired int64, expiring ...Expiring) {
	t.Helper()
	if got.Earned != earned || got.Provisional != provisional || got.Spent != spent || got.Expired != expired {
		t.Fatalf("balance = earned %d, provisional %d, spent %d, expired %d; want %d, %d, %d, %d",
			got.Earned, got.Provisional, got.Spent, got.Expired, earned, provisional, spent, expired)
	}
	if expiring == nil {
		expiring = []Expiring{}
	}
	if len(got.Expiring) != len(expiring) {
		t.Fatalf("expiring = %v, want %v", got.Expiring, expiring)
	}
	for i := range expiring {
		if got.Expiring[i] != expiring[i] {
			t.Fatalf("expiring = %v, want %v", got.Expiring, expiring)
		}
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}
