package rules

import (
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Gift grants points on a schedule ("regali periodici", SPEC 3.1).
type Gift struct {
	ID string
	// Schedule is a 5-field cron expression ("0 9 1 * *") or a descriptor
	// (@yearly, @monthly, @weekly, @daily, @hourly), read in Location.
	Schedule    string
	Points      int64
	Description string
	// Location is the zone the schedule's wall-clock times are in, normally
	// the program's.
	Location *time.Location
}

// MaxGiftOccurrences bounds one Due call, so a daemon back from a long
// outage with a minutely gift catches up in batches instead of at once.
const MaxGiftOccurrences = 1000

// Validate reports a gift that cannot be scheduled, naming what to change.
func (g Gift) Validate() error {
	switch {
	case g.ID == "":
		return errors.New("gift has no id")
	case g.Points <= 0:
		return fmt.Errorf("gift %s: points must be greater than 0, got %d", g.ID, g.Points)
	case g.Location == nil:
		return fmt.Errorf("gift %s: no time zone; set the program's", g.ID)
	}
	_, err := g.schedule()
	return err
}

func (g Gift) schedule() (*cron.SpecSchedule, error) {
	if g.Schedule == "" {
		return nil, fmt.Errorf("gift %s: schedule is empty; write a cron expression such as \"0 9 1 * *\" (09:00 on the 1st of each month)", g.ID)
	}
	s, err := cron.ParseStandard(g.Schedule)
	if err != nil {
		return nil, fmt.Errorf("gift %s: schedule %q: %w", g.ID, g.Schedule, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		// @every counts from whenever the daemon last looked, so the same
		// occurrence would get a different instant, and key, on each run.
		return nil, fmt.Errorf("gift %s: schedule %q is an interval; use a cron expression or @daily, @weekly, @monthly, @yearly", g.ID, g.Schedule)
	}
	if spec.Location != time.Local {
		return nil, fmt.Errorf("gift %s: schedule %q names its own time zone; remove TZ=/CRON_TZ=, the gift uses the program's", g.ID, g.Schedule)
	}
	// Schedules are read on a zone-free wall clock (see Due), so UTC here
	// is that clock, not a zone.
	spec.Location = time.UTC
	if spec.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("gift %s: schedule %q never fires (a day that does not exist?)", g.ID, g.Schedule)
	}
	return spec, nil
}

// Due lists the occurrences of the gift in (last, now], oldest first, in the
// gift's zone. Each occurrence is awarded once, under GiftKey, so a daemon
// that was down catches up every missed occurrence on its next run, and one
// that runs twice over the same span awards nothing twice. At most
// MaxGiftOccurrences are returned; more is true when others remain, and the
// caller continues from the last one returned.
//
// last is where the previous run stopped (or when the gift was set up); a
// zero last is an error rather than a catch-up from year 1.
//
// The schedule names wall-clock times, as cron does: on the spring
// daylight-saving day a time in the skipped hour fires at the same elapsed
// moment (02:30 becomes 03:30), and on the autumn day a time in the repeated
// hour fires once, the first time the clock shows it.
func (g Gift) Due(last, now time.Time) (occurrences []time.Time, more bool, err error) {
	if g.Location == nil {
		return nil, false, fmt.Errorf("gift %s: no time zone", g.ID)
	}
	spec, err := g.schedule()
	if err != nil {
		return nil, false, err
	}
	if last.IsZero() {
		return nil, false, fmt.Errorf("gift %s: no starting instant; pass when the gift was set up or last run", g.ID)
	}
	if !now.After(last) {
		return nil, false, nil
	}
	// Start a little before last on the wall clock: a time in the spring gap
	// before last's wall time may map to an instant after last.
	wall := wallClock(last, g.Location).Add(-3 * time.Hour)
	var prev time.Time
	for {
		wall = spec.Next(wall)
		if wall.IsZero() {
			return occurrences, false, nil
		}
		at := wallInstant(wall, g.Location)
		// A gap time maps onto the hour after it, which the schedule may name
		// too: keep each instant once.
		if !at.After(prev) {
			continue
		}
		prev = at
		if !at.After(last) {
			continue
		}
		if at.After(now) {
			return occurrences, false, nil
		}
		if len(occurrences) == MaxGiftOccurrences {
			return occurrences, true, nil
		}
		occurrences = append(occurrences, at)
	}
}

// Key is GiftKey for this gift.
func (g Gift) Key(at time.Time) string { return GiftKey(g.ID, at) }

// GiftKey is the idempotency key of one occurrence of a gift, the same for
// the same instant whatever zone it is expressed in. The ledger combines it
// with the account, since every customer gets the same occurrence.
func GiftKey(giftID string, at time.Time) string {
	return "gift:" + giftID + ":" + at.UTC().Format(time.RFC3339)
}

// wallClock is t's wall-clock reading in loc, carried as a UTC time so
// arithmetic on it knows no daylight saving.
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// wallInstant is the instant loc's clocks show wall. Go leaves the choice
// unspecified when the reading is skipped or repeated, and gift keys must
// not change with a Go release, so it is made here: a repeated reading is
// its first instant; a skipped one is read with the offset in force before
// the gap.
func wallInstant(wall time.Time, loc *time.Location) time.Time {
	_, offBefore := wall.Add(-36 * time.Hour).In(loc).Zone()
	_, offAfter := wall.Add(36 * time.Hour).In(loc).Zone()
	var found time.Time
	for _, off := range []int{offBefore, offAfter} {
		at := wall.Add(-time.Duration(off) * time.Second)
		if wallClock(at, loc).Equal(wall) && (found.IsZero() || at.Before(found)) {
			found = at
		}
	}
	if found.IsZero() {
		found = wall.Add(-time.Duration(offBefore) * time.Second)
	}
	return found.In(loc)
}
