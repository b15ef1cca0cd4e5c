package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/ledger"
)

// runAdjust adds an admin adjustment (with --preview, shows the resulting
// balance without saving), or changes or removes one (SPEC 3.6, E11).
func runAdjust(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("adjust", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	customer := fs.String("customer", "", "customer: web:ID, erp:CODE, card:NUMBER or email:ADDRESS")
	points := fs.String("points", "", "points to add (positive) or take (negative); cents for amount programs")
	expiry := fs.String("expiry", "", "expiry date YYYY-MM-DD of added points (they expire at the end of that day in the program's zone)")
	var au audit
	au.register(fs)
	change := fs.Int64("change", 0, "change the adjustment with this movement id to --points")
	remove := fs.Int64("remove", 0, "remove the adjustment with this movement id")
	preview := fs.Bool("preview", false, "show the balance before and after, and save nothing")
	create := fs.Bool("create-customer", false, "create the customer if no customer has this identifier yet")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *change != 0 && *remove != 0 {
		return usagef("pointsync adjust -h", "--change and --remove go alone")
	}
	var pts int64
	if *remove == 0 {
		var err error
		if pts, err = strconv.ParseInt(*points, 10, 64); err != nil || pts == 0 {
			return usagef("pointsync adjust -h", "--points must be a whole number other than 0, got %q", *points)
		}
	} else if *points != "" {
		return usagef("pointsync adjust -h", "--remove takes no --points")
	}
	if (*change != 0 || *remove != 0) && (*expiry != "" || *create) {
		return usagef("pointsync adjust -h", "--expiry and --create-customer are for new adjustments")
	}
	id, err := customerFlag(*customer)
	if err != nil {
		return err
	}
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	exp, err := endOfDate("--expiry", *expiry, p)
	if err != nil {
		return err
	}

	meta := au.meta("cli-adjust")
	// The account is needed for a change or removal too: to show its balance.
	acct := ledger.Account{Program: p.ID, Customer: id}
	write := func(tx *ledger.Tx) (ledger.Result, error) {
		switch {
		case *change != 0:
			return tx.ChangeAdjustment(ledger.ChangeRequest{Meta: meta, Movement: *change, Points: pts, Account: acct})
		case *remove != 0:
			return tx.RemoveAdjustment(ledger.RemoveRequest{Meta: meta, Movement: *remove, Account: acct})
		}
		if *create {
			if _, _, err := tx.EnsureCustomer(id); err != nil {
				return ledger.Result{}, err
			}
		}
		return tx.Adjust(ledger.AdjustRequest{Account: acct, Meta: meta, Points: pts, Expires: exp})
	}

	if *preview {
		before, after, err := e.ledger.Preview(ctx, acct, func(tx *ledger.Tx) error { _, err := write(tx); return err })
		if err != nil {
			return friendly(err)
		}
		if *asJSON {
			return writeJSON(a.stdout, map[string]any{"before": before, "after": after, "saved": false})
		}
		fmt.Fprintf(a.stdout, "preview (nothing saved): earned %s -> %s, provisional %s, spent %s, expired %s\n",
			figure(p, before.Earned), figure(p, after.Earned), figure(p, after.Provisional), figure(p, after.Spent), figure(p, after.Expired))
		return nil
	}
	var res ledger.Result
	err = e.ledger.Update(ctx, func(tx *ledger.Tx) error {
		var err error
		res, err = write(tx)
		return err
	})
	if err != nil {
		return friendly(err)
	}
	e.log.Info("admin adjustment", zap.String("program", acct.Program), zap.String("customer", acct.Customer.Masked()),
		zap.Int64("points", pts), zap.Int64("movement", res.Main()), zap.String("actor", meta.Actor), zap.Bool("replayed", res.Replayed))
	b, err := e.ledger.Balance(ctx, acct, e.ledger.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, map[string]any{"movement": res.Main(), "replayed": res.Replayed, "key": meta.Key, "balance": b})
	}
	what := "saved"
	if res.Replayed {
		what = "already applied (same key and input): nothing changed"
	}
	fmt.Fprintf(a.stdout, "movement %d %s; earned now %s (provisional %s, spent %s, expired %s)\n",
		res.Main(), what, figure(p, b.Earned), figure(p, b.Provisional), figure(p, b.Spent), figure(p, b.Expired))
	return nil
}
