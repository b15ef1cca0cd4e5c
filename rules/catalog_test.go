package rules

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func e12Catalogs() []Catalog {
	return []Catalog{{
		ID:          "SPRING",
		Name:        "Catalogo primavera",
		ValidFrom:   Date{2026, 1, 1},
		ValidTo:     Date{2026, 6, 30},
		RedeemUntil: Date{2026, 7, 31},
		Prizes: []Prize{{
			ID: "MUG", Name: "Tazza", Kind: PrizeArticle,
			Points: 500, CoPayment: 200, PerCustomer: 1,
		}},
	}}
}

// TestE12Catalog is SPEC E12 at the rules level.
func TestE12Catalog(t *testing.T) {
	loc := rome(t)
	cats := e12Catalogs()
	if err := ValidateCatalogs(cats); err != nil {
		t.Fatal(err)
	}
	july10 := time.Date(2026, 7, 10, 11, 0, 0, 0, loc)

	// Redeemed once with 600 earned: 100 left.
	p, err := CheckRedemption(cats, "SPRING", "MUG", "", 600, Redeemed{}, july10, loc)
	if err != nil {
		t.Fatalf("first redemption refused: %v", err)
	}
	if p.Points != 500 || p.CoPayment != 200 || 600-p.Points != 100 {
		t.Fatalf("prize %+v: want 500 points + 2.00 EUR leaving 100", p)
	}

	// A second time is refused: one per customer.
	used := Redeemed{Customer: map[string]int{"MUG": 1}, Total: map[string]int{"MUG": 1}}
	_, err = CheckRedemption(cats, "SPRING", "MUG", "", 100+500, used, july10, loc)
	if !errors.Is(err, ErrPerCustomerLimit) || !strings.Contains(err.Error(), "already redeemed 1 of 1") {
		t.Fatalf("second redemption: got %v, want the per-customer limit", err)
	}

	// A till document of 2026-07-10 earns nothing, with the reason.
	id, ok, reason := AccrualWindow(cats, "", july10, loc)
	if ok || id != "" {
		t.Fatalf("accrual on 2026-07-10 allowed by %q", id)
	}
	for _, want := range []string{"2026-07-10", "SPRING", "2026-01-01 to 2026-06-30"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q does not mention %s", reason, want)
		}
	}

	// On 2026-08-01 the prize is refused: the deadline passed.
	_, err = CheckRedemption(cats, "SPRING", "MUG", "", 600, Redeemed{}, time.Date(2026, 8, 1, 9, 0, 0, 0, loc), loc)
	if !errors.Is(err, ErrRedeemDeadline) || !strings.Contains(err.Error(), "2026-07-31") {
		t.Fatalf("redemption on 2026-08-01: got %v, want the deadline", err)
	}
}

