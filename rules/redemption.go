package rules

import (
	"errors"
	"fmt"
)

// Scope is what a points discount may cover.
type Scope string

const (
	// ScopeGoods lets the discount cover the goods only.
	ScopeGoods Scope = "goods"
	// ScopeDocument lets it cover the whole document, shipping included.
	ScopeDocument Scope = "document"
)

// RedemptionRules is a program's rule for spending points at checkout
// (SPEC 3.3).
type RedemptionRules struct {
	RatePoints int64 // X points ...
	RateValue  int64 // ... = Y cents (100 points = 1.00 EUR: RatePoints 100, RateValue 100). For amount programs the rate is 1:1 (cents)
	MinBalance int64 // minimum earned balance to redeem at all
	// MinCart is the minimum cart value, in cents, measured on every goods
	// line net of ordinary discounts, shipping excluded and excluded products
	// included: it is the "spesa minima" a customer reads on the cart, not
	// the part points may pay for.
	MinCart                int64
	MinPoints, MaxPoints   int64 // per order; 0 = no limit
	MaxDiscountValue       int64 // cents; 0 = no limit
	MaxDiscountBasisPoints int64 // percentage of the cart (scope base), 1/100 of a percent; 0 = no limit
	Scope                  Scope // empty means ScopeGoods
	ExcludeDiscounted      bool
	ExcludedProducts       map[string]bool
}

// ErrInvalidRedemptionRules is wrapped by every error of
// RedemptionRules.Validate.
var ErrInvalidRedemptionRules = errors.New("invalid redemption rules")

func invalidRedemption(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRedemptionRules, fmt.Sprintf(format, args...))
}

// Validate reports a rule that cannot be applied, naming the field.
func (r RedemptionRules) Validate() error {
	switch {
	case r.RatePoints <= 0:
		return invalidRedemption("rate points must be greater than 0 (for example 100 points = 100 cents; 1 = 1 for amount programs)")
	case r.RateValue <= 0:
		return invalidRedemption("rate value must be greater than 0 cents (for example 100 points = 100 cents; 1 = 1 for amount programs)")
	case r.MinBalance < 0:
		return invalidRedemption("min balance %d is negative", r.MinBalance)
	case r.MinCart < 0:
		return invalidRedemption("min cart %s is negative", moneyText(r.MinCart))
	case r.MinPoints < 0:
		return invalidRedemption("min points %d is negative", r.MinPoints)
	case r.MaxPoints < 0:
		return invalidRedemption("max points %d is negative (0 means no limit)", r.MaxPoints)
	case r.MaxPoints > 0 && r.MinPoints > r.MaxPoints:
		return invalidRedemption("min points %d is above max points %d: no order could ever redeem", r.MinPoints, r.MaxPoints)
	case r.MaxDiscountValue < 0:
		return invalidRedemption("max discount value %s is negative (0 means no limit)", moneyText(r.MaxDiscountValue))
	case r.MaxDiscountBasisPoints < 0 || r.MaxDiscountBasisPoints > 10000:
		return invalidRedemption("max discount basis points %d is outside 0 to 10000 (2000 = 20%%; 0 means no limit)", r.MaxDiscountBasisPoints)
	}
	switch r.Scope {
	case "", ScopeGoods, ScopeDocument:
	default:
		return invalidRedemption("scope %q is unknown (use goods or document)", r.Scope)
	}
	return nil
}

// Limits a Quote can name as the one that bound it.
const (
	LimitBalance    = "balance"
	LimitMaxPoints  = "max_points"
	LimitMaxValue   = "max_discount_value"
	LimitMaxPercent = "max_discount_percent"
	LimitBase       = "base"
)

