package ledger

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pointsync/pointsync/internal/mask"
)

// Identifier kinds a customer can be known by (SPEC 2).
const (
	IdentWeb   = "web"
	IdentERP   = "erp"
	IdentCard  = "card"
	IdentEmail = "email"
)

const maxIdentValue = 128

// Ident is a customer identifier in its canonical form "kind:value".
type Ident string

// ParseIdent checks and normalises a customer identifier such as
// "web:42", "erp:C00017", "card:0420001234" or "email:anna@example.com".
// E-mail addresses are lower-cased; other values keep their case.
func ParseIdent(s string) (Ident, error) {
	id, err := parseIdent(s)
	if err != nil {
		// Messages reach logs: a card number shows its last four only.
		return "", errors.New(strings.ReplaceAll(err.Error(), fmt.Sprintf("%q", s), fmt.Sprintf("%q", mask.Ident(s))))
	}
	return id, nil
}

func parseIdent(s string) (Ident, error) {
	kind, value, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return "", fmt.Errorf("customer %q has no kind: write web:ID, erp:CODE, card:NUMBER or email:ADDRESS", s)
	}
	kind = strings.ToLower(strings.TrimSpace(kind))
	value = strings.TrimSpace(value)
	switch kind {
	case IdentWeb, IdentERP, IdentCard, IdentEmail:
	default:
		return "", fmt.Errorf("customer %q: unknown kind %q (use web, erp, card or email)", s, kind)
	}
	if value == "" {
		return "", fmt.Errorf("customer %q: the %s identifier is empty", s, kind)
	}
	if len(value) > maxIdentValue {
		return "", fmt.Errorf("customer %s:…: the identifier is longer than %d bytes", kind, maxIdentValue)
	}
	if !utf8.ValidString(value) {
		return "", fmt.Errorf("customer %q: the identifier is not valid text", s)
	}
	for _, r := range value {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("customer %q: the identifier holds a control character", s)
		}
	}
	if kind == IdentEmail {
		value = strings.ToLower(value)
		at := strings.IndexByte(value, '@')
		if at <= 0 || at == len(value)-1 || strings.ContainsAny(value, " \t") {
			return "", fmt.Errorf("customer %q: not an e-mail address", s)
		}
	}
	if kind == IdentCard && strings.ContainsAny(value, " \t") {
		return "", fmt.Errorf("customer %q: a card number has no spaces", s)
	}
	return Ident(kind + ":" + value), nil
}

// Kind is the part before the colon.
func (id Ident) Kind() string {
	k, _, _ := strings.Cut(string(id), ":")
	return k
}

// Masked is the identifier fit for logs: card numbers show only their last
// four characters (internal/mask, the rule every layer applies).
func (id Ident) Masked() string { return mask.Ident(string(id)) }
