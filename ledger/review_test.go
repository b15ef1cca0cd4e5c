package ledger

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// Regression tests for bugs found in review.

// An adjustment whose points expired cannot be taken back a second time
// from the customer's other points.
func TestExpiredAdjustmentIsNotTakenTwice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:exp")
		h.customer(c)
		h.credit(c, 100, nil)
		tomorrow := clock.Now().Add(24 * time.Hour)
		adj := h.do(func(tx *Tx) (Result, error) {
			return tx.Adjust(AdjustRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceAdmin, Key: "a"}, Points: 50, Expires: &tomorrow})
		}).Main()
		clock.Set(tomorrow.Add(24 * time.Hour))
		_, err := h.try(func(tx *Tx) (Result, error) {
			return tx.RemoveAdjustment(RemoveRequest{Movement: adj, Meta: Meta{Source: SourceAdmin, Key: "r"}})
		})
		wantErr(t, err, ErrInvalid)
		if !strings.Contains(err.Error(), "50 of its points have expired") {
			t.Fatalf("message %q", err)
		}
		wantBalance(t, h.balance("shop", c, time.Time{}), 100, 0, 0, 50)
		_, err = h.try(func(tx *Tx) (Result, error) {
			return tx.ChangeAdjustment(ChangeRequest{Movement: adj, Points: 80, Meta: Meta{Source: SourceAdmin, Key: "up"}})
		})
		wantErr(t, err, ErrInvalid)
	})
}

// Raising an adjustment gives the new points the date its lot has now.
func TestRaisedAdjustmentFollowsBulkExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:up")
		h.customer(c)
		first := time.Date(2026, 6, 1, 0, 0, 0, 0, rome)
		adj := h.do(func(tx *Tx) (Result, error) {
			return tx.Adjust(AdjustRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceAdmin, Key: "a"}, Points: 50, Expires: &first})
		}).Main()
		moved := time.Date(2026, 12, 1, 0, 0, 0, 0, rome)
		h.do(func(tx *Tx) (Result, error) {
			return tx.SetExpiry(ExpiryRequest{Program: "shop", Expires: &moved, Meta: Meta{Source: SourceAdmin, Key: "e"}})
		})
		h.do(func(tx *Tx) (Result, error) {
			return tx.ChangeAdjustment(ChangeRequest{Movement: adj, Points: 70, Meta: Meta{Source: SourceAdmin, Key: "c"}})
		})
		wantBalance(t, h.balance("shop", c, time.Time{}), 70, 0, 0, 0, Expiring{"2026-11-30", 70})
	})
}

func TestAdjustmentPartsAreNotRefundable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:rf")
		h.customer(c)
		adj := h.do(func(tx *Tx) (Result, error) {
			return tx.Adjust(AdjustRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceAdmin, Key: "a"}, Points: 50})
		}).Main()
		w := h.do(func(tx *Tx) (Result, error) {
			return tx.ChangeAdjustment(ChangeRequest{Movement: adj, Points: 40, Meta: Meta{Source: SourceAdmin, Key: "c"}})
		}).Main()
		_, err := h.try(func(tx *Tx) (Result, error) {
			return tx.Refund(RefundRequest{Movement: w, Amount: 10, Meta: Meta{Source: SourceAPI, Key: "r"}})
		})
		wantErr(t, err, ErrNotAdjustment)
		_, err = h.try(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceAPI, Key: "x", Reason: ReasonAdjustment}, Amount: 5})
		})
		wantErr(t, err, ErrInvalid)
		wantBalance(t, h.balance("shop", c, time.Time{}), 40, 0, 0, 0)
	})
}

// Savepoints must not fill the statement cache (nor MySQL's limit of
// prepared statements).
func TestTryDoesNotGrowStatementCache(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Now()})
	count := func() int {
		n := 0
		l.stmts.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	err := l.Update(context.Background(), func(tx *Tx) error {
		for range 500 {
			if err := tx.Try(func() error { _, _, err := tx.EnsureCustomer("web:x"); return err }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(); n > 10 {
		t.Fatalf("statement cache holds %d statements after 500 savepoints", n)
	}
}

// A program taken out of the configuration must not stop the sweep for
// the others.
func TestSweepSkipsUnconfiguredPrograms(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
	path := t.TempDir() + "/l.db"
	open := func(progs []Program) *Ledger {
		l, err := Open(context.Background(), Options{Path: path, Programs: progs, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open(testPrograms)
	h := newH(t, l)
	exp := clock.Now().Add(time.Hour)
	for _, p := range []string{"card", "shop"} {
		h.customer(Ident("web:" + p))
		h.do(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{p, Ident("web:" + p)}, Meta: Meta{Source: SourceERP, Key: p}, Amount: 10, Expires: &exp})
		})
	}
	l.Close()
	l = open([]Program{{ID: "shop", Location: rome}})
	defer l.Close()
	clock.Set(exp.Add(time.Hour))
	n, err := l.Sweep(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want the shop account swept", n, err)
	}
}

func TestProgramResetResultStaysSmall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		for i := range 30 {
			c := Ident("web:r" + string(rune('a'+i)))
			h.customer(c)
			h.credit(c, 10, nil)
		}
		r := h.do(func(tx *Tx) (Result, error) {
			return tx.Reset(ResetRequest{Program: "shop", Meta: Meta{Source: SourceAdmin, Key: "all"}})
		})
		if r.Accounts != 30 || r.Written != 30 || len(r.Movements) != 0 || r.Op == 0 {
			t.Fatalf("reset result %+v", r)
		}
	})
}

// Migration 0002 on a ledger that already has lots: earned_at is filled
// from the movement that made each lot.
func TestMigration2BackfillsEarnedAt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:mig")
		h.customer(c)
		at := clock.Now().Add(-48 * time.Hour)
		h.do(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceERP, Key: "old", At: at}, Amount: 10})
		})
		// Back to schema version 1, as a ledger written before 0002.
		for _, q := range []string{"ALTER TABLE lots DROP COLUMN earned_at", "DROP TABLE subjects", "DROP TABLE facts", "DELETE FROM schema_migrations WHERE version >= 2"} {
			if _, err := l.w.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		l.stmts.Range(func(k, s any) bool { s.(*sql.Stmt).Close(); l.stmts.Delete(k); return true })
		if err := l.migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		var got int64
		if err := l.w.QueryRow("SELECT earned_at FROM lots").Scan(&got); err != nil || got != micros(at) {
			t.Fatalf("earned_at = %d (%v), want %d", got, err, micros(at))
		}
	})
}
