package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

func TestActions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		p := program(rules.AccrualRules{Base: "value", Mode: "steps", Points: 1, Per: 100})
		p.Actions = rules.ActionRules{Registration: 100, Newsletter: 50, Review: 20}
		e := newEngine(t, p)
		at := c.Now()
		act := func(a Action) {
			t.Helper()
			run(t, l, func(tx *ledger.Tx) error { return e.Action(tx, "shop", a) })
		}
		// The newsletter arrives before the registration: it waits.
		act(Action{Customer: "web:7", Kind: rules.ActionNewsletter, At: at.Add(time.Minute)})
		if parked, _ := l.Parked(context.Background(), "shop"); len(parked) != 1 {
			t.Fatalf("parked = %+v", parked)
		}
		act(Action{Customer: "web:7", Kind: rules.ActionRegistration, At: at})
		want(t, balance(t, l, "web:7"), 150, 0, 0)
		// Registration and newsletter once, whatever comes again.
		act(Action{Customer: "web:7", Kind: rules.ActionRegistration, At: at.Add(time.Hour)})
		act(Action{Customer: "web:7", Kind: rules.ActionNewsletter, At: at.Add(2 * time.Hour)})
		want(t, balance(t, l, "web:7"), 150, 0, 0)
		// Reviews count per review; the same review twice counts once.
		for _, id := range []string{"R1", "R2", "R1"} {
			act(Action{Customer: "web:7", Kind: rules.ActionReview, ReviewID: id, At: at.Add(3 * time.Hour)})
		}
		want(t, balance(t, l, "web:7"), 190, 0, 0)
		if parked, _ := l.Parked(context.Background(), "shop"); len(parked) != 0 {
			t.Fatalf("still parked: %+v", parked)
		}

		p.Actions.ReviewOnce = true
		e = newEngine(t, p)
		act(Action{Customer: "web:8", Kind: rules.ActionRegistration, At: at})
		for _, id := range []string{"R3", "R4"} {
			act(Action{Customer: "web:8", Kind: rules.ActionReview, ReviewID: id, At: at.Add(time.Hour)})
		}
		want(t, balance(t, l, "web:8"), 120, 0, 0)
	})
}
