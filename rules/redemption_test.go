package rules

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// hundredPerEuro is "100 points = 1.00 EUR" with no other limit.
var hundredPerEuro = RedemptionRules{RatePoints: 100, RateValue: 100}

func mustQuote(t *testing.T, r RedemptionRules, earned int64, cart Document) Quote {
	t.Helper()
	q, err := QuoteRedemption(r, earned, cart)
	if err != nil {
		t.Fatalf("QuoteRedemption: %v", err)
	}
	return q
}

func TestE1AmountCard(t *testing.T) {
	r := AccrualRules{Base: BaseValue, Mode: ModeProportional, Points: 5, Per: 100}
	bill := linesDoc(3200, 5600, 2400, 1560) // 127.60
	if a := mustAccrue(t, r, bill); a.Points != 638 {
		t.Fatalf("the bill earns %d, want 638", a.Points)
	}
	max, earned, err := TillDiscount(r, 635, bill, TillQuoteOptions{})
	if err != nil || max != 1273 || earned != 638 {
		t.Fatalf("TillDiscount = %d, %d, %v; want 1273, 638", max, earned, err)
	}
	// Taking all of it leaves 0.00: the accrual is computed before the
	// fidelity discount, so using it does not lower what the bill earns.
	bill.FidelityDiscount = max
	if a := mustAccrue(t, r, bill); 635+a.Points-max != 0 {
		t.Fatalf("after the discount the card holds %d, want 0", 635+a.Points-max)
	}
	max, earned, err = TillDiscount(r, 635, bill, TillQuoteOptions{ExcludeCurrentTransaction: true})
	if err != nil || max != 635 || earned != 638 {
		t.Fatalf("excluding the transaction: TillDiscount = %d, %d, %v; want 635, 638", max, earned, err)
	}
}

func TestE4RedemptionLimits(t *testing.T) {
	r := RedemptionRules{RatePoints: 100, RateValue: 100, MinBalance: 500, MinCart: 2000, MaxDiscountBasisPoints: 2000}
	q := mustQuote(t, r, 3000, linesDoc(5000))
	if q.MaxPoints != 1000 || q.MaxValue != 1000 || q.Limit != LimitMaxPercent || q.Reason != "" {
		t.Fatalf("cart 50.00: got %+v, want 1000 points (10.00) bound by the percentage", q)
	}
	q = mustQuote(t, r, 3000, linesDoc(1999))
	if q.MaxPoints != 0 || q.MaxValue != 0 || !strings.Contains(q.Reason, "cart of 19.99 is below the minimum of 20.00") {
		t.Fatalf("cart 19.99: got %+v, want nothing with the minimum cart as reason", q)
	}
}

func TestE5Scope(t *testing.T) {
	cart := linesDoc(1500)
	cart.Shipping = 500
	r := hundredPerEuro
	r.MaxPoints = 2000
	r.Scope = ScopeGoods
	if q := mustQuote(t, r, 5000, cart); q.MaxPoints != 1500 || q.MaxValue != 1500 || q.Base != 1500 || q.Limit != LimitBase {
		t.Fatalf("goods scope: got %+v, want 1500 bound by the base", q)
	}
	r.Scope = ScopeDocument
	if q := mustQuote(t, r, 5000, cart); q.MaxPoints != 2000 || q.MaxValue != 2000 || q.Base != 2000 || q.Limit != LimitMaxPoints {
		t.Fatalf("document scope: got %+v, want 2000 bound by max points", q)
	}
}

