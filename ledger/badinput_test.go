package ledger

import (
	"math"
	"strings"
	"testing"
)

// TestBadInputAmountLimit is the "points overflow" row of the bad input
// catalogue (docs/reliability.md): whatever the caller (command line,
// API, facts from a webservice), a movement beyond MaxAmount is refused
// with ErrInvalid, nothing of it is written, and the account stays
// readable. Before the limit, two credits past half of int64 made every
// later read of the account fail with an integer overflow.
func TestBadInputAmountLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		id := Ident("web:big")
		h.customer(id)
		acct := Account{"shop", id}
		admin := func() Meta { return Meta{Source: SourceAdmin, Key: h.key(), Actor: "test"} }
		// An adjustment to change below, at the limit.
		adj := h.do(func(tx *Tx) (Result, error) {
			return tx.Adjust(AdjustRequest{Account: acct, Meta: admin(), Points: MaxAmount})
		}).Main()
		refused := []struct {
			name string
			op   func(tx *Tx) (Result, error)
			want string
		}{
			{"credit of MaxInt64", func(tx *Tx) (Result, error) {
				return tx.Credit(CreditRequest{Account: acct, Meta: Meta{Source: SourceERP, Key: h.key(), Reason: "accrual"}, Amount: math.MaxInt64})
			}, "credit amount 9223372036854775807 is beyond the limit of ±10000000000000 per movement"},
			{"pending credit one past the limit", func(tx *Tx) (Result, error) {
				return tx.Credit(CreditRequest{Account: acct, Meta: Meta{Source: SourceWeb, Key: h.key(), Reason: "accrual"}, Amount: MaxAmount + 1, Pending: true})
			}, "credit amount 10000000000001 is beyond the limit"},
			{"till overdraft of MaxInt64", func(tx *Tx) (Result, error) {
				return tx.Spend(SpendRequest{Account: acct, Meta: Meta{Source: SourcePOS, Key: h.key(), Reason: "redemption"}, Amount: math.MaxInt64, Overdraft: true})
			}, "amount 9223372036854775807 is beyond the limit"},
			{"adjustment of MaxInt64", func(tx *Tx) (Result, error) {
				return tx.Adjust(AdjustRequest{Account: acct, Meta: admin(), Points: math.MaxInt64})
			}, "adjustment 9223372036854775807 is beyond the limit"},
			{"adjustment of MinInt64", func(tx *Tx) (Result, error) {
				return tx.Adjust(AdjustRequest{Account: acct, Meta: admin(), Points: math.MinInt64})
			}, "adjustment -9223372036854775808 is beyond the limit"},
			{"withdrawal one past the limit", func(tx *Tx) (Result, error) {
				return tx.Adjust(AdjustRequest{Account: acct, Meta: admin(), Points: -MaxAmount - 1})
			}, "adjustment -10000000000001 is beyond the limit"},
			{"change of an adjustment to MaxInt64", func(tx *Tx) (Result, error) {
				return tx.ChangeAdjustment(ChangeRequest{Meta: admin(), Movement: adj, Points: math.MaxInt64})
			}, "adjustment 9223372036854775807 is beyond the limit"},
		}
		for _, tt := range refused {
			_, err := h.try(tt.op)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%s: %v, want ErrInvalid with %q", tt.name, err, tt.want)
			}
			wantErr(t, err, ErrInvalid)
		}
		// At the limit, twice: the sums stay far inside int64 and the
		// account reads back.
		h.do(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: acct, Meta: Meta{Source: SourceERP, Key: h.key(), Reason: "accrual"}, Amount: MaxAmount})
		})
		wantBalance(t, h.balance("shop", id, clock.Now()), 2*MaxAmount, 0, 0, 0)
		ms, err := l.Movements(h.ctx, acct, MovementQuery{})
		if err != nil || len(ms) != 2 {
			t.Fatalf("movements %d, %v: want the two accepted, none of the refused", len(ms), err)
		}
		h.do(func(tx *Tx) (Result, error) {
			return tx.Adjust(AdjustRequest{Account: acct, Meta: admin(), Points: -MaxAmount})
		})
		wantBalance(t, h.balance("shop", id, clock.Now()), MaxAmount, 0, 0, 0)
	})
}
