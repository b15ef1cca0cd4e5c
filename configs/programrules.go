package configs

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pointsync/pointsync/rules"
)

// When a web order's accrual is confirmed (SPEC 3.2); see Program.ConfirmOn.
const (
	ConfirmConverted = "converted"
	ConfirmPaid      = "paid"
	ConfirmCompleted = "completed"
)

// Accrual is a program's accrual rule as written; see rules.AccrualRules.
type Accrual struct {
	Base   rules.Base `yaml:"base,omitempty"`
	Mode   rules.Mode `yaml:"mode,omitempty"`
	Points int64      `yaml:"points,omitempty"`
	// Every is money for base value and units for base quantity, so it is
	// kept as written until the base is known.
	Every                  Decimal                `yaml:"every,omitempty"`
	Rounding               rules.Rounding         `yaml:"rounding,omitempty"`
	FidelityLowersBase     bool                   `yaml:"fidelity_lowers_base,omitempty"`
	ShippingInBase         bool                   `yaml:"shipping_in_base,omitempty"`
	ExcludeDiscountedLines bool                   `yaml:"exclude_discounted_lines,omitempty"`
	Products               map[string]ProductRule `yaml:"products,omitempty"`
}

// ProductRule overrides the general rule for one product: exactly one of
// its keys is written. A zero fixed or percent is refused rather than read
// as "not written", since it earns what exclude earns and exclude says so.
type ProductRule struct {
	Fixed   int64   `yaml:"fixed,omitempty"`
	Percent Percent `yaml:"percent,omitempty"`
	Exclude bool    `yaml:"exclude,omitempty"`
}

// Redemption is a program's rule for spending points; see
// rules.RedemptionRules.
type Redemption struct {
	Rate               Rate        `yaml:"rate,omitempty"`
	MinBalance         int64       `yaml:"min_balance,omitempty"`
	MinCart            Money       `yaml:"min_cart,omitempty"`
	MinPoints          int64       `yaml:"min_points,omitempty"`
	MaxPoints          int64       `yaml:"max_points,omitempty"`
	MaxDiscount        Money       `yaml:"max_discount,omitempty"`
	MaxDiscountPercent Percent     `yaml:"max_discount_percent,omitempty"`
	Scope              rules.Scope `yaml:"scope,omitempty"`
	ExcludeDiscounted  bool        `yaml:"exclude_discounted,omitempty"`
	ExcludeProducts    []string    `yaml:"exclude_products,omitempty"`
}

// Rate is "Points points are worth Value".
type Rate struct {
	Points int64 `yaml:"points,omitempty"`
	Value  Money `yaml:"value,omitempty"`
}

// Actions are the fixed points per customer action; see rules.ActionRules.
type Actions struct {
	Registration int64 `yaml:"registration,omitempty"`
	Newsletter   int64 `yaml:"newsletter,omitempty"`
	Review       int64 `yaml:"review,omitempty"`
	ReviewOnce   bool  `yaml:"review_once,omitempty"`
}

// Gift is a periodic gift as written; its zone is the program's.
type Gift struct {
	ID          string `yaml:"id"`
	Schedule    string `yaml:"schedule"`
	Points      int64  `yaml:"points"`
	Description string `yaml:"description,omitempty"`
}

// Badge is a tier by earned-balance range, both ends included; to 0 is no
// upper bound.
type Badge struct {
	ID          string `yaml:"id"`
	Title       string `yaml:"title"`
	Description string `yaml:"description,omitempty"`
	Icon        string `yaml:"icon,omitempty"`
	From        int64  `yaml:"from"`
	To          int64  `yaml:"to,omitempty"`
}

// Catalog is a prize catalog as written; see rules.Catalog.
type Catalog struct {
	ID          string     `yaml:"id"`
	Name        string     `yaml:"name,omitempty"`
	CardTypes   []string   `yaml:"card_types,omitempty"`
	ValidFrom   rules.Date `yaml:"valid_from"`
	ValidTo     rules.Date `yaml:"valid_to"`
	RedeemUntil rules.Date `yaml:"redeem_until,omitempty"`
	Prizes      []Prize    `yaml:"prizes"`
}

