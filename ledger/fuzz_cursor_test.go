package ledger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzCursor stores any cursor text under any source name, as connectors
// hand them over (a drop file's sha256:<hex>:<row>, a SQL source's JSON,
// a webservice's opaque next token): a name or a cursor the ledger cannot
// keep exactly is refused as invalid before anything is written, and
// what it accepts reads back byte for byte, from the transaction and
// after the commit, without touching another source's cursor.
func FuzzCursor(f *testing.F) {
	for _, c := range [][2]string{
		{"pos-drop", "sha256:" + strings.Repeat("ab", 32) + ":17"},
		{"erp-docs", `{"v":1,"columns":["rv"],"last":["0x00000000000007D1"]}`},
		{"shop", "eyJpZCI6NDJ9\x00tail"},
		{"", "x"}, {" lead", "x"}, {"a\xffb", "x"}, {"ok", "bad \xff utf-8"}, {"ok", ""},
		{"àèìòù", "🙂 cursor"}, {strings.Repeat("s", 192), "x"}, {"spaces", "  around  "}, {"nul", "end\x00"},
	} {
		f.Add(c[0], c[1], uint16(0))
	}
	f.Add("big", "0123456789", uint16(40000))
	clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
	l := openSQLite(f, clock)
	ctx := context.Background()
	const other = "other-source"
	if err := l.Update(ctx, func(tx *Tx) error { return tx.SetCursor(other, "keep me") }); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, source, cursor string, repeat uint16) {
		if source == other {
			return
		}
		// repeat makes cursors around the size limit without feeding
		// megabytes to the fuzzer.
		cursor = strings.Repeat(cursor, int(repeat)%(2*maxCursorBytes/max(len(cursor), 1)+2)+1)
		before, err := l.Cursor(ctx, source)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Cursor(%q): %v", source, err)
		}
		keep := source != "" && len(source) <= maxKeyLen && utf8.ValidString(source) && strings.TrimSpace(source) == source &&
			len(cursor) <= maxCursorBytes && utf8.ValidString(cursor)
		var inTx string
		err = l.Update(ctx, func(tx *Tx) error {
			if err := tx.SetCursor(source, cursor); err != nil {
				return err
			}
			var err error
			inTx, err = tx.Cursor(source)
			return err
		})
		if !keep {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("SetCursor(%q, %d bytes) = %v; want an invalid-input error", source, len(cursor), err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("SetCursor(%q): message %q is not UTF-8 text", source, err)
			}
			if after, _ := l.Cursor(ctx, source); after != before {
				t.Fatalf("a refused SetCursor(%q) changed the cursor from %q to %q", source, before, after)
			}
			return
		}
		if err != nil {
			t.Fatalf("SetCursor(%q, %d bytes): %v", source, len(cursor), err)
		}
		if inTx != cursor {
			t.Fatalf("source %q: the transaction reads back %d bytes, %d were stored", source, len(inTx), len(cursor))
		}
		got, err := l.Cursor(ctx, source)
		if err != nil || got != cursor {
			t.Fatalf("source %q: %d bytes read back after the commit (%v), %d were stored", source, len(got), err, len(cursor))
		}
		if c, err := l.Cursor(ctx, other); err != nil || c != "keep me" {
			t.Fatalf("storing the cursor of %q changed %q's to %q, %v", source, other, c, err)
		}
	})
}

// FuzzParseIdent checks customer identifiers as every caller reads them
// (API bodies and paths, files, webservices): what parses is canonical
// (it parses again to itself, with a known lower-case kind and a value
// of printable text within the size limit), and a card number never
// reaches a log whole: neither the masked form nor an error message shows
// more than its last four characters.
func FuzzParseIdent(f *testing.F) {
	for _, s := range []string{"web:42", " WEB : 42 ", "erp:C00017", "card:0420001234", "email:Anna@Example.com", "card:0420 001234",
		"card:", "card:\x00123456789", "CARD:12345678\xff", "42", "fax:1", "email:@x", "email:a@", "card:" + strings.Repeat("9", 129), "web:\u00e8\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIdent(s)
		if err != nil {
			msg := err.Error()
			if msg == "" {
				t.Fatalf("ParseIdent(%q): an empty error", s)
			}
			if k, v, ok := strings.Cut(strings.TrimSpace(s), ":"); ok && strings.EqualFold(strings.TrimSpace(k), IdentCard) {
				v = strings.TrimSpace(v)
				digits := len(v) >= 8 && strings.Trim(v, "0123456789") == ""
				if utf8.RuneCountInString(v) > 4 && strings.Contains(msg, v) || digits && strings.Contains(msg, v[:len(v)-4]) {
					t.Fatalf("ParseIdent(%q): error %q shows the card number", s, msg)
				}
			}
			return
		}
		again, err := ParseIdent(string(id))
		if err != nil || again != id {
			t.Fatalf("ParseIdent(%q) = %q, which parses to %q, %v", s, id, again, err)
		}
		kind, value, _ := strings.Cut(string(id), ":")
		switch {
		case kind != IdentWeb && kind != IdentERP && kind != IdentCard && kind != IdentEmail:
			t.Fatalf("ParseIdent(%q) = %q: kind %q", s, id, kind)
		case value == "" || len(value) > maxIdentValue || !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl):
			t.Fatalf("ParseIdent(%q) = %q: value %q", s, id, value)
		case value != strings.TrimSpace(value):
			t.Fatalf("ParseIdent(%q) = %q: spaces around the value", s, id)
		case kind == IdentEmail && (value != strings.ToLower(value) || !strings.Contains(value, "@")):
			t.Fatalf("ParseIdent(%q) = %q: not a lower-case address", s, id)
		}
		if id.Kind() != kind {
			t.Fatalf("%q.Kind() = %q", id, id.Kind())
		}
		m := id.Masked()
		if r := []rune(value); kind == IdentCard && len(r) > 4 {
			if m != "card:"+strings.Repeat("*", len(r)-4)+string(r[len(r)-4:]) {
				t.Fatalf("%q masked as %q", id, m)
			}
		} else if m != string(id) {
			t.Fatalf("%q masked as %q: only card numbers are masked", id, m)
		}
	})
}
