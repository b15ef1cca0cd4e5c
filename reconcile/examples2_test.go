package reconcile

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

func adjust(t testing.TB, l *ledger.Ledger, id ledger.Ident, points int64) {
	t.Helper()
	run(t, l, func(tx *ledger.Tx) error {
		if _, _, err := tx.EnsureCustomer(id); err != nil {
			return err
		}
		_, err := tx.Adjust(ledger.AdjustRequest{Account: ledger.Account{Program: "shop", Customer: id}, Meta: ledger.Meta{Source: ledger.SourceAdmin, Key: "seed:" + string(id)}, Points: points})
		return err
	})
}

func receipt(t testing.TB, l *ledger.Ledger, e *Engine, r TillReceipt) {
	t.Helper()
	run(t, l, func(tx *ledger.Tx) error { return e.TillReceipt(tx, "shop", r) })
}

func program(accrual rules.AccrualRules) Program {
	p := onePointPerEuro()
	p.Expiry = rules.ExpiryPolicy{Kind: rules.ExpiryNone}
	p.Accrual = accrual
	return p
}

// TestE1AmountCard is SPEC E1 through reconcile: an amount card at 5 cents
// per euro with 6.35 on it; a bill of 127.60 earns 6.38, so up to 12.73 may
// be taken off that same bill, leaving 0.00; with the option that leaves
// the current transaction out, at most 6.35.
func TestE1AmountCard(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		p := program(rules.AccrualRules{Base: "value", Mode: "proportional", Points: 5, Per: 100, Rounding: rules.RoundFloor})
		p.Unit = rules.UnitAmount
		e := newEngine(t, p)
		card := ledger.Ident("card:0420001234")
		adjust(t, l, card, 635)
		bill := rules.Document{Date: c.Now(), Lines: []rules.Line{{Product: "menu", Quantity: 1000, Gross: 12760}}}
		max, earns, err := e.TillQuote(context.Background(), l, "shop", "0420001234", bill)
		if err != nil || max != 1273 || earns != 638 {
			t.Fatalf("till quote = %d, %d, %v; want 1273, 638", max, earns, err)
		}
		receipt(t, l, e, TillReceipt{Store: "S01", Till: "T2", Receipt: "4711", At: c.Now(), Card: "0420001234", Gross: 12760, Spent: 1273})
		want(t, balance(t, l, card), 0, 0, 1273)

		p.ExcludeCurrentTransaction = true
		e = newEngine(t, p)
		adjust(t, l, "card:0420009999", 635)
		if max, _, err := e.TillQuote(context.Background(), l, "shop", "0420009999", bill); err != nil || max != 635 {
			t.Fatalf("till quote leaving the bill out = %d, %v; want 635", max, err)
		}
	})
}

// TestE2DiscountsFirst: 1 point per whole euro; 100.00 with a 10%
// promotion earns 90 at the till.
func TestE2DiscountsFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, program(rules.AccrualRules{Base: "value", Mode: "steps", Points: 1, Per: 100}))
		card := ledger.Ident("card:77")
		adjust(t, l, card, 1)
		receipt(t, l, e, TillReceipt{Store: "S1", Till: "1", Receipt: "9", At: c.Now(), Card: "77", Gross: 10000, Discount: 1000})
		want(t, balance(t, l, card), 91, 0, 0)
		ms, err := l.Movements(context.Background(), ledger.Account{Program: "shop", Customer: card}, ledger.MovementQuery{Limit: 1})
		if err != nil || ms[0].Rule != "accrual" || len(ms[0].RuleVersion) != 12 {
			t.Fatalf("the accrual does not name the rules version that computed it: %+v %v", ms, err)
		}
	})
}

// TestE3Steps: 10 points every 5.00; 47.99 earns 90.
func TestE3Steps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, program(rules.AccrualRules{Base: "value", Mode: "steps", Points: 10, Per: 500}))
		card := ledger.Ident("card:78")
		adjust(t, l, card, 1)
		receipt(t, l, e, TillReceipt{Store: "S1", Till: "1", Receipt: "10", At: c.Now(), Card: "78", Gross: 4799})
		want(t, balance(t, l, card), 91, 0, 0)
	})
}

func redemption() rules.RedemptionRules {
	return rules.RedemptionRules{RatePoints: 100, RateValue: 100, Scope: "goods"}
}

