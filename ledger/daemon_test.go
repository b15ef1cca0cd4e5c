package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pointsync/pointsync/internal/testdb"
)

var errBatchFailed = errors.New("batch failed")

func (h *h) update(fn func(tx *Tx) error) {
	h.t.Helper()
	if err := h.l.Update(h.ctx, fn); err != nil {
		h.t.Fatal(err)
	}
}

func (h *h) cursor(source string) string {
	h.t.Helper()
	c, err := h.l.Cursor(h.ctx, source)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func TestCursors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		if c := h.cursor("erp"); c != "" {
			t.Fatalf("cursor before any = %q, want empty", c)
		}
		h.update(func(tx *Tx) error {
			if c, err := tx.Cursor("erp"); c != "" || err != nil {
				t.Fatalf("cursor in tx before any = %q, %v", c, err)
			}
			if err := tx.SetCursor("erp", "2026-01-15T10:00:00|4711"); err != nil {
				return err
			}
			if err := tx.SetCursor("pos", "città.csv"); err != nil {
				return err
			}
			c, err := tx.Cursor("erp")
			if c != "2026-01-15T10:00:00|4711" || err != nil {
				t.Fatalf("cursor read back in its tx = %q, %v", c, err)
			}
			return nil
		})
		if c := h.cursor("erp"); c != "2026-01-15T10:00:00|4711" {
			t.Fatalf("cursor = %q", c)
		}
		if c := h.cursor("pos"); c != "città.csv" {
			t.Fatalf("cursor of another source = %q", c)
		}

		// A batch that fails leaves the cursor where it was: it is fetched again.
		err := l.Update(h.ctx, func(tx *Tx) error {
			if err := tx.SetCursor("erp", "moved"); err != nil {
				return err
			}
			return errBatchFailed
		})
		wantErr(t, err, errBatchFailed)
		if c := h.cursor("erp"); c != "2026-01-15T10:00:00|4711" {
			t.Fatalf("cursor after a failed batch = %q", c)
		}

		// Savepoints: a failed part undoes its cursor, a good part keeps it.
		big := strings.Repeat("x", 200_000)
		h.update(func(tx *Tx) error {
			err := tx.Try(func() error {
				if err := tx.SetCursor("erp", "undone"); err != nil {
					return err
				}
				return errBatchFailed
			})
			wantErr(t, err, errBatchFailed)
			if c, err := tx.Cursor("erp"); c != "2026-01-15T10:00:00|4711" || err != nil {
				t.Fatalf("cursor after a failed savepoint = %q, %v", c, err)
			}
			return tx.Try(func() error { return tx.SetCursor("erp", big) })
		})
		if c := h.cursor("erp"); c != big {
			t.Fatalf("cursor of %d bytes read back as %d bytes", len(big), len(c))
		}

		for _, tc := range []struct{ source, cursor string }{
			{"", "c"},
			{"erp ", "c"},
			{strings.Repeat("s", 192), "c"},
			{"erp", "\xff\xfe"},
			{"erp", strings.Repeat("x", maxCursorBytes+1)},
		} {
			err := l.Update(h.ctx, func(tx *Tx) error { return tx.SetCursor(tc.source, tc.cursor) })
			wantErr(t, err, ErrInvalid)
		}
		if c := h.cursor("erp"); c != big {
			t.Fatal("a refused cursor changed the stored one")
		}
	})
}

