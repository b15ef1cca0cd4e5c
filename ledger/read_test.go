package ledger

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestBalanceOneSnapshot reads a balance while spends move points from
// the account's lots to its spent total: every read must see earned and
// spent adding up to what was credited, never a spend in both places or
// in neither.
func TestBalanceOneSnapshot(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		const credited, spends = 1000, 150
		h.customer("web:snap")
		h.credit("web:snap", credited, nil)
		clock.Set(clock.Now().Add(time.Hour))
		ctx, cancel := context.WithCancel(context.Background())
		done, stopped := make(chan error, 1), make(chan struct{})
		defer func() { cancel(); <-stopped }() // a failed read stops the spends
		go func() {
			defer close(stopped)
			for i := range spends {
				err := l.Update(ctx, func(tx *Tx) error {
					_, err := tx.Spend(SpendRequest{Account: Account{"shop", "web:snap"},
						Meta: Meta{Source: SourceWeb, Key: "snap" + strconv.Itoa(i)}, Amount: 1})
					return err
				})
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		reads := 0
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				wantBalance(t, h.balance("shop", "web:snap", time.Time{}), credited-spends, 0, spends, 0)
				t.Logf("%d reads beside %d spends", reads, spends)
				return
			default:
			}
			b := h.balance("shop", "web:snap", time.Time{})
			if b.Earned+b.Spent != credited || b.Provisional != 0 || b.Expired != 0 {
				t.Fatalf("read %d: earned %d + spent %d = %d, want %d (provisional %d, expired %d)",
					reads, b.Earned, b.Spent, b.Earned+b.Spent, credited, b.Provisional, b.Expired)
			}
			reads++
		}
	})
}

// TestBalanceStatementPrepared: on SQLite a balance read prepares its
// statement once, on the read pool, and the next reads run it.
func TestBalanceStatementPrepared(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	h := newH(t, l)
	h.customer("web:1")
	h.credit("web:1", 10, nil)
	if s, _ := l.rstmts.get(balanceQuery); s != nil {
		t.Fatal("the balance statement is prepared before any balance read")
	}
	wantBalance(t, h.balance("shop", "web:1", time.Time{}), 10, 0, 0, 0)
	s, _ := l.rstmts.get(balanceQuery)
	if s == nil {
		t.Fatal("the balance statement is not prepared after a balance read")
	}
	wantBalance(t, h.balance("shop", "web:1", time.Time{}), 10, 0, 0, 0)
	if again, _ := l.rstmts.get(balanceQuery); again != s {
		t.Fatal("the second balance read prepared its statement again")
	}
	// Closed behind the ledger's back, the statement fails the next read:
	// proof that reads run it rather than the text.
	s.Close()
	if _, err := l.Balance(h.ctx, Account{"shop", "web:1"}, time.Time{}); err == nil {
		t.Fatal("a balance read with its prepared statement closed succeeded: reads do not run the prepared statement")
	}
}

// TestBalanceFirstReadsTogether: more first reads at once than the read
// pool has connections all finish; each prepares the statement only once
// it has given its connection back, so none waits for a connection that
// another holds while waiting too.
func TestBalanceFirstReadsTogether(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	h := newH(t, l)
	h.customer("web:1")
	h.credit("web:1", 10, nil)
	const readers = 64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start, errs := make(chan struct{}), make(chan error, readers)
	for range readers {
		go func() {
			<-start
			_, err := l.Balance(ctx, Account{"shop", "web:1"}, time.Time{})
			errs <- err
		}()
	}
	close(start)
	for range readers {
		if err := <-errs; err != nil {
			t.Fatalf("a first balance read: %v", err)
		}
	}
	if s, _ := l.rstmts.get(balanceQuery); s == nil {
		t.Fatal("the balance statement is not prepared after the first reads")
	}
}
