package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/reconcile"
)

// Options are what a Daemon runs on.
type Options struct {
	Config *configs.Config
	Ledger *ledger.Ledger
	Engine *reconcile.Engine
	Logger *zap.Logger
	// Clock is the time; nil means time.Now.
	Clock func() time.Time
	// Holder names this process in job status and the lease; empty is
	// Holder().
	Holder string
	// OnJob, when set, is told of every job run: how long it took, the
	// rows it rejected and its error (metrics).
	OnJob func(name string, took time.Duration, rejected int64, err error)
	// Jobs are more scheduled jobs (the reservations' expiry, the scan
	// for expiring points), run like the housekeeping: only while this
	// daemon is active, with status, retries and metrics.
	Jobs []Job
	// Workers run while this daemon is active (the webhook delivery),
	// each until its context is done.
	Workers []func(ctx context.Context)
}

// Job is a scheduled job given to the daemon from outside.
type Job struct {
	Name     string
	Schedule string // cron expression or @every 1m
	// Run does one run and returns how many rows it handled.
	Run func(ctx context.Context) (rows int64, err error)
}

// Daemon runs the configured connectors and exports.
type Daemon struct {
	cfg        *configs.Config
	ledger     *ledger.Ledger
	log        *zap.Logger
	opts       Options // what New was given, to build the jobs again after a lost lease
	run        *runner
	connectors []*job
	exports    []*job
	afterSync  []*job // exports that also run when a sync changed balances
	house      *job
	extra      []*job // Options.Jobs
	closers    []connectors.Closer
	// holding is set while this daemon runs the jobs: always on a ledger
	// of its own (its lock file is taken before New), and on a shared
	// ledger while it holds the lease.
	holding atomic.Bool
}

// Holder names this process in job status, locks and leases:
// host:pid/tag. The tag, random per process, tells apart two processes
// with the same host name and pid (containers with host networking are
// all pid 1), which would otherwise both believe they hold one lease.
func Holder() string { return holder }

var holder = func() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var tag [3]byte
	_, _ = rand.Read(tag[:]) // crypto/rand does not fail on supported systems
	return fmt.Sprintf("%s:%d/%s", host, os.Getpid(), hex.EncodeToString(tag[:]))
}()

// build makes the jobs of the enabled connectors and exports; on error
// it closes what it opened.
func (d *Daemon) build(b builder) error {
	for _, cc := range b.cfg.Connectors {
		if cc.Disabled {
			continue
		}
		j, closer, err := b.connector(cc)
		if err != nil {
			d.Close()
			return fmt.Errorf("connector %s: %w", cc.Name, err)
		}
		if closer != nil {
			d.closers = append(d.closers, closer)
		}
		d.connectors = append(d.connectors, j)
	}
	for _, ec := range b.cfg.Exports {
		if ec.Disabled {
			continue
		}
		j, closer, err := b.export(ec)
		if err != nil {
			d.Close()
			return fmt.Errorf("export %s: %w", ec.Name, err)
		}
		if closer != nil {
			d.closers = append(d.closers, closer)
		}
		d.exports = append(d.exports, j)
		if ec.AfterSync {
			d.afterSync = append(d.afterSync, j)
		}
	}
	return nil
}

