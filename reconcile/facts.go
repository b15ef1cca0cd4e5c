package reconcile

import (
	"errors"
	"fmt"
	"time"

	"github.com/pointsync/pointsync/rules"
)

// ErrInvalidFact marks a fact that cannot be reconciled as it is: the
// source must correct it.
var ErrInvalidFact = errors.New("invalid fact")

// Status of a web order in the shop.
type Status string

const (
	StatusPlaced             Status = "placed"
	StatusPaymentUnconfirmed Status = "payment_unconfirmed"
	StatusPaid               Status = "paid"
	StatusCompleted          Status = "completed"
	StatusCancelled          Status = "cancelled"
)

// statusRank orders statuses reported at the same instant, so the latest
// status does not depend on arrival order.
var statusRank = map[Status]int{
	StatusPlaced: 0, StatusPaymentUnconfirmed: 1, StatusPaid: 2, StatusCompleted: 3, StatusCancelled: 4,
}

// WebOrder is the shop's view of an order at StatusAt. Each status change
// is a new WebOrder fact; the one with the latest StatusAt counts.
type WebOrder struct {
	ID               string       `json:"id"`
	Customer         string       `json:"customer"` // identifier, e.g. web:42
	PlacedAt         time.Time    `json:"placed_at"`
	Status           Status       `json:"status"`
	StatusAt         time.Time    `json:"status_at"`
	Lines            []rules.Line `json:"lines"`
	Discount         int64        `json:"discount"`
	Shipping         int64        `json:"shipping"`
	FidelityDiscount int64        `json:"fidelity_discount"`
	PointsSpent      int64        `json:"points_spent"`
}

// Validate refuses an order that cannot be reconciled, naming the field.
func (o WebOrder) Validate() error {
	switch {
	case o.ID == "":
		return fmt.Errorf("web order: id is empty")
	case o.Customer == "":
		return fmt.Errorf("web order %s: customer is empty", o.ID)
	case o.PlacedAt.IsZero():
		return fmt.Errorf("web order %s: placed_at is missing", o.ID)
	case o.PointsSpent < 0:
		return fmt.Errorf("web order %s: points_spent %d is negative", o.ID, o.PointsSpent)
	}
	if _, ok := statusRank[o.Status]; !ok {
		return fmt.Errorf("web order %s: unknown status %q (placed, payment_unconfirmed, paid, completed, cancelled)", o.ID, o.Status)
	}
	return o.document().Validate()
}

func (o WebOrder) document() rules.Document {
	return rules.Document{Date: o.PlacedAt, Lines: o.Lines, Discount: o.Discount, Shipping: o.Shipping, FidelityDiscount: o.FidelityDiscount}
}

// DocKind is the kind of an ERP document.
type DocKind string

const (
	DocDeliveryNote DocKind = "delivery_note"
	DocInvoice      DocKind = "invoice"
	DocCreditNote   DocKind = "credit_note"
	DocCancellation DocKind = "cancellation"
)

// ERPDocument is a document the ERP made from a web order: a conversion
// (delivery note, invoice), a credit note, or the order's cancellation.
type ERPDocument struct {
	Key      string       `json:"key"` // type/year/series/number
	Kind     DocKind      `json:"kind"`
	Order    string       `json:"order"` // the web order it comes from
	Date     time.Time    `json:"date"`
	Lines    []rules.Line `json:"lines"`
	Discount int64        `json:"discount"`
	Shipping int64        `json:"shipping"`
	// Supersedes lists delivery notes this invoice was made from: their
	// lines are in the invoice and count once.
	Supersedes []string `json:"supersedes,omitempty"`
}

// Validate refuses a document that cannot be reconciled.
func (d ERPDocument) Validate() error {
	switch {
	case d.Key == "":
		return fmt.Errorf("ERP document: key is empty")
	case d.Order == "":
		return fmt.Errorf("ERP document %s: the order it comes from is empty", d.Key)
	case d.Date.IsZero():
		return fmt.Errorf("ERP document %s: date is missing", d.Key)
	}
	switch d.Kind {
	case DocDeliveryNote, DocInvoice, DocCreditNote, DocCancellation:
	default:
		return fmt.Errorf("ERP document %s: unknown kind %q (delivery_note, invoice, credit_note, cancellation)", d.Key, d.Kind)
	}
	return rules.Document{Date: d.Date, Lines: d.Lines, Discount: d.Discount, Shipping: d.Shipping}.Validate()
}
