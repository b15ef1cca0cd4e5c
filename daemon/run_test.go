package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/connectors"
)

// gate is a source whose first Fetch waits to be released, so a test
// can stop the daemon while a batch is in flight.
type gate struct {
	entered chan struct{} // closed when the first Fetch began
	release chan struct{} // close to let it return its batch
	ctxErr  chan error    // what the first Fetch saw when its ctx ended
	batch   connectors.Batch
}

func newGate(b connectors.Batch) *gate {
	return &gate{entered: make(chan struct{}), release: make(chan struct{}), ctxErr: make(chan error, 1), batch: b}
}

func (g *gate) Fetch(ctx context.Context, after connectors.Cursor, _ int) (connectors.Batch, error) {
	if after != "" {
		return connectors.Batch{Next: after}, nil
	}
	close(g.entered)
	select {
	case <-g.release:
		return g.batch, nil
	case <-ctx.Done():
		g.ctxErr <- ctx.Err()
		return connectors.Batch{}, ctx.Err()
	}
}

// startRun runs d.Run in a goroutine; the channel gets its result.
func startRun(d *Daemon, stop, abort context.Context) <-chan error {
	res := make(chan error, 1)
	go func() { res <- d.Run(stop, abort) }()
	return res
}

// TestRunStopLetsTheBatchFinish: the first signal (stop) lets the batch
// in flight commit with its cursor; Run returns after it, not before.
func TestRunStopLetsTheBatchFinish(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	g := newGate(connectors.Batch{Items: items(t, linkAnna, order("W1", "web:anna", 120)), Next: "1", More: true})
	e.addSource(d, "shop", g)
	stop, cancelStop := context.WithCancel(context.Background())
	defer cancelStop()
	res := startRun(d, stop, context.Background())
	<-g.entered
	cancelStop()
	select {
	case err := <-res:
		t.Fatalf("Run returned (%v) with a batch in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(g.release)
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the batch in flight finished")
	}
	if got := e.earned("shop", "web:anna"); got != 120 {
		t.Fatalf("anna earned %d: the batch in flight must commit", got)
	}
	if c := e.cursor("shop"); c != "1" {
		t.Fatalf("cursor %q: the batch's cursor commits with it (and More is not followed after stop)", c)
	}
	if s := e.status("shop"); s.Running || s.Runs != 1 || s.Failures != 0 || s.NextRun.IsZero() {
		t.Fatalf("status %+v", s)
	}
}

// TestRunAbortCutsTheFetch: the second signal (abort) cancels the I/O in
// flight: Fetch's context ends at once, nothing is applied and Run
// returns.
func TestRunAbortCutsTheFetch(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 3, backoff: 1m, max_backoff: 1m}\n")
	d := e.daemon()
	g := newGate(connectors.Batch{Items: items(t, linkAnna), Next: "1"})
	e.addSource(d, "shop", g)
	stop, cancelStop := context.WithCancel(context.Background())
	abort, cancelAbort := context.WithCancel(context.Background())
	defer cancelAbort()
	res := startRun(d, stop, abort)
	<-g.entered
	cancelStop()
	cancelAbort()
	select {
	case err := <-g.ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch saw %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("abort did not reach Fetch's context")
	}
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after abort")
	}
	if _, ok := e.balance("shop", "web:anna"); ok {
		t.Fatal("an aborted fetch applied its batch")
	}
	if c := e.cursor("shop"); c != "" {
		t.Fatalf("cursor %q", c)
	}
	if s := e.status("shop"); s.Running || s.Failures != 1 || !strings.Contains(s.LastError, "context canceled") {
		t.Fatalf("status %+v: an aborted run is a failure, not retried", s)
	}
}

// TestRunExportsAfterSync: a connector batch that changed balances runs
// the after_sync exports at once, besides their schedule; when the export
// is running at that moment, it runs again after, since the run in
// progress may have read the balances before the change.
func TestRunExportsAfterSync(t *testing.T) {
	e := newEnv(t, `daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}
exports:
  - name: tills
    kind: till_files
    program: card
    schedule: "@every 1h"
    path: out/balances.csv
`)
	d := e.daemon()
	g := newGate(connectors.Batch{Items: items(t, receipt("77", "0420001234", 100)), Next: "1"})
	e.addSource(d, "stores", g)
	tills := d.exports[0]
	stop, cancelStop := context.WithCancel(context.Background())
	defer cancelStop()
	res := startRun(d, stop, context.Background())
	path := filepath.Join(e.dir, "out", "balances.csv")
	<-g.entered
	// Every job runs once at start: the export writes the file without
	// the card. Then the test holds the export as if a run were in
	// progress while the sync commits.
	waitFor(t, "the first export", func() bool {
		if _, err := os.Stat(path); err != nil {
			return false
		}
		return tills.mu.TryLock()
	})
	close(g.release)
	waitFor(t, "the sync", func() bool { return e.status("stores").Runs == 1 })
	time.Sleep(50 * time.Millisecond) // the kick arrives while the export "runs"
	if b, err := os.ReadFile(path); err != nil || strings.Contains(string(b), "card:0420001234") {
		t.Fatalf("till file %q %v before the after-sync run", b, err)
	}
	tills.mu.Unlock()
	waitFor(t, "the export after the sync", func() bool {
		b, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(b), "card:0420001234")
	})
	cancelStop()
	select {
	case err := <-res:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if s := e.status("tills"); s.Runs != 2 {
		t.Fatalf("tills status %+v: want the start run and the after-sync run", s)
	}
}

// TestRunRefusesABadSchedule: a schedule that does not parse stops Run
// before anything runs, naming the job.
func TestRunRefusesABadSchedule(t *testing.T) {
	e := newEnv(t, "")
	d := e.daemon()
	j := e.addSource(d, "shop", pages(nil))
	j.schedule = "every now and then"
	err := d.Run(context.Background(), context.Background())
	if err == nil || !strings.Contains(err.Error(), `job shop: schedule "every now and then"`) {
		t.Fatalf("Run: %v", err)
	}
}
