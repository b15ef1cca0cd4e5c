package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// runDemo fills the ledger of the demo configuration with a short story
// (a web order provisional, then earned when the ERP invoices it, points
// spent and given back on a cancellation, an admin gift, an amount card at
// a till) and shows the balances after each step. Every step has a fixed
// idempotency key: running the demo again changes nothing.
func runDemo(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
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
	shop, err := e.program("shop")
	if err != nil {
		return fmt.Errorf("the demo needs programs shop (points) and card (amount), as in configs/demo.yaml: %w", err)
	}
	card, err := e.program("card")
	if err != nil {
		return fmt.Errorf("the demo needs programs shop (points) and card (amount), as in configs/demo.yaml: %w", err)
	}
	const anna, carla = ledger.Ident("web:1001"), ledger.Ident("card:0420001234")
	fmt.Fprintf(a.stdout, "pointsync demo: ledger %s, programs shop (points) and card (amount)\n\n", e.cfg.Ledger.Path)

	d := &demo{e: e, ctx: ctx, out: a}
	if err := e.ledger.Update(ctx, func(tx *ledger.Tx) error {
		for _, id := range []ledger.Ident{anna, carla} {
			if _, _, err := tx.EnsureCustomer(id); err != nil {
				return err
			}
		}
		if err := tx.Link(anna, "email:anna.rossi@example.com"); err != nil {
			return err
		}
		return tx.Link(carla, "erp:C0042")
	}); err != nil {
		return err
	}
	annaShop := ledger.Account{Program: shop.ID, Customer: anna}
	expires, _ := shop.Expiry.ExpiresAt(e.ledger.Now(), shop.Location)
	var w1, w3 int64
	steps := []struct {
		what  string
		acct  ledger.Account
		p     rules.Program
		write func(tx *ledger.Tx) (ledger.Result, error)
		keep  *int64
	}{
		{"web order W1 placed, 120.00 EUR: 120 points provisional", annaShop, shop, func(tx *ledger.Tx) (ledger.Result, error) {
			return tx.Credit(ledger.CreditRequest{Account: annaShop, Amount: 120, Pending: true,
				Meta: ledger.Meta{Source: ledger.SourceWeb, Key: "demo:W1:accrual", Reason: "accrual", Document: "W1"}})
		}, &w1},
		{"ERP invoices W1: the points are earned", annaShop, shop, func(tx *ledger.Tx) (ledger.Result, error) {
			return tx.Post(ledger.FinishRequest{Movement: w1, Expires: &expires,
				Meta: ledger.Meta{Source: ledger.SourceERP, Key: "demo:W1:invoice", Reason: "accrual", Document: "FT 2026/118"}})
		}, nil},
		{"web order W3 spends 100 points, payment not confirmed", annaShop, shop, func(tx *ledger.Tx) (ledger.Result, error) {
			return tx.Spend(ledger.SpendRequest{Account: annaShop, Amount: 100, Pending: true,
				Meta: ledger.Meta{Source: ledger.SourceWeb, Key: "demo:W3:redemption", Reason: "redemption", Document: "W3"}})
		}, &w3},
		{"ERP cancels W3: the 100 points come back", annaShop, shop, func(tx *ledger.Tx) (ledger.Result, error) {
			return tx.Void(ledger.FinishRequest{Movement: w3,
				Meta: ledger.Meta{Source: ledger.SourceERP, Key: "demo:W3:cancel", Reason: "cancellation", Document: "W3"}})
		}, nil},
		{"admin adds 50 points, note \"welcome\"", annaShop, shop, func(tx *ledger.Tx) (ledger.Result, error) {
			return tx.Adjust(ledger.AdjustRequest{Account: annaShop, Points: 50,
				Meta: ledger.Meta{Source: ledger.SourceAdmin, Key: "demo:welcome", Actor: "demo", Note: "welcome"}})
		}, nil},
		{"amount card: opening balance 6.35 EUR", ledger.Account{Program: card.ID, Customer: carla}, card, func(tx *ledger.Tx) (ledger.Result, error) {
			return tx.Adjust(ledger.AdjustRequest{Account: ledger.Account{Program: card.ID, Customer: carla}, Points: 635,
				Meta: ledger.Meta{Source: ledger.SourceAdmin, Key: "demo:card:opening", Actor: "demo", Note: "opening balance"}})
		}, nil},
		{"till S01/T2: bill 127.60 EUR earns 6.38 EUR (5 cents per euro)", ledger.Account{Program: card.ID, Customer: carla}, card, func(tx *ledger.Tx) (ledger.Result, error) {
			return tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: card.ID, Customer: carla}, Amount: 638,
				Meta: ledger.Meta{Source: ledger.SourcePOS, Key: "demo:S01/T2/4711/1", Reason: "accrual", Document: "S01/T2/4711"}})
		}, nil},
	}
	for i, s := range steps {
		var res ledger.Result
		if err := e.ledger.Update(ctx, func(tx *ledger.Tx) error {
			var err error
			res, err = s.write(tx)
			return err
		}); err != nil {
			return fmt.Errorf("demo step %d (%s): %w", i+1, s.what, err)
		}
		if s.keep != nil {
			*s.keep = res.Main()
		}
		if err := d.show(i+1, s.what, s.acct, s.p, res.Replayed); err != nil {
			return err
		}
	}
	cfg := c.config
	fmt.Fprintf(a.stdout, "\nTry:\n")
	for _, cmd := range []string{
		"balance --program shop --customer web:1001 --json",
		"movements --program shop --customer email:anna.rossi@example.com",
		"adjust --program shop --customer web:1001 --points -30 --note \"manual fix\" --preview",
		"balance --program card --customer erp:C0042",
		"export --program shop -",
	} {
		fmt.Fprintf(a.stdout, "  go run ./cmd/pointsync %s --config %s %s\n", strings.Fields(cmd)[0], cfg, strings.TrimPrefix(cmd, strings.Fields(cmd)[0]+" "))
	}
	return nil
}

type demo struct {
	e   *env
	ctx context.Context
	out *app
}

func (d *demo) show(n int, what string, acct ledger.Account, p rules.Program, replayed bool) error {
	b, err := d.e.ledger.Balance(d.ctx, acct, d.e.ledger.Now())
	if err != nil {
		return err
	}
	again := ""
	if replayed {
		again = " (already applied: nothing changed)"
	}
	fmt.Fprintf(d.out.stdout, "%d. %s%s\n   %s %s: earned %s, provisional %s, spent %s, expired %s\n",
		n, what, again, acct.Program, acct.Customer, figure(p, b.Earned), figure(p, b.Provisional), figure(p, b.Spent), figure(p, b.Expired))
	return nil
}
