package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pointsync/pointsync/internal/testdb"
)

// leaseName is the lease the tests compete for.
const leaseName = "daemon"

// forEachLeaseBackend opens two handles on one fresh ledger of each
// backend, as two daemons would. pass makes lease time go by: the test
// clock on SQLite, where leases follow the ledger clock, and real time on
// MySQL, where they follow the database's clock.
func forEachLeaseBackend(t *testing.T, f func(t *testing.T, a, b *Ledger, pass func(time.Duration))) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
		path := filepath.Join(t.TempDir(), "ledger.db")
		open := func() *Ledger {
			l, err := Open(context.Background(), Options{Path: path, Programs: testPrograms, Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return l
		}
		a, b := open(), open()
		f(t, a, b, func(d time.Duration) { clock.Set(clock.Now().Add(d)) })
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testdb.MySQL(t)
		f(t, mysqlHandle(t, dsn), mysqlHandle(t, dsn), time.Sleep)
	})
}

// mysqlHandle opens a handle on the MySQL ledger at dsn, closed at the
// end of the test.
func mysqlHandle(t *testing.T, dsn string) *Ledger {
	t.Helper()
	l, err := Open(context.Background(), Options{Backend: BackendMySQL, DSN: dsn, Programs: testPrograms})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func acquire(t *testing.T, l *Ledger, holder string, ttl time.Duration) *Lease {
	t.Helper()
	lease, info, err := l.AcquireLease(context.Background(), leaseName, holder, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if lease == nil {
		t.Fatalf("%s could not take the lease: %s holds it until %s (fence %d)", holder, info.Holder, info.ExpiresAt, info.Fence)
	}
	return lease
}

func leaseInfo(t *testing.T, l *Ledger) LeaseInfo {
	t.Helper()
	info, err := l.LeaseInfo(context.Background(), leaseName)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestLeaseLifecycle: a lease never taken is free; taking it gives fence
// 1; renewing keeps it; releasing frees it at once; taking it again
// raises the fence, and the released lease cannot be renewed.
func TestLeaseLifecycle(t *testing.T) {
	forEachLeaseBackend(t, func(t *testing.T, a, _ *Ledger, pass func(time.Duration)) {
		ctx := context.Background()
		if info := leaseInfo(t, a); info.Held() || info.Holder != "" || info.Fence != 0 || info.Now.IsZero() {
			t.Fatalf("a lease never taken: %+v", info)
		}
		before := time.Now()
		first := acquire(t, a, "host:1", time.Minute)
		if first.Fence() != 1 || first.Holder() != "host:1" || first.Name() != leaseName || first.TTL() != time.Minute {
			t.Fatalf("first lease: fence %d, holder %s, name %s, ttl %s", first.Fence(), first.Holder(), first.Name(), first.TTL())
		}
		if until := first.ValidUntil(); until.Before(before.Add(time.Minute)) || until.After(time.Now().Add(time.Minute)) {
			t.Fatalf("ValidUntil %s is not the acquisition plus the TTL", until)
		}
		info := leaseInfo(t, a)
		if !info.Held() || info.Holder != "host:1" || info.Fence != 1 || info.Remaining() <= 0 || info.Remaining() > time.Minute {
			t.Fatalf("after acquiring: %+v (remaining %s)", info, info.Remaining())
		}
		if !info.AcquiredAt.Equal(info.RenewedAt) || !info.ExpiresAt.Equal(info.AcquiredAt.Add(time.Minute)) {
			t.Fatalf("times after acquiring: %+v", info)
		}
		pass(20 * time.Millisecond)
		if err := first.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		renewed := leaseInfo(t, a)
		if !renewed.RenewedAt.After(info.RenewedAt) || !renewed.ExpiresAt.Equal(renewed.RenewedAt.Add(time.Minute)) ||
			!renewed.AcquiredAt.Equal(info.AcquiredAt) || renewed.Fence != 1 {
			t.Fatalf("after renewing: %+v, before %+v", renewed, info)
		}
		if got := first.Info(); !got.ExpiresAt.Equal(renewed.ExpiresAt) {
			t.Fatalf("Info after Renew = %+v, want expiry %s", got, renewed.ExpiresAt)
		}
		if err := first.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if info := leaseInfo(t, a); info.Held() || info.Holder != "host:1" || info.Remaining() != 0 {
			t.Fatalf("after releasing: %+v", info)
		}
		if !first.ValidUntil().IsZero() {
			t.Fatalf("ValidUntil after Release = %s", first.ValidUntil())
		}
		if err := first.Release(ctx); err != nil {
			t.Fatalf("a second Release: %v", err)
		}
		if err := first.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Renew after Release: %v, want ErrLeaseLost", err)
		}
		second := acquire(t, a, "host:2", time.Minute)
		if second.Fence() != 2 {
			t.Fatalf("fence after taking a released lease = %d, want 2", second.Fence())
		}
	})
}

// TestLeaseRefusedWhileHeld: a second holder is refused while the lease
// is valid and told who holds it; once it ran out, the second takes it
// with a higher fence and the first can no longer renew. Taking a lease
// one holds already starts a new acquisition.
func TestLeaseRefusedWhileHeld(t *testing.T) {
	forEachLeaseBackend(t, func(t *testing.T, a, b *Ledger, pass func(time.Duration)) {
		ctx := context.Background()
		const ttl = 400 * time.Millisecond
		first := acquire(t, a, "a:1", ttl)
		lease, info, err := b.AcquireLease(ctx, leaseName, "b:2", time.Minute)
		if err != nil || lease != nil {
			t.Fatalf("second holder while the lease is valid: %v, %v", lease, err)
		}
		if info.Holder != "a:1" || info.Fence != 1 || !info.Held() || info.Remaining() > ttl {
			t.Fatalf("refusal names %+v", info)
		}
		pass(ttl + 100*time.Millisecond)
		if info := leaseInfo(t, b); info.Held() || info.Holder != "a:1" {
			t.Fatalf("a lease past its expiry: %+v", info)
		}
		second := acquire(t, b, "b:2", time.Minute)
		if second.Fence() <= first.Fence() {
			t.Fatalf("the taker's fence %d is not above %d", second.Fence(), first.Fence())
		}
		err = first.Renew(ctx)
		if !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), "taken over by b:2") {
			t.Fatalf("Renew of the lease taken over: %v", err)
		}
		// Holding it already: a new acquisition, and the old one is lost.
		again := acquire(t, b, "b:2", time.Minute)
		if again.Fence() != second.Fence()+1 {
			t.Fatalf("fence of a second acquisition by the holder = %d, want %d", again.Fence(), second.Fence()+1)
		}
		if err := second.Renew(ctx); !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), "taken again") {
			t.Fatalf("Renew of the superseded acquisition: %v", err)
		}
		if err := second.Release(ctx); err != nil {
			t.Fatalf("Release of a lost lease: %v", err)
		}
		if info := leaseInfo(t, a); !info.Held() || info.Fence != again.Fence() {
			t.Fatalf("releasing a lost lease freed the holder's: %+v", info)
		}
	})
}

