package csvio

import (
	"math"
	"strings"
	"testing"
)

func TestParseCents(t *testing.T) {
	tests := []struct {
		in      string
		dec     Decimal
		want    int64
		wantErr string // substring of the error; "" means success
	}{
		{"0", DecimalComma, 0, ""},
		{"12", DecimalComma, 1200, ""},
		{"12,5", DecimalComma, 1250, ""},
		{"12,50", DecimalComma, 1250, ""},
		{"12,05", DecimalComma, 1205, ""},
		{"-0,05", DecimalComma, -5, ""},
		{"+3", DecimalComma, 300, ""},
		{"1.234", DecimalComma, 123400, ""},
		{"1.234,56", DecimalComma, 123456, ""},
		{"1.234.567,89", DecimalComma, 123456789, ""},
		{"-1.234.567,89", DecimalComma, -123456789, ""},
		{"007", DecimalComma, 700, ""},
		{"100000000000", DecimalComma, 10_000_000_000_000, ""},
		{"-100000000000,00", DecimalComma, -10_000_000_000_000, ""},
		{"12.50", DecimalPoint, 1250, ""},
		{"1,234.56", DecimalPoint, 123456, ""},
		{"1,234,567.8", DecimalPoint, 123456780, ""},
		{"-0.05", DecimalPoint, -5, ""},
		{"1,234", DecimalPoint, 123400, ""},

		{"", DecimalComma, 0, "empty"},
		{"12,345", DecimalComma, 0, "at most 2 decimals; round it"},
		{"12.345,678", DecimalComma, 0, "at most 2 decimals"},
		{"12.5", DecimalComma, 0, "'.' used as decimal separator; this file uses ','"},
		{"12,5", DecimalPoint, 0, "',' used as decimal separator; this file uses '.'"},
		{"0.5", DecimalComma, 0, "'.' used as decimal separator"},
		{"1.23,00", DecimalComma, 0, "misplaced thousands separator"},
		{"12.34.5", DecimalComma, 0, "misplaced thousands separator"},
		{"1234.567", DecimalComma, 0, "'.' used as decimal separator"},
		{".123", DecimalComma, 0, "misplaced thousands separator"},
		{"1..234", DecimalComma, 0, "misplaced thousands separator"},
		{"1.234.", DecimalComma, 0, "misplaced thousands separator"},
		{"0.123,00", DecimalComma, 0, "misplaced thousands separator"},
		{"1,234.56", DecimalComma, 0, "thousands separator '.' after the decimals"},
		{"1,2,3", DecimalComma, 0, "appears more than once"},
		{"12,", DecimalComma, 0, "nothing after the decimal separator"},
		{",5", DecimalComma, 0, "write a 0 before"},
		{"-", DecimalComma, 0, "a sign without a number"},
		{"+-5", DecimalComma, 0, "a sign can only come first"},
		{"5-", DecimalComma, 0, "a sign can only come first"},
		{"1 234", DecimalComma, 0, "contains a space"},
		{" 12", DecimalComma, 0, "contains a space"},
		{"12\u00a0000", DecimalComma, 0, "contains a space"},
		{"€12", DecimalComma, 0, `remove the currency symbol '€'`},
		{"12 €", DecimalComma, 0, `remove the currency symbol '€'`},
		{"$5", DecimalPoint, 0, `remove the currency symbol '$'`},
		{"12 EUR", DecimalComma, 0, `remove the currency "EUR"`},
		{"abc", DecimalComma, 0, "is not a number"},
		{"1e5", DecimalComma, 0, "is not a number"},
		{"12%", DecimalComma, 0, "unexpected character"},
		{"100000000000,01", DecimalComma, 0, "too large"},
		{"99999999999999999999999", DecimalComma, 0, "too large"},
		{"-9223372036854775808", DecimalComma, 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseCents(tt.in, tt.dec)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseCents(%q, %v): %v", tt.in, tt.dec, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseCents(%q, %v) = %d, want %d", tt.in, tt.dec, got, tt.want)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ParseCents(%q, %v) = %d, want error %q", tt.in, tt.dec, got, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("ParseCents(%q, %v) error %q, want it to contain %q", tt.in, tt.dec, err, tt.wantErr)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in      string
		dec     Decimal
		want    int64
		wantErr string
	}{
		{"0", DecimalComma, 0, ""},
		{"150", DecimalComma, 150, ""},
		{"-20", DecimalComma, -20, ""},
		{"1.000", DecimalComma, 1000, ""},
		{"12.345.678", DecimalComma, 12345678, ""},
		{"150,00", DecimalComma, 150, ""},
		{"150,0", DecimalComma, 150, ""},
		{"1.500,0", DecimalComma, 1500, ""},
		{"1,000", DecimalPoint, 1000, ""},
		{"150.00", DecimalPoint, 150, ""},
		{"1000000000000", DecimalComma, 1_000_000_000_000, ""},
		{"-1.000.000.000.000", DecimalComma, -1_000_000_000_000, ""},

		{"150,50", DecimalComma, 0, "whole numbers"},
		{"5,000", DecimalComma, 0, "has 3 decimals: points must be whole numbers (for thousands this file uses '.')"},
		{"5.000", DecimalPoint, 0, "for thousands this file uses ','"},
		{"0,5", DecimalComma, 0, "whole numbers"},
		{"1.23", DecimalComma, 0, "'.' used as decimal separator"},
		{"1,5", DecimalPoint, 0, "',' used as decimal separator"},
		{"1.0000", DecimalComma, 0, "'.' used as decimal separator"},
		{"1.000.00", DecimalComma, 0, "misplaced thousands separator"},
		{"1000000000001", DecimalComma, 0, "too large"},
		{"", DecimalComma, 0, "empty"},
		{"10 punti", DecimalComma, 0, "contains a space"},
		{"punti", DecimalComma, 0, "is not a number"},
	}
	for _, tt := range tests {
		got, err := ParseInt(tt.in, tt.dec)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseInt(%q, %v): %v", tt.in, tt.dec, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseInt(%q, %v) = %d, want %d", tt.in, tt.dec, got, tt.want)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ParseInt(%q, %v) = %d, want error %q", tt.in, tt.dec, got, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("ParseInt(%q, %v) error %q, want it to contain %q", tt.in, tt.dec, err, tt.wantErr)
		}
	}
}

