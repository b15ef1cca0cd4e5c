package ledger

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTwoPhaseCredit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:1")
		h.customer(c)
		pend := func(amount int64) int64 {
			return h.do(func(tx *Tx) (Result, error) {
				return tx.Credit(CreditRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceWeb, Key: h.key()}, Amount: amount, Pending: true})
			}).Main()
		}
		a, b := pend(120), pend(80)
		wantBalance(t, h.balance("shop", c, time.Time{}), 0, 200, 0, 0)

		// Provisional points cannot be spent.
		_, err := h.try(func(tx *Tx) (Result, error) {
			return tx.Spend(SpendRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceWeb, Key: h.key()}, Amount: 1})
		})
		wantErr(t, err, ErrInsufficient)

		exp := time.Date(2027, 1, 16, 0, 0, 0, 0, rome)
		h.do(func(tx *Tx) (Result, error) {
			return tx.Post(FinishRequest{Movement: a, Amount: 100, Expires: &exp, Meta: Meta{Source: SourceERP, Key: h.key()}})
		})
		h.do(func(tx *Tx) (Result, error) {
			return tx.Void(FinishRequest{Movement: b, Meta: Meta{Source: SourceERP, Key: h.key()}})
		})
		wantBalance(t, h.balance("shop", c, time.Time{}), 100, 0, 0, 0, Expiring{"2027-01-15", 100})

		for _, id := range []int64{a, b} {
			_, err := h.try(func(tx *Tx) (Result, error) {
				return tx.Void(FinishRequest{Movement: id, Meta: Meta{Source: SourceERP, Key: h.key()}})
			})
			wantErr(t, err, ErrAlreadyFinal)
		}
		small := pend(10)
		_, err = h.try(func(tx *Tx) (Result, error) {
			return tx.Post(FinishRequest{Movement: small, Amount: 11, Meta: Meta{Source: SourceERP, Key: h.key()}})
		})
		wantErr(t, err, ErrInvalid)

		ms, err := l.Movements(h.ctx, Account{"shop", c}, MovementQuery{})
		if err != nil {
			t.Fatal(err)
		}
		states := map[int64]Movement{}
		for _, m := range ms {
			states[m.ID] = m
		}
		if m := states[a]; m.State != StatePosted || m.Final != 100 || m.Amount != 120 {
			t.Fatalf("posted credit reads %+v", m)
		}
		if m := states[b]; m.State != StateVoided || m.Final != 0 {
			t.Fatalf("voided credit reads %+v", m)
		}
	})
}

// TestSpendOnlyPointsEarnedBefore is the last clause of SPEC E6: an order
// placed before the conversion of the order that earned the points cannot
// spend them; one placed after can.
func TestSpendOnlyPointsEarnedBefore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:e6")
		h.customer(c)
		placedW1 := clock.Now()
		w1 := h.do(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceWeb, Key: "W1", At: placedW1}, Amount: 120, Pending: true})
		}).Main()
		placedW2 := placedW1.Add(30 * time.Minute)
		converted := placedW1.Add(time.Hour)
		clock.Set(converted)
		h.do(func(tx *Tx) (Result, error) {
			return tx.Post(FinishRequest{Movement: w1, Meta: Meta{Source: SourceERP, Key: "W1-invoice", At: converted}})
		})
		wantBalance(t, h.balance("shop", c, time.Time{}), 120, 0, 0, 0)
		_, err := h.try(func(tx *Tx) (Result, error) {
			return tx.Spend(SpendRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceWeb, Key: "W2"}, Amount: 100, Pending: true, EarnedBefore: placedW2})
		})
		wantErr(t, err, ErrInsufficient)
		if !strings.Contains(err.Error(), "only 0 usable among those earned before") {
			t.Fatalf("message %q does not say why", err)
		}
		h.do(func(tx *Tx) (Result, error) {
			return tx.Spend(SpendRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceWeb, Key: "W3"}, Amount: 100, Pending: true, EarnedBefore: converted.Add(time.Minute)})
		})
		wantBalance(t, h.balance("shop", c, time.Time{}), 20, 0, 100, 0)
	})
}

