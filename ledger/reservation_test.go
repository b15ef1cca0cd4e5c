package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// reserve is a reservation of the "shop" program made in its own
// transaction.
func (h *h) reserve(id Ident, order string, points int64, ttl time.Duration) (Reservation, bool, error) {
	var r Reservation
	var replayed bool
	err := h.l.Update(h.ctx, func(tx *Tx) error {
		var err error
		r, replayed, err = tx.Reserve(ReserveRequest{Account: Account{"shop", id}, Meta: Meta{Actor: "checkout"}, Order: order, Points: points, TTL: ttl})
		return err
	})
	return r, replayed, err
}

// finish commits or releases an order's reservation in its own
// transaction, committing it even when the call fails (a commit past the
// expiry gives the points back inside the transaction).
func (h *h) finish(commit bool, order string) (Reservation, error) {
	var r Reservation
	var callErr error
	err := h.l.Update(h.ctx, func(tx *Tx) error {
		if commit {
			r, callErr = tx.CommitReservation("shop", order, Meta{Actor: "checkout"})
		} else {
			r, callErr = tx.ReleaseReservation("shop", order, Meta{Actor: "checkout"})
		}
		if errors.Is(callErr, ErrReservationState) {
			return nil
		}
		return callErr
	})
	if err != nil {
		return r, err
	}
	return r, callErr
}

