package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

var adminSources = map[string]bool{SourceAdmin: true, SourceImport: true, SourceAPI: true}

func checkAdminSource(m *Meta) error {
	if !adminSources[m.Source] {
		return invalidf("admin operations come from admin, import or api, not %q", m.Source)
	}
	return nil
}

// Adjust writes an admin adjustment: positive points are a posted credit
// (with an optional expiry, which must lie in the future), negative points
// a withdrawal refused when the customer has fewer earned points.
func (tx *Tx) Adjust(req AdjustRequest) (Result, error) {
	if err := checkAdminSource(&req.Meta); err != nil {
		return Result{}, err
	}
	if err := checkAmount("adjustment", req.Points); err != nil {
		return Result{}, err
	}
	switch {
	case req.Points == 0:
		return Result{}, invalidf("an adjustment of 0 points changes nothing")
	case req.Points < 0 && req.Expires != nil:
		return Result{}, invalidf("only a positive adjustment can carry an expiry")
	}
	req.Reason = ReasonAdjustment
	return tx.once(&req.Meta, req, func() (Result, error) {
		// Checked after the key: a replay must succeed whenever it comes.
		if err := tx.future(req.Expires, "the points would expire at once"); err != nil {
			return Result{}, err
		}
		a, err := tx.lockAccount(req.Account)
		if err != nil {
			return Result{}, err
		}
		var id int64
		if req.Points > 0 {
			id, err = tx.credit(a, &req.Meta, req.Points, false, req.Expires, 0)
		} else {
			id, _, err = tx.debit(a, &req.Meta, KindWithdraw, -req.Points, false, false, nil, 0, 0, anyTime)
		}
		return Result{Movements: []int64{id}}, err
	})
}

// future refuses an expiry that is not after the transaction's now.
func (tx *Tx) future(t *time.Time, why string) error {
	if t != nil && !t.After(tx.now) {
		return invalidf("expiry %s is not in the future: %s", t.UTC().Format("2006-01-02 15:04 MST"), why)
	}
	return nil
}

// adjustment is an admin adjustment with its corrections folded in.
type adjustment struct {
	head    *stored
	value   int64 // current signed value
	removed int64 // id of the removal, 0 if none
}

func (tx *Tx) adjustment(id int64, expect Account) (*adjustment, *account, error) {
	s, err := tx.movement(id)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case s.reason == ReasonAdjustmentChange || s.reason == ReasonAdjustmentRemoval:
		return nil, nil, fmt.Errorf("%w: movement %d corrects adjustment %d; change or remove adjustment %d instead", ErrNotAdjustment, id, s.ref, s.ref)
	case s.reason != ReasonAdjustment || !adminSources[s.source] || (s.kind != KindCredit && s.kind != KindWithdraw):
		what := fmt.Sprintf("a %s from %s", s.kind, s.source)
		if s.reason != "" {
			what += " (" + s.reason + ")"
		}
		if s.document != "" {
			what += ", document " + s.document
		}
		return nil, nil, fmt.Errorf("%w: movement %d is %s; only admin adjustments can be changed or removed: correct it with a new adjustment", ErrNotAdjustment, id, what)
	}
	a, err := tx.lockAccountByID(s.accountID)
	if err != nil {
		return nil, nil, err
	}
	if expect != (Account{}) {
		cid, canon, err := tx.customerID(expect.Customer)
		if err != nil {
			return nil, nil, err
		}
		if cid != a.customerID || expect.Program != a.program.ID {
			return nil, nil, invalidf("adjustment %d belongs to another account than %s in program %s; check the movement id", id, canon.Masked(), expect.Program)
		}
	}
	adj := &adjustment{head: s, value: s.amount}
	if s.kind == KindWithdraw {
		adj.value = -s.amount
	}
	rows, err := tx.query("SELECT id, kind, amount, reason FROM movements WHERE ref_id = ? ORDER BY id", id)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: read corrections of %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid, amount int64
		var kind Kind
		var reason string
		if err := rows.Scan(&cid, &kind, &amount, &reason); err != nil {
			return nil, nil, err
		}
		switch kind {
		case KindCredit, KindRefund:
			adj.value += amount
		case KindWithdraw:
			adj.value -= amount
		}
		if reason == ReasonAdjustmentRemoval {
			adj.removed = cid
		}
	}
	return adj, a, rows.Err()
}

