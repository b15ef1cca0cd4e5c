package configs

import (
	"fmt"
	"time"

	"github.com/pointsync/pointsync/rules"
)

// programRules checks the rule sections of the program at base with the
// rules package's own Validate functions, so a file that loads never gives
// the ledger a rule it refuses later. Each error is placed at the narrowest
// key it can be pinned to.
func (v *validator) programRules(base string, p Program) {
	if p.ConfirmOn != "" {
		v.oneOf(base+".confirm_on", p.ConfirmOn, ConfirmConverted, ConfirmPaid, ConfirmCompleted)
	}
	if p.ExcludeCurrentTransaction && p.Unit != rules.UnitAmount {
		v.add(base+".exclude_current_transaction", "exclude_current_transaction is for amount cards at the till; remove it or set unit: amount")
	}
	v.accrual(base+".accrual", p.Accrual)
	v.redemption(base+".redemption", p)
	if err := p.ActionRules().Validate(); err != nil {
		v.add(base+".actions", "%v", err)
	}
	v.gifts(base+".gifts", p)
	v.badges(base+".badges", p.BadgeList)
	v.catalogs(base+".catalogs", p.CatalogList)
}

func (v *validator) accrual(base string, a Accrual) {
	general := a
	general.Products = nil
	r, err := general.rules()
	switch {
	case err != nil:
		v.add(base+".every", "%v", err)
	case a.Points > 0 && a.Every == "":
		v.add(base+".every", "points needs every, the step they are earned for, e.g. every: \"5.00\" (or every: 1 for base quantity)")
	default:
		if err := r.Validate(); err != nil {
			v.add(base, "%v", err)
		}
	}
	for _, code := range a.productCodes() {
		key := base + ".products." + code
		pr := a.Products[code]
		switch {
		case pr.kinds() == 0 && (pr.Fixed != 0 || v.given(key+".fixed") || v.given(key+".percent")):
			v.add(key, "a zero rule earns nothing; write exclude: true for that")
			continue
		case pr.kinds() != 1:
			v.add(key, "write exactly one of fixed: N (points per unit), percent: \"5\" (of the line net) or exclude: true")
			continue
		}
		// Alone, so a bad general rule does not hide it and its error
		// lands on its own line.
		one := rules.AccrualRules{Products: map[string]rules.ProductRule{code: pr.rule()}}
		if err := one.Validate(); err != nil {
			v.add(key, "%v", err)
		}
	}
}

func (v *validator) redemption(base string, p Program) {
	r := p.Redemption
	if r.isZero() && !v.given(base) {
		return
	}
	if r.MaxDiscount != 0 && r.MaxDiscountPercent != 0 {
		v.add(base+".max_discount_percent", "max_discount (line %d) and max_discount_percent are both set; keep one", v.c.line(base+".max_discount"))
		return
	}
	if p.Unit == rules.UnitAmount && r.Rate != (Rate{}) && r.Rate.Points != int64(r.Rate.Value) {
		v.add(base+".rate", "an amount card spends its balance one cent for one cent; remove rate")
		return
	}
	if err := r.rules(p.Unit).Validate(); err != nil {
		v.add(base, "%v", err)
	}
}

func (v *validator) gifts(base string, p Program) {
	loc := time.UTC // a bad zone is reported on its own; schedules do not depend on it
	if l, err := time.LoadLocation(p.TimeZone); err == nil && v.zones[p.TimeZone] == nil {
		loc = l
	}
	first := map[string]int{}
	for i, g := range giftRules(p.GiftList, loc) {
		key := joinIndex(base, i)
		if err := g.Validate(); err != nil {
			v.add(key, "%v", err)
			continue
		}
		// Awards are keyed by gift id: two gifts with one id would award once.
		if j, dup := first[g.ID]; dup {
			v.add(key+".id", "gift id %s is already used (line %d); each gift needs its own id", g.ID, v.c.line(joinIndex(base, j)))
			continue
		}
		first[g.ID] = i
	}
}

func (v *validator) badges(base string, badges []Badge) {
	ok := true
	for i, b := range badges {
		if err := b.rule().Validate(); err != nil {
			v.add(joinIndex(base, i), "%v", err)
			ok = false
		}
	}
	if !ok {
		return
	}
	all := make([]rules.Badge, len(badges))
	for i, b := range badges {
		all[i] = b.rule()
	}
	if err := rules.ValidateBadges(all); err != nil {
		v.add(base, "%v", err)
	}
}

func (v *validator) catalogs(base string, cats []Catalog) {
	ok := true
	all := make([]rules.Catalog, len(cats))
	for i, c := range cats {
		key := joinIndex(base, i)
		all[i] = c.rule()
		// The window and card types first, without the prizes, so a bad
		// prize is reported at its own line below.
		bare := all[i]
		bare.Prizes = nil
		if err := bare.Validate(); err != nil {
			v.add(key, "%v", err)
			ok = false
		}
		for j, p := range all[i].Prizes {
			if err := p.Validate(); err != nil {
				v.add(fmt.Sprintf("%s.prizes[%d]", key, j), "catalog %s: %v", c.ID, err)
				ok = false
			}
		}
	}
	if !ok {
		return
	}
	// What holds across prizes and catalogs: unique ids.
	if err := rules.ValidateCatalogs(all); err != nil {
		v.add(base, "%v", err)
	}
}