// TestReservationLifecycle walks reservations through every state change
// and checks the state, the error and the balance after each step.
func TestReservationLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		ann, bob := Ident("web:ann"), Ident("web:bob")
		h.customer(ann)
		h.customer(bob)
		h.credit(ann, 1000, nil)
		h.credit(bob, 100, nil)
		start := clock.Now().Add(time.Minute)
		clock.Set(start)
		const ttl = 15 * time.Minute

		type step struct {
			name     string
			order    string // whose reservation state is checked
			do       func() (Reservation, bool, error)
			wantErr  error  // nil: success
			errText  string // part of the error message
			state    string // the reservation's state after the step ("" when none)
			replayed bool
			earned   int64 // ann's earned balance after the step
			spent    int64
		}
		reserve := func(id Ident, order string, points int64) func() (Reservation, bool, error) {
			return func() (Reservation, bool, error) { return h.reserve(id, order, points, ttl) }
		}
		finish := func(commit bool, order string) func() (Reservation, bool, error) {
			return func() (Reservation, bool, error) { r, err := h.finish(commit, order); return r, false, err }
		}
		later := func(d time.Duration, f func() (Reservation, bool, error)) func() (Reservation, bool, error) {
			return func() (Reservation, bool, error) { clock.Set(clock.Now().Add(d)); return f() }
		}
		steps := []step{
			{name: "reserve", order: "W1", do: reserve(ann, "W1", 300), state: ReservationHeld, earned: 700, spent: 300},
			{name: "same again replays", order: "W1", do: reserve(ann, "W1", 300), state: ReservationHeld, replayed: true, earned: 700, spent: 300},
			{name: "other points conflict", order: "W1", do: reserve(ann, "W1", 200), wantErr: ErrIdempotency, errText: "release it first", state: ReservationHeld, earned: 700, spent: 300},
			{name: "other customer conflicts", order: "W1", do: reserve(bob, "W1", 300), wantErr: ErrIdempotency, errText: "held reservation for another customer", state: ReservationHeld, earned: 700, spent: 300},
			{name: "more than usable", order: "W2", do: reserve(ann, "W2", 701), wantErr: ErrInsufficient, earned: 700, spent: 300},
			{name: "release", order: "W1", do: finish(false, "W1"), state: ReservationReleased, earned: 1000},
			{name: "release again is a no-op", order: "W1", do: finish(false, "W1"), state: ReservationReleased, earned: 1000},
			{name: "commit of a released one", order: "W1", do: finish(true, "W1"), wantErr: ErrReservationState, errText: "released", state: ReservationReleased, earned: 1000},
			{name: "reserve anew after release", order: "W1", do: reserve(ann, "W1", 250), state: ReservationHeld, earned: 750, spent: 250},
			{name: "commit", order: "W1", do: finish(true, "W1"), state: ReservationCommitted, earned: 750, spent: 250},
			{name: "commit again replays", order: "W1", do: finish(true, "W1"), state: ReservationCommitted, earned: 750, spent: 250},
			{name: "release of a committed one", order: "W1", do: finish(false, "W1"), wantErr: ErrReservationState, errText: "committed", state: ReservationCommitted, earned: 750, spent: 250},
			{name: "reserve of a committed order replays", order: "W1", do: reserve(ann, "W1", 250), state: ReservationCommitted, replayed: true, earned: 750, spent: 250},
			{name: "other points on a committed order", order: "W1", do: reserve(ann, "W1", 100), wantErr: ErrIdempotency, errText: "change or cancel the order", state: ReservationCommitted, earned: 750, spent: 250},
			{name: "reserve W3", order: "W3", do: reserve(ann, "W3", 100), state: ReservationHeld, earned: 650, spent: 350},
			{name: "commit past the expiry", order: "W3", do: later(ttl, finish(true, "W3")), wantErr: ErrReservationState, errText: "expired at", state: ReservationExpired, earned: 750, spent: 250},
			{name: "reserve anew after expiry", order: "W3", do: reserve(ann, "W3", 100), state: ReservationHeld, earned: 650, spent: 350},
			{name: "an abandoned hold gives way to the next reserve", order: "W4", do: later(ttl+time.Second, reserve(ann, "W4", 700)), state: ReservationHeld, earned: 50, spent: 950},
		}
		for _, s := range steps {
			r, replayed, err := s.do()
			switch {
			case s.wantErr == nil && err != nil:
				t.Fatalf("%s: %v", s.name, err)
			case s.wantErr != nil && !errors.Is(err, s.wantErr):
				t.Fatalf("%s: error %v, want %v", s.name, err, s.wantErr)
			case err != nil && !strings.Contains(err.Error(), s.errText):
				t.Fatalf("%s: error %q does not say %q", s.name, err, s.errText)
			case replayed != s.replayed:
				t.Fatalf("%s: replayed %v, want %v", s.name, replayed, s.replayed)
			}
			got, gerr := l.Reservation(h.ctx, "shop", s.order)
			switch {
			case s.state == "" && !errors.Is(gerr, ErrUnknownReservation):
				t.Fatalf("%s: order %s has reservation %+v (%v), want none", s.name, s.order, got, gerr)
			case s.state != "" && (gerr != nil || got.State != s.state):
				t.Fatalf("%s: order %s's reservation %+v (%v), want state %s", s.name, s.order, got, gerr, s.state)
			}
			if b := h.balance("shop", ann, time.Time{}); b.Earned != s.earned || b.Spent != s.spent {
				t.Fatalf("%s: ann earned %d, spent %d; want %d, %d", s.name, b.Earned, b.Spent, s.earned, s.spent)
			}
			if err == nil && r.State != s.state {
				t.Fatalf("%s: returned state %q, want %q (%+v)", s.name, r.State, s.state, r)
			}
		}
		// W3 expired at the last step (before the W4 reserve), W1 committed.
		for order, want := range map[string]string{"W1": ReservationCommitted, "W3": ReservationExpired, "W4": ReservationHeld} {
			r, err := l.Reservation(h.ctx, "shop", order)
			if err != nil || r.State != want {
				t.Fatalf("reservation %s: %+v, %v; want state %s", order, r, err, want)
			}
		}
		if _, err := l.Reservation(h.ctx, "shop", "W2"); !errors.Is(err, ErrUnknownReservation) {
			t.Fatalf("reservation W2 (refused): %v, want ErrUnknownReservation", err)
		}
		// Each generation has its own pending spend; the voided ones gave
		// their points back.
		ms, err := l.Movements(h.ctx, Account{"shop", ann}, MovementQuery{})
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]State{}
		for _, m := range ms {
			if m.Kind == KindSpend {
				keys[m.Key] = m.State
				if m.Source != SourceAPI || m.Reason != "redemption" || m.Actor != "checkout" || !strings.HasPrefix(m.Key, "reserve:shop:"+m.Document+":g") {
					t.Fatalf("reservation spend %+v: want source api, reason redemption, actor checkout, key reserve:shop:<order>:g<n>", m)
				}
			}
		}
		want := map[string]State{"reserve:shop:W1:g1": StateVoided, "reserve:shop:W1:g2": StatePending, "reserve:shop:W3:g1": StateVoided,
			"reserve:shop:W3:g2": StateVoided, "reserve:shop:W4:g1": StatePending}
		if fmt.Sprint(keys) != fmt.Sprint(want) {
			t.Fatalf("reservation spends %v, want %v", keys, want)
		}
	})
}

