package csvio

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds well above any real balance and well inside int64, so that sums
// of many rows cannot overflow.
const (
	maxCents  = 10_000_000_000_000 // 100 billion euros
	maxPoints = 1_000_000_000_000
)

// ParseCents reads an amount of money into integer cents: optional sign,
// digits with optional thousands separators in groups of three, optional
// decimal separator and one or two decimals ("1.234,56" with DecimalComma).
// Anything ambiguous is refused with a reason that tells how to fix it.
func ParseCents(s string, dec Decimal) (int64, error) {
	n, err := parseNumber(s, dec)
	if err != nil {
		return 0, err
	}
	if len(n.frac) > 2 {
		why := fmt.Sprintf("has %d decimals: amounts must have at most 2 decimals; round it in the file", len(n.frac))
		if len(n.frac) == 3 && !n.grouped {
			_, ts := dec.separators()
			why += fmt.Sprintf(" (for thousands this file uses %q)", ts)
		}
		return 0, &ValueError{Value: s, Reason: why}
	}
	frac := n.frac + strings.Repeat("0", 2-len(n.frac))
	v, ok := digitsValue(n.whole+frac, maxCents)
	if !ok {
		return 0, &ValueError{Value: s, Reason: fmt.Sprintf("is too large (the limit is %s)", FormatCents(maxCents, dec))}
	}
	if n.neg {
		v = -v
	}
	return v, nil
}

// ParseInt reads a whole number of points, with the same separators as
// ParseCents. Decimals are refused unless they are one or two zeros
// ("150,00"), as Excel writes a whole number in a cell formatted with
// decimals.
func ParseInt(s string, dec Decimal) (int64, error) {
	n, err := parseNumber(s, dec)
	if err != nil {
		return 0, err
	}
	if strings.Trim(n.frac, "0") != "" {
		return 0, &ValueError{Value: s, Reason: "points must be whole numbers: remove the decimals"}
	}
	if len(n.frac) > 2 {
		// "5,000" is more likely five thousand written in the other
		// dialect than five with three zero decimals.
		_, ts := dec.separators()
		return 0, &ValueError{Value: s, Reason: fmt.Sprintf("has %d decimals: points must be whole numbers (for thousands this file uses %q)", len(n.frac), ts)}
	}
	v, ok := digitsValue(n.whole, maxPoints)
	if !ok {
		return 0, &ValueError{Value: s, Reason: fmt.Sprintf("is too large (the limit is %d)", int64(maxPoints))}
	}
	if n.neg {
		v = -v
	}
	return v, nil
}

// FormatCents writes cents with two decimals and no thousands separators
// ("1234,56", "-0,05"), which every spreadsheet reads back as a number.
func FormatCents(c int64, dec Decimal) string {
	sep, _ := dec.separators()
	u := uint64(c)
	sign := ""
	if c < 0 {
		u = -u
		sign = "-"
	}
	frac := u % 100
	return fmt.Sprintf("%s%d%c%02d", sign, u/100, sep, frac)
}

// FormatInt writes whole points without thousands separators.
func FormatInt(n int64) string { return strconv.FormatInt(n, 10) }

type number struct {
	neg   bool
	whole string // digits only, separators removed
	frac  string // digits after the decimal separator
	// grouped tells that thousands separators were written.
	grouped bool
}

func parseNumber(s string, dec Decimal) (number, error) {
	bad := func(format string, args ...any) (number, error) {
		return number{}, &ValueError{Value: s, Reason: fmt.Sprintf(format, args...)}
	}
	ds, ts := dec.separators()
	hint := func() string {
		return fmt.Sprintf("this file uses %q for decimals and %q for thousands (%s)", ds, ts, example(dec))
	}
	if s == "" {
		return bad("empty: write a number")
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Sc, r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return bad("remove the currency symbol %q: write only the number", r)
	}
	if strings.Contains(strings.ToUpper(s), "EUR") {
		return bad("remove the currency \"EUR\": write only the number")
	}
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '.', r == ',':
		case (r == '-' || r == '+') && i == 0:
		case r == '-' || r == '+':
			return bad("a sign can only come first")
		case unicode.IsSpace(r):
			return bad("contains a space: write the number without spaces")
		case unicode.IsLetter(r):
			return bad("is not a number")
		default:
			return bad("unexpected character %q in a number", r)
		}
	}
	var n number
	body := s
	if body[0] == '-' || body[0] == '+' {
		n.neg = body[0] == '-'
		body = body[1:]
	}
	if body == "" {
		return bad("a sign without a number")
	}
	whole, frac, hasDec := strings.Cut(body, string(ds))
	if hasDec {
		if strings.IndexByte(frac, ds) >= 0 {
			return bad("%q appears more than once; %s", ds, hint())
		}
		if strings.IndexByte(frac, ts) >= 0 {
			return bad("thousands separator %q after the decimals; %s", ts, hint())
		}
		if frac == "" {
			return bad("nothing after the decimal separator %q", ds)
		}
		if whole == "" {
			return bad("write a 0 before the decimal separator %q", ds)
		}
	}
	if strings.IndexByte(whole, ts) >= 0 {
		groups := strings.Split(whole, string(ts))
		ok := len(groups[0]) >= 1 && len(groups[0]) <= 3 && groups[0][0] != '0'
		for _, g := range groups[1:] {
			ok = ok && len(g) == 3
		}
		if !ok {
			if !hasDec && len(groups) == 2 && groups[0] != "" && groups[1] != "" {
				return bad("%q used as decimal separator; %s", ts, hint())
			}
			return bad("misplaced thousands separator %q: groups of three digits are expected; %s", ts, hint())
		}
		whole = strings.Join(groups, "")
		n.grouped = true
	}
	if whole == "" {
		return bad("is not a number")
	}
	n.whole, n.frac = whole, frac
	return n, nil
}

func example(dec Decimal) string {
	if dec == DecimalPoint {
		return "1,234.56"
	}
	return "1.234,56"
}

// digitsValue converts decimal digits, refusing values above max before
// they can overflow.
func digitsValue(digits string, max int64) (int64, bool) {
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > 18 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(digits); i++ {
		v = v*10 + int64(digits[i]-'0')
	}
	return v, v <= max
}
