package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// checkoutProgram redeems 10 points for 5 cents (steps of 2 points), from
// 10 to 500 points per order, with at least 50 earned.
func checkoutProgram() Program {
	p := onePointPerEuro()
	p.Redemption = rules.RedemptionRules{RatePoints: 10, RateValue: 5, MinBalance: 50, MinPoints: 10, MaxPoints: 500}
	return p
}

// grant credits posted points to a customer, a minute in the past of the
// reservations that follow.
func grant(t testing.TB, l *ledger.Ledger, c *clock, id ledger.Ident, points int64) {
	t.Helper()
	run(t, l, func(tx *ledger.Tx) error {
		_, err := tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: "shop", Customer: id},
			Meta: ledger.Meta{Source: ledger.SourceAdmin, Key: fmt.Sprintf("grant:%s:%d", id, points), Reason: "welcome"}, Amount: points})
		return err
	})
	c.Set(c.Now().Add(time.Minute))
}

func engineReserve(l *ledger.Ledger, e *Engine, id ledger.Ident, order string, points int64) (ledger.Reservation, bool, error) {
	var r ledger.Reservation
	var replayed bool
	err := l.Update(context.Background(), func(tx *ledger.Tx) error {
		var err error
		r, replayed, err = e.Reserve(tx, "shop", id, order, points, 15*time.Minute, ledger.Meta{Source: ledger.SourceAPI, Actor: "checkout"})
		return err
	})
	return r, replayed, err
}

// spends lists an account's spend movements: how many, and how many are
// not voided.
func spends(t testing.TB, l *ledger.Ledger, id ledger.Ident) (all, live int, states []ledger.State) {
	t.Helper()
	ms, err := l.Movements(context.Background(), ledger.Account{Program: "shop", Customer: id}, ledger.MovementQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Kind != ledger.KindSpend {
			continue
		}
		all++
		if m.State != ledger.StateVoided {
			live++
		}
		states = append(states, m.State)
	}
	return all, live, states
}

