package rules

import (
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateAccrualGolden = flag.Bool("update-accrual-golden", false, "rewrite testdata/accrual/*/expected.json from the current code")

// thirdOfMaxUint64 times 3 is 2^64-1, so times 3 over 2 floors to MaxInt64
// with a remainder: the one input where floor fits and rounding up does not.
const thirdOfMaxUint64 = (1<<64 - 1) / 3

var accrualDate = time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC)

// onePointPerEuro is "1 point per whole euro" (SPEC E2, E6, E8).
var onePointPerEuro = AccrualRules{Base: BaseValue, Mode: ModeSteps, Points: 1, Per: 100}

// linesDoc is a document of one line per gross amount, products A, B, C...,
// one piece each.
func linesDoc(gross ...int64) Document {
	d := Document{Date: accrualDate}
	for i, g := range gross {
		d.Lines = append(d.Lines, Line{Product: string(rune('A' + i)), Quantity: 1000, Gross: g})
	}
	return d
}

func mustAccrue(t *testing.T, r AccrualRules, d Document) Accrual {
	t.Helper()
	a, err := Accrue(r, d)
	if err != nil {
		t.Fatalf("Accrue: %v", err)
	}
	return a
}

func TestE2DiscountsFirst(t *testing.T) {
	lineDiscount := linesDoc(10000)
	lineDiscount.Lines[0].Discount = 1000
	docDiscount := linesDoc(10000)
	docDiscount.Discount = 1000
	split := linesDoc(6000, 4000)
	split.Discount = 1000
	proportional := onePointPerEuro
	proportional.Mode = ModeProportional
	for _, tt := range []struct {
		name string
		r    AccrualRules
		d    Document
	}{
		{"10% promotion on the line", onePointPerEuro, lineDiscount},
		{"10% promotion on the document", onePointPerEuro, docDiscount},
		{"10% on a document of two lines", onePointPerEuro, split},
		{"proportional floor", proportional, docDiscount},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAccrue(t, tt.r, tt.d)
			if a.Points != 90 || a.Base != 9000 {
				t.Fatalf("got %d points on base %d, want 90 on 9000", a.Points, a.Base)
			}
		})
	}
}

func TestE3Steps(t *testing.T) {
	r := AccrualRules{Base: BaseValue, Mode: ModeSteps, Points: 10, Per: 500}
	a := mustAccrue(t, r, linesDoc(4799))
	if a.Points != 90 || a.General != 90 || a.Base != 4799 {
		t.Fatalf("got %+v, want 90 points on 47.99", a)
	}
	// Steps count the total of the lines, not each line: 2.50 + 2.50 is one
	// step of 5.00, where line by line it would be none.
	if a := mustAccrue(t, r, linesDoc(250, 250)); a.Points != 10 {
		t.Fatalf("two lines of 2.50: got %d points, want 10", a.Points)
	}
	a = mustAccrue(t, r, linesDoc(499))
	if a.Points != 0 || a.Reason != "4.99 is below the first step of 5.00" {
		t.Fatalf("4.99: got %d points, reason %q", a.Points, a.Reason)
	}
}

