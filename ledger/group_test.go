package ledger

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// holdWriter starts an Update that keeps SQLite's write connection until
// the returned function is called, so that the Updates started meanwhile
// queue and run as one group.
func holdWriter(t *testing.T, l *Ledger) (release func()) {
	t.Helper()
	started, hold, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- l.Update(context.Background(), func(tx *Tx) error {
			close(started)
			<-hold
			return nil
		})
	}()
	<-started
	return func() {
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("holding update: %v", err)
		}
	}
}

// waitQueued waits until n Updates wait in the ledger's queue.
func waitQueued(t *testing.T, l *Ledger, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.group.mu.Lock()
		got := len(l.group.waiting)
		l.group.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d updates queued after 10s, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func groupCommits(l *Ledger) int64 {
	l.group.mu.Lock()
	defer l.group.mu.Unlock()
	return l.group.commits
}

// TestGroupCommit runs Updates that succeed, fail, panic, nest a Try and
// have their context cancelled in one group: each ends as it would alone,
// and one commit carries the ones that succeeded.
func TestGroupCommit(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	hh := newH(t, l)
	var committed atomic.Int64
	l.OnCommit(func(w map[Written]int) {
		for _, n := range w {
			committed.Add(int64(n))
		}
	})
	credit := func(tx *Tx, id Ident, key string, amount int64) error {
		_, err := tx.Credit(CreditRequest{Account: Account{"shop", id}, Meta: Meta{Source: SourceERP, Key: key, Reason: "accrual"}, Amount: amount})
		return err
	}
	errRefused := errors.New("refused by the test")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	type update struct {
		name string
		ctx  context.Context
		fn   func(*Tx) error
		want string // "ok", "error", "panic", "cancelled"
	}
	ups := []update{
		{"credit a", nil, func(tx *Tx) error { return credit(tx, "web:a", "g1", 10) }, "ok"},
		{"credit then fail", nil, func(tx *Tx) error {
			if err := credit(tx, "web:a", "g2", 1000); err != nil {
				return err
			}
			return errRefused
		}, "error"},
		{"credit b", nil, func(tx *Tx) error { return credit(tx, "web:b", "g3", 20) }, "ok"},
		{"credit then panic", nil, func(tx *Tx) error {
			if err := credit(tx, "web:b", "g4", 1000); err != nil {
				return err
			}
			panic("panic of the test")
		}, "panic"},
		{"try inside", nil, func(tx *Tx) error {
			if err := credit(tx, "web:a", "g5", 1); err != nil {
				return err
			}
			if err := tx.Try(func() error { _ = credit(tx, "web:a", "g6", 500); return errRefused }); !errors.Is(err, errRefused) {
				return fmt.Errorf("try: %v", err)
			}
			return nil
		}, "ok"},
		{"cancelled", cancelled, func(tx *Tx) error { return credit(tx, "web:b", "g7", 1000) }, "cancelled"},
		{"same key again", nil, func(tx *Tx) error { return credit(tx, "web:a", "g1", 10) }, "ok"},
		{"nested update", nil, func(tx *Tx) error { return l.Update(tx.Context(), func(*Tx) error { return nil }) }, "nested"},
	}
	for _, id := range []Ident{"web:a", "web:b"} {
		hh.customer(id)
	}
	committed.Store(0)
	before := groupCommits(l)
	release := holdWriter(t, l)
	type outcome struct {
		err      error
		panicked any
	}
	got := make([]outcome, len(ups))
	var wg sync.WaitGroup
	for i, u := range ups {
		ctx := u.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { got[i].panicked = recover() }()
			got[i].err = l.Update(ctx, u.fn)
		}()
		waitQueued(t, l, i+1)
	}
	release()
	wg.Wait()
	for i, u := range ups {
		o := got[i]
		switch u.want {
		case "ok":
			if o.err != nil || o.panicked != nil {
				t.Errorf("%s: error %v, panic %v; want success", u.name, o.err, o.panicked)
			}
		case "error":
			if !errors.Is(o.err, errRefused) {
				t.Errorf("%s: error %v, want %v", u.name, o.err, errRefused)
			}
		case "panic":
			if o.panicked != "panic of the test" {
				t.Errorf("%s: panic %v (error %v), want the fn's panic raised in the caller", u.name, o.panicked, o.err)
			}
		case "cancelled":
			if !errors.Is(o.err, context.Canceled) {
				t.Errorf("%s: error %v, want context.Canceled", u.name, o.err)
			}
		case "nested":
			if !errors.Is(o.err, ErrNestedUpdate) {
				t.Errorf("%s: error %v, want ErrNestedUpdate", u.name, o.err)
			}
		}
	}
	if n := groupCommits(l) - before; n != 1 {
		t.Errorf("%d group commits, want the queued updates in 1", n)
	}
	// a: 10 (g1, once) + 1 (g5); b: 20 (g3). Nothing of g2, g4, g6, g7.
	wantBalance(t, hh.balance("shop", "web:a", time.Time{}), 11, 0, 0, 0)
	wantBalance(t, hh.balance("shop", "web:b", time.Time{}), 20, 0, 0, 0)
	if n := committed.Load(); n != 3 {
		t.Errorf("OnCommit saw %d movements, want 3 (g1, g3, g5)", n)
	}
}

