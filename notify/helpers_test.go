package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
)

const testSecret = "wh-s3cret-never-logged"

// clock runs at the pace of real time from a fixed instant, so backoffs
// pass; Add moves it.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	start time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t, start: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t.Add(time.Since(c.start))
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// received is one request the receiver accepted or refused.
type received struct {
	id, typ string
	body    map[string]any
	status  int
}

// receiver is a webhook receiver on 127.0.0.1: it checks the signature
// and the headers of every request, refuses the first fail requests with
// 500 (or all while down), and records the events it accepted by id.
type receiver struct {
	t   *testing.T
	url string

	mu       sync.Mutex
	fail     int
	down     bool
	requests []received
	accepted map[string]int
	bad      []string // what was wrong with requests
}

func newReceiver(t *testing.T, fail int) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, url: "http://" + ln.Addr().String() + "/hooks/pointsync", fail: fail, accepted: map[string]int{}}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	var ev map[string]any
	switch {
	case req.Method != http.MethodPost || req.URL.Path != "/hooks/pointsync":
		r.bad = append(r.bad, req.Method+" "+req.URL.Path)
	case !hmac.Equal([]byte(req.Header.Get(HeaderSignature)), []byte(want)):
		r.bad = append(r.bad, "signature "+req.Header.Get(HeaderSignature))
	case req.Header.Get("Content-Type") != "application/json":
		r.bad = append(r.bad, "content type "+req.Header.Get("Content-Type"))
	case json.Unmarshal(body, &ev) != nil:
		r.bad = append(r.bad, "body "+string(body))
	case ev["id"] != req.Header.Get(HeaderEventID) || ev["type"] != req.Header.Get(HeaderEvent):
		r.bad = append(r.bad, fmt.Sprintf("headers %s/%s for body %s", req.Header.Get(HeaderEventID), req.Header.Get(HeaderEvent), body))
	}
	rec := received{id: req.Header.Get(HeaderEventID), typ: req.Header.Get(HeaderEvent), body: ev, status: http.StatusOK}
	if r.down || r.fail > 0 {
		if r.fail > 0 {
			r.fail--
		}
		rec.status = http.StatusInternalServerError
		r.requests = append(r.requests, rec)
		http.Error(w, "try later", rec.status)
		return
	}
	r.requests = append(r.requests, rec)
	r.accepted[rec.id]++
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// distinct counts the events accepted, each once.
func (r *receiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.accepted)
}

func (r *receiver) snapshot() ([]received, map[string]int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	acc := map[string]int{}
	for k, v := range r.accepted {
		acc[k] = v
	}
	return append([]received(nil), r.requests...), acc, append([]string(nil), r.bad...)
}

// env is a configuration with notifications on, its SQLite ledger and a
// log that tests read.
type env struct {
	t     *testing.T
	cfg   *configs.Config
	l     *ledger.Ledger
	clock *clock
	logs  *observer.ObservedLogs
	log   *zap.Logger
	ctx   context.Context
	n     int
}

const programs = `programs:
  - id: shop
    expiry: {policy: days, days: 365}
    accrual: {mode: proportional, points: 1, every: "1.00"}
    catalogs:
      - id: spring
        valid_from: 2026-01-01
        valid_to: 2026-12-31
        prizes:
          - {id: bag, name: Bag, kind: article, points: 800}
          - {id: mug, name: Mug, kind: article, points: 500}
      - id: gold
        card_types: [GOLD]
        valid_from: 2026-01-01
        valid_to: 2026-12-31
        prizes:
          - {id: pen, name: Pen, kind: article, points: 100}
`

// newEnv parses a configuration posting to url with events, and opens its
// ledger.
func newEnv(t *testing.T, url string, events ...string) *env {
	t.Helper()
	dir := t.TempDir()
	name := filepath.Join(dir, "pointsync.yaml")
	text := "ledger: {path: ledger.db}\n" + programs + fmt.Sprintf(`notifications:
  events: [%s]
  expiring_days: 30
  webhook: {url: %q, secret: %q, timeout: 2s, backoff: 40ms, max_backoff: 200ms, poll: 20ms}
`, strings.Join(events, ", "), url, testSecret)
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("configuration:\n%s\n%v", text, err)
	}
	progs, err := cfg.RulesPrograms()
	if err != nil {
		t.Fatal(err)
	}
	var lp []ledger.Program
	for _, p := range progs {
		lp = append(lp, ledger.Program{ID: p.ID, Location: p.Location})
	}
	c := newClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	l, err := ledger.Open(context.Background(), ledger.Options{Path: cfg.Ledger.Path, Programs: lp, Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	core, logs := observer.New(zap.DebugLevel)
	return &env{t: t, cfg: cfg, l: l, clock: c, logs: logs, log: zap.New(core), ctx: context.Background()}
}

// notifier builds a Notifier on the environment and sets its hook.
func (e *env) notifier() *Notifier {
	e.t.Helper()
	n, err := New(Options{Config: e.cfg, Ledger: e.l, Logger: e.log, Clock: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.l.SetNotifier(n.Hook())
	e.l.OnCommit(n.Committed)
	return n
}

// quietNotifier is notifier without OnCommit: only the poll starts a
// delivery round.
func (e *env) quietNotifier() *Notifier {
	e.t.Helper()
	n, err := New(Options{Config: e.cfg, Ledger: e.l, Logger: e.log, Clock: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.l.SetNotifier(n.Hook())
	return n
}

func (e *env) key() string {
	e.n++
	return fmt.Sprint("k", e.n)
}

func (e *env) customer(id ledger.Ident) {
	e.t.Helper()
	if err := e.l.Update(e.ctx, func(tx *ledger.Tx) error { _, _, err := tx.EnsureCustomer(id); return err }); err != nil {
		e.t.Fatal(err)
	}
}

// credit posts points with an optional expiry and returns the movement.
func (e *env) credit(id ledger.Ident, points int64, expires *time.Time) int64 {
	e.t.Helper()
	var r ledger.Result
	err := e.l.Update(e.ctx, func(tx *ledger.Tx) (err error) {
		r, err = tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: "shop", Customer: id},
			Meta: ledger.Meta{Source: ledger.SourceERP, Key: e.key(), Reason: "accrual"}, Amount: points, Expires: expires})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Main()
}

// pending lists every undelivered event, due or not.
func (e *env) pending() []ledger.OutboxEntry {
	e.t.Helper()
	e.clock.Add(24 * time.Hour)
	defer e.clock.Add(-24 * time.Hour)
	es, err := e.l.DueEvents(e.ctx, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

// deliver runs n.Deliver until the returned stop is called.
func deliver(t *testing.T, n *Notifier) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Deliver(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Deliver returned %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
