package daemon

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/internal/mask"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/mapping"
	"github.com/pointsync/pointsync/reconcile"
)

// ErrCursorMoved means the stored cursor is not the one a batch was
// fetched from: another writer moved it. The batch is dropped unapplied
// and fetched again from where the ledger says.
var ErrCursorMoved = errors.New("the connector's cursor moved while the batch was read (another daemon on this ledger?)")

// sourceJob reads one connector to the end of what it has now.
type sourceJob struct {
	name   string
	src    connectors.Source
	ledger *ledger.Ledger
	engine *reconcile.Engine
	batch  int
	log    *zap.Logger

	// guarded counts the batches still to apply with a savepoint around
	// each fact, after a batch had one refused (see step).
	guarded int
}

// guardedBatches is how many batches are applied fact by fact in
// savepoints after one had a fact refused.
const guardedBatches = 8

// errRefusedUnguarded stops a batch applied without savepoints at its
// first refused fact, whose writes cannot be undone alone.
var errRefusedUnguarded = errors.New("a fact was refused in a batch applied without savepoints")

// run applies batches until the source has nothing more or stop is done.
// Each batch commits its facts, its rejects, its finished unit and the new
// cursor in one transaction; a failure anywhere leaves the old cursor, so
// the batch is fetched again and, facts being idempotent, nothing applies
// twice.
func (s *sourceJob) run(stop, abort context.Context) (outcome, error) {
	var total outcome
	for stop.Err() == nil {
		out, more, err := s.step(abort)
		total.Rows += out.Rows
		total.Rejected += out.Rejected
		total.Changed = total.Changed || out.Changed
		if err != nil || !more {
			return total, err
		}
	}
	return total, nil
}

// step fetches and applies one batch.
func (s *sourceJob) step(ctx context.Context) (out outcome, more bool, err error) {
	cur, err := s.ledger.Cursor(ctx, s.name)
	if err != nil {
		return out, false, err
	}
	b, err := s.src.Fetch(ctx, connectors.Cursor(cur), s.batch)
	if err != nil {
		return out, false, fmt.Errorf("fetch: %w", err)
	}
	if len(b.Items) == 0 && b.Done == nil && string(b.Next) == cur {
		return out, false, nil
	}
	unit := b.Unit
	if unit == "" && b.Done != nil {
		unit = b.Done.Key
	}
	var rejects []ledger.Reject
	var applied int64
	// A fact refused half-way must not leave its writes behind, so each
	// fact may run in a savepoint of its own. Savepoints cost a tenth of
	// a batch, and refusals are rare: a batch runs without them, and if a
	// fact is refused, it is rolled back and run again with them, as are
	// the next few batches.
	guard := s.guarded > 0
	if guard {
		s.guarded--
	}
	apply := func(tx *ledger.Tx, f mapping.Fact) error {
		if guard {
			return tx.Try(func() error { return s.engine.Apply(tx, f) })
		}
		return s.engine.Apply(tx, f)
	}
	step := rollbackOnPanic(s.log, s.name, func(tx *ledger.Tx) error {
		// A transaction that lost a race runs again: count afresh.
		rejects, applied = rejects[:0], 0
		stored, err := tx.Cursor(s.name)
		if err != nil {
			return err
		}
		if stored != cur {
			return ErrCursorMoved
		}
		for _, it := range b.Items {
			if it.Err != nil {
				rejects = append(rejects, rejectOf(it.Err))
				continue
			}
			if it.Fact == nil {
				continue
			}
			f := *it.Fact
			if err := apply(tx, f); err != nil {
				if !reconcile.Refused(err) {
					return fmt.Errorf("%s:%d: %s: %w", it.Origin, it.Line, subject(f), err)
				}
				if !guard {
					return errRefusedUnguarded
				}
				rejects = append(rejects, ledger.Reject{Origin: it.Origin, Line: it.Line, Reason: fmt.Sprintf("%s: %v", subject(f), err)})
				continue
			}
			applied++
		}
		for _, r := range rejects {
			if err := tx.Reject(s.name, unit, r); err != nil {
				return err
			}
		}
		if b.Done != nil {
			if err := tx.RecordUnit(s.name, ledger.Unit{Key: b.Done.Key, Name: b.Done.Name, Rows: b.Done.Rows}); err != nil {
				return err
			}
		}
		return tx.SetCursor(s.name, string(b.Next))
	})
	err = s.ledger.Update(ctx, step)
	if errors.Is(err, errRefusedUnguarded) {
		guard, s.guarded = true, guardedBatches
		err = s.ledger.Update(ctx, step)
	}
	if err != nil {
		return out, false, err
	}
	out = outcome{Rows: applied, Rejected: int64(len(rejects)), Changed: applied > 0}
	s.logRejects(rejects)
	if b.Done != nil {
		if ack, ok := s.src.(connectors.Acker); ok {
			stored, err := s.ledger.Rejects(ctx, s.name, unit)
			if err != nil {
				return out, false, err
			}
			all := make([]connectors.Reject, len(stored))
			for i, r := range stored {
				all[i] = connectors.Reject{Origin: r.Origin, Line: r.Line, Column: r.Column, Value: r.Value, Reason: r.Reason}
			}
			if err := ack.Ack(ctx, b, all); err != nil {
				// Applied and durable; the next run's Fetch finishes the
				// input again and Ack is retried.
				return out, false, fmt.Errorf("after applying %s: %w", b.Done.Name, err)
			}
		}
	}
	return out, b.More, nil
}

// maxLoggedRejects is how many rejected rows of one batch are logged one
// by one: a file of bad rows must not flood the log, and every row is in
// the ledger anyway.
const maxLoggedRejects = 10

func (s *sourceJob) logRejects(rejects []ledger.Reject) {
	for i, r := range rejects {
		if i == maxLoggedRejects {
			s.log.Warn("more rows of the batch rejected, not logged one by one; every rejected row is kept in the ledger",
				zap.String("job", s.name), zap.Int("not_logged", len(rejects)-maxLoggedRejects), zap.Int("rejected", len(rejects)))
			return
		}
		// A reason may quote a card number: a data row read as a header,
		// a customer written as card:NUMBER. The ledger and the error
		// report keep it for the operator; the log shows the last four.
		s.log.Warn("row rejected", zap.String("job", s.name), zap.String("origin", r.Origin), zap.Int("line", r.Line),
			zap.String("column", r.Column), zap.String("reason", mask.Digits(mask.Text(r.Reason))))
	}
}

// subject names f for messages, as f.Subject does but with card numbers
// masked: reasons reach the log and the error reports beside archived
// files, which must never carry a whole card number.
func subject(f mapping.Fact) string { return mapping.MaskCards(f.Subject(), &f) }

func rejectOf(e *mapping.RowError) ledger.Reject {
	return ledger.Reject{Origin: e.Origin, Line: e.Line, Column: e.Column, Value: e.Value, Reason: e.Reason}
}