func TestUnits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		key := "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		if _, ok, err := l.Unit(h.ctx, "pos", key); ok || err != nil {
			t.Fatalf("unit before recording: %v, %v", ok, err)
		}
		first := Unit{Key: key, Name: "S01_20260115.csv", Rows: 1000, Rejected: 1}
		h.update(func(tx *Tx) error {
			if err := tx.RecordUnit("pos", first); err != nil {
				return err
			}
			// The same file in the same batch under another name.
			return tx.RecordUnit("pos", Unit{Key: key, Name: "copy.csv", Rows: 3})
		})
		clock.Set(clock.Now().Add(time.Hour))
		h.update(func(tx *Tx) error {
			return tx.RecordUnit("pos", Unit{Key: key, Name: "again.csv", Rows: 7, DoneAt: clock.Now()})
		})
		got, ok, err := l.Unit(h.ctx, "pos", key)
		if err != nil || !ok {
			t.Fatalf("unit: %v, %v", ok, err)
		}
		want := first
		want.DoneAt = clock.Now().Add(-time.Hour).UTC()
		if got != want {
			t.Fatalf("unit = %+v, want the first record %+v", got, want)
		}
		if _, ok, _ := l.Unit(h.ctx, "erp", key); ok {
			t.Fatal("a unit of pos is seen under erp")
		}

		// Not recorded when its batch or savepoint fails.
		err = l.Update(h.ctx, func(tx *Tx) error {
			if err := tx.RecordUnit("pos", Unit{Key: "sha256:rolled-back"}); err != nil {
				return err
			}
			return errBatchFailed
		})
		wantErr(t, err, errBatchFailed)
		h.update(func(tx *Tx) error {
			err := tx.Try(func() error {
				if err := tx.RecordUnit("pos", Unit{Key: "sha256:savepoint"}); err != nil {
					return err
				}
				return errBatchFailed
			})
			wantErr(t, err, errBatchFailed)
			return nil
		})
		for _, k := range []string{"sha256:rolled-back", "sha256:savepoint"} {
			if _, ok, err := l.Unit(h.ctx, "pos", k); ok || err != nil {
				t.Fatalf("unit %s after its rollback: %v, %v", k, ok, err)
			}
		}

		// A long file name is cut; a bad key or count is refused.
		long := strings.Repeat("ä", 600) + ".csv"
		h.update(func(tx *Tx) error { return tx.RecordUnit("pos", Unit{Key: "sha256:long", Name: long}) })
		u, _, err := l.Unit(h.ctx, "pos", "sha256:long")
		if err != nil || u.Name != clip(long, maxNameLen) || utf8.RuneCountInString(u.Name) != maxNameLen {
			t.Fatalf("long name stored as %d characters (%v)", utf8.RuneCountInString(u.Name), err)
		}
		for _, bad := range []Unit{{Key: ""}, {Key: strings.Repeat("k", 192)}, {Key: "k", Rows: -1}, {Key: "k", Rejected: -1}} {
			err := l.Update(h.ctx, func(tx *Tx) error { return tx.RecordUnit("pos", bad) })
			wantErr(t, err, ErrInvalid)
		}
	})
}

