package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// orderState is what reconciliation wrote for an order: enough to compute
// the difference with a new target.
type orderState struct {
	// Gen numbers the passes that wrote something: keys carry it, so a
	// changed target never reuses a key with another input.
	Gen int `json:"gen"`
	// Rules are the accrual rules the order was first computed with;
	// later conversions and credit notes use them, not today's (SPEC 3.2).
	Rules   json.RawMessage `json:"rules,omitempty"`
	Version string          `json:"version,omitempty"`
	Pending *held           `json:"pending,omitempty"` // the pending accrual
	Earned  int64           `json:"earned"`            // net posted accrual
	// Lots are the order's posted credits and posts (a take-back takes
	// their points first), and EarnedAt the
	// conversion date their expiry counts from: when an earlier conversion
	// arrives late, the lots are dated again.
	Lots     []int64   `json:"lots,omitempty"`
	EarnedAt time.Time `json:"earned_at,omitzero"`
	Spend    *held     `json:"spend,omitempty"`
	// Reserved is the checkout reservation's spend the order adopted as
	// its redemption, never adopted twice.
	Reserved int64 `json:"reserved,omitempty"`
}

type held struct {
	ID     int64 `json:"id"`
	Amount int64 `json:"amount"`
	Posted bool  `json:"posted,omitempty"`
}

// errPark is a reason to keep an order aside, with what would release it.
type errPark struct {
	reason, waiting string
}

func (e *errPark) Error() string { return e.reason }

// reconcileOrder recomputes an order's target from all its facts and writes
// the difference. An order that cannot be settled now (its web order or
// customer unknown, not enough points for a take-back) is parked with the
// reason, and what it could write is still written.
func (e *Engine) reconcileOrder(tx *ledger.Tx, p Program, id string) (err error) {
	subject := orderSubject(id)
	var st orderState
	rec, err := load(tx, p.ID, subject, &st)
	if err != nil {
		return err
	}
	park := func(pk *errPark) error {
		rec.Parked, rec.Waiting = pk.reason, pk.waiting
		if rec.State, err = json.Marshal(st); err != nil {
			return err
		}
		return tx.SaveSubject(rec)
	}
	fs, err := tx.SubjectFacts(p.ID, subject)
	if err != nil {
		return err
	}
	of, err := gather(fs)
	if err != nil {
		return err
	}
	if of.order == nil {
		return park(&errPark{reason: fmt.Sprintf("ERP document %s arrived before web order %s: waiting for the order", of.docs[0].Key, id), waiting: subject})
	}
	cust, err := ledger.ParseIdent(of.order.Customer)
	if err != nil {
		return park(&errPark{reason: fmt.Sprintf("web order %s: %v", id, err)})
	}
	if ok, err := tx.Known(cust); err != nil {
		return err
	} else if !ok {
		return park(&errPark{reason: fmt.Sprintf("web order %s: no customer has identifier %s yet", id, cust.Masked()), waiting: string(cust)})
	}
	if st.Rules == nil {
		if st.Rules, err = json.Marshal(p.Accrual); err != nil {
			return err
		}
		if st.Version, err = rules.RulesVersion(p.Accrual); err != nil {
			return err
		}
	}
	var ar rules.AccrualRules
	if err := json.Unmarshal(st.Rules, &ar); err != nil {
		return fmt.Errorf("order %s: stored rules: %w", id, err)
	}
	t, err := orderTarget(of, ar, p.ConfirmOn)
	if err != nil {
		return park(&errPark{reason: err.Error()})
	}
	ckey, err := tx.CustomerKey(cust)
	if err != nil {
		return err
	}
	w := &writer{tx: tx, p: p, st: &st, acct: ledger.Account{Program: p.ID, Customer: cust}, order: *of.order, t: t, accountWait: accountWait(ckey)}
	werr := w.apply()
	if w.credited {
		defer func() {
			if err == nil {
				err = e.releaseAccount(tx, p, ckey, subject)
			}
		}()
	}
	if w.wrote {
		st.Gen++
	}
	var pk *errPark
	if errors.As(werr, &pk) {
		return park(pk)
	}
	if werr != nil {
		return werr
	}
	rec.Parked, rec.Waiting = "", ""
	if rec.State, err = json.Marshal(st); err != nil {
		return err
	}
	return tx.SaveSubject(rec)
}

