package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func event(id string) Event {
	return Event{ID: id, Type: "points_earned", Program: "shop", Customer: "web:1", Data: json.RawMessage(`{"points":5}`)}
}

func (h *h) enqueue(evs ...Event) {
	h.t.Helper()
	if err := h.l.Update(h.ctx, func(tx *Tx) error {
		for _, ev := range evs {
			if err := tx.Enqueue(ev); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *h) due() []OutboxEntry {
	h.t.Helper()
	es, err := h.l.DueEvents(h.ctx, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

func ids(es []OutboxEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func wantIDs(t testing.TB, es []OutboxEntry, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := ids(es); !slices.Equal(got, want) {
		t.Fatalf("due events = %v, want %v", got, want)
	}
}

// TestOutboxCommitsWithTheMovement: an event enqueued with a credit exists
// exactly when the credit does.
func TestOutboxCommitsWithTheMovement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		h.customer("web:1")
		credit := func(key, id string, fail bool) error {
			return l.Update(h.ctx, func(tx *Tx) error {
				if _, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:1"}, Meta: Meta{Source: SourceERP, Key: key}, Amount: 10}); err != nil {
					return err
				}
				if err := tx.Enqueue(event(id)); err != nil {
					return err
				}
				if fail {
					return errors.New("later step failed")
				}
				return nil
			})
		}
		if err := credit("k1", "e1", true); err == nil {
			t.Fatal("the failing transaction committed")
		}
		wantIDs(t, h.due())
		wantBalance(t, h.balance("shop", "web:1", time.Time{}), 0, 0, 0, 0)
		if err := credit("k1", "e1", false); err != nil {
			t.Fatal(err)
		}
		es := h.due()
		wantIDs(t, es, "e1")
		e := es[0]
		if e.Type != "points_earned" || e.Program != "shop" || e.Customer != "web:1" || string(e.Data) != `{"points":5}` ||
			!e.At.Equal(clock.Now()) || e.Attempts != 0 || e.LastError != "" || e.Seq == 0 {
			t.Fatalf("due event reads %+v", e)
		}
		wantBalance(t, h.balance("shop", "web:1", time.Time{}), 10, 0, 0, 0)
	})
}

func TestOutboxIgnoresDuplicateIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		add := func(ev Event) bool {
			var added bool
			if err := l.Update(h.ctx, func(tx *Tx) (err error) { added, err = tx.EnqueueNew(ev); return err }); err != nil {
				t.Fatal(err)
			}
			return added
		}
		if !add(event("a")) {
			t.Fatal("first enqueue of a reports a duplicate")
		}
		other := event("a")
		other.Data = json.RawMessage(`{"points":99}`)
		if add(other) {
			t.Fatal("second enqueue of a reports a new event")
		}
		h.enqueue(event("b"), event("b"))
		es := h.due()
		wantIDs(t, es, "a", "b")
		if string(es[0].Data) != `{"points":5}` {
			t.Fatalf("a duplicate replaced the first event's data: %s", es[0].Data)
		}
		// A delivered event still keeps its id from coming back.
		if err := l.MarkDelivered(h.ctx, es[0].Seq); err != nil {
			t.Fatal(err)
		}
		if add(event("a")) {
			t.Fatal("an event delivered already was enqueued again")
		}
		wantIDs(t, h.due(), "b")
	})
}

