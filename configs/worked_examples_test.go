package configs

import (
	"errors"
	"testing"
	"time"

	"github.com/pointsync/pointsync/rules"
)

// workedProgram loads worked-examples.yaml and returns the program id.
func workedProgram(t *testing.T, id string) Program {
	t.Helper()
	c, err := exampleLoader().Load("worked-examples.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Programs {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("worked-examples.yaml has no program %s", id)
	return Program{}
}

func goods(cents ...int64) rules.Document {
	var d rules.Document
	for i, c := range cents {
		d.Lines = append(d.Lines, rules.Line{Product: string(rune('A' + i)), Quantity: 1000, Gross: c})
	}
	return d
}

func accrualOf(t *testing.T, p Program) rules.AccrualRules {
	t.Helper()
	r, err := p.AccrualRules()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func redemptionOf(t *testing.T, p Program) rules.RedemptionRules {
	t.Helper()
	r, ok, err := p.RedemptionRules()
	if err != nil || !ok {
		t.Fatalf("redemption configured %v, %v", ok, err)
	}
	return r
}

func TestWorkedE1AmountCard(t *testing.T) {
	p := workedProgram(t, "e1-amount-card")
	r := accrualOf(t, p)
	bill := goods(12760)
	a, err := rules.Accrue(r, bill)
	if err != nil || a.Points != 638 {
		t.Fatalf("127.60 earns %d, %v; want 638", a.Points, err)
	}
	maxDiscount, earned, err := rules.TillDiscount(r, 635, bill, rules.TillQuoteOptions{ExcludeCurrentTransaction: p.ExcludeCurrentTransaction})
	if err != nil || maxDiscount != 1273 || earned != 638 || 635+earned-maxDiscount != 0 {
		t.Errorf("till discount %d earning %d, %v; want 1273 leaving 0.00", maxDiscount, earned, err)
	}
	maxDiscount, _, err = rules.TillDiscount(r, 635, bill, rules.TillQuoteOptions{ExcludeCurrentTransaction: true})
	if err != nil || maxDiscount != 635 {
		t.Errorf("with exclude_current_transaction %d, %v; want 635", maxDiscount, err)
	}
}

func TestWorkedE2DiscountsFirst(t *testing.T) {
	r := accrualOf(t, workedProgram(t, "e2-discounts-first"))
	d := rules.Document{Lines: []rules.Line{{Product: "A", Quantity: 1000, Gross: 10000, Discount: 1000, Discounted: true}}}
	if a, err := rules.Accrue(r, d); err != nil || a.Points != 90 {
		t.Errorf("100.00 less 10%% earns %d, %v; want 90", a.Points, err)
	}
	if a, err := rules.Accrue(r, goods(9999)); err != nil || a.Points != 99 {
		t.Errorf("99.99 earns %d, %v; want 99 (whole euros)", a.Points, err)
	}
}

func TestWorkedE3Steps(t *testing.T) {
	r := accrualOf(t, workedProgram(t, "e3-steps"))
	for cents, want := range map[int64]int64{4799: 90, 4500: 90, 4499: 80, 499: 0} {
		if a, err := rules.Accrue(r, goods(cents)); err != nil || a.Points != want {
			t.Errorf("%d cents earns %d, %v; want %d", cents, a.Points, err, want)
		}
	}
}

func TestWorkedE4RedemptionLimits(t *testing.T) {
	r := redemptionOf(t, workedProgram(t, "e4-redemption-limits"))
	q, err := rules.QuoteRedemption(r, 3000, goods(5000))
	if err != nil || q.MaxPoints != 1000 || q.MaxValue != 1000 || q.Limit != rules.LimitMaxPercent {
		t.Errorf("cart 50.00, 3000 points: %+v, %v; want 1000 points for 10.00 bound by the percentage", q, err)
	}
	if q, err := rules.QuoteRedemption(r, 3000, goods(1999)); err != nil || q.MaxPoints != 0 {
		t.Errorf("cart 19.99: %+v, %v; want nothing", q, err)
	}
	if q, err := rules.QuoteRedemption(r, 499, goods(5000)); err != nil || q.MaxPoints != 0 {
		t.Errorf("balance 499: %+v, %v; want nothing (minimum balance 500)", q, err)
	}
}

func TestWorkedE5Scope(t *testing.T) {
	cart := goods(1500)
	cart.Shipping = 500
	for id, want := range map[string]int64{"e5-goods-scope": 1500, "e5-document-scope": 2000} {
		r := redemptionOf(t, workedProgram(t, id))
		if q, err := rules.QuoteRedemption(r, 5000, cart); err != nil || q.MaxPoints != want {
			t.Errorf("%s: %+v, %v; want %d points", id, q, err, want)
		}
	}
	// 2000 is the max_points limit, not the document's 20.00.
	cart.Shipping = 1000
	if q, _ := rules.QuoteRedemption(redemptionOf(t, workedProgram(t, "e5-document-scope")), 5000, cart); q.MaxPoints != 2000 || q.Limit != rules.LimitMaxPoints {
		t.Errorf("max_points not applied: %+v", q)
	}
}

func TestWorkedE12Catalog(t *testing.T) {
	p := workedProgram(t, "e12-catalog")
	cats, err := p.Catalogs()
	if err != nil || len(cats) != 1 || len(cats[0].Prizes) != 1 {
		t.Fatalf("catalogs %+v, %v", cats, err)
	}
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, rome) }
	cat, prize := cats[0].ID, cats[0].Prizes[0].ID

	got, err := rules.CheckRedemption(cats, cat, prize, "", 600, rules.Redeemed{}, day(7, 10), rome)
	if err != nil || got.Points != 500 || got.CoPayment != 200 || 600-got.Points != 100 {
		t.Errorf("first redemption on 2026-07-10: %+v, %v; want 500 points + 2.00, 100 left", got, err)
	}
	used := rules.Redeemed{Customer: map[string]int{prize: 1}, Total: map[string]int{prize: 1}}
	if _, err := rules.CheckRedemption(cats, cat, prize, "", 100, used, day(7, 10), rome); !errors.Is(err, rules.ErrPerCustomerLimit) {
		t.Errorf("second redemption: %v; want the per-customer limit", err)
	}
	if _, ok, _ := rules.AccrualWindow(cats, "", day(7, 10), rome); ok {
		t.Error("a document of 2026-07-10 earns: it is outside the window")
	}
	if _, ok, _ := rules.AccrualWindow(cats, "", day(6, 30), rome); !ok {
		t.Error("a document of 2026-06-30 earns nothing: it is inside the window")
	}
	if _, err := rules.CheckRedemption(cats, cat, prize, "", 600, rules.Redeemed{}, day(8, 1), rome); !errors.Is(err, rules.ErrRedeemDeadline) {
		t.Errorf("redemption on 2026-08-01: %v; want the deadline", err)
	}
}

// Every program of the file is covered by a test above.
func TestWorkedExamplesAllTested(t *testing.T) {
	c, err := exampleLoader().Load("worked-examples.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"e1-amount-card", "e2-discounts-first", "e3-steps", "e4-redemption-limits", "e5-goods-scope", "e5-document-scope", "e12-catalog"}
	if len(c.Programs) != len(want) {
		t.Fatalf("%d programs, want %d", len(c.Programs), len(want))
	}
	for i, p := range c.Programs {
		if p.ID != want[i] {
			t.Errorf("program %d is %s, want %s", i, p.ID, want[i])
		}
	}
}
