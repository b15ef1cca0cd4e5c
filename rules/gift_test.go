package rules

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGiftValidate(t *testing.T) {
	loc := rome(t)
	g := func(schedule string) Gift {
		return Gift{ID: "monthly", Schedule: schedule, Points: 10, Description: "Regalo mensile", Location: loc}
	}
	for _, s := range []string{"0 9 1 * *", "@monthly", "@daily", "@yearly", "@weekly", "@hourly", "*/15 8-18 * * MON-FRI", "0 0 29 2 *"} {
		if err := g(s).Validate(); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []struct {
		name string
		gift Gift
		want string
	}{
		{"no id", Gift{Schedule: "@daily", Points: 1, Location: loc}, "no id"},
		{"no points", Gift{ID: "g", Schedule: "@daily", Location: loc}, "points must be greater than 0"},
		{"negative points", Gift{ID: "g", Schedule: "@daily", Points: -5, Location: loc}, "points must be greater than 0"},
		{"no zone", Gift{ID: "g", Schedule: "@daily", Points: 1}, "no time zone"},
		{"empty schedule", g(""), "schedule is empty"},
		{"four fields", g("0 9 1 *"), `schedule "0 9 1 *"`},
		{"six fields", g("0 0 9 1 * *"), `schedule "0 0 9 1 * *"`},
		{"minute out of range", g("61 * * * *"), "61"},
		{"interval", g("@every 1h"), "is an interval"},
		{"own zone", g("CRON_TZ=UTC 0 9 * * *"), "names its own time zone"},
		{"own zone, old form", g("TZ=America/New_York 0 9 * * *"), "names its own time zone"},
		{"never fires", g("0 0 30 2 *"), "never fires"},
	}
	for _, tt := range bad {
		err := tt.gift.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func rfc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGiftDue(t *testing.T) {
	loc := rome(t)
	tests := []struct {
		name      string
		schedule  string
		last, now string
		want      []string // RFC 3339 in Rome; nil for none
		count     int      // when want is nil and count > 0, only the number is checked
	}{
		{"catch-up of several missed months", "0 9 1 * *", "2026-01-15T10:00:00+01:00", "2026-05-01T09:00:00+02:00",
			[]string{"2026-02-01T09:00:00+01:00", "2026-03-01T09:00:00+01:00", "2026-04-01T09:00:00+02:00", "2026-05-01T09:00:00+02:00"}, 0},
		{"an occurrence at last is not due again", "0 9 1 * *", "2026-02-01T09:00:00+01:00", "2026-03-01T08:59:00+01:00", nil, 0},
		{"now before last", "@daily", "2026-02-01T09:00:00+01:00", "2026-01-01T09:00:00+01:00", nil, 0},
		{"now equal to last", "@daily", "2026-02-01T00:00:00+01:00", "2026-02-01T00:00:00+01:00", nil, 0},
		{"instants given in UTC", "0 0 * * *", "2026-06-30T21:30:00Z", "2026-06-30T22:00:00Z",
			[]string{"2026-07-01T00:00:00+02:00"}, 0},
		{"daily 09:00 stays 09:00 across spring", "0 9 * * *", "2026-03-28T00:00:00+01:00", "2026-03-30T00:00:00+02:00",
			[]string{"2026-03-28T09:00:00+01:00", "2026-03-29T09:00:00+02:00"}, 0},
		{"daily 09:00 stays 09:00 across autumn", "0 9 * * *", "2026-10-24T10:00:00+02:00", "2026-10-26T10:00:00+01:00",
			[]string{"2026-10-25T09:00:00+01:00", "2026-10-26T09:00:00+01:00"}, 0},
		{"02:30 does not exist on the spring day: fires at 03:30", "30 2 * * *", "2026-03-27T12:00:00+01:00", "2026-03-31T12:00:00+02:00",
			[]string{"2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"}, 0},
		{"02:30 twice on the autumn day: fires once, the first time", "30 2 * * *", "2026-10-24T12:00:00+02:00", "2026-10-26T12:00:00+01:00",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}, 0},
		{"gap occurrence after a run inside the shifted hour", "30 2 * * *", "2026-03-29T03:10:00+02:00", "2026-03-29T04:00:00+02:00",
			[]string{"2026-03-29T03:30:00+02:00"}, 0},
		{"run just before the gap", "30 2 * * *", "2026-03-29T01:45:00+01:00", "2026-03-29T03:10:00+02:00", nil, 0},
		{"half-hours through the spring gap, each instant once", "*/30 1-3 * * *", "2026-03-29T00:00:00+01:00", "2026-03-29T05:00:00+02:00",
			[]string{"2026-03-29T01:00:00+01:00", "2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"}, 0},
		{"hourly on the 23-hour day", "0 * * * *", "2026-03-28T23:30:00+01:00", "2026-03-29T23:30:00+02:00", nil, 23},
		{"hourly on the 25-hour day", "0 * * * *", "2026-10-24T23:30:00+02:00", "2026-10-25T23:30:00+01:00", nil, 24},
		{"yearly over six years", "@yearly", "2020-06-01T00:00:00+02:00", "2026-06-01T00:00:00+02:00",
			[]string{"2021-01-01T00:00:00+01:00", "2022-01-01T00:00:00+01:00", "2023-01-01T00:00:00+01:00",
				"2024-01-01T00:00:00+01:00", "2025-01-01T00:00:00+01:00", "2026-01-01T00:00:00+01:00"}, 0},
		{"leap day only", "0 0 29 2 *", "2025-01-01T00:00:00+01:00", "2029-01-01T00:00:00+01:00",
			[]string{"2028-02-29T00:00:00+01:00"}, 0},
		{"exactly the cap is not more", "* * * * *", "2026-01-01T00:00:00+01:00", "2026-01-01T16:40:00+01:00", nil, MaxGiftOccurrences},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Gift{ID: "g", Schedule: tt.schedule, Points: 5, Location: loc}
			got, more, err := g.Due(rfc(t, tt.last), rfc(t, tt.now))
			if err != nil || more {
				t.Fatalf("err %v more %v", err, more)
			}
			var s []string
			for _, at := range got {
				if at.Location() != loc {
					t.Fatalf("%v is not in the gift's zone", at)
				}
				s = append(s, at.Format(time.RFC3339))
			}
			if tt.want == nil && tt.count > 0 {
				if len(s) != tt.count {
					t.Fatalf("%d occurrences, want %d: %v", len(s), tt.count, s)
				}
				if !slices.IsSortedFunc(got, func(a, b time.Time) int { return a.Compare(b) }) || len(slices.Compact(slices.Clone(s))) != len(s) {
					t.Fatalf("not strictly increasing: %v", s)
				}
				return
			}
			if !slices.Equal(s, tt.want) {
				t.Fatalf("got %v\nwant %v", s, tt.want)
			}
		})
	}
}