// New builds the connectors and exports of the configuration. Nothing
// runs until Run or Once.
func New(ctx context.Context, o Options) (*Daemon, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Holder == "" {
		o.Holder = Holder()
	}
	c := o.Config.Daemon
	d := &Daemon{
		cfg: o.Config, ledger: o.Ledger, log: o.Logger, opts: o,
		run: &runner{ledger: o.Ledger, log: o.Logger, clock: o.Clock, holder: o.Holder,
			retries: c.Retries, backoff: c.Backoff, maxWait: c.MaxBackoff, onJob: o.OnJob},
	}
	b := builder{cfg: o.Config, ledger: o.Ledger, engine: o.Engine, log: o.Logger, clock: o.Clock}
	if err := d.build(b); err != nil {
		return nil, err
	}
	d.house = b.housekeeping()
	for _, x := range o.Jobs {
		run := x.Run
		d.extra = append(d.extra, &job{name: x.Name, kind: "housekeeping", schedule: x.Schedule,
			run: func(stop, abort context.Context) (outcome, error) {
				n, err := run(abort)
				return outcome{Rows: n}, err
			}})
	}
	if err := d.loadStatus(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// loadStatus sets each job's status to what the ledger holds. Status
// survives restarts and failovers: counters and last success go on from
// what the previous process stored.
func (d *Daemon) loadStatus(ctx context.Context) error {
	stored, err := d.ledger.Jobs(ctx)
	if err != nil {
		return err
	}
	byName := map[string]ledger.Job{}
	for _, s := range stored {
		byName[s.Name] = s
	}
	for _, j := range d.jobs() {
		if s, ok := byName[j.name]; ok {
			s.Running = false // a crashed run is not running any more
			j.statMu.Lock()
			j.status = s
			j.statMu.Unlock()
		}
	}
	return nil
}

func (d *Daemon) jobs() []*job {
	out := append([]*job(nil), d.connectors...)
	out = append(out, d.house)
	out = append(out, d.extra...)
	return append(out, d.exports...)
}

// Close releases the connectors' resources.
func (d *Daemon) Close() error {
	var errs []error
	for _, c := range d.closers {
		errs = append(errs, c.Close())
	}
	d.closers = nil
	return errors.Join(errs...)
}

// Report is what one job did in Once.
type Report struct {
	Job      string
	Kind     string
	Rows     int64
	Rejected int64
	Err      error
}

// Once runs every connector until it has nothing more, then the
// housekeeping and every export, each once (`pointsync sync --once`). A
// failing job does not stop the others; the error says how many failed.
// On a ledger shared through a lease (MySQL), call it inside WithLease.
func (d *Daemon) Once(stop, abort context.Context) ([]Report, error) {
	var reports []Report
	failed := 0
	for _, j := range d.jobs() {
		if stop.Err() != nil {
			break
		}
		out, err := d.run.execute(stop, abort, j)
		if err != nil {
			failed++
		}
		reports = append(reports, Report{Job: j.name, Kind: j.kind, Rows: out.Rows, Rejected: out.Rejected, Err: err})
	}
	if failed > 0 {
		return reports, fmt.Errorf("%d job(s) failed; the others ran", failed)
	}
	return reports, stop.Err()
}

// Run schedules every job and runs until stop is done; then it lets the
// runs in flight finish their batch (abort cuts them short) and returns.
// On a ledger shared through a lease (MySQL) the daemon is active, running
// the jobs, only while it holds the lease, and a standby otherwise (see
// runLeased).
func (d *Daemon) Run(stop, abort context.Context) error {
	if Leased(d.ledger) {
		return d.runLeased(stop, abort)
	}
	d.holding.Store(true)
	defer d.holding.Store(false)
	return d.runJobs(stop, abort)
}

// Active reports whether this daemon runs the jobs now: on a ledger
// shared through a lease, whether it holds the lease (a standby is not
// active); on a ledger of its own, whether Run is running.
func (d *Daemon) Active() bool { return d.holding.Load() }

// runJobs is Run on a ledger this daemon has to itself.
func (d *Daemon) runJobs(stop, abort context.Context) error {
	c := cron.New(cron.WithLogger(cronLogger{d.log}), cron.WithChain(cron.Recover(cronLogger{d.log})))
	kick := make(chan struct{}, 1)
	// runAndKick runs a job and, when it changed balances, asks for the
	// after-sync exports.
	runAndKick := func(j *job) {
		out, err := d.run.execute(stop, abort, j)
		if err == nil && out.Changed {
			select {
			case kick <- struct{}{}:
			default: // a kick is already waiting
			}
		}
	}
	var wg sync.WaitGroup
	for _, j := range d.jobs() {
		sched, err := configs.ParseSchedule(j.schedule)
		if err != nil {
			return fmt.Errorf("job %s: schedule %q: %w", j.name, j.schedule, err)
		}
		id := c.Schedule(sched, cron.FuncJob(func() { runAndKick(j) }))
		j.nextRun = func() time.Time { return c.Entry(id).Next }
	}
	// Exports that follow syncs run when a connector changed balances,
	// at most one such round at a time.
	wg.Go(func() {
		for {
			select {
			case <-stop.Done():
				return
			case <-kick:
				for _, j := range d.afterSync {
					_, _ = d.run.follow(stop, abort, j) // logged and stored by the runner
				}
			}
		}
	})
	d.log.Info("pointsync running", zap.Int("connectors", len(d.connectors)), zap.Int("exports", len(d.exports)),
		zap.String("ledger", d.ledger.Backend()))
	c.Start()
	for _, w := range d.opts.Workers {
		wg.Go(func() { w(stop) })
	}
	// Every job runs once at start: an operator restarting the service
	// expects it to catch up now, not at the next tick.
	for _, j := range d.jobs() {
		wg.Go(func() { runAndKick(j) })
	}
	<-stop.Done()
	d.log.Info("stopping: letting the batches in flight finish (a second signal aborts them)")
	done := c.Stop()
	wg.Wait()
	<-done.Done()
	d.log.Info("pointsync stopped")
	return nil
}

// cronLogger sends cron's own messages (panics it recovered) to zap.
type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.Debug("cron: "+msg, zap.Any("details", kv))
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, zap.Error(err), zap.Any("details", kv))
}
