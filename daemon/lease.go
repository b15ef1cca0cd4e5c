package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/ledger"
)

// LeaseName is the lease the daemons sharing a ledger compete for.
const LeaseName = "daemon"

// Leased reports whether daemons share l through a lease in the database
// (MySQL) rather than keep each other off with a lock file (SQLite).
func Leased(l *ledger.Ledger) bool { return l.Backend() == ledger.BackendMySQL }

// leaseTTL is daemon.lease_ttl, refused when it cannot drive the
// renewals (the configuration's validation keeps it within 1s and 1h).
func (d *Daemon) leaseTTL() (time.Duration, error) {
	ttl := d.cfg.Daemon.LeaseTTL
	if ttl < 3*time.Millisecond {
		return 0, fmt.Errorf("daemon.lease_ttl is %s: too short to be renewed every third of it; use e.g. 15s", ttl)
	}
	return ttl, nil
}

// runLeased is Run on a ledger shared through a lease. The daemon is a
// standby until it takes the lease, then active: it fences the ledger
// with the lease, runs the jobs as on a ledger of its own and renews the
// lease every third of daemon.lease_ttl. When the lease is lost (taken
// over after this daemon stalled, or not renewed before it would run
// out), every job is stopped at once, its transactions in flight fail on
// the fence, and the daemon is a standby again; when it becomes active
// once more its jobs are built afresh, since another daemon ran them
// meanwhile. When stop is done the batches in flight commit, as on a
// ledger of its own, and then the lease is released, so a standby takes
// over at once instead of when it runs out.
func (d *Daemon) runLeased(stop, abort context.Context) error {
	ttl, err := d.leaseTTL()
	if err != nil {
		return err
	}
	for activation := 0; ; activation++ {
		lease := d.standby(stop, ttl)
		if lease == nil {
			d.log.Info("pointsync stopped (standby)")
			return nil
		}
		d.ledger.SetFence(lease)
		d.log.Info("took the ledger's lease: this daemon is active", zap.Int64("fence", lease.Fence()),
			zap.Duration("lease_ttl", ttl), zap.Time("expires", lease.Info().ExpiresAt))
		// Another daemon may have run the jobs since they were built or
		// last ran here: their status, and what a connector keeps in
		// memory (the file it was reading), are out of date.
		if activation == 0 {
			err = d.loadStatus(stop)
		} else {
			err = d.rebuild(stop)
		}
		if err != nil {
			d.release(stop, lease)
			if stop.Err() != nil {
				return nil // stopped while the jobs were being made ready
			}
			return fmt.Errorf("after taking the ledger's lease: %w", err)
		}
		d.holding.Store(true)
		runErr, lost := hold(stop, abort, lease, d.log, d.runJobs)
		d.holding.Store(false)
		if lost == nil {
			d.release(stop, lease)
			return runErr
		}
		if runErr != nil {
			return runErr
		}
		d.log.Warn("every job stopped after the lease was lost: this daemon is a standby again")
	}
}

// standby tries to take the lease every third of ttl until it has it, or
// stop is done (nil). It tries again as soon as the holder's lease would
// run out, by the database's clock, so a standby takes over within about
// ttl of the active daemon's death. Who holds the lease is logged at
// info when it changes, at debug otherwise.
func (d *Daemon) standby(stop context.Context, ttl time.Duration) *ledger.Lease {
	every := ttl / 3
	var seen ledger.LeaseInfo
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-stop.Done():
			return nil
		case <-timer.C:
		}
		lease, info, err := d.ledger.AcquireLease(stop, LeaseName, d.run.holder, ttl)
		wait := every
		switch {
		case lease != nil:
			return lease
		case stop.Err() != nil:
			return nil
		case err != nil:
			d.log.Warn("standby: cannot try to take the ledger's lease; trying again", zap.Duration("in", every), zap.Error(err))
		default:
			fields := []zap.Field{zap.String("holder", info.Holder), zap.Int64("fence", info.Fence),
				zap.Time("expires", info.ExpiresAt), zap.Duration("remaining", info.Remaining())}
			if info.Holder != seen.Holder || info.Fence != seen.Fence {
				d.log.Info("standby: another daemon is active on this ledger", fields...)
				seen = info
			} else {
				d.log.Debug("standby: another daemon is active on this ledger", fields...)
			}
			wait = min(every, info.Remaining()+10*time.Millisecond)
		}
		timer.Reset(wait)
	}
}

