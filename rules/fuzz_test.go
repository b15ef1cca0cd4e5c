package rules

import (
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

// fuzzInput turns fuzz bytes into rules and documents. Most values are
// small and valid, so the fuzzer spends its time in the arithmetic; a few
// are huge or negative, so it also probes overflow and validation. Past the
// end of the input every read is zero.
type fuzzInput struct{ b []byte }

func (f *fuzzInput) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	v := f.b[0]
	f.b = f.b[1:]
	return v
}

func (f *fuzzInput) uint(n int) uint64 {
	var v uint64
	for range n {
		v = v<<8 | uint64(f.byte())
	}
	return v
}

func (f *fuzzInput) bool() bool { return f.byte()&1 == 1 }

func (f *fuzzInput) pick(n int) int { return int(f.byte()) % n }

// amount is mostly 0 to 65535, sometimes up to 2^32, rarely anything up to
// MaxInt64 or negative.
func (f *fuzzInput) amount() int64 {
	switch c := f.byte() % 64; {
	case c < 56:
		return int64(f.uint(2))
	case c < 60:
		return int64(f.uint(4))
	case c < 63:
		return int64(f.uint(8) >> 1)
	default:
		return -int64(f.uint(2)) - 1
	}
}

// within is an amount from 0 to hi, for a discount that should usually fit
// what it discounts; once in a while it is a free amount, valid or not.
func (f *fuzzInput) within(hi int64) int64 {
	if f.rare() {
		return f.amount()
	}
	if hi <= 0 {
		return 0
	}
	return int64(f.uint(8)>>1) % (hi + 1)
}

var fuzzProducts = []string{"A", "B", "C", "D", ""}

// rare is true about once in 32 reads: for the invalid choices, so that
// most inputs get past validation into the arithmetic. A zero byte (and so
// the end of the input) is never rare.
func (f *fuzzInput) rare() bool { return f.byte()%32 == 31 }

// ratio is mostly a small positive number, as configured rates are.
func (f *fuzzInput) ratio() int64 {
	c := f.byte()
	if c%4 == 3 {
		return f.amount()
	}
	return int64(c) + 1
}

// limit is 0 (no limit) half the time.
func (f *fuzzInput) limit() int64 {
	if f.bool() {
		return 0
	}
	return f.amount()
}

func (f *fuzzInput) accrualRules() AccrualRules {
	r := AccrualRules{
		Base:                   []Base{BaseValue, BaseQuantity, ""}[f.pick(3)],
		Mode:                   []Mode{ModeSteps, ModeProportional}[f.pick(2)],
		Points:                 f.ratio(),
		Per:                    f.ratio(),
		Rounding:               []Rounding{"", RoundFloor, RoundHalfUp, RoundCeil}[f.pick(4)],
		FidelityLowersBase:     f.bool(),
		ShippingInBase:         f.bool(),
		ExcludeDiscountedLines: f.bool(),
	}
	switch {
	case f.rare():
		r.Base = "weight"
	case f.rare():
		r.Mode = []Mode{"", "tiers"}[f.pick(2)]
	case f.rare():
		r.Rounding = "odd"
	case f.byte()%8 == 7:
		r.Points = 0
	}
	if n := f.pick(4); n > 0 {
		r.Products = map[string]ProductRule{}
		for range n {
			p := fuzzProducts[f.pick(len(fuzzProducts)-1)]
			switch f.pick(3) {
			case 0:
				r.Products[p] = ProductRule{Kind: ProductFixed, Points: f.ratio()}
			case 1:
				r.Products[p] = ProductRule{Kind: ProductPercent, BasisPoints: f.ratio() * 50}
			default:
				r.Products[p] = ProductRule{Kind: ProductExclude}
			}
			if f.rare() {
				r.Products[fuzzProducts[len(fuzzProducts)-1]] = ProductRule{Kind: "bogus", Points: f.amount()}
			}
		}
	}
	return r
}

