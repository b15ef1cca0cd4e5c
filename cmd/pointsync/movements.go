package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/pointsync/pointsync/ledger"
)

// runMovements lists a customer's movements, newest first, with
// provisional ones marked.
func runMovements(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("movements", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	customer := fs.String("customer", "", "customer: web:ID, erp:CODE, card:NUMBER or email:ADDRESS")
	limit := fs.Int("limit", 50, "how many movements, newest first (at most 10000)")
	before := fs.Int64("before", 0, "only movements older than this id (for paging)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	id, err := customerFlag(*customer)
	if err != nil {
		return err
	}
	if *limit <= 0 || *limit > 10000 {
		return usagef("", "--limit must be between 1 and 10000")
	}
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	ms, err := e.ledger.Movements(ctx, ledger.Account{Program: p.ID, Customer: id}, ledger.MovementQuery{Limit: *limit, Before: *before})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, ms)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECORDED\tKIND\tSTATE\tPOINTS\tREF\tSOURCE\tREASON\tDOCUMENT\tEXPIRES\tNOTE")
	for _, m := range ms {
		state := string(m.State)
		if m.State == ledger.StatePending {
			state = "PROVISIONAL"
			if m.Kind == ledger.KindSpend {
				state = "PENDING"
			}
		}
		if m.Overdraft > 0 {
			state += " OVERDRAFT " + figure(p, m.Overdraft)
		}
		ref, exp := "", ""
		if m.Ref != 0 {
			ref = fmt.Sprint(m.Ref)
		}
		if m.Expires != nil {
			exp = ledger.ExpiryDay(*m.Expires, p.Location)
		}
		pts := figure(p, m.Signed())
		if m.Kind == ledger.KindPost || m.Kind == ledger.KindVoid {
			// They finish another movement: show the amount they finish.
			pts = "(" + figure(p, m.Amount) + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.RecordedAt.In(p.Location).Format("2006-01-02 15:04"),
			m.Kind, state, pts, ref, m.Source, m.Reason, m.Document, exp, m.Note)
	}
	return tw.Flush()
}
