package rules

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Catalog is a prize catalog ("catalogo premi"). Its window both bounds
// accrual and opens redemption; its deadline lets customers redeem after
// accrual has stopped (SPEC 3.4, 3.1).
type Catalog struct {
	ID   string
	Name string
	// CardTypes the catalog belongs to; empty means the whole program.
	CardTypes []string
	// ValidFrom and ValidTo are the accrual window, both days included, in
	// the program zone.
	ValidFrom, ValidTo Date
	// RedeemUntil is the last day prizes can be redeemed. The zero Date
	// means ValidTo, so a catalog without a separate deadline closes
	// redemption when it closes accrual.
	RedeemUntil Date
	Prizes      []Prize
}

// PrizeKind is what redeeming a prize hands over.
type PrizeKind string

const (
	// PrizeArticle is a stock article; the operator handles the stock
	// movement, pointsync only takes the points.
	PrizeArticle PrizeKind = "article"
	// PrizeNonStock is a descriptive item outside the warehouse.
	PrizeNonStock PrizeKind = "non_stock"
	// PrizeVoucher issues a single-use voucher code to the customer.
	PrizeVoucher PrizeKind = "voucher"
)

// Valid reports whether k is a known prize kind.
func (k PrizeKind) Valid() bool {
	return k == PrizeArticle || k == PrizeNonStock || k == PrizeVoucher
}

// Prize is one line of a catalog. Its ID is unique across all the catalogs
// of a program, so redemption counts can be keyed by it alone.
type Prize struct {
	ID     string
	Name   string
	Kind   PrizeKind
	Points int64
	// CoPayment is money paid on top of the points ("contributo"), in cents.
	CoPayment int64
	// PerCustomer is how many times one customer may redeem it; 0 is no limit.
	PerCustomer int
	// Stock is how many may be redeemed in total; 0 is no limit.
	Stock int
	// Voucher describes the voucher issued, for Kind PrizeVoucher only.
	Voucher VoucherSpec
}

// Deadline is the last day the catalog's prizes can be redeemed.
func (c Catalog) Deadline() Date {
	if c.RedeemUntil.IsZero() {
		return c.ValidTo
	}
	return c.RedeemUntil
}

// AppliesTo reports whether the catalog covers customers of cardType. A
// customer without a card type ("") is covered only by whole-program
// catalogs. Card type codes compare without regard to case because ERPs and
// till files disagree on it.
func (c Catalog) AppliesTo(cardType string) bool {
	if len(c.CardTypes) == 0 {
		return true
	}
	for _, ct := range c.CardTypes {
		if strings.EqualFold(ct, cardType) {
			return true
		}
	}
	return false
}

// Validate reports a catalog that cannot be applied, naming the field.
func (c Catalog) Validate() error {
	if c.ID == "" {
		return errors.New("catalog has no id")
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("catalog %s: "+format, append([]any{c.ID}, args...)...)
	}
	if c.ValidFrom.IsZero() || c.ValidTo.IsZero() {
		return fail("valid_from and valid_to are both required (a catalog with no window would stop all accrual or allow it forever)")
	}
	if dateAfter(c.ValidFrom, c.ValidTo) {
		return fail("valid_to %s is before valid_from %s", c.ValidTo, c.ValidFrom)
	}
	if !c.RedeemUntil.IsZero() && dateAfter(c.ValidTo, c.RedeemUntil) {
		return fail("redeem_until %s is before valid_to %s; prizes must stay redeemable at least while points are earned", c.RedeemUntil, c.ValidTo)
	}
	seenCard := map[string]bool{}
	for _, ct := range c.CardTypes {
		if strings.TrimSpace(ct) == "" {
			return fail("card_types has an empty entry; leave card_types empty for the whole program")
		}
		k := strings.ToUpper(ct)
		if seenCard[k] {
			return fail("card type %s is listed twice", ct)
		}
		seenCard[k] = true
	}
	seen := map[string]bool{}
	for i, p := range c.Prizes {
		if p.ID == "" {
			return fail("prize %d has no id", i+1)
		}
		if seen[p.ID] {
			return fail("prize id %s is used twice", p.ID)
		}
		seen[p.ID] = true
		if err := p.Validate(); err != nil {
			return fail("%w", err)
		}
	}
	return nil
}

// Validate reports a prize that cannot be redeemed as configured.
func (p Prize) Validate() error {
	if p.ID == "" {
		return errors.New("prize has no id")
	}
	switch {
	case !p.Kind.Valid():
		return fmt.Errorf("prize %s: unknown kind %q (use article, non_stock or voucher)", p.ID, p.Kind)
	case p.Points <= 0:
		return fmt.Errorf("prize %s: points must be greater than 0, got %d", p.ID, p.Points)
	case p.CoPayment < 0:
		return fmt.Errorf("prize %s: co_payment must not be negative, got %d cents", p.ID, p.CoPayment)
	case p.PerCustomer < 0:
		return fmt.Errorf("prize %s: per_customer must not be negative (0 is no limit), got %d", p.ID, p.PerCustomer)
	case p.Stock < 0:
		return fmt.Errorf("prize %s: stock must not be negative (0 is no limit), got %d", p.ID, p.Stock)
	}
	if p.Kind == PrizeVoucher {
		if err := p.Voucher.Validate(); err != nil {
			return fmt.Errorf("prize %s: %w", p.ID, err)
		}
	} else if p.Voucher != (VoucherSpec{}) {
		return fmt.Errorf("prize %s: voucher settings given on a prize of kind %s; set kind voucher or remove them", p.ID, p.Kind)
	}
	return nil
}