// ChangeAdjustment sets an admin adjustment to Points by writing one
// correcting movement for the difference (SPEC E11). The sign cannot
// change; lowering a positive adjustment takes its own points first.
func (tx *Tx) ChangeAdjustment(req ChangeRequest) (Result, error) {
	if err := checkAdminSource(&req.Meta); err != nil {
		return Result{}, err
	}
	if req.Points == 0 {
		return Result{}, invalidf("changing an adjustment to 0 is removing it: use remove")
	}
	if err := checkAmount("adjustment", req.Points); err != nil {
		return Result{}, err
	}
	req.Reason = ReasonAdjustmentChange
	return tx.once(&req.Meta, req, func() (Result, error) {
		adj, a, err := tx.adjustment(req.Movement, req.Account)
		if err != nil {
			return Result{}, err
		}
		if adj.removed != 0 {
			return Result{}, fmt.Errorf("%w: adjustment %d was removed by movement %d", ErrAlreadyFinal, req.Movement, adj.removed)
		}
		if (adj.value > 0) != (req.Points > 0) {
			return Result{}, invalidf("adjustment %d is %+d: an adjustment cannot change sign; remove it and add a new one", req.Movement, adj.value)
		}
		delta := req.Points - adj.value
		if delta == 0 {
			return Result{}, invalidf("adjustment %d is already %+d", req.Movement, adj.value)
		}
		id, err := tx.correct(a, &req.Meta, adj, delta)
		return Result{Movements: []int64{id}}, err
	})
}

// RemoveAdjustment takes an admin adjustment back entirely with one
// correcting movement.
func (tx *Tx) RemoveAdjustment(req RemoveRequest) (Result, error) {
	if err := checkAdminSource(&req.Meta); err != nil {
		return Result{}, err
	}
	req.Reason = ReasonAdjustmentRemoval
	return tx.once(&req.Meta, req, func() (Result, error) {
		adj, a, err := tx.adjustment(req.Movement, req.Account)
		if err != nil {
			return Result{}, err
		}
		if adj.removed != 0 {
			return Result{}, fmt.Errorf("%w: adjustment %d was already removed by movement %d", ErrAlreadyFinal, req.Movement, adj.removed)
		}
		id, err := tx.correct(a, &req.Meta, adj, -adj.value)
		return Result{Movements: []int64{id}}, err
	})
}

// expiredOf is how many points of a positive adjustment's lots have
// expired, swept or not.
func (tx *Tx) expiredOf(head *stored) (int64, error) {
	var swept, unswept int64
	if err := tx.queryRow(`SELECT COALESCE(SUM(c.amount), 0) FROM consumptions c JOIN lots l ON l.id = c.lot_id JOIN movements m ON m.id = c.debit_id
		WHERE l.credit_id = ? AND m.kind = 'expire'`, head.id).Scan(&swept); err != nil {
		return 0, fmt.Errorf("ledger: read expiry of adjustment %d: %w", head.id, err)
	}
	if err := tx.queryRow("SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE credit_id = ? AND expires_at <= ? AND remaining > 0",
		head.id, micros(tx.now)).Scan(&unswept); err != nil {
		return 0, fmt.Errorf("ledger: read expiry of adjustment %d: %w", head.id, err)
	}
	return swept + unswept, nil
}