func (f *fuzzInput) redemptionRules() RedemptionRules {
	r := RedemptionRules{
		RatePoints:       f.ratio(),
		RateValue:        f.ratio(),
		MaxPoints:        f.limit(),
		MaxDiscountValue: f.limit(),
		Scope:            []Scope{"", ScopeGoods, ScopeDocument}[f.pick(3)],
	}
	if f.byte()%4 == 3 {
		r.MinBalance = f.amount()
	}
	if f.byte()%4 == 3 {
		r.MinCart = f.amount()
	}
	if f.byte()%4 == 3 {
		r.MinPoints = f.amount()
	}
	if f.bool() {
		r.MaxDiscountBasisPoints = int64(f.uint(2)) % 10001
	}
	if f.rare() {
		r.Scope = "all"
	}
	if f.rare() {
		r.MaxDiscountBasisPoints = 10001
	}
	r.ExcludeDiscounted = f.bool()
	if f.bool() {
		r.ExcludedProducts = map[string]bool{fuzzProducts[f.pick(len(fuzzProducts))]: f.bool()}
	}
	return r
}

func (f *fuzzInput) document() Document {
	d := Document{Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var net int64
	for range f.pick(7) {
		l := Line{Product: fuzzProducts[f.pick(len(fuzzProducts))], Quantity: f.amount(), Gross: f.amount(), Discounted: f.bool()}
		l.Discount = f.within(l.Gross)
		if l.Gross >= 0 && l.Discount >= 0 && l.Discount <= l.Gross && net <= math.MaxInt64-l.Gross {
			net += l.Gross - l.Discount
		}
		d.Lines = append(d.Lines, l)
	}
	d.Discount = f.within(net)
	d.Shipping = f.amount() * int64(f.byte()%2)
	d.FidelityDiscount = f.within(net - d.Discount + d.Shipping)
	return d
}

// knownError reports whether err is one the rules promise (bad input or an
// amount too large); anything else is a bug.
func knownError(err error) bool {
	return errors.Is(err, ErrInvalidDocument) || errors.Is(err, ErrInvalidAccrualRules) ||
		errors.Is(err, ErrInvalidRedemptionRules) || errors.Is(err, ErrAmountOverflow)
}

func bigOf(v int64) *big.Int { return big.NewInt(v) }

// bigMulDiv is a*b/c rounded by mode, computed without any limit.
func bigMulDiv(a, b, c int64, mode Rounding) *big.Int {
	q, m := new(big.Int).DivMod(new(big.Int).Mul(bigOf(a), bigOf(b)), bigOf(c), new(big.Int))
	switch mode {
	case RoundCeil:
		if m.Sign() > 0 {
			q.Add(q, bigOf(1))
		}
	case RoundHalfUp:
		if new(big.Int).Mul(m, bigOf(2)).Cmp(bigOf(c)) >= 0 {
			q.Add(q, bigOf(1))
		}
	}
	return q
}

func FuzzMulDiv(f *testing.F) {
	f.Add(int64(7), int64(3), int64(2), uint8(2))
	f.Add(int64(math.MaxInt64), int64(3), int64(2), uint8(1))
	f.Add(int64(thirdOfMaxUint64), int64(3), int64(2), uint8(3))
	f.Fuzz(func(t *testing.T, a, b, c int64, m uint8) {
		mode := []Rounding{"", RoundFloor, RoundHalfUp, RoundCeil}[m%4]
		got, err := mulDiv(a, b, c, mode)
		if a < 0 || b < 0 || c <= 0 {
			if err == nil {
				t.Fatalf("mulDiv(%d, %d, %d) accepted a negative operand or a zero divisor", a, b, c)
			}
			return
		}
		want := bigMulDiv(a, b, c, mode)
		if !want.IsInt64() {
			if !errors.Is(err, ErrAmountOverflow) {
				t.Fatalf("mulDiv(%d, %d, %d, %s) = %d, %v; want an overflow (%s)", a, b, c, mode, got, err, want)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("mulDiv(%d, %d, %d, %s) = %d, %v; want %s", a, b, c, mode, got, err, want)
		}
	})
}

func FuzzAccrue(f *testing.F) {
	f.Add([]byte{})
	f.Add(fuzzSeedE3)
	f.Add([]byte("\x00\x00\x00\x0a\x00\x01\xf4\x00\x00\x01\x00\x03\x01\x00\x00\x03\xe8\x00\x12\xb7\x00"))
	f.Add([]byte("\x01\x01\x00\x00\x05\x00\x00\x64\x02\x01\x01\x00\x02\x00\x01\x00\x00\x05\x02\x00\x09\xc4\x00\x31\xd8\x01\x00\xff\x10"))
	f.Add([]byte("\x00\x00\x1e\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x02\x03\x00\x00\x01\x06\x00\x03\xe8\x1c\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{b: data}
		r := in.accrualRules()
		d := in.document()
		balance := in.amount()
		exclude := in.bool()

		a, err := Accrue(r, d)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("Accrue: unexpected error %v", err)
			}
			return
		}
		checkAccrual(t, r, d, a)

		// Crediting every line, every discount and the shipping takes back
		// everything; crediting part never takes back more than that.
		all, err := Takeback(r, d, d)
		if err != nil || all != a.Points {
			t.Fatalf("Takeback of the whole document = %d, %v; want %d", all, err, a.Points)
		}
		credit := Document{Shipping: d.Shipping / 2}
		for i, l := range d.Lines {
			if i%2 == 0 {
				credit.Lines = append(credit.Lines, Line{Product: l.Product, Quantity: l.Quantity / 2, Gross: l.Net() / 3})
			}
		}
		part, err := Takeback(r, d, credit)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("Takeback: unexpected error %v", err)
			}
		} else if part < 0 || part > a.Points {
			t.Fatalf("Takeback of part = %d, outside 0 to %d", part, a.Points)
		}

		checkTill(t, r, balance, d, TillQuoteOptions{ExcludeCurrentTransaction: exclude})
	})
}

