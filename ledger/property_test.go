package ledger

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestPropertyInvariants drives random sequences of ledger operations
// (credits, pending/post/void, spends, refunds, overdrafts, adjustments and
// their corrections, resets, bulk expiry, the sweep, time passing and
// replays of earlier writes) and checks after every step that:
//
//   - earned, provisional, spent and expired agree with figures computed
//     from the movement history alone, and credited points reconcile:
//     credited - withdrawn - reset + forgiven = earned + spent + expired;
//   - earned = usable lot remainders - debt, and earned >= 0 unless a
//     till overdraft is outstanding;
//   - every lot's remainder is its amount less what was consumed from it,
//     never negative;
//   - replaying any earlier write (same key, same input) changes nothing.
//
// POINTSYNC_PROPERTY_SEQUENCES raises the number of sequences for a longer
// run; a failure prints the seed to replay with POINTSYNC_PROPERTY_SEED.
func TestPropertyInvariants(t *testing.T) {
	sequences := 25
	if s, err := strconv.Atoi(os.Getenv("POINTSYNC_PROPERTY_SEQUENCES")); err == nil && s > 0 {
		sequences = s
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("POINTSYNC_PROPERTY_SEED"), 10, 64); err == nil {
		seed, sequences = s, 1
	}
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		n := sequences
		if l.Backend() == BackendMySQL {
			n = max(1, n/3)
		}
		for i := range n {
			s := seed + uint64(i)
			p := &prop{t: t, l: l, clock: clock, rng: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)), seed: s, h: newH(t, l)}
			p.run(60)
		}
	})
}

type prop struct {
	t      *testing.T
	l      *Ledger
	h      *h
	clock  *testClock
	rng    *rand.Rand
	seed   uint64
	step   int
	custs  []Ident
	writes []func(tx *Tx) (Result, error) // every successful write, to replay
	// ids by role, for operations that refer to earlier movements
	pendingCredits, pendingSpends, postedSpends, adjustments []int64
	overdrawn                                                bool
}

func (p *prop) fail(format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf("seed %d (POINTSYNC_PROPERTY_SEED=%d), step %d: %s", p.seed, p.seed, p.step, fmt.Sprintf(format, args...))
}

func (p *prop) run(steps int) {
	p.clock.Set(time.Date(2026, 1, 1, 9, 0, 0, 0, rome))
	base := fmt.Sprintf("p%d-", p.seed)
	for i := range 3 {
		id := Ident("web:" + base + strconv.Itoa(i))
		p.custs = append(p.custs, id)
		p.h.customer(id)
	}
	for p.step = 0; p.step < steps; p.step++ {
		p.once(base)
		for _, c := range p.custs {
			p.check(c)
		}
	}
}

func (p *prop) pick(ids []int64) int64 { return ids[p.rng.IntN(len(ids))] }

