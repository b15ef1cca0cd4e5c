package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

const kindReceipt = "till_receipt"

type receiptState struct {
	Gen     int    `json:"gen"`
	Earned  int64  `json:"earned"`
	Credit  int64  `json:"credit,omitempty"`
	Spent   int64  `json:"spent"`
	Spend   int64  `json:"spend,omitempty"`
	NoPoint string `json:"no_points,omitempty"` // why the receipt earned nothing
}

// TillReceipt stores a till receipt and records it: its accrual (the
// till's, or the program's rules inside an active catalog window) and what
// it spent, an overdraft flagged when the balance did not cover it.
func (e *Engine) TillReceipt(tx *ledger.Tx, program string, r TillReceipt) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidFact, err)
	}
	p, err := e.program(program)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	subject := "receipt:" + r.Key()
	f := ledger.Fact{Program: p.ID, Kind: kindReceipt, Key: r.Key(), Subject: subject, Payload: b, At: r.At}
	stored, err := tx.PutFact(f)
	if err != nil {
		return err
	}
	if !stored {
		return e.reconcileReceipt(tx, p, subject, nil)
	}
	return e.reconcileReceipt(tx, p, subject, &f)
}

// reconcileReceipt brings the receipt's movements in line with its newest
// fact. fresh is the fact just stored, if it was: when the receipt has no
// record yet, it is its only fact (a fact and its record are written in
// the same savepoint), and it need not be read back.
func (e *Engine) reconcileReceipt(tx *ledger.Tx, p Program, subject string, fresh *ledger.Fact) error {
	var st receiptState
	rec, found, err := loadFound(tx, p.ID, subject, &st)
	if err != nil {
		return err
	}
	var fs []ledger.Fact
	if fresh != nil && !found {
		fs = []ledger.Fact{*fresh}
	} else if fs, err = tx.SubjectFacts(p.ID, subject); err != nil {
		return err
	}
	// The latest revision (by time, then content) is the receipt.
	var r TillReceipt
	var raw string
	for _, f := range fs {
		var x TillReceipt
		if err := json.Unmarshal(f.Payload, &x); err != nil {
			return fmt.Errorf("%s: stored receipt: %w", subject, err)
		}
		if raw == "" || x.At.After(r.At) || (x.At.Equal(r.At) && string(f.Payload) > raw) {
			r, raw = x, string(f.Payload)
		}
	}
	save := func(parked, waiting string) error {
		rec.Parked, rec.Waiting = parked, waiting
		if rec.State, err = json.Marshal(st); err != nil {
			return err
		}
		return tx.SaveSubject(rec)
	}
	card, err := cardIdent(r.Card)
	if err != nil {
		return save(fmt.Sprintf("till receipt %s: %v", r.Key(), err), "")
	}
	if p.CreateCardCustomers {
		// One look-up, not Known's and then EnsureCustomer's again.
		if _, _, err := tx.EnsureCustomer(card); err != nil {
			return err
		}
	} else if known, err := tx.Known(card); err != nil {
		return err
	} else if !known {
		return save(fmt.Sprintf("till receipt %s: card %s is not linked to a customer yet", r.Key(), card.Masked()), string(card))
	}
	ckey, err := tx.CustomerKey(card)
	if err != nil {
		return err
	}
	earned, why, err := p.receiptAccrual(r)
	if err != nil {
		return save(err.Error(), "")
	}
	acct := ledger.Account{Program: p.ID, Customer: card}
	meta := func(op, reason string) ledger.Meta {
		m := ledger.Meta{Source: ledger.SourcePOS, Key: fmt.Sprintf("receipt:%s:g%d:%s", r.Key(), st.Gen, op),
			Reason: reason, Document: r.Key(), At: r.At, Rule: "till"}
		if r.Earned == nil {
			// The program's rules computed the accrual: name their version.
			m.Rule, m.RuleVersion = "accrual", p.version
		}
		return m
	}
	wrote, credited := false, false
	// Accrual before spending: on an amount card the bill's own accrual
	// may pay part of its discount (SPEC E1).
	switch d := earned - st.Earned; {
	case d > 0:
		res, err := tx.Credit(ledger.CreditRequest{Account: acct, Meta: meta("earn", "accrual"), Amount: d, Expires: p.expiry(r.At)})
		if err != nil {
			return err
		}
		st.Earned, st.Credit, wrote = earned, res.Main(), true
		credited = true
	case d < 0:
		err := tx.Try(func() error {
			_, err := tx.Spend(ledger.SpendRequest{Account: acct, Meta: meta("takeback", "receipt_change"), Amount: -d, Withdraw: true, PreferCredits: []int64{st.Credit}})
			return err
		})
		if errors.Is(err, ledger.ErrInsufficient) {
			st.Gen++
			return save(fmt.Sprintf("review: till receipt %s now earns %d less, already spent: %v", r.Key(), -d, err), accountWait(ckey))
		}
		if err != nil {
			return err
		}
		st.Earned, wrote = earned, true
	}
	switch d := r.Spent - st.Spent; {
	case d > 0:
		m := meta("spend", "redemption")
		if r.Prize != "" {
			m.Reason, m.Note = "prize", "prize "+r.Prize+" given at the till"
		}
		res, err := tx.Spend(ledger.SpendRequest{Account: acct, Meta: m, Amount: d, Overdraft: true})
		if err != nil {
			return err
		}
		st.Spent, st.Spend, wrote = r.Spent, res.Main(), true
	case d < 0:
		if _, err := tx.Refund(ledger.RefundRequest{Meta: meta("refund", "receipt_change"), Movement: st.Spend, Amount: -d}); err != nil {
			return err
		}
		st.Spent, wrote = r.Spent, true
	}
	if earned == 0 && why != "" && why != st.NoPoint {
		m := meta("no-points", "no_accrual")
		m.Note = fmt.Sprintf("till receipt %s earned nothing: %s", r.Key(), why)
		if _, err := tx.Note(ledger.NoteRequest{Account: acct, Meta: m}); err != nil {
			return err
		}
		st.NoPoint, wrote = why, true
	}
	if wrote {
		st.Gen++
	}
	if err := save("", ""); err != nil {
		return err
	}
	if credited {
		return e.releaseAccount(tx, p, ckey, subject)
	}
	return nil
}

// receiptAccrual is what a receipt earns: the till's own figure, else the
// program's rules, which earn nothing outside every active catalog window
// when the program has catalogs (SPEC 3.1, E12). why says why it is zero.
func (p Program) receiptAccrual(r TillReceipt) (points int64, why string, err error) {
	if r.Earned != nil {
		return *r.Earned, "", nil
	}
	if len(p.Catalogs) > 0 {
		if _, ok, reason := rules.AccrualWindow(p.Catalogs, r.CardType, r.At, p.Location); !ok {
			return 0, reason, nil
		}
	}
	acc, err := rules.Accrue(p.Accrual, r.Document())
	if err != nil {
		return 0, "", fmt.Errorf("till receipt %s: %w", r.Key(), err)
	}
	return acc.Points, acc.Reason, nil
}

func (p Program) expiry(earned time.Time) *time.Time {
	if t, ok := p.Expiry.ExpiresAt(earned, p.Location); ok {
		return &t
	}
	return nil
}

// cardIdent reads a till's card number, with or without the "card:" kind.
func cardIdent(number string) (ledger.Ident, error) {
	number = strings.TrimSpace(number)
	if k, v, ok := strings.Cut(number, ":"); ok && strings.EqualFold(k, ledger.IdentCard) {
		number = v
	}
	return ledger.ParseIdent(ledger.IdentCard + ":" + number)
}