// TestReservationRefusals checks the requests refused before anything is
// held.
func TestReservationRefusals(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
	l := openSQLite(t, clock)
	h := newH(t, l)
	h.customer("web:ann")
	h.credit("web:ann", 100, nil)
	clock.Set(clock.Now().Add(time.Minute))
	cases := []struct {
		name string
		req  ReserveRequest
		want error
	}{
		{"no order", ReserveRequest{Account: Account{"shop", "web:ann"}, Points: 10, TTL: time.Minute}, ErrInvalid},
		{"spaces", ReserveRequest{Account: Account{"shop", "web:ann"}, Order: " W1", Points: 10, TTL: time.Minute}, ErrInvalid},
		{"long order", ReserveRequest{Account: Account{"shop", "web:ann"}, Order: strings.Repeat("x", 180), Points: 10, TTL: time.Minute}, ErrInvalid},
		{"no points", ReserveRequest{Account: Account{"shop", "web:ann"}, Order: "W1", TTL: time.Minute}, ErrInvalid},
		{"no ttl", ReserveRequest{Account: Account{"shop", "web:ann"}, Order: "W1", Points: 10}, ErrInvalid},
		{"unknown program", ReserveRequest{Account: Account{"nope", "web:ann"}, Order: "W1", Points: 10, TTL: time.Minute}, ErrUnknownProgram},
		{"unknown customer", ReserveRequest{Account: Account{"shop", "web:zed"}, Order: "W1", Points: 10, TTL: time.Minute}, ErrUnknownCustomer},
		{"bad source", ReserveRequest{Account: Account{"shop", "web:ann"}, Meta: Meta{Source: "till"}, Order: "W1", Points: 10, TTL: time.Minute}, ErrInvalid},
		{"check refuses", ReserveRequest{Account: Account{"shop", "web:ann"}, Order: "W1", Points: 10, TTL: time.Minute,
			Check: func(_ *Tx, earned int64) error {
				if earned != 100 {
					return fmt.Errorf("earned %d passed to the check, want 100", earned)
				}
				return ErrIdempotency // any error the caller chooses
			}}, ErrIdempotency},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := l.Update(h.ctx, func(tx *Tx) error { _, _, err := tx.Reserve(c.req); return err })
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
		})
	}
	// Points earned at this very instant are not yet spendable.
	h.credit("web:ann", 50, nil)
	if _, _, err := h.reserve("web:ann", "W9", 120, time.Minute); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("reserve of points earned now: %v, want ErrInsufficient", err)
	}
	if b := h.balance("shop", "web:ann", time.Time{}); b.Earned != 150 || b.Spent != 0 {
		t.Fatalf("after the refusals: %+v, want 150 earned and nothing spent", b)
	}
	for _, op := range []func(tx *Tx) (Reservation, error){
		func(tx *Tx) (Reservation, error) { return tx.CommitReservation("shop", "W1", Meta{}) },
		func(tx *Tx) (Reservation, error) { return tx.ReleaseReservation("shop", "W1", Meta{}) },
	} {
		if err := l.Update(h.ctx, func(tx *Tx) error { _, err := op(tx); return err }); !errors.Is(err, ErrUnknownReservation) {
			t.Fatalf("finish an unknown reservation: %v, want ErrUnknownReservation", err)
		}
	}
}

