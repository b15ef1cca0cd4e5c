package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Base is what the general accrual rule counts.
type Base string

const (
	// BaseValue counts the document's value in cents.
	BaseValue Base = "value"
	// BaseQuantity counts items, in thousandths of a unit.
	BaseQuantity Base = "quantity"
)

// Mode is how the general rule turns its base into points.
type Mode string

const (
	// ModeSteps gives Points for every whole Per of the base: 10 points every
	// 5.00 gives 90 points on 47.99 (SPEC E3).
	ModeSteps Mode = "steps"
	// ModeProportional gives Points*base/Per, rounded: 5 cents per euro
	// gives 6.38 on 127.60 (SPEC E1).
	ModeProportional Mode = "proportional"
)

// ProductRuleKind is how a product rule replaces the general rule on a line.
type ProductRuleKind string

const (
	// ProductFixed earns Points per unit of the line, whatever its price.
	ProductFixed ProductRuleKind = "fixed"
	// ProductPercent earns BasisPoints of the line's net price.
	ProductPercent ProductRuleKind = "percent"
	// ProductExclude earns nothing and keeps the line out of the general base.
	ProductExclude ProductRuleKind = "exclude"
)

// ProductRule overrides the general rule on the lines of one product.
//
// A percent rule is a percentage of the line net counted in cents, and the
// result is in the program's unit with one point standing for one cent:
// on an amount card 500 (5%) of a 20.00 line is 1.00 of amount, and in a
// points program it is 100 points, so 100 (1%) there earns as much as
// "1 point per euro". One reading for both units keeps AccrualRules free of
// the program's unit and a percent rule comparable with the general ratio.
type ProductRule struct {
	Kind        ProductRuleKind
	Points      int64 // per unit (1000 thousandths), for ProductFixed
	BasisPoints int64 // percent in 1/100 of a percent (500 = 5%), for ProductPercent
}

// AccrualRules is a program's rule for what a document earns (SPEC 3.1).
// A zero Points means there is no general rule: only product rules earn.
type AccrualRules struct {
	Base   Base // empty means BaseValue
	Mode   Mode
	Points int64 // N points (or cents, for amount programs) ...
	Per    int64 // ... for every Per cents of value (base value) or Per thousandths of quantity (base quantity)
	// Rounding settles fractions of a point in proportional mode and in
	// percent product rules; empty means RoundFloor.
	Rounding               Rounding
	FidelityLowersBase     bool // default false: the fidelity discount of the same document does NOT lower the base
	ShippingInBase         bool // default false
	ExcludeDiscountedLines bool
	Products               map[string]ProductRule // per-product overrides of the general rule
}

// ErrInvalidAccrualRules is wrapped by every error of AccrualRules.Validate.
var ErrInvalidAccrualRules = errors.New("invalid accrual rules")

func invalidAccrual(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidAccrualRules, fmt.Sprintf(format, args...))
}

// Validate reports a rule that cannot be applied, naming the field (and the
// product for product rules, in sorted order so the same file always gives
// the same first error).
func (r AccrualRules) Validate() error {
	switch r.Base {
	case "", BaseValue, BaseQuantity:
	default:
		return invalidAccrual("base %q is unknown (use value or quantity)", r.Base)
	}
	if !r.Rounding.Valid() {
		return invalidAccrual("rounding %q is unknown (use floor, half_up or ceil)", r.Rounding)
	}
	switch {
	case r.Points < 0:
		return invalidAccrual("points %d is negative", r.Points)
	case r.Per < 0:
		return invalidAccrual("per %d is negative", r.Per)
	case r.Points > 0 && r.Per == 0:
		return invalidAccrual("per must be greater than 0 when points is set (for example points 10, per 500: 10 points every 5.00)")
	}
	switch r.Mode {
	case ModeSteps, ModeProportional:
	case "":
		if r.Points > 0 {
			return invalidAccrual("mode is missing (use steps or proportional)")
		}
	default:
		return invalidAccrual("mode %q is unknown (use steps or proportional)", r.Mode)
	}
	products := make([]string, 0, len(r.Products))
	for p := range r.Products {
		products = append(products, p)
	}
	slices.Sort(products)
	for _, p := range products {
		pr := r.Products[p]
		if p == "" {
			return invalidAccrual("a product rule has an empty product code")
		}
		switch pr.Kind {
		case ProductFixed:
			switch {
			case pr.Points < 0:
				return invalidAccrual("product %q: fixed points %d is negative", p, pr.Points)
			case pr.BasisPoints != 0:
				return invalidAccrual("product %q: a fixed rule takes points per unit, not basis points", p)
			}
		case ProductPercent:
			switch {
			case pr.BasisPoints < 0:
				return invalidAccrual("product %q: basis points %d is negative", p, pr.BasisPoints)
			case pr.Points != 0:
				return invalidAccrual("product %q: a percent rule takes basis points (500 = 5%%), not points", p)
			}
		case ProductExclude:
			if pr.Points != 0 || pr.BasisPoints != 0 {
				return invalidAccrual("product %q: an exclude rule takes neither points nor basis points", p)
			}
		default:
			return invalidAccrual("product %q: rule kind %q is unknown (use fixed, percent or exclude)", p, pr.Kind)
		}
	}
	return nil
}

