package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/pointsync/pointsync/configs"
)

// Scope is what a token may do. Each scope includes the ones below it:
// admin > redeem > read.
type Scope int

const (
	scopeNone Scope = iota
	ScopeRead
	ScopeRedeem
	ScopeAdmin
)

func (s Scope) String() string {
	switch s {
	case ScopeRead:
		return configs.ScopeRead
	case ScopeRedeem:
		return configs.ScopeRedeem
	case ScopeAdmin:
		return configs.ScopeAdmin
	}
	return "none"
}

func parseScope(s string) (Scope, error) {
	switch s {
	case configs.ScopeRead:
		return ScopeRead, nil
	case configs.ScopeRedeem:
		return ScopeRedeem, nil
	case configs.ScopeAdmin:
		return ScopeAdmin, nil
	}
	return scopeNone, fmt.Errorf("unknown scope %q (use read, redeem or admin)", s)
}

// token is a configured token: only its hash is kept.
type token struct {
	name  string
	hash  [sha256.Size]byte
	scope Scope // the highest of its scopes
}

// Caller is who a request comes from: a token's name and scope.
type Caller struct {
	Name  string
	Scope Scope
}

// HashToken is the SHA-256 of a token in hex, as written in the
// configuration's sha256 key.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func loadTokens(cfg []configs.Token) ([]token, error) {
	out := make([]token, 0, len(cfg))
	for _, t := range cfg {
		tk := token{name: t.Name}
		switch {
		case t.SHA256 != "":
			b, err := hex.DecodeString(t.SHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("token %s: sha256 is not 64 hexadecimal digits", t.Name)
			}
			copy(tk.hash[:], b)
		case t.Token != "":
			tk.hash = sha256.Sum256([]byte(t.Token.Reveal()))
		default:
			return nil, fmt.Errorf("token %s: neither sha256 nor token_file is set", t.Name)
		}
		for _, s := range t.Scopes {
			sc, err := parseScope(s)
			if err != nil {
				return nil, fmt.Errorf("token %s: %w", t.Name, err)
			}
			tk.scope = max(tk.scope, sc)
		}
		out = append(out, tk)
	}
	return out, nil
}

// authenticate finds the token a request presents. Every configured token
// is compared, in constant time, so the time taken says nothing about
// which one came close.
func (s *Server) authenticate(presented string) (Caller, bool) {
	h := sha256.Sum256([]byte(presented))
	var found Caller
	ok := 0
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare(h[:], t.hash[:]) == 1 {
			found, ok = Caller{Name: t.name, Scope: t.scope}, 1
		}
	}
	return found, ok == 1
}

// bearer is the token of an Authorization: Bearer header, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(h[len(prefix):])
}
