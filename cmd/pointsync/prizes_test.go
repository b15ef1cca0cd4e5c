package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newPrizesCLI is a CLI whose shop program has a catalog open now, one
// for gold cards, and one that opens in 2098.
func newPrizesCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	cfg := `ledger:
  path: ledger.db
programs:
  - id: shop
    unit: points
    accrual: {base: value, mode: steps, points: 1, every: "1.00"}
    catalogs:
      - id: always
        valid_from: 2020-01-01
        valid_to: 2099-12-31
        prizes:
          - {id: mug, name: Mug, kind: article, points: 500, co_payment: "2.00", per_customer: 1}
          - {id: bike, name: Bike, kind: article, points: 5000}
      - id: gold
        card_types: [GOLD]
        valid_from: 2020-01-01
        valid_to: 2099-12-31
        prizes:
          - {id: lounge, name: Lounge, kind: non_stock, points: 100}
      - id: later
        valid_from: 2098-01-01
        valid_to: 2098-12-31
        prizes:
          - {id: pen, name: Pen, kind: article, points: 1}
`
	path := filepath.Join(dir, "pointsync.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, dir: dir, config: path}
}

// TestPrizesCommand lists a customer's prizes as text and JSON, and checks
// the exit codes of mistakes.
func TestPrizesCommand(t *testing.T) {
	c := newPrizesCLI(t)
	c.ok("adjust", "--program", "shop", "--customer", "web:42", "--points", "600", "--create-customer")

	cases := []struct {
		name     string
		cardType string
		want     []prizeJSON
	}{
		{"whole-program catalogs", "", []prizeJSON{
			{Catalog: "always", Prize: "mug", Name: "Mug", Kind: "article", Points: 500, CoPayment: 200, Redeemable: true},
			{Catalog: "always", Prize: "bike", Name: "Bike", Kind: "article", Points: 5000, Reason: "prize bike: needs 5000 points, has 600"},
			{Catalog: "later", Prize: "pen", Name: "Pen", Kind: "article", Points: 1, Reason: "prize pen: catalog later opens on 2098-01-01"},
		}},
		{"gold card", "gold", []prizeJSON{
			{Catalog: "always", Prize: "mug", Name: "Mug", Kind: "article", Points: 500, CoPayment: 200, Redeemable: true},
			{Catalog: "always", Prize: "bike", Name: "Bike", Kind: "article", Points: 5000, Reason: "prize bike: needs 5000 points, has 600"},
			{Catalog: "gold", Prize: "lounge", Name: "Lounge", Kind: "non_stock", Points: 100, Redeemable: true},
			{Catalog: "later", Prize: "pen", Name: "Pen", Kind: "article", Points: 1, Reason: "prize pen: catalog later opens on 2098-01-01"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := c.ok("prizes", "--program", "shop", "--customer", "web:42", "--card-type", tc.cardType, "--json")
			var got prizesJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("prizes --json %q: %v", out, err)
			}
			if got.Program != "shop" || got.Customer != "web:42" || got.CardType != tc.cardType || got.Earned != 600 || len(got.Prizes) != len(tc.want) {
				t.Fatalf("prizes --json = %s", out)
			}
			for i, w := range tc.want {
				if got.Prizes[i] != w {
					t.Fatalf("prize %d = %+v, want %+v", i, got.Prizes[i], w)
				}
			}
		})
	}

	text := c.ok("prizes", "--program", "shop", "--customer", "web:42")
	for _, want := range []string{"600 earned", "mug", "2.00", "yes", "no: prize bike: needs 5000 points, has 600"} {
		if !strings.Contains(text, want) {
			t.Fatalf("prizes text output lacks %q:\n%s", want, text)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		text string
	}{
		{"no customer", []string{"prizes", "--program", "shop"}, exitUsage, "--customer is required"},
		{"unknown program", []string{"prizes", "--program", "nope", "--customer", "web:42"}, exitUsage, "not in"},
		{"unknown customer", []string{"prizes", "--program", "shop", "--customer", "web:404"}, exitFailed, "unknown customer"},
		{"stray argument", []string{"prizes", "--program", "shop", "--customer", "web:42", "extra"}, exitUsage, "expected 0 argument"},
	} {
		code, _, errs := c.run(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.text) {
			t.Fatalf("%s: exit %d, %q; want %d saying %q", tc.name, code, errs, tc.code, tc.text)
		}
	}
}
