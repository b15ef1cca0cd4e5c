package ledger

import (
	"fmt"
	"time"
)

// MaxAmount is the most one movement may carry: 10^13 points, or a
// hundred thousand million euros in cents. What pointsync reads stops
// below it already (csvio takes up to 10^12 points and 10^13 cents); the
// ledger holds the line for every caller (command line, API, facts),
// because an account whose sums left int64 could no longer be read, and
// under this limit that takes 922,337 movements of the largest size.
const MaxAmount = 10_000_000_000_000

// checkAmount refuses an amount, positive or negative, beyond MaxAmount.
func checkAmount(what string, n int64) error {
	if n > MaxAmount || n < -MaxAmount {
		return invalidf("%s %d is beyond the limit of ±%d per movement; check the figure", what, n, int64(MaxAmount))
	}
	return nil
}

// Credit adds points to an account: pending (provisional, not usable until
// posted) or posted (a lot, usable at once, with its expiry).
func (tx *Tx) Credit(req CreditRequest) (Result, error) {
	if err := checkReason(req.Reason); err != nil {
		return Result{}, err
	}
	if req.Amount <= 0 {
		return Result{}, invalidf("credit amount must be greater than 0, got %d", req.Amount)
	}
	if err := checkAmount("credit amount", req.Amount); err != nil {
		return Result{}, err
	}
	return tx.once(&req.Meta, req, func() (Result, error) {
		a, err := tx.lockAccount(req.Account)
		if err != nil {
			return Result{}, err
		}
		id, err := tx.credit(a, &req.Meta, req.Amount, req.Pending, req.Expires, 0)
		return Result{Movements: []int64{id}}, err
	})
}

func (tx *Tx) credit(a *account, m *Meta, amount int64, pending bool, expires *time.Time, ref int64) (int64, error) {
	exp := expiryMicros(expires)
	r := row{kind: KindCredit, phase: PhasePosted, amount: amount, ref: ref, expires: &exp}
	if pending {
		r.phase = PhasePending
	}
	id, err := tx.insertMovement(a, m, r)
	if err != nil {
		return 0, err
	}
	if pending {
		return id, tx.addTotals(a, amount, 0, 0, 0)
	}
	creditID := id
	if ref != 0 {
		creditID = ref // a correction's points join the family of the credit it corrects
	}
	if exp > micros(tx.now) {
		tx.rise(a, id, amount)
	}
	return id, tx.createLot(a, id, creditID, amount, exp, micros(m.At))
}

// Note writes a movement of no points that explains something in the
// account's history (SPEC 3.1: a document outside every catalog window
// earns nothing "and the reason is recorded and visible").
func (tx *Tx) Note(req NoteRequest) (Result, error) {
	if req.Note == "" {
		return Result{}, invalidf("a note movement needs its note")
	}
	return tx.once(&req.Meta, req, func() (Result, error) {
		a, err := tx.lockAccount(req.Account)
		if err != nil {
			return Result{}, err
		}
		id, err := tx.insertMovement(a, &req.Meta, row{kind: KindNote})
		return Result{Movements: []int64{id}}, err
	})
}

// reservedReasons are written only by the ledger's own admin operations:
// a caller giving one would make its credit look like a changeable admin
// adjustment.
var reservedReasons = map[string]bool{
	ReasonAdjustment: true, ReasonAdjustmentChange: true, ReasonAdjustmentRemoval: true,
	ReasonReset: true, ReasonExpiry: true,
}

func checkReason(reason string) error {
	if reservedReasons[reason] {
		return invalidf("reason %q is the ledger's own; use Adjust, Reset or SetExpiry, or another reason", reason)
	}
	return nil
}