func TestAccrueOptions(t *testing.T) {
	withFidelity := func(d Document, fid int64) Document { d.FidelityDiscount = fid; return d }
	withShipping := func(d Document, s int64) Document { d.Shipping = s; return d }
	with := func(r AccrualRules, f func(*AccrualRules)) AccrualRules { f(&r); return r }
	products := func(m map[string]ProductRule) func(*AccrualRules) {
		return func(r *AccrualRules) { r.Products = m }
	}
	discountedB := linesDoc(5000, 3000)
	discountedB.Lines[1].Discounted = true
	discountedB.Lines[1].Discount = 500
	weighed := linesDoc(1000, 1000)
	weighed.Lines[0].Quantity = 2500 // 2.5 kg
	weighed.Lines[1].Quantity = 3000
	weighed.Shipping = 1000
	weighed.FidelityDiscount = 500
	fixedHalf := linesDoc(1000, 1000)
	fixedHalf.Lines[0].Quantity = 2500
	pctLine := linesDoc(2000, 1000)
	pctLine.Lines[0].Discount = 200
	spread := linesDoc(6000, 4000)
	spread.Discount = 1000
	quantity := AccrualRules{Base: BaseQuantity, Mode: ModeSteps, Points: 1, Per: 1000}
	fivePerEuro := AccrualRules{Base: BaseValue, Mode: ModeProportional, Points: 5, Per: 100}

	tests := []struct {
		name       string
		r          AccrualRules
		d          Document
		points     int64
		base       int64
		reason     string     // substring, when points is 0
		lineRules  []LineRule // when set, each line's rule
		linePoints []int64    // when set, each line's points
	}{
		{"fidelity discount does not lower the base by default", onePointPerEuro, withFidelity(linesDoc(10000), 3000), 100, 10000, "", nil, nil},
		{"fidelity discount lowers the base when set", with(onePointPerEuro, func(r *AccrualRules) { r.FidelityLowersBase = true }), withFidelity(linesDoc(10000), 3000), 70, 7000, "", nil, nil},
		{"fidelity discount never lowers the base below zero",
			with(onePointPerEuro, func(r *AccrualRules) { r.FidelityLowersBase = true }),
			withFidelity(withShipping(linesDoc(1000), 500), 1500), 0, 0, "fidelity discount", nil, nil},
		{"fidelity discount covering shipping in the base",
			with(onePointPerEuro, func(r *AccrualRules) { r.FidelityLowersBase = true; r.ShippingInBase = true }),
			withFidelity(withShipping(linesDoc(1000), 500), 1200), 3, 300, "", nil, nil},
		{"shipping out of the base by default", onePointPerEuro, withShipping(linesDoc(5000), 1000), 50, 5000, "", nil, nil},
		{"shipping in the base when set", with(onePointPerEuro, func(r *AccrualRules) { r.ShippingInBase = true }), withShipping(linesDoc(5000), 1000), 60, 6000, "", nil, nil},
		{"product fixed per unit, rounded down",
			with(onePointPerEuro, products(map[string]ProductRule{"A": {Kind: ProductFixed, Points: 3}})),
			fixedHalf, 7 + 10, 1000, "", []LineRule{LineFixed, LineGeneral}, []int64{7, 0}},
		{"product fixed with no quantity earns nothing",
			with(onePointPerEuro, products(map[string]ProductRule{"A": {Kind: ProductFixed, Points: 3}})),
			func() Document { d := linesDoc(1000); d.Lines[0].Quantity = 0; return d }(), 0, 0, "the product rules give no points on line 1 (product \"A\") (fixed)", nil, nil},
		{"product percent of the net after its discount",
			with(onePointPerEuro, products(map[string]ProductRule{"A": {Kind: ProductPercent, BasisPoints: 500}})),
			pctLine, 90 + 10, 1000, "", []LineRule{LinePercent, LineGeneral}, []int64{90, 0}},
		{"product percent sees its share of the document discount",
			with(onePointPerEuro, products(map[string]ProductRule{"B": {Kind: ProductPercent, BasisPoints: 10000}})),
			spread, 54 + 3600, 5400, "", []LineRule{LineGeneral, LinePercent}, []int64{0, 3600}},
		{"product excluded is out of the base",
			with(onePointPerEuro, products(map[string]ProductRule{"B": {Kind: ProductExclude}})),
			linesDoc(5000, 3000), 50, 5000, "", []LineRule{LineGeneral, LineExcluded}, nil},
		{"every line excluded",
			with(onePointPerEuro, products(map[string]ProductRule{"A": {Kind: ProductExclude}})),
			linesDoc(5000), 0, 0, "every line is excluded", nil, nil},
		{"discounted lines count by default", onePointPerEuro, discountedB, 75, 7500, "", []LineRule{LineGeneral, LineGeneral}, nil},
		{"discounted lines excluded when set",
			with(onePointPerEuro, func(r *AccrualRules) { r.ExcludeDiscountedLines = true }),
			discountedB, 50, 5000, "", []LineRule{LineGeneral, LineDiscountedExcluded}, nil},
		{"discounted exclusion wins over a product rule",
			with(onePointPerEuro, func(r *AccrualRules) {
				r.ExcludeDiscountedLines = true
				r.Products = map[string]ProductRule{"B": {Kind: ProductFixed, Points: 100}}
			}),
			discountedB, 50, 5000, "", []LineRule{LineGeneral, LineDiscountedExcluded}, nil},
		{"quantity base counts items, not money, shipping or fidelity", with(quantity, func(r *AccrualRules) { r.ShippingInBase = true; r.FidelityLowersBase = true }), weighed, 5, 5500, "", nil, nil},
		{"quantity base proportional floor", with(quantity, func(r *AccrualRules) { r.Mode = ModeProportional }), weighed, 5, 5500, "", nil, nil},
		{"quantity base proportional half up", with(quantity, func(r *AccrualRules) { r.Mode = ModeProportional; r.Rounding = RoundHalfUp }), weighed, 6, 5500, "", nil, nil},
		{"quantity base below the first step", quantity, func() Document { d := linesDoc(100); d.Lines[0].Quantity = 250; return d }(), 0, 250, "a quantity of 0.25 is below the first step of 1 unit", nil, nil},
		{"proportional exact", fivePerEuro, linesDoc(12760), 638, 12760, "", nil, nil},
		{"proportional floor by default", fivePerEuro, linesDoc(12750), 637, 12750, "", nil, nil},
		{"proportional floor explicit", with(fivePerEuro, func(r *AccrualRules) { r.Rounding = RoundFloor }), linesDoc(12759), 637, 12759, "", nil, nil},
		{"proportional half up at one half", with(fivePerEuro, func(r *AccrualRules) { r.Rounding = RoundHalfUp }), linesDoc(12750), 638, 12750, "", nil, nil},
		{"proportional half up below one half", with(fivePerEuro, func(r *AccrualRules) { r.Rounding = RoundHalfUp }), linesDoc(12741), 637, 12741, "", nil, nil},
		{"proportional ceil", with(fivePerEuro, func(r *AccrualRules) { r.Rounding = RoundCeil }), linesDoc(12741), 638, 12741, "", nil, nil},
		{"proportional below one unit", fivePerEuro, linesDoc(19), 0, 19, "0.19 earns less than one unit at 5 per 1.00", nil, nil},
		{"percent rule rounds half up",
			with(onePointPerEuro, func(r *AccrualRules) {
				r.Rounding = RoundHalfUp
				r.Products = map[string]ProductRule{"A": {Kind: ProductPercent, BasisPoints: 500}}
			}),
			linesDoc(1990), 100, 0, "", nil, []int64{100}},
		{"percent rule rounds by ceil",
			with(onePointPerEuro, func(r *AccrualRules) {
				r.Rounding = RoundCeil
				r.Products = map[string]ProductRule{"A": {Kind: ProductPercent, BasisPoints: 500}}
			}),
			linesDoc(1981), 100, 0, "", nil, []int64{100}},
		{"percent rule floors by default",
			with(onePointPerEuro, products(map[string]ProductRule{"A": {Kind: ProductPercent, BasisPoints: 500}})),
			linesDoc(1999), 99, 0, "", nil, []int64{99}},
		{"no general rule, only products",
			AccrualRules{Products: map[string]ProductRule{"A": {Kind: ProductFixed, Points: 50}}},
			linesDoc(1000, 2000), 50, 2000, "", []LineRule{LineFixed, LineGeneral}, nil},
		{"no general rule at all", AccrualRules{}, linesDoc(1000), 0, 1000, "no general accrual rule", nil, nil},
		{"empty document", onePointPerEuro, Document{Date: accrualDate}, 0, 0, "no lines", nil, nil},
		{"lines worth nothing after discounts", onePointPerEuro, func() Document { d := linesDoc(1000); d.Discount = 1000; return d }(), 0, 0, "worth 0 after discounts", nil, nil},
		{"amount program, 5 cents per euro", fivePerEuro, linesDoc(12760), 638, 12760, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAccrue(t, tt.r, tt.d)
			if a.Points != tt.points || a.Base != tt.base {
				t.Fatalf("got %d points on base %d, want %d on %d (%+v)", a.Points, a.Base, tt.points, tt.base, a)
			}
			if tt.points == 0 && (tt.reason == "" || !strings.Contains(a.Reason, tt.reason)) {
				t.Errorf("reason %q, want it to contain %q", a.Reason, tt.reason)
			}
			if tt.points != 0 && a.Reason != "" {
				t.Errorf("reason %q on a non-zero accrual", a.Reason)
			}
			sum := a.General
			for i, l := range a.Lines {
				sum += l.Points
				if tt.lineRules != nil && l.Rule != tt.lineRules[i] {
					t.Errorf("line %d: rule %s, want %s", i, l.Rule, tt.lineRules[i])
				}
				if tt.linePoints != nil && l.Points != tt.linePoints[i] {
					t.Errorf("line %d: %d points, want %d", i, l.Points, tt.linePoints[i])
				}
			}
			if sum != a.Points {
				t.Errorf("general %d plus lines = %d, total says %d", a.General, sum, a.Points)
			}
		})
	}
}

