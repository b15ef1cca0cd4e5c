package daemon

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/ledger"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.Drop()
	os.Exit(code)
}

// leasedEnv is a test configuration on a MySQL ledger that several
// daemons share, each through a ledger handle of its own. Its env's
// ledger is one more handle, unfenced, for the test's own reads and
// writes.
type leasedEnv struct {
	*env
	dsn string
}

// stores is a drop folder connector of the test configurations.
const stores = `connectors:
  - name: stores
    kind: csv_drop
    schedule: "@every 1s"
    program: card
    facts: till_receipt
    drop: {dir: drops/stores, min_age: 1s}
    date_formats: ["02/01/2006 15:04"]
`

func newLeasedEnv(t *testing.T, extra string) *leasedEnv {
	t.Helper()
	dsn := testdb.MySQL(t)
	e := newEnv(t, extra)
	le := &leasedEnv{env: e, dsn: dsn}
	e.l = le.open()
	return le
}

// open opens a handle on the shared ledger, closed at the end of the
// test.
func (le *leasedEnv) open() *ledger.Ledger {
	le.t.Helper()
	progs, err := le.cfg.RulesPrograms()
	if err != nil {
		le.t.Fatal(err)
	}
	var lp []ledger.Program
	for _, p := range progs {
		lp = append(lp, ledger.Program{ID: p.ID, Location: p.Location})
	}
	l, err := ledger.Open(context.Background(), ledger.Options{Backend: ledger.BackendMySQL, DSN: le.dsn, Programs: lp})
	if err != nil {
		le.t.Fatal(err)
	}
	le.t.Cleanup(func() { l.Close() })
	return l
}

// daemon builds a daemon named holder on a ledger handle of its own; its
// logs are kept for the test to look at.
func (le *leasedEnv) daemon(holder string) (*Daemon, *observer.ObservedLogs) {
	le.t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	d, err := New(context.Background(), Options{Config: le.cfg, Ledger: le.open(), Engine: le.eng, Logger: zap.New(core), Holder: holder})
	if err != nil {
		le.t.Fatal(err)
	}
	le.t.Cleanup(func() { d.Close() })
	return d, logs
}

func (le *leasedEnv) lease() ledger.LeaseInfo {
	le.t.Helper()
	info, err := le.l.LeaseInfo(context.Background(), LeaseName)
	if err != nil {
		le.t.Fatal(err)
	}
	return info
}

// holds waits until holder holds the lease and returns it.
func (le *leasedEnv) holds(holder string) ledger.LeaseInfo {
	le.t.Helper()
	var info ledger.LeaseInfo
	waitFor(le.t, holder+" to hold the lease", func() bool {
		info = le.lease()
		return info.Held() && info.Holder == holder
	})
	return info
}