func TestAccrualWindow(t *testing.T) {
	loc := rome(t)
	spring := Catalog{ID: "SPRING", ValidFrom: Date{2026, 1, 1}, ValidTo: Date{2026, 6, 30}}
	autumn := Catalog{ID: "AUTUMN", ValidFrom: Date{2026, 9, 1}, ValidTo: Date{2026, 12, 31}}
	gold := Catalog{ID: "GOLD26", CardTypes: []string{"GOLD"}, ValidFrom: Date{2026, 3, 1}, ValidTo: Date{2026, 3, 29}}
	goldLater := Catalog{ID: "GOLD26B", CardTypes: []string{"GOLD", "PLATINUM"}, ValidFrom: Date{2026, 3, 15}, ValidTo: Date{2026, 4, 30}}
	all := []Catalog{spring, autumn, gold, goldLater}

	tests := []struct {
		name     string
		cats     []Catalog
		cardType string
		at       time.Time
		wantID   string   // "" for no accrual
		reason   []string // substrings of the reason when no accrual
	}{
		{"first instant of the first day", all, "", time.Date(2026, 1, 1, 0, 0, 0, 0, loc), "SPRING", nil},
		{"last minute before the window (UTC already 2025-12-31 22:59)", all, "", time.Date(2025, 12, 31, 23, 59, 0, 0, loc), "",
			[]string{"no catalog active on 2025-12-31", "catalog SPRING runs 2026-01-01 to 2026-06-30"}},
		{"last day 23:30 Rome", all, "", time.Date(2026, 6, 30, 23, 30, 0, 0, loc), "SPRING", nil},
		{"last day 23:30 Rome given in UTC", all, "", time.Date(2026, 6, 30, 21, 30, 0, 0, time.UTC), "SPRING", nil},
		{"day after 00:00 Rome is still 06-30 in UTC", all, "", time.Date(2026, 6, 30, 22, 0, 0, 0, time.UTC), "",
			[]string{"2026-07-01", "catalog SPRING ran 2026-01-01 to 2026-06-30", "catalog AUTUMN runs 2026-09-01 to 2026-12-31"}},
		{"between windows", all, "", time.Date(2026, 8, 15, 12, 0, 0, 0, loc), "", []string{"SPRING ran", "AUTUMN runs"}},
		{"after every window", all, "", time.Date(2027, 1, 1, 0, 0, 0, 0, loc), "", []string{"catalog AUTUMN ran"}},
		{"no catalogs", nil, "GOLD", time.Date(2026, 5, 1, 0, 0, 0, 0, loc), "", []string{"no catalog for card type GOLD"}},
		{"card type catalog wins over program one", all, "GOLD", time.Date(2026, 3, 2, 12, 0, 0, 0, loc), "GOLD26", nil},
		{"card type compared without case", all, "gold", time.Date(2026, 3, 2, 12, 0, 0, 0, loc), "GOLD26", nil},
		{"of two card type catalogs the later opened wins", all, "GOLD", time.Date(2026, 3, 20, 12, 0, 0, 0, loc), "GOLD26B", nil},
		{"other card types get the program catalog", all, "SILVER", time.Date(2026, 3, 20, 12, 0, 0, 0, loc), "SPRING", nil},
		{"no card type gets the program catalog", all, "", time.Date(2026, 3, 20, 12, 0, 0, 0, loc), "SPRING", nil},
		{"card catalog only: other card type earns nothing", []Catalog{gold}, "SILVER", time.Date(2026, 3, 2, 0, 0, 0, 0, loc), "",
			[]string{"no catalog for card type SILVER"}},
		{"card catalog only: no card type earns nothing", []Catalog{gold}, "", time.Date(2026, 3, 2, 0, 0, 0, 0, loc), "",
			[]string{"for a customer without a card type"}},
		// 2026-03-29 has 23 hours in Rome.
		{"DST day last minute", []Catalog{gold}, "GOLD", time.Date(2026, 3, 29, 23, 59, 0, 0, loc), "GOLD26", nil},
		{"DST day next midnight", []Catalog{gold}, "GOLD", time.Date(2026, 3, 30, 0, 0, 0, 0, loc), "",
			[]string{"2026-03-30", "GOLD26 ran 2026-03-01 to 2026-03-29"}},
		{"DST day 00:30 in the first hour", []Catalog{gold}, "GOLD", time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC), "GOLD26", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok, reason := AccrualWindow(tt.cats, tt.cardType, tt.at, loc)
			if id != tt.wantID || ok != (tt.wantID != "") {
				t.Fatalf("got %q ok=%v (%s), want %q", id, ok, reason, tt.wantID)
			}
			if ok && reason != "" {
				t.Errorf("reason %q given with an accrual", reason)
			}
			for _, want := range tt.reason {
				if !strings.Contains(reason, want) {
					t.Errorf("reason %q does not contain %q", reason, want)
				}
			}
		})
	}
}