// checkAccrual recomputes what Accrue promises from its own parts.
func checkAccrual(t *testing.T, r AccrualRules, d Document, a Accrual) {
	t.Helper()
	if a.Points < 0 || a.General < 0 || a.Base < 0 {
		t.Fatalf("negative accrual %+v", a)
	}
	if (a.Points == 0) != (a.Reason != "") {
		t.Fatalf("points %d with reason %q", a.Points, a.Reason)
	}
	sum := bigOf(a.General)
	var nets, generalNet, generalQty int64
	for i, l := range a.Lines {
		if l.Points < 0 || l.Net < 0 || l.Net > d.Lines[i].Net() {
			t.Fatalf("line %d: %+v (line net %d)", i, l, d.Lines[i].Net())
		}
		if l.Rule != LineFixed && l.Rule != LinePercent && l.Points != 0 {
			t.Fatalf("line %d earns %d under rule %s", i, l.Points, l.Rule)
		}
		sum.Add(sum, bigOf(l.Points))
		nets += l.Net
		if l.Rule == LineGeneral {
			generalNet += l.Net
			generalQty += l.Quantity
		}
	}
	if sum.Cmp(bigOf(a.Points)) != 0 {
		t.Fatalf("general %d plus lines is %s, total %d", a.General, sum, a.Points)
	}
	var lineNets int64
	for _, l := range d.Lines {
		lineNets += l.Net()
	}
	if nets != lineNets-d.Discount {
		t.Fatalf("line nets add up to %d, want %d less the document discount %d", nets, lineNets, d.Discount)
	}
	base := generalQty
	if r.Base != BaseQuantity {
		base = generalNet
		if r.ShippingInBase {
			base += d.Shipping
		}
		if r.FidelityLowersBase {
			base = max(0, base-d.FidelityDiscount)
		}
	}
	if a.Base != base {
		t.Fatalf("base %d, want %d", a.Base, base)
	}
	want := new(big.Int)
	if r.Points > 0 {
		if r.Mode == ModeSteps {
			want.Mul(bigOf(r.Points), bigOf(base/r.Per))
		} else {
			want = bigMulDiv(r.Points, base, r.Per, r.Rounding)
		}
	}
	if want.Cmp(bigOf(a.General)) != 0 {
		t.Fatalf("general rule gave %d on base %d, want %s", a.General, base, want)
	}
}