func TestRejects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		longOrigin := "/srv/drop/" + strings.Repeat("é", 600)
		rows := []struct {
			unit string
			in   Reject
			want Reject
		}{
			{"sha256:a", Reject{Origin: "S01.csv", Line: 17, Column: "points", Value: "12,5x", Reason: "not a number"},
				Reject{Origin: "S01.csv", Line: 17, Column: "points", Value: "12,5x", Reason: "not a number"}},
			{"", Reject{Origin: "https://shop/api", Reason: "unknown status"},
				Reject{Origin: "https://shop/api", Reason: "unknown status"}},
			{"sha256:a", Reject{Origin: longOrigin, Line: 3, Column: strings.Repeat("c", 300), Value: "\xff\xfeCAFF\xc8", Reason: strings.Repeat("r", 5000)},
				Reject{Origin: clip(longOrigin, maxOriginLen), Line: 3, Column: strings.Repeat("c", 190) + "…", Value: "\uFFFDCAFF\uFFFD", Reason: strings.Repeat("r", 1023) + "…"}},
			{"sha256:b", Reject{Origin: "S02.csv", Line: 2, Value: strings.Repeat("🙂", 1000)},
				Reject{Origin: "S02.csv", Line: 2, Value: strings.Repeat("🙂", 511) + "…"}},
			{"sha256:a", Reject{Origin: "S01.csv", Line: 900, Reason: "card unknown"},
				Reject{Origin: "S01.csv", Line: 900, Reason: "card unknown"}},
		}
		h.update(func(tx *Tx) error {
			for _, r := range rows {
				if err := tx.Reject("pos", r.unit, r.in); err != nil {
					return err
				}
			}
			// A rejected row recorded in a failed savepoint is undone with it.
			err := tx.Try(func() error {
				if err := tx.Reject("pos", "sha256:a", Reject{Origin: "undone"}); err != nil {
					return err
				}
				return errBatchFailed
			})
			wantErr(t, err, errBatchFailed)
			return nil
		})
		err := l.Update(h.ctx, func(tx *Tx) error {
			if err := tx.Reject("pos", "sha256:a", Reject{Origin: "rolled back"}); err != nil {
				return err
			}
			return errBatchFailed
		})
		wantErr(t, err, errBatchFailed)

		now := clock.Now().UTC()
		for _, unit := range []string{"sha256:a", "sha256:b", ""} {
			var want []Reject
			for _, r := range rows {
				if r.unit == unit {
					r.want.RecordedAt = now
					want = append(want, r.want)
				}
			}
			got, err := l.Rejects(h.ctx, "pos", unit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("rejects of unit %q:\n got %+v\nwant %+v", unit, got, want)
			}
			for _, r := range got {
				for _, s := range []string{r.Origin, r.Column, r.Value, r.Reason} {
					if !utf8.ValidString(s) {
						t.Fatalf("stored text %q is not UTF-8", s)
					}
				}
			}
		}
		if n, err := l.RejectCount(h.ctx, "pos"); n != int64(len(rows)) || err != nil {
			t.Fatalf("reject count = %d, %v; want %d", n, err, len(rows))
		}
		if n, err := l.RejectCount(h.ctx, "erp"); n != 0 || err != nil {
			t.Fatalf("reject count of another source = %d, %v", n, err)
		}
		if got, err := l.Rejects(h.ctx, "pos", "sha256:none"); len(got) != 0 || got == nil || err != nil {
			t.Fatalf("rejects of a unit without any = %#v, %v", got, err)
		}
		err = l.Update(h.ctx, func(tx *Tx) error { return tx.Reject("pos", "unit ", Reject{}) })
		wantErr(t, err, ErrInvalid)
	})
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 5, ""},
		{"abcde", 5, "abcde"},
		{"abcdef", 5, "abcd…"},
		{"àèìòù", 5, "àèìòù"},     // 10 bytes, 5 characters: fits
		{"àèìòùx", 5, "àèìò…"},    // cut between characters, never inside one
		{"a\xffb", 5, "a\uFFFDb"}, // Windows-1252 bytes left undecoded
		{"\xe2\x82", 5, "\uFFFD"}, // a character cut short
		{"abc", 1, "…"},
		{"a", 1, "a"},
	} {
		if got := clip(tc.in, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func FuzzClip(f *testing.F) {
	for _, s := range []string{"", "abc", "àèìòù", "a\xffb", "🙂🙂🙂", "\xe2\x82", strings.Repeat("é", 40)} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 1 || n > 1<<16 {
			return
		}
		got := clip(s, n)
		if !utf8.ValidString(got) {
			t.Fatalf("clip(%q, %d) = %q: not UTF-8", s, n, got)
		}
		if c := utf8.RuneCountInString(got); c > n {
			t.Fatalf("clip(%q, %d) = %q: %d characters", s, n, got, c)
		}
		valid := strings.ToValidUTF8(s, "\uFFFD")
		if utf8.RuneCountInString(valid) <= n {
			if got != valid {
				t.Fatalf("clip(%q, %d) = %q: changed text that fits", s, n, got)
			}
			return
		}
		if !strings.HasSuffix(got, "…") || !strings.HasPrefix(valid, strings.TrimSuffix(got, "…")) {
			t.Fatalf("clip(%q, %d) = %q: not a marked prefix", s, n, got)
		}
	})
}

func TestJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		if jobs, err := l.Jobs(h.ctx); len(jobs) != 0 || jobs == nil || err != nil {
			t.Fatalf("jobs before any = %#v, %v", jobs, err)
		}
		at := time.Date(2026, 1, 15, 9, 0, 0, 123456000, time.UTC)
		failing := Job{Name: "pos-drop", LastRun: at, LastSuccess: at.Add(-time.Hour), LastErrorAt: at,
			LastError: "read /srv/drop/S01.csv: permission denied", Runs: 12, Failures: 2, Rows: 0, Rejected: 0,
			Lag: 90*time.Second + 250*time.Microsecond, NextRun: at.Add(5 * time.Minute), Running: true, Holder: "pos1:4242"}
		erp := Job{Name: "erp-docs", LastRun: at, LastSuccess: at, Runs: 1, Rows: 240, Rejected: 3, NextRun: at.Add(time.Minute), Holder: "pos1:4242"}
		for _, j := range []Job{failing, erp} {
			if err := l.SaveJob(h.ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		jobs, err := l.Jobs(h.ctx)
		if err != nil || !slices.Equal(jobs, []Job{erp, failing}) {
			t.Fatalf("jobs =\n%+v, %v\nwant\n%+v", jobs, err, []Job{erp, failing})
		}

		// The next run succeeds: the row is replaced, never-set times read as zero.
		recovered := Job{Name: "pos-drop", LastRun: at.Add(5 * time.Minute), LastSuccess: at.Add(5 * time.Minute), Runs: 13,
			Rows: 1000, Rejected: 1, Holder: strings.Repeat("h", 300)}
		if err := l.SaveJob(h.ctx, recovered); err != nil {
			t.Fatal(err)
		}
		jobs, err = l.Jobs(h.ctx)
		want := recovered
		want.Holder = clip(recovered.Holder, maxHolderLen)
		if err != nil || len(jobs) != 2 || jobs[1] != want {
			t.Fatalf("jobs after the upsert = %+v, %v; want [1] = %+v", jobs, err, want)
		}
		if !jobs[1].LastErrorAt.IsZero() || !jobs[1].NextRun.IsZero() {
			t.Fatal("cleared times did not read back as zero")
		}

		wantErr(t, l.SaveJob(h.ctx, Job{}), ErrInvalid)
		err = l.Update(h.ctx, func(tx *Tx) error { return l.SaveJob(tx.Context(), erp) })
		wantErr(t, err, ErrNestedUpdate)
	})
}

// feedMovement is a movement made by a test, for checking feeds.
type feedMovement struct {
	id       int64
	program  string
	customer Ident // first-known identifier
}

// creditIn credits 1 point in program to id and records the movement
// under the customer's first-known identifier.
func (h *h) creditIn(log *[]feedMovement, program string, id, first Ident) int64 {
	h.t.Helper()
	mid := h.do(func(tx *Tx) (Result, error) {
		return tx.Credit(CreditRequest{Account: Account{program, id}, Meta: Meta{Source: SourceERP, Key: h.key()}, Amount: 1})
	}).Main()
	*log = append(*log, feedMovement{mid, program, first})
	return mid
}

// checkChanged checks one ChangedCustomers call against the movements
// made: what it returns moved in (after, last], ordered by each one's
// latest movement there, and a customer that moved there but is not
// returned moves again after last, so a later call returns it; fewer
// customers than limit means none moved after last.
func checkChanged(t *testing.T, log []feedMovement, program string, after, last int64, limit int, got []Ident) {
	t.Helper()
	latest := map[Ident]int64{}
	movesLater := map[Ident]bool{}
	for _, m := range log {
		switch {
		case m.program != program || m.id <= after:
		case m.id <= last:
			latest[m.customer] = max(latest[m.customer], m.id)
		default:
			movesLater[m.customer] = true
		}
	}
	seen := map[Ident]bool{}
	var prev int64
	for _, c := range got {
		id, ok := latest[c]
		if !ok || seen[c] || id <= prev {
			t.Fatalf("ChangedCustomers(%s, %d) = %v, %d: %s is not in order, twice or did not move (latest %v)", program, after, got, last, c, latest)
		}
		seen[c], prev = true, id
	}
	if len(got) < limit && len(movesLater) > 0 {
		t.Fatalf("ChangedCustomers(%s, %d, %d) = %v, %d: fewer than the limit, yet %v moved after", program, after, limit, got, last, movesLater)
	}
	for c := range latest {
		if !seen[c] && !movesLater[c] {
			t.Fatalf("ChangedCustomers(%s, %d) = %v, %d: %s moved and is lost", program, after, got, last, c)
		}
	}
}

