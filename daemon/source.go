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
	// ahead are batches read but not applied: the transaction that was
	// to apply them committed before them, for a write that waited. They
	// follow the cursor aheadFrom, and serve the next step of the same
	// run if the ledger's cursor is still there.
	ahead     []connectors.Batch
	aheadFrom string
	// yield says whether to commit before the next batch read ahead:
	// nil is tx.WritersWaiting; tests choose.
	yield func(*ledger.Tx) bool
}

// guardedBatches is how many batches are applied fact by fact in
// savepoints after one had a fact refused.
const guardedBatches = 8

// readAhead is how many batches of daemon.batch_size a step reads and
// applies in one transaction on SQLite while no other write waits: each
// transaction dirties the pages of the indexes its facts touch, and a
// larger one shares them between more facts (a drop of 300,000 till rows
// ran about 30% faster with 8 than with 1). Before each batch but the
// first it looks whether another write (a checkout's reservation, the
// web shop's order) waits, and commits if so: that write waits for one
// batch at most, as with batches applied one by one. On MySQL, where a
// transaction holds its rows' locks to its end, each batch commits alone.
const readAhead = 8

// errRefusedUnguarded stops a batch applied without savepoints at its
// first refused fact, whose writes cannot be undone alone.
var errRefusedUnguarded = errors.New("a fact was refused in a batch applied without savepoints")

