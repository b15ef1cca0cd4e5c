package csvio

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseThousandths(t *testing.T) {
	tests := []struct {
		in      string
		dec     Decimal
		want    int64
		wantErr string // substring of the error; "" means success
	}{
		{"1", DecimalComma, 1000, ""},
		{"0", DecimalComma, 0, ""},
		{"-0", DecimalComma, 0, ""},
		{"+2", DecimalComma, 2000, ""},
		{"0,250", DecimalComma, 250, ""},
		{"0,25", DecimalComma, 250, ""},
		{"0,5", DecimalComma, 500, ""},
		{"0,001", DecimalComma, 1, ""},
		{"12,345", DecimalComma, 12345, ""},
		{"1.000", DecimalComma, 1_000_000, ""},
		{"1.234,5", DecimalComma, 1_234_500, ""},
		{"007", DecimalComma, 7000, ""},
		{"0.250", DecimalPoint, 250, ""},
		{"1,000", DecimalPoint, 1_000_000, ""},
		{"1,234.567", DecimalPoint, 1_234_567, ""},
		{"1000000000", DecimalComma, 1_000_000_000_000, ""},

		{"", DecimalComma, 0, "empty"},
		{"-1", DecimalComma, 0, "is negative"},
		{"-0,001", DecimalComma, 0, "is negative"},
		{"0,2500", DecimalComma, 0, "has 4 decimals: quantities have at most 3"},
		{"1,0000", DecimalComma, 0, "has 4 decimals"},
		{"0.250", DecimalComma, 0, "'.' used as decimal separator; this file uses ','"},
		{"0,250", DecimalPoint, 0, "',' used as decimal separator; this file uses '.'"},
		{"1 kg", DecimalComma, 0, "contains a space"},
		{"kg", DecimalComma, 0, "is not a number"},
		{"1,2,3", DecimalComma, 0, "appears more than once"},
		{",5", DecimalComma, 0, "write a 0 before"},
		{"1000000000,001", DecimalComma, 0, "too large"},
		{"99999999999999999999", DecimalComma, 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseThousandths(tt.in, tt.dec)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseThousandths(%q, %v): %v", tt.in, tt.dec, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseThousandths(%q, %v) = %d, want %d", tt.in, tt.dec, got, tt.want)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ParseThousandths(%q, %v) = %d, want error %q", tt.in, tt.dec, got, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("ParseThousandths(%q, %v) error %q, want it to contain %q", tt.in, tt.dec, err, tt.wantErr)
		}
	}
}

func FuzzParseThousandths(f *testing.F) {
	for _, s := range []string{"1", "0,250", "1.234,567", "-1", "0,0001", "1,000", "+0", "99999999999999999999", "1e3", "€1"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, point bool) {
		dec := DecimalComma
		if point {
			dec = DecimalPoint
		}
		v, err := ParseThousandths(s, dec)
		if err != nil {
			if v != 0 {
				t.Fatalf("ParseThousandths(%q) = %d with error %v", s, v, err)
			}
			return
		}
		if v < 0 || v > maxThousandths {
			t.Fatalf("ParseThousandths(%q) = %d, out of range", s, v)
		}
		// The value written back without separators reads the same.
		sep, _ := dec.separators()
		back := fmt.Sprintf("%d%c%03d", v/1000, sep, v%1000)
		if w, err := ParseThousandths(back, dec); err != nil || w != v {
			t.Fatalf("ParseThousandths(%q) = %d, but %q reads %d, %v", s, v, back, w, err)
		}
	})
}