// TestReservationBecomesTheOrdersRedemption: a checkout reserves points
// for an order, then the shop's order with the same id arrives; the order
// spends once, through the reservation, which the ERP's conversion posts
// and a cancellation voids.
func TestReservationBecomesTheOrdersRedemption(t *testing.T) {
	type event func(tx *ledger.Tx, e *Engine, c *clock) error
	order := func(points int64, status Status) event {
		return func(tx *ledger.Tx, e *Engine, c *clock) error {
			placed := time.Date(2026, 3, 2, 9, 3, 0, 0, rome)
			return e.WebOrder(tx, "shop", WebOrder{ID: "W1", Customer: "web:anna", PlacedAt: placed, Status: status, StatusAt: c.Now(),
				Lines: euros("A", 5000), PointsSpent: points})
		}
	}
	invoice := func(tx *ledger.Tx, e *Engine, c *clock) error {
		return e.ERPDocument(tx, "shop", ERPDocument{Key: "FT/1", Kind: DocInvoice, Order: "W1", Date: c.Now(), Lines: euros("A", 5000)})
	}
	cancel := func(tx *ledger.Tx, e *Engine, c *clock) error {
		return e.ERPDocument(tx, "shop", ERPDocument{Key: "ANN/1", Kind: DocCancellation, Order: "W1", Date: c.Now()})
	}
	commit := func(tx *ledger.Tx, e *Engine, c *clock) error {
		_, err := tx.CommitReservation("shop", "W1", ledger.Meta{Actor: "checkout"})
		return err
	}
	wait := func(d time.Duration) event {
		return func(tx *ledger.Tx, e *Engine, c *clock) error { c.Set(c.Now().Add(d)); return nil }
	}
	cases := []struct {
		name    string
		who     ledger.Ident // who reserves W1
		events  []event
		earned  int64 // anna's balance at the end
		prov    int64
		spent   int64
		spends  int            // anna's spend movements
		states  []ledger.State // their states, newest first
		reserve string         // W1's reservation state at the end
	}{
		{name: "committed, placed, converted", who: "web:anna", events: []event{commit, order(300, StatusPaid), invoice},
			earned: 750, spent: 300, spends: 1, states: []ledger.State{ledger.StatePosted}, reserve: ledger.ReservationCommitted},
		{name: "committed, placed, cancelled", who: "web:anna", events: []event{commit, order(300, StatusPlaced), cancel},
			earned: 1000, spent: 0, spends: 1, states: []ledger.State{ledger.StateVoided}, reserve: ledger.ReservationCommitted},
		{name: "committed, arrives cancelled", who: "web:anna", events: []event{commit, order(300, StatusCancelled)},
			earned: 1000, spent: 0, spends: 1, states: []ledger.State{ledger.StateVoided}, reserve: ledger.ReservationCommitted},
		{name: "order before commit adopts the held one", who: "web:anna", events: []event{order(300, StatusPlaced), commit},
			earned: 700, prov: 50, spent: 300, spends: 1, states: []ledger.State{ledger.StatePending}, reserve: ledger.ReservationCommitted},
		{name: "adopted by the order, then converted", who: "web:anna", events: []event{order(300, StatusPlaced), invoice},
			earned: 750, spent: 300, spends: 1, states: []ledger.State{ledger.StatePosted}, reserve: ledger.ReservationCommitted},
		{name: "order replayed keeps one spend", who: "web:anna", events: []event{commit, order(300, StatusPlaced), order(300, StatusPlaced), invoice, invoice},
			earned: 750, spent: 300, spends: 1, states: []ledger.State{ledger.StatePosted}, reserve: ledger.ReservationCommitted},
		{name: "order spends other points", who: "web:anna", events: []event{commit, order(200, StatusPlaced)},
			earned: 800, prov: 50, spent: 200, spends: 2, states: []ledger.State{ledger.StatePending, ledger.StateVoided}, reserve: ledger.ReservationCommitted},
		{name: "cancelled twice", who: "web:anna", events: []event{commit, order(300, StatusPlaced), cancel, cancel},
			earned: 1000, spent: 0, spends: 1, states: []ledger.State{ledger.StateVoided}, reserve: ledger.ReservationCommitted},
		{name: "points changed, dropped, then spent again", who: "web:anna", events: []event{commit, order(200, StatusPlaced), order(0, StatusPlaced), order(300, StatusPlaced)},
			earned: 700, prov: 50, spent: 300, spends: 3, states: []ledger.State{ledger.StatePending, ledger.StateVoided, ledger.StateVoided}, reserve: ledger.ReservationCommitted},
		{name: "expired before the order", who: "web:anna", events: []event{wait(time.Hour), order(300, StatusPlaced)},
			earned: 700, prov: 50, spent: 300, spends: 2, states: []ledger.State{ledger.StatePending, ledger.StateVoided}, reserve: ledger.ReservationExpired},
		{name: "released before the order", who: "web:anna", events: []event{
			func(tx *ledger.Tx, e *Engine, c *clock) error {
				_, err := tx.ReleaseReservation("shop", "W1", ledger.Meta{})
				return err
			}, order(300, StatusPlaced)},
			earned: 700, prov: 50, spent: 300, spends: 2, states: []ledger.State{ledger.StatePending, ledger.StateVoided}, reserve: ledger.ReservationReleased},
		{name: "another customer's reservation is not adopted", who: "web:bruno", events: []event{order(300, StatusPlaced)},
			earned: 700, prov: 50, spent: 300, spends: 1, states: []ledger.State{ledger.StatePending}, reserve: ledger.ReservationHeld},
		{name: "held and order without points", who: "web:anna", events: []event{order(0, StatusPlaced)},
			earned: 700, prov: 50, spent: 300, spends: 1, states: []ledger.State{ledger.StatePending}, reserve: ledger.ReservationHeld},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
				e := newEngine(t, checkoutProgram())
				anna := ledger.Ident("web:anna")
				for _, id := range []ledger.Ident{anna, "web:bruno"} {
					customer(t, l, e, id)
					grant(t, l, c, id, 1000)
				}
				if _, _, err := engineReserve(l, e, tc.who, "W1", 300); err != nil {
					t.Fatal(err)
				}
				for i, ev := range tc.events {
					c.Set(c.Now().Add(time.Minute))
					if err := l.Update(context.Background(), func(tx *ledger.Tx) error { return ev(tx, e, c) }); err != nil {
						t.Fatalf("event %d: %v", i, err)
					}
				}
				want(t, balance(t, l, anna), tc.earned, tc.prov, tc.spent)
				if all, _, states := spends(t, l, anna); all != tc.spends || fmt.Sprint(states) != fmt.Sprint(tc.states) {
					t.Fatalf("anna's spends: %d %v; want %d %v", all, states, tc.spends, tc.states)
				}
				if r, err := l.Reservation(context.Background(), "shop", "W1"); err != nil || r.State != tc.reserve {
					t.Fatalf("W1's reservation %+v, %v; want %s", r, err, tc.reserve)
				}
				if parked, err := l.Parked(context.Background(), "shop"); err != nil || len(parked) != 0 {
					t.Fatalf("parked %+v, %v; want none", parked, err)
				}
			})
		})
	}
}