// run applies batches until the source has nothing more or stop is done.
// Each transaction commits its batches' facts, their rejects, their
// finished unit and the new cursor together; a failure anywhere leaves
// the old cursor, so the batches are fetched again and, facts being
// idempotent, nothing applies twice.
func (s *sourceJob) run(stop, abort context.Context) (outcome, error) {
	s.ahead, s.aheadFrom = nil, ""
	defer func() { s.ahead = nil }()
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

// fetch reads the batches of a step from cur: those read ahead by the
// step before if they follow cur, then more while the source has more,
// up to readAhead batches (1 on MySQL), none past a finished input or a
// batch that did not move. When a fetch fails after some were read, they
// are returned with the error as later: they apply, and the job then
// fails with it, unless the step commits before all of them for a
// waiting write; the next step, which applies the rest, fetches again
// from after them and meets the error again if it lasts.
func (s *sourceJob) fetch(ctx context.Context, cur string) (bs []connectors.Batch, later, err error) {
	if s.aheadFrom == cur {
		bs = s.ahead
	}
	s.ahead, s.aheadFrom = nil, ""
	most := 1
	if s.ledger.Backend() == ledger.BackendSQLite {
		most = readAhead
	}
	for len(bs) < most {
		after := cur
		if n := len(bs); n > 0 {
			last, from := bs[n-1], cur
			if n > 1 {
				from = string(bs[n-2].Next)
			}
			if !last.More || last.Done != nil || (len(last.Items) == 0 && string(last.Next) == from) {
				break
			}
			after = string(last.Next)
		}
		b, err := s.src.Fetch(ctx, connectors.Cursor(after), s.batch)
		if err != nil {
			err = fmt.Errorf("fetch: %w", err)
			if len(bs) > 0 {
				return bs, err, nil
			}
			return nil, nil, err
		}
		bs = append(bs, b)
	}
	return bs, nil, nil
}

// appliedBatch is what a transaction did with one batch.
type appliedBatch struct {
	b       connectors.Batch
	unit    string
	rejects []ledger.Reject
	applied int64
}

// step fetches batches and applies them in one transaction: all of them,
// or as many as it applied before another write waited.
func (s *sourceJob) step(ctx context.Context) (out outcome, more bool, err error) {
	cur, err := s.ledger.Cursor(ctx, s.name)
	if err != nil {
		return out, false, err
	}
	bs, later, err := s.fetch(ctx, cur)
	if err != nil {
		return out, false, err
	}
	if b := bs[0]; len(bs) == 1 && len(b.Items) == 0 && b.Done == nil && string(b.Next) == cur {
		return out, false, nil
	}
	var done []appliedBatch
	// A fact refused half-way must not leave its writes behind, so each
	// fact may run in a savepoint of its own. Savepoints cost a tenth of
	// a batch, and refusals are rare: a batch runs without them, and if a
	// fact is refused, the transaction is rolled back and run again with
	// them, as are the next few batches.
	guard := s.guarded > 0
	apply := func(tx *ledger.Tx, f mapping.Fact) error {
		if guard {
			return tx.Try(func() error { return s.engine.Apply(tx, f) })
		}
		return s.engine.Apply(tx, f)
	}
	applyBatch := func(tx *ledger.Tx, b connectors.Batch) (appliedBatch, error) {
		a := appliedBatch{b: b, unit: b.Unit}
		if a.unit == "" && b.Done != nil {
			a.unit = b.Done.Key
		}
		for _, it := range b.Items {
			if it.Err != nil {
				a.rejects = append(a.rejects, rejectOf(it.Err))
				continue
			}
			if it.Fact == nil {
				continue
			}
			f := *it.Fact
			if err := apply(tx, f); err != nil {
				if !reconcile.Refused(err) {
					return a, fmt.Errorf("%s:%d: %s: %w", it.Origin, it.Line, subject(f), err)
				}
				if !guard {
					return a, errRefusedUnguarded
				}
				a.rejects = append(a.rejects, ledger.Reject{Origin: it.Origin, Line: it.Line, Reason: fmt.Sprintf("%s: %v", subject(f), err)})
				continue
			}
			a.applied++
		}
		for _, r := range a.rejects {
			if err := tx.Reject(s.name, a.unit, r); err != nil {
				return a, err
			}
		}
		if b.Done != nil {
			if err := tx.RecordUnit(s.name, ledger.Unit{Key: b.Done.Key, Name: b.Done.Name, Rows: b.Done.Rows}); err != nil {
				return a, err
			}
		}
		return a, tx.SetCursor(s.name, string(b.Next))
	}
	step := rollbackOnPanic(s.log, s.name, func(tx *ledger.Tx) error {
		// A transaction that lost a race runs again: count afresh.
		done = done[:0]
		stored, err := tx.Cursor(s.name)
		if err != nil {
			return err
		}
		if stored != cur {
			return ErrCursorMoved
		}
		yield := s.yield
		if yield == nil {
			yield = (*ledger.Tx).WritersWaiting
		}
		for i, b := range bs {
			if i > 0 && yield(tx) {
				break
			}
			a, err := applyBatch(tx, b)
			if err != nil {
				return err
			}
			done = append(done, a)
		}
		return nil
	})
	err = s.ledger.Update(ctx, step)
	if errors.Is(err, errRefusedUnguarded) {
		guard, s.guarded = true, guardedBatches
		err = s.ledger.Update(ctx, step)
	}
	if err != nil {
		return out, false, err
	}
	if guard {
		s.guarded = max(0, s.guarded-len(done))
	}
	if rest := bs[len(done):]; len(rest) > 0 {
		s.ahead, s.aheadFrom = rest, string(done[len(done)-1].b.Next)
	}
	for _, a := range done {
		out.Rows += a.applied
		out.Rejected += int64(len(a.rejects))
		s.logRejects(a.rejects)
		if a.b.Done != nil {
			if err := s.ack(ctx, a); err != nil {
				return out, false, err
			}
		}
	}
	out.Changed = out.Rows > 0
	if later != nil && len(s.ahead) == 0 {
		// Every batch read before the failed fetch is applied: the
		// job reports the failure, and its next run reads again.
		return out, false, later
	}
	return out, len(s.ahead) > 0 || done[len(done)-1].b.More, nil
}

// ack tells a source that acknowledges finished inputs that a's is
// applied, with every row of it rejected on the way.
func (s *sourceJob) ack(ctx context.Context, a appliedBatch) error {
	ack, ok := s.src.(connectors.Acker)
	if !ok {
		return nil
	}
	stored, err := s.ledger.Rejects(ctx, s.name, a.unit)
	if err != nil {
		return err
	}
	all := make([]connectors.Reject, len(stored))
	for i, r := range stored {
		all[i] = connectors.Reject{Origin: r.Origin, Line: r.Line, Column: r.Column, Value: r.Value, Reason: r.Reason}
	}
	if err := ack.Ack(ctx, a.b, all); err != nil {
		// Applied and durable; the next run's Fetch finishes the input
		// again and Ack is retried.
		return fmt.Errorf("after applying %s: %w", a.b.Done.Name, err)
	}
	return nil
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
