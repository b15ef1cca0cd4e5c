package reconcile

import (
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

func TestGiftsCatchUpOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *ledger.Ledger, c *clock) {
		p := program(rules.AccrualRules{})
		p.Gifts = []rules.Gift{{ID: "monthly", Schedule: "0 9 1 * *", Points: 10, Description: "Monthly gift", Location: rome}}
		e := newEngine(t, p)
		adjust(t, l, "web:g1", 1)
		adjust(t, l, "web:g2", 1)
		gifts := func() int {
			var n int
			run(t, l, func(tx *ledger.Tx) error {
				var err error
				n, err = e.Gifts(tx, "shop")
				return err
			})
			return n
		}
		c.Set(time.Date(2026, 3, 15, 12, 0, 0, 0, rome))
		if n := gifts(); n != 0 {
			t.Fatalf("first run awarded %d; counting starts now", n)
		}
		// Down from mid-March to mid-May: April and May, once each.
		c.Set(time.Date(2026, 5, 15, 12, 0, 0, 0, rome))
		if n := gifts(); n != 4 {
			t.Fatalf("catch-up awarded %d, want 2 occurrences x 2 customers", n)
		}
		if n := gifts(); n != 0 {
			t.Fatalf("a second run awarded %d", n)
		}
		want(t, balance(t, l, "web:g1"), 21, 0, 0)
	})
}
