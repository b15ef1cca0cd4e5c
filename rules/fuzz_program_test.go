package rules

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// fuzzProgram is every rule of a program, as configuration gives them.
type fuzzProgram struct {
	Accrual    AccrualRules
	Redemption RedemptionRules
	Catalogs   []Catalog
	Badges     []Badge
	Actions    ActionRules
	Gift       Gift
	Expiry     ExpiryPolicy
}

// fuzzDay is the day programs are built around.
var fuzzDay = Date{Year: 2026, Month: time.January, Day: 1}

func (f *fuzzInput) day() Date { return fuzzDay.AddDays(int(f.byte()) - 100) }

var fuzzCardTypes = []string{"", "GOLD", "silver", "BRONZE"}

func (f *fuzzInput) catalogs() []Catalog {
	var cats []Catalog
	for i := range f.pick(4) {
		c := Catalog{ID: fmt.Sprintf("C%d", i), ValidFrom: f.day()}
		c.ValidTo = c.ValidFrom.AddDays(int(f.byte()))
		if f.bool() {
			c.RedeemUntil = c.ValidTo.AddDays(int(f.byte() % 64))
		}
		switch f.pick(4) {
		case 1:
			c.CardTypes = []string{"GOLD"}
		case 2:
			c.CardTypes = []string{"gold", "SILVER"}
		}
		for j := range f.pick(4) {
			p := Prize{ID: fmt.Sprintf("P%d%d", i, j), Name: "prize", Kind: []PrizeKind{PrizeArticle, PrizeNonStock, PrizeVoucher}[f.pick(3)],
				Points: int64(f.uint(2)%3000) + 1, CoPayment: int64(f.byte()) * 10 * int64(f.byte()%2), PerCustomer: f.pick(3), Stock: f.pick(4)}
			if p.Kind == PrizeVoucher {
				p.Voucher = VoucherSpec{ValidDays: f.pick(400)}
				if f.bool() {
					p.Voucher.BasisPoints = int64(f.uint(2)) % 10001
				} else {
					p.Voucher.ValueCents = int64(f.uint(2))
				}
			}
			if f.rare() {
				p.Points = -p.Points
			}
			c.Prizes = append(c.Prizes, p)
		}
		if f.rare() {
			c.ValidTo = c.ValidFrom.AddDays(-1)
		}
		cats = append(cats, c)
	}
	return cats
}

func (f *fuzzInput) badges() []Badge {
	var bs []Badge
	from := int64(0)
	for i := range f.pick(5) {
		b := Badge{ID: fmt.Sprintf("B%d", i), Title: "tier", From: from + int64(f.byte())}
		if f.byte()%4 != 3 {
			b.To = b.From + int64(f.uint(2)%2000)
		}
		if f.rare() {
			b.From -= 300 // an overlap, or a negative start
		}
		bs = append(bs, b)
		from = b.To + 1
	}
	if len(bs) > 1 && f.bool() {
		bs[0], bs[len(bs)-1] = bs[len(bs)-1], bs[0] // not in order of From
	}
	return bs
}

var cronFields = [5][]string{
	{"*", "0", "30", "*/20", "5-10", "59"},
	{"*", "9", "0", "2", "*/6", "1-3"},
	{"*", "1", "15", "31", "29", "*/10"},
	{"*", "2", "*/3", "1,7", "12"},
	{"*", "1", "0", "1-5", "SUN"},
}

func (f *fuzzInput) schedule() string {
	switch f.pick(8) {
	case 0:
		return []string{"@daily", "@weekly", "@monthly", "@yearly", "@hourly", "@every 1h", "CRON_TZ=UTC 0 9 * * *", "", "61 * * * *"}[f.pick(9)]
	case 1:
		if f.rare() {
			return string(f.b) // anything at all
		}
	}
	parts := make([]string, 5)
	for i, opts := range cronFields {
		parts[i] = opts[f.pick(len(opts))]
	}
	return strings.Join(parts, " ")
}