// steal makes thief the lease's holder for a minute, as a daemon that
// took over while the holder stalled would, whatever the holder does.
func (le *leasedEnv) steal(thief string) {
	le.t.Helper()
	db, err := sql.Open("mysql", le.dsn)
	if err != nil {
		le.t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(`UPDATE leases SET holder = ?, fence = fence + 1,
		expires_at = TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) + 60000000 WHERE name = ?`, thief, LeaseName)
	if err != nil {
		le.t.Fatal(err)
	}
}

// dropFile puts a till file, old enough to be taken, into the stores'
// inbox.
func (le *leasedEnv) dropFile(name, content string) {
	le.t.Helper()
	inbox := filepath.Join(le.dir, "drops", "stores", "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		le.t.Fatal(err)
	}
	path := filepath.Join(inbox, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		le.t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		le.t.Fatal(err)
	}
}

// till is a till file of one receipt of card worth 100.00 EUR (5.00 EUR
// on an amount card).
func till(receipt, card string) string {
	return "store;till;receipt;line;at;card;gross;discount;spent\nS01;1;" + receipt + ";1;03/11/2026 09:00;" + card + ";100,00;0;0\n"
}

func (le *leasedEnv) waitEarned(program, customer string, want int64) {
	le.t.Helper()
	waitFor(le.t, customer+" to earn", func() bool {
		b, ok := le.balance(program, customer)
		return ok && b.Earned == want
	})
}

func logged(logs *observer.ObservedLogs, msg string) bool {
	return logs.FilterMessageSnippet(msg).Len() > 0
}

// TestLeaseStandbyTakesOverOnRelease: of two daemons on one ledger the
// first is active and runs the jobs, the second stands by; when the
// first stops it releases the lease and the second takes over at once,
// without waiting for the lease to run out, and runs the jobs.
func TestLeaseStandbyTakesOverOnRelease(t *testing.T) {
	le := newLeasedEnv(t, "daemon: {lease_ttl: 3s, retries: 0, backoff: 10ms, max_backoff: 10ms}\n"+stores)
	a, _ := le.daemon("a:1")
	b, blogs := le.daemon("b:2")
	le.dropFile("one.csv", till("1", "0420000001"))
	stopA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	resA := startRun(a, stopA, context.Background())
	first := le.holds("a:1")
	le.waitEarned("card", "card:0420000001", 500)

	stopB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	resB := startRun(b, stopB, context.Background())
	waitFor(t, "b to stand by", func() bool { return logged(blogs, "standby: another daemon is active") })
	le.dropFile("two.csv", till("2", "0420000002"))
	le.waitEarned("card", "card:0420000002", 500)
	if s := le.status("stores"); s.Holder != "a:1" {
		t.Fatalf("the stores job ran in %s while a was active", s.Holder)
	}

	before := le.lease()
	cancelA()
	if err := <-resA; err != nil {
		t.Fatalf("a stopped with %v", err)
	}
	second := le.holds("b:2")
	if second.Fence != first.Fence+1 {
		t.Fatalf("b took the lease with fence %d after a's %d", second.Fence, first.Fence)
	}
	if !second.AcquiredAt.Before(before.ExpiresAt) {
		t.Fatalf("b took the lease at %s, not before a's would have run out (%s): a did not release it", second.AcquiredAt, before.ExpiresAt)
	}
	le.dropFile("three.csv", till("3", "0420000003"))
	le.waitEarned("card", "card:0420000003", 500)
	waitFor(t, "b's run of stores to be stored", func() bool { return le.status("stores").Holder == "b:2" })
	cancelB()
	if err := <-resB; err != nil {
		t.Fatalf("b stopped with %v", err)
	}
	if info := le.lease(); info.Held() || info.Holder != "b:2" {
		t.Fatalf("after b stopped: %+v", info)
	}
}

// TestLeaseStandbyTakesOverOnExpiry: a daemon that died holding the lease
// never releases it; the standby takes over once it ran out by the
// database's clock (never before), and then runs the jobs.
func TestLeaseStandbyTakesOverOnExpiry(t *testing.T) {
	le := newLeasedEnv(t, "daemon: {lease_ttl: 1s, retries: 0, backoff: 10ms, max_backoff: 10ms}\n"+stores)
	dead, _, err := le.l.AcquireLease(context.Background(), LeaseName, "dead:1", time.Second)
	if err != nil || dead == nil {
		t.Fatalf("the dead daemon's lease: %v, %v", dead, err)
	}
	le.dropFile("one.csv", till("1", "0420000001"))
	b, blogs := le.daemon("b:2")
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := startRun(b, stop, context.Background())
	took := le.holds("b:2")
	if took.AcquiredAt.Before(dead.Info().ExpiresAt) || took.Fence != dead.Fence()+1 {
		t.Fatalf("b took the lease at %s (fence %d); the dead one's ran out at %s (fence %d)",
			took.AcquiredAt, took.Fence, dead.Info().ExpiresAt, dead.Fence())
	}
	t.Logf("taken over %s after the lease ran out (database clock)", took.AcquiredAt.Sub(dead.Info().ExpiresAt))
	if !logged(blogs, "standby: another daemon is active") {
		t.Fatal("b did not log that it stood by")
	}
	le.waitEarned("card", "card:0420000001", 500)
	cancel()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
}

// TestLeaseLostStopsJobs: an active daemon whose lease was taken over
// (it stalled, say) notices at its next renewal, stops every job at once
// and stands by. A job that ignores being stopped still writes nothing:
// the fence refuses its transaction. When the lease is free again the
// daemon takes it back with fresh jobs, and writes again.
func TestLeaseLostStopsJobs(t *testing.T) {
	le := newLeasedEnv(t, "daemon: {lease_ttl: 1s, retries: 0, backoff: 10ms, max_backoff: 10ms}\n"+stores)
	a, logs := le.daemon("a:1")
	// A job that ignores being stopped: it writes, with a context of its
	// own, once it is let go.
	entered, release, wrote := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	a.connectors = append(a.connectors, &job{name: "stall", kind: "connector", schedule: "@every 1h",
		run: func(_, _ context.Context) (outcome, error) {
			close(entered)
			<-release
			err := a.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
				for _, f := range []string{linkAnna, order("W1", "web:anna", 120)} {
					if err := le.eng.Apply(tx, *fact(t, f)); err != nil {
						return err
					}
				}
				return tx.SetCursor("stall", "1")
			})
			wrote <- err
			return outcome{}, err
		}})
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer func() {
		select {
		case <-release:
		default:
			close(release) // a failing test must not leave the job blocked
		}
	}()
	res := startRun(a, stop, context.Background())
	first := le.holds("a:1")
	<-entered

	le.steal("thief:9")
	waitFor(t, "a to notice the lost lease", func() bool { return logged(logs, "LEASE LOST") })
	close(release)
	if err := <-wrote; !errors.Is(err, ledger.ErrLeaseLost) || !strings.Contains(err.Error(), "taken over by thief:9") {
		t.Fatalf("the write of the job that ignored being stopped: %v", err)
	}
	waitFor(t, "a to stand by", func() bool { return logged(logs, "this daemon is a standby again") })
	if _, known := le.balance("shop", "web:anna"); known {
		t.Fatal("the stalled job's batch was written after the lease was lost")
	}
	if c := le.cursor("stall"); c != "" {
		t.Fatalf("the stalled job's cursor moved to %q after the lease was lost", c)
	}

	// The thief goes away; a takes the lease back with fresh jobs (the
	// stall job, added by hand, is not in the configuration).
	db, err := sql.Open("mysql", le.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE leases SET expires_at = 0 WHERE name = ?", LeaseName); err != nil {
		t.Fatal(err)
	}
	again := le.holds("a:1")
	if again.Fence != first.Fence+2 {
		t.Fatalf("fence %d after the thief's %d", again.Fence, first.Fence+1)
	}
	le.dropFile("one.csv", till("1", "0420000001"))
	le.waitEarned("card", "card:0420000001", 500)
	if n := logs.FilterMessageSnippet("took the ledger's lease").Len(); n != 2 {
		t.Fatalf("a took the lease %d times, want 2", n)
	}
	cancel()
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if c := le.cursor("stall"); c != "" {
		t.Fatalf("the stall job ran again after the jobs were rebuilt: cursor %q", c)
	}
}

