package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

func newEngine(t testing.TB, p Program) *Engine {
	t.Helper()
	e, err := New([]Program{p})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func customer(t testing.TB, l *ledger.Ledger, e *Engine, id ledger.Ident) {
	t.Helper()
	run(t, l, func(tx *ledger.Tx) error { return e.Link(tx, id, id) })
}

// TestE6Lifecycle is SPEC E6 through reconcile: W1 placed (120
// provisional), invoiced (120 earned); W3 spends 100 with payment not
// confirmed (earned 20, spent 100); W3 cancelled in the ERP (earned 120,
// spent 0, W3's own accrual void); an order placed before W1's conversion
// could not spend W1's points.
func TestE6Lifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, onePointPerEuro())
		anna := ledger.Ident("web:anna")
		customer(t, l, e, anna)
		placed := c.Now()
		w1 := WebOrder{ID: "W1", Customer: "web:anna", PlacedAt: placed, Status: StatusPlaced, StatusAt: placed, Lines: euros("A", 12000)}
		run(t, l, func(tx *ledger.Tx) error { return e.WebOrder(tx, "shop", w1) })
		want(t, balance(t, l, anna), 0, 120, 0)

		// W2 is placed before W1 is converted and wants W1's points.
		w2 := WebOrder{ID: "W2", Customer: "web:anna", PlacedAt: placed.Add(time.Hour), Status: StatusPaymentUnconfirmed, StatusAt: placed.Add(time.Hour),
			Lines: euros("B", 3000), PointsSpent: 100}

		converted := placed.Add(24 * time.Hour)
		c.Set(converted)
		run(t, l, func(tx *ledger.Tx) error {
			return e.ERPDocument(tx, "shop", ERPDocument{Key: "FT/2026/A/118", Kind: DocInvoice, Order: "W1", Date: converted, Lines: euros("A", 12000)})
		})
		want(t, balance(t, l, anna), 120, 0, 0)

		run(t, l, func(tx *ledger.Tx) error { return e.WebOrder(tx, "shop", w2) })
		// W2's spend is parked for review; its own accrual is provisional.
		want(t, balance(t, l, anna), 120, 30, 0)
		parked, err := l.Parked(context.Background(), "shop")
		if err != nil || len(parked) != 1 || !strings.Contains(parked[0].Parked, "earned before") {
			t.Fatalf("parked = %+v, %v; want W2 parked because W1's points were earned after it was placed", parked, err)
		}

		w3At := converted.Add(time.Hour)
		c.Set(w3At)
		w3 := WebOrder{ID: "W3", Customer: "web:anna", PlacedAt: w3At, Status: StatusPaymentUnconfirmed, StatusAt: w3At, Lines: euros("C", 5000), PointsSpent: 100}
		run(t, l, func(tx *ledger.Tx) error { return e.WebOrder(tx, "shop", w3) })
		want(t, balance(t, l, anna), 20, 80, 100)

		run(t, l, func(tx *ledger.Tx) error {
			return e.ERPDocument(tx, "shop", ERPDocument{Key: "ANN/2026/7", Kind: DocCancellation, Order: "W3", Date: w3At.Add(time.Hour)})
		})
		want(t, balance(t, l, anna), 120, 30, 0) // W3's 50 provisional voided; W2's 30 stay
	})
}

// TestE7OutOfOrder is SPEC E7: the invoice for W9 arrives before web order
// W9; nothing is lost, and when W9 arrives its points are earned at once.
func TestE7OutOfOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, onePointPerEuro())
		bea := ledger.Ident("web:bea")
		customer(t, l, e, bea)
		at := c.Now()
		run(t, l, func(tx *ledger.Tx) error {
			return e.ERPDocument(tx, "shop", ERPDocument{Key: "FT/9", Kind: DocInvoice, Order: "W9", Date: at, Lines: euros("A", 8050)})
		})
		want(t, balance(t, l, bea), 0, 0, 0)
		parked, _ := l.Parked(context.Background(), "shop")
		if len(parked) != 1 || parked[0].Subject != "order:W9" {
			t.Fatalf("parked = %+v", parked)
		}
		run(t, l, func(tx *ledger.Tx) error {
			return e.WebOrder(tx, "shop", WebOrder{ID: "W9", Customer: "web:bea", PlacedAt: at.Add(-time.Hour), Status: StatusPaid, StatusAt: at.Add(-time.Hour), Lines: euros("A", 8050)})
		})
		want(t, balance(t, l, bea), 80, 0, 0)
		if parked, _ := l.Parked(context.Background(), "shop"); len(parked) != 0 {
			t.Fatalf("still parked: %+v", parked)
		}
	})
}