func TestQuoteRedemptionOptions(t *testing.T) {
	with := func(f func(*RedemptionRules)) RedemptionRules { r := hundredPerEuro; f(&r); return r }
	mixed := linesDoc(3000, 2000, 1000) // A, B, C
	mixed.Lines[1].Discounted = true
	mixed.Lines[1].Discount = 500
	mixed.Shipping = 700
	docDiscounted := linesDoc(6000, 4000)
	docDiscounted.Discount = 1000

	tests := []struct {
		name   string
		r      RedemptionRules
		earned int64
		cart   Document
		points int64
		value  int64
		base   int64
		limit  string
		reason string // substring, when points is 0
	}{
		{"balance bounds", hundredPerEuro, 700, linesDoc(5000), 700, 700, 5000, LimitBalance, ""},
		{"base bounds", hundredPerEuro, 9000, linesDoc(5000), 5000, 5000, 5000, LimitBase, ""},
		{"goods scope is the default", hundredPerEuro, 9000, mixed, 5500, 5500, 5500, LimitBase, ""},
		{"document scope adds shipping", with(func(r *RedemptionRules) { r.Scope = ScopeDocument }), 9000, mixed, 6200, 6200, 6200, LimitBase, ""},
		{"excluded products leave the base", with(func(r *RedemptionRules) { r.ExcludedProducts = map[string]bool{"A": true, "Z": true} }), 9000, mixed, 2500, 2500, 2500, LimitBase, ""},
		{"a product listed as false is not excluded", with(func(r *RedemptionRules) { r.ExcludedProducts = map[string]bool{"A": false} }), 9000, mixed, 5500, 5500, 5500, LimitBase, ""},
		{"discounted lines leave the base when set", with(func(r *RedemptionRules) { r.ExcludeDiscounted = true }), 9000, mixed, 4000, 4000, 4000, LimitBase, ""},
		{"the base is net of the document discount", hundredPerEuro, 20000, docDiscounted, 9000, 9000, 9000, LimitBase, ""},
		{"every product excluded", with(func(r *RedemptionRules) { r.ExcludedProducts = map[string]bool{"A": true} }), 9000, linesDoc(5000), 0, 0, 0, "", "products are excluded or already discounted"},
		{"an empty cart", hundredPerEuro, 9000, Document{}, 0, 0, 0, "", "the cart is empty"},
		{"a cart worth nothing", hundredPerEuro, 9000, func() Document { d := linesDoc(5000); d.Discount = 5000; return d }(), 0, 0, 0, "", "worth 0 after discounts"},
		{"max points", with(func(r *RedemptionRules) { r.MaxPoints = 1200 }), 9000, linesDoc(5000), 1200, 1200, 5000, LimitMaxPoints, ""},
		{"min points met", with(func(r *RedemptionRules) { r.MinPoints = 700 }), 700, linesDoc(5000), 700, 700, 5000, LimitBalance, ""},
		{"min points not met", with(func(r *RedemptionRules) { r.MinPoints = 701 }), 700, linesDoc(5000), 0, 0, 5000, LimitBalance, "at most 700 points can be spent on this cart (bound by the earned balance), below the minimum of 701"},
		{"min points above what the base allows", with(func(r *RedemptionRules) { r.MinPoints = 600 }), 9000, linesDoc(500), 0, 0, 500, LimitBase, "below the minimum of 600"},
		{"max value below max percent", with(func(r *RedemptionRules) { r.MaxDiscountValue = 800; r.MaxDiscountBasisPoints = 2000 }), 9000, linesDoc(5000), 800, 800, 5000, LimitMaxValue, ""},
		{"max percent below max value", with(func(r *RedemptionRules) { r.MaxDiscountValue = 1200; r.MaxDiscountBasisPoints = 2000 }), 9000, linesDoc(5000), 1000, 1000, 5000, LimitMaxPercent, ""},
		{"max percent of the scope base, not of the cart", with(func(r *RedemptionRules) {
			r.MaxDiscountBasisPoints = 5000
			r.ExcludedProducts = map[string]bool{"A": true}
		}), 9000, mixed, 1250, 1250, 2500, LimitMaxPercent, ""},
		{"max percent rounds down to whole cents", with(func(r *RedemptionRules) { r.MaxDiscountBasisPoints = 3333 }), 9000, linesDoc(1000), 333, 333, 1000, LimitMaxPercent, ""},
		{"min balance not met", with(func(r *RedemptionRules) { r.MinBalance = 500 }), 499, linesDoc(5000), 0, 0, 5000, "", "balance of 499 points is below the minimum of 500"},
		{"min balance met exactly", with(func(r *RedemptionRules) { r.MinBalance = 500 }), 500, linesDoc(5000), 500, 500, 5000, LimitBalance, ""},
		{"min cart is goods net of discounts, shipping out", with(func(r *RedemptionRules) { r.MinCart = 5001 }), 9000,
			func() Document { d := linesDoc(5100); d.Lines[0].Discount = 100; d.Shipping = 1000; return d }(), 0, 0, 5000, "", "cart of 50.00 is below the minimum of 50.01"},
		{"min cart counts excluded products", with(func(r *RedemptionRules) { r.MinCart = 5000; r.ExcludedProducts = map[string]bool{"A": true} }), 9000, linesDoc(3000, 2000), 2000, 2000, 2000, LimitBase, ""},
		{"no earned points", hundredPerEuro, 0, linesDoc(5000), 0, 0, 5000, "", "no earned points"},
		{"a negative balance", hundredPerEuro, -300, linesDoc(5000), 0, 0, 5000, "", "no earned points"},
		{"amount programs spend cents 1:1", RedemptionRules{RatePoints: 1, RateValue: 1, MaxDiscountBasisPoints: 5000}, 1273, linesDoc(12760), 1273, 1273, 12760, LimitBalance, ""},
		{"amount program bound by the bill", RedemptionRules{RatePoints: 1, RateValue: 1}, 1273, linesDoc(1000), 1000, 1000, 1000, LimitBase, ""},
		{"points worth more than a cent each", RedemptionRules{RatePoints: 1, RateValue: 5}, 1000, linesDoc(1002), 200, 1000, 1002, LimitBase, ""},
		{"a rate in lowest terms spends whole steps", RedemptionRules{RatePoints: 300, RateValue: 100}, 1000, linesDoc(5000), 999, 333, 5000, LimitBalance, ""},
		{"a balance below one step", RedemptionRules{RatePoints: 3, RateValue: 1}, 2, linesDoc(5000), 0, 0, 5000, LimitBalance, "nothing can be redeemed within the earned balance: the smallest redeemable amount is 3 points for 0.01"},
		{"a base below one step", RedemptionRules{RatePoints: 1, RateValue: 5}, 1000, linesDoc(4), 0, 0, 4, LimitBase, "nothing can be redeemed within the value the discount may cover: the smallest redeemable amount is 1 points for 0.05"},
		{"the cart's own fidelity discount is ignored", hundredPerEuro, 9000, func() Document { d := linesDoc(5000); d.FidelityDiscount = 5000; return d }(), 5000, 5000, 5000, LimitBase, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := mustQuote(t, tt.r, tt.earned, tt.cart)
			if q.MaxPoints != tt.points || q.MaxValue != tt.value || q.Base != tt.base || q.Limit != tt.limit {
				t.Fatalf("got %+v, want %d points (%d cents) on base %d bound by %q", q, tt.points, tt.value, tt.base, tt.limit)
			}
			if tt.points == 0 && (tt.reason == "" || !strings.Contains(q.Reason, tt.reason)) {
				t.Errorf("reason %q, want it to contain %q", q.Reason, tt.reason)
			}
			if tt.points != 0 && q.Reason != "" {
				t.Errorf("reason %q on a non-zero quote", q.Reason)
			}
		})
	}
}

