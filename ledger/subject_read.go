package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SubjectState reads a subject's record from the read pool, outside any
// write transaction, for listings that must not lock it (Tx.Subject
// locks it on MySQL); ok is false when none exists yet.
func (l *Ledger) SubjectState(ctx context.Context, program, subject string) (s Subject, ok bool, err error) {
	s = Subject{Program: program, Subject: subject}
	var state string
	var updated int64
	err = l.r.QueryRowContext(ctx, "SELECT state, parked, waiting, updated_at FROM subjects WHERE program = ? AND subject = ?", program, subject).
		Scan(&state, &s.Parked, &s.Waiting, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("ledger: read subject %s: %w", subject, err)
	}
	s.State, s.Updated = []byte(state), fromMicros(updated)
	return s, true, nil
}

// CustomerKey is Tx.CustomerKey read outside a transaction: the stable
// name of the customer known by id ("customer#17"), or
// ErrUnknownCustomer.
func (l *Ledger) CustomerKey(ctx context.Context, id Ident) (string, error) {
	canon, err := ParseIdent(string(id))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var cid int64
	err = l.r.QueryRowContext(ctx, "SELECT customer_id FROM identifiers WHERE ident = ?", string(canon)).Scan(&cid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w %s: no customer has this identifier yet", ErrUnknownCustomer, canon.Masked())
	}
	if err != nil {
		return "", fmt.Errorf("ledger: look up customer: %w", err)
	}
	return fmt.Sprintf("customer#%d", cid), nil
}