// correct writes the movement that moves an adjustment's value by delta.
func (tx *Tx) correct(a *account, m *Meta, adj *adjustment, delta int64) (int64, error) {
	head := adj.head
	if head.kind == KindCredit && delta < 0 {
		// Points of the adjustment that expired are gone already: taking
		// them again from the customer's other points would count them twice.
		expired, err := tx.expiredOf(head)
		if err != nil {
			return 0, err
		}
		if adj.value+delta < expired {
			return 0, invalidf("adjustment %d: %d of its points have expired and cannot be taken back; it can go down to %d at the least (or add a new adjustment)",
				head.id, expired, expired)
		}
	}
	if head.kind == KindCredit {
		if delta > 0 {
			// More points: a new lot in the family, with the expiry the
			// adjustment's lot has now (a bulk expiry change may have moved it).
			var exp int64
			if err := tx.queryRow("SELECT expires_at FROM lots WHERE id = ?", head.id).Scan(&exp); err != nil {
				return 0, fmt.Errorf("ledger: read the lot of adjustment %d: %w", head.id, err)
			}
			if exp <= micros(tx.now) {
				return 0, invalidf("adjustment %d expired on %s; add a new adjustment instead of raising it", head.id, fromMicros(exp).Format("2006-01-02"))
			}
			return tx.credit(a, m, delta, false, expiryTime(exp), head.id)
		}
		id, _, err := tx.debit(a, m, KindWithdraw, -delta, false, false, []int64{head.id}, head.id, 0, anyTime)
		return id, adjustmentShort(err, head.id)
	}
	if delta < 0 {
		id, _, err := tx.debit(a, m, KindWithdraw, -delta, false, false, nil, head.id, head.id, anyTime)
		return id, err
	}
	id, err := tx.insertMovement(a, m, row{kind: KindRefund, amount: delta, ref: head.id})
	if err != nil {
		return 0, err
	}
	return id, tx.giveBack(a, head.id, id, delta)
}

func adjustmentShort(err error, id int64) error {
	var ie *InsufficientError
	if errors.As(err, &ie) {
		return fmt.Errorf("%w (adjustment %d's points were already used)", err, id)
	}
	return err
}

// scope lists and locks the accounts an operation on a program (and
// optionally one customer) covers.
func (tx *Tx) scope(program string, customer Ident) ([]*account, *int64, error) {
	p, err := tx.l.Program(program)
	if err != nil {
		return nil, nil, err
	}
	if customer != "" {
		a, err := tx.lockAccount(Account{Program: program, Customer: customer})
		if err != nil {
			return nil, nil, err
		}
		return []*account{a}, &a.customerID, nil
	}
	rows, err := tx.query("SELECT id, customer_id, provisional, spent, expired, debt FROM accounts WHERE program = ? ORDER BY id"+tx.forUpdate(), p.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: lock accounts of %s: %w", program, err)
	}
	defer rows.Close()
	var out []*account
	for rows.Next() {
		a := &account{program: p}
		if err := rows.Scan(&a.id, &a.customerID, &a.provisional, &a.spent, &a.expired, &a.debt); err != nil {
			return nil, nil, err
		}
		a.customer = Ident(fmt.Sprintf("customer#%d", a.customerID))
		out = append(out, a)
	}
	return out, nil, rows.Err()
}