// TestGroupCommitAborted has one Update end the shared transaction under
// the group: the others are run again in a later transaction and commit.
func TestGroupCommitAborted(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	hh := newH(t, l)
	hh.customer("web:a")
	release := holdWriter(t, l)
	errBroke := errors.New("broke the transaction")
	var runs atomic.Int64
	errRefused := errors.New("refused by the test")
	var refusals atomic.Int64
	fns := []func(*Tx) error{
		func(tx *Tx) error {
			runs.Add(1)
			_, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:a"}, Meta: Meta{Source: SourceERP, Key: "a1", Reason: "accrual"}, Amount: 7})
			return err
		},
		func(*Tx) error {
			// It may have failed on the writes the breaker undoes: it
			// runs again.
			refusals.Add(1)
			return errRefused
		},
		func(tx *Tx) error {
			// As SQLite does on an interrupted write or a full disk.
			if _, err := tx.tx.ExecContext(tx.ctx, "ROLLBACK"); err != nil {
				return err
			}
			return errBroke
		},
		func(tx *Tx) error {
			runs.Add(1)
			_, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:a"}, Meta: Meta{Source: SourceERP, Key: "a2", Reason: "accrual"}, Amount: 5})
			return err
		},
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = l.Update(context.Background(), fn) }()
		waitQueued(t, l, i+1)
	}
	release()
	wg.Wait()
	if errs[0] != nil || errs[3] != nil {
		t.Fatalf("the others: %v, %v; want both committed on a later try", errs[0], errs[3])
	}
	if !errors.Is(errs[2], errBroke) {
		t.Fatalf("the breaking update: %v, want its own error", errs[2])
	}
	if !errors.Is(errs[1], errRefused) || refusals.Load() < 2 {
		t.Fatalf("the failing update: %v after %d runs; want its own error after running again", errs[1], refusals.Load())
	}
	if n := runs.Load(); n < 3 {
		t.Errorf("the other updates ran %d times, want at least 3 (one of them again)", n)
	}
	wantBalance(t, hh.balance("shop", "web:a", time.Time{}), 12, 0, 0, 0)
}

// TestGroupCommitCancelled: an Update whose context ends while its fn
// runs in a group stops at its next statement with the context's error,
// and the others' writes commit: the cancellation never interrupts a
// statement, which would make SQLite roll the shared transaction back.
func TestGroupCommitCancelled(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	hh := newH(t, l)
	hh.customer("web:a")
	credit := func(tx *Tx, key string, amount int64) error {
		_, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:a"}, Meta: Meta{Source: SourceERP, Key: key, Reason: "accrual"}, Amount: amount})
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := holdWriter(t, l)
	var runs atomic.Int64
	fns := []struct {
		ctx context.Context
		fn  func(*Tx) error
	}{
		{context.Background(), func(tx *Tx) error { runs.Add(1); return credit(tx, "c1", 3) }},
		{ctx, func(tx *Tx) error {
			if err := credit(tx, "c2", 100); err != nil {
				return err
			}
			cancel() // the caller gives up half-way
			return credit(tx, "c3", 100)
		}},
		{context.Background(), func(tx *Tx) error { runs.Add(1); return credit(tx, "c4", 4) }},
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = l.Update(f.ctx, f.fn) }()
		waitQueued(t, l, i+1)
	}
	release()
	wg.Wait()
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("the others: %v, %v", errs[0], errs[2])
	}
	if !errors.Is(errs[1], context.Canceled) {
		t.Fatalf("the cancelled update: %v, want context.Canceled", errs[1])
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("the others ran %d times, want once each: the group was not aborted", n)
	}
	wantBalance(t, hh.balance("shop", "web:a", time.Time{}), 7, 0, 0, 0)
}