func TestOutboxDeliveryState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		start := clock.Now()
		h.enqueue(event("e1"), event("e2"))
		clock.Set(start.Add(time.Minute))
		h.enqueue(event("e3"))
		es := h.due()
		wantIDs(t, es, "e1", "e2", "e3")
		seq := map[string]int64{}
		for _, e := range es {
			seq[e.ID] = e.Seq
		}

		// A failed event waits for its next attempt; later ones go on.
		if err := l.MarkFailed(h.ctx, seq["e1"], clock.Now().Add(time.Hour), "HTTP 500: "+strings.Repeat("x", 3000)); err != nil {
			t.Fatal(err)
		}
		wantIDs(t, h.due(), "e2", "e3")
		st, err := l.OutboxStats(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != 3 || st.Failing != 1 || !st.Oldest.Equal(start) {
			t.Fatalf("stats = %+v, want 3 pending, 1 failing, oldest %s", st, start)
		}
		if err := l.MarkDelivered(h.ctx, seq["e2"]); err != nil {
			t.Fatal(err)
		}
		if err := l.MarkDelivered(h.ctx, seq["e2"]); err != nil {
			t.Fatalf("marking a delivered event again: %v", err)
		}
		wantIDs(t, h.due(), "e3")

		// Its time come, the failed event is due again, first in order.
		clock.Set(start.Add(2 * time.Hour))
		es = h.due()
		wantIDs(t, es, "e1", "e3")
		if es[0].Attempts != 1 || !strings.HasPrefix(es[0].LastError, "HTTP 500: xxx") || len(es[0].LastError) > 1010 ||
			!es[0].NextAt.Equal(start.Add(61*time.Minute)) {
			t.Fatalf("failed event reads attempts %d, next %s, error %d bytes", es[0].Attempts, es[0].NextAt, len(es[0].LastError))
		}
		if err := l.MarkFailed(h.ctx, seq["e1"], clock.Now(), "timeout"); err != nil {
			t.Fatal(err)
		}
		if es := h.due(); es[0].Attempts != 2 || es[0].LastError != "timeout" {
			t.Fatalf("second failure reads attempts %d, error %q", es[0].Attempts, es[0].LastError)
		}
		// A failure reported after the delivery changes nothing.
		if err := l.MarkFailed(h.ctx, seq["e2"], clock.Now().Add(time.Hour), "late"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"e1", "e3"} {
			if err := l.MarkDelivered(h.ctx, seq[id]); err != nil {
				t.Fatal(err)
			}
		}
		wantIDs(t, h.due())
		if st, err := l.OutboxStats(h.ctx); err != nil || st != (OutboxStats{}) {
			t.Fatalf("stats after delivering all = %+v, %v; want zero", st, err)
		}
		wantErr(t, l.MarkDelivered(h.ctx, 9999), ErrInvalid)
		wantErr(t, l.MarkFailed(h.ctx, 9999, clock.Now(), "x"), ErrInvalid)
	})
}

func TestOutboxDueLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		var evs []Event
		for i := range 5 {
			evs = append(evs, event(fmt.Sprintf("e%d", i)))
		}
		h.enqueue(evs...)
		es, err := l.DueEvents(h.ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, es, "e0", "e1")
	})
}

func TestEnqueueRefusesBadEvents(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	h := newH(t, l)
	tests := []struct {
		name string
		edit func(*Event)
		want error
	}{
		{"empty id", func(e *Event) { e.ID = "" }, ErrInvalid},
		{"id with spaces", func(e *Event) { e.ID = " a" }, ErrInvalid},
		{"long id", func(e *Event) { e.ID = strings.Repeat("a", 192) }, ErrInvalid},
		{"no type", func(e *Event) { e.Type = "" }, ErrInvalid},
		{"unknown program", func(e *Event) { e.Program = "nope" }, ErrUnknownProgram},
		{"bad customer", func(e *Event) { e.Customer = "phone:1" }, ErrInvalid},
		{"bad data", func(e *Event) { e.Data = json.RawMessage(`{"a":`) }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event("x")
			tt.edit(&ev)
			err := l.Update(h.ctx, func(tx *Tx) error { return tx.Enqueue(ev) })
			wantErr(t, err, tt.want)
		})
	}
	// No data is an empty object.
	ev := event("nodata")
	ev.Data = nil
	h.enqueue(ev)
	if es := h.due(); len(es) != 1 || string(es[0].Data) != "{}" {
		t.Fatalf("due = %+v, want one event with data {}", es)
	}
}

// rises collects what the notifier is given.
type rises struct {
	mu  sync.Mutex
	got []Earned
}

func (r *rises) hook(tx *Tx, es []Earned) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, es...)
	return nil
}

