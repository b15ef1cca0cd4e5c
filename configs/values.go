package configs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amounts and percentages are read from the scalar's text, never through
// float64: 0.1 + 0.2 is not 0.3 in binary, and a ledger must not lose a cent
// to a conversion. YAML takes a decimal point only, whatever the locale of
// the CSV files, because "1,5" in YAML is a string that would otherwise be
// guessed at.

// Money is an amount of money in cents, written in YAML as "5.00", 5 or 5.5.
type Money int64

// Percent is a percentage in basis points (1/100 of a percent), written
// in YAML as "5" or "12.5": 500 and 1250.
type Percent int64

// Decimal keeps a non-negative decimal number as written, for a value
// whose unit depends on another key (accrual.every is money for base value
// and units for base quantity).
type Decimal string

var (
	errNegative = errors.New("negative")
	errDecimals = errors.New("too many decimals")
)

// ParseMoney reads a non-negative amount with at most 2 decimals ("5",
// "5.5", "5.00") as cents.
func ParseMoney(s string) (int64, error) {
	v, err := parseDecimal(s, 2)
	if err != nil {
		return 0, fmt.Errorf("money %q %s; write it with a decimal point and at most 2 decimals, e.g. \"5.00\" or 5", s, reason(s, err))
	}
	return v, nil
}

// ParsePercent reads a non-negative percentage with at most 2 decimals
// ("5", "12.5") as basis points.
func ParsePercent(s string) (int64, error) {
	v, err := parseDecimal(s, 2)
	if err != nil {
		return 0, fmt.Errorf("percent %q %s; write the number of percent with at most 2 decimals and no %% sign, e.g. \"5\" or \"12.5\"", s, reason(s, err))
	}
	return v, nil
}

// ParseQuantity reads a non-negative quantity of units with at most 3
// decimals ("1", "0.250") as thousandths, the rules' unit for quantities.
func ParseQuantity(s string) (int64, error) {
	v, err := parseDecimal(s, 3)
	if err != nil {
		return 0, fmt.Errorf("quantity %q %s; write units with a decimal point and at most 3 decimals, e.g. 1 or \"0.250\"", s, reason(s, err))
	}
	return v, nil
}

func reason(s string, err error) string {
	switch {
	case errors.Is(err, errNegative):
		return "is negative"
	case errors.Is(err, errDecimals):
		return "has too many decimals"
	case errors.Is(err, strconv.ErrRange):
		return "is too large"
	case strings.Contains(s, ","):
		return "has a comma (YAML takes a decimal point and no thousands separator)"
	}
	return "is not a number"
}

// parseDecimal reads digits with an optional point and at most places
// decimals as an integer scaled by 10^places.
func parseDecimal(s string, places int) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, errNegative
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (dot && (frac == "" || !allDigits(frac))) {
		return 0, errors.New("syntax")
	}
	if len(frac) > places {
		return 0, errDecimals
	}
	v, err := strconv.ParseInt(whole+frac+strings.Repeat("0", places-len(frac)), 10, 64)
	if err != nil {
		return 0, strconv.ErrRange // only range errors remain: the text is digits
	}
	return v, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// formatDecimal writes v scaled by 10^places, keeping at least keep
// decimals and dropping further trailing zeros.
func formatDecimal(v int64, places, keep int) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	s := strconv.FormatInt(v, 10)
	if len(s) <= places {
		s = strings.Repeat("0", places-len(s)+1) + s
	}
	whole, frac := s[:len(s)-places], s[len(s)-places:]
	for len(frac) > keep && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if frac == "" {
		return sign + whole
	}
	return sign + whole + "." + frac
}

// UnmarshalText reads the amount as written.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseMoney(string(b))
	*m = Money(v)
	return err
}

// MarshalText writes the amount with 2 decimals.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// String writes the amount with 2 decimals, "5.00".
func (m Money) String() string { return formatDecimal(int64(m), 2, 2) }

// UnmarshalText reads the percentage as written.
func (p *Percent) UnmarshalText(b []byte) error {
	v, err := ParsePercent(string(b))
	*p = Percent(v)
	return err
}

// MarshalText writes the percentage without trailing zeros, "12.5".
func (p Percent) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// String writes the percentage without trailing zeros, "12.5".
func (p Percent) String() string { return formatDecimal(int64(p), 2, 0) }

// UnmarshalText checks the number's form; its unit, and so how many
// decimals it may have, is checked where it is used.
func (d *Decimal) UnmarshalText(b []byte) error {
	if _, err := parseDecimal(string(b), 3); err != nil {
		return fmt.Errorf("%q %s; write a number with a decimal point, e.g. \"5.00\" (money) or 1 (units)", string(b), reason(string(b), err))
	}
	*d = Decimal(b)
	return nil
}
