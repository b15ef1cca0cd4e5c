package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pointsync/pointsync/connectors"
)

// TestRetryWithBackoff: a source failing twice then succeeding is tried
// three times in one run, waiting the backoff and then twice it (capped
// at max_backoff), and the run counts as one success.
func TestRetryWithBackoff(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 2, backoff: 20ms, max_backoff: 30ms}\n")
	d := e.daemon()
	var calls []time.Time
	e.addSource(d, "flaky", fetchFunc(func(_ context.Context, after connectors.Cursor, _ int) (connectors.Batch, error) {
		calls = append(calls, time.Now())
		if len(calls) <= 2 {
			return connectors.Batch{}, fmt.Errorf("shop down (call %d)", len(calls))
		}
		if after == "" {
			return connectors.Batch{Items: items(t, linkAnna), Next: "1"}, nil
		}
		return connectors.Batch{Next: after}, nil
	}))
	reports, err := once(t, d)
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if len(calls) != 3 {
		t.Fatalf("%d calls to Fetch, want 3", len(calls))
	}
	if gap := calls[1].Sub(calls[0]); gap < 20*time.Millisecond {
		t.Errorf("first retry after %v, want the backoff 20ms", gap)
	}
	if gap := calls[2].Sub(calls[1]); gap < 30*time.Millisecond {
		t.Errorf("second retry after %v, want twice the backoff capped at 30ms", gap)
	}
	if r := reports["flaky"]; r.Err != nil || r.Rows != 1 {
		t.Fatalf("report %+v", r)
	}
	s := e.status("flaky")
	if s.Runs != 1 || s.Failures != 0 || s.LastSuccess.IsZero() || s.LastError != "" || s.Running || s.Rows != 1 {
		t.Fatalf("status %+v", s)
	}
}

// TestFailureIsolationAndStatus: a source that always fails is retried,
// counted and reported, while the job after it in the same Once still
// runs; its status keeps the last error after it recovers.
func TestFailureIsolationAndStatus(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 1, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	var down atomic.Bool
	down.Store(true)
	var attempts atomic.Int64
	e.addSource(d, "down", fetchFunc(func(_ context.Context, after connectors.Cursor, _ int) (connectors.Batch, error) {
		attempts.Add(1)
		if down.Load() {
			return connectors.Batch{}, errors.New("connection refused by shop.example.com")
		}
		return connectors.Batch{Next: after}, nil
	}))
	e.addSource(d, "ok", pages(map[connectors.Cursor]connectors.Batch{"": {Items: items(t, linkAnna), Next: "1"}}))

	for run := int64(1); run <= 2; run++ {
		reports, err := once(t, d)
		if err == nil || err.Error() != "1 job(s) failed; the others ran" {
			t.Fatalf("run %d: Once error %v", run, err)
		}
		if r := reports["down"]; r.Err == nil || !strings.Contains(r.Err.Error(), "connection refused") {
			t.Fatalf("run %d: down report %+v", run, r)
		}
		if r := reports["ok"]; r.Err != nil {
			t.Fatalf("run %d: the job after the failing one: %+v", run, r)
		}
		if _, ok := reports["housekeeping"]; !ok {
			t.Fatalf("run %d: housekeeping did not run: %v", run, reports)
		}
		if got := attempts.Load(); got != 2*run {
			t.Fatalf("run %d: %d attempts, want %d (retries: 1)", run, got, 2*run)
		}
		s := e.status("down")
		if s.Runs != run || s.Failures != run || !strings.Contains(s.LastError, "connection refused") || s.LastErrorAt.IsZero() ||
			!s.LastSuccess.IsZero() || s.Running {
			t.Fatalf("run %d: status %+v", run, s)
		}
	}
	if _, ok := e.balance("shop", "web:anna"); !ok {
		t.Fatal("the healthy source beside the failing one applied nothing")
	}

	down.Store(false)
	if _, err := once(t, d); err != nil {
		t.Fatalf("Once after recovery: %v", err)
	}
	s := e.status("down")
	if s.Runs != 3 || s.Failures != 0 || s.LastSuccess.IsZero() || !strings.Contains(s.LastError, "connection refused") {
		t.Fatalf("status after recovery %+v: want failures reset and the last error kept", s)
	}
}

