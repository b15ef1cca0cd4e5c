// Package mask hides card numbers in what pointsync logs and shows: a card
// number keeps its last four characters, the others become '*'
// ("card:0420001234" is shown "card:******1234"). Reports that hand rows
// back to the operator (a drop's .errors.csv) may keep what the row held;
// logs, pages, API answers and command output use this package.
//
// It imports nothing of ours, so every layer (ledger, mapping, connectors,
// daemon, server) applies the one rule. The functions differ only in where
// they look for the number: a bare number, an identifier, free text, or any
// long run of digits.
package mask

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// cardKind is the identifier kind of a card (ledger.IdentCard).
const cardKind = "card"

// Last4 is a card number with all but its last four characters replaced
// by '*'; a number of four characters or fewer is returned as it is.
// Characters, not bytes: a multi-byte one is never cut in half.
func Last4(number string) string {
	n := utf8.RuneCountInString(number)
	if n <= 4 {
		return number
	}
	cut := len(number)
	for range 4 {
		_, size := utf8.DecodeLastRuneInString(number[:cut])
		cut -= size
	}
	return strings.Repeat("*", n-4) + number[cut:]
}

// Ident masks the number of a card identifier "card:NUMBER" (the kind in
// any case, spaces around it or the number allowed, as raw input has them);
// any other identifier or text is returned as it is. The kind stays as
// written.
func Ident(s string) string {
	k, v, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(strings.TrimSpace(k), cardKind) {
		return s
	}
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) <= 4 {
		return s
	}
	return k + ":" + Last4(v)
}

// Card masks a value known to be a card number, written bare ("0420001234")
// or as an identifier ("card:0420001234").
func Card(s string) string {
	if k, _, ok := strings.Cut(s, ":"); ok && strings.EqualFold(strings.TrimSpace(k), cardKind) {
		return Ident(s)
	}
	return Last4(s)
}

// cardInText finds card identifiers inside free text (parked subjects and
// reasons, job errors); the number ends at a space, a colon or punctuation.
var cardInText = regexp.MustCompile(`(?i)card:[^\s:,;()"'\[\]{}<>]+`)

// Text masks every card identifier inside free text, writing the kind in
// lower case.
func Text(s string) string {
	return cardInText.ReplaceAllStringFunc(s, func(m string) string {
		return cardKind + ":" + Last4(m[len(cardKind)+1:])
	})
}

// minDigits is the shortest run of digits Digits takes for a card number:
// shorter runs are line numbers, counts, amounts and dates.
const minDigits = 8

// Digits masks every run of eight or more ASCII digits, for text that may
// hold a card number without its kind (a header line that is really a
// data row).
func Digits(s string) string {
	var b strings.Builder
	run := 0
	flush := func(end int) {
		if run >= minDigits {
			b.WriteString(Last4(s[end-run : end]))
		} else {
			b.WriteString(s[end-run : end])
		}
		run = 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		flush(i)
		b.WriteByte(s[i])
	}
	flush(len(s))
	return b.String()
}