// Prize is one line of a catalog.
type Prize struct {
	ID          string          `yaml:"id"`
	Name        string          `yaml:"name,omitempty"`
	Kind        rules.PrizeKind `yaml:"kind"`
	Points      int64           `yaml:"points"`
	CoPayment   Money           `yaml:"co_payment,omitempty"`
	PerCustomer int             `yaml:"per_customer,omitempty"`
	Stock       int             `yaml:"stock,omitempty"`
	Voucher     Voucher         `yaml:"voucher,omitempty"`
}

// Voucher is what a voucher prize issues: a fixed value or a percentage.
type Voucher struct {
	Value     Money   `yaml:"value,omitempty"`
	Percent   Percent `yaml:"percent,omitempty"`
	ValidDays int     `yaml:"valid_days,omitempty"`
}

// AccrualRules converts the accrual section. A program without one gets the
// zero rules.AccrualRules, which is valid and earns nothing from documents.
func (p Program) AccrualRules() (rules.AccrualRules, error) {
	r, err := p.Accrual.rules()
	if err == nil {
		err = r.Validate()
	}
	if err != nil {
		return rules.AccrualRules{}, fmt.Errorf("program %s: accrual: %w", p.ID, err)
	}
	return r, nil
}

func (a Accrual) rules() (rules.AccrualRules, error) {
	r := rules.AccrualRules{
		Base: a.Base, Mode: a.Mode, Points: a.Points, Rounding: a.Rounding,
		FidelityLowersBase: a.FidelityLowersBase, ShippingInBase: a.ShippingInBase,
		ExcludeDiscountedLines: a.ExcludeDiscountedLines,
	}
	per, err := a.per()
	if err != nil {
		return rules.AccrualRules{}, err
	}
	r.Per = per
	if len(a.Products) > 0 {
		r.Products = make(map[string]rules.ProductRule, len(a.Products))
		for code, pr := range a.Products {
			r.Products[code] = pr.rule()
		}
	}
	return r, nil
}

// per reads every in the unit of the base.
func (a Accrual) per() (int64, error) {
	if a.Every == "" {
		return 0, nil
	}
	if a.Base == rules.BaseQuantity {
		return ParseQuantity(string(a.Every))
	}
	return ParseMoney(string(a.Every))
}

// rule converts a product rule; one with no key or several becomes a rule
// of unknown kind, which rules.AccrualRules.Validate refuses.
func (pr ProductRule) rule() rules.ProductRule {
	switch {
	case pr.kinds() != 1:
		return rules.ProductRule{Points: pr.Fixed, BasisPoints: int64(pr.Percent)}
	case pr.Exclude:
		return rules.ProductRule{Kind: rules.ProductExclude}
	case pr.Percent != 0:
		return rules.ProductRule{Kind: rules.ProductPercent, BasisPoints: int64(pr.Percent)}
	}
	return rules.ProductRule{Kind: rules.ProductFixed, Points: pr.Fixed}
}

func (pr ProductRule) kinds() int {
	n := 0
	for _, set := range []bool{pr.Fixed != 0, pr.Percent != 0, pr.Exclude} {
		if set {
			n++
		}
	}
	return n
}

// RedemptionRules converts the redemption section; configured is false
// when the program has none, and then points cannot be spent at checkout.
// An amount program may leave out the rate: its balance is money, spent
// one cent for one cent.
func (p Program) RedemptionRules() (r rules.RedemptionRules, configured bool, err error) {
	if p.Redemption.isZero() {
		return rules.RedemptionRules{}, false, nil
	}
	r = p.Redemption.rules(p.Unit)
	if err := r.Validate(); err != nil {
		return rules.RedemptionRules{}, true, fmt.Errorf("program %s: redemption: %w", p.ID, err)
	}
	return r, true, nil
}

func (r Redemption) isZero() bool {
	return r.Rate == (Rate{}) && r.MinBalance == 0 && r.MinCart == 0 && r.MinPoints == 0 && r.MaxPoints == 0 &&
		r.MaxDiscount == 0 && r.MaxDiscountPercent == 0 && r.Scope == "" && !r.ExcludeDiscounted && len(r.ExcludeProducts) == 0
}

