package csvio

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Date is a calendar day with no time and no zone, as files carry them. Its
// fields match pointsync's rules.Date, so one converts to the other. The zero
// Date means "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Dates outside this range are typing mistakes ("31/12/226", "01/01/1900"
// from an empty Excel cell), not expiries anyone means.
const (
	minYear = 2000
	maxYear = 2200
)

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String gives the ISO form, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Format writes d with a Go layout, or "" for the zero Date.
func (d Date) Format(layout string) string {
	if d.IsZero() {
		return ""
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Format(layout)
}

// ValueError is a value that cannot be read as what its column holds.
type ValueError struct {
	Value  string
	Reason string
}

func (e *ValueError) Error() string { return fmt.Sprintf("%q: %s", truncate(e.Value), e.Reason) }

// reason gives the part of err worth showing next to a value already shown.
func reason(err error) string {
	var ve *ValueError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return err.Error()
}

// ParseDate reads a day with the first of layouts (Go layouts) that fits;
// nil layouts means the default ones (31/12/2026 and 2026-12-31). A time of
// day in the layout is read and dropped. Years before 2000 or after 2200
// are refused.
func ParseDate(s string, layouts []string) (Date, error) {
	if len(layouts) == 0 {
		layouts = defaultDateFormats
	}
	if s == "" {
		return Date{}, &ValueError{Value: s, Reason: "empty date"}
	}
	badDay := false
	for _, l := range layouts {
		t, err := time.Parse(l, s)
		if err != nil {
			var pe *time.ParseError
			if errors.As(err, &pe) && strings.Contains(pe.Message, "out of range") {
				badDay = true
			}
			continue
		}
		y, m, d := t.Date()
		if y < minYear || y > maxYear {
			return Date{}, &ValueError{Value: s, Reason: fmt.Sprintf("year %d is out of range (%d to %d); check the date", y, minYear, maxYear)}
		}
		return Date{Year: y, Month: m, Day: d}, nil
	}
	if badDay {
		return Date{}, &ValueError{Value: s, Reason: "no such day: the day or the month is out of range"}
	}
	examples := make([]string, len(layouts))
	for i, l := range layouts {
		examples[i] = fmt.Sprintf("%q (like %s)", l, time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC).Format(l))
	}
	return Date{}, &ValueError{Value: s, Reason: "not a date in the formats configured: " + strings.Join(examples, ", ")}
}
