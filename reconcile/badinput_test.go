package reconcile

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/mapping"
	"github.com/pointsync/pointsync/rules"
)

// The bad input catalogue of docs/reliability.md: facts naming a customer
// or an order nobody knows yet, and facts carrying figures no account can
// hold.

// TestBadInputUnknownIdentity applies a fact whose customer or order is
// not known: it is parked with the reason and what it waits for, nothing
// is credited, and the fact that names the customer or brings the order
// applies it, leaving nothing parked.
func TestBadInputUnknownIdentity(t *testing.T) {
	tests := []struct {
		name    string
		first   func(e *Engine, tx *ledger.Tx, at time.Time) error
		subject string
		waiting string
		reason  string
		then    func(e *Engine, tx *ledger.Tx, at time.Time) error
		// the customer's balance at the end
		earned, provisional int64
	}{
		{
			name: "web order of an unknown customer",
			first: func(e *Engine, tx *ledger.Tx, at time.Time) error {
				return e.WebOrder(tx, "shop", WebOrder{ID: "W5", Customer: "web:5", PlacedAt: at, Status: StatusPaid, StatusAt: at, Lines: euros("A", 5000)})
			},
			subject: "order:W5", waiting: "web:5", reason: "web order W5: no customer has identifier web:5 yet",
			then: func(e *Engine, tx *ledger.Tx, at time.Time) error {
				return e.Link(tx, "web:5", "email:five@example.com")
			},
			provisional: 50,
		},
		{
			name: "cancellation of an order never seen",
			first: func(e *Engine, tx *ledger.Tx, at time.Time) error {
				return e.ERPDocument(tx, "shop", ERPDocument{Key: "ANN/7", Kind: DocCancellation, Order: "W7", Date: at})
			},
			subject: "order:W7", waiting: "order:W7", reason: "ERP document ANN/7 arrived before web order W7: waiting for the order",
			then: func(e *Engine, tx *ledger.Tx, at time.Time) error {
				return e.WebOrder(tx, "shop", WebOrder{ID: "W7", Customer: "web:5", PlacedAt: at.Add(-time.Hour), Status: StatusPaid, StatusAt: at.Add(-time.Hour), Lines: euros("A", 7000)})
			},
		},
		{
			name: "credit note of an order never seen",
			first: func(e *Engine, tx *ledger.Tx, at time.Time) error {
				return e.ERPDocument(tx, "shop", ERPDocument{Key: "NC/8", Kind: DocCreditNote, Order: "W8", Date: at, Lines: euros("A", 2000)})
			},
			subject: "order:W8", waiting: "order:W8", reason: "ERP document NC/8 arrived before web order W8: waiting for the order",
			then: func(e *Engine, tx *ledger.Tx, at time.Time) error {
				if err := e.ERPDocument(tx, "shop", ERPDocument{Key: "FT/8", Kind: DocInvoice, Order: "W8", Date: at.Add(-time.Minute), Lines: euros("A", 8000)}); err != nil {
					return err
				}
				return e.WebOrder(tx, "shop", WebOrder{ID: "W8", Customer: "web:5", PlacedAt: at.Add(-time.Hour), Status: StatusPaid, StatusAt: at.Add(-time.Hour), Lines: euros("A", 8000)})
			},
			earned: 80 - 20,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
				e := newEngine(t, onePointPerEuro())
				if tt.waiting != "web:5" {
					customer(t, l, e, "web:5")
				}
				at := c.Now()
				run(t, l, func(tx *ledger.Tx) error { return tt.first(e, tx, at) })
				parked, err := l.Parked(context.Background(), "shop")
				if err != nil || len(parked) != 1 {
					t.Fatalf("parked %+v, %v; want the fact parked", parked, err)
				}
				if p := parked[0]; p.Subject != tt.subject || p.Waiting != tt.waiting || !strings.Contains(p.Parked, tt.reason) {
					t.Fatalf("parked %+v\nwant subject %s waiting for %s because %q", p, tt.subject, tt.waiting, tt.reason)
				}
				if tt.waiting != "web:5" {
					want(t, balance(t, l, "web:5"), 0, 0, 0)
				}
				run(t, l, func(tx *ledger.Tx) error { return tt.then(e, tx, at) })
				want(t, balance(t, l, "web:5"), tt.earned, tt.provisional, 0)
				if parked, err := l.Parked(context.Background(), "shop"); err != nil || len(parked) != 0 {
					t.Fatalf("still parked: %+v, %v", parked, err)
				}
			})
		})
	}
}