// TestUpdateAloneCancelled: an Update running alone whose context ends
// while its fn runs stops at its next statement with the context's error
// and leaves nothing, as in a group; its statements run under a context
// that is not cancelled (no goroutine per statement watching it), so the
// one running when the context ends is not interrupted.
func TestUpdateAloneCancelled(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	hh := newH(t, l)
	hh.customer("web:a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var statementsCtx context.Context
	err := l.Update(ctx, func(tx *Tx) error {
		statementsCtx = tx.Context()
		if _, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:a"}, Meta: Meta{Source: SourceERP, Key: "c1", Reason: "accrual"}, Amount: 5}); err != nil {
			return err
		}
		cancel() // the caller gives up half-way
		_, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:a"}, Meta: Meta{Source: SourceERP, Key: "c2", Reason: "accrual"}, Amount: 7})
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update: %v, want context.Canceled", err)
	}
	if statementsCtx.Done() != nil {
		t.Error("the statements ran under a context that can be cancelled")
	}
	wantBalance(t, hh.balance("shop", "web:a", time.Time{}), 0, 0, 0, 0)
}

// TestUpdateEndsItsGoroutine: an Update alone whose fn ends its
// goroutine (runtime.Goexit, as t.Fatal does) after its context was
// cancelled leaves nothing and does not keep the write lock: the next
// Update commits. (The context no longer rolls the transaction back.)
func TestUpdateEndsItsGoroutine(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Update(ctx, func(tx *Tx) error {
			if _, _, err := tx.EnsureCustomer("web:gone"); err != nil {
				return err
			}
			cancel()
			runtime.Goexit()
			return nil
		})
	}()
	<-done
	err := l.Update(context.Background(), func(tx *Tx) error { _, _, err := tx.EnsureCustomer("web:next"); return err })
	if err != nil {
		t.Fatalf("the next Update: %v", err)
	}
	if _, err := l.Balance(context.Background(), Account{"shop", "web:gone"}, time.Time{}); !errors.Is(err, ErrUnknownCustomer) {
		t.Errorf("the customer of the ended Update: %v, want ErrUnknownCustomer", err)
	}
}

// TestWritersWaiting: an Update sees when another write queues behind its
// transaction, through a group or the lease's own, and not otherwise.
func TestWritersWaiting(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	ctx := context.Background()
	for _, other := range []struct {
		name  string
		write func() error
	}{
		{"an update", func() error { return l.Update(ctx, func(*Tx) error { return nil }) }},
		{"the lease", func() error {
			ls, _, err := l.AcquireLease(ctx, "daemon", "host-a", time.Minute)
			if err == nil && ls == nil {
				err = errors.New("the lease was not taken")
			}
			return err
		}},
	} {
		t.Run(other.name, func(t *testing.T) {
			done := make(chan error, 1)
			err := l.Update(ctx, func(tx *Tx) error {
				if tx.WritersWaiting() {
					return errors.New("a write waits before any other started")
				}
				go func() { done <- other.write() }()
				deadline := time.Now().Add(10 * time.Second)
				for !tx.WritersWaiting() {
					if time.Now().After(deadline) {
						return errors.New("the other write never showed as waiting")
					}
					time.Sleep(time.Millisecond)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("the other write: %v", err)
			}
			if err := l.Update(ctx, func(tx *Tx) error {
				if tx.WritersWaiting() {
					return errors.New("a write still shows as waiting after it ran")
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWritersWaitingInGroup: the Updates after one in its group wait for
// it as the queued ones do; the last of the group has none behind it.
func TestWritersWaitingInGroup(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	release := holdWriter(t, l)
	seen := make([]bool, 2)
	var wg sync.WaitGroup
	for i := range seen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Update(context.Background(), func(tx *Tx) error {
				seen[i] = tx.WritersWaiting()
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
		waitQueued(t, l, i+1) // in this order in the group
	}
	release()
	wg.Wait()
	if !seen[0] || seen[1] {
		t.Fatalf("WritersWaiting in the group: first %v, last %v; want true, false", seen[0], seen[1])
	}
}

// TestWritersWaitingMySQL: on MySQL writers wait on row locks, which the
// ledger does not see: an Update is always told to commit rather than do
// more.
func TestWritersWaitingMySQL(t *testing.T) {
	l := openMySQL(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	if err := l.Update(context.Background(), func(tx *Tx) error {
		if !tx.WritersWaiting() {
			return errors.New("WritersWaiting is false on MySQL")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