// checkTill holds TillDiscount to its promise: within the bill and the
// balance plus what the bill earns with that discount, and the largest such.
func checkTill(t *testing.T, r AccrualRules, balance int64, bill Document, o TillQuoteOptions) {
	t.Helper()
	got, earned, err := TillDiscount(r, balance, bill, o)
	if err != nil {
		if !knownError(err) {
			t.Fatalf("TillDiscount: unexpected error %v", err)
		}
		return
	}
	goods, err := bill.goodsTotal()
	if err != nil {
		t.Fatalf("TillDiscount accepted a bill Validate refuses: %v", err)
	}
	billTotal := goods + bill.Shipping
	earnAt := func(d int64) int64 {
		b := bill
		b.FidelityDiscount = d
		a, err := Accrue(r, b)
		if err != nil {
			t.Fatalf("Accrue with fidelity discount %d: %v", d, err)
		}
		return a.Points
	}
	if got < 0 || got > billTotal || earned < 0 {
		t.Fatalf("TillDiscount = %d, %d on a bill of %d", got, earned, billTotal)
	}
	if e := earnAt(got); e != earned {
		t.Fatalf("TillDiscount says the bill earns %d, Accrue says %d with discount %d", earned, e, got)
	}
	usable := func(d int64) *big.Int {
		u := bigOf(max(balance, 0))
		if !o.ExcludeCurrentTransaction {
			u = new(big.Int).Add(bigOf(balance), bigOf(earnAt(d)))
		}
		return u
	}
	if got > 0 && bigOf(got).Cmp(usable(got)) > 0 {
		t.Fatalf("discount %d is above the usable %s (balance %d)", got, usable(got), balance)
	}
	if got < billTotal && bigOf(got+1).Cmp(usable(got+1)) <= 0 {
		t.Fatalf("discount %d is not the largest: %d is covered too (balance %d)", got, got+1, balance)
	}
}

