package rules

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

var voucherForm = regexp.MustCompile(`^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$`)

func TestNewVoucherCode(t *testing.T) {
	// Byte i picks symbol i: the code is predictable, so the check
	// character can be pinned.
	seq := make([]byte, 12)
	for i := range seq {
		seq[i] = byte(i)
	}
	code, err := NewVoucherCode(bytes.NewReader(seq))
	if err != nil {
		t.Fatal(err)
	}
	// 23456789ABC, then check: sum (i+1)*i for i<11 = 440 = 6 mod 31;
	// c = (31-6)*13 mod 31 = 325 mod 31 = 15, symbol "H".
	if code != "2345-6789-ABCH" {
		t.Fatalf("code %s, want 2345-6789-ABCH", code)
	}

	// Bytes 248..255 would favour the first symbols: they are skipped.
	skewed := append(bytes.Repeat([]byte{255, 248}, 3), seq...)
	if code2, err := NewVoucherCode(bytes.NewReader(skewed)); err != nil || code2 != code {
		t.Fatalf("with bytes to skip: %s, %v; want %s", code2, err, code)
	}
	// 247 is the last usable byte: 247 mod 31 = 30, "Z".
	if c, err := NewVoucherCode(bytes.NewReader(bytes.Repeat([]byte{247}, 12))); err != nil || !strings.HasPrefix(c, "ZZZZ-ZZZZ-ZZZ") {
		t.Fatalf("byte 247: %s, %v", c, err)
	}

	if _, err := NewVoucherCode(bytes.NewReader(seq[:5])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short random source: %v", err)
	}
	if _, err := NewVoucherCode(bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
		t.Fatalf("empty random source: %v", err)
	}
	if _, err := NewVoucherCode(constReader(255)); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Fatalf("random source of 255s: %v", err)
	}

	seen := map[string]bool{}
	for range 2000 {
		c, err := NewVoucherCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !voucherForm.MatchString(c) || !ValidVoucherCode(c) {
			t.Fatalf("generated %q is not a valid code", c)
		}
		if seen[c] {
			t.Fatalf("duplicate %s among 2000 codes", c)
		}
		seen[c] = true
	}
}

type constReader byte