// writer applies one pass of differences for an order.
type writer struct {
	tx    *ledger.Tx
	p     Program
	st    *orderState
	acct  ledger.Account
	order WebOrder
	t     target
	wrote bool
	// credited is set when the pass posted points: what waits on the
	// account for points is tried again.
	credited    bool
	accountWait string
}

func (w *writer) meta(source, op, reason, document string) ledger.Meta {
	return ledger.Meta{
		Source: source, Key: fmt.Sprintf("order:%s:g%d:%s", w.order.ID, w.st.Gen, op),
		Reason: reason, Document: document, Rule: "accrual", RuleVersion: w.st.Version,
	}
}

func (w *writer) apply() error {
	if err := w.accrual(); err != nil {
		return err
	}
	return w.spend()
}

// accrual moves the order's accrual to the target: pending while the
// order is open, posted (for what the ERP documents hold) once converted,
// voided or taken back when cancelled or credited.
func (w *writer) accrual() error {
	st, t, tx := w.st, w.t, w.tx
	if st.Pending != nil {
		switch {
		case t.Confirmed && t.Earned > 0:
			amount := min(st.Pending.Amount, t.Earned)
			m := w.meta(w.confirmSource(), "post", "accrual", t.Document)
			m.At = t.EarnedAt
			res, err := tx.Post(ledger.FinishRequest{Meta: m, Movement: st.Pending.ID, Amount: amount, Expires: w.expiry()})
			switch {
			case errors.Is(err, ledger.ErrAlreadyFinal):
				// A reset voided it: nothing is held; what the order earns
				// now is credited below.
				st.Pending, w.wrote = nil, true
			case err != nil:
				return err
			default:
				st.Earned += amount
				st.Pending, w.wrote, w.credited = nil, true, true
				st.Lots, st.EarnedAt = append(st.Lots, res.Main()), t.EarnedAt
			}
		case t.Cancelled || t.Confirmed || t.Provisional != st.Pending.Amount:
			reason := "accrual_change"
			if t.Cancelled {
				reason = "cancellation"
			}
			// Already voided (by a reset) is as good as voided now.
			if _, err := tx.Void(ledger.FinishRequest{Meta: w.meta(ledger.SourceWeb, "void", reason, w.order.ID), Movement: st.Pending.ID}); err != nil && !errors.Is(err, ledger.ErrAlreadyFinal) {
				return err
			}
			st.Pending, w.wrote = nil, true
		}
	}
	if st.Pending == nil && t.Provisional > 0 {
		m := w.meta(ledger.SourceWeb, "accrue", "accrual", w.order.ID)
		m.At = w.order.PlacedAt
		res, err := tx.Credit(ledger.CreditRequest{Account: w.acct, Meta: m, Amount: t.Provisional, Pending: true})
		if err != nil {
			return err
		}
		st.Pending, w.wrote = &held{ID: res.Main(), Amount: t.Provisional}, true
	}
	if t.Confirmed && !t.Cancelled {
		if err := w.redate(); err != nil {
			return err
		}
	}
	switch d := t.Earned - st.Earned; {
	case d > 0:
		m := w.meta(w.confirmSource(), "earn", "accrual", t.Document)
		m.At = t.EarnedAt
		res, err := tx.Credit(ledger.CreditRequest{Account: w.acct, Meta: m, Amount: d, Expires: w.expiry()})
		if err != nil {
			return err
		}
		st.Earned += d
		w.wrote, w.credited = true, true
		st.Lots = append(st.Lots, res.Main())
	case d < 0:
		reason := "credit_note"
		if t.Cancelled {
			reason = "cancellation"
		}
		err := tx.Try(func() error {
			_, err := tx.Spend(ledger.SpendRequest{Account: w.acct, Meta: w.meta(ledger.SourceERP, "takeback", reason, w.order.ID),
				Amount: -d, Withdraw: true, PreferCredits: st.Lots})
			return err
		})
		if errors.Is(err, ledger.ErrInsufficient) {
			return &errPark{reason: fmt.Sprintf("review: order %s: %s takes back %d points but the customer has spent them (%v)", w.order.ID, reason, -d, err), waiting: w.accountWait}
		}
		if err != nil {
			return err
		}
		st.Earned += d
		w.wrote = true
	}
	return nil
}