// Spend pays with points (counted as spent) or, with Withdraw, takes points
// back. It is refused when the account has fewer earned points than asked,
// except for a posted spend with Overdraft: the till already gave the
// discount, so the spend is recorded as it happened and the shortfall is
// flagged as overdraft and becomes debt.
func (tx *Tx) Spend(req SpendRequest) (Result, error) {
	if err := checkReason(req.Reason); err != nil {
		return Result{}, err
	}
	switch {
	case req.Amount <= 0:
		return Result{}, invalidf("amount must be greater than 0, got %d", req.Amount)
	case req.Withdraw && req.Pending:
		return Result{}, invalidf("a withdrawal is always posted")
	case req.Overdraft && (req.Pending || req.Withdraw):
		return Result{}, invalidf("overdraft records what a till already did: only a posted spend may overdraw")
	}
	if err := checkAmount("amount", req.Amount); err != nil {
		return Result{}, err
	}
	return tx.once(&req.Meta, req, func() (Result, error) {
		a, err := tx.lockAccount(req.Account)
		if err != nil {
			return Result{}, err
		}
		kind := KindSpend
		if req.Withdraw {
			kind = KindWithdraw
		}
		before := anyTime
		if !req.EarnedBefore.IsZero() {
			before = micros(req.EarnedBefore)
		}
		id, over, err := tx.debit(a, &req.Meta, kind, req.Amount, req.Pending, req.Overdraft, req.PreferCredits, 0, 0, before)
		if err != nil {
			return Result{}, err
		}
		return Result{Movements: []int64{id}, Overdraft: over}, nil
	})
}

// debit writes a spend or withdraw and consumes its lots. family, when not
// 0, is the debit whose consumption this one adds to (a correction of a
// negative adjustment), so that a later refund finds all of it.
func (tx *Tx) debit(a *account, m *Meta, kind Kind, amount int64, pending, overdraft bool, prefer []int64, ref, family, earnedBefore int64) (id, over int64, err error) {
	usable, err := tx.usable(a, earnedBefore)
	if err != nil {
		return 0, 0, err
	}
	if amount > usable {
		if !overdraft {
			ie := &InsufficientError{Program: a.program.ID, Customer: tx.name(a), Asked: amount, Usable: max(usable, 0)}
			if earnedBefore != anyTime {
				t := fromMicros(earnedBefore)
				ie.EarnedBefore = &t
			}
			return 0, 0, ie
		}
		over = amount - max(usable, 0)
	}
	phase := PhasePosted
	if pending {
		phase = PhasePending
	}
	id, err = tx.insertMovement(a, m, row{kind: kind, phase: phase, amount: amount, ref: ref, overdraft: over})
	if err != nil {
		return 0, 0, err
	}
	holder := id
	if family != 0 {
		holder = family
	}
	got, err := tx.consume(a, holder, id, amount-over, prefer, earnedBefore)
	if err != nil {
		return 0, 0, err
	}
	if got != amount-over {
		return 0, 0, fmt.Errorf("ledger: account %d: lots gave %d of %d usable points; the ledger is inconsistent", a.id, got, amount-over)
	}
	if over > 0 {
		if err := tx.exec("INSERT INTO debts (debit_id, account_id, remaining) VALUES (?, ?, ?)", id, a.id, over); err != nil {
			return 0, 0, fmt.Errorf("ledger: record overdraft: %w", err)
		}
	}
	var spent int64
	if kind == KindSpend {
		spent = amount
	}
	return id, over, tx.addTotals(a, 0, spent, 0, over)
}

// pendingFor loads a pending credit or spend that no post or void has
// finished yet, and locks its account.
func (tx *Tx) pendingFor(id int64, verb string) (*stored, *account, error) {
	s, err := tx.movement(id)
	if err != nil {
		return nil, nil, err
	}
	if (s.kind != KindCredit && s.kind != KindSpend) || s.phase != PhasePending {
		return nil, nil, invalidf("movement %d is a %s %s, not a pending credit or spend: only pending movements can be %s", id, s.phase, s.kind, verb)
	}
	a, err := tx.lockAccountByID(s.accountID)
	if err != nil {
		return nil, nil, err
	}
	kind, _, err := tx.finishedBy(id)
	if err != nil {
		return nil, nil, err
	}
	if kind != "" {
		state := StatePosted
		if kind == KindVoid {
			state = StateVoided
		}
		return nil, nil, fmt.Errorf("%w: movement %d is already %s", ErrAlreadyFinal, id, state)
	}
	return s, a, nil
}