func (p *prop) once(base string) {
	r := p.rng
	c := p.custs[r.IntN(len(p.custs))]
	acct := Account{"shop", c}
	key := fmt.Sprintf("%s%d", base, p.step)
	meta := func(src string) Meta { return Meta{Source: src, Key: key, Reason: "prop"} }
	expiry := func() *time.Time {
		if r.IntN(3) == 0 {
			return nil
		}
		t := p.clock.Now().Add(time.Duration(1+r.IntN(90*24)) * time.Hour)
		return &t
	}
	var w func(tx *Tx) (Result, error)
	var role *[]int64
	switch op := r.IntN(17); {
	case op < 3:
		req := CreditRequest{Account: acct, Meta: meta(SourceERP), Amount: 1 + r.Int64N(200), Expires: expiry(), Pending: r.IntN(2) == 0}
		if req.Pending {
			role = &p.pendingCredits
		}
		w = func(tx *Tx) (Result, error) { return tx.Credit(req) }
	case op < 5:
		req := SpendRequest{Account: acct, Meta: meta(SourceWeb), Amount: 1 + r.Int64N(150), Pending: r.IntN(2) == 0}
		if r.IntN(3) == 0 {
			req.EarnedBefore = p.clock.Now().Add(-time.Duration(r.IntN(60*24)) * time.Hour)
		}
		role = &p.postedSpends
		if req.Pending {
			role = &p.pendingSpends
		}
		w = func(tx *Tx) (Result, error) { return tx.Spend(req) }
	case op == 5:
		req := SpendRequest{Account: acct, Meta: meta(SourcePOS), Amount: 1 + r.Int64N(300), Overdraft: true}
		role = &p.postedSpends
		w = func(tx *Tx) (Result, error) {
			res, err := tx.Spend(req)
			if res.Overdraft > 0 {
				p.overdrawn = true
			}
			return res, err
		}
	case op == 6 && len(p.pendingCredits)+len(p.pendingSpends) > 0:
		ids := append(append([]int64{}, p.pendingCredits...), p.pendingSpends...)
		req := FinishRequest{Meta: meta(SourceERP), Movement: p.pick(ids), Amount: r.Int64N(60)}
		w = func(tx *Tx) (Result, error) { return tx.Post(req) }
	case op == 7 && len(p.pendingCredits)+len(p.pendingSpends) > 0:
		ids := append(append([]int64{}, p.pendingCredits...), p.pendingSpends...)
		req := FinishRequest{Meta: meta(SourceERP), Movement: p.pick(ids)}
		w = func(tx *Tx) (Result, error) { return tx.Void(req) }
	case op == 8 && len(p.postedSpends)+len(p.pendingSpends) > 0:
		ids := append(append([]int64{}, p.postedSpends...), p.pendingSpends...)
		req := RefundRequest{Meta: meta(SourcePOS), Movement: p.pick(ids), Amount: 1 + r.Int64N(80)}
		w = func(tx *Tx) (Result, error) { return tx.Refund(req) }
	case op == 9:
		pts := r.Int64N(200) - 80
		if pts == 0 {
			pts = 7
		}
		req := AdjustRequest{Account: acct, Meta: meta(SourceAdmin), Points: pts}
		if pts > 0 {
			req.Expires = expiry()
		}
		role = &p.adjustments
		w = func(tx *Tx) (Result, error) { return tx.Adjust(req) }
	case op == 10 && len(p.adjustments) > 0:
		req := ChangeRequest{Meta: meta(SourceAdmin), Movement: p.pick(p.adjustments), Points: r.Int64N(240) - 120}
		w = func(tx *Tx) (Result, error) { return tx.ChangeAdjustment(req) }
	case op == 11 && len(p.adjustments) > 0:
		req := RemoveRequest{Meta: meta(SourceAdmin), Movement: p.pick(p.adjustments)}
		w = func(tx *Tx) (Result, error) { return tx.RemoveAdjustment(req) }
	case op == 12 && r.IntN(4) == 0:
		req := ResetRequest{Program: "shop", Meta: meta(SourceAdmin)}
		if r.IntN(3) > 0 {
			req.Customer = c
		}
		w = func(tx *Tx) (Result, error) { return tx.Reset(req) }
	case op == 13:
		req := ExpiryRequest{Program: "shop", Expires: expiry(), IncludeNoExpiry: r.IntN(2) == 0, Meta: meta(SourceAdmin)}
		if r.IntN(2) == 0 {
			req.Customer = c
		}
		w = func(tx *Tx) (Result, error) { return tx.SetExpiry(req) }
	case op == 14:
		if _, err := p.l.Sweep(p.h.ctx); err != nil {
			p.fail("sweep: %v", err)
		}
		return
	case op == 15 && len(p.writes) > 0:
		p.replay()
		return
	default:
		p.clock.Set(p.clock.Now().Add(time.Duration(r.IntN(40*24)) * time.Hour))
		return
	}
	res, err := p.h.try(w)
	switch {
	case err == nil:
		p.writes = append(p.writes, w)
		if role != nil {
			*role = append(*role, res.Main())
		}
	case errors.Is(err, ErrInsufficient), errors.Is(err, ErrInvalid), errors.Is(err, ErrAlreadyFinal):
		// A refusal must leave no trace: the replay check below covers keys,
		// the balance checks cover points.
	default:
		p.fail("unexpected error: %v", err)
	}
}

// replay repeats an earlier successful write and requires the ledger to
// stay exactly as it was.
func (p *prop) replay() {
	before := p.snapshot()
	w := p.writes[p.rng.IntN(len(p.writes))]
	res, err := p.h.try(w)
	if err != nil {
		p.fail("replay failed: %v", err)
	}
	if !res.Replayed {
		p.fail("replay was applied again: %+v", res)
	}
	if after := p.snapshot(); after != before {
		p.fail("replay changed the ledger:\n%s\n%s", before, after)
	}
}