// TestLeaseRenewAfterExpiry: a lease that ran out cannot be renewed, even
// when nobody took it; its holder takes it again.
func TestLeaseRenewAfterExpiry(t *testing.T) {
	forEachLeaseBackend(t, func(t *testing.T, a, _ *Ledger, pass func(time.Duration)) {
		const ttl = 300 * time.Millisecond
		lease := acquire(t, a, "a:1", ttl)
		pass(ttl + 100*time.Millisecond)
		err := lease.Renew(context.Background())
		if !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), "ran out") {
			t.Fatalf("Renew after expiry: %v", err)
		}
		if !lease.ValidUntil().IsZero() {
			t.Fatalf("ValidUntil of a lost lease = %s", lease.ValidUntil())
		}
		if again := acquire(t, a, "a:1", ttl); again.Fence() != 2 {
			t.Fatalf("fence = %d", again.Fence())
		}
	})
}

// TestFencedWritesAfterTakeover: a ledger fenced with a lease writes
// while it holds it; once another holder took over, every write
// transaction (Update, SaveJob, Sweep) fails with ErrLeaseLost before it
// runs, writes nothing and is not retried.
func TestFencedWritesAfterTakeover(t *testing.T) {
	forEachLeaseBackend(t, func(t *testing.T, a, b *Ledger, pass func(time.Duration)) {
		ctx := context.Background()
		const ttl = 300 * time.Millisecond
		mine := acquire(t, a, "a:1", ttl)
		a.SetFence(mine)
		if err := a.Update(ctx, func(tx *Tx) error { return tx.SetCursor("src", "mine") }); err != nil {
			t.Fatalf("write while holding the lease: %v", err)
		}
		if err := a.SaveJob(ctx, Job{Name: "src"}); err != nil {
			t.Fatalf("SaveJob while holding the lease: %v", err)
		}
		pass(ttl + 100*time.Millisecond)
		acquire(t, b, "b:2", time.Minute)
		calls := 0
		err := a.Update(ctx, func(tx *Tx) error {
			calls++
			return tx.SetCursor("src", "stale")
		})
		if !errors.Is(err, ErrLeaseLost) || calls != 0 {
			t.Fatalf("fenced write after the takeover: %v after %d call(s) of fn", err, calls)
		}
		if !strings.Contains(err.Error(), "taken over by b:2") || !strings.Contains(err.Error(), "writes nothing") {
			t.Fatalf("the message does not say what happened: %v", err)
		}
		if err := a.SaveJob(ctx, Job{Name: "src", Runs: 9}); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("SaveJob after the takeover: %v", err)
		}
		if _, err := a.Sweep(ctx); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Sweep after the takeover: %v", err)
		}
		if c, err := b.Cursor(ctx, "src"); err != nil || c != "mine" {
			t.Fatalf("cursor = %q, %v; want the value written while holding the lease", c, err)
		}
		jobs, err := b.Jobs(ctx)
		if err != nil || len(jobs) != 1 || jobs[0].Runs != 0 {
			t.Fatalf("jobs = %+v, %v", jobs, err)
		}
		// Reads are not fenced.
		if _, err := a.Cursor(ctx, "src"); err != nil {
			t.Fatalf("read on a fenced ledger: %v", err)
		}
		// The fence removed, the ledger writes again (the admin commands).
		a.SetFence(nil)
		if err := a.Update(ctx, func(tx *Tx) error { return tx.SetCursor("src", "admin") }); err != nil {
			t.Fatalf("unfenced write: %v", err)
		}
	})
}

