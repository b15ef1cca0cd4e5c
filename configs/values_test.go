package configs

import (
	"strings"
	"testing"
)

func TestParseMoney(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "5": 500, "5.5": 550, "5.00": 500, "0.01": 1, "1234.56": 123456, "007.10": 710,
		"92233720368547758.07": 9223372036854775807,
	} {
		if got, err := ParseMoney(in); err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"1.234,56": "comma", "1,5": "comma", "5.001": "too many decimals", "-1": "negative",
		"": "not a number", "5.": "not a number", ".5": "not a number", "1e3": "not a number",
		" 5": "not a number", "5€": "not a number", "92233720368547758.08": "too large",
	} {
		_, err := ParseMoney(in)
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), `e.g. "5.00"`) {
			t.Errorf("ParseMoney(%q) error %v; want one saying %q with an example", in, err, msg)
		}
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]int64{"5": 500, "12.5": 1250, "0.01": 1, "100": 10000, "20.00": 2000} {
		if got, err := ParsePercent(in); err != nil || got != want {
			t.Errorf("ParsePercent(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"5%", "12.345", "-5", "12,5", "x"} {
		if _, err := ParsePercent(in); err == nil || !strings.Contains(err.Error(), `e.g. "5"`) {
			t.Errorf("ParsePercent(%q) error %v", in, err)
		}
	}
}

func TestParseQuantity(t *testing.T) {
	for in, want := range map[string]int64{"1": 1000, "0.250": 250, "0.5": 500, "2.125": 2125} {
		if got, err := ParseQuantity(in); err != nil || got != want {
			t.Errorf("ParseQuantity(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseQuantity("1.2345"); err == nil {
		t.Error("4 decimals accepted")
	}
}

func TestValueFormat(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{Money(500).String(), "5.00"}, {Money(1).String(), "0.01"}, {Money(123456).String(), "1234.56"}, {Money(0).String(), "0.00"},
		{Percent(500).String(), "5"}, {Percent(1250).String(), "12.5"}, {Percent(1).String(), "0.01"}, {Percent(10000).String(), "100"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	// What is printed reads back as the same value.
	for _, m := range []Money{0, 1, 99, 100, 123456} {
		var back Money
		if err := back.UnmarshalText([]byte(m.String())); err != nil || back != m {
			t.Errorf("Money %d printed %q read back %d, %v", m, m, back, err)
		}
	}
	for _, p := range []Percent{0, 1, 10, 500, 1250, 10000} {
		var back Percent
		if err := back.UnmarshalText([]byte(p.String())); err != nil || back != p {
			t.Errorf("Percent %d printed %q read back %d, %v", p, p, back, err)
		}
	}
}

// YAML numbers are read from their text: 0.29 as a float64 is
// 0.28999999999999998, which a conversion through float would make 28 cents.
func TestMoneyFromYAMLNumber(t *testing.T) {
	c := mustParse(t, `
programs:
  - id: shop
    redemption:
      rate: {points: 29, value: 0.29}
      min_cart: 19.99
      max_discount: 5
`, nil)
	r := c.Programs[0].Redemption
	if r.Rate.Value != 29 || r.MinCart != 1999 || r.MaxDiscount != 500 {
		t.Errorf("got %+v", r)
	}
}
