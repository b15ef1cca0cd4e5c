package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// CartQuote is what a cart would earn and the most its customer may spend
// on it (SPEC 3.3).
type CartQuote struct {
	Earn   int64       `json:"earn"`
	Redeem rules.Quote `json:"redeem"`
}

// earned is the customer's usable balance; an unknown customer has none.
func earned(ctx context.Context, l *ledger.Ledger, program string, id ledger.Ident) (int64, error) {
	b, err := l.Balance(ctx, ledger.Account{Program: program, Customer: id}, time.Time{})
	if errors.Is(err, ledger.ErrUnknownCustomer) {
		return 0, nil
	}
	return b.Earned, err
}

// Quote prices a cart for the checkout: the points it earns and the most
// the customer can spend on it now.
func (e *Engine) Quote(ctx context.Context, l *ledger.Ledger, program string, customer ledger.Ident, cart rules.Document) (CartQuote, error) {
	p, err := e.program(program)
	if err != nil {
		return CartQuote{}, err
	}
	if p.Redemption.RatePoints == 0 {
		return CartQuote{}, fmt.Errorf("program %s has no redemption rules", p.ID)
	}
	bal, err := earned(ctx, l, p.ID, customer)
	if err != nil {
		return CartQuote{}, err
	}
	acc, err := rules.Accrue(p.Accrual, cart)
	if err != nil {
		return CartQuote{}, err
	}
	q, err := rules.QuoteRedemption(p.Redemption, bal, cart)
	if err != nil {
		return CartQuote{}, err
	}
	return CartQuote{Earn: acc.Points, Redeem: q}, nil
}

// TillQuote is the most an amount card may take off a bill at the till:
// its balance plus what the bill earns, and never more than the bill
// (SPEC 3.3, E1).
func (e *Engine) TillQuote(ctx context.Context, l *ledger.Ledger, program, card string, bill rules.Document) (maxDiscount, earns int64, err error) {
	p, err := e.program(program)
	if err != nil {
		return 0, 0, err
	}
	id, err := cardIdent(card)
	if err != nil {
		return 0, 0, err
	}
	bal, err := earned(ctx, l, p.ID, id)
	if err != nil {
		return 0, 0, err
	}
	return rules.TillDiscount(p.Accrual, bal, bill, rules.TillQuoteOptions{ExcludeCurrentTransaction: p.ExcludeCurrentTransaction})
}

type prizeState struct {
	Total       int                      `json:"total"`
	PerCustomer map[string]int           `json:"per_customer"`
	Keys        map[string]PrizeRedeemed `json:"keys"` // request key -> what it did
}

// PrizeRedeemed is what a prize redemption did: the movement that spent
// its points and, for a voucher prize, the single-use code issued to the
// customer with its expiry (zero: none).
type PrizeRedeemed struct {
	Movement       int64     `json:"movement"`
	Voucher        string    `json:"voucher,omitempty"`
	VoucherExpires time.Time `json:"voucher_expires,omitzero"`
}

// RedeemPrize spends a prize's points for a customer, within the
// catalog's deadline, the prize's limits and the customer's earned points
// (SPEC 3.4). key makes a retried request harmless.
// A voucher prize issues a single-use code, drawn from rnd (crypto/rand in
// production).
func (e *Engine) RedeemPrize(tx *ledger.Tx, program string, customer ledger.Ident, catalog, prize, cardType, key string, rnd io.Reader) (PrizeRedeemed, error) {
	var none PrizeRedeemed
	p, err := e.program(program)
	if err != nil {
		return none, err
	}
	cust, err := ledger.ParseIdent(string(customer))
	if err != nil {
		return none, err
	}
	// The prize's counts are one subject, locked while they change, so two
	// redemptions at once cannot both take the last piece.
	subject := "prize:" + catalog + "/" + prize
	st := prizeState{}
	rec, err := load(tx, p.ID, subject, &st)
	if err != nil {
		return none, err
	}
	if st.PerCustomer == nil {
		st.PerCustomer, st.Keys = map[string]int{}, map[string]PrizeRedeemed{}
	}
	// Limits are per customer, whichever of its identifiers asks; a
	// request key belongs to its customer.
	who, err := tx.CustomerKey(cust)
	if err != nil {
		return none, err
	}
	key = who + ":" + key
	acct := ledger.Account{Program: p.ID, Customer: cust}
	meta := ledger.Meta{Source: ledger.SourceAPI, Key: "prize:" + key, Reason: "prize", Document: subject, Rule: "catalog"}
	bal, err := tx.Balance(acct, time.Time{})
	if err != nil {
		return none, err
	}
	used := rules.Redeemed{Customer: map[string]int{prize: st.PerCustomer[who]}, Total: map[string]int{prize: st.Total}}
	// A replay of a redemption already made returns it: it must not be
	// refused by the limit it used up itself.
	if done, ok := st.Keys[key]; ok {
		return done, nil
	}
	pz, err := rules.CheckRedemption(p.Catalogs, catalog, prize, cardType, bal.Earned, used, tx.Now(), p.Location)
	if err != nil {
		return none, err
	}
	var out PrizeRedeemed
	if pz.Kind == rules.PrizeVoucher {
		if out.Voucher, err = rules.NewVoucherCode(rnd); err != nil {
			return none, err
		}
		if t, ok := pz.Voucher.ExpiresAt(tx.Now(), p.Location); ok {
			out.VoucherExpires = t.UTC()
		}
	}
	meta.Note = fmt.Sprintf("prize %s (%s)", pz.ID, pz.Name)
	if pz.CoPayment > 0 {
		meta.Note += fmt.Sprintf(", co-payment %d.%02d", pz.CoPayment/100, pz.CoPayment%100)
	}
	if out.Voucher != "" {
		meta.Note += ", voucher " + out.Voucher
	}
	res, err := tx.Spend(ledger.SpendRequest{Account: acct, Meta: meta, Amount: pz.Points})
	if err != nil {
		return none, err
	}
	out.Movement = res.Main()
	st.Total++
	st.PerCustomer[who]++
	st.Keys[key] = out
	if rec.State, err = json.Marshal(st); err != nil {
		return none, err
	}
	return out, tx.SaveSubject(rec)
}