func (r *rises) take() []Earned {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func TestNotifierSeesEarnedRises(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:r")
		h.customer(c)
		// The customer is named by their first identifier, whichever one
		// the write used.
		clock.Set(clock.Now().Add(time.Second))
		if err := l.Update(h.ctx, func(tx *Tx) error { return tx.Link(c, "card:0042") }); err != nil {
			t.Fatal(err)
		}
		rec := &rises{}
		l.SetNotifier(rec.hook)
		acct := Account{"shop", "card:0042"}
		meta := func(source, reason string) Meta { return Meta{Source: source, Key: h.key(), Reason: reason} }
		past := clock.Now().Add(-time.Hour)
		var pendingCredit, pendingSpend, pendingSpend2, postedSpend int64

		steps := []struct {
			name string
			do   func(tx *Tx) (Result, error)
			want int64 // points of the single rise; 0: no rise
		}{
			{"posted credit", func(tx *Tx) (Result, error) {
				return tx.Credit(CreditRequest{Account: acct, Meta: meta(SourceERP, "accrual"), Amount: 100})
			}, 100},
			{"pending credit", func(tx *Tx) (Result, error) {
				r, err := tx.Credit(CreditRequest{Account: acct, Meta: meta(SourceWeb, "accrual"), Amount: 40, Pending: true})
				pendingCredit = r.Main()
				return r, err
			}, 0},
			{"post of the pending credit for less", func(tx *Tx) (Result, error) {
				return tx.Post(FinishRequest{Movement: pendingCredit, Amount: 30, Meta: meta(SourceERP, "conversion")})
			}, 30},
			{"credit already expired", func(tx *Tx) (Result, error) {
				return tx.Credit(CreditRequest{Account: acct, Meta: meta(SourceERP, "accrual"), Amount: 7, Expires: &past})
			}, 0},
			{"pending spend", func(tx *Tx) (Result, error) {
				r, err := tx.Spend(SpendRequest{Account: acct, Meta: meta(SourceWeb, "redemption"), Amount: 20, Pending: true})
				pendingSpend = r.Main()
				return r, err
			}, 0},
			{"void of the pending spend", func(tx *Tx) (Result, error) {
				return tx.Void(FinishRequest{Movement: pendingSpend, Meta: meta(SourceERP, "cancelled")})
			}, 20},
			{"another pending spend", func(tx *Tx) (Result, error) {
				r, err := tx.Spend(SpendRequest{Account: acct, Meta: meta(SourceWeb, "redemption"), Amount: 25, Pending: true})
				pendingSpend2 = r.Main()
				return r, err
			}, 0},
			{"post of the spend for less", func(tx *Tx) (Result, error) {
				return tx.Post(FinishRequest{Movement: pendingSpend2, Amount: 15, Meta: meta(SourceERP, "conversion")})
			}, 10},
			{"posted spend", func(tx *Tx) (Result, error) {
				r, err := tx.Spend(SpendRequest{Account: acct, Meta: meta(SourcePOS, "redemption"), Amount: 50})
				postedSpend = r.Main()
				return r, err
			}, 0},
			{"refund", func(tx *Tx) (Result, error) {
				return tx.Refund(RefundRequest{Movement: postedSpend, Amount: 12, Meta: meta(SourcePOS, "return")})
			}, 12},
			{"void of a pending credit", func(tx *Tx) (Result, error) {
				r, err := tx.Credit(CreditRequest{Account: acct, Meta: meta(SourceWeb, "accrual"), Amount: 5, Pending: true})
				if err != nil {
					return r, err
				}
				return tx.Void(FinishRequest{Movement: r.Main(), Meta: meta(SourceWeb, "cancelled")})
			}, 0},
			{"admin adjustment", func(tx *Tx) (Result, error) {
				return tx.Adjust(AdjustRequest{Account: acct, Meta: meta(SourceAdmin, ""), Points: 9})
			}, 9},
			{"reset", func(tx *Tx) (Result, error) {
				return tx.Reset(ResetRequest{Program: "shop", Customer: c, Meta: meta(SourceAdmin, "")})
			}, 0},
		}
		for _, s := range steps {
			r := h.do(s.do)
			got := rec.take()
			if s.want == 0 {
				if len(got) != 0 {
					t.Fatalf("%s: rises %+v, want none", s.name, got)
				}
				continue
			}
			if len(got) != 1 {
				t.Fatalf("%s: rises %+v, want one of %d", s.name, got, s.want)
			}
			g := got[len(got)-1]
			if g.Points != s.want || g.Movement != r.Movements[len(r.Movements)-1] || g.Account != (Account{"shop", c}) || g.Source == "" {
				t.Fatalf("%s: rise %+v, want %d points on movement %v of shop/%s", s.name, g, s.want, r.Movements, c)
			}
		}
		// A replay writes nothing and raises nothing.
		h.do(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: acct, Meta: Meta{Source: SourceERP, Key: "same"}, Amount: 3})
		})
		if got := rec.take(); len(got) != 1 || got[0].Source != SourceERP {
			t.Fatalf("rises of a new credit: %+v", got)
		}
		h.do(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: acct, Meta: Meta{Source: SourceERP, Key: "same"}, Amount: 3})
		})
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("a replay raised %+v", got)
		}

		// A savepoint rolled back takes its rises with it.
		err := l.Update(h.ctx, func(tx *Tx) error {
			if err := tx.Try(func() error {
				if _, err := tx.Credit(CreditRequest{Account: acct, Meta: meta(SourceERP, "a"), Amount: 1}); err != nil {
					return err
				}
				return errors.New("undo")
			}); err == nil {
				t.Fatal("Try hid the error")
			}
			_, err := tx.Credit(CreditRequest{Account: acct, Meta: meta(SourceERP, "b"), Amount: 2})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := rec.take(); len(got) != 1 || got[0].Points != 2 || got[0].Reason != "b" {
			t.Fatalf("rises after a rolled-back savepoint: %+v, want only the 2 points of b", got)
		}

		// Without a notifier nothing is recorded.
		l.SetNotifier(nil)
		h.credit(c, 4, nil)
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("rises without a notifier: %+v", got)
		}
	})
}

