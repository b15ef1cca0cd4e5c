package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// querier is what reads need: a transaction or the read pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Balance reads an account's balance at instant at (zero: now). It is
// exact for now and later instants even if the expiry sweep has not run:
// lots past their expiry count as expired. An instant in the past is not
// a historical balance (later movements are included): use the movements. A known customer with no
// account has a zero balance; an unknown identifier is ErrUnknownCustomer.
//
// It is one statement and no transaction: a statement reads one snapshot
// on both backends, so the account row and its lots agree (a write
// committing between two reads would otherwise show points in neither
// place, or in both). On MySQL a read transaction and three statements
// were six round trips, each parsed by the server.
func (l *Ledger) Balance(ctx context.Context, acct Account, at time.Time) (Balance, error) {
	if at.IsZero() {
		at = l.clock()
	}
	if l.backend != BackendSQLite {
		return balance(ctx, l.r, l, acct, at)
	}
	cr := &cachedReader{db: l.r, cache: &l.rstmts}
	b, err := balance(ctx, cr, l, acct, at)
	cr.prepareMissed(ctx)
	return b, err
}

// read runs fn in a read-only transaction, so reads of several statements
// come from one snapshot.
func (l *Ledger) read(ctx context.Context, fn func(q querier) error) error {
	var opts *sql.TxOptions
	if l.backend == BackendMySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := l.r.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("ledger: begin read: %w", err)
	}
	if l.backend != BackendSQLite {
		defer tx.Rollback()
		return fn(tx)
	}
	cr := &cachedReader{db: l.r, tx: tx, cache: &l.rstmts}
	defer tx.Rollback() // on a panic in fn; a no-op once rolled back below
	err = fn(cr)
	_ = tx.Rollback()
	cr.prepareMissed(ctx) // once the transaction gave its connection back
	return err
}

// Balance reads a balance inside the transaction (zero at: the
// transaction's now).
func (tx *Tx) Balance(acct Account, at time.Time) (Balance, error) {
	if at.IsZero() {
		at = tx.now
	}
	return balance(tx.ctx, tx.tx, tx.l, acct, at)
}

// balanceQuery reads a balance in one statement: the identifier's
// customer, the account (NULLs if the customer has none) and its lots
// that hold points, one row per lot (NULLs if none). The lots are read
// from the covering index lots_usable; they are summed here rather than
// grouped by the server, which groups this join in a temporary table for
// each read (MariaDB's plan). An account whose lots share an expiry day
// sends a row for each instead of one: a few dozen bytes a lot.
const balanceQuery = `SELECT a.id, a.provisional, a.spent, a.expired, a.debt, l.expires_at, l.remaining
	FROM identifiers i
	LEFT JOIN accounts a ON a.program = ? AND a.customer_id = i.customer_id
	LEFT JOIN lots l ON l.account_id = a.id AND l.remaining > 0
	WHERE i.ident = ?`