func TestPendingSpendPostedForLess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:2")
		h.customer(c)
		h.credit(c, 100, tp(time.Date(2026, 3, 1, 0, 0, 0, 0, rome)))
		h.credit(c, 100, nil)
		s := h.spend(c, 150, true)
		wantBalance(t, h.balance("shop", c, time.Time{}), 50, 0, 150, 0)
		h.do(func(tx *Tx) (Result, error) {
			return tx.Post(FinishRequest{Movement: s, Amount: 120, Meta: Meta{Source: SourceERP, Key: h.key()}})
		})
		// 30 go back to the lot without expiry; the dated lot stays consumed.
		wantBalance(t, h.balance("shop", c, time.Time{}), 80, 0, 120, 0)
		h.do(func(tx *Tx) (Result, error) {
			return tx.Refund(RefundRequest{Movement: s, Amount: 120, Meta: Meta{Source: SourceERP, Key: h.key()}})
		})
		wantBalance(t, h.balance("shop", c, time.Time{}), 200, 0, 0, 0, Expiring{"2026-02-28", 100})
		_, err := h.try(func(tx *Tx) (Result, error) {
			return tx.Refund(RefundRequest{Movement: s, Amount: 1, Meta: Meta{Source: SourceERP, Key: h.key()}})
		})
		wantErr(t, err, ErrInvalid)
	})
}

func TestRefundToExpiredLotExpires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:3")
		h.customer(c)
		feb := time.Date(2026, 2, 1, 0, 0, 0, 0, rome)
		h.credit(c, 100, &feb)
		s := h.spend(c, 100, false)
		clock.Set(feb.Add(24 * time.Hour))
		h.do(func(tx *Tx) (Result, error) {
			return tx.Refund(RefundRequest{Movement: s, Amount: 100, Meta: Meta{Source: SourcePOS, Key: h.key()}})
		})
		// The points went back to their lot with its expiry, which has passed.
		wantBalance(t, h.balance("shop", c, time.Time{}), 0, 0, 0, 100)
		if _, err := l.Sweep(h.ctx); err != nil {
			t.Fatal(err)
		}
		wantBalance(t, h.balance("shop", c, time.Time{}), 0, 0, 0, 100)
	})
}

func TestIdempotency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("card:77")
		h.customer(c)
		req := CreditRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourcePOS, Key: "S1/T2/R3/1"}, Amount: 40}
		first := h.do(func(tx *Tx) (Result, error) { return tx.Credit(req) })
		again := h.do(func(tx *Tx) (Result, error) { return tx.Credit(req) })
		if !again.Replayed || again.Main() != first.Main() {
			t.Fatalf("replay = %+v, first = %+v", again, first)
		}
		wantBalance(t, h.balance("shop", c, time.Time{}), 40, 0, 0, 0)

		other := req
		other.Amount = 41
		_, err := h.try(func(tx *Tx) (Result, error) { return tx.Credit(other) })
		wantErr(t, err, ErrIdempotency)
		if !strings.Contains(err.Error(), "S1/T2/R3/1") {
			t.Fatalf("message %q does not name the key", err)
		}
		// The same key from another source is another write.
		fromWeb := req
		fromWeb.Source = SourceWeb
		h.do(func(tx *Tx) (Result, error) { return tx.Credit(fromWeb) })
		wantBalance(t, h.balance("shop", c, time.Time{}), 80, 0, 0, 0)
	})
}

// TestIdempotencyRace fires the same write from many goroutines: exactly
// one applies, every caller gets its result.
func TestIdempotencyRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("card:88")
		h.customer(c)
		h.credit(c, 1000, nil)
		req := SpendRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceAPI, Key: "order-17"}, Amount: 300, Pending: true}
		var wg sync.WaitGroup
		ids := make([]int64, 16)
		errs := make([]error, 16)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r Result
				errs[i] = l.Update(context.Background(), func(tx *Tx) error {
					var err error
					r, err = tx.Spend(req)
					return err
				})
				ids[i] = r.Main()
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil {
				t.Fatalf("writer %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("writers got movements %v", ids)
			}
		}
		wantBalance(t, h.balance("shop", c, time.Time{}), 700, 0, 300, 0)
	})
}

// TestConcurrentSpendsNeverOverdraw races distinct spends on one balance.
func TestConcurrentSpendsNeverOverdraw(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:race")
		h.customer(c)
		h.credit(c, 1000, nil)
		var wg sync.WaitGroup
		var mu sync.Mutex
		granted := int64(0)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := l.Update(context.Background(), func(tx *Tx) error {
					_, err := tx.Spend(SpendRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceAPI, Key: "o" + strings.Repeat("x", i)}, Amount: 70, Pending: true})
					return err
				})
				if err == nil {
					mu.Lock()
					granted += 70
					mu.Unlock()
				} else if !errors.Is(err, ErrInsufficient) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if granted != 980 {
			t.Fatalf("granted %d, want 980 (14 spends of 70)", granted)
		}
		wantBalance(t, h.balance("shop", c, time.Time{}), 20, 0, 980, 0)
	})
}