// rebuild replaces the jobs with ones built afresh from the
// configuration, with the status the ledger holds now.
func (d *Daemon) rebuild(ctx context.Context) error {
	fresh, err := New(ctx, d.opts)
	if err != nil {
		return err
	}
	if err := d.Close(); err != nil {
		d.log.Warn("closing the connectors of the previous activation", zap.Error(err))
	}
	d.connectors, d.exports, d.afterSync, d.house, d.extra, d.closers = fresh.connectors, fresh.exports, fresh.afterSync, fresh.house, fresh.extra, fresh.closers
	return nil
}

// release gives the lease up after the jobs have stopped.
func (d *Daemon) release(stop context.Context, lease *ledger.Lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(stop), lease.TTL())
	defer cancel()
	if err := lease.Release(ctx); err != nil {
		d.log.Warn("cannot release the ledger's lease: a standby takes over when it runs out", zap.Error(err))
		return
	}
	d.log.Info("released the ledger's lease: a standby can take over at once", zap.Int64("fence", lease.Fence()))
}

// WithLease runs fn as the only active daemon of a ledger shared through
// a lease (`pointsync sync --once` on MySQL): it takes the lease, or
// fails with ErrLocked naming who holds it; fences the ledger and renews
// the lease while fn runs, stopping and aborting fn at once if the lease
// is lost (the error then says so); and releases the lease when fn has
// returned. On a ledger with a lock file it only runs fn.
func (d *Daemon) WithLease(stop, abort context.Context, fn func(stop, abort context.Context) error) error {
	if !Leased(d.ledger) {
		return fn(stop, abort)
	}
	ttl, err := d.leaseTTL()
	if err != nil {
		return err
	}
	lease, info, err := d.ledger.AcquireLease(stop, LeaseName, d.run.holder, ttl)
	if err != nil {
		return err
	}
	if lease == nil {
		return fmt.Errorf("%w (%s holds the ledger's lease until %s, %s from now, unless it renews it); stop it first, or leave the syncing to it",
			ErrLocked, info.Holder, info.ExpiresAt.Local().Format("2006-01-02 15:04:05"), info.Remaining().Round(100*time.Millisecond))
	}
	d.ledger.SetFence(lease)
	runErr, lost := hold(stop, abort, lease, d.log, fn)
	if lost != nil {
		return errors.Join(runErr, fmt.Errorf("stopped: %w", lost))
	}
	d.release(stop, lease)
	return runErr
}

// hold runs fn on a ledger fenced with lease, renewing the lease every
// third of its TTL. When the lease is lost, fn's stop and abort are both
// cancelled at once: its transactions in flight fail on the fence, and
// nothing it does after can write. hold returns when fn has returned,
// with fn's error and why the lease was lost (nil when it was kept).
func hold(stop, abort context.Context, lease *ledger.Lease, log *zap.Logger, fn func(stop, abort context.Context) error) (runErr, lost error) {
	fnStop, cancelStop := context.WithCancel(stop)
	defer cancelStop()
	fnAbort, cancelAbort := context.WithCancel(abort)
	defer cancelAbort()
	done := make(chan error, 1)
	go func() { done <- fn(fnStop, fnAbort) }()
	every := lease.TTL() / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err, lost
		case <-tick.C:
			if lost != nil {
				continue
			}
			if lost = renew(lease, every, log); lost != nil {
				log.Error("LEASE LOST: stopping every job at once; this process writes nothing more to the ledger",
					zap.Int64("fence", lease.Fence()), zap.Error(lost))
				cancelStop()
				cancelAbort()
			}
		}
	}
}

// renew renews lease once and returns why it is lost, or nil. A renewal
// that fails for another reason (the database unreachable) is tried again
// at the next tick, unless that would come after the lease may have run
// out: then the lease counts as lost.
func renew(lease *ledger.Lease, every time.Duration, log *zap.Logger) error {
	until := lease.ValidUntil()
	ctx, cancel := context.WithDeadline(context.Background(), until)
	defer cancel()
	err := lease.Renew(ctx)
	switch {
	case err == nil:
		log.Debug("renewed the ledger's lease", zap.Int64("fence", lease.Fence()), zap.Time("expires", lease.Info().ExpiresAt))
		return nil
	case errors.Is(err, ledger.ErrLeaseLost):
		return err
	}
	left := time.Until(until)
	if left <= every {
		return fmt.Errorf("%w: it could not be renewed and may run out in %s: %w", ledger.ErrLeaseLost, max(left, 0).Round(time.Millisecond), err)
	}
	log.Warn("cannot renew the ledger's lease; trying again", zap.Duration("valid_for", left), zap.Error(err))
	return nil
}