func (r Redemption) rules(unit rules.Unit) rules.RedemptionRules {
	out := rules.RedemptionRules{
		RatePoints: r.Rate.Points, RateValue: int64(r.Rate.Value),
		MinBalance: r.MinBalance, MinCart: int64(r.MinCart),
		MinPoints: r.MinPoints, MaxPoints: r.MaxPoints,
		MaxDiscountValue: int64(r.MaxDiscount), MaxDiscountBasisPoints: int64(r.MaxDiscountPercent),
		Scope: r.Scope, ExcludeDiscounted: r.ExcludeDiscounted,
	}
	if unit == rules.UnitAmount && r.Rate == (Rate{}) {
		out.RatePoints, out.RateValue = 1, 1
	}
	if len(r.ExcludeProducts) > 0 {
		out.ExcludedProducts = make(map[string]bool, len(r.ExcludeProducts))
		for _, code := range r.ExcludeProducts {
			out.ExcludedProducts[code] = true
		}
	}
	return out
}

// ActionRules converts the actions section; actions not written earn
// nothing.
func (p Program) ActionRules() rules.ActionRules {
	a := p.Actions
	return rules.ActionRules{Registration: a.Registration, Newsletter: a.Newsletter, Review: a.Review, ReviewOnce: a.ReviewOnce}
}

// Gifts converts the gifts, each read in the program's time zone, and
// validates them.
func (p Program) Gifts() ([]rules.Gift, error) {
	if len(p.GiftList) == 0 {
		return nil, nil
	}
	if err := checkTimeZone(p.TimeZone); err != nil {
		return nil, fmt.Errorf("program %s: %w", p.ID, err)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("program %s: time zone %q: %w", p.ID, p.TimeZone, err)
	}
	out := giftRules(p.GiftList, loc)
	for _, g := range out {
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("program %s: %w", p.ID, err)
		}
	}
	return out, nil
}

func giftRules(gifts []Gift, loc *time.Location) []rules.Gift {
	out := make([]rules.Gift, len(gifts))
	for i, g := range gifts {
		out[i] = rules.Gift{ID: g.ID, Schedule: g.Schedule, Points: g.Points, Description: g.Description, Location: loc}
	}
	return out
}

// Badges converts the badge ladder; Validate has checked it.
func (p Program) Badges() []rules.Badge {
	if len(p.BadgeList) == 0 {
		return nil
	}
	out := make([]rules.Badge, len(p.BadgeList))
	for i, b := range p.BadgeList {
		out[i] = b.rule()
	}
	return out
}

func (b Badge) rule() rules.Badge {
	return rules.Badge{ID: b.ID, Title: b.Title, Description: b.Description, Icon: b.Icon, From: b.From, To: b.To}
}

// Catalogs converts the prize catalogs and validates them together, as
// prize ids must be unique across a program.
func (p Program) Catalogs() ([]rules.Catalog, error) {
	if len(p.CatalogList) == 0 {
		return nil, nil
	}
	out := make([]rules.Catalog, len(p.CatalogList))
	for i, c := range p.CatalogList {
		out[i] = c.rule()
	}
	if err := rules.ValidateCatalogs(out); err != nil {
		return nil, fmt.Errorf("program %s: %w", p.ID, err)
	}
	return out, nil
}

func (c Catalog) rule() rules.Catalog {
	out := rules.Catalog{
		ID: c.ID, Name: c.Name, ValidFrom: c.ValidFrom, ValidTo: c.ValidTo, RedeemUntil: c.RedeemUntil,
		CardTypes: append([]string(nil), c.CardTypes...),
		Prizes:    make([]rules.Prize, len(c.Prizes)),
	}
	for i, p := range c.Prizes {
		out.Prizes[i] = p.rule()
	}
	return out
}

func (p Prize) rule() rules.Prize {
	return rules.Prize{
		ID: p.ID, Name: p.Name, Kind: p.Kind, Points: p.Points, CoPayment: int64(p.CoPayment),
		PerCustomer: p.PerCustomer, Stock: p.Stock,
		Voucher: rules.VoucherSpec{ValueCents: int64(p.Voucher.Value), BasisPoints: int64(p.Voucher.Percent), ValidDays: p.Voucher.ValidDays},
	}
}

// productCodes lists the product rule codes, for callers that must walk
// them in a fixed order.
func (a Accrual) productCodes() []string {
	return slices.Sorted(maps.Keys(a.Products))
}
