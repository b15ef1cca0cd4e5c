package rules

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
)

// Rounding says how a proportional result that falls between two whole
// units (points or cents) is settled.
type Rounding string

const (
	// RoundFloor drops the fraction; it is the default because a program
	// then never gives more than its ratio promises.
	RoundFloor Rounding = "floor"
	// RoundHalfUp rounds a fraction of one half or more up.
	RoundHalfUp Rounding = "half_up"
	// RoundCeil rounds any fraction up.
	RoundCeil Rounding = "ceil"
)

// Valid reports whether r is a known rounding mode; the empty mode is
// valid and means RoundFloor.
func (r Rounding) Valid() bool {
	switch r {
	case "", RoundFloor, RoundHalfUp, RoundCeil:
		return true
	}
	return false
}

// ErrAmountOverflow is returned instead of a wrapped-around number when an
// amount, a quantity or a number of points is too large to compute exactly
// in 64 bits. Real documents never get there; a corrupt or hostile input
// does, and a silent wrap would credit or spend absurd points.
var ErrAmountOverflow = errors.New("amount too large to compute exactly")

// mulDiv is a*b/c rounded by mode, exact for every int64 input because the
// product is kept in 128 bits. Operands are amounts, quantities and ratios,
// which the rules never let go negative, so a negative operand is an error
// rather than a second set of rounding rules to get right.
func mulDiv(a, b, c int64, mode Rounding) (int64, error) {
	q, rem, err := mulDivRem(a, b, c)
	if err != nil {
		return 0, err
	}
	up := false
	switch mode {
	case "", RoundFloor:
	case RoundCeil:
		up = rem > 0
	case RoundHalfUp:
		// rem*2 >= c, written so that rem*2 cannot overflow.
		up = rem >= c-rem
	default:
		return 0, fmt.Errorf("unknown rounding %q (use floor, half_up or ceil)", mode)
	}
	if up {
		if q == math.MaxInt64 {
			return 0, ErrAmountOverflow
		}
		q++
	}
	return q, nil
}

// mulDivRem is floor(a*b/c) and the remainder, for the largest-remainder
// split of a document discount over its lines.
func mulDivRem(a, b, c int64) (q, rem int64, err error) {
	if a < 0 || b < 0 || c <= 0 {
		return 0, 0, fmt.Errorf("internal: %d*%d/%d needs non-negative operands and a positive divisor", a, b, c)
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		// The quotient would not fit in 64 bits (and Div64 would panic).
		return 0, 0, ErrAmountOverflow
	}
	uq, urem := bits.Div64(hi, lo, uint64(c))
	if uq > math.MaxInt64 {
		return 0, 0, ErrAmountOverflow
	}
	return int64(uq), int64(urem), nil
}

// addInt64 is a+b, or ErrAmountOverflow.
func addInt64(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, ErrAmountOverflow
	}
	return s, nil
}

// mulInt64 is a*b for non-negative operands, or ErrAmountOverflow.
func mulInt64(a, b int64) (int64, error) {
	if a < 0 || b < 0 {
		return 0, fmt.Errorf("internal: %d*%d needs non-negative operands", a, b)
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, ErrAmountOverflow
	}
	return int64(lo), nil
}

// moneyText writes cents the way the seeds and SPEC write money in reasons
// and errors ("5.00", "-0.30"), without a currency: the program knows it.
func moneyText(cents int64) string {
	sign := ""
	u := uint64(cents)
	if cents < 0 {
		sign = "-"
		u = -u
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// quantityText writes thousandths of a unit as a quantity ("3", "0.25").
func quantityText(thousandths int64) string {
	sign := ""
	u := uint64(thousandths)
	if thousandths < 0 {
		sign = "-"
		u = -u
	}
	s := sign + strconv.FormatUint(u/1000, 10)
	if frac := u % 1000; frac != 0 {
		f := fmt.Sprintf("%03d", frac)
		for f[len(f)-1] == '0' {
			f = f[:len(f)-1]
		}
		s += "." + f
	}
	return s
}