// ValidateCatalogs checks each catalog and what must hold across them: unique
// catalog ids, and prize ids unique across the program because redemption
// counts (Redeemed) are keyed by prize id. Overlapping windows are allowed: a
// card type may have its own catalog beside the program's.
func ValidateCatalogs(cats []Catalog) error {
	catIDs := map[string]bool{}
	prizeIn := map[string]string{}
	for _, c := range cats {
		if err := c.Validate(); err != nil {
			return err
		}
		if catIDs[c.ID] {
			return fmt.Errorf("catalog id %s is used twice", c.ID)
		}
		catIDs[c.ID] = true
		for _, p := range c.Prizes {
			if other, ok := prizeIn[p.ID]; ok {
				return fmt.Errorf("prize id %s is used in catalogs %s and %s; give each catalog line its own id", p.ID, other, c.ID)
			}
			prizeIn[p.ID] = c.ID
		}
	}
	return nil
}

// AccrualWindow finds the catalog whose accrual window holds the day of t in
// loc, for cardType. A document outside every window earns nothing (SPEC
// 3.1), so when ok is false reason says why in words an operator can act on.
//
// When windows overlap, a catalog naming the card type wins over a
// whole-program one, then the one that opened last, then the smaller id, so
// the recorded catalog does not depend on configuration order.
func AccrualWindow(cats []Catalog, cardType string, t time.Time, loc *time.Location) (catalogID string, ok bool, reason string) {
	day := DateOf(t.In(loc))
	var best *Catalog
	var before, after *Catalog // the nearest windows that ended before day or open after it
	for i := range cats {
		c := &cats[i]
		if !c.AppliesTo(cardType) {
			continue
		}
		switch {
		case dateAfter(c.ValidFrom, day):
			if after == nil || dateAfter(after.ValidFrom, c.ValidFrom) {
				after = c
			}
		case dateAfter(day, c.ValidTo):
			if before == nil || dateAfter(c.ValidTo, before.ValidTo) {
				before = c
			}
		default:
			if best == nil || betterAccrualCatalog(c, best) {
				best = c
			}
		}
	}
	if best != nil {
		return best.ID, true, ""
	}
	who := "for card type " + cardType
	if cardType == "" {
		who = "for a customer without a card type"
	}
	if before == nil && after == nil {
		return "", false, fmt.Sprintf("no catalog %s, so no points are earned", who)
	}
	var near []string
	if before != nil {
		near = append(near, fmt.Sprintf("catalog %s ran %s to %s", before.ID, before.ValidFrom, before.ValidTo))
	}
	if after != nil {
		near = append(near, fmt.Sprintf("catalog %s runs %s to %s", after.ID, after.ValidFrom, after.ValidTo))
	}
	return "", false, fmt.Sprintf("no catalog active on %s %s: %s", day, who, strings.Join(near, "; "))
}

func betterAccrualCatalog(a, b *Catalog) bool {
	if sa, sb := len(a.CardTypes) > 0, len(b.CardTypes) > 0; sa != sb {
		return sa
	}
	if a.ValidFrom != b.ValidFrom {
		return dateAfter(a.ValidFrom, b.ValidFrom)
	}
	return a.ID < b.ID
}

// Redeemed is what the caller counted in its store, per prize id.
type Redeemed struct {
	// Customer is how many times this customer redeemed each prize.
	Customer map[string]int
	// Total is how many times each prize was redeemed by anyone.
	Total map[string]int
}

// RedeemableEntry is one prize as offered to one customer at one instant.
type RedeemableEntry struct {
	Catalog    string
	Prize      Prize
	Redeemable bool
	// Reason says why the prize cannot be redeemed; empty when it can.
	Reason string
}

// Sentinel errors of CheckRedemption, for errors.Is; the error text names
// the limit and the numbers.
var (
	ErrUnknownPrize      = errors.New("unknown catalog or prize")
	ErrPrizeNotForCard   = errors.New("catalog not for this card type")
	ErrCatalogNotOpen    = errors.New("catalog not open yet")
	ErrRedeemDeadline    = errors.New("redemption deadline passed")
	ErrPerCustomerLimit  = errors.New("per-customer limit reached")
	ErrPrizeOutOfStock   = errors.New("prize out of stock")
	ErrNotEnoughToRedeem = errors.New("not enough points for the prize")
)

// PrizeError is why one prize cannot be redeemed. It unwraps to one of the
// sentinel errors above.
type PrizeError struct {
	Catalog, Prize string
	Err            error
	Detail         string
}

func (e *PrizeError) Error() string { return e.Detail }

