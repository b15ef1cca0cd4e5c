package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAPIClient: the bench's HTTP/1.1 client reads answers with a length,
// chunked ones and errors with their text, sends the token and the body,
// and dials again after the server closed the connection.
func TestAPIClient(t *testing.T) {
	var dials atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/small":
			fmt.Fprint(w, `{"ok":true}`)
		case "/chunked":
			for range 100 {
				fmt.Fprint(w, strings.Repeat("x", 100))
				w.(http.Flusher).Flush()
			}
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "want a JSON POST", http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusCreated)
			w.Write(b)
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "bye")
		default:
			http.Error(w, "no such page", http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newAPIClient(srv.Listener.Addr().String(), "tok", 1)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		method, path, body string
		want               int
		err                string
	}{
		{"GET", "/small", "", 200, ""},
		{"GET", "/chunked", "", 200, ""},
		{"POST", "/echo", `{"a":1}`, 201, ""},
		{"POST", "/echo", "", 201, "want a JSON POST"},
		{"GET", "/missing", "", 200, "status 404: no such page"},
		{"GET", "/small", "", 200, ""},
	} {
		err := c.call(ctx, 0, tc.method, tc.path, tc.body, tc.want)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s %s: error %v, want %q", tc.method, tc.path, err, tc.err)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections for six requests, want 1 kept alive", n)
	}
	if err := c.call(ctx, 0, "GET", "/close", "", 200); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("a closing answer: %v", err)
	}
	if err := c.call(ctx, 0, "GET", "/small", "", 200); err != nil {
		t.Errorf("after the server closed: %v", err)
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("%d connections, want a second one after the close", n)
	}
}
