package reconcile

import "github.com/pointsync/pointsync/mapping"

// The canonical facts live in mapping, which makes them from what the
// sources read; these names keep reconcile's own vocabulary.
type (
	Status      = mapping.Status
	WebOrder    = mapping.WebOrder
	DocKind     = mapping.DocKind
	ERPDocument = mapping.ERPDocument
	TillReceipt = mapping.TillReceipt
	Action      = mapping.Action
)

// ErrInvalidFact marks a fact that cannot be reconciled as it is: the
// source must correct it.
var ErrInvalidFact = mapping.ErrInvalidFact

const (
	StatusPlaced             = mapping.StatusPlaced
	StatusPaymentUnconfirmed = mapping.StatusPaymentUnconfirmed
	StatusPaid               = mapping.StatusPaid
	StatusCompleted          = mapping.StatusCompleted
	StatusCancelled          = mapping.StatusCancelled

	DocDeliveryNote = mapping.DocDeliveryNote
	DocInvoice      = mapping.DocInvoice
	DocCreditNote   = mapping.DocCreditNote
	DocCancellation = mapping.DocCancellation
)