// confirmSource is who confirmed the order: the ERP, or the shop itself
// when its own status confirms (confirm_on paid or completed).
func (w *writer) confirmSource() string {
	if w.t.Document == w.order.ID {
		return ledger.SourceWeb
	}
	return ledger.SourceERP
}

// redate moves the expiry of the order's lots to count from its first
// conversion when that date moved since they were written.
func (w *writer) redate() error {
	st, t := w.st, w.t
	if len(st.Lots) == 0 || st.EarnedAt.Equal(t.EarnedAt) {
		st.EarnedAt = t.EarnedAt
		return nil
	}
	if _, err := w.tx.Redate(ledger.RedateRequest{Meta: w.meta(ledger.SourceERP, "redate", "accrual", t.Document), Credits: st.Lots, Expires: w.expiry()}); err != nil {
		return err
	}
	st.EarnedAt, w.wrote = t.EarnedAt, true
	return nil
}

func (w *writer) expiry() *time.Time {
	if t, ok := w.p.Expiry.ExpiresAt(w.t.EarnedAt, w.p.Location); ok {
		return &t
	}
	return nil
}

// spend moves the order's redemption to the target: pending until the
// order is converted, then posted; voided (points back to their lots) when
// it is cancelled. It may use only points earned before the order was
// placed (SPEC 3.2).
func (w *writer) spend() error {
	st, t, tx := w.st, w.t, w.tx
	if st.Spend == nil {
		if err := w.adopt(); err != nil {
			return err
		}
	}
	if s := st.Spend; s != nil {
		switch {
		case t.Spend == s.Amount && t.Confirmed && !s.Posted:
			if _, err := tx.Post(ledger.FinishRequest{Meta: w.meta(ledger.SourceERP, "spend-post", "redemption", t.Document), Movement: s.ID}); err != nil {
				return err
			}
			s.Posted, w.wrote = true, true
		case t.Spend == s.Amount:
		case !s.Posted:
			reason := "redemption_change"
			if t.Cancelled {
				reason = "cancellation"
			}
			if _, err := tx.Void(ledger.FinishRequest{Meta: w.meta(ledger.SourceWeb, "spend-void", reason, w.order.ID), Movement: s.ID}); err != nil {
				return err
			}
			st.Spend, w.wrote = nil, true
		case t.Spend < s.Amount:
			reason := "redemption_change"
			if t.Cancelled {
				reason = "cancellation"
			}
			if _, err := tx.Refund(ledger.RefundRequest{Meta: w.meta(ledger.SourceERP, "spend-refund", reason, w.order.ID), Movement: s.ID, Amount: s.Amount - t.Spend}); err != nil {
				return err
			}
			s.Amount, w.wrote = t.Spend, true
			if s.Amount == 0 {
				st.Spend = nil
			}
		default:
			return &errPark{reason: fmt.Sprintf("review: order %s now spends %d points, more than the %d already posted", w.order.ID, t.Spend, s.Amount)}
		}
	}
	if st.Spend == nil && t.Spend > 0 {
		var res ledger.Result
		err := tx.Try(func() error {
			var err error
			res, err = tx.Spend(ledger.SpendRequest{Account: w.acct, Meta: w.meta(ledger.SourceWeb, "spend", "redemption", w.order.ID),
				Amount: t.Spend, Pending: !t.Confirmed, EarnedBefore: w.order.PlacedAt})
			return err
		})
		if errors.Is(err, ledger.ErrInsufficient) {
			return &errPark{reason: fmt.Sprintf("review: order %s spends %d points: %v", w.order.ID, t.Spend, err), waiting: w.accountWait}
		}
		if err != nil {
			return err
		}
		st.Spend, w.wrote = &held{ID: res.Main(), Amount: t.Spend, Posted: t.Confirmed}, true
	}
	return nil
}