func TestTillDiscount(t *testing.T) {
	fivePerEuro := AccrualRules{Base: BaseValue, Mode: ModeProportional, Points: 5, Per: 100}
	lowers := fivePerEuro
	lowers.FidelityLowersBase = true
	bill := linesDoc(12760)
	small := linesDoc(1000)
	shipped := linesDoc(1000)
	shipped.Shipping = 500
	tests := []struct {
		name            string
		r               AccrualRules
		balance         int64
		bill            Document
		o               TillQuoteOptions
		discount, earns int64
	}{
		{"bounded by the bill", fivePerEuro, 5000, small, TillQuoteOptions{}, 1000, 50},
		{"bounded by the bill, shipping included", fivePerEuro, 5000, shipped, TillQuoteOptions{}, 1500, 50},
		{"an empty card still spends what the bill earns", fivePerEuro, 0, bill, TillQuoteOptions{}, 638, 638},
		{"an empty card with the option spends nothing", fivePerEuro, 0, bill, TillQuoteOptions{ExcludeCurrentTransaction: true}, 0, 638},
		{"an overdrawn card is covered by what the bill earns", fivePerEuro, -600, bill, TillQuoteOptions{}, 38, 638},
		{"an overdrawn card beyond what the bill earns", fivePerEuro, -700, bill, TillQuoteOptions{}, 0, 638},
		{"an overdrawn card with the option", fivePerEuro, -700, bill, TillQuoteOptions{ExcludeCurrentTransaction: true}, 0, 638},
		{"the bill's own fidelity discount is ignored", fivePerEuro, 635, func() Document { d := bill; d.FidelityDiscount = 12760; return d }(), TillQuoteOptions{}, 1273, 638},
		// With the fidelity discount lowering the base, 635 + 5% of
		// (12760 - d) >= d gives d <= 1212.38: 1212 earns 577 and leaves 0.
		{"fidelity lowers the base: the card never ends below zero", lowers, 635, bill, TillQuoteOptions{}, 1212, 577},
		{"fidelity lowers the base, bounded by the bill", lowers, 50000, small, TillQuoteOptions{}, 1000, 0},
		{"fidelity lowers the base, with the option", lowers, 635, bill, TillQuoteOptions{ExcludeCurrentTransaction: true}, 635, 606},
		{"steps with fidelity lowering the base", AccrualRules{Mode: ModeSteps, Points: 100, Per: 1000, FidelityLowersBase: true}, 50, linesDoc(5000), TillQuoteOptions{}, 450, 400},
		{"no general rule", AccrualRules{}, 635, bill, TillQuoteOptions{}, 635, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, e, err := TillDiscount(tt.r, tt.balance, tt.bill, tt.o)
			if err != nil || d != tt.discount || e != tt.earns {
				t.Fatalf("TillDiscount = %d, %d, %v; want %d, %d", d, e, err, tt.discount, tt.earns)
			}
			if !tt.o.ExcludeCurrentTransaction && d > 0 && tt.balance+e-d < 0 {
				t.Fatalf("the card would end at %d", tt.balance+e-d)
			}
		})
	}
	if _, _, err := TillDiscount(AccrualRules{Mode: "x"}, 0, bill, TillQuoteOptions{}); !errors.Is(err, ErrInvalidAccrualRules) {
		t.Errorf("bad rules: %v", err)
	}
	if _, _, err := TillDiscount(fivePerEuro, 0, Document{Shipping: -1}, TillQuoteOptions{}); !errors.Is(err, ErrInvalidDocument) {
		t.Errorf("bad bill: %v", err)
	}
	if _, _, err := TillDiscount(fivePerEuro, math.MaxInt64, bill, TillQuoteOptions{}); !errors.Is(err, ErrAmountOverflow) {
		t.Errorf("a balance too large: %v", err)
	}
}

