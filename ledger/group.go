package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"go.uber.org/zap"
)

// Group commit (SQLite).
//
// SQLite has one writer, and a durable commit costs an fsync of the WAL:
// Updates that each commit on their own queue behind one another's
// fsyncs, so concurrent writers (checkout reservations from many web
// clients) get at most one transaction per fsync between them. Instead,
// the Updates that arrive while a transaction is running wait in a queue;
// the first of them, the leader, takes the write connection when it is
// free and runs every Update queued by then in one transaction, each in a
// savepoint of its own, and commits once for all of them. Each Update
// still succeeds or fails alone: a failing fn has its savepoint rolled
// back and gets its own error, the others commit. An Update waiting alone
// runs as before, in a transaction of its own with no savepoint.

// groupSavepoint names the savepoint of each Update in a group. Tx.Try
// names its own by depth (pointsync_spN), so they do not meet.
const groupSavepoint = "pointsync_group"

// errGroupAborted is what the other Updates of a group get when one of
// them broke the shared transaction (SQLite rolls a whole transaction
// back on some errors: an interrupted statement, a full disk). Update
// runs them again, in a later transaction.
var errGroupAborted = errors.New("ledger: the transaction was rolled back with another writer's")

// writeQueue holds the Updates waiting for the next transaction.
type writeQueue struct {
	mu      sync.Mutex
	waiting []*writeReq
	commits int64 // transactions committed with more than one Update (tests)
}

// writeReq is one Update in a queue.
type writeReq struct {
	ctx      context.Context
	fn       func(*Tx) error
	err      error
	panicked any // fn's panic, raised again in the Update's goroutine
	done     chan struct{}
}