// TestFenceReleased: a fenced ledger whose lease was released writes
// nothing: a daemon that shut down cannot write by mistake.
func TestFenceReleased(t *testing.T) {
	forEachLeaseBackend(t, func(t *testing.T, a, _ *Ledger, _ func(time.Duration)) {
		ctx := context.Background()
		lease := acquire(t, a, "a:1", time.Minute)
		a.SetFence(lease)
		if err := lease.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Update(ctx, func(tx *Tx) error { return tx.SetCursor("src", "x") }); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("write after Release: %v", err)
		}
	})
}

// TestLeaseLostNotRetried: Update's retry loop never retries a lost
// lease, even when the error also carries one it would retry.
func TestLeaseLostNotRetried(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Now()})
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"deadlock", &mysql.MySQLError{Number: 1213}, true},
		{"lease lost", fmt.Errorf("x: %w", ErrLeaseLost), false},
		{"lease lost and deadlock", errors.Join(ErrLeaseLost, &mysql.MySQLError{Number: 1213}), false},
	} {
		if got := l.retryable(tc.err); got != tc.want {
			t.Errorf("%s: retryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLeaseArguments: names, holders and TTLs that cannot be stored as
// given are refused.
func TestLeaseArguments(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Now()})
	for _, tc := range []struct {
		name, holder string
		ttl          time.Duration
	}{
		{"", "h:1", time.Second},
		{"daemon", "", time.Second},
		{"daemon", " h:1", time.Second},
		{"daemon", strings.Repeat("h", 192), time.Second},
		{"daemon", "h:1", 0},
		{"daemon", "h:1", time.Microsecond},
	} {
		lease, _, err := l.AcquireLease(context.Background(), tc.name, tc.holder, tc.ttl)
		if !errors.Is(err, ErrInvalid) || lease != nil {
			t.Errorf("AcquireLease(%q, %q, %s) = %v, %v; want ErrInvalid", tc.name, tc.holder, tc.ttl, lease, err)
		}
	}
	if _, err := l.LeaseInfo(context.Background(), ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("LeaseInfo of an empty name: %v", err)
	}
	err := l.Update(context.Background(), func(tx *Tx) error {
		_, _, err := l.AcquireLease(tx.Context(), leaseName, "h:1", time.Second)
		return err
	})
	if !errors.Is(err, ErrNestedUpdate) {
		t.Errorf("AcquireLease inside Update: %v", err)
	}
}

// TestTakeoverWaitsForFencedTransaction: a fenced transaction that
// passed its check before the lease ran out holds the lease row; whoever
// takes the lease over waits until it has committed, so the old holder's
// last write is ordered before the new holder's first.
func TestTakeoverWaitsForFencedTransaction(t *testing.T) {
	dsn := testdb.MySQL(t)
	a, b := mysqlHandle(t, dsn), mysqlHandle(t, dsn)
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	a.SetFence(acquire(t, a, "a:1", ttl))
	entered, finish, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var finished sync.Once
	end := func() { finished.Do(func() { close(finish) }) }
	defer end() // a failing test must not leave the transaction open
	go func() {
		done <- a.Update(ctx, func(tx *Tx) error {
			if err := tx.SetCursor("order", "written by a"); err != nil {
				return err
			}
			close(entered)
			<-finish
			return nil
		})
	}()
	<-entered
	time.Sleep(ttl + 100*time.Millisecond) // the lease runs out under the open transaction
	type taken struct {
		lease  *Lease
		cursor string
		err    error
	}
	took := make(chan taken, 1)
	go func() {
		lease, _, err := b.AcquireLease(ctx, leaseName, "b:2", time.Minute)
		if err != nil || lease == nil {
			took <- taken{err: fmt.Errorf("acquire: %v, %v", lease, err)}
			return
		}
		c, err := b.Cursor(ctx, "order")
		took <- taken{lease: lease, cursor: c, err: err}
	}()
	// The taker's lock of the fence row is seen waiting: a statement on
	// one row by its primary key that runs for more than 200 ms is
	// blocked.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting int
		err := b.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.processlist
			WHERE db = DATABASE() AND info LIKE '%lease_fences%' AND time_ms > 200`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case r := <-took:
			t.Fatalf("the lease was taken while a fenced transaction was open: %+v", r)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the taker neither waits nor took the lease")
		}
		time.Sleep(10 * time.Millisecond)
	}
	end()
	if err := <-done; err != nil {
		t.Fatalf("the fenced transaction that passed its check before the takeover: %v", err)
	}
	r := <-took
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.lease.Fence() != 2 || r.cursor != "written by a" {
		t.Fatalf("taker: fence %d, first read %q; want 2 and the old holder's last write", r.lease.Fence(), r.cursor)
	}
	if err := a.Update(ctx, func(tx *Tx) error { return tx.SetCursor("order", "late") }); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the old holder's next write: %v", err)
	}
}

// TestRenewWhileWriting: a renewal does not wait for the holder's own
// write transactions in flight (they lock the fence row, a renewal
// changes only the lease row): a long batch cannot make the lease run
// out under it.
func TestRenewWhileWriting(t *testing.T) {
	a := mysqlHandle(t, testdb.MySQL(t))
	ctx := context.Background()
	lease := acquire(t, a, "a:1", time.Minute)
	a.SetFence(lease)
	entered, finish, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var finished sync.Once
	end := func() { finished.Do(func() { close(finish) }) }
	defer end()
	go func() {
		done <- a.Update(ctx, func(tx *Tx) error {
			close(entered)
			<-finish
			return tx.SetCursor("src", "after the renewal")
		})
	}()
	<-entered
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := lease.Renew(rctx); err != nil {
		t.Fatalf("Renew with a fenced transaction in flight: %v", err)
	}
	if err := lease.Release(rctx); err != nil {
		t.Fatalf("Release with a fenced transaction in flight: %v", err)
	}
	end()
	if err := <-done; err != nil {
		t.Fatalf("the transaction that passed its check before the release: %v", err)
	}
}

// TestLeaseNeverTwoWriters: holders compete for the lease with short
// TTLs; each, once it has the lease, writes on its own fenced ledger for
// a random while without renewing, often past its expiry (a stalled
// daemon that does not know it lost the lease), sometimes renewing or
// releasing it. Every write reads and replaces one shared row, so the
// writes are in commit order: a write must never find there a fence
// higher than its own (an old holder committing after a newer one). Each
// fence belongs to one holder, and the test checks that takeovers and
// refused stale writes both happened.
func TestLeaseNeverTwoWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("competes for a few seconds; skipped with -short")
	}
	for _, backend := range []string{BackendSQLite, BackendMySQL} {
		t.Run(backend, func(t *testing.T) {
			var open func() *Ledger
			switch backend {
			case BackendSQLite:
				path := filepath.Join(t.TempDir(), "ledger.db")
				open = func() *Ledger {
					l, err := Open(context.Background(), Options{Path: path, Programs: testPrograms})
					if err != nil {
						t.Fatal(err)
					}
					return l
				}
			default:
				dsn := testdb.MySQL(t)
				open = func() *Ledger {
					l, err := Open(context.Background(), Options{Backend: BackendMySQL, DSN: dsn, Programs: testPrograms})
					if err != nil {
						t.Fatal(err)
					}
					return l
				}
			}
			competeForLease(t, open)
		})
	}
}

func competeForLease(t *testing.T, open func() *Ledger) {
	const (
		holders      = 5
		acquisitions = 24 // in all, then the holders stop
		ttl          = 40 * time.Millisecond
	)
	var (
		mu       sync.Mutex
		writes   = map[int64]int{}    // fence -> writes committed
		owner    = map[int64]string{} // fence -> holder
		refused  int
		problems []string
	)
	ctx := context.Background()
	var wg sync.WaitGroup
	for h := range holders {
		l := open()
		defer l.Close()
		holder := "h:" + strconv.Itoa(h)
		rnd := rand.New(rand.NewPCG(uint64(h), 42))
		pause := func(max time.Duration) { time.Sleep(time.Duration(rnd.Int64N(int64(max)))) }
		wg.Go(func() {
			for attempt := 0; attempt < 2000; attempt++ {
				mu.Lock()
				enough := len(owner) >= acquisitions
				mu.Unlock()
				if enough {
					return
				}
				lease, _, err := l.AcquireLease(ctx, leaseName, holder, ttl)
				if err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s: acquire: %v", holder, err))
					mu.Unlock()
					return
				}
				if lease == nil {
					pause(ttl / 2)
					continue
				}
				mu.Lock()
				if prev, ok := owner[lease.Fence()]; ok {
					problems = append(problems, fmt.Sprintf("fence %d given to %s and %s", lease.Fence(), prev, holder))
				}
				owner[lease.Fence()] = holder
				mu.Unlock()
				l.SetFence(lease)
				for range 1 + rnd.IntN(4) {
					hold := time.Duration(rnd.Int64N(int64(2 * ttl)))
					err := l.Update(ctx, func(tx *Tx) error {
						// In flight past the fence check while the lease
						// may run out and another holder may want it.
						time.Sleep(hold)
						last, err := tx.Cursor("fence")
						if err != nil {
							return err
						}
						if prev, _ := strconv.ParseInt(last, 10, 64); prev > lease.Fence() {
							mu.Lock()
							problems = append(problems, fmt.Sprintf("%s wrote with fence %d after fence %d had written", holder, lease.Fence(), prev))
							mu.Unlock()
						}
						return tx.SetCursor("fence", strconv.FormatInt(lease.Fence(), 10))
					})
					mu.Lock()
					switch {
					case err == nil:
						writes[lease.Fence()]++
					case errors.Is(err, ErrLeaseLost):
						refused++
					default:
						problems = append(problems, fmt.Sprintf("%s: write: %v", holder, err))
					}
					mu.Unlock()
					pause(ttl)
				}
				switch rnd.IntN(3) {
				case 0:
					_ = lease.Release(ctx)
				case 1:
					_ = lease.Renew(ctx) // lost or not: both happen
				}
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	withWrites := 0
	for _, n := range writes {
		if n > 0 {
			withWrites++
		}
	}
	t.Logf("%d acquisitions, %d of them wrote; %d stale writes refused", len(owner), withWrites, refused)
	if withWrites < 3 || refused == 0 {
		t.Fatalf("the competition did not exercise takeovers (%d fences wrote) and refused writes (%d)", withWrites, refused)
	}
}

// TestMigration5 opens a ledger an older pointsync left at schema
// version 4, with the leases table made by a run of 0005 cut short, and
// takes the lease on it.
func TestMigration5(t *testing.T) {
	check := func(t *testing.T, l *Ledger) {
		t.Helper()
		var v int
		if err := l.r.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil || v < 5 {
			t.Fatalf("schema version %d, %v; want at least 5", v, err)
		}
		lease := acquire(t, l, "a:1", time.Minute)
		l.SetFence(lease)
		wantBalance(t, newH(t, l).balance("shop", "web:old", time.Time{}), 25, 0, 0, 0)
		if err := l.Update(context.Background(), func(tx *Tx) error { return tx.SetCursor("erp", "c1") }); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		buildAtVersion(t, db, BackendSQLite, 4)
		db.Close()
		l, err := Open(context.Background(), Options{Path: path, Programs: testPrograms})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		check(t, l)
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testdb.MySQL(t)
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1) // FOREIGN_KEY_CHECKS is per connection
		var tables []string
		rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
		}
		rows.Close()
		for _, q := range append(append([]string{"SET FOREIGN_KEY_CHECKS = 0"}, dropAll(tables)...), "SET FOREIGN_KEY_CHECKS = 1") {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		buildAtVersion(t, db, BackendMySQL, 4)
		l, err := Open(context.Background(), Options{Backend: BackendMySQL, DSN: dsn, Programs: testPrograms})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		check(t, l)
	})
}