func TestChangedCustomers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		start, err := l.LastMovementID(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c, last, err := l.ChangedCustomers(h.ctx, "shop", start, 10); len(c) != 0 || last != start || err != nil {
			t.Fatalf("nothing changed: %v, %d, %v; want none, %d", c, last, err, start)
		}
		// Customer D is known first as web:9 and linked to erp:A later: it
		// is named web:9 though erp:A sorts first.
		for _, c := range []Ident{"web:1", "web:2", "web:3", "web:9"} {
			h.customer(c)
		}
		clock.Set(clock.Now().Add(time.Minute))
		h.update(func(tx *Tx) error { return tx.Link("web:9", "erp:A") })

		var log []feedMovement
		h.creditIn(&log, "shop", "web:1", "web:1")
		h.creditIn(&log, "shop", "web:2", "web:2")
		h.creditIn(&log, "card", "web:3", "web:3")
		h.creditIn(&log, "shop", "web:3", "web:3")
		h.creditIn(&log, "shop", "web:1", "web:1")
		h.creditIn(&log, "card", "web:1", "web:1")
		h.creditIn(&log, "shop", "erp:A", "web:9")
		end := log[len(log)-1].id

		// Whole feed at once.
		got, last, err := l.ChangedCustomers(h.ctx, "shop", start, 100)
		if err != nil || last != end || !slices.Equal(got, []Ident{"web:2", "web:3", "web:1", "web:9"}) {
			t.Fatalf("shop = %v, %d, %v", got, last, err)
		}
		got, last, err = l.ChangedCustomers(h.ctx, "card", start, 100)
		if err != nil || last != end || !slices.Equal(got, []Ident{"web:3", "web:1"}) {
			t.Fatalf("card = %v, %d, %v", got, last, err)
		}

		// Paged, with rounds of several sizes.
		defer func(w int) { changeWindow = w }(changeWindow)
		for _, window := range []int{1, 2, 3, 10000} {
			for _, limit := range []int{1, 2, 3, 100} {
				for _, program := range []string{"shop", "card"} {
					changeWindow = window
					after, calls := start, 0
					returned := map[Ident]int64{} // customer -> last of the call that returned it
					for {
						got, last, err := l.ChangedCustomers(h.ctx, program, after, limit)
						if err != nil {
							t.Fatal(err)
						}
						if len(got) > limit || last < after {
							t.Fatalf("window %d, limit %d: %v, %d after %d", window, limit, got, last, after)
						}
						checkChanged(t, log, program, after, last, limit, got)
						for _, c := range got {
							returned[c] = last
						}
						if last == after {
							break
						}
						if calls++; calls > len(log)+1 {
							t.Fatalf("window %d, limit %d: the feed does not end", window, limit)
						}
						after = last
					}
					if after != end {
						t.Fatalf("window %d, limit %d: feed ended at %d, want %d", window, limit, after, end)
					}
					for _, m := range log {
						if m.program == program && returned[m.customer] < m.id {
							t.Fatalf("window %d, limit %d, %s: movement %d of %s never reached the feed", window, limit, program, m.id, m.customer)
						}
					}
				}
			}
		}
		changeWindow = 10000

		// Only another program moved: nothing for shop, and last moves past it.
		other := h.creditIn(&log, "card", "web:2", "web:2")
		got, last, err = l.ChangedCustomers(h.ctx, "shop", end, 10)
		if len(got) != 0 || last != other || err != nil {
			t.Fatalf("after another program moved: %v, %d, %v; want none, %d", got, last, err, other)
		}

		_, _, err = l.ChangedCustomers(h.ctx, "nope", start, 10)
		wantErr(t, err, ErrUnknownProgram)
		err = l.Update(h.ctx, func(tx *Tx) error {
			_, _, err := l.ChangedCustomers(tx.Context(), "shop", start, 10)
			return err
		})
		wantErr(t, err, ErrNestedUpdate)
	})
}

