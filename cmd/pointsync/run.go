package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/daemon"
	"github.com/pointsync/pointsync/server"
)

// runRun is the daemon: every connector and export on its schedule until
// SIGTERM or SIGINT. The first signal lets the batches in flight finish;
// a second one aborts them. On a SQLite ledger a second daemon is refused
// (lock file); on a MySQL ledger several may run, one active and the
// others standing by until its lease in the database is free (see
// daemon.Run), and the first signal releases the lease once the batches
// in flight have committed.
func runRun(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c common
	c.register(fs)
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	d, e, release, err := c.startDaemon(ctx, a)
	if err != nil {
		return err
	}
	defer release()
	abort, cancel := abortOnSecondSignal(ctx, e.log)
	defer cancel()
	if e.web == nil {
		return d.Run(ctx, abort)
	}
	// The web server answers while the daemon runs, standby included
	// (reads, and /readyz saying it is not active); at the first signal
	// it finishes the requests in flight while the batches commit.
	ln, err := net.Listen("tcp", e.cfg.Server.Listen)
	if err != nil {
		return &configError{err: fmt.Errorf("%s: server.listen: %w", e.cfg.File(), err)}
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- e.web.Serve(ctx, ln) }()
	runErr := d.Run(ctx, abort)
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		e.log.Error("web server", zap.Error(err))
		return errors.Join(runErr, err)
	}
	return runErr
}

// startDaemon opens the configuration and ledger at the configured log
// level, takes the ledger's lock and builds the daemon. release undoes
// all of it.
func (c *common) startDaemon(ctx context.Context, a *app) (*daemon.Daemon, *env, func(), error) {
	if c.logLevel == "" {
		cfg, err := loadConfig(c.config)
		if err != nil {
			return nil, nil, nil, err
		}
		c.logLevel = cfg.Log.Level
	}
	e, err := c.open(ctx, a.stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	if limit, from := daemon.SetMemoryLimit(e.cfg.Daemon); limit > 0 {
		e.log.Info("go memory limit", zap.Int64("mib", limit>>20), zap.String("from", from))
	}
	var lock *daemon.Lock
	if path := e.lockFile(); path != "" {
		if lock, err = daemon.AcquireLock(path); err != nil {
			e.Close()
			return nil, nil, nil, err
		}
	}
	eng, err := e.engine()
	if err != nil {
		lock.Release()
		e.Close()
		return nil, nil, nil, err
	}
	opts := daemon.Options{Config: e.cfg, Ledger: e.ledger, Engine: eng, Logger: e.log}
	if n := e.notifier; n != nil {
		// Only the active daemon delivers and scans: two would post
		// every event twice.
		opts.Workers = append(opts.Workers, func(ctx context.Context) {
			if err := n.Deliver(ctx); err != nil {
				e.log.Error("notifications: delivery stopped", zap.Error(err))
			}
		})
		if e.cfg.Notifications.Has(configs.EventPointsExpiring) {
			opts.Jobs = append(opts.Jobs, daemon.Job{Name: configs.ExpiringJob, Schedule: e.cfg.Notifications.Schedule,
				Run: func(ctx context.Context) (int64, error) {
					k, err := n.ScanExpiring(ctx)
					return int64(k), err
				}})
		}
	}
	if e.cfg.Server.Listen != "" {
		// Reservations a checkout never committed give their points back.
		opts.Jobs = append(opts.Jobs, daemon.Job{Name: configs.ReservationsJob, Schedule: "@every 1m",
			Run: func(ctx context.Context) (int64, error) {
				k, err := e.ledger.ExpireReservations(ctx, 1000)
				return int64(k), err
			}})
	}
	var d *daemon.Daemon
	if e.cfg.Server.Listen != "" {
		e.web, err = server.New(server.Options{Config: e.cfg, Ledger: e.ledger, Engine: eng, Logger: e.log,
			Active: func() bool { return d != nil && d.Active() }})
		if err != nil {
			lock.Release()
			e.Close()
			return nil, nil, nil, &configError{err: err}
		}
		opts.OnJob = e.web.ObserveJob
		e.ledger.OnCommit(e.web.ObserveCommit)
	}
	d, err = daemon.New(ctx, opts)
	if err != nil {
		lock.Release()
		e.Close()
		return nil, nil, nil, err
	}
	return d, e, func() {
		d.Close()
		e.Close()
		lock.Release()
	}, nil
}

// lockFile is where the daemon's lock lives: only a SQLite ledger has one
// (a MySQL ledger is shared through a lease in the database).
func (e *env) lockFile() string {
	if e.ledger.Backend() != "sqlite" {
		return ""
	}
	if e.cfg.Daemon.LockFile != "" {
		return e.cfg.Daemon.LockFile
	}
	return e.cfg.Ledger.Path + ".lock"
}

// abortOnSecondSignal returns a context cancelled by the second SIGTERM or
// SIGINT; the first one cancels ctx (main's signal context).
func abortOnSecondSignal(ctx context.Context, log *zap.Logger) (context.Context, func()) {
	abort, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer signal.Stop(sigs)
		n := 0
		for {
			select {
			case <-done:
				return
			case <-sigs:
				n++
				if n == 2 {
					log.Warn("second signal: aborting the batches in flight (they are fetched again at the next start)")
					cancel()
					return
				}
			}
		}
	}()
	return abort, func() {
		close(done)
		cancel()
	}
}