// Unwrap gives the sentinel, so callers can map it to an HTTP status or exit
// code without parsing text.
func (e *PrizeError) Unwrap() error { return e.Err }

// Redeemable lists the prizes of the catalogs covering cardType whose
// deadline has not passed at t, in configuration order, each marked
// redeemable or not with the reason. Catalogs not yet open are listed too,
// not redeemable, so a customer can see what is coming.
func Redeemable(cats []Catalog, cardType string, earned int64, used Redeemed, t time.Time, loc *time.Location) []RedeemableEntry {
	day := DateOf(t.In(loc))
	var out []RedeemableEntry
	for _, c := range cats {
		if !c.AppliesTo(cardType) || dateAfter(day, c.Deadline()) {
			continue
		}
		for _, p := range c.Prizes {
			e := RedeemableEntry{Catalog: c.ID, Prize: p, Redeemable: true}
			if err := prizeBlocked(c, p, day, earned, used); err != nil {
				e.Redeemable, e.Reason = false, err.Error()
			}
			out = append(out, e)
		}
	}
	return out
}

// CheckRedemption says whether the customer may redeem prizeID of catalogID
// now, returning the prize, or a *PrizeError naming the limit that stops it.
func CheckRedemption(cats []Catalog, catalogID, prizeID, cardType string, earned int64, used Redeemed, t time.Time, loc *time.Location) (Prize, error) {
	for _, c := range cats {
		if c.ID != catalogID {
			continue
		}
		for _, p := range c.Prizes {
			if p.ID != prizeID {
				continue
			}
			if !c.AppliesTo(cardType) {
				return Prize{}, &PrizeError{c.ID, p.ID, ErrPrizeNotForCard, fmt.Sprintf(
					"catalog %s is for card types %s, not %q", c.ID, strings.Join(c.CardTypes, ", "), cardType)}
			}
			if err := prizeBlocked(c, p, DateOf(t.In(loc)), earned, used); err != nil {
				return Prize{}, err
			}
			return p, nil
		}
		return Prize{}, &PrizeError{catalogID, prizeID, ErrUnknownPrize, fmt.Sprintf("catalog %s has no prize %s", catalogID, prizeID)}
	}
	return Prize{}, &PrizeError{catalogID, prizeID, ErrUnknownPrize, fmt.Sprintf("no catalog %s", catalogID)}
}

// prizeBlocked checks the limits in the order an operator would explain
// them: dates first (nothing else matters), then the counts, then points.
func prizeBlocked(c Catalog, p Prize, day Date, earned int64, used Redeemed) *PrizeError {
	e := func(sentinel error, format string, args ...any) *PrizeError {
		return &PrizeError{c.ID, p.ID, sentinel, fmt.Sprintf(format, args...)}
	}
	if dateAfter(c.ValidFrom, day) {
		return e(ErrCatalogNotOpen, "prize %s: catalog %s opens on %s", p.ID, c.ID, c.ValidFrom)
	}
	if dateAfter(day, c.Deadline()) {
		return e(ErrRedeemDeadline, "prize %s: the redemption deadline of catalog %s was %s (passed on %s)", p.ID, c.ID, c.Deadline(), c.Deadline().AddDays(1))
	}
	if n := used.Customer[p.ID]; p.PerCustomer > 0 && n >= p.PerCustomer {
		return e(ErrPerCustomerLimit, "prize %s: already redeemed %d of %d allowed per customer", p.ID, n, p.PerCustomer)
	}
	if n := used.Total[p.ID]; p.Stock > 0 && n >= p.Stock {
		return e(ErrPrizeOutOfStock, "prize %s: out of stock (%d of %d redeemed)", p.ID, n, p.Stock)
	}
	if earned < p.Points {
		return e(ErrNotEnoughToRedeem, "prize %s: needs %d points, has %d", p.ID, p.Points, earned)
	}
	return nil
}

// ThresholdCrossed reports the cheapest prize open for redemption at t
// (catalog open, deadline not passed) when the earned balance moves from
// below its points to at least them: the "prize threshold reached"
// notification. Ties go to the first prize in configuration order.
// Per-customer and stock limits are not considered: they change without the
// balance moving, and the notification is about the balance.
func ThresholdCrossed(cats []Catalog, cardType string, before, after int64, t time.Time, loc *time.Location) (Prize, bool) {
	day := DateOf(t.In(loc))
	var cheapest *Prize
	for i := range cats {
		c := &cats[i]
		if !c.AppliesTo(cardType) || dateAfter(c.ValidFrom, day) || dateAfter(day, c.Deadline()) {
			continue
		}
		for j := range c.Prizes {
			if p := &c.Prizes[j]; cheapest == nil || p.Points < cheapest.Points {
				cheapest = p
			}
		}
	}
	if cheapest == nil || before >= cheapest.Points || after < cheapest.Points {
		return Prize{}, false
	}
	return *cheapest, true
}

// dateAfter reports whether a is a later day than b.
func dateAfter(a, b Date) bool {
	if a.Year != b.Year {
		return a.Year > b.Year
	}
	if a.Month != b.Month {
		return a.Month > b.Month
	}
	return a.Day > b.Day
}