func FuzzQuote(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x00\x64\x00\x00\x64\x00\x00\x01\xf4\x01\x00\x07\xd0\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x07\xd0\x00\x00\x01\x00\x00\x13\x88\x00\x00\x00\x0b\xb8"))
	f.Add([]byte("\x00\x00\x03\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x01\x01\x01\x01\x02\x00\x05\xdc\x00\x00\x00\x01\x00\x01\xf4\x00\x00\x13\x88"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{b: data}
		r := in.redemptionRules()
		cart := in.document()
		earned := in.amount()

		q, err := QuoteRedemption(r, earned, cart)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("QuoteRedemption: unexpected error %v", err)
			}
			return
		}
		goods, err := cart.goodsTotal()
		if err != nil {
			t.Fatalf("QuoteRedemption accepted a cart Validate refuses: %v", err)
		}
		cartTotal := goods + cart.Shipping
		if q.MaxPoints < 0 || q.MaxValue < 0 || q.Base < 0 || q.Base > cartTotal {
			t.Fatalf("quote %+v on a cart of %d", q, cartTotal)
		}
		if (q.MaxPoints == 0) != (q.Reason != "") {
			t.Fatalf("quote %+v: a reason exactly when nothing can be spent", q)
		}
		if q.MaxPoints == 0 {
			if q.MaxValue != 0 {
				t.Fatalf("quote %+v: a value for no points", q)
			}
			return
		}
		// The value is exactly the points at the rate, in whole cents.
		if new(big.Int).Mul(bigOf(q.MaxPoints), bigOf(r.RateValue)).Cmp(new(big.Int).Mul(bigOf(q.MaxValue), bigOf(r.RatePoints))) != 0 {
			t.Fatalf("quote %+v: %d points are not worth %d cents at %d = %d", q, q.MaxPoints, q.MaxValue, r.RatePoints, r.RateValue)
		}
		earnedValue := bigMulDiv(earned, r.RateValue, r.RatePoints, RoundFloor)
		switch {
		case q.MaxPoints > earned:
			t.Fatalf("quote %+v spends more than the %d earned", q, earned)
		case bigOf(q.MaxValue).Cmp(earnedValue) > 0:
			t.Fatalf("quote %+v is worth more than the earned balance (%s)", q, earnedValue)
		case q.MaxValue > q.Base || q.MaxValue > cartTotal:
			t.Fatalf("quote %+v covers more than its base or the cart (%d)", q, cartTotal)
		case r.MaxPoints > 0 && q.MaxPoints > r.MaxPoints:
			t.Fatalf("quote %+v above max points %d", q, r.MaxPoints)
		case r.MaxDiscountValue > 0 && q.MaxValue > r.MaxDiscountValue:
			t.Fatalf("quote %+v above max value %d", q, r.MaxDiscountValue)
		case r.MaxDiscountBasisPoints > 0 && bigOf(q.MaxValue).Cmp(bigMulDiv(q.Base, r.MaxDiscountBasisPoints, 10000, RoundFloor)) > 0:
			t.Fatalf("quote %+v above %d basis points of the base", q, r.MaxDiscountBasisPoints)
		case q.MaxPoints < r.MinPoints || earned < r.MinBalance || goods < r.MinCart:
			t.Fatalf("quote %+v below a minimum: %+v, earned %d, goods %d", q, r, earned, goods)
		}
		// One more step of the rate would break some limit: the quote is
		// the most, not merely an allowed amount.
		g := gcd(r.RatePoints, r.RateValue)
		nextPoints := new(big.Int).Add(bigOf(q.MaxPoints), bigOf(r.RatePoints/g))
		nextValue := new(big.Int).Add(bigOf(q.MaxValue), bigOf(r.RateValue/g))
		breaks := nextPoints.Cmp(bigOf(earned)) > 0 ||
			(r.MaxPoints > 0 && nextPoints.Cmp(bigOf(r.MaxPoints)) > 0) ||
			(r.MaxDiscountValue > 0 && nextValue.Cmp(bigOf(r.MaxDiscountValue)) > 0) ||
			(r.MaxDiscountBasisPoints > 0 && nextValue.Cmp(bigMulDiv(q.Base, r.MaxDiscountBasisPoints, 10000, RoundFloor)) > 0) ||
			nextValue.Cmp(bigOf(q.Base)) > 0
		if !breaks {
			t.Fatalf("quote %+v is not the most: %s points (%s cents) fit every limit", q, nextPoints, nextValue)
		}
	})
}

// fuzzSeedE3 decodes to SPEC E3: 10 points every 5.00 on 47.99.
var fuzzSeedE3 = []byte{
	0, 0, // base value, mode steps
	9,            // points: a small ratio, 9+1
	3, 0, 1, 244, // per: a full amount, 500
	0, 0, 0, 0, // rounding, three flags
	0, 0, 0, 0, // nothing rare, points kept
	0,         // no product rules
	1,         // one line
	0,         // product A
	0, 3, 232, // quantity 1000
	0, 18, 191, // gross 4799
}

// TestFuzzInputDecodes keeps the fuzz decoder honest: a fixed input gives
// valid rules and a valid document, so the fuzz targets do exercise the
// arithmetic rather than only validation.
func TestFuzzInputDecodes(t *testing.T) {
	in := &fuzzInput{b: fuzzSeedE3}
	r := in.accrualRules()
	d := in.document()
	a, err := Accrue(r, d)
	if err != nil || a.Points != 90 {
		t.Fatalf("rules %+v, document %+v: %d, %v; want E3's 90", r, d, a.Points, err)
	}
}