// TestWithLease: sync --once holds the lease for its run: refused, naming
// the holder, while a live daemon holds it; run with the ledger fenced
// and the lease released after; stopped at once when the lease is lost.
// On a SQLite ledger it only runs the function.
func TestWithLease(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		d := newEnv(t, "").daemon()
		called := false
		want := errors.New("the run's own error")
		if err := d.WithLease(ctx, ctx, func(_, _ context.Context) error { called = true; return want }); err != want || !called {
			t.Fatalf("WithLease = %v, called %v", err, called)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		le := newLeasedEnv(t, "daemon: {lease_ttl: 1s, retries: 0, backoff: 10ms, max_backoff: 10ms}\n")
		d, _ := le.daemon("sync:1")
		other, _, err := le.l.AcquireLease(ctx, LeaseName, "daemon:2", time.Minute)
		if err != nil || other == nil {
			t.Fatalf("%v, %v", other, err)
		}
		called := false
		err = d.WithLease(ctx, ctx, func(_, _ context.Context) error { called = true; return nil })
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "daemon:2 holds the ledger's lease") || called {
			t.Fatalf("WithLease beside a live daemon: %v (fn called: %v)", err, called)
		}
		if err := other.Release(ctx); err != nil {
			t.Fatal(err)
		}

		err = d.WithLease(ctx, ctx, func(_, _ context.Context) error {
			if info := le.lease(); !info.Held() || info.Holder != "sync:1" {
				t.Errorf("during the run: %+v", info)
			}
			return d.ledger.Update(ctx, func(tx *ledger.Tx) error { return tx.SetCursor("sync", "done") })
		})
		if err != nil {
			t.Fatal(err)
		}
		if info := le.lease(); info.Held() {
			t.Fatalf("the lease is still held after the run: %+v", info)
		}
		if err := d.ledger.Update(ctx, func(tx *ledger.Tx) error { return tx.SetCursor("sync", "late") }); !errors.Is(err, ledger.ErrLeaseLost) {
			t.Fatalf("a write after the run: %v", err)
		}

		// The lease taken over during the run: the run is stopped.
		err = d.WithLease(ctx, ctx, func(stop, abort context.Context) error {
			le.steal("thief:9")
			<-abort.Done()
			<-stop.Done()
			return stop.Err()
		})
		if !errors.Is(err, ledger.ErrLeaseLost) || !strings.Contains(err.Error(), "thief:9") {
			t.Fatalf("WithLease when the lease is lost: %v", err)
		}
		if c := le.cursor("sync"); c != "done" {
			t.Fatalf("cursor %q", c)
		}
	})
}
