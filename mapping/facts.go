package mapping

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

// Rank orders statuses reported at the same instant (placed lowest,
// cancelled highest), so the latest status does not depend on arrival
// order; an unknown status ranks below every known one.
func (s Status) Rank() int {
	r, ok := statusRank[s]
	if !ok {
		return -1
	}
	return r
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
	return o.Document().Validate()
}

func (o WebOrder) Document() rules.Document {
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

// TillReceipt is what a store's till reported for one card transaction.
// The till decided at the counter: its figures are recorded as they
// happened (SPEC 3.3).
type TillReceipt struct {
	Store    string    `json:"store"`
	Till     string    `json:"till"`
	Receipt  string    `json:"receipt"`
	At       time.Time `json:"at"`
	Card     string    `json:"card"`
	CardType string    `json:"card_type,omitempty"`
	// Lines of the bill; when the till sends only totals, one line of
	// Gross and Discount stands for the bill.
	Lines    []rules.Line `json:"lines,omitempty"`
	Gross    int64        `json:"gross"`
	Discount int64        `json:"discount"`
	// Earned is what the till computed (points or cents); nil when the
	// till computed nothing and the program's rules must.
	Earned *int64 `json:"earned,omitempty"`
	// Spent is what the card paid at the till (the fidelity discount).
	Spent int64 `json:"spent"`
	// Prize is the catalog prize the till gave for the points spent, if any.
	Prize string `json:"prize,omitempty"`
}

// Key is the receipt's identity across stores and tills.
func (r TillReceipt) Key() string { return r.Store + "/" + r.Till + "/" + r.Receipt }

// Validate refuses a receipt that cannot be recorded.
func (r TillReceipt) Validate() error {
	switch {
	case r.Store == "" || r.Till == "" || r.Receipt == "":
		return fmt.Errorf("till receipt %q: store, till and receipt are all needed", r.Key())
	case r.Card == "":
		return fmt.Errorf("till receipt %s: the card is empty", r.Key())
	case r.At.IsZero():
		return fmt.Errorf("till receipt %s: the time is missing", r.Key())
	case r.Spent < 0 || (r.Earned != nil && *r.Earned < 0):
		return fmt.Errorf("till receipt %s: earned and spent cannot be negative", r.Key())
	}
	return r.Document().Validate()
}

func (r TillReceipt) Document() rules.Document {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []rules.Line{{Product: "", Quantity: 1000, Gross: r.Gross, Discount: r.Discount}}
	}
	return rules.Document{Date: r.At, Lines: lines, FidelityDiscount: r.Spent}
}

// Action is something a customer did in the shop that earns fixed points
// (SPEC 3.1): registering, subscribing to the newsletter, reviewing a
// product.
type Action struct {
	Customer string           `json:"customer"`
	Kind     rules.ActionKind `json:"kind"`
	ReviewID string           `json:"review_id,omitempty"`
	At       time.Time        `json:"at"`
}

// Validate refuses an action that cannot be recorded.
func (a Action) Validate() error {
	switch {
	case a.Customer == "":
		return fmt.Errorf("action: customer is empty")
	case a.At.IsZero():
		return fmt.Errorf("action %s of %s: the time is missing", a.Kind, a.Customer)
	case a.Kind == rules.ActionReview && a.ReviewID == "":
		return fmt.Errorf("review by %s: the review id is missing", a.Customer)
	}
	switch a.Kind {
	case rules.ActionRegistration, rules.ActionNewsletter, rules.ActionReview:
		return nil
	}
	return fmt.Errorf("action of %s: unknown kind %q (registration, newsletter, review)", a.Customer, a.Kind)
}