// TestE4RedemptionLimits: 100 points = 1.00, minimum balance 500, minimum
// cart 20.00, at most 20%: a 50.00 cart with 3000 points takes 1000
// (10.00); a 19.99 cart nothing.
func TestE4RedemptionLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		p := onePointPerEuro()
		p.Redemption = redemption()
		p.Redemption.MinBalance, p.Redemption.MinCart, p.Redemption.MaxDiscountBasisPoints = 500, 2000, 2000
		e := newEngine(t, p)
		adjust(t, l, "web:e4", 3000)
		for _, tt := range []struct{ cart, points, value int64 }{{5000, 1000, 1000}, {1999, 0, 0}} {
			q, err := e.Quote(context.Background(), l, "shop", "web:e4", rules.Document{Date: c.Now(), Lines: euros("A", tt.cart)})
			if err != nil || q.Redeem.MaxPoints != tt.points || q.Redeem.MaxValue != tt.value {
				t.Fatalf("cart %d: quote %+v, %v; want %d points worth %d", tt.cart, q, err, tt.points, tt.value)
			}
		}
	})
}

// TestE5Scope: at most 2000 points per order; goods 15.00 and shipping
// 5.00, 5000 points: 1500 on the goods only, 2000 on the whole document.
func TestE5Scope(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		adjust(t, l, "web:e5", 5000)
		cart := rules.Document{Date: c.Now(), Lines: euros("A", 1500), Shipping: 500}
		for scope, wantPoints := range map[rules.Scope]int64{"goods": 1500, "document": 2000} {
			p := onePointPerEuro()
			p.Redemption = redemption()
			p.Redemption.MaxPoints, p.Redemption.Scope = 2000, scope
			q, err := newEngine(t, p).Quote(context.Background(), l, "shop", "web:e5", cart)
			if err != nil || q.Redeem.MaxPoints != wantPoints {
				t.Fatalf("scope %s: quote %+v, %v; want %d", scope, q, err, wantPoints)
			}
		}
	})
}

// TestE12Catalog is SPEC E12 through reconcile: a catalog valid 2026-01-01
// to 2026-06-30 with prizes until 2026-07-31; a prize of 500 points + 2.00,
// one per customer. On 2026-07-10 a customer with 600 redeems it (100
// left), a second time is refused, a till receipt of that day earns
// nothing; on 2026-08-01 the prize is refused.
func TestE12Catalog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		p := program(rules.AccrualRules{Base: "value", Mode: "steps", Points: 1, Per: 100})
		p.Catalogs = []rules.Catalog{{ID: "SPRING", Name: "Spring 2026", ValidFrom: rules.Date{Year: 2026, Month: 1, Day: 1},
			ValidTo: rules.Date{Year: 2026, Month: 6, Day: 30}, RedeemUntil: rules.Date{Year: 2026, Month: 7, Day: 31},
			Prizes: []rules.Prize{{ID: "MUG", Name: "Mug", Kind: rules.PrizeArticle, Points: 500, CoPayment: 200, PerCustomer: 1}}}}
		e := newEngine(t, p)
		ada, ben := ledger.Ident("card:1001"), ledger.Ident("card:1002")
		adjust(t, l, ada, 600)
		adjust(t, l, ben, 600)
		c.Set(time.Date(2026, 7, 10, 11, 0, 0, 0, rome))
		redeem := func(who ledger.Ident, key string) error {
			return l.Update(context.Background(), func(tx *ledger.Tx) error {
				_, err := e.RedeemPrize(tx, "shop", who, "SPRING", "MUG", "", key, rand.Reader)
				return err
			})
		}
		if err := redeem(ada, "ada-1"); err != nil {
			t.Fatal(err)
		}
		want(t, balance(t, l, ada), 100, 0, 500)
		if err := redeem(ada, "ada-1"); err != nil { // a retried request
			t.Fatalf("replay refused: %v", err)
		}
		if err := redeem(ada, "ada-2"); !errors.Is(err, rules.ErrPerCustomerLimit) {
			t.Fatalf("second redemption: %v, want the per-customer limit", err)
		}
		// The same customer through another identifier is the same customer.
		run(t, l, func(tx *ledger.Tx) error { return tx.Link(ada, "email:ada@example.com") })
		if err := redeem("email:ada@example.com", "ada-3"); !errors.Is(err, rules.ErrPerCustomerLimit) {
			t.Fatalf("redemption through another identifier: %v, want the per-customer limit", err)
		}
		receipt(t, l, e, TillReceipt{Store: "S1", Till: "1", Receipt: "20", At: c.Now(), Card: "1001", Gross: 5000})
		want(t, balance(t, l, ada), 100, 0, 500)
		ms, err := l.Movements(context.Background(), ledger.Account{Program: "shop", Customer: ada}, ledger.MovementQuery{Limit: 1})
		if err != nil || len(ms) != 1 || ms[0].Kind != ledger.KindNote || !strings.Contains(ms[0].Note, "earned nothing") || !strings.Contains(ms[0].Note, "SPRING") {
			t.Fatalf("the history does not say why the receipt earned nothing: %+v %v", ms, err)
		}
		c.Set(time.Date(2026, 8, 1, 9, 0, 0, 0, rome))
		if err := redeem(ben, "ben-1"); !errors.Is(err, rules.ErrRedeemDeadline) {
			t.Fatalf("redemption after the deadline: %v", err)
		}
		want(t, balance(t, l, ben), 600, 0, 0)
	})
}