// Quote is the most a customer may spend on a cart.
type Quote struct {
	MaxPoints int64  // most points that can be spent on this cart
	MaxValue  int64  // their value in cents
	Base      int64  // the amount the discount may cover (scope, exclusions)
	Reason    string // when MaxPoints == 0, why (minimum balance, minimum cart, nothing eligible...)
	// Limit is which limit bound MaxPoints (one of the Limit constants),
	// for the UI; empty when a minimum or an empty cart stopped the quote
	// before any limit applied.
	Limit string
}

// QuoteRedemption gives the most points of an earned balance that may pay
// for cart (SPEC 3.3).
//
// Points are spent in whole steps of the rate reduced to lowest terms
// (3 points = 1 cent spends in threes), so the value is always whole cents,
// and the most points is the largest number of steps within every limit:
// the balance, max points, max discount value, max percent of the base, and
// the base itself. Excluded products and, with ExcludeDiscounted, lines on
// promotion are out of the base, which is net of ordinary discounts. The
// cart's own FidelityDiscount is ignored: the quote is what the fidelity
// discount may be.
func QuoteRedemption(r RedemptionRules, earned int64, cart Document) (Quote, error) {
	if err := r.Validate(); err != nil {
		return Quote{}, err
	}
	goods, err := cart.goodsTotal()
	if err != nil {
		return Quote{}, err
	}
	nets, err := cart.lineNets()
	if err != nil {
		return Quote{}, err
	}
	var q Quote
	eligible := 0
	for i, l := range cart.Lines {
		if r.ExcludedProducts[l.Product] || (r.ExcludeDiscounted && l.Discounted) {
			continue
		}
		eligible++
		q.Base += nets[i] // fits: the nets add up to at most the goods total
	}
	if r.Scope == ScopeDocument {
		q.Base += cart.Shipping // fits: Validate added goods and shipping
	}

	switch {
	case earned <= 0:
		q.Reason = "there are no earned points to spend"
		return q, nil
	case earned < r.MinBalance:
		q.Reason = fmt.Sprintf("the earned balance of %d points is below the minimum of %d needed to redeem", earned, r.MinBalance)
		return q, nil
	case goods < r.MinCart:
		q.Reason = fmt.Sprintf("the cart of %s is below the minimum of %s needed to redeem points", moneyText(goods), moneyText(r.MinCart))
		return q, nil
	case q.Base == 0 && len(cart.Lines) == 0 && cart.Shipping == 0:
		q.Reason = "the cart is empty"
		return q, nil
	case q.Base == 0 && eligible < len(cart.Lines):
		q.Reason = "nothing in the cart can be paid with points: its products are excluded or already discounted"
		return q, nil
	case q.Base == 0:
		q.Reason = "nothing in the cart can be paid with points: what it may cover is worth 0 after discounts"
		return q, nil
	}

	g := gcd(r.RatePoints, r.RateValue)
	stepPoints, stepValue := r.RatePoints/g, r.RateValue/g
	steps := earned / stepPoints
	q.Limit = LimitBalance
	bound := func(limit string, n int64) {
		if n < steps {
			steps, q.Limit = n, limit
		}
	}
	if r.MaxPoints > 0 {
		bound(LimitMaxPoints, r.MaxPoints/stepPoints)
	}
	if r.MaxDiscountValue > 0 {
		bound(LimitMaxValue, r.MaxDiscountValue/stepValue)
	}
	if r.MaxDiscountBasisPoints > 0 {
		// Cannot overflow: the basis points are at most 10000, so the
		// result is at most the base.
		v, err := mulDiv(q.Base, r.MaxDiscountBasisPoints, 10000, RoundFloor)
		if err != nil {
			return Quote{}, err
		}
		bound(LimitMaxPercent, v/stepValue)
	}
	bound(LimitBase, q.Base/stepValue)

	// Both products are bounded by the balance and the base they were
	// divided from, so they fit.
	q.MaxPoints, q.MaxValue = steps*stepPoints, steps*stepValue
	switch {
	case steps == 0:
		q.Reason = fmt.Sprintf("nothing can be redeemed within the %s: the smallest redeemable amount is %d points for %s", limitText(q.Limit), stepPoints, moneyText(stepValue))
	case q.MaxPoints < r.MinPoints:
		q.Reason = fmt.Sprintf("at most %d points can be spent on this cart (bound by the %s), below the minimum of %d per order", q.MaxPoints, limitText(q.Limit), r.MinPoints)
		q.MaxPoints, q.MaxValue = 0, 0
	}
	return q, nil
}