// TestExpireReservations checks the sweep: only held reservations past
// their expiry, in batches, up to the limit.
func TestExpireReservations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		h.customer("web:ann")
		h.credit("web:ann", 1000, nil)
		clock.Set(clock.Now().Add(time.Minute))
		for i := range 250 {
			if _, _, err := h.reserve("web:ann", "E"+strconv.Itoa(i), 2, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := h.reserve("web:ann", "LONG", 5, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := h.finish(true, "E0"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.finish(false, "E1"); err != nil {
			t.Fatal(err)
		}
		if n, err := l.ExpireReservations(h.ctx, 0); err != nil || n != 0 {
			t.Fatalf("expire before any expiry: %d, %v", n, err)
		}
		clock.Set(clock.Now().Add(time.Minute))
		if n, err := l.ExpireReservations(h.ctx, 120); err != nil || n != 120 {
			t.Fatalf("expire with limit 120: %d, %v", n, err)
		}
		if n, err := l.ExpireReservations(h.ctx, 0); err != nil || n != 128 {
			t.Fatalf("expire the rest: %d, %v; want 128 (250 less committed, released and 120)", n, err)
		}
		// Left: the committed E0 (2) and LONG (5).
		wantBalance(t, h.balance("shop", "web:ann", time.Time{}), 993, 0, 7, 0)
		for order, want := range map[string]string{"E0": ReservationCommitted, "E1": ReservationReleased, "E2": ReservationExpired, "E249": ReservationExpired, "LONG": ReservationHeld} {
			if r, err := l.Reservation(h.ctx, "shop", order); err != nil || r.State != want {
				t.Fatalf("%s: %+v, %v; want %s", order, r, err, want)
			}
		}
	})
}

// TestReserveConcurrent: 200 checkouts reserve 10 points each at once on
// a balance of 1000; exactly 100 get them, and the balance never goes
// below zero. On MySQL each reserve is a real concurrent transaction.
func TestReserveConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		h.customer("web:ann")
		h.credit("web:ann", 600, nil)
		h.credit("web:ann", 400, tp(clock.Now().Add(48*time.Hour)))
		clock.Set(clock.Now().Add(time.Minute))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, short int
		var others []error
		start := make(chan struct{})
		for i := range 200 {
			wg.Go(func() {
				<-start
				_, _, err := h.reserve("web:ann", fmt.Sprintf("C%03d", i), 10, time.Hour)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrInsufficient):
					short++
				default:
					others = append(others, err)
				}
			})
		}
		// Read balances while the reserves run: never below zero.
		done := make(chan struct{})
		var readErr error
		var low int64
		go func() {
			defer close(done)
			for {
				b, err := l.Balance(context.Background(), Account{"shop", "web:ann"}, time.Time{})
				if err != nil {
					readErr = err
					return
				}
				low = min(low, b.Earned)
				mu.Lock()
				finished := ok+short+len(others) == 200
				mu.Unlock()
				if finished {
					return
				}
			}
		}()
		close(start)
		wg.Wait()
		<-done
		if readErr != nil || low < 0 {
			t.Fatalf("balance while reserving: lowest earned %d, %v", low, readErr)
		}
		if len(others) > 0 || ok != 100 || short != 100 {
			t.Fatalf("%d reserved, %d insufficient, %d other errors (first: %v); want 100 and 100", ok, short, len(others), others[:min(1, len(others))])
		}
		wantBalance(t, h.balance("shop", "web:ann", time.Time{}), 0, 0, 1000, 0)
		var held, sum int64
		if err := l.r.QueryRow("SELECT COUNT(*), COALESCE(SUM(points), 0) FROM reservations WHERE state = 'held'").Scan(&held, &sum); err != nil {
			t.Fatal(err)
		}
		if held != 100 || sum != 1000 {
			t.Fatalf("%d reservations hold %d points; want 100 holding 1000", held, sum)
		}
	})
}

// TestReservationProperty drives random reserves, commits, releases,
// expiries, credits and order outcomes (post or void of committed
// holds) for two customers, and checks after every step that nothing is
// overdrawn, that earned + spent + expired equals what was credited, and
// that every held or committed reservation's spend is still pending and
// every released or expired one's is voided.
func TestReservationProperty(t *testing.T) {
	sequences := 20
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
			n = max(1, n/4)
		}
		for i := range n {
			s := seed + uint64(i)
			runReservationProperty(t, l, clock, s, 80)
		}
	})
}