// A receipt for a card no customer has yet waits for the link, then counts.
func TestUnknownCardWaitsForLink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, program(rules.AccrualRules{Base: "value", Mode: "steps", Points: 1, Per: 100}))
		receipt(t, l, e, TillReceipt{Store: "S1", Till: "1", Receipt: "30", At: c.Now(), Card: "5555000011112222", Gross: 2500})
		parked, err := l.Parked(context.Background(), "shop")
		if err != nil || len(parked) != 1 || parked[0].Waiting != "card:5555000011112222" {
			t.Fatalf("parked = %+v, %v", parked, err)
		}
		if s := parked[0].Parked; !containsMasked(s) {
			t.Fatalf("reason %q shows the full card number", s)
		}
		run(t, l, func(tx *ledger.Tx) error { return e.Link(tx, "erp:C9", "card:5555000011112222") })
		want(t, balance(t, l, "erp:C9"), 25, 0, 0)
		if parked, _ := l.Parked(context.Background(), "shop"); len(parked) != 0 {
			t.Fatalf("still parked: %+v", parked)
		}
	})
}

func containsMasked(s string) bool {
	return !strings.Contains(s, "5555000011112222") && strings.Contains(s, "2222")
}

// A voucher prize issues a valid single-use code; a retried request gets
// the same code back.
func TestVoucherPrize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		p := program(rules.AccrualRules{})
		p.Catalogs = []rules.Catalog{{ID: "C", Name: "C", ValidFrom: rules.Date{Year: 2026, Month: 1, Day: 1}, ValidTo: rules.Date{Year: 2026, Month: 12, Day: 31},
			Prizes: []rules.Prize{{ID: "V10", Name: "10 EUR voucher", Kind: rules.PrizeVoucher, Points: 1000, Voucher: rules.VoucherSpec{ValueCents: 1000, ValidDays: 90}}}}}
		e := newEngine(t, p)
		adjust(t, l, "web:v", 1500)
		var got []PrizeRedeemed
		for range 2 {
			run(t, l, func(tx *ledger.Tx) error {
				r, err := e.RedeemPrize(tx, "shop", "web:v", "C", "V10", "", "req-1", rand.Reader)
				got = append(got, r)
				return err
			})
		}
		if !rules.ValidVoucherCode(got[0].Voucher) || got[0].Voucher != got[1].Voucher || got[0].Movement != got[1].Movement ||
			got[0].VoucherExpires.IsZero() || !got[0].VoucherExpires.Equal(got[1].VoucherExpires) {
			t.Fatalf("voucher redemptions %+v", got)
		}
		want(t, balance(t, l, "web:v"), 500, 0, 1000)
	})
}

// A till that gave more discount than the card held is recorded as it
// happened, flagged as an overdraft, and the next points pay it off.
func TestReceiptOverdraft(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		zero := int64(0)
		e := newEngine(t, program(rules.AccrualRules{Base: "value", Mode: "steps", Points: 1, Per: 100}))
		adjust(t, l, "card:900", 30)
		receipt(t, l, e, TillReceipt{Store: "S1", Till: "1", Receipt: "40", At: c.Now(), Card: "900", Gross: 1000, Earned: &zero, Spent: 50})
		want(t, balance(t, l, "card:900"), -20, 0, 50)
		ms, err := l.Movements(context.Background(), ledger.Account{Program: "shop", Customer: "card:900"}, ledger.MovementQuery{Limit: 1})
		if err != nil || ms[0].Overdraft != 20 {
			t.Fatalf("the spend is not flagged: %+v %v", ms, err)
		}
		receipt(t, l, e, TillReceipt{Store: "S1", Till: "1", Receipt: "41", At: c.Now(), Card: "card:900", Gross: 4500})
		want(t, balance(t, l, "card:900"), 25, 0, 50)
	})
}

// confirm_on paid: a shop without ERP earns the points when the order is
// paid.
func TestConfirmOnPaid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		p := onePointPerEuro()
		p.ConfirmOn = ConfirmPaid
		e := newEngine(t, p)
		customer(t, l, e, "web:p")
		at := c.Now()
		o := WebOrder{ID: "P1", Customer: "web:p", PlacedAt: at, Status: StatusPlaced, StatusAt: at, Lines: euros("A", 4000)}
		run(t, l, func(tx *ledger.Tx) error { return e.WebOrder(tx, "shop", o) })
		want(t, balance(t, l, "web:p"), 0, 40, 0)
		o.Status, o.StatusAt = StatusPaid, at.Add(time.Hour)
		run(t, l, func(tx *ledger.Tx) error { return e.WebOrder(tx, "shop", o) })
		want(t, balance(t, l, "web:p"), 40, 0, 0)
	})
}
