package bulk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.Drop()
	os.Exit(code)
}

var rome = mustLoc("Europe/Rome")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// The test programs: shop counts points, card counts money in cents.
var (
	shop = rules.Program{ID: "shop", Unit: rules.UnitPoints, Location: rome}
	card = rules.Program{ID: "card", Unit: rules.UnitAmount, Location: rome}
)

func programByID(t testing.TB, id string) rules.Program {
	t.Helper()
	switch id {
	case "", "shop":
		return shop
	case "card":
		return card
	}
	t.Fatalf("unknown test program %q", id)
	return rules.Program{}
}

// now is the ledgers' clock: expiry dates before it are refused.
var now = time.Date(2026, 1, 15, 10, 0, 0, 0, rome)

func ledgerOptions() ledger.Options {
	return ledger.Options{
		Programs: []ledger.Program{{ID: shop.ID, Location: rome}, {ID: card.ID, Location: rome}},
		Clock:    func() time.Time { return now },
	}
}

func openSQLite(t testing.TB) *ledger.Ledger {
	t.Helper()
	o := ledgerOptions()
	o.Path = filepath.Join(t.TempDir(), "ledger.db")
	l, err := ledger.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openMySQL(t testing.TB) *ledger.Ledger {
	t.Helper()
	o := ledgerOptions()
	o.Backend, o.DSN = ledger.BackendMySQL, testdb.MySQL(t)
	l, err := ledger.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// forEachBackend runs f on a fresh SQLite ledger and, when the MySQL
// variable is set, on the MySQL test database.
func forEachBackend(t *testing.T, f func(t *testing.T, open func(testing.TB) *ledger.Ledger)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, openSQLite) })
	t.Run("mysql", func(t *testing.T) { f(t, openMySQL) })
}

// seed gives the ledger the customers every test starts with: shop web:1
// with 10 points, web:2 with 1, and card card:9001 with 1.00.
func seed(t testing.TB, l *ledger.Ledger) {
	t.Helper()
	for i, s := range []struct {
		program, customer string
		points            int64
	}{{"shop", "web:1", 10}, {"shop", "web:2", 1}, {"card", "card:9001", 100}} {
		id, err := ledger.ParseIdent(s.customer)
		if err != nil {
			t.Fatal(err)
		}
		err = l.Update(context.Background(), func(tx *ledger.Tx) error {
			if _, _, err := tx.EnsureCustomer(id); err != nil {
				return err
			}
			_, err := tx.Adjust(ledger.AdjustRequest{
				Account: ledger.Account{Program: s.program, Customer: id},
				Meta:    ledger.Meta{Source: ledger.SourceAdmin, Key: "seed:" + string(rune('a'+i)), Actor: "test"},
				Points:  s.points,
			})
			return err
		})
		if err != nil {
			t.Fatalf("seed %s %s: %v", s.program, s.customer, err)
		}
	}
}

// earned is a customer's earned balance, -1 when the customer is unknown.
func earned(t testing.TB, l *ledger.Ledger, program, customer string) int64 {
	t.Helper()
	id, err := ledger.ParseIdent(customer)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Balance(context.Background(), ledger.Account{Program: program, Customer: id}, time.Time{})
	if errors.Is(err, ledger.ErrUnknownCustomer) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Earned
}
