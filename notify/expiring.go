package notify

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
)

// expiringBatch is how many events one transaction of the scan enqueues.
const expiringBatch = 200

// expiring is what one account has expiring on one day.
type expiring struct {
	account  int64
	customer ledger.Ident
	date     string
	points   int64
}

// ScanExpiring enqueues a points_expiring event for every account and day
// on which usable points expire within notifications.expiring_days from
// now, in every program, and returns how many events were new. The event
// id "expiring:<program>:<account id>:<date>" makes a later scan announce
// a day only once, however often it runs. It does nothing when the event
// is not enabled. Run it on notifications.schedule.
func (n *Notifier) ScanExpiring(ctx context.Context) (int, error) {
	if !n.cfg.Has(configs.EventPointsExpiring) {
		return 0, nil
	}
	now := n.clock().UTC()
	to := now.Add(time.Duration(n.cfg.ExpiringDays) * 24 * time.Hour)
	added := 0
	for _, id := range n.ids {
		p := n.programs[id]
		var pend []expiring
		flush := func() error {
			k, err := n.enqueueExpiring(ctx, id, now, pend)
			added += k
			pend = pend[:0]
			return err
		}
		err := n.l.ExpiringLots(ctx, id, now, to, func(e ledger.ExpiringLot) error {
			date := ledger.ExpiryDay(e.Expires, p.Location)
			if k := len(pend); k > 0 && pend[k-1].account == e.Account && pend[k-1].date == date {
				pend[k-1].points += e.Points
				return nil
			}
			// Only a finished (account, day) is flushed: rows come by
			// account and instant, so the one before a new pair is whole.
			if len(pend) >= expiringBatch {
				if err := flush(); err != nil {
					return err
				}
			}
			pend = append(pend, expiring{account: e.Account, customer: e.Customer, date: date, points: e.Points})
			return nil
		})
		if err == nil && len(pend) > 0 {
			err = flush()
		}
		if err != nil {
			return added, fmt.Errorf("notify: expiring points of program %s: %w", id, err)
		}
	}
	if added > 0 {
		n.log.Info("expiring points announced", zap.Int("events", added), zap.Int("days", n.cfg.ExpiringDays))
		n.kick()
	}
	return added, nil
}

// enqueueExpiring writes the events of es in one transaction, each with
// the account's earned balance now.
func (n *Notifier) enqueueExpiring(ctx context.Context, program string, now time.Time, es []expiring) (int, error) {
	earned := map[int64]int64{}
	for _, e := range es {
		if _, ok := earned[e.account]; ok {
			continue
		}
		b, err := n.l.Balance(ctx, ledger.Account{Program: program, Customer: e.customer}, now)
		if err != nil {
			return 0, err
		}
		earned[e.account] = b.Earned
	}
	added := 0
	err := n.l.Update(ctx, func(tx *ledger.Tx) error {
		added = 0 // the transaction may run again
		for _, e := range es {
			id := fmt.Sprintf("expiring:%s:%d:%s", program, e.account, e.date)
			b, err := jsonData(expiringData{Date: e.date, Points: e.points, Earned: earned[e.account]})
			if err != nil {
				return err
			}
			ok, err := tx.EnqueueNew(ledger.Event{ID: id, Type: configs.EventPointsExpiring, Program: program, Customer: e.customer, At: now, Data: b})
			if err != nil {
				return err
			}
			if ok {
				added++
			}
		}
		return nil
	})
	return added, err
}