func (f *fuzzInput) program(loc *time.Location) fuzzProgram {
	p := fuzzProgram{
		Accrual:    f.accrualRules(),
		Redemption: f.redemptionRules(),
		Catalogs:   f.catalogs(),
		Badges:     f.badges(),
		Actions:    ActionRules{Registration: int64(f.byte()), Newsletter: int64(f.byte()) * int64(f.byte()%2), Review: int64(f.byte()), ReviewOnce: f.bool()},
		Gift:       Gift{ID: "g", Schedule: f.schedule(), Points: int64(f.byte()%50) + 1, Location: loc},
	}
	switch f.pick(3) {
	case 1:
		p.Expiry = ExpiryPolicy{Kind: ExpiryDays, Days: f.pick(800) + 1}
	case 2:
		p.Expiry = ExpiryPolicy{Kind: ExpiryFixedDate, Date: f.day()}
	}
	return p
}

// FuzzProgram builds a whole program from the fuzzer's bytes (accrual in
// steps or proportional with rounding and product rules, redemption
// limits and rates, catalogs with windows, card types, prizes with limits
// and vouchers, badges, actions, a periodic gift, expiry) and a customer
// with a cart at some moment, and holds every rule to its promises: no
// panic and only documented errors; accrual never negative and never
// lower for a cart with one more line; a quote never above the balance
// or the cart, and never lower for a larger balance; a prize redeemable
// exactly when the catalog lists it so, and then within its window,
// limits and the balance; a voucher never worth more than what it
// discounts; one badge at most; gifts on schedule, once each, the same
// whether asked for in one span or two; the rules version stable.
func FuzzProgram(f *testing.F) {
	f.Add([]byte{})
	f.Add(fuzzSeedE3)
	f.Add([]byte("\x00\x01\x05\x00\x00\x64\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x63\x00\x64\x00\x00\x00\x01\x01\x00\x10\x00\x02\x00\x00\x10\x03\x00\x01\x02\x01\x00\x02\x00\x01\x01\x00\x64\x05\x00\x01\x02\x00\x03\x0a\x00\x02\x01\x03\xe8\x00\x00\x03\xe8\x00\x01\x90\x00\x64\x02\x01\x01\x05\x09\x00\x03\x00\x01\x00\x90\x00\x01\xf4\x30"))
	f.Add([]byte("\x01\x00\x09\x00\x01\xf4\x02\x01\x01\x01\x00\x00\x00\x00\x01\x00\x02\x00\x00\x03\x00\x64\x00\x01\x00\x01\x00\x05\x03\x01\x02\x00\x00\x00\x50\x02\x00\x05\x01\x02\x00\x14\x00\x00\x02\x02\x00\x00\x01\x02\x40\x00\x00\x10\x00\x70\x02\x01\x01\x00\x03\x00\x03\x04\x02\x03\x02\x01\x00\x00\x09\xc4\x00\x27\x10\x00\x02\x58\x00\x00\x01\xf4\x01\x01\x01\x02\x00\x40\x90"))
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{b: data}
		p := in.program(loc)
		cart := in.document()
		extra := Line{Product: fuzzProducts[in.pick(len(fuzzProducts))], Quantity: in.amount() % 100000, Gross: in.amount() % 10000000, Discounted: in.bool()}
		extra.Discount = in.within(extra.Gross)
		balance := in.amount()
		more := int64(in.uint(2))
		cardType := fuzzCardTypes[in.pick(len(fuzzCardTypes))]
		now := in.day().Start(loc).Add(time.Duration(in.uint(3)%86400) * time.Second)
		used := Redeemed{Customer: map[string]int{}, Total: map[string]int{}}
		for _, c := range p.Catalogs {
			for _, pz := range c.Prizes {
				used.Customer[pz.ID], used.Total[pz.ID] = in.pick(3), in.pick(5)
			}
		}

		checkProgramAccrual(t, p.Accrual, cart, extra)
		checkProgramQuote(t, p.Redemption, cart, balance, more)
		checkCatalogs(t, p.Catalogs, cardType, balance, more, used, now, loc, cart)
		checkBadges(t, p.Badges, balance)
		checkActions(t, p.Actions, in.pick(3), in.pick(2))
		checkGift(t, p.Gift, now, time.Duration(in.uint(2)%(24*120))*time.Hour)
		if p.Expiry.Validate() == nil && p.Expiry.Kind == ExpiryDays {
			if exp, ok := p.Expiry.ExpiresAt(now, loc); !ok || !exp.After(now) {
				t.Fatalf("points earned at %v under %+v expire at %v, %v", now, p.Expiry, exp, ok)
			}
		}
		v1, err1 := RulesVersion(p)
		v2, err2 := RulesVersion(p)
		if err1 != nil || err2 != nil || v1 != v2 || len(v1) != 12 {
			t.Fatalf("rules version %q, %v then %q, %v", v1, err1, v2, err2)
		}
	})
}

