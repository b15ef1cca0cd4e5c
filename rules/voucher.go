package rules

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// VoucherSpec is the voucher a prize of kind voucher issues ("promozione
// speciale"): a fixed discount or a percentage, valid for some days.
type VoucherSpec struct {
	// ValueCents is a fixed discount in cents.
	ValueCents int64
	// BasisPoints is a percentage discount in hundredths of a percent
	// (1000 = 10%), so no fraction is ever a float.
	BasisPoints int64
	// ValidDays is how many days after the day of issue the voucher stays
	// usable; 0 means it does not expire.
	ValidDays int
}

// Validate reports a voucher that gives no discount or an ambiguous one.
func (v VoucherSpec) Validate() error {
	switch {
	case v.ValueCents < 0 || v.BasisPoints < 0:
		return fmt.Errorf("voucher value_cents and basis_points must not be negative")
	case v.ValueCents > 0 && v.BasisPoints > 0:
		return fmt.Errorf("voucher has both value_cents %d and basis_points %d; a voucher is a fixed discount or a percentage, not both", v.ValueCents, v.BasisPoints)
	case v.ValueCents == 0 && v.BasisPoints == 0:
		return fmt.Errorf("voucher needs value_cents (fixed discount) or basis_points (percentage, 1000 = 10%%)")
	case v.BasisPoints > 10000:
		return fmt.Errorf("voucher basis_points %d is more than 100%% (10000)", v.BasisPoints)
	case v.ValidDays < 0:
		return fmt.Errorf("voucher valid_days must not be negative (0 is no expiry), got %d", v.ValidDays)
	}
	return nil
}

// Discount is what the voucher takes off a document of base cents: never
// more than the base, percentages rounded down so the shop never gives a
// cent more than promised.
func (v VoucherSpec) Discount(base int64) int64 {
	if base <= 0 {
		return 0
	}
	d := v.ValueCents
	if v.BasisPoints > 0 {
		d = base / 10000 * v.BasisPoints
		d += base % 10000 * v.BasisPoints / 10000
	}
	return min(d, base)
}

// ExpiresAt is the instant a voucher issued at issued stops being usable, in
// the program zone loc, or ok=false when it does not expire. It follows the
// points convention (SPEC 3.5): the day of issue plus ValidDays, to the end
// of that day.
func (v VoucherSpec) ExpiresAt(issued time.Time, loc *time.Location) (t time.Time, ok bool) {
	if v.ValidDays <= 0 {
		return time.Time{}, false
	}
	return DateOf(issued.In(loc)).AddDays(v.ValidDays).EndOfDay(loc), true
}

// voucherAlphabet leaves out 0, O, 1, I and L, which customers read and type
// wrongly. Its 31 symbols are a prime number, which makes the weighted check
// character catch every single changed character and every swap of two.
const voucherAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

const (
	voucherLen   = 12 // symbols, the last one the check character
	voucherGroup = 4
)

// NewVoucherCode draws a single-use code such as "K7QM-3XHT-9WP4" from rnd
// (crypto/rand.Reader in production, a fixed stream in tests): 11 random
// symbols, about 54 bits, and a check character.
func NewVoucherCode(rnd io.Reader) (string, error) {
	const base = len(voucherAlphabet)
	// Bytes at or above the largest multiple of base are redrawn, so every
	// symbol is equally likely.
	const limit = 256 / base * base
	syms := make([]byte, 0, voucherLen)
	buf := make([]byte, voucherLen-1)
	for draws := 0; len(syms) < voucherLen-1; draws++ {
		if draws > 64 {
			return "", errors.New("voucher code: random source keeps giving unusable bytes")
		}
		// Read only what is still missing, so a fixed stream in a test
		// gives a code from its first usable bytes.
		need := buf[:voucherLen-1-len(syms)]
		if _, err := io.ReadFull(rnd, need); err != nil {
			return "", fmt.Errorf("voucher code: reading random bytes: %w", err)
		}
		for _, b := range need {
			if int(b) < limit {
				syms = append(syms, voucherAlphabet[int(b)%base])
			}
		}
	}
	syms = append(syms, voucherCheck(syms))
	return groupVoucher(syms), nil
}

// NormalizeVoucherCode gives the canonical form of a code as a customer
// typed it (any case, spaces or dashes anywhere), and whether it is a valid
// code. Store and look codes up in this form.
func NormalizeVoucherCode(s string) (string, bool) {
	syms := make([]byte, 0, voucherLen)
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if r > 0x7f || strings.IndexByte(voucherAlphabet, byte(r)) < 0 || len(syms) == voucherLen {
			return "", false
		}
		syms = append(syms, byte(r))
	}
	if len(syms) != voucherLen || voucherCheck(syms[:voucherLen-1]) != syms[voucherLen-1] {
		return "", false
	}
	return groupVoucher(syms), true
}

// ValidVoucherCode reports whether s, normalised, is a well-formed code with
// a correct check character. It says nothing about whether the code was
// issued or is still unused: that is the ledger's business.
func ValidVoucherCode(s string) bool {
	_, ok := NormalizeVoucherCode(s)
	return ok
}

// voucherCheck is the symbol c that makes sum(w_i*v_i) = 0 mod 31 with
// weights 1..12. Weights are distinct and non-zero mod a prime, so any one
// substitution or any transposition changes the sum.
func voucherCheck(syms []byte) byte {
	const base = len(voucherAlphabet)
	sum := 0
	for i, s := range syms {
		sum += (i + 1) * strings.IndexByte(voucherAlphabet, s)
	}
	// 13 is the inverse of the check weight 12 mod 31 (12*13 = 156 = 5*31+1).
	c := (base - sum%base) % base * 13 % base
	return voucherAlphabet[c]
}

func groupVoucher(syms []byte) string {
	var b strings.Builder
	for i, s := range syms {
		if i > 0 && i%voucherGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(s)
	}
	return b.String()
}