func limitText(limit string) string {
	switch limit {
	case LimitBalance:
		return "earned balance"
	case LimitMaxPoints:
		return "maximum points per order"
	case LimitMaxValue:
		return "maximum discount value"
	case LimitMaxPercent:
		return "maximum discount percentage"
	case LimitBase:
		return "value the discount may cover"
	}
	return limit
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// TillQuoteOptions are the till's options for amount cards (seed 003).
type TillQuoteOptions struct {
	// ExcludeCurrentTransaction leaves what this bill earns out of the
	// usable balance.
	ExcludeCurrentTransaction bool
}

// TillDiscount is the most an amount card can take off this bill:
// min(balance + what this bill earns, bill), or with
// ExcludeCurrentTransaction min(balance, bill); never below zero. earned is
// what the bill earns when that discount is taken. The bill is goods net of
// ordinary discounts plus shipping; its FidelityDiscount is ignored, since
// choosing it is what this answers.
//
// By default the accrual is computed before the fidelity discount (seed
// 003: "lo sconto fidelity applicato sarà escluso dal calcolo"), so E1's
// card of 6.35 on a bill of 127.60 earning 6.38 may take off 12.73 and end
// at 0.00. Where the rules let the fidelity discount lower the base, the
// more is taken off the less the bill earns, and the answer is the largest
// discount still covered by the balance plus what the bill earns with that
// discount, so the card can never end below zero.
func TillDiscount(r AccrualRules, balance int64, bill Document, o TillQuoteOptions) (maxDiscount, earned int64, err error) {
	if err := r.Validate(); err != nil {
		return 0, 0, err
	}
	goods, err := bill.goodsTotal()
	if err != nil {
		return 0, 0, err
	}
	total := goods + bill.Shipping // fits: goodsTotal added them
	earnWith := func(discount int64) (int64, error) {
		b := bill
		b.FidelityDiscount = discount
		a, err := accrue(r, b)
		return a.Points, err
	}
	earned, err = earnWith(0)
	if err != nil {
		return 0, 0, err
	}
	if o.ExcludeCurrentTransaction {
		maxDiscount = min(max(balance, 0), total)
		if r.FidelityLowersBase {
			if earned, err = earnWith(maxDiscount); err != nil {
				return 0, 0, err
			}
		}
		return maxDiscount, earned, nil
	}
	usable, err := addInt64(balance, earned)
	if err != nil {
		return 0, 0, fmt.Errorf("card balance %s plus %s earned: %w", moneyText(balance), moneyText(earned), err)
	}
	maxDiscount = min(max(usable, 0), total)
	if !r.FidelityLowersBase || maxDiscount == 0 {
		return maxDiscount, earned, nil
	}
	// d - earn(d) grows strictly with d (earn never grows with the
	// discount), so the discounts the card covers are an interval from 0:
	// search its end. lo is always covered.
	lo, hi := int64(0), maxDiscount
	covered := func(d int64) (bool, int64, error) {
		e, err := earnWith(d)
		if err != nil {
			return false, 0, err
		}
		// d - e cannot overflow: both are non-negative.
		return d-e <= balance, e, nil
	}
	ok, e, err := covered(hi)
	if err != nil {
		return 0, 0, err
	}
	if ok {
		return hi, e, nil
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, _, err := covered(mid)
		if err != nil {
			return 0, 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	if earned, err = earnWith(lo); err != nil {
		return 0, 0, err
	}
	return lo, earned, nil
}