// checkProgramAccrual: a cart never earns a negative amount, and one line
// more never earns less.
func checkProgramAccrual(t *testing.T, r AccrualRules, cart Document, extra Line) {
	t.Helper()
	a, err := Accrue(r, cart)
	if err != nil {
		if !knownError(err) {
			t.Fatalf("Accrue: unexpected error %v", err)
		}
		return
	}
	checkAccrual(t, r, cart, a)
	bigger := cart
	bigger.Lines = append(slices.Clone(cart.Lines), extra)
	b, err := Accrue(r, bigger)
	if err != nil {
		if !knownError(err) {
			t.Fatalf("Accrue with a line more: unexpected error %v", err)
		}
		return
	}
	if b.Points < a.Points {
		t.Fatalf("rules %+v: the cart earns %d, with line %+v more it earns %d\ncart %+v", r, a.Points, extra, b.Points, cart)
	}
}

// checkProgramQuote: a quote is within the balance and the cart, and a
// larger balance never quotes less.
func checkProgramQuote(t *testing.T, r RedemptionRules, cart Document, balance, more int64) {
	t.Helper()
	q, err := QuoteRedemption(r, balance, cart)
	if err != nil {
		if !knownError(err) {
			t.Fatalf("QuoteRedemption: unexpected error %v", err)
		}
		return
	}
	goods, _ := cart.goodsTotal()
	if q.MaxPoints < 0 || q.MaxValue < 0 || q.MaxPoints > max(balance, 0) || q.MaxValue > goods+cart.Shipping {
		t.Fatalf("quote %+v for balance %d on a cart of %d", q, balance, goods+cart.Shipping)
	}
	if balance > 1<<62 {
		return
	}
	q2, err := QuoteRedemption(r, balance+more, cart)
	if err != nil {
		t.Fatalf("QuoteRedemption with balance %d: %v, with %d it quoted", balance+more, err, balance)
	}
	if q2.MaxPoints < q.MaxPoints {
		t.Fatalf("rules %+v: balance %d quotes %d points, balance %d quotes %d", r, balance, q.MaxPoints, balance+more, q2.MaxPoints)
	}
}

func dayWithin(d, from, to Date) bool { return !dateAfter(from, d) && !dateAfter(d, to) }

