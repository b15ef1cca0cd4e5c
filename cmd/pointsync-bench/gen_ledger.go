package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

// ledgerPlan is the ledger the balance reads and the reservations run on:
// Customers web customers of program shop sharing Movements movements, a
// history of posted accruals and redemptions over the last eighteen
// months, the same for the same seed. Now is the setup's clock: the
// recorded times, and which lots a redemption could take (those not
// expired at Now), as the ledger's own clock would decide.
type ledgerPlan struct {
	Customers int
	Movements int
	Seed      uint64
	Now       time.Time
}

// benchProgram is the program of the read and reservation workloads.
const benchProgram = "shop"

// neverExpires is how the ledger stores the expiry of points that do not
// expire (see the ledger's migrations).
const neverExpires = math.MaxInt64

// bulkOp is one movement of a customer's history: a posted credit (an
// accrual, with its expiry or none) or a posted spend (a redemption, never
// more than the customer's usable points), and the lots a spend takes, as
// the ledger takes them: earliest expiry first, no expiry last.
type bulkOp struct {
	Spend   bool
	Amount  int64
	At      time.Time
	Expires *time.Time
	Key     string
	Takes   []lotTake
}

// lotTake is part of a spend taken from the lot of credit Op.
type lotTake struct {
	Op     int // index of the credit in the customer's ops
	Amount int64
}

// ident is customer i's identifier (i from 0).
func (p ledgerPlan) ident(i int) ledger.Ident { return ledger.Ident(fmt.Sprintf("web:%d", i+1)) }

// count is how many movements customer i has: the movements shared out
// evenly.
func (p ledgerPlan) count(i int) int {
	n := p.Movements / p.Customers
	if i < p.Movements%p.Customers {
		n++
	}
	return n
}

// ops is customer i's history, oldest first. One movement in four is a
// redemption when at least 20 points are usable: 10 up to half of them.
// Accruals are 10 to 500 points expiring a year after they were earned,
// one in ten never; those earned more than a year before Now are expired
// (not swept: a balance read counts them as expired).
func (p ledgerPlan) ops(i int) []bulkOp {
	n := p.count(i)
	if n == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(p.Seed, uint64(i)))
	const span = 540 * 24 * 3600
	offsets := make([]int64, n)
	for k := range offsets {
		offsets[k] = rng.Int64N(span)
	}
	slices.Sort(offsets)
	start := p.Now.Add(-span * time.Second)
	now := p.Now.UnixMicro()
	type lot struct {
		op        int
		expires   int64
		remaining int64
	}
	var lots []lot
	out := make([]bulkOp, n)
	for k := range out {
		op := bulkOp{At: start.Add(time.Duration(offsets[k]) * time.Second).UTC(), Key: fmt.Sprintf("bulk:%d:%d", i+1, k)}
		var usable int64
		for _, l := range lots {
			if l.expires > now {
				usable += l.remaining
			}
		}
		if k%4 == 3 && usable >= 20 {
			op.Spend = true
			op.Amount = 10 + rng.Int64N(usable/2-9)
			slices.SortStableFunc(lots, func(a, b lot) int {
				if a.expires != b.expires {
					if a.expires < b.expires {
						return -1
					}
					return 1
				}
				return a.op - b.op
			})
			left := op.Amount
			for j := range lots {
				if left == 0 {
					break
				}
				l := &lots[j]
				if l.expires <= now || l.remaining == 0 {
					continue
				}
				take := min(l.remaining, left)
				l.remaining -= take
				left -= take
				op.Takes = append(op.Takes, lotTake{Op: l.op, Amount: take})
			}
		} else {
			op.Amount = 10 + rng.Int64N(491)
			exp := int64(neverExpires)
			if rng.IntN(10) != 0 {
				t := op.At.Add(365 * 24 * time.Hour)
				op.Expires = &t
				exp = t.UnixMicro()
			}
			lots = append(lots, lot{op: k, expires: exp, remaining: op.Amount})
		}
		out[k] = op
	}
	return out
}

// creditRequest and spendRequest are the ledger requests an op stands
// for: what the ledger's own API would be asked, hashed for the
// idempotency record exactly as it hashes them.
func (p ledgerPlan) creditRequest(i int, op bulkOp) ledger.CreditRequest {
	return ledger.CreditRequest{Account: ledger.Account{Program: benchProgram, Customer: p.ident(i)},
		Meta:   ledger.Meta{Source: ledger.SourceWeb, Key: op.Key, Reason: "accrual", At: op.At},
		Amount: op.Amount, Expires: op.Expires}
}

func (p ledgerPlan) spendRequest(i int, op bulkOp) ledger.SpendRequest {
	return ledger.SpendRequest{Account: ledger.Account{Program: benchProgram, Customer: p.ident(i)},
		Meta:   ledger.Meta{Source: ledger.SourceWeb, Key: op.Key, Reason: "redemption", At: op.At},
		Amount: op.Amount}
}
