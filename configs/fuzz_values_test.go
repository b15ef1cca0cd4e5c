package configs

import (
	"math/big"
	"strings"
	"testing"
	"time"
)

// exactDecimal reads digits with an optional point as an exact number,
// the cross-check of parseDecimal; ok is false for anything else.
func exactDecimal(s string) (*big.Rat, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (dot && (frac == "" || !allDigits(frac))) {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// FuzzValues checks the scalars a configuration writes as text: money,
// percentages, quantities and decimals are read exactly or refused with
// the text and a hint, never negative, and print to text that reads back
// the same; a date format the loader accepts writes every day a file may
// carry (2000 to 2200) as text it reads back as that day.
func FuzzValues(f *testing.F) {
	for _, s := range []string{"0", "5", "5.5", "5.00", "0.01", "12.345", "-1", "1,5", "", ".5", "5.", "1e3", " 5",
		"92233720368547758.07", "92233720368547758.08", "9223372036854775.807", "007.10", "02/01/2006", "02/01/06", "2006-002", "Jan 2"} {
		f.Add(s, int32(9000))
	}
	f.Add("02/01/06", int32(60000)) // 2164: a two-digit year reads it back as 2064
	f.Fuzz(func(t *testing.T, s string, day int32) {
		exact, ok := exactDecimal(s)
		for _, c := range []struct {
			name   string
			places int
			parse  func(string) (int64, error)
			format func(int64) string
			hint   string
		}{
			{"money", 2, ParseMoney, func(v int64) string { return Money(v).String() }, `e.g. "5.00"`},
			{"percent", 2, ParsePercent, func(v int64) string { return Percent(v).String() }, `e.g. "5"`},
			{"quantity", 3, ParseQuantity, func(v int64) string { return formatDecimal(v, 3, 0) }, `e.g. 1`},
		} {
			v, err := c.parse(s)
			scaled := new(big.Rat)
			if ok {
				scaled.Mul(exact, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.places)), nil)))
			}
			fits := ok && decimals(s) <= c.places && scaled.Num().IsInt64()
			if err != nil {
				if fits {
					t.Fatalf("%s %q refused, its value is %s: %v", c.name, s, scaled.FloatString(0), err)
				}
				if !strings.Contains(err.Error(), c.hint) || !strings.Contains(err.Error(), c.name) {
					t.Fatalf("%s %q: error %q does not name the kind and give an example", c.name, s, err)
				}
				continue
			}
			if !fits || scaled.Num().Int64() != v || v < 0 {
				t.Fatalf("%s %q read as %d", c.name, s, v)
			}
			if back, err := c.parse(c.format(v)); err != nil || back != v {
				t.Fatalf("%s %q read as %d, printed %q, read back as %d, %v", c.name, s, v, c.format(v), back, err)
			}
		}
		var d Decimal
		if err := d.UnmarshalText([]byte(s)); (err == nil) != (ok && decimals(s) <= 3 && fitsScaled(exact, 3)) {
			t.Fatalf("decimal %q: %v", s, err)
		} else if err == nil && string(d) != s {
			t.Fatalf("decimal %q kept as %q", s, d)
		}

		if checkLayout(s) != nil {
			return
		}
		first := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		span := int32(time.Date(2200, 12, 31, 0, 0, 0, 0, time.UTC).Sub(first).Hours()/24) + 1
		want := first.AddDate(0, 0, int((day%span+span)%span))
		back, err := time.Parse(s, want.Format(s))
		if err != nil || back.Year() != want.Year() || back.Month() != want.Month() || back.Day() != want.Day() {
			t.Fatalf("date format %q is accepted but writes %s as %q, read back as %v, %v", s, want.Format("2006-01-02"), want.Format(s), back, err)
		}
	})
}

// decimals counts the digits written after the point.
func decimals(s string) int {
	_, frac, _ := strings.Cut(s, ".")
	return len(frac)
}

// fitsScaled tells whether r times 10^places is a whole number in int64.
func fitsScaled(r *big.Rat, places int) bool {
	v := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)))
	return v.IsInt() && v.Num().IsInt64()
}

// FuzzExpandEnv checks the ${VAR} expansion of configuration values: a
// value with every "${" written "$${", as Redacted prints it, expands to
// itself without errors; and the expansion of any value either succeeds
// with no reference left unread or fails naming the problem.
func FuzzExpandEnv(f *testing.F) {
	for _, s := range []string{"", "plain", "${SET}", "${UNSET:def}", "$${SET}", "$$${SET}", "${", "${}", "${1X}", "a${SET}b${EMPTY:e}c", "${A${B}}", "$", "}${SET:x:y}"} {
		f.Add(s)
	}
	env := map[string]string{"SET": "s3cr3t", "EMPTY": "", "REF": "${SET}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	f.Fuzz(func(t *testing.T, s string) {
		escaped := strings.ReplaceAll(s, "${", "$${")
		got, errs := expandEnv(escaped, lookup)
		if len(errs) > 0 || got != s {
			t.Fatalf("%q escaped as %q expands to %q, %v", s, escaped, got, errs)
		}
		out, errs := expandEnv(s, lookup)
		for _, err := range errs {
			if err.Error() == "" {
				t.Fatalf("%q: an empty error", s)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("%q: error %q quotes a variable's value", s, err)
			}
		}
		if len(errs) > 0 {
			return
		}
		// Only "${SET}" and defaults can bring text that was not written;
		// a value is inserted once, never expanded again.
		if strings.Count(out, "s3cr3t") > strings.Count(s, "s3cr3t")+strings.Count(s, "${SET")+strings.Count(s, "${REF") {
			t.Fatalf("%q expands to %q: more values than references", s, out)
		}
	})
}