func balance(ctx context.Context, q querier, l *Ledger, acct Account, at time.Time) (Balance, error) {
	p, err := l.Program(acct.Program)
	if err != nil {
		return Balance{}, err
	}
	canon, err := ParseIdent(string(acct.Customer))
	if err != nil {
		return Balance{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	b := Balance{Program: p.ID, Customer: canon, Expiring: []Expiring{}}
	rows, err := q.QueryContext(ctx, balanceQuery, p.ID, string(canon))
	if err != nil {
		return b, fmt.Errorf("ledger: read balance: %w", err)
	}
	defer rows.Close()
	known := false
	var debt int64
	sums := newLotSums(p, at)
	for rows.Next() {
		var id, prov, spent, expired, dbt, exp, n sql.NullInt64
		if err := rows.Scan(&id, &prov, &spent, &expired, &dbt, &exp, &n); err != nil {
			return b, fmt.Errorf("ledger: read balance: %w", err)
		}
		known = true
		if !id.Valid {
			continue // a known customer with no account in the program
		}
		b.Provisional, b.Spent, b.Expired, debt = prov.Int64, spent.Int64, expired.Int64, dbt.Int64
		if exp.Valid {
			sums.add(exp.Int64, n.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return b, fmt.Errorf("ledger: read balance: %w", err)
	}
	if !known {
		return b, fmt.Errorf("%w %s: no customer has this identifier", ErrUnknownCustomer, canon.Masked())
	}
	sums.fill(&b, debt)
	return b, nil
}

// lotSums adds up an account's lots that hold points, by expiry: usable,
// expired but not yet swept, and usable per day of expiry.
type lotSums struct {
	p               Program
	now             int64
	earned, expired int64
	byDay           map[string]int64
}

func newLotSums(p Program, at time.Time) *lotSums {
	return &lotSums{p: p, now: micros(at)}
}

func (s *lotSums) add(exp, n int64) {
	switch {
	case exp <= s.now:
		s.expired += n
	case exp == neverExpires:
		s.earned += n
	default:
		s.earned += n
		if s.byDay == nil {
			s.byDay = map[string]int64{}
		}
		s.byDay[ExpiryDay(fromMicros(exp), s.p.Location)] += n
	}
}

// fill adds the sums to b, whose Expired already holds the swept points,
// less the account's debt, with the expiry days in order.
func (s *lotSums) fill(b *Balance, debt int64) {
	b.Expired += s.expired
	b.Earned += s.earned - debt
	for d, n := range s.byDay {
		b.Expiring = append(b.Expiring, Expiring{Date: d, Points: n})
	}
	sort.Slice(b.Expiring, func(i, j int) bool { return b.Expiring[i].Date < b.Expiring[j].Date })
}

// fillLots adds the lots' part of a balance: usable, expired but not yet
// swept, and the per-day expiry list.
func fillLots(ctx context.Context, q querier, p Program, b *Balance, accountID, debt int64, at time.Time) error {
	rows, err := q.QueryContext(ctx, "SELECT expires_at, SUM(remaining) FROM lots WHERE account_id = ? AND remaining > 0 GROUP BY expires_at", accountID)
	if err != nil {
		return fmt.Errorf("ledger: read lots: %w", err)
	}
	defer rows.Close()
	sums := newLotSums(p, at)
	for rows.Next() {
		var exp, n int64
		if err := rows.Scan(&exp, &n); err != nil {
			return err
		}
		sums.add(exp, n)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sums.fill(b, debt)
	return nil
}

// ExpiryDay is the last day, in loc, on which points expiring at t are
// usable: points that expire at midnight starting 2027-01-16 are listed
// under 2027-01-15.
func ExpiryDay(t time.Time, loc *time.Location) string {
	return t.Add(-time.Nanosecond).In(loc).Format("2006-01-02")
}

// MovementQuery filters a movement listing.
type MovementQuery struct {
	// Before lists movements with an id lower than this (0: from the
	// newest), for paging backwards.
	Before int64
	// Limit caps the rows (default 100, at most 10000).
	Limit int
}

const movementColumns = `m.id, m.kind, m.phase, m.amount, m.ref_id, m.overdraft, m.expires_at, m.source, m.idem_key, m.reason,
	m.document, m.rule, m.rule_version, m.actor, m.note, m.business_at, m.recorded_at,
	f.kind, f.amount`

// Movements lists an account's movements, newest first, each with its
// state: a pending credit or spend stays pending until a post or void
// points at it.
func (l *Ledger) Movements(ctx context.Context, acct Account, mq MovementQuery) ([]Movement, error) {
	p, err := l.Program(acct.Program)
	if err != nil {
		return nil, err
	}
	canon, err := ParseIdent(string(acct.Customer))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if mq.Limit <= 0 {
		mq.Limit = 100
	}
	mq.Limit = min(mq.Limit, 10000)
	var accountID int64
	err = l.r.QueryRowContext(ctx, `SELECT a.id FROM accounts a JOIN identifiers i ON i.customer_id = a.customer_id
		WHERE i.ident = ? AND a.program = ?`, string(canon), p.ID).Scan(&accountID)
	if errors.Is(err, sql.ErrNoRows) {
		var cid int64
		if err := l.r.QueryRowContext(ctx, "SELECT customer_id FROM identifiers WHERE ident = ?", string(canon)).Scan(&cid); errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w %s: no customer has this identifier", ErrUnknownCustomer, canon.Masked())
		}
		return []Movement{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: read account: %w", err)
	}
	q := `SELECT ` + movementColumns + ` FROM movements m
		LEFT JOIN movements f ON f.ref_id = m.id AND f.kind IN ('post', 'void') AND m.phase = 'pending'
		WHERE m.account_id = ?`
	args := []any{accountID}
	if mq.Before > 0 {
		q += " AND m.id < ?"
		args = append(args, mq.Before)
	}
	q += " ORDER BY m.id DESC LIMIT ?"
	args = append(args, mq.Limit)
	rows, err := l.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: read movements: %w", err)
	}
	defer rows.Close()
	out := []Movement{}
	for rows.Next() {
		m, err := scanMovement(rows)
		if err != nil {
			return nil, err
		}
		m.Program, m.Customer = p.ID, canon
		out = append(out, m)
	}
	return out, rows.Err()
}

// scanMovement reads the movementColumns of a row, then any extra columns
// the query selected after them into extra.
func scanMovement(rows *sql.Rows, extra ...any) (Movement, error) {
	var m Movement
	var ref, exp, finAmount sql.NullInt64
	var finKind sql.NullString
	var business, recorded int64
	dest := []any{&m.ID, &m.Kind, &m.Phase, &m.Amount, &ref, &m.Overdraft, &exp, &m.Source, &m.Key, &m.Reason,
		&m.Document, &m.Rule, &m.RuleVersion, &m.Actor, &m.Note, &business, &recorded, &finKind, &finAmount}
	if err := rows.Scan(append(dest, extra...)...); err != nil {
		return m, fmt.Errorf("ledger: read movement: %w", err)
	}
	m.Ref = ref.Int64
	if exp.Valid {
		m.Expires = expiryTime(exp.Int64)
	}
	m.BusinessAt, m.RecordedAt = fromMicros(business), fromMicros(recorded)
	m.State, m.Final = StatePosted, m.Amount
	if m.Phase == PhasePending {
		switch Kind(finKind.String) {
		case KindPost:
			m.Final = finAmount.Int64
		case KindVoid:
			m.State, m.Final = StateVoided, 0
		default:
			m.State = StatePending
		}
	}
	return m, nil
}

// CustomerBalance is one row of a program-wide listing: the customer's
// identifiers and balance.
type CustomerBalance struct {
	Identifiers []Ident
	Balance
}

// EachBalance calls fn for every account of a program, in account order,
// reading in pages so a program of millions of customers streams.
func (l *Ledger) EachBalance(ctx context.Context, program string, at time.Time, fn func(CustomerBalance) error) error {
	p, err := l.Program(program)
	if err != nil {
		return err
	}
	if at.IsZero() {
		at = l.clock()
	}
	const page = 500
	var after int64
	for {
		type acc struct{ id, customer, debt int64 }
		rows, err := l.r.QueryContext(ctx, "SELECT id, customer_id FROM accounts WHERE program = ? AND id > ? ORDER BY id LIMIT ?",
			p.ID, after, page)
		if err != nil {
			return fmt.Errorf("ledger: list accounts: %w", err)
		}
		var accs []acc
		for rows.Next() {
			var a acc
			if err := rows.Scan(&a.id, &a.customer); err != nil {
				rows.Close()
				return err
			}
			accs = append(accs, a)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(accs) == 0 {
			return nil
		}
		for _, a := range accs {
			cb := CustomerBalance{}
			err := l.read(ctx, func(q querier) error {
				// The account row again, in the same snapshot as its lots.
				if err := q.QueryRowContext(ctx, "SELECT provisional, spent, expired, debt FROM accounts WHERE id = ?", a.id).
					Scan(&cb.Provisional, &cb.Spent, &cb.Expired, &a.debt); err != nil {
					return fmt.Errorf("ledger: read account: %w", err)
				}
				cb.Program, cb.Expiring = p.ID, []Expiring{}
				return fillLots(ctx, q, p, &cb.Balance, a.id, a.debt, at)
			})
			if err != nil {
				return err
			}
			if cb.Identifiers, err = l.identifiers(ctx, a.customer); err != nil {
				return err
			}
			if len(cb.Identifiers) > 0 {
				cb.Customer = cb.Identifiers[0]
			}
			if err := fn(cb); err != nil {
				return err
			}
			after = a.id
		}
	}
}

// identifiers lists a customer's identifiers, the first-known first.
func (l *Ledger) identifiers(ctx context.Context, customerID int64) ([]Ident, error) {
	rows, err := l.r.QueryContext(ctx, "SELECT ident FROM identifiers WHERE customer_id = ? ORDER BY created_at, ident", customerID)
	if err != nil {
		return nil, fmt.Errorf("ledger: read identifiers: %w", err)
	}
	defer rows.Close()
	var out []Ident
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, Ident(s))
	}
	return out, rows.Err()
}

// Identifiers lists every identifier of the customer known by id.
func (l *Ledger) Identifiers(ctx context.Context, id Ident) ([]Ident, error) {
	canon, err := ParseIdent(string(id))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var cid int64
	err = l.r.QueryRowContext(ctx, "SELECT customer_id FROM identifiers WHERE ident = ?", string(canon)).Scan(&cid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w %s", ErrUnknownCustomer, canon.Masked())
	}
	if err != nil {
		return nil, err
	}
	return l.identifiers(ctx, cid)
}

// Sweep writes expiry movements for every lot that reached its expiry by
// now, in transactions of a bounded size, and returns the accounts swept.
func (l *Ledger) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := l.Update(ctx, func(tx *Tx) error {
			var err error
			n, err = tx.SweepExpired(200)
			return err
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}