// updateGrouped runs fn, alone or with the Updates waiting with it.
func (l *Ledger) updateGrouped(ctx context.Context, fn func(*Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	q := &l.group
	q.mu.Lock()
	q.waiting = append(q.waiting, req)
	lead := len(q.waiting) == 1
	q.mu.Unlock()
	if lead {
		func() {
			// Deferred: an fn that ends its goroutine (runtime.Goexit)
			// must not keep the write lock.
			l.lockWrite()
			defer l.wmu.Unlock()
			q.mu.Lock()
			group := q.waiting
			q.waiting = nil
			q.mu.Unlock()
			l.runGroup(group)
		}()
	}
	<-req.done
	if req.panicked != nil {
		panic(req.panicked)
	}
	return req.err
}

// runGroup runs the queued Updates and tells each how it ended. The
// caller holds l.wmu.
func (l *Ledger) runGroup(group []*writeReq) {
	var g groupRun
	finished := false
	defer func() {
		p := recover()
		if !finished {
			// A panic or Goexit outside the fns (which catch recovers).
			if !g.committed && g.sqlTx != nil {
				_ = g.sqlTx.Rollback()
			}
			for _, r := range group {
				switch {
				case r.err != nil || r.panicked != nil:
				case g.committed && p != nil:
					r.panicked = p // an OnCommit hook panicked: as alone
				case !g.committed:
					r.err = fmt.Errorf("%w: %v", errGroupAborted, p)
				}
			}
		}
		for _, r := range group {
			close(r.done)
		}
	}()
	l.runGroupTx(group, &g)
	finished = true
}

// groupRun is the state of a group's transaction.
type groupRun struct {
	sqlTx     *sql.Tx
	committed bool
}

func (l *Ledger) runGroupTx(group []*writeReq, g *groupRun) {
	if len(group) == 1 {
		r := group[0]
		r.panicked, r.err = catch(func() error { return l.updateOne(r.ctx, r.fn) })
		return
	}
	// abort ends the transaction after something broke it: every Update
	// but breaker runs again in a later one, even one that had failed,
	// since it may have failed on writes now undone.
	abort := func(breaker *writeReq, err error) {
		_ = g.sqlTx.Rollback()
		for _, r := range group {
			if r != breaker && r.panicked == nil && !errors.Is(r.err, context.Canceled) && !errors.Is(r.err, context.DeadlineExceeded) {
				r.err = err
			}
		}
	}
	// The transaction and its statements run under contexts that are
	// not cancelled: SQLite rolls the whole transaction back when a write
	// is interrupted, which would undo the others' writes. An Update whose
	// context ends stops at its next statement instead (Tx.live).
	sqlTx, err := l.w.BeginTx(context.WithoutCancel(group[0].ctx), nil)
	if err != nil {
		for _, r := range group {
			r.err = fmt.Errorf("ledger: begin: %w", err)
		}
		return
	}
	g.sqlTx = sqlTx
	raw := func(q string) error { _, err := sqlTx.Exec(q); return err }
	if lease := l.fence.Load(); lease != nil {
		gtx := &Tx{l: l, tx: sqlTx, ctx: context.WithoutCancel(group[0].ctx), now: l.clock().UTC()}
		if err := lease.checkFence(gtx); err != nil {
			if !errors.Is(err, ErrLeaseLost) {
				err = fmt.Errorf("%w: %v", errGroupAborted, err)
			}
			abort(nil, err)
			return
		}
	}
	txs := make([]*Tx, 0, len(group))
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if err := raw("SAVEPOINT " + groupSavepoint); err != nil {
			abort(nil, fmt.Errorf("%w: savepoint: %v", errGroupAborted, err))
			return
		}
		tx := &Tx{l: l, tx: sqlTx, ctx: context.WithValue(context.WithoutCancel(r.ctx), inTxKey{}, l), live: r.ctx, now: l.clock().UTC(),
			followers: len(group) - 1 - i}
		r.panicked, r.err = catch(func() error {
			if err := r.fn(tx); err != nil {
				return err
			}
			return tx.beforeCommit()
		})
		if r.err == nil && r.panicked == nil {
			if err := raw("RELEASE " + groupSavepoint); err != nil {
				abort(nil, fmt.Errorf("%w: release savepoint: %v", errGroupAborted, err))
				return
			}
			txs = append(txs, tx)
			continue
		}
		if err := raw("ROLLBACK TO " + groupSavepoint); err != nil {
			// The error rolled the whole transaction back.
			r.err = errors.Join(r.err, fmt.Errorf("ledger: roll back to savepoint: %w", err))
			abort(r, errGroupAborted)
			return
		}
		if err := raw("RELEASE " + groupSavepoint); err != nil {
			abort(nil, fmt.Errorf("%w: release savepoint: %v", errGroupAborted, err))
			return
		}
	}
	if len(txs) == 0 {
		_ = sqlTx.Rollback()
		return
	}
	if err := sqlTx.Commit(); err != nil {
		for _, r := range group {
			if r.err == nil && r.panicked == nil {
				r.err = fmt.Errorf("ledger: commit: %w", err)
			}
		}
		return
	}
	g.committed = true
	l.group.mu.Lock()
	l.group.commits++
	l.group.mu.Unlock()
	for _, tx := range txs {
		tx.afterCommit()
	}
	if len(txs) < len(group) {
		l.log.Debug("group commit", zap.Int("updates", len(group)), zap.Int("committed", len(txs)))
	}
}

// lockWrite takes l.wmu, counted while it waits (WritersWaiting).
func (l *Ledger) lockWrite() {
	l.wwaiting.Add(1)
	l.wmu.Lock()
	l.wwaiting.Add(-1)
}

// WritersWaiting reports whether another write waits for this one to
// end: one queued for the write lock, or one after it in its group,
// which runs in the same transaction once it returns. An Update that
// could go on doing more (a connector's next batch, read ahead) should
// return instead, so that a checkout's reservation is not held up for
// long. Only SQLite queues writers on the ledger; on MySQL, where they
// wait on row locks, it reports true, as the holder cannot know.
func (tx *Tx) WritersWaiting() bool {
	return tx.l.backend != BackendSQLite || tx.followers > 0 || tx.l.wwaiting.Load() > 0
}

// catch runs fn and returns its panic or its error.
func catch(fn func() error) (panicked any, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	return nil, fn()
}