// checkCatalogs holds accrual windows, redemption, thresholds and
// vouchers to the catalogs as configured.
func checkCatalogs(t *testing.T, cats []Catalog, cardType string, earned, more int64, used Redeemed, now time.Time, loc *time.Location, cart Document) {
	t.Helper()
	if err := ValidateCatalogs(cats); err != nil {
		return
	}
	day := DateOf(now.In(loc))
	id, ok, reason := AccrualWindow(cats, cardType, now, loc)
	var open []Catalog
	for _, c := range cats {
		if c.AppliesTo(cardType) && dayWithin(day, c.ValidFrom, c.ValidTo) {
			open = append(open, c)
		}
	}
	switch {
	case ok && !slices.ContainsFunc(open, func(c Catalog) bool { return c.ID == id }):
		t.Fatalf("day %s, card type %q: accrual in catalog %q, which is not open for it", day, cardType, id)
	case !ok && (len(open) > 0 || reason == ""):
		t.Fatalf("day %s, card type %q: no accrual (%q) while %d catalogs are open", day, cardType, reason, len(open))
	}

	entries := Redeemable(cats, cardType, earned, used, now, loc)
	listed := map[string]RedeemableEntry{}
	for _, e := range entries {
		listed[e.Catalog+"/"+e.Prize.ID] = e
	}
	var cheapest *Prize
	for _, c := range cats {
		for _, pz := range c.Prizes {
			e, isListed := listed[c.ID+"/"+pz.ID]
			got, err := CheckRedemption(cats, c.ID, pz.ID, cardType, earned, used, now, loc)
			applies, beforeDeadline := c.AppliesTo(cardType), !dateAfter(day, c.Deadline())
			if isListed != (applies && beforeDeadline) {
				t.Fatalf("prize %s of %s listed %v: applies %v, deadline %s, day %s", pz.ID, c.ID, isListed, applies, c.Deadline(), day)
			}
			if isListed && e.Redeemable != (err == nil) || isListed && !e.Redeemable && e.Reason == "" {
				t.Fatalf("prize %s listed %+v, CheckRedemption %v", pz.ID, e, err)
			}
			var pe *PrizeError
			if err != nil && (!errors.As(err, &pe) || pe.Detail == "") {
				t.Fatalf("CheckRedemption(%s): error %T %v", pz.ID, err, err)
			}
			if err == nil {
				switch {
				case got.ID != pz.ID || !applies || !dayWithin(day, c.ValidFrom, c.Deadline()):
					t.Fatalf("prize %s redeemable on %s (%s to %s, for %q)", pz.ID, day, c.ValidFrom, c.Deadline(), c.CardTypes)
				case earned < pz.Points:
					t.Fatalf("prize %s of %d points redeemable with %d", pz.ID, pz.Points, earned)
				case pz.PerCustomer > 0 && used.Customer[pz.ID] >= pz.PerCustomer, pz.Stock > 0 && used.Total[pz.ID] >= pz.Stock:
					t.Fatalf("prize %s redeemable past its limits: %+v, used %d of %d, %d of %d", pz.ID, pz, used.Customer[pz.ID], pz.PerCustomer, used.Total[pz.ID], pz.Stock)
				}
			}
			if applies && dayWithin(day, c.ValidFrom, c.Deadline()) && (cheapest == nil || pz.Points < cheapest.Points) {
				cheapest = &pz
			}
			if pz.Kind == PrizeVoucher {
				checkVoucher(t, pz.Voucher, cart, now, loc)
			}
		}
	}
	if earned > 1<<62 {
		return
	}
	won, crossed := ThresholdCrossed(cats, cardType, earned, earned+more, now, loc)
	want := cheapest != nil && earned < cheapest.Points && earned+more >= cheapest.Points
	if crossed != want || crossed && won.ID != cheapest.ID {
		t.Fatalf("balance %d to %d: threshold %v (%s); the cheapest open prize is %+v", earned, earned+more, crossed, won.ID, cheapest)
	}
}

// checkVoucher: a voucher takes off at most what it discounts, a larger
// base never less, a percentage exactly its share rounded down, and it
// expires after it is issued.
func checkVoucher(t *testing.T, v VoucherSpec, cart Document, issued time.Time, loc *time.Location) {
	t.Helper()
	goods, err := cart.goodsTotal()
	if err != nil || v.Validate() != nil {
		return
	}
	for _, base := range []int64{goods, goods + cart.Shipping, 0, -goods} {
		d := v.Discount(base)
		if d < 0 || d > max(base, 0) {
			t.Fatalf("voucher %+v takes %d off %d", v, d, base)
		}
		if v.BasisPoints > 0 && base > 0 {
			want := new(big.Int).Quo(new(big.Int).Mul(big.NewInt(base), big.NewInt(v.BasisPoints)), big.NewInt(10000))
			if want.Int64() != d {
				t.Fatalf("voucher %+v takes %d off %d, its share is %s", v, d, base, want)
			}
		}
		if base < 1<<62 && v.Discount(base+1) < d {
			t.Fatalf("voucher %+v takes %d off %d but %d off %d", v, d, base, v.Discount(base+1), base+1)
		}
	}
	if exp, ok := v.ExpiresAt(issued, loc); ok != (v.ValidDays > 0) || ok && !exp.After(issued) {
		t.Fatalf("voucher %+v issued %v expires %v, %v", v, issued, exp, ok)
	}
}

