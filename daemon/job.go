package daemon

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/ledger"
)

// outcome is what one run of a job did.
type outcome struct {
	Rows     int64 // facts applied, rows written or pushed
	Rejected int64
	Changed  bool // balances may have changed: exports after a sync run
}

// job is one scheduled piece of work: a connector, an export, or the
// housekeeping. run does the work once; it must stop between batches when
// stop is done and abandon I/O when abort is done.
type job struct {
	name     string
	kind     string // "connector", "export", "housekeeping"
	schedule string
	run      func(stop, abort context.Context) (outcome, error)
	lag      func(ctx context.Context, now time.Time) (time.Duration, error) // nil: time since the last success
	probe    func(ctx context.Context) error                                 // check-config --connect; nil: nothing to check

	mu      sync.Mutex // held while the job runs: a run never overlaps another
	statMu  sync.Mutex
	status  ledger.Job
	nextRun func() time.Time // from the scheduler; nil when not scheduled
}

// runner runs jobs with retries, status and panic recovery.
type runner struct {
	ledger  *ledger.Ledger
	log     *zap.Logger
	clock   func() time.Time
	holder  string
	retries int
	backoff time.Duration
	maxWait time.Duration
	onJob   func(name string, took time.Duration, rejected int64, err error)
}

// errSkipped reports a run not started because the previous one is still
// going.
var errSkipped = errors.New("still running from the previous schedule")

// execute runs j once, retrying a failure with backoff. It reports
// errSkipped when j is already running, and stop's error without running
// j when stop is done.
func (r *runner) execute(stop, abort context.Context, j *job) (outcome, error) {
	// A run due after stop (a cron tick racing the shutdown) would do
	// nothing and be stored as a success over the job's real status.
	if err := stop.Err(); err != nil {
		return outcome{}, err
	}
	if !j.mu.TryLock() {
		r.log.Warn("job skipped: the previous run is still going", zap.String("job", j.name))
		return outcome{}, errSkipped
	}
	defer j.mu.Unlock()
	return r.locked(stop, abort, j)
}

// follow runs j once after the run in progress, if any, ends. An export
// that follows a sync must not be skipped: the run in progress may have
// read the balances before the sync changed them.
func (r *runner) follow(stop, abort context.Context, j *job) (outcome, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := stop.Err(); err != nil {
		return outcome{}, err
	}
	return r.locked(stop, abort, j)
}

// locked runs j, whose mu the caller holds.
func (r *runner) locked(stop, abort context.Context, j *job) (outcome, error) {
	start := r.clock()
	r.update(abort, j, func(s *ledger.Job) {
		s.Running, s.LastRun = true, start
	})
	var (
		out outcome
		err error
	)
	wait := r.backoff
retry:
	for attempt := 0; ; attempt++ {
		var o outcome
		o, err = r.once(stop, abort, j)
		// What a failed attempt applied is committed: the run did it.
		out.Rows += o.Rows
		out.Rejected += o.Rejected
		out.Changed = out.Changed || o.Changed
		if err == nil || attempt >= r.retries || stop.Err() != nil {
			break
		}
		r.log.Warn("job failed, retrying", zap.String("job", j.name), zap.Int("attempt", attempt+1),
			zap.Duration("wait", wait), zap.Error(err))
		select {
		case <-stop.Done():
			// Another attempt would find stop done and do nothing: the
			// run ends as the failure it is.
			break retry
		case <-time.After(wait):
		}
		wait = min(wait*2, r.maxWait)
	}
	end := r.clock()
	var lag time.Duration
	if j.lag != nil {
		l, lerr := j.lag(abort, end)
		if lerr == nil {
			lag = l
		}
	}
	r.update(abort, j, func(s *ledger.Job) {
		s.Running, s.Runs, s.Rows, s.Rejected = false, s.Runs+1, out.Rows, out.Rejected
		if err != nil {
			s.LastError, s.LastErrorAt, s.Failures = err.Error(), end, s.Failures+1
		} else {
			s.LastSuccess, s.Failures = end, 0
		}
		if j.lag != nil {
			s.Lag = lag
		} else if !s.LastSuccess.IsZero() {
			s.Lag = end.Sub(s.LastSuccess)
		}
	})
	if r.onJob != nil {
		r.onJob(j.name, end.Sub(start), out.Rejected, err)
	}
	fields := []zap.Field{zap.String("job", j.name), zap.Int64("rows", out.Rows), zap.Int64("rejected", out.Rejected), zap.Duration("took", end.Sub(start))}
	switch {
	case err != nil:
		r.log.Error("job failed", append(fields, zap.Error(err))...)
	case out.Rows > 0 || out.Rejected > 0:
		r.log.Info("job done", fields...)
	default:
		r.log.Debug("job done", fields...)
	}
	return out, err
}

// once runs the job a single time; a panic becomes its error so one bad
// connector cannot take the daemon down.
func (r *runner) once(stop, abort context.Context, j *job) (out outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("job panicked", zap.String("job", j.name), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return j.run(stop, abort)
}

// rollbackOnPanic turns a panic inside a transaction into its error, so
// ledger.Update rolls the transaction back. A panic escaping Update
// leaves the transaction open: on SQLite its write lock stays taken and
// every later write of the daemon fails, so the recover in once alone
// would keep the process up but stop all its work.
func rollbackOnPanic(log *zap.Logger, name string, fn func(*ledger.Tx) error) func(*ledger.Tx) error {
	return func(tx *ledger.Tx) (err error) {
		defer func() {
			if p := recover(); p != nil {
				log.Error("job panicked inside a transaction; rolled back", zap.String("job", name), zap.Any("panic", p),
					zap.ByteString("stack", debug.Stack()))
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return fn(tx)
	}
}

// update changes the job's status and stores it. A status that cannot be
// stored is logged, not fatal: the work itself is in the ledger.
func (r *runner) update(ctx context.Context, j *job, fn func(*ledger.Job)) {
	j.statMu.Lock()
	defer j.statMu.Unlock()
	j.status.Name, j.status.Holder = j.name, r.holder
	fn(&j.status)
	if j.nextRun != nil {
		j.status.NextRun = j.nextRun()
	}
	s := j.status
	if err := r.ledger.SaveJob(context.WithoutCancel(ctx), s); err != nil {
		r.log.Warn("cannot store the job status", zap.String("job", j.name), zap.Error(err))
	}
}
