package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// ErrLimit is wrapped by every *LimitError.
var ErrLimit = errors.New("redemption limit")

// Limits a LimitError names.
const (
	LimitRedemption = "redemption"  // the program has no redemption rules
	LimitOrder      = "order"       // the order already spends points
	LimitStep       = "step"        // points must be whole steps of the rate
	LimitMinPoints  = "min_points"  // per order
	LimitMaxPoints  = "max_points"  // per order
	LimitMinBalance = "min_balance" // earned balance needed to redeem at all
)

// LimitError is a reservation the program's redemption rules refuse,
// naming the limit; it unwraps to ErrLimit.
type LimitError struct {
	Reason string
	Limit  string // one of the Limit constants
}

func (e *LimitError) Error() string { return e.Reason }

// Unwrap gives ErrLimit, for errors.Is.
func (e *LimitError) Unwrap() error { return ErrLimit }

// Reserve holds points of a customer's earned balance for an order of the
// shop's checkout until ttl has passed (SPEC 3.3). It refuses with a
// *LimitError what the program's redemption rules forbid without a cart
// (the checkout quotes the cart first): no redemption rules, points not a
// whole step of the rate, below the minimum or above the maximum per
// order, an earned balance below the minimum to redeem, and an order that
// already spends points in the ledger. The limits are judged with the
// account locked and are not asked again of a replay; see
// ledger.Tx.Reserve for replays and conflicts. When the order arrives from
// the shop, it adopts the reservation as its redemption.
func (e *Engine) Reserve(tx *ledger.Tx, program string, customer ledger.Ident, order string, points int64, ttl time.Duration, m ledger.Meta) (ledger.Reservation, bool, error) {
	p, err := e.program(program)
	if err != nil {
		return ledger.Reservation{}, false, err
	}
	r := p.Redemption
	if r.RatePoints == 0 {
		return ledger.Reservation{}, false, &LimitError{Limit: LimitRedemption,
			Reason: fmt.Sprintf("program %s has no redemption rules: its points cannot be spent at checkout", p.ID)}
	}
	check := func(tx *ledger.Tx, earned int64) error {
		var st orderState
		if _, err := load(tx, p.ID, orderSubject(order), &st); err != nil {
			return err
		}
		if st.Spend != nil {
			return &LimitError{Limit: LimitOrder, Reason: fmt.Sprintf(
				"order %s already spends %d points in the ledger (the shop sent the order before this reservation): change the order instead", order, st.Spend.Amount)}
		}
		step := r.RatePoints / gcd(r.RatePoints, r.RateValue)
		switch {
		case points%step != 0:
			return &LimitError{Limit: LimitStep, Reason: fmt.Sprintf(
				"%d points are not a whole number of steps: program %s spends points in steps of %d", points, p.ID, step)}
		case r.MinPoints > 0 && points < r.MinPoints:
			return &LimitError{Limit: LimitMinPoints, Reason: fmt.Sprintf(
				"%d points are below the minimum of %d per order of program %s", points, r.MinPoints, p.ID)}
		case r.MaxPoints > 0 && points > r.MaxPoints:
			return &LimitError{Limit: LimitMaxPoints, Reason: fmt.Sprintf(
				"%d points are above the maximum of %d per order of program %s", points, r.MaxPoints, p.ID)}
		case earned < r.MinBalance:
			return &LimitError{Limit: LimitMinBalance, Reason: fmt.Sprintf(
				"the earned balance of %d points is below the minimum of %d needed to redeem in program %s", earned, r.MinBalance, p.ID)}
		}
		return nil
	}
	return tx.Reserve(ledger.ReserveRequest{Account: ledger.Account{Program: p.ID, Customer: customer}, Meta: m,
		Order: order, Points: points, TTL: ttl, Check: check})
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// adopt makes a checkout's reservation of this order its redemption, so
// the order never spends twice: a held one (then committed) or a
// committed one, of the same customer, when the order spends points or is
// cancelled (a cancelled order gives them back). A reservation that
// expired before the order arrived is voided and the order spends anew;
// released and expired ones are ignored. The usual differences follow:
// posted on conversion, voided on cancellation, voided and spent again
// when the points change.
func (w *writer) adopt() error {
	if w.t.Spend == 0 && !w.t.Cancelled {
		return nil
	}
	r, ok, err := w.tx.Reservation(w.p.ID, w.order.ID)
	if err != nil || !ok || r.Movement == w.st.Reserved {
		return err
	}
	if r.State != ledger.ReservationHeld && r.State != ledger.ReservationCommitted {
		return nil
	}
	theirs, err := w.tx.CustomerKey(r.Customer)
	if err != nil {
		return err
	}
	ours, err := w.tx.CustomerKey(w.acct.Customer)
	if err != nil || theirs != ours {
		return err
	}
	if r.State == ledger.ReservationHeld {
		m := ledger.Meta{Source: ledger.SourceWeb, Actor: "reconcile", Note: "order " + w.order.ID + " arrived from the shop"}
		_, err := w.tx.CommitReservation(w.p.ID, w.order.ID, m)
		if errors.Is(err, ledger.ErrReservationState) {
			// Expired before the order arrived: the points are back on
			// the account, and the order spends them anew below.
			return nil
		}
		if err != nil {
			return err
		}
	}
	w.st.Spend, w.st.Reserved, w.wrote = &held{ID: r.Movement, Amount: r.Points}, r.Movement, true
	return nil
}

// Prizes lists the prizes of the program's catalogs covering cardType
// whose deadline has not passed, each marked redeemable or not for the
// customer now with the reason (SPEC 3.4): the earned balance, and the
// redemptions counted by RedeemPrize against the per-customer and stock
// limits. An unknown customer has no points and no redemptions.
func (e *Engine) Prizes(ctx context.Context, l *ledger.Ledger, program string, customer ledger.Ident, cardType string) ([]rules.RedeemableEntry, error) {
	p, err := e.program(program)
	if err != nil {
		return nil, err
	}
	cust, err := ledger.ParseIdent(string(customer))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ledger.ErrInvalid, err)
	}
	bal, err := earned(ctx, l, p.ID, cust)
	if err != nil {
		return nil, err
	}
	who, err := l.CustomerKey(ctx, cust)
	if err != nil && !errors.Is(err, ledger.ErrUnknownCustomer) {
		return nil, err
	}
	used := rules.Redeemed{Customer: map[string]int{}, Total: map[string]int{}}
	for _, c := range p.Catalogs {
		if !c.AppliesTo(cardType) {
			continue
		}
		for _, pz := range c.Prizes {
			rec, ok, err := l.SubjectState(ctx, p.ID, prizeSubject(c.ID, pz.ID))
			if err != nil || !ok || len(rec.State) == 0 {
				if err != nil {
					return nil, err
				}
				continue
			}
			var st prizeState
			if err := json.Unmarshal(rec.State, &st); err != nil {
				return nil, fmt.Errorf("%s: stored state: %w", rec.Subject, err)
			}
			used.Total[pz.ID] = st.Total
			if who != "" {
				used.Customer[pz.ID] = st.PerCustomer[who]
			}
		}
	}
	out := rules.Redeemable(p.Catalogs, cardType, bal, used, l.Now(), p.Location)
	if out == nil {
		out = []rules.RedeemableEntry{}
	}
	return out, nil
}

// prizeSubject is the subject holding a prize's redemption counts, as
// RedeemPrize names it.
func prizeSubject(catalog, prize string) string { return "prize:" + catalog + "/" + prize }