func TestOverdraftOnlyForTills(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("card:55")
		h.customer(c)
		h.credit(c, 100, nil)
		acct := Account{"shop", c}
		_, err := h.try(func(tx *Tx) (Result, error) {
			return tx.Spend(SpendRequest{Account: acct, Meta: Meta{Source: SourceWeb, Key: h.key()}, Amount: 150, Pending: true, Overdraft: true})
		})
		wantErr(t, err, ErrInvalid)
		r := h.do(func(tx *Tx) (Result, error) {
			return tx.Spend(SpendRequest{Account: acct, Meta: Meta{Source: SourcePOS, Key: h.key()}, Amount: 150, Overdraft: true})
		})
		if r.Overdraft != 50 {
			t.Fatalf("overdraft = %d, want 50", r.Overdraft)
		}
		wantBalance(t, h.balance("shop", c, time.Time{}), -50, 0, 150, 0)
		// The next points pay the debt first.
		h.credit(c, 80, nil)
		wantBalance(t, h.balance("shop", c, time.Time{}), 30, 0, 150, 0)
		// A refund of the till spend gives back its points.
		h.do(func(tx *Tx) (Result, error) {
			return tx.Refund(RefundRequest{Movement: r.Main(), Amount: 150, Meta: Meta{Source: SourcePOS, Key: h.key()}})
		})
		wantBalance(t, h.balance("shop", c, time.Time{}), 180, 0, 0, 0)
	})
}

func TestReset(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		a, b := Ident("web:a"), Ident("web:b")
		h.customer(a)
		h.customer(b)
		h.credit(a, 100, nil)
		h.credit(b, 60, nil)
		h.do(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{"shop", a}, Meta: Meta{Source: SourceWeb, Key: h.key()}, Amount: 30, Pending: true})
		})
		pendingSpend := h.spend(a, 40, true)
		h.do(func(tx *Tx) (Result, error) {
			return tx.Reset(ResetRequest{Program: "shop", Customer: a, Meta: Meta{Source: SourceAdmin, Key: h.key(), Actor: "maria"}})
		})
		wantBalance(t, h.balance("shop", a, time.Time{}), 0, 0, 40, 0)
		wantBalance(t, h.balance("shop", b, time.Time{}), 60, 0, 0, 0)
		// The order is cancelled after the reset: its points do not come back.
		h.do(func(tx *Tx) (Result, error) {
			return tx.Void(FinishRequest{Movement: pendingSpend, Meta: Meta{Source: SourceERP, Key: h.key()}})
		})
		wantBalance(t, h.balance("shop", a, time.Time{}), 0, 0, 0, 0)
		// New points after a reset count as usual.
		h.credit(a, 5, nil)
		wantBalance(t, h.balance("shop", a, time.Time{}), 5, 0, 0, 0)

		r := h.do(func(tx *Tx) (Result, error) {
			return tx.Reset(ResetRequest{Program: "shop", Meta: Meta{Source: SourceAdmin, Key: h.key()}})
		})
		if r.Accounts != 2 {
			t.Fatalf("program reset touched %d accounts, want 2", r.Accounts)
		}
		wantBalance(t, h.balance("shop", a, time.Time{}), 0, 0, 0, 0)
		wantBalance(t, h.balance("shop", b, time.Time{}), 0, 0, 0, 0)
		ms, err := l.Movements(h.ctx, Account{"shop", a}, MovementQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) < 8 {
			t.Fatalf("history after reset has %d movements, want it all kept", len(ms))
		}
	})
}

func TestSweepIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:s")
		h.customer(c)
		exp := time.Date(2026, 2, 1, 0, 0, 0, 0, rome)
		h.credit(c, 70, &exp)
		h.credit(c, 5, nil)
		clock.Set(exp)
		for range 3 {
			if _, err := l.Sweep(h.ctx); err != nil {
				t.Fatal(err)
			}
			wantBalance(t, h.balance("shop", c, time.Time{}), 5, 0, 0, 70)
		}
		ms, _ := l.Movements(h.ctx, Account{"shop", c}, MovementQuery{})
		n := 0
		for _, m := range ms {
			if m.Kind == KindExpire {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d expiry movements, want 1", n)
		}
	})
}