func TestMovementsAfter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, clock *testClock) {
		h := newH(t, l)
		start, err := l.LastMovementID(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ms, err := l.MovementsAfter(h.ctx, start, 10); len(ms) != 0 || ms == nil || err != nil {
			t.Fatalf("movements after the last = %#v, %v", ms, err)
		}
		for _, c := range []Ident{"web:1", "card:0420001234"} {
			h.customer(c)
		}
		clock.Set(clock.Now().Add(time.Minute))
		h.update(func(tx *Tx) error { return tx.Link("card:0420001234", "erp:C1") })

		var log []feedMovement
		h.creditIn(&log, "shop", "web:1", "web:1")
		h.creditIn(&log, "card", "erp:C1", "card:0420001234")
		spend := h.spend("web:1", 1, true)
		log = append(log, feedMovement{spend, "shop", "web:1"})
		void := h.do(func(tx *Tx) (Result, error) {
			return tx.Void(FinishRequest{Meta: Meta{Source: SourceWeb, Key: h.key()}, Movement: spend})
		}).Main()
		log = append(log, feedMovement{void, "shop", "web:1"})
		h.creditIn(&log, "shop", "erp:C1", "card:0420001234")

		last, err := l.LastMovementID(h.ctx)
		if err != nil || last != log[len(log)-1].id {
			t.Fatalf("last movement id = %d, %v; want %d", last, err, log[len(log)-1].id)
		}
		for _, limit := range []int{1, 2, 3, 100} {
			var got []Movement
			after := start
			for {
				page, err := l.MovementsAfter(h.ctx, after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit {
					t.Fatalf("limit %d: %d movements", limit, len(page))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].ID
			}
			if len(got) != len(log) {
				t.Fatalf("limit %d: %d movements, want %d", limit, len(got), len(log))
			}
			for i, m := range got {
				w := log[i]
				if m.ID != w.id || m.Program != w.program || m.Customer != w.customer {
					t.Fatalf("limit %d: movement %d = id %d %s %s, want %d %s %s", limit, i, m.ID, m.Program, m.Customer, w.id, w.program, w.customer)
				}
			}
			if got[2].Kind != KindSpend || got[2].State != StateVoided || got[3].Kind != KindVoid || got[3].Ref != spend {
				t.Fatalf("limit %d: the voided spend reads %+v then %+v", limit, got[2], got[3])
			}
		}
	})
}

