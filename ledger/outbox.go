package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Event is a notification waiting in the outbox (SPEC 3.6): it is written
// in the same transaction as the movement it announces and delivered at
// least once.
type Event struct {
	// ID is unique: receivers deduplicate on it, and Enqueue ignores an
	// event whose ID is already in the outbox.
	ID string `json:"id"`
	// Type is points_earned, prize_threshold or points_expiring.
	Type     string    `json:"type"`
	Program  string    `json:"program"`
	Customer Ident     `json:"customer"`
	At       time.Time `json:"at"`
	// Data is the event's JSON object; empty means {}.
	Data json.RawMessage `json:"data"`
}

// OutboxEntry is an event not yet delivered, with its delivery state.
type OutboxEntry struct {
	// Seq orders delivery: the order events were enqueued in.
	Seq int64
	Event
	// Attempts counts the failed deliveries so far.
	Attempts int
	// NextAt is when the event is due (again).
	NextAt time.Time
	// LastError is why the latest delivery failed.
	LastError string
}

// OutboxStats sums up the events not yet delivered.
type OutboxStats struct {
	Pending int64
	// Oldest is when the oldest pending event was enqueued (zero: none).
	Oldest time.Time
	// Failing counts pending events with at least one failed delivery.
	Failing int64
}

// Earned is a rise of an account's earned points inside a transaction: a
// posted credit, the post of a pending credit, or points given back by a
// refund, a void or a partial post of a pending spend. A reset never
// raises.
type Earned struct {
	// Account names the customer by their primary identifier (the first
	// one they had).
	Account  Account
	Movement int64
	Points   int64
	Source   string
	Reason   string
	// Kind is the movement's kind: credit or post for points earned,
	// void or refund for points given back (a released reservation, a
	// cancelled order's redemption).
	Kind Kind
}

// Written counts a committed transaction's movements by source and kind.
type Written struct {
	Source string
	Kind   Kind
}

// Outbox column limits, as in the 0007 migration.
const (
	maxEventID    = 191
	maxEventType  = 32
	maxEventError = 1000
	maxDueEvents  = 1000
)

// hooks are what a ledger calls around its write transactions.
type hooks struct {
	notifier atomic.Pointer[func(*Tx, []Earned) error]
	mu       sync.Mutex // serialises OnCommit registrations
	commit   atomic.Pointer[[]func(map[Written]int)]
}

// SetNotifier makes fn run inside every write transaction that raised
// earned points, just before it commits, with those rises in the order
// they were written; fn's error rolls the transaction back. fn may read
// and Enqueue through tx but must not write movements. nil removes it.
// Without a notifier the ledger records no rises.
func (l *Ledger) SetNotifier(fn func(tx *Tx, rises []Earned) error) {
	if fn == nil {
		l.hooks.notifier.Store(nil)
		return
	}
	l.hooks.notifier.Store(&fn)
}

// OnCommit adds fn to the functions called after each committed write
// transaction, with its movements counted by source and kind (nil when it
// wrote none). fn runs on the committing goroutine: it must be quick and
// must not write to the ledger.
func (l *Ledger) OnCommit(fn func(map[Written]int)) {
	if fn == nil {
		return
	}
	l.hooks.mu.Lock()
	defer l.hooks.mu.Unlock()
	var fns []func(map[Written]int)
	if cur := l.hooks.commit.Load(); cur != nil {
		fns = append(fns, *cur...)
	}
	fns = append(fns, fn)
	l.hooks.commit.Store(&fns)
}

// txHooks is what a transaction records for the hooks: every movement
// written (cheap: an append), and the rises of earned points only while a
// notifier is set.
type txHooks struct {
	written []wrote
	rises   []rise
}

type wrote struct {
	id             int64
	source, reason string
	kind           Kind
}

type rise struct {
	program    string
	customerID int64
	movement   int64
	points     int64
}

// hookMark is how far the records went, so a savepoint rolled back can
// forget what it wrote.
type hookMark struct{ written, rises int }

func (h *txHooks) mark() hookMark { return hookMark{len(h.written), len(h.rises)} }

func (h *txHooks) undo(m hookMark) {
	h.written = h.written[:m.written]
	h.rises = h.rises[:m.rises]
}

// wrote records a movement just inserted.
func (tx *Tx) wrote(id int64, m *Meta, kind Kind) {
	tx.hooks.written = append(tx.hooks.written, wrote{id: id, source: m.Source, reason: m.Reason, kind: kind})
}

// notifying reports whether rises are to be recorded.
func (tx *Tx) notifying() bool { return tx.l.hooks.notifier.Load() != nil }

// rise records that movement raised the account's earned points.
func (tx *Tx) rise(a *account, movement, points int64) {
	if points <= 0 || !tx.notifying() {
		return
	}
	tx.hooks.rises = append(tx.hooks.rises, rise{program: a.program.ID, customerID: a.customerID, movement: movement, points: points})
}

