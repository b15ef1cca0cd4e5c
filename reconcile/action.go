package reconcile

import (
	"encoding/json"
	"fmt"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

const kindAction = "action"

// actionState is what a customer was awarded for actions, by award key.
type actionState struct {
	Awarded map[string]int64 `json:"awarded"` // award key -> movement (0: nothing to award)
	Count   map[string]int   `json:"count"`   // awards per kind
}

// Action stores an action and awards its points once: registration and
// newsletter once per customer, reviews per review or once, as the
// program says. A registration makes the customer known; other actions of
// an unknown customer wait for it.
func (e *Engine) Action(tx *ledger.Tx, program string, a Action) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidFact, err)
	}
	p, err := e.program(program)
	if err != nil {
		return err
	}
	id, err := ledger.ParseIdent(a.Customer)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidFact, err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	subject := "actions:" + string(id)
	key := string(a.Kind) + ":" + a.ReviewID
	if _, err := tx.PutFact(ledger.Fact{Program: p.ID, Kind: kindAction, Key: string(id) + ":" + key, Subject: subject, Payload: b, At: a.At}); err != nil {
		return err
	}
	if a.Kind == rules.ActionRegistration {
		if _, _, err := tx.EnsureCustomer(id); err != nil {
			return err
		}
	}
	return e.reconcileActions(tx, p, subject)
}

// reconcileActions awards every action of a customer not awarded yet, in
// the order they happened.
func (e *Engine) reconcileActions(tx *ledger.Tx, p Program, subject string) error {
	st := actionState{Awarded: map[string]int64{}, Count: map[string]int{}}
	rec, err := load(tx, p.ID, subject, &st)
	if err != nil {
		return err
	}
	id := ledger.Ident(subject[len("actions:"):])
	known, err := tx.Known(id)
	if err != nil {
		return err
	}
	save := func() error {
		if rec.State, err = json.Marshal(st); err != nil {
			return err
		}
		return tx.SaveSubject(rec)
	}
	if !known {
		rec.Parked, rec.Waiting = fmt.Sprintf("action of %s: no customer has this identifier yet", id.Masked()), string(id)
		return save()
	}
	rec.Parked, rec.Waiting = "", ""
	credited := false
	fs, err := tx.SubjectFacts(p.ID, subject)
	if err != nil {
		return err
	}
	for _, f := range fs {
		var a Action
		if err := json.Unmarshal(f.Payload, &a); err != nil {
			return fmt.Errorf("%s: stored action: %w", subject, err)
		}
		points, award, _ := rules.ActionPoints(p.Actions, a.Kind, st.Count[string(a.Kind)], a.ReviewID)
		if award == "" {
			award = string(a.Kind) + ":" + a.ReviewID
		}
		if _, done := st.Awarded[award]; done {
			continue
		}
		var mv int64
		if points > 0 {
			res, err := tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: p.ID, Customer: id},
				Meta:   ledger.Meta{Source: ledger.SourceWeb, Key: "action:" + string(id) + ":" + award, Reason: string(a.Kind), Document: a.ReviewID, At: a.At, Rule: "action"},
				Amount: points, Expires: p.expiry(a.At)})
			if err != nil {
				return err
			}
			mv = res.Main()
			st.Count[string(a.Kind)]++
			credited = true
		}
		st.Awarded[award] = mv
	}
	if err := save(); err != nil || !credited {
		return err
	}
	ckey, err := tx.CustomerKey(id)
	if err != nil {
		return err
	}
	return e.releaseAccount(tx, p, ckey, subject)
}