// TestFeedsWaitForOpenWrites: on MySQL a movement can become visible
// before an older one commits; the feeds must wait for the older one
// rather than step past it for good.
func TestFeedsWaitForOpenWrites(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
	l := openMySQL(t, clock)
	h := newH(t, l)
	h.customer("web:slow")
	h.customer("web:fast")
	start, err := l.LastMovementID(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	inserted, release, done := make(chan int64), make(chan struct{}), make(chan error, 1)
	released := false
	defer func() {
		// A failure below must not leave the write open: Close would wait on it.
		if !released {
			close(release)
			<-done
		}
	}()
	go func() {
		done <- l.Update(h.ctx, func(tx *Tx) error {
			r, err := tx.Credit(CreditRequest{Account: Account{"shop", "web:slow"}, Meta: Meta{Source: SourceERP, Key: "slow"}, Amount: 1})
			if err != nil {
				return err
			}
			inserted <- r.Main()
			<-release
			return nil
		})
	}()
	var slow int64
	select {
	case slow = <-inserted:
	case err := <-done:
		t.Fatal(err)
	}
	fast := h.credit("web:fast", 1, nil)
	if fast <= slow {
		t.Fatalf("ids %d then %d: the test needs the open write to hold the lower id", slow, fast)
	}
	// The gap is real: a plain read sees the newer movement only.
	var visible int64
	if err := l.r.QueryRowContext(h.ctx, "SELECT MAX(id) FROM movements WHERE id > ?", start).Scan(&visible); err != nil || visible != fast {
		t.Fatalf("plain read: max id %d (%v), want %d", visible, err, fast)
	}

	type result struct {
		name string
		ok   bool
	}
	results := make(chan result, 3)
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	go func() {
		ms, err := l.MovementsAfter(ctx, start, 10)
		results <- result{"MovementsAfter", err == nil && len(ms) == 2 && ms[0].ID == slow && ms[1].ID == fast}
	}()
	go func() {
		cs, last, err := l.ChangedCustomers(ctx, "shop", start, 10)
		results <- result{"ChangedCustomers", err == nil && last == fast && slices.Equal(cs, []Ident{"web:slow", "web:fast"})}
	}()
	go func() {
		id, err := l.LastMovementID(ctx)
		results <- result{"LastMovementID", err == nil && id == fast}
	}()
	select {
	case r := <-results:
		t.Fatalf("%s returned while an older movement was still being written", r.name)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	released = true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r := <-results; !r.ok {
			t.Errorf("%s did not include the movement that committed late", r.name)
		}
	}
}

// buildAtVersion creates the ledger schema up to version in an empty
// database, as an older pointsync did, and the first statement of the
// next migration, as a run of it cut short.
func buildAtVersion(t *testing.T, db *sql.DB, backend string, version int) {
	t.Helper()
	ms, err := migrations(backend)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name VARCHAR(191) NOT NULL, applied_at BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:version] {
		for _, stmt := range statements(m.sql) {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatalf("migration %d: %v", m.version, err)
			}
		}
		if _, err := db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)", m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	if len(ms) > version {
		if _, err := db.Exec(statements(ms[version].sql)[0]); err != nil {
			t.Fatal(err)
		}
	}
	// A customer with points, written by that older version.
	for _, q := range []string{
		"INSERT INTO customers (id, created_at) VALUES (1, 0)",
		"INSERT INTO identifiers (ident, customer_id, created_at) VALUES ('web:old', 1, 0)",
		"INSERT INTO accounts (id, program, customer_id, created_at, updated_at) VALUES (1, 'shop', 1, 0, 0)",
		"INSERT INTO movements (id, account_id, kind, phase, amount, expires_at, source, idem_key, note, business_at, recorded_at) VALUES (1, 1, 'credit', 'posted', 25, 9223372036854775807, 'erp', 'old', '', 0, 0)",
		"INSERT INTO lots (id, credit_id, account_id, expires_at, amount, remaining, earned_at) VALUES (1, 1, 1, 9223372036854775807, 25, 25, 0)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestMigration4 opens a ledger an older pointsync left at schema version
// 3, with the first table of 0004 made by a run of it cut short (MySQL
// commits each CREATE), and uses the daemon's tables and feeds on it.
func TestMigration4(t *testing.T) {
	if SchemaVersion(BackendSQLite) < 4 || SchemaVersion(BackendMySQL) < 4 {
		t.Fatalf("schema versions %d, %d: this test is about 0004", SchemaVersion(BackendSQLite), SchemaVersion(BackendMySQL))
	}
	check := func(t *testing.T, l *Ledger) {
		t.Helper()
		h := newH(t, l)
		var v int
		if err := l.r.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil || v != SchemaVersion(l.backend) {
			t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion(l.backend))
		}
		wantBalance(t, h.balance("shop", "web:old", time.Time{}), 25, 0, 0, 0)
		ms, err := l.MovementsAfter(h.ctx, 0, 10)
		if err != nil || len(ms) != 1 || ms[0].Customer != "web:old" || ms[0].Program != "shop" {
			t.Fatalf("movements after 0 = %+v, %v", ms, err)
		}
		h.update(func(tx *Tx) error {
			if err := tx.SetCursor("erp", "c1"); err != nil {
				return err
			}
			if err := tx.RecordUnit("pos", Unit{Key: "sha256:x"}); err != nil {
				return err
			}
			return tx.Reject("pos", "sha256:x", Reject{Line: 2})
		})
		if err := l.SaveJob(h.ctx, Job{Name: "erp"}); err != nil {
			t.Fatal(err)
		}
		if c := h.cursor("erp"); c != "c1" {
			t.Fatalf("cursor = %q", c)
		}
	}
	clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		buildAtVersion(t, db, BackendSQLite, 3)
		db.Close()
		l, err := Open(context.Background(), Options{Path: path, Programs: testPrograms, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		check(t, l)
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testdb.MySQL(t)
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1) // FOREIGN_KEY_CHECKS is per connection
		// The shared test database is at the newest version: start it over.
		rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
		}
		rows.Close()
		for _, q := range append(append([]string{"SET FOREIGN_KEY_CHECKS = 0"}, dropAll(tables)...), "SET FOREIGN_KEY_CHECKS = 1") {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		buildAtVersion(t, db, BackendMySQL, 3)
		l, err := Open(context.Background(), Options{Backend: BackendMySQL, DSN: dsn, Programs: testPrograms, Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		check(t, l)
	})
}

func dropAll(tables []string) []string {
	out := make([]string, len(tables))
	for i, name := range tables {
		out[i] = fmt.Sprintf("DROP TABLE `%s`", name)
	}
	return out
}

// TestPanicInUpdateRollsBack: a panic inside Update reaches the caller,
// and the transaction is rolled back, not left holding the write lock.
func TestPanicInUpdateRollsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *Ledger, _ *testClock) {
		ctx := context.Background()
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Fatalf("recovered %v, want the panic", p)
				}
			}()
			_ = l.Update(ctx, func(tx *Tx) error {
				if err := tx.SetCursor("src", "half"); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := l.Update(ctx, func(tx *Tx) error { return tx.SetCursor("src", "next") }); err != nil {
			t.Fatalf("write after a panic: %v", err)
		}
		if c, err := l.Cursor(ctx, "src"); err != nil || c != "next" {
			t.Fatalf("cursor %q, %v", c, err)
		}
	})
}
