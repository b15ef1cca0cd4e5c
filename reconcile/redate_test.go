package reconcile

import (
	"fmt"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// An earlier delivery note arriving after a later one: the order's points
// expire counting from the first conversion either way.
func TestLateEarlierConversionRedates(t *testing.T) {
	for _, reversed := range []bool{false, true} {
		t.Run(fmt.Sprint("reversed=", reversed), func(t *testing.T) {
			c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, rome)}
			l := openLedger(t, ledger.BackendSQLite, c)
			e := newEngine(t, onePointPerEuro())
			customer(t, l, e, "web:r")
			at := c.Now()
			lines := []rules.Line{{Product: "A", Quantity: 1000, Gross: 6000}, {Product: "B", Quantity: 1000, Gross: 4000}}
			run(t, l, func(tx *ledger.Tx) error {
				return e.WebOrder(tx, "shop", WebOrder{ID: "W", Customer: "web:r", PlacedAt: at, Status: StatusPlaced, StatusAt: at, Lines: lines})
			})
			docs := []ERPDocument{
				{Key: "DDT/1", Kind: DocDeliveryNote, Order: "W", Date: at.Add(24 * time.Hour), Lines: lines[:1]},
				{Key: "DDT/2", Kind: DocDeliveryNote, Order: "W", Date: at.Add(72 * time.Hour), Lines: lines[1:]},
			}
			if reversed {
				docs[0], docs[1] = docs[1], docs[0]
			}
			for _, d := range docs {
				run(t, l, func(tx *ledger.Tx) error { return e.ERPDocument(tx, "shop", d) })
			}
			b := balance(t, l, "web:r")
			if b.Earned != 100 || len(b.Expiring) != 1 || b.Expiring[0].Date != "2027-03-03" {
				t.Fatalf("balance %+v; want 100 expiring 2027-03-03", b)
			}
		})
	}
}

// A cancelled order takes back its own points (its posted lot), not
// another order's that would expire sooner.
func TestTakebackPrefersTheOrdersOwnLots(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, rome)}
	l := openLedger(t, ledger.BackendSQLite, c)
	e := newEngine(t, onePointPerEuro())
	customer(t, l, e, "web:o")
	at := c.Now()
	for i, id := range []string{"W1", "W2"} {
		placed := at.Add(time.Duration(i) * time.Hour)
		run(t, l, func(tx *ledger.Tx) error {
			return e.WebOrder(tx, "shop", WebOrder{ID: id, Customer: "web:o", PlacedAt: placed, Status: StatusPlaced, StatusAt: placed, Lines: euros("A", 5000)})
		})
		conv := placed.Add(time.Duration(1+10*i) * 24 * time.Hour)
		run(t, l, func(tx *ledger.Tx) error {
			return e.ERPDocument(tx, "shop", ERPDocument{Key: "FT/" + id, Kind: DocInvoice, Order: id, Date: conv, Lines: euros("A", 5000)})
		})
	}
	run(t, l, func(tx *ledger.Tx) error {
		return e.ERPDocument(tx, "shop", ERPDocument{Key: "ANN/W2", Kind: DocCancellation, Order: "W2", Date: at.Add(30 * 24 * time.Hour)})
	})
	b := balance(t, l, "web:o")
	if b.Earned != 50 || len(b.Expiring) != 1 || b.Expiring[0].Date != "2027-03-03" {
		t.Fatalf("balance %+v; want W1's 50 expiring 2027-03-03 left", b)
	}
}