func TestAccrualWindowIgnoresOrder(t *testing.T) {
	loc := rome(t)
	a := Catalog{ID: "A", ValidFrom: Date{2026, 1, 1}, ValidTo: Date{2026, 12, 31}}
	b := Catalog{ID: "B", ValidFrom: Date{2026, 1, 1}, ValidTo: Date{2026, 6, 30}}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, loc)
	x, _, _ := AccrualWindow([]Catalog{a, b}, "", at, loc)
	y, _, _ := AccrualWindow([]Catalog{b, a}, "", at, loc)
	if x != "A" || y != "A" {
		t.Fatalf("same-day windows: got %s and %s, want A both times (smaller id)", x, y)
	}
}

func TestValidateCatalogs(t *testing.T) {
	ok := func() Catalog { return e12Catalogs()[0] }
	voucher := Prize{ID: "V10", Kind: PrizeVoucher, Points: 1000, Voucher: VoucherSpec{ValueCents: 1000, ValidDays: 30}}
	tests := []struct {
		name string
		cats func() []Catalog
		want string // "" valid, else a substring of the error
	}{
		{"valid", func() []Catalog { return e12Catalogs() }, ""},
		{"valid voucher, card types, no deadline", func() []Catalog {
			c := ok()
			c.CardTypes, c.RedeemUntil, c.Prizes = []string{"GOLD", "SILVER"}, Date{}, []Prize{voucher}
			return []Catalog{c}
		}, ""},
		{"one-day window", func() []Catalog {
			c := ok()
			c.ValidTo, c.RedeemUntil = c.ValidFrom, c.ValidFrom
			return []Catalog{c}
		}, ""},
		{"no id", func() []Catalog { c := ok(); c.ID = ""; return []Catalog{c} }, "no id"},
		{"no window", func() []Catalog { c := ok(); c.ValidFrom = Date{}; return []Catalog{c} }, "valid_from and valid_to"},
		{"window backwards", func() []Catalog {
			c := ok()
			c.ValidFrom = Date{2026, 7, 1}
			return []Catalog{c}
		}, "valid_to 2026-06-30 is before valid_from 2026-07-01"},
		{"deadline before window end", func() []Catalog {
			c := ok()
			c.RedeemUntil = Date{2026, 6, 29}
			return []Catalog{c}
		}, "redeem_until 2026-06-29 is before valid_to 2026-06-30"},
		{"empty card type", func() []Catalog { c := ok(); c.CardTypes = []string{"GOLD", " "}; return []Catalog{c} }, "empty entry"},
		{"card type twice", func() []Catalog { c := ok(); c.CardTypes = []string{"GOLD", "gold"}; return []Catalog{c} }, "listed twice"},
		{"prize without id", func() []Catalog { c := ok(); c.Prizes[0].ID = ""; return []Catalog{c} }, "prize 1 has no id"},
		{"prize twice in a catalog", func() []Catalog {
			c := ok()
			c.Prizes = append(c.Prizes, c.Prizes[0])
			return []Catalog{c}
		}, "prize id MUG is used twice"},
		{"prize kind", func() []Catalog { c := ok(); c.Prizes[0].Kind = "gift"; return []Catalog{c} }, `unknown kind "gift"`},
		{"zero points", func() []Catalog { c := ok(); c.Prizes[0].Points = 0; return []Catalog{c} }, "points must be greater than 0"},
		{"negative co-payment", func() []Catalog { c := ok(); c.Prizes[0].CoPayment = -1; return []Catalog{c} }, "co_payment"},
		{"negative per customer", func() []Catalog { c := ok(); c.Prizes[0].PerCustomer = -1; return []Catalog{c} }, "per_customer"},
		{"negative stock", func() []Catalog { c := ok(); c.Prizes[0].Stock = -1; return []Catalog{c} }, "stock"},
		{"voucher without value", func() []Catalog {
			c := ok()
			c.Prizes = []Prize{{ID: "V", Kind: PrizeVoucher, Points: 1}}
			return []Catalog{c}
		}, "prize V: voucher needs"},
		{"voucher settings on an article", func() []Catalog {
			c := ok()
			c.Prizes[0].Voucher = VoucherSpec{ValueCents: 500}
			return []Catalog{c}
		}, "voucher settings given on a prize of kind article"},
		{"catalog id twice", func() []Catalog {
			a, b := ok(), ok()
			b.Prizes = nil
			return []Catalog{a, b}
		}, "catalog id SPRING is used twice"},
		{"prize id across catalogs", func() []Catalog {
			a, b := ok(), ok()
			b.ID = "SUMMER"
			return []Catalog{a, b}
		}, "prize id MUG is used in catalogs SPRING and SUMMER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCatalogs(tt.cats())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func redeemCatalogs() []Catalog {
	return []Catalog{
		{
			ID: "SPRING", ValidFrom: Date{2026, 1, 1}, ValidTo: Date{2026, 6, 30}, RedeemUntil: Date{2026, 7, 31},
			Prizes: []Prize{
				{ID: "MUG", Kind: PrizeArticle, Points: 500, CoPayment: 200, PerCustomer: 1},
				{ID: "BAG", Kind: PrizeNonStock, Points: 300, Stock: 10},
				{ID: "PEN", Kind: PrizeArticle, Points: 100}, // no limits at all
				{ID: "V5", Kind: PrizeVoucher, Points: 800, PerCustomer: 2, Voucher: VoucherSpec{ValueCents: 500}},
			},
		},
		{
			ID: "AUTUMN", ValidFrom: Date{2026, 9, 1}, ValidTo: Date{2026, 12, 31},
			Prizes: []Prize{{ID: "HAT", Kind: PrizeArticle, Points: 50}},
		},
		{
			ID: "GOLDONLY", CardTypes: []string{"GOLD"}, ValidFrom: Date{2026, 1, 1}, ValidTo: Date{2026, 12, 31},
			Prizes: []Prize{{ID: "TRIP", Kind: PrizeNonStock, Points: 400}},
		},
	}
}

func TestRedeemable(t *testing.T) {
	loc := rome(t)
	cats := redeemCatalogs()
	july := time.Date(2026, 7, 10, 12, 0, 0, 0, loc)
	type want struct {
		ok     bool
		reason string
	}
	tests := []struct {
		name     string
		cardType string
		earned   int64
		used     Redeemed
		at       time.Time
		want     map[string]want // prize id to outcome; the listing must hold exactly these
	}{
		{"everything affordable", "", 1000, Redeemed{}, july, map[string]want{
			"MUG": {true, ""}, "BAG": {true, ""}, "PEN": {true, ""}, "V5": {true, ""},
			"HAT": {false, "catalog AUTUMN opens on 2026-09-01"},
		}},
		{"affordability", "", 450, Redeemed{}, july, map[string]want{
			"MUG": {false, "needs 500 points, has 450"}, "BAG": {true, ""}, "PEN": {true, ""},
			"V5": {false, "needs 800 points, has 450"}, "HAT": {false, "opens on"},
		}},
		{"exactly the points", "", 500, Redeemed{}, july, map[string]want{
			"MUG": {true, ""}, "BAG": {true, ""}, "PEN": {true, ""}, "V5": {false, "needs 800"}, "HAT": {false, "opens"},
		}},
		{"limits", "", 5000, Redeemed{
			Customer: map[string]int{"MUG": 1, "V5": 1, "PEN": 40},
			Total:    map[string]int{"MUG": 7, "BAG": 10, "PEN": 999, "V5": 3},
		}, july, map[string]want{
			"MUG": {false, "already redeemed 1 of 1 allowed per customer"},
			"BAG": {false, "out of stock (10 of 10 redeemed)"},
			"PEN": {true, ""}, // stock 0 and per customer 0: unlimited
			"V5":  {true, ""}, // 1 of 2
			"HAT": {false, "opens"},
		}},
		{"stock one short of exhausted", "", 5000, Redeemed{Total: map[string]int{"BAG": 9}}, july, map[string]want{
			"MUG": {true, ""}, "BAG": {true, ""}, "PEN": {true, ""}, "V5": {true, ""}, "HAT": {false, "opens"},
		}},
		{"gold card sees its catalog", "GOLD", 450, Redeemed{}, july, map[string]want{
			"MUG": {false, "needs 500"}, "BAG": {true, ""}, "PEN": {true, ""}, "V5": {false, "needs"},
			"HAT": {false, "opens"}, "TRIP": {true, ""},
		}},
		{"deadline day last minute", "", 1000, Redeemed{}, time.Date(2026, 7, 31, 23, 59, 0, 0, loc), map[string]want{
			"MUG": {true, ""}, "BAG": {true, ""}, "PEN": {true, ""}, "V5": {true, ""}, "HAT": {false, "opens"},
		}},
		{"day after deadline, midnight Rome (UTC still 07-31)", "", 1000, Redeemed{}, time.Date(2026, 7, 31, 22, 0, 0, 0, time.UTC), map[string]want{
			"HAT": {false, "opens"},
		}},
		{"autumn without separate deadline, last day", "", 60, Redeemed{}, time.Date(2026, 12, 31, 23, 0, 0, 0, loc), map[string]want{
			"HAT": {true, ""},
		}},
		{"nothing left", "", 60, Redeemed{}, time.Date(2027, 1, 1, 0, 0, 0, 0, loc), map[string]want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redeemable(cats, tt.cardType, tt.earned, tt.used, tt.at, loc)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d entries %+v, want %d", len(got), got, len(tt.want))
			}
			for _, e := range got {
				w, listed := tt.want[e.Prize.ID]
				if !listed {
					t.Errorf("prize %s listed, should not be", e.Prize.ID)
					continue
				}
				if e.Redeemable != w.ok || (w.ok && e.Reason != "") || !strings.Contains(e.Reason, w.reason) {
					t.Errorf("prize %s: redeemable=%v reason %q; want %v %q", e.Prize.ID, e.Redeemable, e.Reason, w.ok, w.reason)
				}
			}
		})
	}
}

