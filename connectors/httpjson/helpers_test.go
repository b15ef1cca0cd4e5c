package httpjson

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// newServer starts a real HTTP server on 127.0.0.1 for the test.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
