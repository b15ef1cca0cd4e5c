package ledger

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; the typed errors below wrap them so callers can test
// with errors.Is and still show the detailed message.
var (
	ErrUnknownProgram     = errors.New("unknown program")
	ErrUnknownCustomer    = errors.New("unknown customer")
	ErrUnknownMovement    = errors.New("unknown movement")
	ErrInsufficient       = errors.New("insufficient earned points")
	ErrIdempotency        = errors.New("idempotency key reused with different input")
	ErrNotAdjustment      = errors.New("not an admin adjustment")
	ErrAlreadyFinal       = errors.New("movement already posted or voided")
	ErrInvalid            = errors.New("invalid request")
	ErrSchemaTooNew       = errors.New("database schema is newer than this pointsync")
	ErrNestedUpdate       = errors.New("ledger: Update called inside another Update of the same ledger; do all the writes in the outer one")
	errRollbackForPreview = errors.New("preview: roll back")
)

// InsufficientError says how many points were asked and how many were usable.
type InsufficientError struct {
	Program  string
	Customer Ident
	Asked    int64
	Usable   int64
	// EarnedBefore is set when only points earned before it counted.
	EarnedBefore *time.Time
}

func (e *InsufficientError) Error() string {
	msg := fmt.Sprintf("program %s, customer %s: %d points asked but only %d usable",
		e.Program, e.Customer.Masked(), e.Asked, e.Usable)
	if e.EarnedBefore != nil {
		msg += " among those earned before " + e.EarnedBefore.UTC().Format("2006-01-02 15:04 MST") + " (an order spends only points earned before it was placed)"
	}
	return msg
}

func (e *InsufficientError) Unwrap() error { return ErrInsufficient }

// IdempotencyError is returned when a key comes back with another input.
type IdempotencyError struct {
	Source, Key string
}

func (e *IdempotencyError) Error() string {
	return fmt.Sprintf("source %s, key %q was already used for a different request: "+
		"keys must be unique per input; use a new key for a new operation", e.Source, e.Key)
}

func (e *IdempotencyError) Unwrap() error { return ErrIdempotency }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