func TestGiftDueCap(t *testing.T) {
	loc := rome(t)
	g := Gift{ID: "minutely", Schedule: "* * * * *", Points: 1, Location: loc}
	last := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, loc) // 1440 minutes
	first, more, err := g.Due(last, now)
	if err != nil || !more || len(first) != MaxGiftOccurrences {
		t.Fatalf("first batch: %d, more %v, err %v", len(first), more, err)
	}
	if want := time.Date(2026, 1, 1, 16, 40, 0, 0, loc); !first[len(first)-1].Equal(want) {
		t.Fatalf("first batch ends at %v, want %v", first[len(first)-1], want)
	}
	rest, more, err := g.Due(first[len(first)-1], now)
	if err != nil || more || len(rest) != 1440-MaxGiftOccurrences {
		t.Fatalf("second batch: %d, more %v, err %v", len(rest), more, err)
	}
	if !rest[0].Equal(time.Date(2026, 1, 1, 16, 41, 0, 0, loc)) || !rest[len(rest)-1].Equal(now) {
		t.Fatalf("second batch %v to %v", rest[0], rest[len(rest)-1])
	}
}

// TestGiftDueSplits is the catch-up guarantee: however the time between two
// runs is cut into runs, every occurrence is due exactly once.
func TestGiftDueSplits(t *testing.T) {
	loc := rome(t)
	spans := []struct{ from, to time.Time }{
		{time.Date(2026, 3, 28, 20, 0, 0, 0, loc), time.Date(2026, 3, 29, 8, 0, 0, 0, loc)},
		{time.Date(2026, 10, 24, 20, 0, 0, 0, loc), time.Date(2026, 10, 25, 8, 0, 0, 0, loc)},
	}
	for _, sched := range []string{"30 2 * * *", "0 * * * *", "*/20 1-3 * * *", "15 2,3 * * *", "@daily"} {
		g := Gift{ID: "g", Schedule: sched, Points: 1, Location: loc}
		for _, sp := range spans {
			whole, _, err := g.Due(sp.from, sp.to)
			if err != nil {
				t.Fatal(err)
			}
			for step := 7 * time.Minute; step <= 5*time.Hour; step *= 3 {
				var pieces []time.Time
				for a := sp.from; a.Before(sp.to); a = a.Add(step) {
					b := a.Add(step)
					if b.After(sp.to) {
						b = sp.to
					}
					got, _, err := g.Due(a, b)
					if err != nil {
						t.Fatal(err)
					}
					pieces = append(pieces, got...)
				}
				if !slices.EqualFunc(whole, pieces, time.Time.Equal) {
					t.Fatalf("%s from %v in steps of %v:\nwhole  %v\npieces %v", sched, sp.from, step, whole, pieces)
				}
			}
		}
	}
}

func TestGiftDueErrors(t *testing.T) {
	loc := rome(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	cases := []struct {
		name string
		gift Gift
		last time.Time
		want string
	}{
		{"zero last", Gift{ID: "g", Schedule: "@daily", Points: 1, Location: loc}, time.Time{}, "no starting instant"},
		{"bad schedule", Gift{ID: "g", Schedule: "every day", Points: 1, Location: loc}, now.Add(-time.Hour), `schedule "every day"`},
		{"no zone", Gift{ID: "g", Schedule: "@daily", Points: 1}, now.Add(-time.Hour), "no time zone"},
	}
	for _, c := range cases {
		got, more, err := c.gift.Due(c.last, now)
		if err == nil || !strings.Contains(err.Error(), c.want) || got != nil || more {
			t.Errorf("%s: %v %v %v, want error with %q", c.name, got, more, err, c.want)
		}
	}
}

func TestGiftKey(t *testing.T) {
	loc := rome(t)
	at := time.Date(2026, 3, 29, 3, 30, 0, 0, loc)
	const want = "gift:monthly:2026-03-29T01:30:00Z"
	if k := GiftKey("monthly", at); k != want {
		t.Fatalf("GiftKey = %s, want %s", k, want)
	}
	if k := (Gift{ID: "monthly"}).Key(at.UTC()); k != want {
		t.Fatalf("same instant in UTC gives %s", k)
	}
	// The two 02:30 of the autumn day are two instants with two keys.
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)
	if GiftKey("g", first) == GiftKey("g", first.Add(time.Hour)) {
		t.Fatal("different instants share a key")
	}
}
