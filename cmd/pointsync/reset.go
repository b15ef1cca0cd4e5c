package main

import (
	"context"
	"flag"
	"fmt"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/ledger"
)

// runReset zeroes one customer's or every customer's points in a program.
// The history stays; pending accruals are voided. A whole-program reset
// asks for --yes.
func runReset(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("reset", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	customer := fs.String("customer", "", "the customer to reset")
	all := fs.Bool("all", false, "reset every customer of the program")
	yes := fs.Bool("yes", false, "confirm a reset of the whole program")
	var au audit
	au.register(fs)
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if (*customer == "") == !*all {
		return usagef("pointsync reset -h", "give either --customer ID or --all")
	}
	if *all && !*yes {
		return usagef("pointsync reset --all --yes --program "+c.program, "resetting every customer of program %q cannot be undone; add --yes to confirm", c.program)
	}
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	req := ledger.ResetRequest{Program: p.ID, Meta: au.meta("cli-reset")}
	if *customer != "" {
		if req.Customer, err = customerFlag(*customer); err != nil {
			return err
		}
	}
	var res ledger.Result
	if err := e.ledger.Update(ctx, func(tx *ledger.Tx) error {
		res, err = tx.Reset(req)
		return err
	}); err != nil {
		return friendly(err)
	}
	e.log.Warn("points reset", zap.String("program", p.ID), zap.String("customer", req.Customer.Masked()), zap.Int("accounts", res.Accounts), zap.String("actor", req.Actor))
	fmt.Fprintf(a.stdout, "reset %d account(s) of program %s: %d movement(s) written, history kept\n", res.Accounts, p.ID, res.Written)
	return nil
}
