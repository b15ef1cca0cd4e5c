package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

// runBalance prints one customer's balance. With --json it prints the
// fixed form of SPEC 5.
func runBalance(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("balance", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	customer := fs.String("customer", "", "customer: web:ID, erp:CODE, card:NUMBER or email:ADDRESS")
	asJSON := fs.Bool("json", false, "print the balance as JSON (the fixed form of SPEC 5)")
	at := fs.String("at", "", "balance at this instant (RFC 3339, now or later), for checking expiry ahead")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	id, err := customerFlag(*customer)
	if err != nil {
		return err
	}
	var when time.Time
	if *at != "" {
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return usagef("", "--at %q: use RFC 3339, for example 2027-01-16T00:00:00+01:00", *at)
		}
	}
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	if !when.IsZero() && when.Before(e.ledger.Now()) {
		return usagef("", "--at %s is in the past: a balance is read now or ahead; the history is in pointsync movements", *at)
	}
	b, err := e.ledger.Balance(ctx, ledger.Account{Program: p.ID, Customer: id}, when)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, b)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "program\t%s\ncustomer\t%s\nearned\t%s\nprovisional\t%s\nspent\t%s\nexpired\t%s\n",
		b.Program, b.Customer, figure(p, b.Earned), figure(p, b.Provisional), figure(p, b.Spent), figure(p, b.Expired))
	for _, x := range b.Expiring {
		fmt.Fprintf(tw, "expiring %s\t%s\n", x.Date, figure(p, x.Points))
	}
	return tw.Flush()
}