func TestLineNetsSpreadEveryCent(t *testing.T) {
	tests := []struct {
		name     string
		gross    []int64
		discount int64
		want     []int64
	}{
		{"pro rata", []int64{6000, 4000}, 1000, []int64{5400, 3600}},
		{"leftover cents to the largest remainders, earlier first", []int64{100, 100, 100}, 2, []int64{99, 99, 100}},
		{"largest remainder wins over position", []int64{100, 200}, 1, []int64{100, 199}},
		{"all of it", []int64{333, 667}, 1000, []int64{0, 0}},
		{"zero lines take nothing", []int64{0, 500}, 100, []int64{0, 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := linesDoc(tt.gross...)
			d.Discount = tt.discount
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := d.lineNets()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("nets %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestAccrueOverflowIsAnError(t *testing.T) {
	huge := linesDoc(math.MaxInt64 / 2)
	tests := []struct {
		name string
		r    AccrualRules
		d    Document
	}{
		{"fixed points times quantity", AccrualRules{Products: map[string]ProductRule{"A": {Kind: ProductFixed, Points: math.MaxInt64}}},
			func() Document { d := linesDoc(100); d.Lines[0].Quantity = 2000; return d }()},
		{"percent of a huge line", AccrualRules{Products: map[string]ProductRule{"A": {Kind: ProductPercent, BasisPoints: 30000}}}, huge},
		{"steps", AccrualRules{Mode: ModeSteps, Points: math.MaxInt64, Per: 1}, linesDoc(2)},
		{"proportional", AccrualRules{Mode: ModeProportional, Points: 3, Per: 1}, huge},
		{"proportional ceil past the edge", AccrualRules{Mode: ModeProportional, Points: thirdOfMaxUint64, Per: 2, Rounding: RoundCeil}, linesDoc(3)},
		{"general plus products", AccrualRules{Mode: ModeSteps, Points: math.MaxInt64, Per: 100,
			Products: map[string]ProductRule{"B": {Kind: ProductFixed, Points: 1}}}, linesDoc(100, 100)},
		{"shipping in the base", AccrualRules{Mode: ModeSteps, Points: 1, Per: 100, ShippingInBase: true},
			func() Document { d := linesDoc(math.MaxInt64 - 10); d.Shipping = 11; return d }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Accrue(tt.r, tt.d)
			if !errors.Is(err, ErrAmountOverflow) && !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("got %+v, %v; want an overflow error", a, err)
			}
		})
	}
	// The edge itself is exact, not an error.
	a, err := Accrue(AccrualRules{Mode: ModeSteps, Points: math.MaxInt64, Per: 100}, linesDoc(100))
	if err != nil || a.Points != math.MaxInt64 {
		t.Fatalf("got %d, %v; want MaxInt64", a.Points, err)
	}
}

func TestAccrualRulesValidate(t *testing.T) {
	bad := []struct {
		r    AccrualRules
		want string
	}{
		{AccrualRules{Base: "weight", Mode: ModeSteps, Points: 1, Per: 100}, `base "weight" is unknown`},
		{AccrualRules{Mode: "tiers", Points: 1, Per: 100}, `mode "tiers" is unknown`},
		{AccrualRules{Points: 1, Per: 100}, "mode is missing"},
		{AccrualRules{Mode: ModeSteps, Points: 1}, "per must be greater than 0"},
		{AccrualRules{Mode: ModeSteps, Points: -1, Per: 100}, "points -1 is negative"},
		{AccrualRules{Mode: ModeSteps, Points: 1, Per: -100}, "per -100 is negative"},
		{AccrualRules{Mode: ModeProportional, Points: 1, Per: 100, Rounding: "bankers"}, `rounding "bankers" is unknown`},
		{AccrualRules{Products: map[string]ProductRule{"": {Kind: ProductExclude}}}, "empty product code"},
		{AccrualRules{Products: map[string]ProductRule{"GIFT": {Kind: "free"}}}, `product "GIFT": rule kind "free" is unknown`},
		{AccrualRules{Products: map[string]ProductRule{"X": {Kind: ProductFixed, Points: -5}}}, `product "X": fixed points -5 is negative`},
		{AccrualRules{Products: map[string]ProductRule{"X": {Kind: ProductFixed, BasisPoints: 500}}}, `product "X": a fixed rule takes points per unit`},
		{AccrualRules{Products: map[string]ProductRule{"X": {Kind: ProductPercent, BasisPoints: -1}}}, `product "X": basis points -1 is negative`},
		{AccrualRules{Products: map[string]ProductRule{"X": {Kind: ProductPercent, Points: 5}}}, `product "X": a percent rule takes basis points (500 = 5%)`},
		{AccrualRules{Products: map[string]ProductRule{"X": {Kind: ProductExclude, Points: 5}}}, `product "X": an exclude rule takes neither`},
		// Sorted: the same rules always report the same product first.
		{AccrualRules{Products: map[string]ProductRule{"Z": {Kind: "z"}, "M": {Kind: "m"}, "Q": {Kind: "q"}}}, `product "M"`},
	}
	for _, tt := range bad {
		err := tt.r.Validate()
		if err == nil || !errors.Is(err, ErrInvalidAccrualRules) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tt.r, err, tt.want)
		}
		if _, aerr := Accrue(tt.r, linesDoc(100)); aerr == nil {
			t.Errorf("%+v: Accrue accepted rules Validate refuses", tt.r)
		}
	}
	good := []AccrualRules{
		{},
		onePointPerEuro,
		{Base: BaseQuantity, Mode: ModeProportional, Points: 1, Per: 1000, Rounding: RoundCeil},
		{Mode: ModeProportional, Points: 5, Per: 100, Rounding: RoundHalfUp},
		{Products: map[string]ProductRule{"A": {Kind: ProductFixed, Points: 0}, "B": {Kind: ProductPercent, BasisPoints: 50000}, "C": {Kind: ProductExclude}}},
	}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

func TestDocumentValidate(t *testing.T) {
	bad := []struct {
		name string
		d    Document
		want string
	}{
		{"negative gross", Document{Lines: []Line{{Product: "A", Gross: 100}, {Product: "B", Gross: -50}}}, `line 2 (product "B"): gross -0.50 is negative`},
		{"negative quantity", Document{Lines: []Line{{Product: "A", Quantity: -1000, Gross: 100}}}, `line 1 (product "A"): quantity -1 is negative`},
		{"negative line discount", Document{Lines: []Line{{Product: "A", Gross: 100, Discount: -1}}}, `line 1 (product "A"): discount -0.01 is negative`},
		{"line discount above gross", Document{Lines: []Line{{Product: "A", Gross: 100}, {Product: "KG", Gross: 500, Discount: 501}}}, `line 2 (product "KG"): discount 5.01 is above the line gross 5.00`},
		{"negative document discount", Document{Lines: []Line{{Product: "A", Gross: 100}}, Discount: -5}, "document discount -0.05 is negative"},
		{"document discount above the lines", Document{Lines: []Line{{Product: "A", Gross: 100, Discount: 10}}, Discount: 91}, "document discount 0.91 is above the lines' net total 0.90"},
		{"negative shipping", Document{Shipping: -500}, "shipping -5.00 is negative"},
		{"negative fidelity discount", Document{FidelityDiscount: -1}, "fidelity discount -0.01 is negative"},
		{"fidelity discount above the total", Document{Lines: []Line{{Product: "A", Gross: 1000}}, Shipping: 500, FidelityDiscount: 1501}, "fidelity discount 15.01 is above the document total 15.00"},
		{"gross total too large", Document{Lines: []Line{{Product: "A", Gross: math.MaxInt64}, {Product: "B", Gross: 1}}}, `line 2 (product "B"): the lines' gross total is too large`},
		{"quantity total too large", Document{Lines: []Line{{Product: "A", Quantity: math.MaxInt64}, {Product: "B", Quantity: 1}}}, `line 2 (product "B"): the lines' total quantity is too large`},
		{"goods plus shipping too large", Document{Lines: []Line{{Product: "A", Gross: math.MaxInt64}}, Shipping: 1}, "plus shipping 0.01 is too large"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			if err == nil || !errors.Is(err, ErrInvalidDocument) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	good := []Document{
		{},
		{Lines: []Line{{Product: "SERVICE", Gross: 0}}},
		{Lines: []Line{{Product: "A", Quantity: 250, Gross: 1000, Discount: 1000, Discounted: true}}},
		{Lines: []Line{{Product: "A", Gross: 1000}}, Shipping: 500, FidelityDiscount: 500, Discount: 1000},
	}
	for _, d := range good {
		if err := d.Validate(); err != nil {
			t.Errorf("%+v: %v", d, err)
		}
	}
}

func TestE8TakebackCreditNote(t *testing.T) {
	invoice := Document{Date: accrualDate, Lines: []Line{{Product: "SHOES", Quantity: 1000, Gross: 10000}, {Product: "SOCKS", Quantity: 2000, Gross: 2000}}}
	credit := Document{Date: accrualDate.AddDate(0, 0, 10), Lines: []Line{{Product: "SOCKS", Quantity: 2000, Gross: 2000}}}
	if a := mustAccrue(t, onePointPerEuro, invoice); a.Points != 120 {
		t.Fatalf("invoice earns %d, want 120", a.Points)
	}
	for range 2 {
		// The same credit note seen again computes the same amount: the
		// ledger's idempotency key then keeps it from being taken twice.
		got, err := Takeback(onePointPerEuro, invoice, credit)
		if err != nil || got != 20 {
			t.Fatalf("Takeback = %d, %v; want 20", got, err)
		}
	}
	// A second credit note is passed together with the first: the points
	// still to take are the difference, and the total never depends on how
	// the credit was split.
	first, _ := Takeback(onePointPerEuro, invoice, Document{Lines: []Line{{Product: "SHOES", Gross: 3050}}})
	both, _ := Takeback(onePointPerEuro, invoice, Document{Lines: []Line{{Product: "SHOES", Gross: 3050}, {Product: "SHOES", Gross: 2050}}})
	once, _ := Takeback(onePointPerEuro, invoice, Document{Lines: []Line{{Product: "SHOES", Gross: 5100}}})
	if first != 31 || both != 51 || once != both {
		t.Fatalf("split credits: first %d, both %d, in one %d; want 31, 51, 51", first, both, once)
	}
}

func TestTakeback(t *testing.T) {
	steps := AccrualRules{Base: BaseValue, Mode: ModeSteps, Points: 10, Per: 500}
	order := Document{Date: accrualDate, Lines: []Line{
		{Product: "A", Quantity: 1000, Gross: 4000},
		{Product: "B", Quantity: 1000, Gross: 799},
	}}
	fidelity := func(r AccrualRules) AccrualRules { r.FidelityLowersBase = true; return r }
	withFid := linesDoc(10000)
	withFid.FidelityDiscount = 5000
	twoLines := Document{Lines: []Line{
		{Product: "A", Quantity: 1000, Gross: 10000, Discount: 5000},
		{Product: "A", Quantity: 1000, Gross: 10000},
	}}
	discounted := linesDoc(10000, 10000)
	discounted.Discount = 2000
	tests := []struct {
		name     string
		r        AccrualRules
		original Document
		credited Document
		want     int64
	}{
		{"steps: a credit that loses a step", steps, order, Document{Lines: []Line{{Product: "B", Gross: 300}}}, 10},
		{"steps: a credit that loses no step", steps, order, Document{Lines: []Line{{Product: "B", Gross: 299}}}, 0},
		{"steps: the whole document", steps, order, order, 90},
		{"fixed product by quantity",
			AccrualRules{Products: map[string]ProductRule{"A": {Kind: ProductFixed, Points: 7}}},
			order, Document{Lines: []Line{{Product: "A", Quantity: 500, Gross: 2000}}}, 4}, // 7 - floor(3.5)
		{"credit note with its share of the document discount", onePointPerEuro, discounted,
			Document{Lines: []Line{{Product: "A", Gross: 10000}}, Discount: 1000}, 90},
		{"credit note of the net on a discounted line", onePointPerEuro, twoLines,
			Document{Lines: []Line{{Product: "A", Gross: 5000}}}, 50},
		{"shipping credited", func() AccrualRules { r := onePointPerEuro; r.ShippingInBase = true; return r }(),
			func() Document { d := linesDoc(5000); d.Shipping = 700; return d }(), Document{Shipping: 700}, 7},
		{"never more than the original earned", fidelity(onePointPerEuro), withFid, Document{Lines: []Line{{Product: "A", Gross: 6000}}}, 50},
		// Returning an excluded product and the fidelity discount with it
		// leaves the general lines a larger base than they had: a credit
		// note still never gives points.
		{"never negative", func() AccrualRules {
			r := fidelity(onePointPerEuro)
			r.Products = map[string]ProductRule{"B": {Kind: ProductExclude}}
			return r
		}(), func() Document { d := linesDoc(10000, 10000); d.FidelityDiscount = 5000; return d }(),
			Document{Lines: []Line{{Product: "B", Gross: 10000}}, FidelityDiscount: 5000}, 0},
		{"nothing credited", onePointPerEuro, order, Document{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Takeback(tt.r, tt.original, tt.credited)
			if err != nil || got != tt.want {
				t.Fatalf("Takeback = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestTakebackRefusals(t *testing.T) {
	original := Document{Lines: []Line{{Product: "A", Quantity: 2000, Gross: 5000, Discount: 1000}}, Discount: 500, Shipping: 300, FidelityDiscount: 200}
	tests := []struct {
		name     string
		credited Document
		want     string
	}{
		{"a product not on the original", Document{Lines: []Line{{Product: "A", Gross: 100}, {Product: "GHOST", Quantity: 1000, Gross: 100}}},
			`credit note line 2 (product "GHOST"): the product is not on the original document`},
		{"more quantity than the original", Document{Lines: []Line{{Product: "A", Quantity: 1500}, {Product: "A", Quantity: 1000}}},
			`credits a quantity of 2.5 of product "A", the original holds 2`},
		{"more value than the original's net", Document{Lines: []Line{{Product: "A", Gross: 4001}}},
			`credits 40.01 of product "A", the original holds 40.00 net of line discounts`},
		{"more document discount", Document{Lines: []Line{{Product: "A", Gross: 1000}}, Discount: 501}, "document discount 5.01 is above the original's 5.00"},
		{"more fidelity discount", Document{Lines: []Line{{Product: "A", Gross: 1000}}, FidelityDiscount: 201}, "fidelity discount 2.01 is above the original's 2.00"},
		{"more shipping", Document{Shipping: 301}, "shipping 3.01 is above the original's 3.00"},
		{"an invalid credit note", Document{Lines: []Line{{Product: "A", Gross: -1}}}, `credit note: invalid document: line 1 (product "A"): gross -0.01 is negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Takeback(onePointPerEuro, original, tt.credited)
			if err == nil || !errors.Is(err, ErrInvalidDocument) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %d, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
	if _, err := Takeback(AccrualRules{Mode: "x", Points: 1, Per: 1}, original, Document{}); !errors.Is(err, ErrInvalidAccrualRules) {
		t.Fatalf("bad rules: got %v", err)
	}
	if _, err := Takeback(onePointPerEuro, Document{Shipping: -1}, Document{}); err == nil || !strings.HasPrefix(err.Error(), "original: ") {
		t.Fatalf("bad original: got %v", err)
	}
}

func TestMulDiv(t *testing.T) {
	tests := []struct {
		a, b, c int64
		mode    Rounding
		want    int64
		err     bool
	}{
		{7, 3, 2, RoundFloor, 10, false},
		{7, 3, 2, "", 10, false},
		{7, 3, 2, RoundHalfUp, 11, false},
		{7, 3, 2, RoundCeil, 11, false},
		{5, 1, 3, RoundHalfUp, 2, false}, // 1.67
		{4, 1, 3, RoundHalfUp, 1, false}, // 1.33
		{6, 1, 3, RoundCeil, 2, false},   // exact
		{math.MaxInt64, math.MaxInt64, math.MaxInt64, RoundFloor, math.MaxInt64, false},
		{math.MaxInt64, 2, 2, RoundCeil, math.MaxInt64, false},
		{math.MaxInt64, 3, 2, RoundFloor, 0, true},
		{math.MaxInt64, math.MaxInt64, 1, RoundFloor, 0, true},
		{math.MaxInt64, 2, 1, RoundFloor, 0, true}, // quotient fits in 64 bits but not in 63
		{math.MaxInt64, 1, 1, RoundFloor, math.MaxInt64, false},
		{-1, 1, 1, RoundFloor, 0, true},
		{1, 1, 0, RoundFloor, 0, true},
		{1, 1, 1, "bankers", 0, true},
	}
	for _, tt := range tests {
		got, err := mulDiv(tt.a, tt.b, tt.c, tt.mode)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("mulDiv(%d, %d, %d, %q) = %d, %v; want %d (error %v)", tt.a, tt.b, tt.c, tt.mode, got, err, tt.want, tt.err)
		}
	}
	if _, err := mulDiv(math.MaxInt64, 1, 1, RoundCeil); err != nil {
		t.Errorf("exact MaxInt64 with ceil: %v", err)
	}
	// Ceil and half up past the edge must not wrap.
	if got, err := mulDiv(math.MaxInt64, 3, 3, RoundCeil); err != nil || got != math.MaxInt64 {
		t.Errorf("got %d, %v", got, err)
	}
	// (2^64-1)/3 * 3 / 2 floors to exactly MaxInt64 with a remainder of
	// one half: rounding it up must be an error, not a wrap.
	if got, err := mulDiv(thirdOfMaxUint64, 3, 2, RoundFloor); err != nil || got != math.MaxInt64 {
		t.Errorf("floor at the edge: %d, %v", got, err)
	}
	for _, mode := range []Rounding{RoundCeil, RoundHalfUp} {
		if _, err := mulDiv(thirdOfMaxUint64, 3, 2, mode); !errors.Is(err, ErrAmountOverflow) {
			t.Errorf("%s past the edge: %v", mode, err)
		}
	}
}

func TestTextHelpers(t *testing.T) {
	for v, want := range map[int64]string{0: "0.00", 5: "0.05", -30: "-0.30", 12760: "127.60", math.MinInt64: "-92233720368547758.08"} {
		if got := moneyText(v); got != want {
			t.Errorf("moneyText(%d) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[int64]string{0: "0", 1000: "1", 250: "0.25", 2505: "2.505", -1500: "-1.5"} {
		if got := quantityText(v); got != want {
			t.Errorf("quantityText(%d) = %q, want %q", v, got, want)
		}
	}
}

// TestAccrualGolden runs every case folder under testdata/accrual: adding a
// case is adding a folder with rules.json and document.json; run with
// -update-accrual-golden to write its expected.json, then read it.
func TestAccrualGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "accrual", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases under testdata/accrual")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var r AccrualRules
			var d Document
			readGoldenJSON(t, filepath.Join(dir, "rules.json"), &r)
			readGoldenJSON(t, filepath.Join(dir, "document.json"), &d)
			a, err := Accrue(r, d)
			got := map[string]any{"accrual": a}
			if err != nil {
				got = map[string]any{"error": err.Error()}
			}
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			path := filepath.Join(dir, "expected.json")
			if *updateAccrualGolden {
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-accrual-golden to create it)", err)
			}
			if string(want) != string(b) {
				t.Fatalf("%s differs:\n got: %s\nwant: %s", path, b, want)
			}
		})
	}
}

func readGoldenJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
