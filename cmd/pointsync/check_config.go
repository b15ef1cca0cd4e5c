package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/daemon"
)

// runCheckConfig validates a configuration without running anything
// (SPEC 5, fixed form): exit 0 when valid, exit 2 naming key and line when
// not.
func runCheckConfig(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	var c common
	c.register(fs)
	print := fs.Bool("print", false, "print the configuration with defaults filled and secrets hidden")
	connect := fs.Bool("connect", false, "also check every connector and export against its system, changing nothing: SQL queries run for zero rows and their columns are checked, folders and webservices are tried (exit 1 when one fails)")
	timeout := fs.Duration("timeout", 30*time.Second, "with --connect: how long each check may take")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, err := loadConfig(c.config)
	if err != nil {
		return err
	}
	if *print {
		fmt.Fprint(a.stdout, cfg.Redacted())
		return nil
	}
	var ids []string
	for _, p := range cfg.Programs {
		ids = append(ids, p.ID)
	}
	where := cfg.Ledger.Path
	if cfg.Ledger.Driver == configs.DriverMySQL {
		where = "MySQL (DSN hidden)"
	}
	fmt.Fprintf(a.stdout, "%s: ok: ledger %s at %s; programs: %s\n", c.config, cfg.Ledger.Driver, where, strings.Join(ids, ", "))
	if !*connect {
		return nil
	}
	level := c.logLevel
	if level == "" {
		level = "warn"
	}
	log, err := newLogger(level, cfg.Log.Format, a.stderr)
	if err != nil {
		return usagef("", "--log-level: %v", err)
	}
	defer func() { _ = log.Sync() }()
	results, err := daemon.ProbeConfig(ctx, cfg, log, *timeout)
	if err != nil {
		return &configError{err: err}
	}
	failed := 0
	for _, r := range results {
		switch {
		case !r.Checked:
			fmt.Fprintf(a.stdout, "%s %s: nothing to check\n", r.Kind, r.Job)
		case r.Err != nil:
			failed++
			fmt.Fprintf(a.stdout, "%s %s: FAILED: %v\n", r.Kind, r.Job, r.Err)
		default:
			fmt.Fprintf(a.stdout, "%s %s: ok (%s)\n", r.Kind, r.Job, r.Took.Round(time.Millisecond))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d check(s) failed", failed, len(results))
	}
	return nil
}