// LineRule says which rule decided a line's accrual.
type LineRule string

const (
	// LineGeneral lines earn together through the general rule.
	LineGeneral LineRule = "general"
	// LineFixed lines earn fixed points per unit.
	LineFixed LineRule = "fixed"
	// LinePercent lines earn a percentage of their net.
	LinePercent LineRule = "percent"
	// LineExcluded lines are excluded by a product rule.
	LineExcluded LineRule = "excluded"
	// LineDiscountedExcluded lines are on promotion and the rules leave
	// discounted lines out.
	LineDiscountedExcluded LineRule = "discounted-excluded"
)

// LineAccrual is what one document line contributed.
type LineAccrual struct {
	Index    int // position in Document.Lines, from 0
	Product  string
	Rule     LineRule
	Net      int64 // cents after the line discount and its share of the document discount
	Quantity int64 // thousandths
	// Points is what the line earned on its own: 0 for LineGeneral lines,
	// whose points are in Accrual.General because the general rule counts
	// whole steps of their sum, not of each line.
	Points int64
}

// Accrual is what a document earns and why.
type Accrual struct {
	Points  int64 // total: General plus every line's Points
	General int64 // earned by the general rule on Base
	Base    int64 // the value (cents) or quantity (thousandths) the general rule was applied to
	Lines   []LineAccrual
	Reason  string // when Points == 0, why, for the movement's note and the UI
}

// Accrue computes what d earns under r (SPEC 3.1).
//
// Ordinary discounts (line and document) apply first. Lines of a product
// with a rule earn by that rule on their own; the other lines are summed and
// the general rule applied once to the sum, so steps count whole steps of
// the total. An exclude rule comes first, then ExcludeDiscountedLines (a
// line on promotion earns nothing even where its product has a fixed or
// percent rule: the option exists to stop promotions earning twice). In value base, shipping joins the sum only with ShippingInBase
// and the fidelity discount lowers it only with FidelityLowersBase (never
// below zero); in quantity base neither applies, both being money.
func Accrue(r AccrualRules, d Document) (Accrual, error) {
	if err := r.Validate(); err != nil {
		return Accrual{}, err
	}
	if err := d.Validate(); err != nil {
		return Accrual{}, err
	}
	return accrue(r, d)
}

