package configs

import (
	"reflect"
	"testing"

	"github.com/pointsync/pointsync/rules"
)

func TestDemoRules(t *testing.T) {
	c, err := exampleLoader().Load("demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shop, card := c.Programs[0], c.Programs[1]
	if a, err := shop.AccrualRules(); err != nil || !reflect.DeepEqual(a, rules.AccrualRules{Base: rules.BaseValue, Mode: rules.ModeSteps, Points: 1, Per: 100}) {
		t.Errorf("shop accrual %+v, %v", a, err)
	}
	r, ok, err := shop.RedemptionRules()
	if err != nil || !ok || r.RatePoints != 100 || r.RateValue != 100 || r.MinBalance != 500 || r.MinCart != 2000 ||
		r.MaxDiscountBasisPoints != 2000 || r.Scope != rules.ScopeGoods || shop.ConfirmOn != ConfirmConverted {
		t.Errorf("shop redemption %+v, %v, %v", r, ok, err)
	}
	if a := shop.ActionRules(); a != (rules.ActionRules{Registration: 100, Newsletter: 50}) {
		t.Errorf("shop actions %+v", a)
	}
	if b := shop.Badges(); len(b) != 3 || rules.ValidateBadges(b) != nil {
		t.Errorf("shop badges %+v", b)
	}
	if a, err := card.AccrualRules(); err != nil || a.Mode != rules.ModeProportional || a.Points != 5 || a.Per != 100 || !card.CreateCardCustomers {
		t.Errorf("card accrual %+v, %v", a, err)
	}
	if cats, err := card.Catalogs(); err != nil || len(cats) != 1 || cats[0].Prizes[0].CoPayment != 200 {
		t.Errorf("card catalogs %+v, %v", cats, err)
	}
	if _, ok, err := card.RedemptionRules(); ok || err != nil {
		t.Errorf("card redemption configured %v, %v", ok, err)
	}
}

// A program without rule sections earns nothing and validates.
func TestNoRules(t *testing.T) {
	c := mustParse(t, "programs:\n  - id: shop\n", nil)
	p := c.Programs[0]
	a, err := p.AccrualRules()
	if err != nil || a.Validate() != nil {
		t.Fatal(err)
	}
	if acc, err := rules.Accrue(a, goods(10000)); err != nil || acc.Points != 0 {
		t.Errorf("earned %d, %v", acc.Points, err)
	}
	gifts, gErr := p.Gifts()
	cats, cErr := p.Catalogs()
	if gifts != nil || gErr != nil || cats != nil || cErr != nil || p.Badges() != nil {
		t.Error("sections appeared from nowhere")
	}
}

func TestGiftsInProgramZone(t *testing.T) {
	c := mustParse(t, "programs:\n  - id: shop\n    time_zone: America/New_York\n    gifts: [{id: m, schedule: \"@monthly\", points: 5}]\n", nil)
	g, err := c.Programs[0].Gifts()
	if err != nil || len(g) != 1 || g[0].Location.String() != "America/New_York" {
		t.Errorf("gifts %+v, %v", g, err)
	}
}

func TestQuantityEvery(t *testing.T) {
	c := mustParse(t, "programs:\n  - id: shop\n    accrual: {base: quantity, mode: steps, points: 2, every: 0.5}\n", nil)
	if a, err := c.Programs[0].AccrualRules(); err != nil || a.Per != 500 {
		t.Errorf("%+v, %v", a, err)
	}
	_, err := parseString(t, "programs:\n  - id: shop\n    accrual: {mode: steps, points: 2, every: 0.125}\n", nil)
	if es := asErrors(t, err); len(es) != 1 || es[0].Key != "programs[0].accrual.every" || es[0].Line != 3 {
		t.Errorf("got %v", err)
	}
}
