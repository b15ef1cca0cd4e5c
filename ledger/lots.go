package ledger

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// lotPage bounds how many lots one query reads while consuming, so an
// account with very many lots never loads them all.
const lotPage = 64

type lotRef struct {
	id        int64
	remaining int64
}

// consume takes up to amount from the account's usable lots for debit
// debitID (written by movement movementID): the lots of prefer (posted
// credits or posts, matched by the lot's own id or the credit it belongs
// to)
// first, then earliest expiry first, lots without expiry last. It returns
// what it took, which is less than amount only when the lots run out.
// Only lots earned before earnedBefore count (anyTime: all).
func (tx *Tx) consume(a *account, debitID, movementID, amount int64, prefer []int64, earnedBefore int64) (int64, error) {
	var taken int64
	now := micros(tx.now)
	take := func(query string, args ...any) error {
		for taken < amount {
			rows, err := tx.query(query, args...)
			if err != nil {
				return fmt.Errorf("ledger: read lots: %w", err)
			}
			var page []lotRef
			for rows.Next() {
				var l lotRef
				if err := rows.Scan(&l.id, &l.remaining); err != nil {
					rows.Close()
					return err
				}
				page = append(page, l)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if len(page) == 0 {
				return nil
			}
			for _, l := range page {
				n := min(l.remaining, amount-taken)
				if err := tx.takeFromLot(l.id, debitID, movementID, n); err != nil {
					return err
				}
				taken += n
				if taken == amount {
					return nil
				}
			}
		}
		return nil
	}
	if len(prefer) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(prefer)), ", ")
		args := []any{a.id, now, earnedBefore}
		for _, id := range prefer {
			args = append(args, id)
		}
		args = append(args, args[3:]...)
		err := take(fmt.Sprintf(`SELECT id, remaining FROM lots WHERE account_id = ? AND expires_at > ? AND remaining > 0
			AND earned_at < ? AND (id IN (%s) OR credit_id IN (%s)) ORDER BY expires_at, id LIMIT %d`, marks, marks, lotPage), args...)
		if err != nil {
			return taken, err
		}
	}
	err := take(fmt.Sprintf(`SELECT id, remaining FROM lots WHERE account_id = ? AND expires_at > ? AND remaining > 0
		AND earned_at < ? ORDER BY expires_at, id LIMIT %d`, lotPage), a.id, now, earnedBefore)
	return taken, err
}

func (tx *Tx) takeFromLot(lotID, debitID, movementID, n int64) error {
	if err := tx.exec("UPDATE lots SET remaining = remaining - ? WHERE id = ?", n, lotID); err != nil {
		return fmt.Errorf("ledger: consume lot %d: %w", lotID, err)
	}
	if err := tx.exec("INSERT INTO consumptions (debit_id, lot_id, movement_id, amount) VALUES (?, ?, ?, ?)",
		debitID, lotID, movementID, n); err != nil {
		return fmt.Errorf("ledger: record consumption: %w", err)
	}
	return nil
}

