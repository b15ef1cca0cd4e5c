package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestHealthAndAuth(t *testing.T) {
	ts := newTestServer(t)
	if r := ts.do("GET", "/healthz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("healthz without a token: %d %s", r.Status, r.Body)
	}
	tests := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"readyz no token", "/readyz", "", 401, CodeUnauthorized},
		{"readyz wrong token", "/readyz", "not-a-token", 401, CodeUnauthorized},
		{"readyz read", "/readyz", tokRead, 200, ""},
		{"metrics no token", "/metrics", "", 401, CodeUnauthorized},
		{"unknown route", "/api/v1/nothing", tokRead, 404, CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("GET", tt.path, tt.token, nil)
			if r.Status != tt.status || r.ErrorCode() != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.ErrorCode(), tt.status, tt.code, r.Body)
			}
			if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("security headers missing: %v", r.Header)
			}
		})
	}
	ts.credit("loyalty", "web:m1", 10)
	r := ts.do("GET", "/metrics", tokRead, nil)
	for _, want := range []string{
		`pointsync_http_requests_total{code="401",route="GET /readyz"} 2`,
		`pointsync_movements_applied_total{kind="credit",source="admin"} 1`,
		`pointsync_parked_facts{program="loyalty"} 0`,
		"pointsync_outbox_pending 0",
		"pointsync_active 1",
		"pointsync_ledger_scrape_errors 0",
	} {
		if r.Status != 200 || !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %s: %d\n%s", want, r.Status, r.Body)
		}
	}
}

func TestReadyzStandby(t *testing.T) {
	ts := newTestServer(t, withActive(func() bool { return false }))
	if r := ts.do("GET", "/readyz", tokRead, nil); r.Status != 503 || r.ErrorCode() != CodeNotActive {
		t.Fatalf("standby readyz: %d %s", r.Status, r.Body)
	}
}
