package reconcile

import (
	"encoding/json"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

type giftState struct {
	Last time.Time `json:"last"` // the occurrence awarded last, or when counting began
}

// Gifts awards the periodic gifts of a program that fell due by now
// (SPEC 3.1): every occurrence missed while pointsync was down is awarded
// once, to every customer with an account in the program. Counting begins
// at the first run: a new gift is not awarded for the past.
func (e *Engine) Gifts(tx *ledger.Tx, program string) (awarded int, err error) {
	p, err := e.program(program)
	if err != nil {
		return 0, err
	}
	now := tx.Now()
	for _, g := range p.Gifts {
		subject := "gift:" + g.ID
		var st giftState
		rec, err := load(tx, p.ID, subject, &st)
		if err != nil {
			return awarded, err
		}
		if st.Last.IsZero() {
			st.Last = now
		}
		due, _, err := g.Due(st.Last, now)
		if err != nil {
			return awarded, err
		}
		if len(due) > 0 {
			customers, err := tx.Customers(p.ID)
			if err != nil {
				return awarded, err
			}
			for _, at := range due {
				for _, c := range customers {
					_, err := tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: p.ID, Customer: c},
						Meta:   ledger.Meta{Source: ledger.SourceSchedule, Key: g.Key(at) + ":" + string(c), Reason: "gift", Note: g.Description, At: at, Rule: "gift:" + g.ID},
						Amount: g.Points, Expires: p.expiry(at)})
					if err != nil {
						return awarded, err
					}
					awarded++
				}
				st.Last = at
			}
		}
		if rec.State, err = json.Marshal(st); err != nil {
			return awarded, err
		}
		if err := tx.SaveSubject(rec); err != nil {
			return awarded, err
		}
	}
	return awarded, nil
}