func TestRedemptionRulesValidate(t *testing.T) {
	bad := []struct {
		r    RedemptionRules
		want string
	}{
		{RedemptionRules{RateValue: 100}, "rate points must be greater than 0"},
		{RedemptionRules{RatePoints: 100}, "rate value must be greater than 0"},
		{RedemptionRules{RatePoints: -1, RateValue: 100}, "rate points must be greater than 0"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, MinBalance: -1}, "min balance -1 is negative"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, MinCart: -1}, "min cart -0.01 is negative"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, MinPoints: -1}, "min points -1 is negative"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, MaxPoints: -1}, "max points -1 is negative"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, MinPoints: 500, MaxPoints: 400}, "min points 500 is above max points 400"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, MaxDiscountValue: -1}, "max discount value -0.01 is negative"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, MaxDiscountBasisPoints: 10001}, "max discount basis points 10001 is outside 0 to 10000"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, MaxDiscountBasisPoints: -5}, "max discount basis points -5 is outside"},
		{RedemptionRules{RatePoints: 100, RateValue: 100, Scope: "shipping"}, `scope "shipping" is unknown`},
	}
	for _, tt := range bad {
		err := tt.r.Validate()
		if err == nil || !errors.Is(err, ErrInvalidRedemptionRules) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tt.r, err, tt.want)
		}
		if _, qerr := QuoteRedemption(tt.r, 100, linesDoc(100)); qerr == nil {
			t.Errorf("%+v: QuoteRedemption accepted rules Validate refuses", tt.r)
		}
	}
	good := []RedemptionRules{
		hundredPerEuro,
		{RatePoints: 1, RateValue: 1, Scope: ScopeDocument, MinPoints: 5, MaxPoints: 5, MaxDiscountBasisPoints: 10000},
		{RatePoints: 100, RateValue: 100, MinPoints: 500, Scope: ScopeGoods, ExcludedProducts: map[string]bool{"X": true}},
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if _, err := QuoteRedemption(hundredPerEuro, 100, Document{Discount: 1}); !errors.Is(err, ErrInvalidDocument) {
		t.Errorf("bad cart: %v", err)
	}
}
