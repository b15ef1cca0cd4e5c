package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzCustomerQuery: any query string either gives a query within the
// list's bounds or a 400 naming a field; it never panics.
func FuzzCustomerQuery(f *testing.F) {
	for _, s := range []string{"", "sort=earned&desc=1", "limit=1000&offset=5", "min_earned=10&max_earned=5",
		"search=card%3A0042", "min_points=1", "limit=0", "a=1&a=2", "%zz", "desc=TRUE&min_expired=-9223372036854775808"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/x", RawQuery: raw}}
		q, err := customerQuery(r, "loyalty", now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != CodeBadRequest || e.Message == "" {
				t.Fatalf("query %q: error %#v is not a 400 bad_request", raw, err)
			}
			return
		}
		if q.Program != "loyalty" || !q.At.Equal(now) || q.Limit < 1 || q.Limit > 1000 || q.Offset < 0 {
			t.Fatalf("query %q gave %+v", raw, q)
		}
		if q.Sort != "" && q.Sort != "customer" && !slices.Contains(customerColumns, q.Sort) {
			t.Fatalf("query %q: sort %q let through", raw, q.Sort)
		}
		for col, lo := range q.Min {
			if hi, ok := q.Max[col]; ok && lo > hi {
				t.Fatalf("query %q: min %d above max %d let through", raw, lo, hi)
			}
		}
	})
}

// FuzzUploadName: a client's file name becomes short printable text
// without path or quotes.
func FuzzUploadName(f *testing.F) {
	for _, s := range []string{"", "a.csv", `C:\x\y.csv`, "../../etc/passwd", "a\"b\r\n.csv", strings.Repeat("é", 300), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := uploadName(s)
		if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > 101 || strings.ContainsAny(n, `/\"`) {
			t.Fatalf("uploadName(%q) = %q", s, n)
		}
		for _, r := range n {
			if unicode.IsControl(r) {
				t.Fatalf("uploadName(%q) = %q holds a control character", s, n)
			}
		}
	})
}
