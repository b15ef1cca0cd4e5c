package rules

import (
	"fmt"
	"time"
)

// Date is a calendar day with no time and no zone, as operators write it
// ("2026-12-31"). The zero Date means "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateLayout is the ISO form used in configuration, JSON and the CLI.
const DateLayout = "2006-01-02"

// ParseDate reads an ISO date (YYYY-MM-DD). The empty string gives the zero
// Date and no error, so "no date" can be written as an empty field.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not of the form YYYY-MM-DD (for example 2026-12-31)", s)
	}
	return DateOf(t), nil
}

// DateOf is the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// IsZero reports whether d is the zero Date ("no date").
func (d Date) IsZero() bool { return d == Date{} }

// String gives the ISO form, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// AddDays returns the day n days after d (n may be negative).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Start is the first instant of d in loc (midnight, or the first instant
// after a daylight-saving gap).
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// EndOfDay is the instant points dated d stop being usable: midnight at the
// end of d, that is the start of the next day, in loc (SPEC 3.5).
func (d Date) EndOfDay(loc *time.Location) time.Time {
	return d.AddDays(1).Start(loc)
}

// ExpiryDate is the last day on which points expiring at instant t are still
// usable, in loc: the day that contains the instant just before t.
func ExpiryDate(t time.Time, loc *time.Location) Date {
	return DateOf(t.Add(-time.Nanosecond).In(loc))
}

// MarshalText gives the ISO form so a Date reads and writes as a string in
// YAML and JSON.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads the ISO form.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