// TestE8CreditNote is SPEC E8: W1 invoiced at 120.00, then a credit note
// of 20.00: earned goes down by 20; the same credit note again changes
// nothing.
func TestE8CreditNote(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, onePointPerEuro())
		carlo := ledger.Ident("web:carlo")
		customer(t, l, e, carlo)
		at := c.Now()
		run(t, l, func(tx *ledger.Tx) error {
			return e.WebOrder(tx, "shop", WebOrder{ID: "W1", Customer: "web:carlo", PlacedAt: at, Status: StatusPlaced, StatusAt: at,
				Lines: []rules.Line{{Product: "A", Quantity: 1000, Gross: 10000}, {Product: "B", Quantity: 1000, Gross: 2000}}})
		})
		run(t, l, func(tx *ledger.Tx) error {
			return e.ERPDocument(tx, "shop", ERPDocument{Key: "FT/1", Kind: DocInvoice, Order: "W1", Date: at.Add(time.Hour),
				Lines: []rules.Line{{Product: "A", Quantity: 1000, Gross: 10000}, {Product: "B", Quantity: 1000, Gross: 2000}}})
		})
		want(t, balance(t, l, carlo), 120, 0, 0)
		note := ERPDocument{Key: "NC/1", Kind: DocCreditNote, Order: "W1", Date: at.Add(48 * time.Hour), Lines: euros("B", 2000)}
		for range 2 {
			run(t, l, func(tx *ledger.Tx) error { return e.ERPDocument(tx, "shop", note) })
			want(t, balance(t, l, carlo), 100, 0, 0)
		}
	})
}

// After a reset voided an open order's provisional points, the order's
// later facts still apply: the invoice is not refused (review finding).
func TestOrderAfterReset(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, onePointPerEuro())
		customer(t, l, e, "web:z")
		at := c.Now()
		run(t, l, func(tx *ledger.Tx) error {
			return e.WebOrder(tx, "shop", WebOrder{ID: "Z1", Customer: "web:z", PlacedAt: at, Status: StatusPlaced, StatusAt: at, Lines: euros("A", 7000)})
		})
		run(t, l, func(tx *ledger.Tx) error {
			_, err := tx.Reset(ledger.ResetRequest{Program: "shop", Customer: "web:z", Meta: ledger.Meta{Source: ledger.SourceAdmin, Key: "reset"}})
			return err
		})
		want(t, balance(t, l, "web:z"), 0, 0, 0)
		run(t, l, func(tx *ledger.Tx) error {
			return e.ERPDocument(tx, "shop", ERPDocument{Key: "FT/Z1", Kind: DocInvoice, Order: "Z1", Date: at.Add(time.Hour), Lines: euros("A", 7000)})
		})
		want(t, balance(t, l, "web:z"), 70, 0, 0)
	})
}

// A redemption parked because the points it needs were not earned yet is
// tried again when they are: W3 (placed after W1's conversion) arrives
// before W1's invoice and still spends (review finding).
func TestParkedRedemptionAppliesWhenPointsArrive(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, onePointPerEuro())
		customer(t, l, e, "web:q")
		at := c.Now()
		conv := at.Add(24 * time.Hour)
		run(t, l, func(tx *ledger.Tx) error {
			return e.WebOrder(tx, "shop", WebOrder{ID: "Q1", Customer: "web:q", PlacedAt: at, Status: StatusPlaced, StatusAt: at, Lines: euros("A", 12000)})
		})
		w3At := conv.Add(time.Hour)
		run(t, l, func(tx *ledger.Tx) error {
			return e.WebOrder(tx, "shop", WebOrder{ID: "Q3", Customer: "web:q", PlacedAt: w3At, Status: StatusPaymentUnconfirmed, StatusAt: w3At, Lines: euros("B", 5000), PointsSpent: 100})
		})
		if parked, _ := l.Parked(context.Background(), "shop"); len(parked) != 1 {
			t.Fatalf("parked = %+v", parked)
		}
		run(t, l, func(tx *ledger.Tx) error {
			return e.ERPDocument(tx, "shop", ERPDocument{Key: "FT/Q1", Kind: DocInvoice, Order: "Q1", Date: conv, Lines: euros("A", 12000)})
		})
		want(t, balance(t, l, "web:q"), 20, 50, 100)
		if parked, _ := l.Parked(context.Background(), "shop"); len(parked) != 0 {
			t.Fatalf("still parked: %+v", parked)
		}
	})
}
