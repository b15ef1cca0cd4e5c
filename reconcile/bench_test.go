package reconcile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// BenchmarkReconcile reconciles b.N web orders with their ERP documents on
// SQLite: half of them converted by an invoice, a tenth cancelled, one in
// twenty credited; 500 facts per transaction, as a sync batch. The figure
// the issue asks for is
//
//	go test -run='^$' -bench=BenchmarkReconcile -benchtime=200000x ./reconcile
func BenchmarkReconcile(b *testing.B) {
	const customers = 20_000
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, rome)}
	l := openLedger(b, ledger.BackendSQLite, c)
	e := newEngine(b, onePointPerEuro())
	for start := 0; start < customers; start += 5000 {
		run(b, l, func(tx *ledger.Tx) error {
			for i := start; i < start+5000; i++ {
				if _, _, err := tx.EnsureCustomer(ledger.Ident(fmt.Sprintf("web:%d", i))); err != nil {
					return err
				}
			}
			return nil
		})
	}
	rng := rand.New(rand.NewPCG(7, 8))
	type event struct {
		order *WebOrder
		doc   *ERPDocument
	}
	var evs []event
	for i := range b.N {
		id := fmt.Sprintf("W%d", i)
		at := c.Now().Add(time.Duration(i) * time.Second)
		lines := []rules.Line{{Product: "A", Quantity: 1000, Gross: 1000 + rng.Int64N(20000)}, {Product: "B", Quantity: 2000, Gross: 500 + rng.Int64N(5000)}}
		o := WebOrder{ID: id, Customer: fmt.Sprintf("web:%d", rng.IntN(customers)), PlacedAt: at, Status: StatusPlaced, StatusAt: at, Lines: lines}
		evs = append(evs, event{order: &o})
		switch r := rng.IntN(20); {
		case r < 10:
			evs = append(evs, event{doc: &ERPDocument{Key: "FT/" + id, Kind: DocInvoice, Order: id, Date: at.Add(time.Hour), Lines: lines}})
			if r == 0 {
				evs = append(evs, event{doc: &ERPDocument{Key: "NC/" + id, Kind: DocCreditNote, Order: id, Date: at.Add(48 * time.Hour), Lines: lines[1:]}})
			}
		case r < 12:
			evs = append(evs, event{doc: &ERPDocument{Key: "ANN/" + id, Kind: DocCancellation, Order: id, Date: at.Add(2 * time.Hour)}})
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	const batch = 500
	for start := 0; start < len(evs); start += batch {
		end := min(start+batch, len(evs))
		err := l.Update(ctx, func(tx *ledger.Tx) error {
			for _, ev := range evs[start:end] {
				var err error
				if ev.order != nil {
					err = e.WebOrder(tx, "shop", *ev.order)
				} else {
					err = e.ERPDocument(tx, "shop", *ev.doc)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}