// Post finishes a pending credit or spend for Amount (0: the whole amount;
// less: the rest is given up). A posted credit becomes a lot.
func (tx *Tx) Post(req FinishRequest) (Result, error) {
	if req.Amount < 0 {
		return Result{}, invalidf("post amount must not be negative, got %d", req.Amount)
	}
	if req.Expires != nil && req.NoExpiry {
		return Result{}, invalidf("give either an expiry or no_expiry, not both")
	}
	return tx.once(&req.Meta, req, func() (Result, error) {
		s, a, err := tx.pendingFor(req.Movement, "posted")
		if err != nil {
			return Result{}, err
		}
		amount := req.Amount
		if amount == 0 {
			amount = s.amount
		}
		if amount > s.amount {
			return Result{}, invalidf("movement %d is pending for %d; it cannot be posted for more (%d)", s.id, s.amount, amount)
		}
		exp := neverExpires
		if s.expires != nil {
			exp = *s.expires
		}
		if req.Expires != nil {
			exp = micros(*req.Expires)
		}
		if req.NoExpiry {
			exp = neverExpires
		}
		r := row{kind: KindPost, amount: amount, ref: s.id}
		if s.kind == KindCredit {
			r.expires = &exp
		}
		id, err := tx.insertMovement(a, &req.Meta, r)
		if err != nil {
			return Result{}, err
		}
		if s.kind == KindCredit {
			if err := tx.addTotals(a, -s.amount, 0, 0, 0); err != nil {
				return Result{}, err
			}
			if exp > micros(tx.now) {
				tx.rise(a, id, amount)
			}
			return Result{Movements: []int64{id}}, tx.createLot(a, id, s.id, amount, exp, micros(req.At))
		}
		if give := s.amount - amount; give > 0 {
			if err := tx.giveBack(a, s.id, id, give); err != nil {
				return Result{}, err
			}
			if err := tx.addTotals(a, 0, -give, 0, 0); err != nil {
				return Result{}, err
			}
		}
		return Result{Movements: []int64{id}}, nil
	})
}

// Void cancels a pending credit (its provisional points go) or a pending
// spend (its points go back to the lots they came from).
func (tx *Tx) Void(req FinishRequest) (Result, error) {
	return tx.once(&req.Meta, req, func() (Result, error) {
		s, a, err := tx.pendingFor(req.Movement, "voided")
		if err != nil {
			return Result{}, err
		}
		id, err := tx.insertMovement(a, &req.Meta, row{kind: KindVoid, amount: s.amount, ref: s.id})
		if err != nil {
			return Result{}, err
		}
		if s.kind == KindCredit {
			return Result{Movements: []int64{id}}, tx.addTotals(a, -s.amount, 0, 0, 0)
		}
		if err := tx.giveBack(a, s.id, id, s.amount); err != nil {
			return Result{}, err
		}
		return Result{Movements: []int64{id}}, tx.addTotals(a, 0, -s.amount, 0, 0)
	})
}

// Refund gives back Amount of a posted spend or withdraw (a cancelled till
// receipt, an order returned after conversion) to the lots it came from.
func (tx *Tx) Refund(req RefundRequest) (Result, error) {
	if req.Amount <= 0 {
		return Result{}, invalidf("refund amount must be greater than 0, got %d", req.Amount)
	}
	return tx.once(&req.Meta, req, func() (Result, error) {
		s, err := tx.movement(req.Movement)
		if err != nil {
			return Result{}, err
		}
		if s.kind != KindSpend && s.kind != KindWithdraw {
			return Result{}, invalidf("movement %d is a %s; only spends and withdrawals can be refunded", s.id, s.kind)
		}
		if reservedReasons[s.reason] {
			return Result{}, fmt.Errorf("%w: movement %d is part of an admin adjustment or reset (%s); change or remove the adjustment instead", ErrNotAdjustment, s.id, s.reason)
		}
		a, err := tx.lockAccountByID(s.accountID)
		if err != nil {
			return Result{}, err
		}
		left, err := tx.refundable(s)
		if err != nil {
			return Result{}, err
		}
		if req.Amount > left {
			return Result{}, invalidf("movement %d has %d points left to refund; %d asked", s.id, left, req.Amount)
		}
		id, err := tx.refund(a, &req.Meta, s, req.Amount)
		return Result{Movements: []int64{id}}, err
	})
}

