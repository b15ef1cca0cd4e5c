package rules

import (
	"testing"
	"time"
)

func rome(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestE9ExpiryDays is the first half of SPEC E9: 365 days after earning.
func TestE9ExpiryDays(t *testing.T) {
	loc := rome(t)
	earned := time.Date(2026, 1, 15, 10, 0, 0, 0, loc)
	got, ok := ExpiryPolicy{Kind: ExpiryDays, Days: 365}.ExpiresAt(earned, loc)
	want := time.Date(2027, 1, 16, 0, 0, 0, 0, loc)
	if !ok || !got.Equal(want) {
		t.Fatalf("ExpiresAt = %v, %v; want %v", got, ok, want)
	}
	if d := ExpiryDate(got, loc); d.String() != "2027-01-15" {
		t.Fatalf("ExpiryDate = %s, want 2027-01-15", d)
	}
}

func TestExpiresAt(t *testing.T) {
	loc := rome(t)
	late := time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC) // already the 29th in Rome
	tests := []struct {
		name   string
		policy ExpiryPolicy
		earned time.Time
		want   string // RFC 3339 in Rome, "" for none
	}{
		{"none", ExpiryPolicy{Kind: ExpiryNone}, late, ""},
		{"empty kind", ExpiryPolicy{}, late, ""},
		{"fixed", ExpiryPolicy{Kind: ExpiryFixedDate, Date: Date{2026, 12, 31}}, late, "2027-01-01T00:00:00+01:00"},
		{"days use local day", ExpiryPolicy{Kind: ExpiryDays, Days: 1}, late, "2026-03-31T00:00:00+02:00"},
		{"days across DST", ExpiryPolicy{Kind: ExpiryDays, Days: 10}, time.Date(2026, 10, 20, 9, 0, 0, 0, loc), "2026-10-31T00:00:00+01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.policy.ExpiresAt(tt.earned, loc)
			if tt.want == "" {
				if ok {
					t.Fatalf("got expiry %v, want none", got)
				}
				return
			}
			if !ok || got.In(loc).Format(time.RFC3339) != tt.want {
				t.Fatalf("got %v (%v), want %s", got.In(loc).Format(time.RFC3339), ok, tt.want)
			}
		})
	}
}

func TestExpiryPolicyValidate(t *testing.T) {
	bad := []ExpiryPolicy{
		{Kind: ExpiryFixedDate},
		{Kind: ExpiryDays},
		{Kind: ExpiryDays, Days: -3},
		{Kind: "weekly"},
	}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
	good := []ExpiryPolicy{{}, {Kind: ExpiryNone}, {Kind: ExpiryDays, Days: 30}, {Kind: ExpiryFixedDate, Date: Date{2026, 1, 1}}}
	for _, p := range good {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	if d, err := ParseDate(""); err != nil || !d.IsZero() {
		t.Fatalf("empty: %v %v", d, err)
	}
	for _, s := range []string{"2026-02-30", "31/12/2026", "2026-1-1", "x"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("%q: want an error", s)
		}
	}
	d, err := ParseDate("2024-02-29")
	if err != nil || d.String() != "2024-02-29" || d.AddDays(1).String() != "2024-03-01" {
		t.Fatalf("leap day: %v %v", d, err)
	}
}
