package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/mapping"
	"github.com/pointsync/pointsync/reconcile"
)

// programs are the two programs every test configuration has: shop
// posts a web order's points when it is paid (1 point per whole euro),
// card is an amount card (5 cents per euro, for a year) whose cards
// become customers.
const programs = `programs:
  - id: shop
    confirm_on: paid
    accrual: {base: value, mode: steps, points: 1, every: "1.00"}
  - id: card
    unit: amount
    expiry: {policy: days, days: 365}
    create_card_customers: true
    accrual: {mode: proportional, points: 5, every: "1.00"}
`

// env is a configuration read by configs.Parse, its SQLite ledger and its
// engine, in a folder of the test.
type env struct {
	t   *testing.T
	dir string
	cfg *configs.Config
	l   *ledger.Ledger
	eng *reconcile.Engine
	log *zap.Logger
}

// newEnv parses the ledger section, the programs and extra (daemon,
// connectors, exports) as one configuration file.
func newEnv(t *testing.T, extra string) *env {
	t.Helper()
	dir := t.TempDir()
	name := filepath.Join(dir, "pointsync.yaml")
	text := "ledger: {path: ledger.db, busy_timeout: 2s}\n" + programs + extra
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("configuration:\n%s\n%v", text, err)
	}
	eng, err := Engine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	progs, err := cfg.RulesPrograms()
	if err != nil {
		t.Fatal(err)
	}
	var lp []ledger.Program
	for _, p := range progs {
		lp = append(lp, ledger.Program{ID: p.ID, Location: p.Location})
	}
	l, err := ledger.Open(context.Background(), ledger.Options{Path: cfg.Ledger.Path, BusyTimeout: cfg.Ledger.BusyTimeout, Programs: lp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &env{t: t, dir: dir, cfg: cfg, l: l, eng: eng, log: zap.NewNop()}
}

// daemon builds a Daemon of the configuration, closed at the end of the
// test.
func (e *env) daemon() *Daemon {
	e.t.Helper()
	d, err := New(context.Background(), Options{Config: e.cfg, Ledger: e.l, Engine: e.eng, Logger: e.log})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { d.Close() })
	return d
}

// addSource adds a connector job reading src, as build.go makes one for
// a configured connector, ahead of the housekeeping and the exports.
func (e *env) addSource(d *Daemon, name string, src connectors.Source) *job {
	j, _ := e.addSourceJob(d, name, src)
	return j
}

// addSourceJob is addSource, returning the connector's sourceJob too.
func (e *env) addSourceJob(d *Daemon, name string, src connectors.Source) (*job, *sourceJob) {
	sj := &sourceJob{name: name, src: src, ledger: e.l, engine: e.eng, batch: e.cfg.Daemon.BatchSize, log: d.log}
	j := &job{name: name, kind: "connector", schedule: "@every 1h", run: sj.run}
	d.connectors = append(d.connectors, j)
	return j, sj
}

// once runs every job once and returns the reports by job name.
func once(t *testing.T, d *Daemon) (map[string]Report, error) {
	t.Helper()
	reports, err := d.Once(context.Background(), context.Background())
	byName := map[string]Report{}
	for _, r := range reports {
		byName[r.Job] = r
	}
	return byName, err
}

// status reads the stored status of a job.
func (e *env) status(name string) ledger.Job {
	e.t.Helper()
	jobs, err := e.l.Jobs(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Name == name {
			return j
		}
	}
	e.t.Fatalf("no stored status for job %s among %v", name, jobs)
	return ledger.Job{}
}

func (e *env) cursor(source string) string {
	e.t.Helper()
	c, err := e.l.Cursor(context.Background(), source)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// balance is the balance of a customer; known is false when the ledger
// does not know the customer.
func (e *env) balance(program, customer string) (b ledger.Balance, known bool) {
	e.t.Helper()
	b, err := e.l.Balance(context.Background(), ledger.Account{Program: program, Customer: ledger.Ident(customer)}, time.Time{})
	if errors.Is(err, ledger.ErrUnknownCustomer) {
		return b, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return b, true
}

// earned is the posted points of a customer, failing when it is unknown.
func (e *env) earned(program, customer string) int64 {
	e.t.Helper()
	b, ok := e.balance(program, customer)
	if !ok {
		e.t.Fatalf("customer %s is not in the ledger", customer)
	}
	return b.Earned
}

// apply applies facts outside any connector, as a facts file would.
func (e *env) apply(facts ...string) {
	e.t.Helper()
	err := e.l.Update(context.Background(), func(tx *ledger.Tx) error {
		for _, f := range facts {
			if err := e.eng.Apply(tx, *fact(e.t, f)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// fact reads a fact in its JSON form (README "Facts files").
func fact(t *testing.T, text string) *mapping.Fact {
	t.Helper()
	var f mapping.Fact
	if err := json.Unmarshal([]byte(text), &f); err != nil {
		t.Fatalf("fact %s: %v", text, err)
	}
	return &f
}

// items makes batch items of facts, numbered as lines of "test".
func items(t *testing.T, facts ...string) []mapping.Item {
	t.Helper()
	out := make([]mapping.Item, len(facts))
	for i, f := range facts {
		out[i] = mapping.Item{Fact: fact(t, f), Seq: int64(i + 1), Origin: "test", Line: i + 1}
	}
	return out
}

// Facts of the tests. The shop earns 1 point per whole euro of a paid
// order.
const (
	linkAnna = `{"type":"link","known":"web:anna","other":"web:anna"}`
	linkBea  = `{"type":"link","known":"web:bea","other":"web:bea"}`
)

// order is a paid web order of the shop worth euros.
func order(id, customer string, euros int) string {
	o := map[string]any{"type": "web_order", "program": "shop", "order": map[string]any{
		"id": id, "customer": customer, "placed_at": "2026-11-02T09:00:00+01:00", "status": "paid",
		"status_at": "2026-11-02T09:30:00+01:00", "lines": []any{map[string]any{"product": "A", "quantity": 1000, "gross": euros * 100}},
	}}
	b, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// fetchFunc is a Source made of a function.
type fetchFunc func(ctx context.Context, after connectors.Cursor, limit int) (connectors.Batch, error)

func (f fetchFunc) Fetch(ctx context.Context, after connectors.Cursor, limit int) (connectors.Batch, error) {
	return f(ctx, after, limit)
}

// pages is a stateless Source: the batch for a cursor is always the same,
// and a cursor it has no page for is the end.
func pages(p map[connectors.Cursor]connectors.Batch) fetchFunc {
	return func(_ context.Context, after connectors.Cursor, _ int) (connectors.Batch, error) {
		if b, ok := p[after]; ok {
			return b, nil
		}
		return connectors.Batch{Next: after}, nil
	}
}

// waitFor polls cond until it holds or five seconds passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
