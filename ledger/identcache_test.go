package ledger

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestIdentCacheForgetsRolledBack: an identifier created in a savepoint or
// a transaction that rolled back is unknown afterwards, in the same
// transaction and in the next ones; one committed is known, by the
// transaction that created it and by the others.
func TestIdentCacheForgetsRolledBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, _ *testClock) {
		ctx := context.Background()
		errUndo := errors.New("undo")
		known := func(tx *Tx, id Ident) bool {
			t.Helper()
			ok, err := tx.Known(id)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		err := l.Update(ctx, func(tx *Tx) error {
			if err := tx.Try(func() error {
				if _, _, err := tx.EnsureCustomer("web:inner"); err != nil {
					return err
				}
				if !known(tx, "web:inner") {
					t.Error("web:inner unknown right after its creation")
				}
				return errUndo
			}); !errors.Is(err, errUndo) {
				return err
			}
			if known(tx, "web:inner") {
				t.Error("web:inner known after its savepoint rolled back")
			}
			if _, _, err := tx.EnsureCustomer("web:outer"); err != nil {
				return err
			}
			return errUndo
		})
		if !errors.Is(err, errUndo) {
			t.Fatal(err)
		}
		err = l.Update(ctx, func(tx *Tx) error {
			for _, id := range []Ident{"web:inner", "web:outer"} {
				if known(tx, id) {
					t.Errorf("%s known after the transaction creating it rolled back", id)
				}
			}
			_, _, err := tx.EnsureCustomer("web:kept")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := l.idents.get("web:kept"); !ok {
			t.Error("a committed identifier is not remembered by the ledger")
		}
		if _, ok := l.idents.get("web:outer"); ok {
			t.Error("the ledger remembers an identifier that was rolled back")
		}
		if _, err := l.Balance(ctx, Account{"shop", "web:kept"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestIdentCacheBounded: the ledger's cache never holds more than its
// bound.
func TestIdentCacheBounded(t *testing.T) {
	var c identCache
	batch := map[Ident]int64{}
	for i := range identCacheSize + 100 {
		batch[Ident("web:c"+strconv.Itoa(i))] = int64(i)
		if len(batch) == 1000 {
			c.add(batch)
			batch = map[Ident]int64{}
		}
	}
	c.add(batch)
	if n := len(c.m); n > identCacheSize || n == 0 {
		t.Fatalf("%d identifiers cached, bound %d", n, identCacheSize)
	}
}