// TestAdoptedReservationCannotBeReleased: once the order took the
// reservation, the checkout can no longer give its points back.
func TestAdoptedReservationCannotBeReleased(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, checkoutProgram())
		anna := ledger.Ident("web:anna")
		customer(t, l, e, anna)
		grant(t, l, c, anna, 1000)
		if _, _, err := engineReserve(l, e, anna, "W1", 300); err != nil {
			t.Fatal(err)
		}
		run(t, l, func(tx *ledger.Tx) error {
			return e.WebOrder(tx, "shop", WebOrder{ID: "W1", Customer: "web:anna", PlacedAt: c.Now(), Status: StatusPlaced, StatusAt: c.Now(), Lines: euros("A", 5000), PointsSpent: 300})
		})
		err := l.Update(context.Background(), func(tx *ledger.Tx) error {
			_, err := tx.ReleaseReservation("shop", "W1", ledger.Meta{})
			return err
		})
		if !errors.Is(err, ledger.ErrReservationState) {
			t.Fatalf("release after the order adopted it: %v, want ErrReservationState", err)
		}
		// The same reservation asked again replays; the order's spend is it.
		if r, replayed, err := engineReserve(l, e, anna, "W1", 300); err != nil || !replayed || r.State != ledger.ReservationCommitted {
			t.Fatalf("reserve again: %+v, %v, %v; want the committed reservation replayed", r, replayed, err)
		}
		want(t, balance(t, l, anna), 700, 50, 300)
	})
}

// TestReserveLimits checks the redemption rules a reservation must meet.
func TestReserveLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, checkoutProgram())
		rich, poor := ledger.Ident("web:rich"), ledger.Ident("web:poor")
		for id, pts := range map[ledger.Ident]int64{rich: 1000, poor: 40} {
			customer(t, l, e, id)
			grant(t, l, c, id, pts)
		}
		// W5 already spends 100 points through the shop's own order.
		run(t, l, func(tx *ledger.Tx) error {
			return e.WebOrder(tx, "shop", WebOrder{ID: "W5", Customer: "web:rich", PlacedAt: c.Now(), Status: StatusPlaced, StatusAt: c.Now(), Lines: euros("A", 1000), PointsSpent: 100})
		})
		cases := []struct {
			name   string
			who    ledger.Ident
			order  string
			points int64
			limit  string
			text   string
		}{
			{"odd points", rich, "L1", 301, LimitStep, "steps of 2"},
			{"below the minimum", rich, "L2", 8, LimitMinPoints, "minimum of 10"},
			{"above the maximum", rich, "L3", 502, LimitMaxPoints, "maximum of 500"},
			{"balance below the minimum", poor, "L4", 10, LimitMinBalance, "40 points is below the minimum of 50"},
			{"order already spends", rich, "W5", 100, LimitOrder, "already spends 100"},
		}
		for _, tc := range cases {
			_, _, err := engineReserve(l, e, tc.who, tc.order, tc.points)
			var le *LimitError
			if !errors.Is(err, ErrLimit) || !errors.As(err, &le) || le.Limit != tc.limit || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("%s: %v; want limit %s saying %q", tc.name, err, tc.limit, tc.text)
			}
		}
		want(t, balance(t, l, rich), 900, 10, 100)
		// Within every limit: reserved; asked again once the balance fell
		// below the minimum, it is still the same reservation.
		if _, _, err := engineReserve(l, e, rich, "L6", 500); err != nil {
			t.Fatal(err)
		}
		if _, _, err := engineReserve(l, e, rich, "L7", 352); err != nil {
			t.Fatal(err)
		}
		want(t, balance(t, l, rich), 48, 10, 952)
		if _, replayed, err := engineReserve(l, e, rich, "L7", 352); err != nil || !replayed {
			t.Fatalf("replay below the minimum balance: %v, %v", replayed, err)
		}
		if _, _, err := engineReserve(l, e, rich, "L8", 10); !errors.Is(err, ErrLimit) {
			t.Fatalf("a new reservation below the minimum balance: %v, want ErrLimit", err)
		}
		// A program without redemption rules refuses any reservation.
		bare := newEngine(t, onePointPerEuro())
		if _, _, err := engineReserve(l, bare, rich, "L9", 10); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "no redemption rules") {
			t.Fatalf("program without redemption: %v", err)
		}
	})
}