// checkBadges: with ranges that do not overlap, a balance holds one badge
// at most, and the next is the nearest above it.
func checkBadges(t *testing.T, badges []Badge, earned int64) {
	t.Helper()
	if ValidateBadges(badges) != nil {
		return
	}
	cur, next := BadgesFor(badges, earned)
	if len(cur) > 1 || len(cur) == 1 && !cur[0].Holds(earned) {
		t.Fatalf("balance %d holds %+v", earned, cur)
	}
	for _, b := range badges {
		if b.Holds(earned) && (len(cur) == 0 || cur[0].ID != b.ID) {
			t.Fatalf("balance %d holds %s, BadgesFor gives %+v", earned, b.ID, cur)
		}
		if b.From > earned && (next == nil || b.From < next.From) {
			t.Fatalf("balance %d: next badge %+v, but %s starts at %d", earned, next, b.ID, b.From)
		}
	}
	if next != nil && next.From <= earned {
		t.Fatalf("balance %d: next badge %+v is not above it", earned, next)
	}
}

// checkActions: an action earns what the rules say or nothing with a
// reason, once where the rules say once.
func checkActions(t *testing.T, r ActionRules, kind, already int) {
	t.Helper()
	if r.Validate() != nil {
		return
	}
	k := []ActionKind{ActionRegistration, ActionNewsletter, ActionReview}[kind]
	pts, key, reason := ActionPoints(r, k, already, "R1")
	if pts < 0 || (pts == 0) != (reason != "") || key == "" {
		t.Fatalf("%s (already %d) under %+v: %d points, key %q, reason %q", k, already, r, pts, key, reason)
	}
	if already > 0 && (k != ActionReview || r.ReviewOnce) && pts != 0 {
		t.Fatalf("%s awarded again (already %d): %d points", k, already, pts)
	}
}

// checkGift: the occurrences in a span are in order, inside it, each
// once, and the same when the span is asked for in two halves.
func checkGift(t *testing.T, g Gift, last time.Time, span time.Duration) {
	t.Helper()
	if g.Validate() != nil {
		return
	}
	now := last.Add(span)
	all, more, err := g.Due(last, now)
	if err != nil {
		t.Fatalf("gift %q: %v", g.Schedule, err)
	}
	keys := map[string]bool{}
	for i, at := range all {
		if !at.After(last) || at.After(now) || i > 0 && !at.After(all[i-1]) || keys[g.Key(at)] {
			t.Fatalf("gift %q from %v to %v: occurrence %d at %v out of place (%v)", g.Schedule, last, now, i, at, all)
		}
		keys[g.Key(at)] = true
	}
	if more || len(all) > MaxGiftOccurrences {
		return
	}
	mid := last.Add(span / 2)
	a, moreA, errA := g.Due(last, mid)
	b, moreB, errB := g.Due(mid, now)
	if errA != nil || errB != nil || moreA || moreB {
		t.Fatalf("gift %q split at %v: %v, %v, %v, %v", g.Schedule, mid, errA, errB, moreA, moreB)
	}
	if split := append(a, b...); !slices.EqualFunc(split, all, time.Time.Equal) {
		t.Fatalf("gift %q from %v to %v: %d occurrences at once, %d in two halves", g.Schedule, last, now, len(all), len(split))
	}
}
