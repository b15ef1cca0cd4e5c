package main

import (
	"context"
	"flag"
	"fmt"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/ledger"
)

// runExpiry sets a new expiry date on the usable points of a program or of
// one customer, or clears it (SPEC 3.5, E9).
func runExpiry(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("expiry", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	customer := fs.String("customer", "", "only this customer (default: every customer of the program)")
	date := fs.String("date", "", "new expiry date YYYY-MM-DD: points expire at the end of that day in the program's zone")
	clearExpiry := fs.Bool("clear", false, "remove the expiry: the points no longer expire")
	includeNone := fs.Bool("include-no-expiry", false, "date also the points that have no expiry")
	var au audit
	au.register(fs)
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if (*date == "") == !*clearExpiry {
		return usagef("pointsync expiry -h", "give either --date YYYY-MM-DD or --clear")
	}
	if *clearExpiry && *includeNone {
		return usagef("pointsync expiry -h", "--include-no-expiry goes with --date")
	}
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	req := ledger.ExpiryRequest{Program: p.ID, IncludeNoExpiry: *includeNone,
		Meta: au.meta("cli-expiry")}
	if *customer != "" {
		if req.Customer, err = customerFlag(*customer); err != nil {
			return err
		}
	}
	if *date != "" {
		if req.Expires, err = endOfDate("--date", *date, p); err != nil {
			return err
		}
	}
	var res ledger.Result
	if err := e.ledger.Update(ctx, func(tx *ledger.Tx) error {
		res, err = tx.SetExpiry(req)
		return err
	}); err != nil {
		return err
	}
	e.log.Info("expiry set", zap.String("program", p.ID), zap.String("date", *date), zap.Int("lots", res.Lots), zap.String("actor", req.Actor))
	what := "cleared"
	if *date != "" {
		what = fmt.Sprintf("set to %s (points expire at %s)", *date, req.Expires.In(p.Location).Format("2006-01-02 15:04 MST"))
	}
	fmt.Fprintf(a.stdout, "expiry %s on %d lots of %d accounts\n", what, res.Lots, res.Accounts)
	return nil
}