// TestPrizes lists prizes with the counts RedeemPrize keeps.
func TestPrizes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		p := onePointPerEuro()
		d := func(m time.Month, day int) rules.Date { return rules.Date{Year: 2026, Month: m, Day: day} }
		p.Catalogs = []rules.Catalog{
			{ID: "spring", ValidFrom: d(1, 1), ValidTo: d(6, 30), Prizes: []rules.Prize{
				{ID: "mug", Name: "Mug", Kind: rules.PrizeArticle, Points: 500, PerCustomer: 1},
				{ID: "bag", Name: "Bag", Kind: rules.PrizeNonStock, Points: 200, Stock: 1},
				{ID: "bike", Name: "Bike", Kind: rules.PrizeArticle, Points: 5000},
			}},
			{ID: "gold", CardTypes: []string{"GOLD"}, ValidFrom: d(1, 1), ValidTo: d(12, 31), Prizes: []rules.Prize{
				{ID: "lounge", Name: "Lounge", Kind: rules.PrizeNonStock, Points: 100},
			}},
			{ID: "old", ValidFrom: d(1, 1), ValidTo: d(1, 31), Prizes: []rules.Prize{{ID: "pen", Name: "Pen", Kind: rules.PrizeArticle, Points: 1}}},
		}
		e := newEngine(t, p)
		anna, bruno := ledger.Ident("web:anna"), ledger.Ident("web:bruno")
		for _, id := range []ledger.Ident{anna, bruno} {
			customer(t, l, e, id)
			grant(t, l, c, id, 1500)
		}
		for _, pz := range []string{"mug", "bag"} {
			run(t, l, func(tx *ledger.Tx) error {
				_, err := e.RedeemPrize(tx, "shop", anna, "spring", pz, "", "k-"+pz, nil)
				return err
			})
		}
		type row struct {
			prize      string
			redeemable bool
			reason     string
		}
		cases := []struct {
			name     string
			who      ledger.Ident
			cardType string
			want     []row
		}{
			{"anna redeemed the mug and the last bag", anna, "", []row{{"mug", false, "per customer"}, {"bag", false, "out of stock"}, {"bike", false, "needs 5000 points, has 800"}}},
			{"bruno may take the mug", bruno, "", []row{{"mug", true, ""}, {"bag", false, "out of stock"}, {"bike", false, "has 1500"}}},
			{"a gold card sees its catalog too", bruno, "gold", []row{{"mug", true, ""}, {"bag", false, "out of stock"}, {"bike", false, "has 1500"}, {"lounge", true, ""}}},
			{"an unknown customer has nothing", "web:nobody", "", []row{{"mug", false, "has 0"}, {"bag", false, "out of stock"}, {"bike", false, "has 0"}}},
		}
		for _, tc := range cases {
			got, err := e.Prizes(context.Background(), l, "shop", tc.who, tc.cardType)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%s: %d prizes %+v, want %d", tc.name, len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Prize.ID != w.prize || g.Redeemable != w.redeemable || !strings.Contains(g.Reason, w.reason) {
					t.Fatalf("%s: prize %d = %s redeemable %v (%q); want %s %v (%q)", tc.name, i, g.Prize.ID, g.Redeemable, g.Reason, w.prize, w.redeemable, w.reason)
				}
			}
		}
		if _, err := e.Prizes(context.Background(), l, "nope", anna, ""); !errors.Is(err, ledger.ErrUnknownProgram) {
			t.Fatalf("unknown program: %v", err)
		}
	})
}