func (c constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func TestValidVoucherCode(t *testing.T) {
	const good = "2345-6789-ABCH"
	tests := []struct {
		in   string
		want string // canonical form, "" when invalid
	}{
		{good, good},
		{"2345-6789-abch", good},
		{"234567 89ABCH", good},
		{" 2345 6789 abch\t", good},
		{"2-3-4-5-6-7-8-9-A-B-C-H", good},
		{"k7qm 3xht 9wp4", "K7QM-3XHT-9WP4"}, // the example in NewVoucherCode's comment
		{"2345-6789-ABCJ", ""},               // wrong check character
		{"2345-6789-ABC", ""},
		{"2345-6789-ABCHH", ""},
		{"2345-6789-ABCH-2345", ""},
		{"", ""},
		{"----", ""},
		{"0345-6789-ABCH", ""}, // 0, O, 1, I, L are not in the alphabet
		{"O345-6789-ABCH", ""},
		{"1345-6789-ABCH", ""},
		{"I345-6789-ABCH", ""},
		{"L345-6789-ABCH", ""},
		{"2345_6789_ABCH", ""},
		{"2345-6789-ABCÉ", ""},
		{"2345\u00a06789-ABCH", ""},
	}
	for _, tt := range tests {
		got, ok := NormalizeVoucherCode(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("NormalizeVoucherCode(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
		if ValidVoucherCode(tt.in) != (tt.want != "") {
			t.Errorf("ValidVoucherCode(%q) disagrees", tt.in)
		}
	}
}

// TestVoucherCheckCharacter changes every character of codes to every other
// symbol, and swaps every pair: the check character must catch all of them.
func TestVoucherCheckCharacter(t *testing.T) {
	for range 50 {
		code, err := NewVoucherCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		syms := []byte(strings.ReplaceAll(code, "-", ""))
		for i := range syms {
			for j := range len(voucherAlphabet) {
				c := voucherAlphabet[j]
				if c == syms[i] {
					continue
				}
				changed := bytes.Clone(syms)
				changed[i] = c
				if ValidVoucherCode(string(changed)) {
					t.Fatalf("%s with position %d changed to %c still validates", code, i, c)
				}
			}
			for j := i + 1; j < len(syms); j++ {
				if syms[i] == syms[j] {
					continue
				}
				swapped := bytes.Clone(syms)
				swapped[i], swapped[j] = swapped[j], swapped[i]
				if ValidVoucherCode(string(swapped)) {
					t.Fatalf("%s with positions %d and %d swapped still validates", code, i, j)
				}
			}
		}
	}
}

func FuzzVoucherCode(f *testing.F) {
	f.Add("2345-6789-ABCH", []byte("0123456789ab"), uint8(3), uint8(7))
	f.Add("", []byte{}, uint8(0), uint8(0))
	f.Add("zzzz zzzz zzzz", bytes.Repeat([]byte{250}, 40), uint8(11), uint8(30))
	f.Fuzz(func(t *testing.T, s string, random []byte, pos, delta uint8) {
		if c, ok := NormalizeVoucherCode(s); ok && (!voucherForm.MatchString(c) || !ValidVoucherCode(c)) {
			t.Fatalf("%q normalises to %q, which does not validate", s, c)
		}
		code, err := NewVoucherCode(bytes.NewReader(random))
		if err != nil {
			return // the fuzzer's bytes ran out; a real source does not
		}
		if !ValidVoucherCode(code) {
			t.Fatalf("generated %q does not validate", code)
		}
		syms := []byte(strings.ReplaceAll(code, "-", ""))
		i := int(pos) % len(syms)
		k := strings.IndexByte(voucherAlphabet, syms[i])
		step := 1 + int(delta)%(len(voucherAlphabet)-1)
		syms[i] = voucherAlphabet[(k+step)%len(voucherAlphabet)]
		if ValidVoucherCode(string(syms)) {
			t.Fatalf("%s with position %d changed still validates as %s", code, i, syms)
		}
	})
}

func TestVoucherSpec(t *testing.T) {
	loc := rome(t)
	bad := map[string]VoucherSpec{
		"nothing":          {},
		"both":             {ValueCents: 500, BasisPoints: 1000},
		"negative value":   {ValueCents: -1},
		"over 100%":        {BasisPoints: 10001},
		"negative days":    {ValueCents: 500, ValidDays: -1},
		"negative percent": {BasisPoints: -5},
	}
	for name, v := range bad {
		if v.Validate() == nil {
			t.Errorf("%s: %+v validates", name, v)
		}
	}
	for _, v := range []VoucherSpec{{ValueCents: 500}, {BasisPoints: 10000, ValidDays: 30}, {BasisPoints: 1}} {
		if err := v.Validate(); err != nil {
			t.Errorf("%+v: %v", v, err)
		}
	}

	discounts := []struct {
		v          VoucherSpec
		base, want int64
	}{
		{VoucherSpec{ValueCents: 500}, 12760, 500},
		{VoucherSpec{ValueCents: 500}, 300, 300}, // never more than the document
		{VoucherSpec{ValueCents: 500}, 0, 0},
		{VoucherSpec{ValueCents: 500}, -100, 0},
		{VoucherSpec{BasisPoints: 1000}, 12760, 1276},
		{VoucherSpec{BasisPoints: 1250}, 999, 124}, // 124.875 rounds down
		{VoucherSpec{BasisPoints: 10000}, 4321, 4321},
		// floor(2^62 * 3333 / 10000), which overflows int64 if multiplied first.
		{VoucherSpec{BasisPoints: 3333}, 1 << 62, 1537074949941848388},
	}
	for _, d := range discounts {
		if got := d.v.Discount(d.base); got != d.want {
			t.Errorf("%+v on %d: %d, want %d", d.v, d.base, got, d.want)
		}
	}

	expiry := []struct {
		name   string
		days   int
		issued time.Time
		want   string // RFC 3339 in Rome, "" for none
	}{
		{"no expiry", 0, time.Date(2026, 7, 10, 9, 0, 0, 0, loc), ""},
		{"30 days", 30, time.Date(2026, 7, 10, 9, 0, 0, 0, loc), "2026-08-10T00:00:00+02:00"},
		{"late evening UTC is next day in Rome", 1, time.Date(2026, 7, 10, 22, 30, 0, 0, time.UTC), "2026-07-13T00:00:00+02:00"},
		{"across the autumn change", 7, time.Date(2026, 10, 20, 9, 0, 0, 0, loc), "2026-10-28T00:00:00+01:00"},
	}
	for _, tt := range expiry {
		got, ok := VoucherSpec{ValueCents: 100, ValidDays: tt.days}.ExpiresAt(tt.issued, loc)
		if tt.want == "" {
			if ok {
				t.Errorf("%s: expires %v, want never", tt.name, got)
			}
			continue
		}
		if !ok || got.In(loc).Format(time.RFC3339) != tt.want {
			t.Errorf("%s: %v %v, want %s", tt.name, got.In(loc).Format(time.RFC3339), ok, tt.want)
		}
	}
}