// TestNotifierErrorRollsBack: the notifications commit with the movement
// or not at all.
func TestNotifierErrorRollsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		h.customer("web:1")
		l.SetNotifier(func(tx *Tx, es []Earned) error {
			if err := tx.Enqueue(event(fmt.Sprintf("earned:%d", es[0].Movement))); err != nil {
				return err
			}
			return errors.New("receiver table full")
		})
		_, err := h.try(func(tx *Tx) (Result, error) {
			return tx.Credit(CreditRequest{Account: Account{"shop", "web:1"}, Meta: Meta{Source: SourceERP, Key: "k"}, Amount: 10})
		})
		if err == nil || !strings.Contains(err.Error(), "receiver table full") {
			t.Fatalf("error = %v, want the notifier's", err)
		}
		wantBalance(t, h.balance("shop", "web:1", time.Time{}), 0, 0, 0, 0)
		wantIDs(t, h.due())

		l.SetNotifier(func(tx *Tx, es []Earned) error {
			return tx.Enqueue(event(fmt.Sprintf("earned:%d", es[0].Movement)))
		})
		id := h.credit("web:1", 10, nil)
		wantIDs(t, h.due(), fmt.Sprintf("earned:%d", id))
	})
}

func TestOnCommitCountsMovements(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		h.customer("web:1")
		var mu sync.Mutex
		var calls []map[Written]int
		for range 2 { // every listener is called
			l.OnCommit(func(m map[Written]int) {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, m)
			})
		}
		take := func() []map[Written]int {
			mu.Lock()
			defer mu.Unlock()
			out := calls
			calls = nil
			return out
		}
		err := l.Update(h.ctx, func(tx *Tx) error {
			for i := range 3 {
				if _, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:1"}, Meta: Meta{Source: SourceERP, Key: fmt.Sprint("c", i)}, Amount: 10}); err != nil {
					return err
				}
			}
			_ = tx.Try(func() error {
				if _, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:1"}, Meta: Meta{Source: SourceERP, Key: "undone"}, Amount: 10}); err != nil {
					return err
				}
				return errors.New("undo")
			})
			_, err := tx.Spend(SpendRequest{Account: Account{"shop", "web:1"}, Meta: Meta{Source: SourceWeb, Key: "s"}, Amount: 5})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[Written]int{{SourceERP, KindCredit}: 3, {SourceWeb, KindSpend}: 1}
		got := take()
		if len(got) != 2 || fmt.Sprint(got[0]) != fmt.Sprint(want) || fmt.Sprint(got[1]) != fmt.Sprint(want) {
			t.Fatalf("OnCommit got %v, want %v twice", got, want)
		}
		// A rolled-back transaction is not reported.
		_ = l.Update(h.ctx, func(tx *Tx) error {
			if _, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:1"}, Meta: Meta{Source: SourceERP, Key: "rb"}, Amount: 10}); err != nil {
				return err
			}
			return errors.New("roll back")
		})
		if got := take(); len(got) != 0 {
			t.Fatalf("a rolled-back transaction was reported: %v", got)
		}
		// A transaction without movements is reported with none.
		h.enqueue(event("e"))
		if got := take(); len(got) != 2 || got[0] != nil {
			t.Fatalf("a transaction without movements was reported as %v", got)
		}
	})
}