// refundable is what a posted spend or withdraw still holds: its posted
// amount less what refunds already gave back.
func (tx *Tx) refundable(s *stored) (int64, error) {
	amount := s.amount
	if s.phase == PhasePending {
		kind, posted, err := tx.finishedBy(s.id)
		if err != nil {
			return 0, err
		}
		if kind != KindPost {
			return 0, invalidf("movement %d is a pending spend: void it instead of refunding it", s.id)
		}
		amount = posted
	}
	var refunded int64
	if err := tx.queryRow("SELECT COALESCE(SUM(amount), 0) FROM movements WHERE ref_id = ? AND kind = 'refund'", s.id).Scan(&refunded); err != nil {
		return 0, fmt.Errorf("ledger: read refunds of %d: %w", s.id, err)
	}
	return amount - refunded, nil
}

func (tx *Tx) refund(a *account, m *Meta, s *stored, amount int64) (int64, error) {
	id, err := tx.insertMovement(a, m, row{kind: KindRefund, amount: amount, ref: s.id})
	if err != nil {
		return 0, err
	}
	if err := tx.giveBack(a, s.id, id, amount); err != nil {
		return 0, err
	}
	var spent int64
	if s.kind == KindSpend {
		spent = -amount
	}
	return id, tx.addTotals(a, 0, spent, 0, 0)
}

// giveBack returns amount of debit debitID (see giveBackPoints) and, for
// the notifier, records how much the earned points rose: points going
// back to expired or reset lots raise nothing.
func (tx *Tx) giveBack(a *account, debitID, movementID, amount int64) error {
	if !tx.notifying() {
		return tx.giveBackPoints(a, debitID, movementID, amount)
	}
	before, err := tx.usable(a, anyTime)
	if err != nil {
		return err
	}
	if err := tx.giveBackPoints(a, debitID, movementID, amount); err != nil {
		return err
	}
	after, err := tx.usable(a, anyTime)
	if err != nil {
		return err
	}
	tx.rise(a, movementID, after-before)
	return nil
}

// giveBackPoints returns amount of debit debitID: first what it still owes
// as overdraft, then points to its lots, then what a reset forgave of its
// overdraft. Points landing on lots closed by a reset, and forgiven debt
// given back, are forfeited by a reset movement, so the reset keeps
// holding.
func (tx *Tx) giveBackPoints(a *account, debitID, movementID, amount int64) error {
	owed, err := tx.forgiveDebt(a, debitID, amount)
	if err != nil {
		return err
	}
	restored, closed, err := tx.restore(a, debitID, movementID, amount-owed)
	if err != nil {
		return err
	}
	var forfeited int64
	for _, c := range closed {
		forfeited += c.remaining
	}
	if rest := amount - owed - restored - forfeited; rest > 0 {
		res, err := tx.execResult("UPDATE debts SET forgiven = forgiven - ? WHERE debit_id = ? AND forgiven >= ?", rest, debitID, rest)
		if err != nil {
			return fmt.Errorf("ledger: give back forgiven debt: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("ledger: debit %d holds %d fewer points than asked back; the ledger is inconsistent", debitID, rest)
		}
		forfeited += rest
	}
	if forfeited == 0 {
		return nil
	}
	m := &Meta{Source: SourceSchedule, Key: fmt.Sprintf("reset-forfeit:%d", movementID), Reason: ReasonReset,
		Note: "points given back after a reset closed the account's points", At: tx.now}
	id, err := tx.insertMovement(a, m, row{kind: KindReset, amount: forfeited, ref: movementID})
	if err != nil {
		return err
	}
	// The lots never held these points again: the reset takes them at once,
	// recorded like any consumption so each lot's history adds up.
	for _, c := range closed {
		if err := tx.exec("INSERT INTO consumptions (debit_id, lot_id, movement_id, amount) VALUES (?, ?, ?, ?)", id, c.id, id, c.remaining); err != nil {
			return fmt.Errorf("ledger: record forfeit: %w", err)
		}
	}
	return nil
}