func (p *prop) snapshot() string {
	var s string
	for _, c := range p.custs {
		b := p.h.balance("shop", c, time.Time{})
		ms, err := p.l.Movements(p.h.ctx, Account{"shop", c}, MovementQuery{Limit: 10000})
		if err != nil {
			p.fail("%v", err)
		}
		s += fmt.Sprintf("%s %+v %d|", c, b, len(ms))
	}
	return s
}

// check recomputes an account's figures from its movements alone.
func (p *prop) check(c Ident) {
	b := p.h.balance("shop", c, time.Time{})
	ms, err := p.l.Movements(p.h.ctx, Account{"shop", c}, MovementQuery{Limit: 10000})
	if err != nil {
		p.fail("%v", err)
	}
	byID := map[int64]Movement{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	var credited, withdrawn, reset, forgiven, spent, provisional int64
	for _, m := range ms {
		switch m.Kind {
		case KindCredit:
			if m.Phase == PhasePosted {
				credited += m.Amount
			} else if m.State == StatePending {
				provisional += m.Amount
			}
		case KindSpend:
			if m.State != StateVoided {
				spent += m.Final
			}
		case KindWithdraw:
			withdrawn += m.Amount
		case KindPost:
			if byID[m.Ref].Kind == KindCredit {
				credited += m.Amount
			}
		case KindRefund:
			switch byID[m.Ref].Kind {
			case KindSpend:
				spent -= m.Amount
			case KindWithdraw:
				withdrawn -= m.Amount
			default:
				p.fail("refund %d of %s %d", m.ID, byID[m.Ref].Kind, m.Ref)
			}
		case KindReset:
			reset += m.Amount
			forgiven += m.Overdraft
		}
	}
	if b.Provisional != provisional || b.Spent != spent {
		p.fail("%s: balance %+v; movements give provisional %d, spent %d", c, b, provisional, spent)
	}
	if lhs, rhs := credited-withdrawn-reset+forgiven, b.Earned+b.Spent+b.Expired; lhs != rhs {
		p.fail("%s: credited %d - withdrawn %d - reset %d + forgiven %d = %d, but earned+spent+expired = %d (%+v)",
			c, credited, withdrawn, reset, forgiven, lhs, rhs, b)
	}
	if b.Earned < 0 && !p.overdrawn {
		p.fail("%s: earned %d below zero with no overdraft", c, b.Earned)
	}
	var usable, debt, bad int64
	q := p.l.r
	if err := q.QueryRow(`SELECT COALESCE(SUM(l.remaining), 0) FROM lots l JOIN accounts a ON a.id = l.account_id JOIN identifiers i ON i.customer_id = a.customer_id
		WHERE i.ident = ? AND a.program = 'shop' AND l.expires_at > ?`, string(c), micros(p.clock.Now())).Scan(&usable); err != nil {
		p.fail("%v", err)
	}
	if err := q.QueryRow(`SELECT COALESCE(SUM(d.remaining), 0) FROM debts d JOIN accounts a ON a.id = d.account_id JOIN identifiers i ON i.customer_id = a.customer_id
		WHERE i.ident = ? AND a.program = 'shop'`, string(c)).Scan(&debt); err != nil {
		p.fail("%v", err)
	}
	if b.Earned != usable-debt || (debt > 0 && usable > 0) {
		p.fail("%s: earned %d, usable lots %d, debt %d", c, b.Earned, usable, debt)
	}
	if err := q.QueryRow(`SELECT COUNT(*) FROM lots l JOIN accounts a ON a.id = l.account_id JOIN identifiers i ON i.customer_id = a.customer_id
		WHERE i.ident = ? AND (l.remaining < 0 OR l.remaining <> l.amount -
		(SELECT COALESCE(SUM(c.amount), 0) FROM consumptions c WHERE c.lot_id = l.id AND c.debit_id IN (SELECT id FROM movements WHERE account_id = a.id)))`,
		string(c)).Scan(&bad); err != nil {
		p.fail("%v", err)
	}
	if bad != 0 {
		p.fail("%d lots whose remainder disagrees with their consumption", bad)
	}
}