// TestBadInputHugeFacts applies, in one batch as the daemon does, facts
// whose figures (from a facts file or a webservice, which have no
// per-value limit of their own) are beyond what one movement may carry.
// Each is refused as the daemon reports a bad row, nothing of it is
// written, the facts beside it are applied, and the account reads back.
func TestBadInputHugeFacts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		e := newEngine(t, program(rules.AccrualRules{Base: "value", Mode: "steps", Points: 1, Per: 1})) // a point a cent
		customer(t, l, e, "card:0420001234")
		at := c.Now()
		big := int64(math.MaxInt64)
		receipt := func(n string, lines []rules.Line, earned *int64, spent int64) mapping.Fact {
			return mapping.Fact{Type: mapping.TypeTillReceipt, Program: "shop", Receipt: &mapping.TillReceipt{
				Store: "S1", Till: "T1", Receipt: n, At: at, Card: "0420001234", Lines: lines, Earned: earned, Spent: spent}}
		}
		tests := []struct {
			name    string
			fact    mapping.Fact
			refused string // "" applied
		}{
			{"sound receipt before", receipt("1", euros("A", 1000), nil, 0), ""},
			{"the till's points at MaxInt64", receipt("2", euros("A", 1000), &big, 0), "credit amount 9223372036854775807 is beyond the limit"},
			{"two lines summing near MaxInt64", receipt("3", []rules.Line{{Product: "A", Quantity: 1000, Gross: math.MaxInt64 / 2}, {Product: "B", Quantity: 1000, Gross: math.MaxInt64 / 2}}, nil, 0),
				"credit amount 9223372036854775806 is beyond the limit"},
			{"two lines past MaxInt64", receipt("4", []rules.Line{{Product: "A", Quantity: 1000, Gross: math.MaxInt64}, {Product: "B", Quantity: 1000, Gross: 1}}, nil, 0),
				`invalid document: line 2 (product "B"): the lines' gross total is too large`},
			{"a bill earning past the limit", receipt("5", euros("A", 20_000_000_000_000), nil, 0), "credit amount 20000000000000 is beyond the limit"},
			{"web order earning past the limit", mapping.Fact{Type: mapping.TypeWebOrder, Program: "shop", Order: &mapping.WebOrder{
				ID: "W1", Customer: "card:0420001234", PlacedAt: at, Status: StatusPaid, StatusAt: at, Lines: euros("A", 20_000_000_000_000)}},
				"credit amount 20000000000000 is beyond the limit"},
			{"sound receipt after", receipt("6", euros("A", 500), nil, 90), ""},
		}
		err := l.Update(context.Background(), func(tx *ledger.Tx) error {
			for _, tt := range tests {
				err := tx.Try(func() error { return e.Apply(tx, tt.fact) })
				switch {
				case tt.refused == "" && err != nil:
					t.Errorf("%s: %v", tt.name, err)
				case tt.refused != "" && (!Refused(err) || !strings.Contains(err.Error(), tt.refused)):
					t.Errorf("%s: %v (refused %v), want a refused fact with %q", tt.name, err, Refused(err), tt.refused)
				case tt.refused != "" && !errors.Is(err, ledger.ErrInvalid) && !errors.Is(err, ErrInvalidFact):
					t.Errorf("%s: %v is not an invalid fact", tt.name, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want(t, balance(t, l, "card:0420001234"), 1000+500-90, 0, 90)
		if parked, err := l.Parked(context.Background(), "shop"); err != nil || len(parked) != 0 {
			t.Fatalf("parked %+v, %v: a refused fact leaves nothing behind", parked, err)
		}

		// Points the rules cannot compute within int64 (a product rule of
		// MaxInt64 points a unit, two units): the receipt is parked with
		// the reason, nothing credited.
		p := program(rules.AccrualRules{Products: map[string]rules.ProductRule{"X": {Kind: rules.ProductFixed, Points: math.MaxInt64}}})
		e = newEngine(t, p)
		run(t, l, func(tx *ledger.Tx) error {
			return e.Apply(tx, receipt("7", []rules.Line{{Product: "X", Quantity: 2000, Gross: 100}}, nil, 0))
		})
		parked, err := l.Parked(context.Background(), "shop")
		if err != nil || len(parked) != 1 || parked[0].Subject != "receipt:S1/T1/7" || !strings.Contains(parked[0].Parked, "till receipt S1/T1/7: ") ||
			!strings.Contains(parked[0].Parked, rules.ErrAmountOverflow.Error()) {
			t.Fatalf("parked %+v, %v; want receipt 7 parked with the overflow", parked, err)
		}
		want(t, balance(t, l, "card:0420001234"), 1000+500-90, 0, 90)
	})
}