// beforeCommit hands the transaction's rises to the notifier.
func (tx *Tx) beforeCommit() error {
	fn := tx.l.hooks.notifier.Load()
	if fn == nil || len(tx.hooks.rises) == 0 {
		return nil
	}
	names := map[int64]Ident{}
	out := make([]Earned, 0, len(tx.hooks.rises))
	for _, r := range tx.hooks.rises {
		name, ok := names[r.customerID]
		if !ok {
			var err error
			if name, err = tx.primaryIdent(r.customerID); err != nil {
				return err
			}
			names[r.customerID] = name
		}
		e := Earned{Account: Account{Program: r.program, Customer: name}, Movement: r.movement, Points: r.points}
		for i := len(tx.hooks.written) - 1; i >= 0; i-- {
			if w := tx.hooks.written[i]; w.id == r.movement {
				e.Source, e.Reason, e.Kind = w.source, w.reason, w.kind
				break
			}
		}
		out = append(out, e)
	}
	if err := (*fn)(tx, out); err != nil {
		return fmt.Errorf("ledger: notifications: %w", err)
	}
	return nil
}

// afterCommit tells the OnCommit functions what committed.
func (tx *Tx) afterCommit() {
	tx.l.idents.add(tx.idents)
	fns := tx.l.hooks.commit.Load()
	if fns == nil {
		return
	}
	var counts map[Written]int
	if len(tx.hooks.written) > 0 {
		counts = make(map[Written]int, 2)
		for _, w := range tx.hooks.written {
			counts[Written{Source: w.source, Kind: w.kind}]++
		}
	}
	for _, fn := range *fns {
		fn(counts)
	}
}

// Enqueue writes ev to the outbox, to be delivered once the transaction
// commits. An event whose ID is already in the outbox (pending or
// delivered) is ignored: announcing the same thing again adds nothing.
func (tx *Tx) Enqueue(ev Event) error {
	_, err := tx.EnqueueNew(ev)
	return err
}

// EnqueueNew is Enqueue that also reports whether the event was new.
func (tx *Tx) EnqueueNew(ev Event) (added bool, err error) {
	if err := checkKey("event id", ev.ID); err != nil {
		return false, err
	}
	switch {
	case len(ev.ID) > maxEventID:
		return false, invalidf("event id %q is longer than %d bytes", clip(ev.ID, 40), maxEventID)
	case ev.Type == "" || len(ev.Type) > maxEventType || !utf8.ValidString(ev.Type):
		return false, invalidf("event %s: the type must be 1 to %d bytes of text (points_earned, prize_threshold, points_expiring)", ev.ID, maxEventType)
	}
	if _, err := tx.l.Program(ev.Program); err != nil {
		return false, fmt.Errorf("event %s: %w", ev.ID, err)
	}
	canon, err := ParseIdent(string(ev.Customer))
	if err != nil {
		return false, fmt.Errorf("%w: event %s: %v", ErrInvalid, ev.ID, err)
	}
	data := []byte(ev.Data)
	if len(data) == 0 {
		data = []byte("{}")
	}
	if !json.Valid(data) {
		return false, invalidf("event %s: data is not valid JSON", ev.ID)
	}
	at := ev.At
	if at.IsZero() {
		at = tx.now
	}
	q := tx.l.upsert(`INSERT INTO outbox (id, event_type, program, customer, event_at, data, created_at, attempts, next_at, last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '')`, []string{"id"}, nil)
	res, err := tx.execResult(q, ev.ID, ev.Type, ev.Program, string(canon), micros(at), string(data), micros(tx.now), micros(tx.now))
	if err != nil {
		return false, fmt.Errorf("ledger: enqueue event %s: %w", ev.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("ledger: enqueue event %s: %w", ev.ID, err)
	}
	return n > 0, nil
}

// DueEvents lists up to limit (default 100, at most 1000) undelivered
// events whose NextAt has come, in the order they were enqueued.
func (l *Ledger) DueEvents(ctx context.Context, limit int) ([]OutboxEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxDueEvents)
	rows, err := l.r.QueryContext(ctx, `SELECT seq, id, event_type, program, customer, event_at, data, attempts, next_at, last_error
		FROM outbox WHERE delivered_at IS NULL AND next_at <= ? ORDER BY seq LIMIT ?`, micros(l.clock()), limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: read due events: %w", err)
	}
	defer rows.Close()
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		var customer, data string
		var at, next int64
		if err := rows.Scan(&e.Seq, &e.ID, &e.Type, &e.Program, &customer, &at, &data, &e.Attempts, &next, &e.LastError); err != nil {
			return nil, fmt.Errorf("ledger: read due events: %w", err)
		}
		e.Customer, e.Data = Ident(customer), json.RawMessage(data)
		e.At, e.NextAt = fromMicros(at), fromMicros(next)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: read due events: %w", err)
	}
	return out, nil
}

// MarkDelivered records that the receiver accepted event seq. Marking an
// event delivered twice is not an error.
func (l *Ledger) MarkDelivered(ctx context.Context, seq int64) error {
	return l.markEvent(ctx, seq, "UPDATE outbox SET delivered_at = ?, last_error = '' WHERE seq = ? AND delivered_at IS NULL",
		micros(l.clock()), seq)
}

