package ledger

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestE9Expiry is SPEC E9 on the ledger: points earned 2026-01-15 10:00
// Rome with "365 days" expire at 2027-01-16 00:00 Rome, read correctly
// without a sweep; an admin date of 2026-12-31 on the program moves dated
// lots to 2027-01-01 00:00, leaves undated lots alone unless asked, and an
// empty date clears expiry.
func TestE9Expiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		anna, bruno := Ident("web:anna"), Ident("web:bruno")
		h.customer(anna)
		h.customer(bruno)
		exp := time.Date(2027, 1, 16, 0, 0, 0, 0, rome) // rules.ExpiryPolicy{days 365} of 2026-01-15 10:00
		h.credit(anna, 100, &exp)
		h.credit(anna, 30, nil)
		h.credit(bruno, 50, &exp)

		wantBalance(t, h.balance("shop", anna, time.Time{}), 130, 0, 0, 0, Expiring{"2027-01-15", 100})
		wantBalance(t, h.balance("shop", anna, exp.Add(-time.Second)), 130, 0, 0, 0, Expiring{"2027-01-15", 100})
		wantBalance(t, h.balance("shop", anna, exp), 30, 0, 0, 100) // no sweep has run

		set := func(expires *time.Time, includeNone bool) {
			h.do(func(tx *Tx) (Result, error) {
				return tx.SetExpiry(ExpiryRequest{Program: "shop", Expires: expires, IncludeNoExpiry: includeNone,
					Meta: Meta{Source: SourceAdmin, Key: h.key(), Actor: "test"}})
			})
		}
		newExp := time.Date(2027, 1, 1, 0, 0, 0, 0, rome) // "2026-12-31" in Rome
		set(&newExp, false)
		wantBalance(t, h.balance("shop", anna, time.Time{}), 130, 0, 0, 0, Expiring{"2026-12-31", 100})
		wantBalance(t, h.balance("shop", bruno, time.Time{}), 50, 0, 0, 0, Expiring{"2026-12-31", 50})
		wantBalance(t, h.balance("shop", anna, newExp), 30, 0, 0, 100)

		set(&newExp, true)
		wantBalance(t, h.balance("shop", anna, time.Time{}), 130, 0, 0, 0, Expiring{"2026-12-31", 130})

		set(nil, false)
		wantBalance(t, h.balance("shop", anna, time.Time{}), 130, 0, 0, 0)
		wantBalance(t, h.balance("shop", anna, time.Date(2030, 1, 1, 0, 0, 0, 0, rome)), 130, 0, 0, 0)

		// Already expired points stay expired when a later date is set.
		soon := time.Date(2026, 2, 1, 0, 0, 0, 0, rome)
		carla := Ident("web:carla")
		h.customer(carla)
		h.credit(carla, 10, &soon)
		clock.Set(soon.Add(time.Hour))
		one := Ident("web:carla")
		later := time.Date(2026, 6, 1, 0, 0, 0, 0, rome)
		h.do(func(tx *Tx) (Result, error) {
			return tx.SetExpiry(ExpiryRequest{Program: "shop", Customer: one, Expires: &later, Meta: Meta{Source: SourceAdmin, Key: h.key()}})
		})
		wantBalance(t, h.balance("shop", carla, time.Time{}), 0, 0, 0, 10)

		_, err := h.try(func(tx *Tx) (Result, error) {
			past := soon
			return tx.SetExpiry(ExpiryRequest{Program: "shop", Expires: &past, Meta: Meta{Source: SourceAdmin, Key: h.key()}})
		})
		wantErr(t, err, ErrInvalid)
	})
}

// TestE10Lots is SPEC E10: lots of 100 (March) and 100 (June); a
// redemption of 150 leaves 50 expiring in June, and voiding it gives the
// points back to the same lots with their own expiry.
func TestE10Lots(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("card:0420001234")
		h.customer(c)
		june := time.Date(2026, 7, 1, 0, 0, 0, 0, rome)
		march := time.Date(2026, 4, 1, 0, 0, 0, 0, rome)
		h.credit(c, 100, &june) // written first, expires later
		h.credit(c, 100, &march)
		spend := h.spend(c, 150, true)
		wantBalance(t, h.balance("shop", c, time.Time{}), 50, 0, 150, 0, Expiring{"2026-06-30", 50})
		// The pending spend holds its points: March passing takes nothing from it.
		wantBalance(t, h.balance("shop", c, march), 50, 0, 150, 0, Expiring{"2026-06-30", 50})

		h.do(func(tx *Tx) (Result, error) {
			return tx.Void(FinishRequest{Movement: spend, Meta: Meta{Source: SourceWeb, Key: h.key(), Reason: "cancelled"}})
		})
		wantBalance(t, h.balance("shop", c, time.Time{}), 200, 0, 0, 0, Expiring{"2026-03-31", 100}, Expiring{"2026-06-30", 100})
	})
}

// TestE11Admin is SPEC E11: +50 with a note, changed to +40, then removed:
// the balance is back as before, with three rows in the history; changing
// an order's accrual is refused with a clear message.
func TestE11Admin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		c := Ident("erp:C0001")
		h.customer(c)
		accrual := h.credit(c, 120, nil)
		before := h.balance("shop", c, time.Time{})

		admin := func(note string) Meta { return Meta{Source: SourceAdmin, Key: h.key(), Actor: "maria", Note: note} }
		adj := h.do(func(tx *Tx) (Result, error) {
			return tx.Adjust(AdjustRequest{Account: Account{"shop", c}, Meta: admin("welcome gift"), Points: 50})
		}).Main()
		wantBalance(t, h.balance("shop", c, time.Time{}), 170, 0, 0, 0)
		h.do(func(tx *Tx) (Result, error) {
			return tx.ChangeAdjustment(ChangeRequest{Movement: adj, Points: 40, Meta: admin("gift was 40")})
		})
		wantBalance(t, h.balance("shop", c, time.Time{}), 160, 0, 0, 0)
		h.do(func(tx *Tx) (Result, error) {
			return tx.RemoveAdjustment(RemoveRequest{Movement: adj, Meta: admin("no gift")})
		})
		if got := h.balance("shop", c, time.Time{}); got.Earned != before.Earned || got.Spent != before.Spent {
			t.Fatalf("after removal %+v, want %+v", got, before)
		}

		ms, err := l.Movements(h.ctx, Account{"shop", c}, MovementQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var audit []string
		for _, m := range ms {
			if m.Source == SourceAdmin {
				audit = append(audit, m.Reason+" "+strconv.FormatInt(m.Signed(), 10)+" "+m.Note)
			}
		}
		want := []string{"adjustment_removal -40 no gift", "adjustment_change -10 gift was 40", "adjustment 50 welcome gift"}
		if strings.Join(audit, "|") != strings.Join(want, "|") {
			t.Fatalf("audit history = %q, want %q", audit, want)
		}

		_, err = h.try(func(tx *Tx) (Result, error) {
			return tx.ChangeAdjustment(ChangeRequest{Movement: accrual, Points: 100, Meta: admin("")})
		})
		wantErr(t, err, ErrNotAdjustment)
		if !strings.Contains(err.Error(), "only admin adjustments can be changed or removed") {
			t.Fatalf("message %q does not say what is allowed", err)
		}
		_, err = h.try(func(tx *Tx) (Result, error) {
			return tx.RemoveAdjustment(RemoveRequest{Movement: adj, Meta: admin("")})
		})
		wantErr(t, err, ErrAlreadyFinal)
	})
}