// restore gives back up to amount of what debit debitID still holds, to
// the lots it came from, latest expiry first (so what stays consumed is
// what would have expired first). Points going back to a lot closed by a
// reset are not made usable: restore returns them per lot for the caller
// to forfeit. It gives back less than amount when the debit holds less in
// lots (the rest was overdraft).
func (tx *Tx) restore(a *account, debitID, movementID, amount int64) (restored int64, closed []lotRef, err error) {
	type held struct {
		lot    int64
		n      int64
		closed bool
	}
	rows, err := tx.query(`SELECT c.lot_id, SUM(c.amount), l.closed FROM consumptions c JOIN lots l ON l.id = c.lot_id
		WHERE c.debit_id = ? GROUP BY c.lot_id, l.expires_at, l.closed HAVING SUM(c.amount) > 0 ORDER BY l.expires_at DESC, c.lot_id DESC`, debitID)
	if err != nil {
		return 0, nil, fmt.Errorf("ledger: read consumption of %d: %w", debitID, err)
	}
	var hs []held
	for rows.Next() {
		var h held
		var closed int
		if err := rows.Scan(&h.lot, &h.n, &closed); err != nil {
			rows.Close()
			return 0, nil, err
		}
		h.closed = closed != 0
		hs = append(hs, h)
	}
	if err := rows.Close(); err != nil {
		return 0, nil, err
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	left := amount
	for _, h := range hs {
		if left == 0 {
			break
		}
		n := min(h.n, left)
		left -= n
		if err := tx.exec("INSERT INTO consumptions (debit_id, lot_id, movement_id, amount) VALUES (?, ?, ?, ?)",
			debitID, h.lot, movementID, -n); err != nil {
			return 0, nil, fmt.Errorf("ledger: record restoration: %w", err)
		}
		if h.closed {
			closed = append(closed, lotRef{id: h.lot, remaining: n})
			continue
		}
		if err := tx.exec("UPDATE lots SET remaining = remaining + ? WHERE id = ?", n, h.lot); err != nil {
			return 0, nil, fmt.Errorf("ledger: restore lot %d: %w", h.lot, err)
		}
		restored += n
	}
	if restored > 0 {
		if err := tx.coverDebt(a, movementID); err != nil {
			return 0, nil, err
		}
	}
	return restored, closed, nil
}

// createLot turns a posted credit into a lot and lets it pay off any
// overdraft debt first.
func (tx *Tx) createLot(a *account, lotID, creditID, amount, expires, earnedAt int64) error {
	if err := tx.exec("INSERT INTO lots (id, credit_id, account_id, expires_at, amount, remaining, closed, earned_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
		lotID, creditID, a.id, expires, amount, amount, earnedAt); err != nil {
		return fmt.Errorf("ledger: create lot: %w", err)
	}
	return tx.coverDebt(a, lotID)
}

// coverDebt pays uncovered overdraft spends, oldest first, from usable
// lots; the consumption is recorded against the overdraft spend, written by
// movement movementID.
func (tx *Tx) coverDebt(a *account, movementID int64) error {
	for a.debt > 0 {
		var debitID, remaining int64
		err := tx.queryRow("SELECT debit_id, remaining FROM debts WHERE account_id = ? AND remaining > 0 ORDER BY debit_id LIMIT 1",
			a.id).Scan(&debitID, &remaining)
		if err != nil {
			return fmt.Errorf("ledger: account %d has debt %d but no debt rows: %w", a.id, a.debt, err)
		}
		got, err := tx.consume(a, debitID, movementID, remaining, nil, anyTime)
		if err != nil {
			return err
		}
		if got == 0 {
			return nil
		}
		if err := tx.exec("UPDATE debts SET remaining = remaining - ? WHERE debit_id = ?", got, debitID); err != nil {
			return fmt.Errorf("ledger: pay debt: %w", err)
		}
		if err := tx.addTotals(a, 0, 0, 0, -got); err != nil {
			return err
		}
		if got < remaining {
			return nil
		}
	}
	return nil
}

// forgiveDebt lowers what debit debitID still owes by up to amount and
// returns how much it lowered.
func (tx *Tx) forgiveDebt(a *account, debitID, amount int64) (int64, error) {
	var remaining int64
	err := tx.queryRow("SELECT remaining FROM debts WHERE debit_id = ?", debitID).Scan(&remaining)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // never overdrawn
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: read debt: %w", err)
	}
	if remaining == 0 {
		return 0, nil
	}
	n := min(remaining, amount)
	if err := tx.exec("UPDATE debts SET remaining = remaining - ? WHERE debit_id = ?", n, debitID); err != nil {
		return 0, fmt.Errorf("ledger: lower debt: %w", err)
	}
	return n, tx.addTotals(a, 0, 0, 0, -n)
}

// sweepAccount writes the expiry of every lot of the account whose expiry
// is at or before now and that still holds points.
func (tx *Tx) sweepAccount(a *account) (int64, error) {
	type due struct{ id, remaining, expires int64 }
	rows, err := tx.query("SELECT id, remaining, expires_at FROM lots WHERE account_id = ? AND expires_at <= ? AND remaining > 0 ORDER BY expires_at, id",
		a.id, micros(tx.now))
	if err != nil {
		return 0, fmt.Errorf("ledger: read expired lots: %w", err)
	}
	var ds []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.remaining, &d.expires); err != nil {
			rows.Close()
			return 0, err
		}
		ds = append(ds, d)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var total int64
	for _, d := range ds {
		if err := tx.expireLot(a, d.id, d.remaining, d.expires); err != nil {
			return 0, err
		}
		total += d.remaining
	}
	return total, nil
}

func (tx *Tx) expireLot(a *account, lotID, n, expires int64) error {
	m := &Meta{
		Source: SourceSchedule,
		Key:    fmt.Sprintf("expire:%d:%d:%d", lotID, expires, micros(tx.now)),
		Reason: ReasonExpiry,
		At:     fromMicros(expires),
	}
	id, err := tx.insertMovement(a, m, row{kind: KindExpire, amount: n, ref: lotID})
	if err != nil {
		return err
	}
	if err := tx.exec("UPDATE lots SET remaining = remaining - ? WHERE id = ?", n, lotID); err != nil {
		return fmt.Errorf("ledger: expire lot %d: %w", lotID, err)
	}
	if err := tx.exec("INSERT INTO consumptions (debit_id, lot_id, movement_id, amount) VALUES (?, ?, ?, ?)", id, lotID, id, n); err != nil {
		return fmt.Errorf("ledger: record expiry: %w", err)
	}
	return tx.addTotals(a, 0, 0, n, 0)
}
