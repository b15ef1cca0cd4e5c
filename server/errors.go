package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/reconcile"
	"github.com/pointsync/pointsync/rules"
)

// Error codes: stable strings callers may switch on. A new code may be
// added; an existing one never changes meaning.
const (
	CodeUnauthorized     = "unauthorized"        // no token, or a token not known
	CodeForbidden        = "forbidden"           // the token lacks the scope
	CodeBadJSON          = "bad_json"            // the body is not the JSON expected
	CodeBadRequest       = "bad_request"         // a field's value is wrong
	CodeTooLarge         = "too_large"           // the body is over the size limit
	CodeNotFound         = "not_found"           // no such route, customer, movement, reservation
	CodeMethodNotAllowed = "method_not_allowed"  // the route exists for other methods
	CodeUnknownProgram   = "unknown_program"     // the program is not configured
	CodeUnknownCustomer  = "unknown_customer"    // no customer has the identifier
	CodeInsufficient     = "insufficient_points" // not enough earned points
	CodeLimit            = "redemption_limit"    // the program's redemption limits say no
	CodeConflict         = "conflict"            // same key or reference, different request
	CodeReservationState = "reservation_state"   // committed, released or expired already
	CodeNotAdjustment    = "not_an_adjustment"   // only admin adjustments can be changed
	CodeAlreadyFinal     = "already_final"       // the movement was already posted, voided or removed
	CodePrizeRefused     = "prize_refused"       // deadline, limit or balance refuse the prize
	CodeUnsupportedMedia = "unsupported_media"   // wrong Content-Type
	CodeImportRejected   = "import_rejected"     // bad rows, nothing applied
	CodeNotActive        = "not_active"          // a standby daemon: write to the active one
	CodeUnavailable      = "unavailable"         // the ledger cannot be reached
	CodeCSRF             = "csrf"                // a form without its CSRF token
	CodeInternal         = "internal"            // a fault of ours; the log has the details
)

// Error is an API error: what the client sees as JSON.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field is the request field at fault (JSON path, query or path
	// parameter), when one is.
	Field string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// errorf makes an Error.
func errorf(status int, code, field, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// badRequest is a 400 about one field.
func badRequest(field, format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, CodeBadRequest, field, format, args...)
}

// asError maps an error of the layers below to an API error. Errors that
// say nothing the caller can act on are internal: the message is generic
// and the cause is logged.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var pe *rules.PrizeError
	switch {
	case errors.As(err, &pe):
		return errorf(http.StatusConflict, CodePrizeRefused, "", "%s", pe.Error())
	case errors.Is(err, ledger.ErrUnknownCustomer):
		return errorf(http.StatusNotFound, CodeUnknownCustomer, "customer", "%s", err.Error())
	case errors.Is(err, ledger.ErrUnknownProgram):
		return errorf(http.StatusNotFound, CodeUnknownProgram, "program", "%s", err.Error())
	case errors.Is(err, ledger.ErrInsufficient):
		return errorf(http.StatusConflict, CodeInsufficient, "points", "%s", err.Error())
	case errors.Is(err, ledger.ErrIdempotency):
		return errorf(http.StatusConflict, CodeConflict, "key", "%s", err.Error())
	case errors.Is(err, ledger.ErrNotAdjustment):
		return errorf(http.StatusConflict, CodeNotAdjustment, "movement", "%s", err.Error())
	case errors.Is(err, ledger.ErrAlreadyFinal):
		return errorf(http.StatusConflict, CodeAlreadyFinal, "movement", "%s", err.Error())
	case errors.Is(err, ledger.ErrUnknownMovement):
		return errorf(http.StatusNotFound, CodeNotFound, "movement", "%s", err.Error())
	case errors.Is(err, reconcile.ErrLimit):
		return errorf(http.StatusConflict, CodeLimit, "points", "%s", err.Error())
	case errors.Is(err, ledger.ErrReservationState):
		return errorf(http.StatusConflict, CodeReservationState, "order", "%s", err.Error())
	case errors.Is(err, ledger.ErrUnknownReservation):
		return errorf(http.StatusNotFound, CodeNotFound, "order", "%s", err.Error())
	case errors.Is(err, ledger.ErrLeaseLost):
		return errorf(http.StatusServiceUnavailable, CodeNotActive, "", "this daemon does not hold the ledger's lease: send writes to the active one")
	case errors.Is(err, ledger.ErrInvalid), errors.Is(err, rules.ErrInvalidDocument):
		return errorf(http.StatusBadRequest, CodeBadRequest, "", "%s", err.Error())
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; the server's log has the details"}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

// errorBody is the JSON form of an error response.
type errorBody struct {
	Error *Error `json:"error"`
}
