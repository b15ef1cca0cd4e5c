package mask

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(string) string
		in, out string
	}{
		{"Last4", Last4, "", ""},
		{"Last4", Last4, "1234", "1234"},
		{"Last4", Last4, "12345", "*2345"},
		{"Last4", Last4, "0420001234", "******1234"},
		{"Last4", Last4, "ÀÀÀÀÀÀ", "**ÀÀÀÀ"},

		{"Ident", Ident, "card:0420001234", "card:******1234"},
		{"Ident", Ident, "CARD: 0420001234 ", "CARD:******1234"},
		{"Ident", Ident, " card :0420001234", " card :******1234"},
		{"Ident", Ident, "card:1234", "card:1234"},
		{"Ident", Ident, "card:ÀÀÀ", "card:ÀÀÀ"},
		{"Ident", Ident, "web:0420001234", "web:0420001234"},
		{"Ident", Ident, "email:card:0420001234@example.com", "email:card:0420001234@example.com"},
		{"Ident", Ident, "0420001234", "0420001234"},
		{"Ident", Ident, "", ""},

		{"Card", Card, "0420001234", "******1234"},
		{"Card", Card, "card:0420001234", "card:******1234"},
		{"Card", Card, "CARD:12345", "CARD:*2345"},
		{"Card", Card, "1234", "1234"},

		{"Text", Text, "", ""},
		{"Text", Text, "card:0420001234567", "card:*********4567"},
		{"Text", Text, "receipt of card:0420001234567, store 4", "receipt of card:*********4567, store 4"},
		{"Text", Text, "(CARD:12345678)", "(card:****5678)"},
		{"Text", Text, "receipt of card:0420001234567: unknown", "receipt of card:*********4567: unknown"},
		{"Text", Text, "card:1234", "card:1234"},
		{"Text", Text, "actions:card:0420009999", "actions:card:******9999"},
		{"Text", Text, "web:0420001234567 order:W1", "web:0420001234567 order:W1"},
		{"Text", Text, `"card:99990000" and card:11112222`, `"card:****0000" and card:****2222`},

		{"Digits", Digits, "", ""},
		{"Digits", Digits, "line 12, 1234567 rows", "line 12, 1234567 rows"},
		{"Digits", Digits, `unknown column "0420001234567"`, `unknown column "*********4567"`},
		{"Digits", Digits, "12345678", "****5678"},
		{"Digits", Digits, "a12345678b99", "a****5678b99"},
		{"Digits", Digits, "2026-03-10 S01;0420001234;12,50", "2026-03-10 S01;******1234;12,50"},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.out {
			t.Errorf("%s(%q) = %q, want %q", tt.name, tt.in, got, tt.out)
		}
	}
}

// digitRun is a run of digits long enough to be a card number.
var digitRun = regexp.MustCompile(`[0-9]{8,}`)

// FuzzMask: a card number put anywhere in any text never comes out whole;
// every function keeps the last four characters, changes nothing but the
// number and is stable (masking twice is masking once).
func FuzzMask(f *testing.F) {
	for _, s := range [][2]string{
		{"", "0420001234567"}, {"x card:12 ", "123456789"}, {"CARD:", "abcdefgh"}, {"card:", ""},
		{"receipt of ", "99990000"}, {"(", "ÀÀÀÀÀÀ"}, {"card: ", "1234"},
	} {
		f.Add(s[0], s[1], ", then more")
	}
	f.Fuzz(func(t *testing.T, before, number, after string) {
		for name, fn := range map[string]func(string) string{"Last4": Last4, "Ident": Ident, "Card": Card, "Text": Text, "Digits": Digits} {
			for _, in := range []string{number, "card:" + number, before + number + after, before + "card:" + number + after} {
				out := fn(in)
				if again := fn(out); again != out {
					t.Fatalf("%s is not stable on %q: %q, then %q", name, in, out, again)
				}
				if utf8.ValidString(in) && !utf8.ValidString(out) {
					t.Fatalf("%s(%q) = %q: not valid text", name, in, out)
				}
			}
		}
		if !utf8.ValidString(number) {
			return
		}
		n := utf8.RuneCountInString(number)
		if got := Last4(number); utf8.RuneCountInString(got) != n || !strings.HasSuffix(got, string([]rune(number)[max(0, n-4):])) ||
			(n > 4 && strings.Trim(got[:len(got)-len(string([]rune(number)[n-4:]))], "*") != "") {
			t.Fatalf("Last4(%q) = %q: want %d characters, '*' but the last four", number, got, n)
		}
		// A number that is all a card number can be: no space, colon,
		// punctuation or star (a star is what masking writes).
		if n <= 4 || strings.ContainsAny(number, " \t\r\n\v\f\u0085\u00a0:,;()\"'[]{}<>*") || strings.TrimSpace(number) != number {
			return
		}
		for name, got := range map[string]string{
			"Card(number)":      Card(number),
			"Card(card:number)": Card("card:" + number),
			"Ident":             Ident("card:" + number),
		} {
			if strings.Contains(got, number) {
				t.Fatalf("%s with %q shows the number whole: %q", name, number, got)
			}
		}
		in := before + " card:" + number + " " + after
		if got, want := Text(in), Text(before)+" card:"+Last4(number)+" "+Text(after); got != want {
			t.Fatalf("Text(%q) = %q, want %q", in, got, want)
		}
		if in := before + number + after; digitRun.MatchString(Digits(in)) {
			t.Fatalf("Digits(%q) = %q leaves eight digits in a row", in, Digits(in))
		}
	})
}