func (tx *Tx) adminOp(op string, program string, customerID *int64, params any, m *Meta, accounts, lots int) (int64, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return 0, err
	}
	var cid any
	if customerID != nil {
		cid = *customerID
	}
	id, err := tx.insert(`INSERT INTO admin_ops (op, program, customer_id, params, source, idem_key, actor, note, accounts, lots, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, op, program, cid, string(b), m.Source, m.Key, m.Actor, m.Note, accounts, lots, micros(tx.now))
	if err != nil {
		return 0, fmt.Errorf("ledger: record %s: %w", op, err)
	}
	return id, nil
}

// Reset zeroes one customer's account, or every account of a program:
// pending credits are voided, earned points are removed by a reset
// movement, overdraft debt is forgiven and the account's lots are closed,
// so points a later void or refund gives back are forfeited. Spent and
// expired figures and the whole history stay.
func (tx *Tx) Reset(req ResetRequest) (Result, error) {
	if err := checkAdminSource(&req.Meta); err != nil {
		return Result{}, err
	}
	if req.Reason == "" {
		req.Reason = ReasonReset
	}
	return tx.once(&req.Meta, req, func() (Result, error) {
		accts, cid, err := tx.scope(req.Program, req.Customer)
		if err != nil {
			return Result{}, err
		}
		// The result counts what was written: a program of a million
		// accounts would not fit a list of ids in the idempotency record.
		var res Result
		for _, a := range accts {
			ids, err := tx.resetAccount(a, &req.Meta)
			if err != nil {
				return Result{}, err
			}
			res.Written += len(ids)
		}
		res.Accounts = len(accts)
		res.Op, err = tx.adminOp("reset", req.Program, cid, req, &req.Meta, len(accts), 0)
		return res, err
	})
}

func (tx *Tx) resetAccount(a *account, m *Meta) ([]int64, error) {
	if _, err := tx.sweepAccount(a); err != nil {
		return nil, err
	}
	var ids []int64
	rows, err := tx.query(`SELECT m.id, m.amount FROM movements m WHERE m.account_id = ? AND m.kind = 'credit' AND m.phase = 'pending'
		AND NOT EXISTS (SELECT 1 FROM movements f WHERE f.ref_id = m.id AND f.kind IN ('post', 'void')) ORDER BY m.id`, a.id)
	if err != nil {
		return nil, fmt.Errorf("ledger: read pending credits: %w", err)
	}
	type pend struct{ id, amount int64 }
	var ps []pend
	for rows.Next() {
		var p pend
		if err := rows.Scan(&p.id, &p.amount); err != nil {
			rows.Close()
			return nil, err
		}
		ps = append(ps, p)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, p := range ps {
		id, err := tx.insertMovement(a, m, row{kind: KindVoid, amount: p.amount, ref: p.id})
		if err != nil {
			return nil, err
		}
		if err := tx.addTotals(a, -p.amount, 0, 0, 0); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	avail, err := tx.lotsAvailable(a, anyTime)
	if err != nil {
		return nil, err
	}
	forgiven := a.debt
	if avail > 0 || forgiven > 0 {
		id, err := tx.insertMovement(a, m, row{kind: KindReset, amount: avail, overdraft: forgiven})
		if err != nil {
			return nil, err
		}
		if got, err := tx.consume(a, id, id, avail, nil, anyTime); err != nil || got != avail {
			return nil, fmt.Errorf("ledger: reset of account %d took %d of %d points: %v", a.id, got, avail, err)
		}
		if forgiven > 0 {
			if err := tx.exec("UPDATE debts SET forgiven = forgiven + remaining, remaining = 0 WHERE account_id = ? AND remaining > 0", a.id); err != nil {
				return nil, fmt.Errorf("ledger: forgive debt: %w", err)
			}
			if err := tx.addTotals(a, 0, 0, 0, -forgiven); err != nil {
				return nil, err
			}
		}
		ids = append(ids, id)
	}
	if err := tx.exec("UPDATE lots SET closed = 1 WHERE account_id = ? AND closed = 0", a.id); err != nil {
		return nil, fmt.Errorf("ledger: close lots: %w", err)
	}
	return ids, nil
}

// SetExpiry dates again the points still usable in a program, or in one
// customer's account (SPEC 3.5, E9). Points already expired stay expired
// (they are swept first). With Expires nil the points no longer expire.
// Points without expiry are dated only with IncludeNoExpiry. Each lot's
// old and new expiry is kept in expiry_changes.
func (tx *Tx) SetExpiry(req ExpiryRequest) (Result, error) {
	if err := checkAdminSource(&req.Meta); err != nil {
		return Result{}, err
	}
	if req.Reason == "" {
		req.Reason = "expiry_change"
	}
	return tx.once(&req.Meta, req, func() (Result, error) {
		if err := tx.future(req.Expires, "every point would expire at once"); err != nil {
			return Result{}, err
		}
		accts, cid, err := tx.scope(req.Program, req.Customer)
		if err != nil {
			return Result{}, err
		}
		for _, a := range accts {
			if _, err := tx.sweepAccount(a); err != nil {
				return Result{}, err
			}
		}
		newExp := expiryMicros(req.Expires)
		var cond []string
		args := []any{}
		if cid != nil {
			cond = append(cond, "account_id = ?")
			args = append(args, accts[0].id)
		} else {
			cond = append(cond, "account_id IN (SELECT id FROM accounts WHERE program = ?)")
			args = append(args, req.Program)
		}
		cond = append(cond, "closed = 0", "expires_at > ?", "expires_at <> ?")
		args = append(args, micros(tx.now), newExp)
		if req.Expires != nil && !req.IncludeNoExpiry {
			cond = append(cond, "expires_at <> ?")
			args = append(args, neverExpires)
		}
		where := strings.Join(cond, " AND ")
		op, err := tx.adminOp("expiry", req.Program, cid, req, &req.Meta, len(accts), 0)
		if err != nil {
			return Result{}, err
		}
		n, err := tx.changeExpiry(op, where, args, newExp)
		if err != nil {
			return Result{}, err
		}
		if err := tx.exec("UPDATE admin_ops SET lots = ? WHERE id = ?", n, op); err != nil {
			return Result{}, err
		}
		var holding int
		if err := tx.queryRow("SELECT COUNT(*) FROM expiry_changes c JOIN lots l ON l.id = c.lot_id WHERE c.op_id = ? AND l.remaining > 0", op).Scan(&holding); err != nil {
			return Result{}, fmt.Errorf("ledger: count dated lots: %w", err)
		}
		return Result{Accounts: len(accts), Lots: holding, Op: op}, nil
	})
}

// changeExpiry dates the lots matching where (with args) to newExp and
// keeps each lot's old and new expiry under admin operation op.
func (tx *Tx) changeExpiry(op int64, where string, args []any, newExp int64) (int64, error) {
	if err := tx.exec("INSERT INTO expiry_changes (op_id, lot_id, old_expires, new_expires) SELECT ?, id, expires_at, ? FROM lots WHERE "+where,
		append([]any{op, newExp}, args...)...); err != nil {
		return 0, fmt.Errorf("ledger: record expiry changes: %w", err)
	}
	res, err := tx.execResult("UPDATE lots SET expires_at = ? WHERE "+where, append([]any{newExp}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("ledger: change expiry: %w", err)
	}
	return res.RowsAffected()
}

// SweepExpired writes the expiry of lots that reached it, in at most limit
// accounts per call, and returns how many accounts it swept. Balances are right
// without it; it makes the expiry visible as movements.
func (tx *Tx) SweepExpired(limit int) (int, error) {
	// Only configured programs: an account of a program removed from the
	// configuration would stop every later sweep at the same place.
	ids := tx.l.programIDs()
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	args := []any{micros(tx.now)}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.query(`SELECT DISTINCT l.account_id FROM lots l JOIN accounts a ON a.id = l.account_id
		WHERE l.expires_at <= ? AND l.remaining > 0 AND a.program IN (`+marks+`) ORDER BY l.account_id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return 0, fmt.Errorf("ledger: find expired lots: %w", err)
	}
	var due []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		due = append(due, id)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		a, err := tx.lockAccountByID(id)
		if err != nil {
			return n, err
		}
		if _, err := tx.sweepAccount(a); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// RedateRequest moves the expiry of the lots of given credits.