func TestUnknowns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		_, err := l.Balance(h.ctx, Account{"shop", "web:nobody"}, time.Time{})
		wantErr(t, err, ErrUnknownCustomer)
		_, err = l.Balance(h.ctx, Account{"nope", "web:nobody"}, time.Time{})
		wantErr(t, err, ErrUnknownProgram)
		_, err = l.Balance(h.ctx, Account{"shop", "nobody"}, time.Time{})
		wantErr(t, err, ErrInvalid)
		_, err = h.try(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{"shop", "web:nobody"}, Meta: Meta{Source: SourceWeb, Key: "x"}, Amount: 1})
		})
		wantErr(t, err, ErrUnknownCustomer)
		_, err = h.try(func(tx *Tx) (Result, error) {
			return tx.Void(FinishRequest{Movement: 999, Meta: Meta{Source: SourceWeb, Key: "y"}})
		})
		wantErr(t, err, ErrUnknownMovement)
		h.customer("web:known")
		wantBalance(t, h.balance("shop", "web:known", time.Time{}), 0, 0, 0, 0)
		_, err = h.try(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{"shop", "web:known"}, Meta: Meta{Source: "till", Key: "x"}, Amount: 1})
		})
		wantErr(t, err, ErrInvalid)
	})
}

func TestLinkIdentifiers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		h.customer("web:9")
		h.customer("card:123456789")
		err := l.Update(h.ctx, func(tx *Tx) error { return tx.Link("web:9", "EMAIL:Anna@Example.com") })
		if err != nil {
			t.Fatal(err)
		}
		h.credit("email:anna@example.com", 10, nil)
		wantBalance(t, h.balance("shop", "web:9", time.Time{}), 10, 0, 0, 0)
		err = l.Update(h.ctx, func(tx *Tx) error { return tx.Link("web:9", "card:123456789") })
		wantErr(t, err, ErrInvalid)
		if strings.Contains(err.Error(), "123456789") {
			t.Fatalf("error shows a full card number: %v", err)
		}
	})
}

func TestTryUndoesOnlyItsPart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		err := l.Update(h.ctx, func(tx *Tx) error {
			if _, _, err := tx.EnsureCustomer("web:kept"); err != nil {
				return err
			}
			err := tx.Try(func() error {
				if _, _, err := tx.EnsureCustomer("web:undone"); err != nil {
					return err
				}
				_, err := tx.Spend(SpendRequest{Account: Account{"shop", "web:undone"}, Meta: Meta{Source: SourceAPI, Key: "t"}, Amount: 5})
				return err
			})
			wantErr(t, err, ErrInsufficient)
			return tx.Try(func() error {
				_, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:kept"}, Meta: Meta{Source: SourceAPI, Key: "t"}, Amount: 5})
				return err
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		wantBalance(t, h.balance("shop", "web:kept", time.Time{}), 5, 0, 0, 0)
		_, err = l.Balance(h.ctx, Account{"shop", "web:undone"}, time.Time{})
		wantErr(t, err, ErrUnknownCustomer)
	})
}

func TestNestedUpdateIsRefused(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Now()})
	ctx := context.Background()
	err := l.Update(ctx, func(tx *Tx) error {
		return l.Update(tx.Context(), func(*Tx) error { return nil })
	})
	wantErr(t, err, ErrNestedUpdate)
}

func TestSchemaNewerIsRefused(t *testing.T) {
	clock := &testClock{t: time.Now()}
	path := filepath.Join(t.TempDir(), "l.db")
	l, err := Open(context.Background(), Options{Path: path, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.w.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, err = Open(context.Background(), Options{Path: path, Clock: clock.Now})
	wantErr(t, err, ErrSchemaTooNew)
	if !strings.Contains(err.Error(), "999") {
		t.Fatalf("message %q does not give the versions", err)
	}
	// Reopening an up-to-date ledger applies nothing and works.
	path2 := filepath.Join(t.TempDir(), "m.db")
	for range 2 {
		l, err := Open(context.Background(), Options{Path: path2, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
}

func TestParseIdent(t *testing.T) {
	good := map[string]Ident{
		"web:42":                   "web:42",
		" WEB : 42 ":               "web:42",
		"email:Anna.Rossi@Mail.IT": "email:anna.rossi@mail.it",
		"card:0420001234":          "card:0420001234",
		"erp:C 0001":               "erp:C 0001",
	}
	for in, want := range good {
		got, err := ParseIdent(in)
		if err != nil || got != want {
			t.Errorf("ParseIdent(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "42", "web:", "fax:1", "email:nope", "card:12 34", "web:a\x00b", "web:" + strings.Repeat("x", 200)} {
		if _, err := ParseIdent(in); err == nil {
			t.Errorf("ParseIdent(%q): want an error", in)
		}
	}
	if m := Ident("card:0420001234").Masked(); m != "card:******1234" {
		t.Errorf("Masked = %q", m)
	}
	if _, err := ParseIdent("card:0420 001234"); err == nil || strings.Contains(err.Error(), "0420 001234") {
		t.Errorf("a bad card number is shown in full: %v", err)
	}
}
