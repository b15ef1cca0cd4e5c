package csvio

import (
	"fmt"
	"strings"
)

// maxThousandths bounds a quantity (a billion units) well inside int64, so
// that the quantities of many lines can be added up.
const maxThousandths = 1_000_000_000_000

// ParseThousandths reads a quantity into thousandths of a unit, as weighed
// goods need them: "1" is 1000, "0,250" is 250 with DecimalComma. The same
// separators as ParseCents are accepted; a quantity cannot be negative (a
// return is a credit note, not a negative line) and has at most three
// decimals.
func ParseThousandths(s string, dec Decimal) (int64, error) {
	n, err := parseNumber(s, dec)
	if err != nil {
		return 0, err
	}
	if len(n.frac) > 3 {
		return 0, &ValueError{Value: s, Reason: fmt.Sprintf("has %d decimals: quantities have at most 3 (thousandths of a unit); round it in the file", len(n.frac))}
	}
	frac := n.frac + strings.Repeat("0", 3-len(n.frac))
	v, ok := digitsValue(n.whole+frac, maxThousandths)
	if !ok {
		return 0, &ValueError{Value: s, Reason: fmt.Sprintf("is too large (the limit is %d units)", int64(maxThousandths/1000))}
	}
	if n.neg && v != 0 {
		return 0, &ValueError{Value: s, Reason: "is negative: a quantity cannot be below zero (a return is a credit note, not a negative line)"}
	}
	return v, nil
}
