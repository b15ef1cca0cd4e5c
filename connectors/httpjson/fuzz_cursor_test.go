package httpjson

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pointsync/pointsync/connectors"
)

// pageServer answers every request with one page and keeps the request.
type pageServer struct {
	page []byte
	last *http.Request
}

func (p *pageServer) RoundTrip(r *http.Request) (*http.Response, error) {
	p.last = r
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(p.page)), Request: r}, nil
}

// withoutParams is a query without the cursor and limit parameters.
func withoutParams(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k != "cursor" && k != "limit" {
			out[k] = v
		}
	}
	return out
}

// FuzzCursorRoundTrip: whatever next cursor a page names (a JSON string
// or number), the source returns it as text the ledger can keep (UTF-8)
// and sends it back, byte for byte, as the cursor parameter of the next
// request, with the limit asked and every parameter of the configured
// address as it was written; an address whose query would not come back
// as written is refused when the source is made.
func FuzzCursorRoundTrip(f *testing.F) {
	for _, c := range []struct {
		next   string
		number bool
		query  string
	}{
		{"abc", false, ""}, {"eyJpZCI6NDJ9", false, "api_key=s3cr3t&since=2026-01-01"}, {"a b&c=d/é", false, "cursor=old&limit=9"},
		{"42", true, ""}, {"1.5e3", true, "x=1"}, {"", false, "a=1;b=2"}, {"\xff", false, "%zz"}, {"+1", true, "a=%41&a=b"},
	} {
		f.Add(c.next, c.number, c.query, int16(50))
	}
	f.Fuzz(func(t *testing.T, next string, number bool, query string, limit int16) {
		srv := &pageServer{}
		base := "https://shop.example.com/facts"
		if query != "" {
			base += "?" + query
		}
		s, err := NewSource(PullOptions{Name: "shop", URL: base, Program: "shop", Client: &http.Client{Transport: srv}, Retries: NoRetries})
		if err != nil {
			return
		}
		want, err := url.ParseQuery(s.base.RawQuery)
		if err != nil {
			t.Fatalf("address %q accepted, but its query does not read: %v", base, err)
		}
		literal, _ := json.Marshal(next)
		if number {
			literal = []byte(next)
		}
		srv.page = []byte(`{"items":[],"next":` + string(literal) + `}`)
		// What the page names, read by encoding/json: a string, a number
		// (as written) or null are cursors; anything else is no page.
		var value any
		dec := json.NewDecoder(bytes.NewReader(literal))
		dec.UseNumber()
		valid := json.Valid(literal) && dec.Decode(&value) == nil
		var wantNext string
		switch v := value.(type) {
		case string:
			wantNext = v
		case json.Number:
			wantNext = string(v)
		case nil:
		default:
			valid = false
		}
		b, err := s.Fetch(context.Background(), "", 0)
		if err != nil {
			if valid || !strings.Contains(err.Error(), ErrBadPage.Error()) {
				t.Fatalf("page %q: %v", srv.page, err)
			}
			return
		}
		if !valid {
			t.Fatalf("page %q read, next %q", srv.page, b.Next)
		}
		sent := srv.last.URL.Query()
		if sent.Has("cursor") || sent.Has("limit") {
			t.Fatalf("first request %s has a cursor or a limit", srv.last.URL)
		}
		if got := withoutParams(sent); !equalValues(got, withoutParams(want)) {
			t.Fatalf("address %q sent with query %q", base, srv.last.URL.RawQuery)
		}
		if string(b.Next) != wantNext || !utf8.ValidString(string(b.Next)) || b.More {
			t.Fatalf("page %q: next %q, more %v", srv.page, b.Next, b.More)
		}
		if _, err := s.Fetch(context.Background(), connectors.Cursor(b.Next), int(limit)); err != nil {
			t.Fatal(err)
		}
		sent = srv.last.URL.Query()
		if b.Next != "" && (len(sent["cursor"]) != 1 || sent.Get("cursor") != string(b.Next)) {
			t.Fatalf("cursor %q sent as %q (query %q)", b.Next, sent["cursor"], srv.last.URL.RawQuery)
		}
		if b.Next == "" && sent.Has("cursor") {
			t.Fatalf("empty cursor sent: %q", srv.last.URL.RawQuery)
		}
		if wantLimit := strconv.Itoa(int(limit)); (limit > 0) != sent.Has("limit") || (limit > 0 && sent.Get("limit") != wantLimit) {
			t.Fatalf("limit %d sent as %q", limit, sent["limit"])
		}
		if got := withoutParams(sent); !equalValues(got, withoutParams(want)) {
			t.Fatalf("address %q sent with query %q after a cursor", base, srv.last.URL.RawQuery)
		}
	})
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || strings.Join(va, "\x00") != strings.Join(vb, "\x00") {
			return false
		}
	}
	return true
}