// accrue is Accrue for rules and a document already validated.
func accrue(r AccrualRules, d Document) (Accrual, error) {
	nets, err := d.lineNets()
	if err != nil {
		return Accrual{}, err
	}
	quantityBase := r.Base == BaseQuantity
	a := Accrual{Lines: make([]LineAccrual, len(d.Lines))}
	var generalLines, excludedLines int
	var base, linePoints int64
	for i, l := range d.Lines {
		la := LineAccrual{Index: i, Product: l.Product, Net: nets[i], Quantity: l.Quantity}
		pr, hasRule := r.Products[l.Product]
		switch {
		case hasRule && pr.Kind == ProductExclude:
			la.Rule = LineExcluded
		case r.ExcludeDiscountedLines && l.Discounted:
			la.Rule = LineDiscountedExcluded
		case hasRule && pr.Kind == ProductFixed:
			la.Rule = LineFixed
			la.Points, err = mulDiv(pr.Points, l.Quantity, 1000, RoundFloor)
		case hasRule && pr.Kind == ProductPercent:
			la.Rule = LinePercent
			la.Points, err = mulDiv(nets[i], pr.BasisPoints, 10000, r.Rounding)
		default:
			la.Rule = LineGeneral
			generalLines++
			// Both sums fit: Validate added up every gross and quantity.
			if quantityBase {
				base += l.Quantity
			} else {
				base += nets[i]
			}
		}
		if err != nil {
			return Accrual{}, fmt.Errorf("%s: %w", lineName(i, l.Product), err)
		}
		if la.Rule == LineExcluded || la.Rule == LineDiscountedExcluded {
			excludedLines++
		}
		if linePoints, err = addInt64(linePoints, la.Points); err != nil {
			return Accrual{}, fmt.Errorf("adding up the product rules' points: %w", err)
		}
		a.Lines[i] = la
	}

	var lowered bool
	if !quantityBase {
		if r.ShippingInBase {
			if base, err = addInt64(base, d.Shipping); err != nil {
				return Accrual{}, fmt.Errorf("adding shipping to the base: %w", err)
			}
		}
		if r.FidelityLowersBase && d.FidelityDiscount > 0 && base > 0 {
			lowered = true
			base = max(0, base-d.FidelityDiscount)
		}
	}
	a.Base = base

	if r.Points > 0 && base > 0 {
		switch r.Mode {
		case ModeSteps:
			a.General, err = mulInt64(r.Points, base/r.Per)
		case ModeProportional:
			a.General, err = mulDiv(r.Points, base, r.Per, r.Rounding)
		}
		if err != nil {
			return Accrual{}, fmt.Errorf("general rule on base %d: %w", base, err)
		}
	}
	if a.Points, err = addInt64(a.General, linePoints); err != nil {
		return Accrual{}, fmt.Errorf("adding up the document's points: %w", err)
	}
	if a.Points == 0 {
		a.Reason = r.zeroReason(d, a, generalLines, excludedLines, lowered)
	}
	return a, nil
}

// zeroReason explains an accrual of nothing in the words an operator or a
// customer would use, most specific cause first.
func (r AccrualRules) zeroReason(d Document, a Accrual, generalLines, excludedLines int, lowered bool) string {
	if generalLines == 0 && a.Base == 0 {
		switch {
		case len(d.Lines) == 0:
			return "the document has no lines"
		case excludedLines == len(d.Lines):
			return "every line is excluded from accrual (by a product rule or because it is already discounted)"
		}
		var ruled []string
		for _, l := range a.Lines {
			if l.Rule == LineFixed || l.Rule == LinePercent {
				ruled = append(ruled, fmt.Sprintf("%s (%s)", lineName(l.Index, l.Product), l.Rule))
			}
		}
		return "the product rules give no points on " + strings.Join(ruled, ", ")
	}
	switch {
	case r.Points == 0 && len(r.Products) > 0:
		return "the program has no general accrual rule and these lines have no product rule"
	case r.Points == 0:
		return "the program has no general accrual rule"
	case lowered && a.Base == 0:
		return "the fidelity discount used on the document covers the whole base"
	case a.Base == 0 && r.Base == BaseQuantity:
		return "the lines under the general rule have no quantity"
	case a.Base == 0:
		return "the lines under the general rule are worth 0 after discounts"
	case r.Mode == ModeSteps:
		return fmt.Sprintf("%s is below the first step of %s", r.baseText(a.Base), r.perText())
	}
	return fmt.Sprintf("%s earns less than one unit at %d per %s", r.baseText(a.Base), r.Points, r.perText())
}

func (r AccrualRules) baseText(v int64) string {
	if r.Base == BaseQuantity {
		return "a quantity of " + quantityText(v)
	}
	return moneyText(v)
}

func (r AccrualRules) perText() string {
	if r.Base == BaseQuantity {
		if r.Per == 1000 {
			return "1 unit"
		}
		return quantityText(r.Per) + " units"
	}
	return moneyText(r.Per)
}

