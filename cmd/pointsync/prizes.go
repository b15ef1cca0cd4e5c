package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// prizesJSON is the --json form of the prizes command.
type prizesJSON struct {
	Program  string       `json:"program"`
	Customer ledger.Ident `json:"customer"`
	CardType string       `json:"card_type"`
	Earned   int64        `json:"earned"`
	Prizes   []prizeJSON  `json:"prizes"`
}

type prizeJSON struct {
	Catalog    string          `json:"catalog"`
	Prize      string          `json:"prize"`
	Name       string          `json:"name"`
	Kind       rules.PrizeKind `json:"kind"`
	Points     int64           `json:"points"`
	CoPayment  int64           `json:"co_payment"` // cents
	Redeemable bool            `json:"redeemable"`
	Reason     string          `json:"reason,omitempty"`
}

// runPrizes lists the prizes of the program's catalogs for one customer
// (SPEC 3.4): those whose redemption deadline has not passed, each
// redeemable or not with the reason (catalog not open yet, a limit
// reached, not enough earned points).
func runPrizes(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("prizes", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	customer := fs.String("customer", "", "customer: web:ID, erp:CODE, card:NUMBER or email:ADDRESS")
	cardType := fs.String("card-type", "", "the customer's card type, for catalogs of card types (default: whole-program catalogs only)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
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
	eng, err := e.engine()
	if err != nil {
		return err
	}
	b, err := e.ledger.Balance(ctx, ledger.Account{Program: p.ID, Customer: id}, time.Time{})
	if err != nil {
		return err
	}
	entries, err := eng.Prizes(ctx, e.ledger, p.ID, id, *cardType)
	if err != nil {
		return err
	}
	if *asJSON {
		out := prizesJSON{Program: p.ID, Customer: b.Customer, CardType: *cardType, Earned: b.Earned, Prizes: []prizeJSON{}}
		for _, x := range entries {
			out.Prizes = append(out.Prizes, prizeJSON{Catalog: x.Catalog, Prize: x.Prize.ID, Name: x.Prize.Name, Kind: x.Prize.Kind,
				Points: x.Prize.Points, CoPayment: x.Prize.CoPayment, Redeemable: x.Redeemable, Reason: x.Reason})
		}
		return writeJSON(a.stdout, out)
	}
	fmt.Fprintf(a.stdout, "program %s, customer %s: %s earned\n", p.ID, b.Customer, figure(p, b.Earned))
	if len(entries) == 0 {
		fmt.Fprintln(a.stdout, "no catalog of this program offers prizes to this customer now")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CATALOG\tPRIZE\tNAME\tKIND\tPOINTS\tCO-PAYMENT\tREDEEMABLE")
	for _, x := range entries {
		ok := "yes"
		if !x.Redeemable {
			ok = "no: " + x.Reason
		}
		copay := "-"
		if x.Prize.CoPayment > 0 {
			copay = fmt.Sprintf("%d.%02d", x.Prize.CoPayment/100, x.Prize.CoPayment%100)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Catalog, x.Prize.ID, x.Prize.Name, x.Prize.Kind, figure(p, x.Prize.Points), copay, ok)
	}
	return tw.Flush()
}
