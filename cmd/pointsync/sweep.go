package main

import (
	"context"
	"flag"
	"fmt"
)

// runSweep writes expiry movements for points that reached their expiry.
// Balances are right without it; the daemon runs it on a schedule.
func runSweep(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	var c common
	c.register(fs)
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	e, err := c.open(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	n, err := e.ledger.Sweep(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "expired points written for %d account(s)\n", n)
	return nil
}