func TestRedeemableKeepsConfigurationOrder(t *testing.T) {
	loc := rome(t)
	got := Redeemable(redeemCatalogs(), "GOLD", 0, Redeemed{}, time.Date(2026, 9, 2, 0, 0, 0, 0, loc), loc)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.Catalog+"/"+e.Prize.ID)
	}
	if s := strings.Join(ids, " "); s != "AUTUMN/HAT GOLDONLY/TRIP" {
		t.Fatalf("order %s", s)
	}
}

func TestCheckRedemption(t *testing.T) {
	loc := rome(t)
	cats := redeemCatalogs()
	july := time.Date(2026, 7, 10, 12, 0, 0, 0, loc)
	tests := []struct {
		name           string
		catalog, prize string
		cardType       string
		earned         int64
		used           Redeemed
		at             time.Time
		sentinel       error // nil: allowed
		msg            string
	}{
		{"allowed", "SPRING", "MUG", "", 500, Redeemed{}, july, nil, ""},
		{"allowed on the first day", "SPRING", "PEN", "", 100, Redeemed{}, time.Date(2026, 1, 1, 0, 0, 0, 0, loc), nil, ""},
		{"unknown catalog", "WINTER", "MUG", "", 500, Redeemed{}, july, ErrUnknownPrize, "no catalog WINTER"},
		{"unknown prize", "SPRING", "HAT", "", 500, Redeemed{}, july, ErrUnknownPrize, "catalog SPRING has no prize HAT"},
		{"wrong card type", "GOLDONLY", "TRIP", "SILVER", 500, Redeemed{}, july, ErrPrizeNotForCard, `for card types GOLD, not "SILVER"`},
		{"not open yet", "AUTUMN", "HAT", "", 500, Redeemed{}, july, ErrCatalogNotOpen, "opens on 2026-09-01"},
		{"deadline passed", "SPRING", "PEN", "", 500, Redeemed{}, time.Date(2026, 8, 1, 0, 0, 0, 0, loc), ErrRedeemDeadline,
			"deadline of catalog SPRING was 2026-07-31 (passed on 2026-08-01)"},
		{"per customer", "SPRING", "V5", "", 5000, Redeemed{Customer: map[string]int{"V5": 2}}, july, ErrPerCustomerLimit, "already redeemed 2 of 2"},
		{"out of stock", "SPRING", "BAG", "", 5000, Redeemed{Total: map[string]int{"BAG": 10}}, july, ErrPrizeOutOfStock, "out of stock (10 of 10 redeemed)"},
		{"not enough", "SPRING", "MUG", "", 450, Redeemed{}, july, ErrNotEnoughToRedeem, "prize MUG: needs 500 points, has 450"},
		{"deadline beats points", "SPRING", "MUG", "", 0, Redeemed{}, time.Date(2026, 9, 1, 0, 0, 0, 0, loc), ErrRedeemDeadline, "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := CheckRedemption(cats, tt.catalog, tt.prize, tt.cardType, tt.earned, tt.used, tt.at, loc)
			if tt.sentinel == nil {
				if err != nil || p.ID != tt.prize {
					t.Fatalf("got %+v, %v; want prize %s", p, err, tt.prize)
				}
				return
			}
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want %v with %q", err, tt.sentinel, tt.msg)
			}
			var pe *PrizeError
			if !errors.As(err, &pe) || pe.Catalog != tt.catalog || pe.Prize != tt.prize {
				t.Fatalf("error %#v does not name catalog %s prize %s", err, tt.catalog, tt.prize)
			}
			if p != (Prize{}) {
				t.Fatalf("refused but returned prize %+v", p)
			}
		})
	}
}