func TestExpiringLots(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		now := clock.Now()
		day := func(d int) *time.Time { t := time.Date(2026, 1, 15+d, 0, 0, 0, 0, rome); return &t }
		for _, c := range []Ident{"web:a", "web:b", "web:c"} {
			h.customer(c)
		}
		clock.Set(now.Add(time.Second)) // card:77 comes second: web:a stays the name
		if err := l.Update(h.ctx, func(tx *Tx) error { return tx.Link("web:a", "card:77") }); err != nil {
			t.Fatal(err)
		}
		h.credit("web:a", 10, day(5))
		h.credit("card:77", 5, day(5)) // same account and instant: summed
		h.credit("web:a", 7, day(9))
		h.credit("web:a", 3, day(40)) // beyond the window
		h.credit("web:a", 4, nil)     // never expires
		h.credit("web:b", 20, day(2))
		h.spend("web:b", 20, false) // all used: nothing left to expire
		h.credit("web:c", 8, day(1))
		clock.Set(now)
		var got []string
		err := l.ExpiringLots(h.ctx, "shop", now, now.AddDate(0, 0, 30), func(e ExpiringLot) error {
			got = append(got, fmt.Sprintf("%s %s %s %d", e.Program, e.Customer, ExpiryDay(e.Expires, rome), e.Points))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"shop web:a 2026-01-19 15", "shop web:a 2026-01-23 7", "shop web:c 2026-01-15 8"}
		if !slices.Equal(got, want) {
			t.Fatalf("expiring = %q, want %q", got, want)
		}
		// From after web:c's expiry it is no longer listed.
		got = nil
		if err := l.ExpiringLots(h.ctx, "shop", now.Add(24*time.Hour), now.AddDate(0, 0, 30), func(e ExpiringLot) error {
			got = append(got, string(e.Customer))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []string{"web:a", "web:a"}) {
			t.Fatalf("expiring from tomorrow lists %v, want web:a twice", got)
		}
		wantErr(t, l.ExpiringLots(h.ctx, "nope", now, now, func(ExpiringLot) error { return nil }), ErrUnknownProgram)
		stop := errors.New("stop")
		if err := l.ExpiringLots(h.ctx, "shop", now, now.AddDate(0, 0, 30), func(ExpiringLot) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("fn's error came back as %v", err)
		}
	})
}

// TestExpiringLotsPages: more accounts than one page reads are all listed,
// each once.
func TestExpiringLotsPages(t *testing.T) {
	l := openSQLite(t, &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)})
	h := newH(t, l)
	exp := []*time.Time{tp(time.Date(2026, 2, 1, 0, 0, 0, 0, rome)), tp(time.Date(2026, 2, 2, 0, 0, 0, 0, rome))}
	n := expiringRows + 7
	err := l.Update(h.ctx, func(tx *Tx) error {
		for i := range n {
			c := Ident(fmt.Sprint("web:", i))
			if _, _, err := tx.EnsureCustomer(c); err != nil {
				return err
			}
			for j, e := range exp {
				if _, err := tx.Credit(CreditRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourceERP, Key: fmt.Sprint(i, "-", j)}, Amount: 1, Expires: e}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	now := l.Now()
	if err := l.ExpiringLots(h.ctx, "shop", now, now.AddDate(0, 0, 30), func(e ExpiringLot) error {
		seen[fmt.Sprint(e.Account, e.Expires)]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2*n {
		t.Fatalf("listed %d (account, instant) pairs, want %d", len(seen), 2*n)
	}
	for k, v := range seen {
		if v != 1 {
			t.Fatalf("%s listed %d times", k, v)
		}
	}
}

// TestNotifierRisesOnlyUsablePoints: points given back to a lot that has
// expired, or that a reset closed, raise nothing.
func TestNotifierRisesOnlyUsablePoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("web:x")
		h.customer(c)
		rec := &rises{}
		l.SetNotifier(rec.hook)
		soon := clock.Now().Add(time.Hour)
		h.credit(c, 10, &soon)
		spent := h.do(func(tx *Tx) (Result, error) {
			return tx.Spend(SpendRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourcePOS, Key: h.key()}, Amount: 10})
		}).Main()
		clock.Set(clock.Now().Add(2 * time.Hour))
		rec.take()
		h.do(func(tx *Tx) (Result, error) {
			return tx.Refund(RefundRequest{Movement: spent, Amount: 10, Meta: Meta{Source: SourcePOS, Key: h.key()}})
		})
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("a refund to an expired lot raised %+v", got)
		}

		h.credit(c, 20, nil)
		pending := h.spend(c, 5, true)
		h.do(func(tx *Tx) (Result, error) {
			return tx.Reset(ResetRequest{Program: "shop", Customer: c, Meta: Meta{Source: SourceAdmin, Key: h.key()}})
		})
		rec.take()
		h.do(func(tx *Tx) (Result, error) {
			return tx.Void(FinishRequest{Movement: pending, Meta: Meta{Source: SourceWeb, Key: h.key()}})
		})
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("a void after a reset raised %+v", got)
		}
		wantBalance(t, h.balance("shop", c, time.Time{}), 0, 0, 0, 10)
	})
}
