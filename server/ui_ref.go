package server

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/pointsync/pointsync/ledger"
)

// The admin pages show a card number by its last four digits only, and
// their links and forms must not carry it either (an address bar, the
// browser's history and a proxy's log would). A customer known by a card
// travels as a reference instead: "~" and the identifier sealed with a
// key drawn when the server starts. A reference is good until the server
// restarts, as a session is; other identifiers (web:42, erp:C17) travel
// as they are.

// refPrefix starts a sealed reference; no identifier kind starts with it.
const refPrefix = "~"

// uiRefs seals and opens customer references.
type uiRefs struct {
	aead cipher.AEAD
	rand io.Reader
}

func newUIRefs(rand io.Reader) (*uiRefs, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, fmt.Errorf("draw the key of customer references: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &uiRefs{aead: aead, rand: rand}, nil
}

// ref is how id travels in links and forms.
func (r *uiRefs) ref(id ledger.Ident) (string, error) {
	if id.Kind() != ledger.IdentCard {
		return string(id), nil
	}
	nonce := make([]byte, r.aead.NonceSize())
	if _, err := io.ReadFull(r.rand, nonce); err != nil {
		return "", fmt.Errorf("admin web UI: draw a reference's nonce: %w", err)
	}
	sealed := r.aead.Seal(nonce, nonce, []byte(id), nil)
	return refPrefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// open reads a reference back; ok is false when s is not one.
func (r *uiRefs) open(s string) (id ledger.Ident, ok bool, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), refPrefix)
	if !ok {
		return "", false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	n := r.aead.NonceSize()
	if err != nil || len(raw) < n {
		return "", true, uiFormErr("err.bad_reference")
	}
	plain, err := r.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", true, uiFormErr("err.bad_reference")
	}
	id, err = ledger.ParseIdent(string(plain))
	if err != nil {
		return "", true, uiFormErr("err.bad_reference")
	}
	return id, true, nil
}

// lockedReader serialises reads of a random source shared with the
// session and CSRF tokens (a test's source need not be safe for
// concurrent use).
type lockedReader struct {
	mu *sync.Mutex
	r  io.Reader
}

func (l lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// customerParam reads the customer of a form or query: a reference made
// by ref, or an identifier typed as it is.
func (u *ui) customerParam(s string) (ledger.Ident, error) {
	if id, ok, err := u.refs.open(s); ok {
		return id, err
	}
	return uiCustomerParam(s)
}

// Ref is how a customer travels in the page's links and forms.
func (v *uiView) Ref(id any) (string, error) { return v.u.refs.ref(ledger.Ident(fmt.Sprint(id))) }

// setCustomer keeps the page's customer for the program selector.
func (v *uiView) setCustomer(id ledger.Ident) error {
	ref, err := v.u.refs.ref(id)
	v.Customer = ref
	return err
}