func TestThresholdCrossed(t *testing.T) {
	loc := rome(t)
	cats := redeemCatalogs() // cheapest open in July: PEN 100; HAT 50 opens in September
	july := time.Date(2026, 7, 10, 12, 0, 0, 0, loc)
	tests := []struct {
		name          string
		cardType      string
		before, after int64
		at            time.Time
		want          string // prize id, "" for no notification
	}{
		{"crossing", "", 90, 120, july, "PEN"},
		{"landing exactly", "", 99, 100, july, "PEN"},
		{"already above", "", 100, 150, july, ""},
		{"still below", "", 10, 99, july, ""},
		{"going down", "", 150, 50, july, ""},
		{"no change", "", 100, 100, july, ""},
		{"future catalog not counted", "", 40, 60, july, ""},
		{"autumn: cheaper prize open", "", 40, 60, time.Date(2026, 9, 1, 0, 0, 0, 0, loc), "HAT"},
		{"after every deadline", "", 0, 1000, time.Date(2027, 1, 1, 0, 0, 0, 0, loc), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := ThresholdCrossed(cats, tt.cardType, tt.before, tt.after, tt.at, loc)
			if ok != (tt.want != "") || p.ID != tt.want {
				t.Fatalf("got %q %v, want %q", p.ID, ok, tt.want)
			}
		})
	}
	// A tie goes to the first prize in configuration order.
	tie := []Catalog{{ID: "C", ValidFrom: Date{2026, 1, 1}, ValidTo: Date{2026, 12, 31}, Prizes: []Prize{
		{ID: "B", Kind: PrizeArticle, Points: 200}, {ID: "A", Kind: PrizeArticle, Points: 100}, {ID: "Z", Kind: PrizeArticle, Points: 100},
	}}}
	if p, ok := ThresholdCrossed(tie, "", 0, 150, july, loc); !ok || p.ID != "A" {
		t.Fatalf("tie: got %q %v, want A", p.ID, ok)
	}
}