// TestPanicIsAFailure: a connector that panics fails its run with the
// panic's message; the others run and the job runs again next time.
func TestPanicIsAFailure(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	var calls atomic.Int64
	e.addSource(d, "crashy", fetchFunc(func(context.Context, connectors.Cursor, int) (connectors.Batch, error) {
		calls.Add(1)
		panic("unexpected response from the shop")
	}))
	e.addSource(d, "ok", pages(map[connectors.Cursor]connectors.Batch{"": {Items: items(t, linkAnna), Next: "1"}}))
	for run := range 2 {
		reports, err := once(t, d)
		if err == nil || !strings.Contains(err.Error(), "1 job(s) failed") {
			t.Fatalf("run %d: Once error %v", run, err)
		}
		if r := reports["crashy"]; r.Err == nil || !strings.HasPrefix(r.Err.Error(), "panic: ") ||
			!strings.Contains(r.Err.Error(), "unexpected response from the shop") {
			t.Fatalf("run %d: report %+v", run, r)
		}
		if r := reports["ok"]; r.Err != nil {
			t.Fatalf("run %d: ok report %+v", run, r)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("the panicking job ran %d times, want 2: a panic must not leave it locked", calls.Load())
	}
	if s := e.status("crashy"); s.Failures != 2 || !strings.Contains(s.LastError, "panic") {
		t.Fatalf("status %+v", s)
	}
}

// TestPanicInsideTransaction: a panic while the batch's transaction is
// open (here in the engine, nil for the purpose) rolls the transaction
// back; the ledger stays writable for the next job and the next run.
func TestPanicInsideTransaction(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	src := pages(map[connectors.Cursor]connectors.Batch{"": {Items: items(t, linkAnna, order("W1", "web:anna", 120)), Next: "1"}})
	bad := &sourceJob{name: "bad-engine", src: src, ledger: e.l, engine: nil, batch: 10, log: d.log}
	d.connectors = append(d.connectors, &job{name: "bad-engine", kind: "connector", schedule: "@every 1h", run: bad.run})
	e.addSource(d, "ok", pages(map[connectors.Cursor]connectors.Batch{"": {Items: items(t, linkBea), Next: "1"}}))

	start := time.Now()
	reports, err := once(t, d)
	if err == nil || !strings.Contains(reports["bad-engine"].Err.Error(), "panic") {
		t.Fatalf("Once: %v, %+v", err, reports["bad-engine"])
	}
	if r := reports["ok"]; r.Err != nil || r.Rows != 1 {
		t.Fatalf("the job after the panic: %+v (took %v)", r, time.Since(start))
	}
	if _, ok := e.balance("shop", "web:anna"); ok {
		t.Fatal("the link before the panic was committed: the batch must roll back whole")
	}
	if c := e.cursor("bad-engine"); c != "" {
		t.Fatalf("cursor moved to %q", c)
	}
	// The same batch through a working engine applies.
	bad.engine = e.eng
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	if got := e.earned("shop", "web:anna"); got != 120 {
		t.Fatalf("anna earned %d, want 120", got)
	}
}

// TestSkipWhileRunning: a job is never run twice at once; the second
// execute reports errSkipped without waiting and without counting a run.
func TestSkipWhileRunning(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	entered, release := make(chan struct{}), make(chan struct{})
	j := e.addSource(d, "slow", fetchFunc(func(ctx context.Context, after connectors.Cursor, _ int) (connectors.Batch, error) {
		if after != "" {
			return connectors.Batch{Next: after}, nil
		}
		close(entered)
		<-release
		return connectors.Batch{Items: items(t, linkAnna), Next: "1"}, nil
	}))
	ctx := context.Background()
	var wg sync.WaitGroup
	var firstErr error
	wg.Go(func() { _, firstErr = d.run.execute(ctx, ctx, j) })
	<-entered
	begun := time.Now()
	if _, err := d.run.execute(ctx, ctx, j); !errors.Is(err, errSkipped) {
		t.Fatalf("second execute: %v, want errSkipped", err)
	}
	if took := time.Since(begun); took > time.Second {
		t.Fatalf("the skipped execute waited %v", took)
	}
	if s := e.status("slow"); !s.Running || s.Runs != 0 {
		t.Fatalf("status while running %+v", s)
	}
	close(release)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	if s := e.status("slow"); s.Running || s.Runs != 1 {
		t.Fatalf("status after %+v: the skip must not count as a run", s)
	}
}

// TestStopDuringBackoffKeepsTheFailure: stopping while a failed run waits
// to retry ends the run at once, as the failure it is; it must not turn
// into a success because the retry found stop done and did nothing.
func TestStopDuringBackoffKeepsTheFailure(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 5, backoff: 1m, max_backoff: 1m}\n")
	core, logs := observer.New(zap.DebugLevel)
	e.log = zap.New(core)
	d := e.daemon()
	var attempts atomic.Int64
	e.addSource(d, "down", fetchFunc(func(context.Context, connectors.Cursor, int) (connectors.Batch, error) {
		attempts.Add(1)
		return connectors.Batch{}, errors.New("shop down")
	}))
	stop, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var reports []Report
	go func() {
		defer close(done)
		reports, _ = d.Once(stop, context.Background())
	}()
	// The warning is logged after the run looked at stop and before it
	// waits: stop comes during the wait.
	waitFor(t, "the first retry to wait", func() bool { return logs.FilterMessage("job failed, retrying").Len() > 0 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Once did not return when stopped during the backoff")
	}
	if len(reports) == 0 || reports[0].Job != "down" || reports[0].Err == nil || !strings.Contains(reports[0].Err.Error(), "shop down") {
		t.Fatalf("reports %+v: want the failure of down", reports)
	}
	if attempts.Load() != 1 {
		t.Fatalf("%d attempts after stop", attempts.Load())
	}
	if s := e.status("down"); s.Failures != 1 || !s.LastSuccess.IsZero() || s.LastError == "" {
		t.Fatalf("status %+v: a stopped failing run is a failure", s)
	}
}

// TestRetryCountsWhatEveryAttemptDid: the facts a failed attempt applied
// before failing are committed; the run reports them with the retry's.
func TestRetryCountsWhatEveryAttemptDid(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 1, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	var failedOnce atomic.Bool
	e.addSource(d, "two-pages", fetchFunc(func(_ context.Context, after connectors.Cursor, _ int) (connectors.Batch, error) {
		switch after {
		case "":
			return connectors.Batch{Items: items(t, linkAnna), Next: "1", More: true}, nil
		case "1":
			if failedOnce.CompareAndSwap(false, true) {
				return connectors.Batch{}, errors.New("timeout reading page 2")
			}
			return connectors.Batch{Items: items(t, linkBea), Next: "2"}, nil
		}
		return connectors.Batch{Next: after}, nil
	}))
	reports, err := once(t, d)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports["two-pages"]; r.Rows != 2 {
		t.Fatalf("report %+v: want the 2 facts of both attempts", r)
	}
	if s := e.status("two-pages"); s.Rows != 2 || s.Failures != 0 {
		t.Fatalf("status %+v", s)
	}
}

// TestExecuteAfterStop: a run due after stop (a cron tick racing the
// shutdown) does nothing and stores nothing: it must not record an empty
// success over a failing job's status.
func TestExecuteAfterStop(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	var calls atomic.Int64
	j := e.addSource(d, "down", fetchFunc(func(context.Context, connectors.Cursor, int) (connectors.Batch, error) {
		calls.Add(1)
		return connectors.Batch{}, errors.New("shop down")
	}))
	if _, err := once(t, d); err == nil {
		t.Fatal("Once succeeded")
	}
	stop, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.run.execute(stop, context.Background(), j); !errors.Is(err, context.Canceled) {
		t.Fatalf("execute after stop: %v", err)
	}
	if s := e.status("down"); calls.Load() != 1 || s.Runs != 1 || s.Failures != 1 || !s.LastSuccess.IsZero() {
		t.Fatalf("%d calls, status %+v", calls.Load(), s)
	}
}

// TestStatusSurvivesRestart: a new Daemon on the same ledger goes on
// from the stored counters, and a job stored as running by a process
// that died is not running.
func TestStatusSurvivesRestart(t *testing.T) {
	e := newEnv(t, `daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}
connectors:
  - name: shop-api
    kind: http_pull
    program: shop
    http: {url: "http://127.0.0.1:1/facts", retries: 0, timeout: 2s}
`)
	d := e.daemon()
	if _, err := once(t, d); err == nil {
		t.Fatal("a connector to a closed port succeeded")
	}
	s := e.status("shop-api")
	if s.Runs != 1 || s.Failures != 1 || s.LastError == "" {
		t.Fatalf("status %+v", s)
	}
	// The process dies in the middle of the next run.
	s.Running = true
	if err := e.l.SaveJob(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	d2 := e.daemon()
	for _, j := range d2.jobs() {
		if j.name == "shop-api" && (j.status.Running || j.status.Runs != 1 || j.status.Failures != 1) {
			t.Fatalf("restored status %+v", j.status)
		}
	}
	if _, err := once(t, d2); err == nil {
		t.Fatal("Once succeeded")
	}
	s = e.status("shop-api")
	if s.Runs != 2 || s.Failures != 2 || s.Running || s.Holder != Holder() {
		t.Fatalf("status after the restart %+v: want the counters to go on", s)
	}
	if h := e.status("housekeeping"); h.Runs != 2 || h.Failures != 0 {
		t.Fatalf("housekeeping status %+v", h)
	}
}