// MarkFailed records a failed delivery of event seq: one more attempt, due
// again at next, and why (cut to 1000 characters). An event delivered
// meanwhile stays delivered.
func (l *Ledger) MarkFailed(ctx context.Context, seq int64, next time.Time, reason string) error {
	return l.markEvent(ctx, seq, "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE seq = ? AND delivered_at IS NULL",
		micros(next), clip(reason, maxEventError), seq)
}

func (l *Ledger) markEvent(ctx context.Context, seq int64, query string, args ...any) error {
	return l.Update(ctx, func(tx *Tx) error {
		res, err := tx.execResult(query, args...)
		if err != nil {
			return fmt.Errorf("ledger: mark event %d: %w", seq, err)
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var one int
		err = tx.queryRow("SELECT 1 FROM outbox WHERE seq = ?", seq).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return invalidf("outbox event %d does not exist", seq)
		}
		return err
	})
}

// OutboxStats counts the events not yet delivered.
func (l *Ledger) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var s OutboxStats
	var oldest sql.NullInt64
	err := l.r.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at), COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0)
		FROM outbox WHERE delivered_at IS NULL`).Scan(&s.Pending, &oldest, &s.Failing)
	if err != nil {
		return s, fmt.Errorf("ledger: count pending events: %w", err)
	}
	if oldest.Valid {
		s.Oldest = fromMicros(oldest.Int64)
	}
	return s, nil
}

// ExpiringLot is what one account has expiring at one instant.
type ExpiringLot struct {
	Program string
	// Account is the account's id: with the program, it names the
	// account for as long as it exists.
	Account int64
	// Customer is the customer's primary identifier.
	Customer Ident
	Expires  time.Time
	Points   int64
}

// expiringRows is how many rows ExpiringLots reads per query.
const expiringRows = 500

// ExpiringLots calls fn for the usable points of program that expire in
// (from, to], by account and instant, ordered by account then instant.
// Lots already past their expiry at from are not listed. fn runs between
// reads, so it may use the ledger (but not inside an Update of it).
func (l *Ledger) ExpiringLots(ctx context.Context, program string, from, to time.Time, fn func(ExpiringLot) error) error {
	if _, err := l.Program(program); err != nil {
		return err
	}
	var lastAccount, lastExpires int64
	names := map[int64]Ident{}
	for {
		page, err := l.expiringPage(ctx, program, micros(from), micros(to), lastAccount, lastExpires)
		if err != nil {
			return err
		}
		for _, p := range page {
			name, ok := names[p.customerID]
			if !ok {
				if name, err = l.expiringCustomer(ctx, p.customerID); err != nil {
					return err
				}
				names = map[int64]Ident{p.customerID: name} // accounts come in order: one is enough
			}
			p.lot.Customer = name
			if err := fn(p.lot); err != nil {
				return err
			}
		}
		if len(page) < expiringRows {
			return nil
		}
		last := page[len(page)-1]
		lastAccount, lastExpires = last.lot.Account, micros(last.lot.Expires)
	}
}

type expiringRow struct {
	lot        ExpiringLot
	customerID int64
}

func (l *Ledger) expiringPage(ctx context.Context, program string, from, to, afterAccount, afterExpires int64) ([]expiringRow, error) {
	rows, err := l.r.QueryContext(ctx, fmt.Sprintf(`SELECT lt.account_id, a.customer_id, lt.expires_at, SUM(lt.remaining)
		FROM lots lt JOIN accounts a ON a.id = lt.account_id
		WHERE a.program = ? AND lt.expires_at > ? AND lt.expires_at <= ? AND lt.remaining > 0 AND lt.closed = 0
		AND (lt.account_id > ? OR (lt.account_id = ? AND lt.expires_at > ?))
		GROUP BY lt.account_id, a.customer_id, lt.expires_at ORDER BY lt.account_id, lt.expires_at LIMIT %d`, expiringRows),
		program, from, to, afterAccount, afterAccount, afterExpires)
	if err != nil {
		return nil, fmt.Errorf("ledger: read expiring lots of %s: %w", program, err)
	}
	defer rows.Close()
	var out []expiringRow
	for rows.Next() {
		r := expiringRow{lot: ExpiringLot{Program: program}}
		var exp int64
		if err := rows.Scan(&r.lot.Account, &r.customerID, &exp, &r.lot.Points); err != nil {
			return nil, fmt.Errorf("ledger: read expiring lots of %s: %w", program, err)
		}
		r.lot.Expires = fromMicros(exp)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: read expiring lots of %s: %w", program, err)
	}
	return out, nil
}

// expiringCustomer is the customer's primary (first) identifier, read
// outside a transaction.
func (l *Ledger) expiringCustomer(ctx context.Context, customerID int64) (Ident, error) {
	var s string
	err := l.r.QueryRowContext(ctx, "SELECT ident FROM identifiers WHERE customer_id = ? ORDER BY created_at, ident LIMIT 1", customerID).Scan(&s)
	if err != nil {
		return "", fmt.Errorf("ledger: identifiers of customer %d: %w", customerID, err)
	}
	return Ident(s), nil
}