type RedateRequest struct {
	Meta
	// Credits are posted credits or posts of pending credits: their lots,
	// and lots added to them later, are dated again.
	Credits []int64    `json:"credits"`
	Expires *time.Time `json:"expires,omitempty"`
}

// Redate sets a new expiry on the unexpired lots of the given credits.
// Reconciliation uses it when the date an order's points were earned
// moves (an earlier conversion document arrived late), so the expiry does
// not depend on the order in which documents arrived. Each lot's old and
// new expiry is kept in expiry_changes.
func (tx *Tx) Redate(req RedateRequest) (Result, error) {
	if len(req.Credits) == 0 {
		return Result{}, invalidf("redate needs the credits whose lots to date")
	}
	return tx.once(&req.Meta, req, func() (Result, error) {
		first, err := tx.movement(req.Credits[0])
		if err != nil {
			return Result{}, err
		}
		a, err := tx.lockAccountByID(first.accountID)
		if err != nil {
			return Result{}, err
		}
		if _, err := tx.sweepAccount(a); err != nil {
			return Result{}, err
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(req.Credits)), ", ")
		args := []any{a.id, micros(tx.now)}
		for _, id := range req.Credits {
			args = append(args, id)
		}
		args = append(args, args[2:]...)
		where := "account_id = ? AND closed = 0 AND expires_at > ? AND (id IN (" + marks + ") OR credit_id IN (" + marks + "))"
		newExp := expiryMicros(req.Expires)
		op, err := tx.adminOp("redate", a.program.ID, &a.customerID, req, &req.Meta, 1, 0)
		if err != nil {
			return Result{}, err
		}
		n, err := tx.changeExpiry(op, where, args, newExp)
		return Result{Lots: int(n), Op: op}, err
	})
}