func runReservationProperty(t *testing.T, l *Ledger, clock *testClock, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	h := newH(t, l)
	fail := func(step int, format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (POINTSYNC_PROPERTY_SEED=%d), step %d: %s", seed, seed, step, fmt.Sprintf(format, args...))
	}
	clock.Set(time.Date(2026, 1, 1, 9, 0, 0, 0, rome))
	base := fmt.Sprintf("r%d-", seed)
	custs := []Ident{Ident("web:" + base + "a"), Ident("web:" + base + "b")}
	credited := map[Ident]int64{}
	for _, c := range custs {
		h.customer(c)
	}
	orders := []string{}
	for i := range 6 {
		orders = append(orders, base+"O"+strconv.Itoa(i))
	}
	for step := range steps {
		c := custs[rng.IntN(len(custs))]
		order := orders[rng.IntN(len(orders))]
		key := fmt.Sprintf("%s%d", base, step)
		var err error
		switch op := rng.IntN(9); op {
		case 0, 1:
			amount := 1 + rng.Int64N(120)
			var exp *time.Time
			if rng.IntN(2) == 0 {
				exp = tp(clock.Now().Add(time.Duration(1+rng.IntN(72)) * time.Hour))
			}
			_, err = h.try(func(tx *Tx) (Result, error) {
				return tx.Credit(CreditRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceERP, Key: key, Reason: "accrual"}, Amount: amount, Expires: exp})
			})
			if err == nil {
				credited[c] += amount
			}
		case 2, 3:
			_, _, err = h.reserve(c, order, 1+rng.Int64N(150), time.Duration(1+rng.IntN(60))*time.Minute)
		case 4:
			_, err = h.finish(true, order)
		case 5:
			_, err = h.finish(false, order)
		case 6:
			_, err = l.ExpireReservations(h.ctx, 1+rng.IntN(3))
		case 7:
			// The order's outcome: a committed hold is posted or voided.
			r, rerr := l.Reservation(h.ctx, "shop", order)
			if rerr != nil || r.State != ReservationCommitted {
				break
			}
			_, err = h.try(func(tx *Tx) (Result, error) {
				if rng.IntN(2) == 0 {
					return tx.Post(FinishRequest{Meta: Meta{Source: SourceERP, Key: key}, Movement: r.Movement})
				}
				return tx.Void(FinishRequest{Meta: Meta{Source: SourceWeb, Key: key}, Movement: r.Movement})
			})
		default:
			clock.Set(clock.Now().Add(time.Duration(rng.IntN(40)) * time.Minute))
		}
		if err != nil && !errors.Is(err, ErrInsufficient) && !errors.Is(err, ErrIdempotency) && !errors.Is(err, ErrReservationState) &&
			!errors.Is(err, ErrUnknownReservation) && !errors.Is(err, ErrAlreadyFinal) {
			fail(step, "unexpected error: %v", err)
		}
		for _, c := range custs {
			b := h.balance("shop", c, time.Time{})
			if b.Earned < 0 {
				fail(step, "%s: earned %d below zero", c, b.Earned)
			}
			if got := b.Earned + b.Spent + b.Expired; got != credited[c] {
				fail(step, "%s: earned %d + spent %d + expired %d = %d, credited %d", c, b.Earned, b.Spent, b.Expired, got, credited[c])
			}
		}
		for _, o := range orders {
			r, err := l.Reservation(h.ctx, "shop", o)
			if errors.Is(err, ErrUnknownReservation) {
				continue
			}
			if err != nil {
				fail(step, "%v", err)
			}
			var finished string
			if err := l.r.QueryRow("SELECT COALESCE(MAX(kind), '') FROM movements WHERE ref_id = ? AND kind IN ('post', 'void')", r.Movement).Scan(&finished); err != nil {
				fail(step, "%v", err)
			}
			switch {
			case r.State == ReservationHeld && finished != "",
				(r.State == ReservationReleased || r.State == ReservationExpired) && finished != string(KindVoid):
				fail(step, "order %s: reservation %s but its spend %d is finished by %q", o, r.State, r.Movement, finished)
			}
		}
	}
}
