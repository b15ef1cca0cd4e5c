package csvio

import (
	"strings"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	iso := []string{"2006-01-02"}
	tests := []struct {
		in      string
		layouts []string
		want    Date
		wantErr string
	}{
		{"31/12/2026", nil, Date{2026, time.December, 31}, ""},
		{"1/2/2027", nil, Date{2027, time.February, 1}, ""},
		{"01/02/2027", nil, Date{2027, time.February, 1}, ""},
		{"2026-12-31", nil, Date{2026, time.December, 31}, ""},
		{"29/02/2028", nil, Date{2028, time.February, 29}, ""},
		{"01/01/2000", nil, Date{2000, time.January, 1}, ""},
		{"31/12/2200", nil, Date{2200, time.December, 31}, ""},
		{"31.12.2026", []string{"02.01.2006"}, Date{2026, time.December, 31}, ""},
		{"31/12/26", []string{"02/01/06"}, Date{2026, time.December, 31}, ""},
		{"31/12/2026 00:00", []string{"02/01/2006 15:04"}, Date{2026, time.December, 31}, ""},
		{"2026-12-31", []string{"02/01/2006", "2006-01-02"}, Date{2026, time.December, 31}, ""},

		{"", nil, Date{}, "empty"},
		{"29/02/2027", nil, Date{}, "no such day"},
		{"31/04/2026", nil, Date{}, "no such day"},
		{"12/31/2026", nil, Date{}, "no such day"},
		{"31/12/1999", nil, Date{}, "year 1999 is out of range (2000 to 2200)"},
		{"01/01/2201", nil, Date{}, "year 2201 is out of range"},
		{"31/12/99", []string{"02/01/06"}, Date{}, "year 1999 is out of range"},
		{"31-12-2026", nil, Date{}, `"2/1/2006" (like 31/12/2026), "2006-01-02" (like 2026-12-31)`},
		{"31/12/2026", iso, Date{}, `not a date in the formats configured: "2006-01-02"`},
		{"domani", nil, Date{}, "not a date"},
		{" 31/12/2026", nil, Date{}, "not a date"},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in, tt.layouts)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseDate(%q, %q): %v", tt.in, tt.layouts, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseDate(%q, %q) = %v, want %v", tt.in, tt.layouts, got, tt.want)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ParseDate(%q, %q) = %v, want error %q", tt.in, tt.layouts, got, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("ParseDate(%q, %q) error %q, want it to contain %q", tt.in, tt.layouts, err, tt.wantErr)
		}
	}
}

func TestDateRoundTrip(t *testing.T) {
	layouts := []string{"02/01/2006", "2/1/2006", "2006-01-02", "02.01.2006", "20060102"}
	for d := (Date{2000, time.January, 1}); d.Year <= 2200; d = addDays(d, 97) {
		for _, l := range layouts {
			got, err := ParseDate(d.Format(l), []string{l})
			if err != nil || got != d {
				t.Fatalf("ParseDate(%q, %q) = %v, %v; want %v", d.Format(l), l, got, err, d)
			}
		}
	}
}

func addDays(d Date, n int) Date {
	y, m, day := time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC).Date()
	return Date{y, m, day}
}

func TestDateZero(t *testing.T) {
	var d Date
	if !d.IsZero() || d.String() != "" || d.Format("02/01/2006") != "" {
		t.Errorf("zero Date: IsZero %v, String %q, Format %q", d.IsZero(), d.String(), d.Format("02/01/2006"))
	}
	if s := (Date{2026, time.March, 5}).String(); s != "2026-03-05" {
		t.Errorf("String = %q", s)
	}
}