// Takeback is what a credit note takes back of the points original earned:
// Accrue(original) - Accrue(original minus credited), never below zero and
// never more than original earned.
//
// Taking back the difference, rather than what the credited part would earn
// as a document of its own, is what stays fair with whole steps and
// rounding: after the credit the customer keeps exactly what the goods they
// kept would have earned. At 1 point per euro crediting 20.00 of a 120.00
// invoice takes 20 either way; at 10 points every 5.00, crediting 3.00 of
// 47.99 takes 10 (a step is lost: 44.99 earns 80) although 3.00 alone would
// earn nothing, and crediting 2.99 takes nothing (45.00 still earns 90).
// For the same reason a second credit note on the same document is passed
// with the first as one cumulative credited document, and the points already
// taken back are subtracted: the total then never depends on how the credit
// was split. r must be the rule version that awarded the original's points.
//
// "original minus credited": credited lines are subtracted by product from
// the original's lines of that product, in order (quantity, and value as net
// of the line discount), as are the credited document discount, fidelity
// discount and shipping. Crediting a product the original does not hold, or
// more of anything than it holds, is an error.
func Takeback(r AccrualRules, original, credited Document) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	if err := original.Validate(); err != nil {
		return 0, fmt.Errorf("original: %w", err)
	}
	if err := credited.Validate(); err != nil {
		return 0, fmt.Errorf("credit note: %w", err)
	}
	rest, err := subtractCredit(original, credited)
	if err != nil {
		return 0, err
	}
	before, err := accrue(r, original)
	if err != nil {
		return 0, fmt.Errorf("original: %w", err)
	}
	after, err := accrue(r, rest)
	if err != nil {
		return 0, fmt.Errorf("original minus credit note: %w", err)
	}
	// A fidelity discount credited back can raise the base under
	// FidelityLowersBase; a credit note never gives points, so clamp.
	return min(before.Points, max(0, before.Points-after.Points)), nil
}

// subtractCredit is the original document less what the credit note
// credits. Both documents must have passed Validate.
func subtractCredit(original, credited Document) (Document, error) {
	rest := original
	rest.Lines = slices.Clone(original.Lines)

	type credit struct{ qty, net int64 }
	var products []string
	credits := map[string]*credit{}
	for i, l := range credited.Lines {
		c := credits[l.Product]
		if c == nil {
			if !slices.ContainsFunc(original.Lines, func(o Line) bool { return o.Product == l.Product }) {
				return Document{}, invalidDocument("credit note %s: the product is not on the original document", lineName(i, l.Product))
			}
			c = &credit{}
			credits[l.Product] = c
			products = append(products, l.Product)
		}
		// Both sums fit: Validate added up the credit note's gross and quantities.
		c.qty += l.Quantity
		c.net += l.Net()
	}
	for _, p := range products {
		c := credits[p]
		var qty, net int64
		for _, o := range original.Lines {
			if o.Product == p {
				qty += o.Quantity
				net += o.Net()
			}
		}
		if c.qty > qty {
			return Document{}, invalidDocument("credit note credits a quantity of %s of product %q, the original holds %s", quantityText(c.qty), p, quantityText(qty))
		}
		if c.net > net {
			return Document{}, invalidDocument("credit note credits %s of product %q, the original holds %s net of line discounts", moneyText(c.net), p, moneyText(net))
		}
		for i := range rest.Lines {
			l := &rest.Lines[i]
			if l.Product != p {
				continue
			}
			q := min(c.qty, l.Quantity)
			n := min(c.net, l.Net())
			l.Quantity -= q
			// Lowering the gross keeps the line discount, so the line
			// stays valid and its net falls by exactly what was credited.
			l.Gross -= n
			c.qty -= q
			c.net -= n
		}
	}

	switch {
	case credited.Discount > original.Discount:
		return Document{}, invalidDocument("credit note document discount %s is above the original's %s", moneyText(credited.Discount), moneyText(original.Discount))
	case credited.FidelityDiscount > original.FidelityDiscount:
		return Document{}, invalidDocument("credit note fidelity discount %s is above the original's %s", moneyText(credited.FidelityDiscount), moneyText(original.FidelityDiscount))
	case credited.Shipping > original.Shipping:
		return Document{}, invalidDocument("credit note shipping %s is above the original's %s", moneyText(credited.Shipping), moneyText(original.Shipping))
	}
	rest.Shipping -= credited.Shipping
	// A credit note that returns goods without its share of the document
	// discount would leave more discount than goods; what is left cannot be
	// discounted below zero, so the discounts are capped at what remains.
	var net int64
	for _, l := range rest.Lines {
		net += l.Net()
	}
	rest.Discount = min(original.Discount-credited.Discount, net)
	rest.FidelityDiscount = min(original.FidelityDiscount-credited.FidelityDiscount, net-rest.Discount+rest.Shipping)
	return rest, nil
}