func TestFormatCents(t *testing.T) {
	tests := []struct {
		in   int64
		dec  Decimal
		want string
	}{
		{0, DecimalComma, "0,00"},
		{5, DecimalComma, "0,05"},
		{-5, DecimalComma, "-0,05"},
		{-100, DecimalComma, "-1,00"},
		{123456, DecimalComma, "1234,56"},
		{123456, DecimalPoint, "1234.56"},
		{-123456789, DecimalPoint, "-1234567.89"},
		{math.MaxInt64, DecimalComma, "92233720368547758,07"},
		{math.MinInt64, DecimalComma, "-92233720368547758,08"},
	}
	for _, tt := range tests {
		if got := FormatCents(tt.in, tt.dec); got != tt.want {
			t.Errorf("FormatCents(%d, %v) = %q, want %q", tt.in, tt.dec, got, tt.want)
		}
	}
	if got := FormatInt(-1500); got != "-1500" {
		t.Errorf("FormatInt(-1500) = %q", got)
	}
}

func TestCentsRoundTrip(t *testing.T) {
	for _, c := range []int64{0, 1, -1, 9, 10, 99, 100, 101, -12345, 123456789, maxCents, -maxCents} {
		for _, dec := range []Decimal{DecimalComma, DecimalPoint} {
			s := FormatCents(c, dec)
			got, err := ParseCents(s, dec)
			if err != nil || got != c {
				t.Errorf("ParseCents(FormatCents(%d, %v) = %q) = %d, %v", c, dec, s, got, err)
			}
		}
	}
	for _, n := range []int64{0, 7, -7, 1_000_000, maxPoints, -maxPoints} {
		got, err := ParseInt(FormatInt(n), DecimalComma)
		if err != nil || got != n {
			t.Errorf("ParseInt(FormatInt(%d)) = %d, %v", n, got, err)
		}
	}
}
