package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsync/pointsync/server"
)

// hookReceiver is a webhook receiver on 127.0.0.1 that fails its first
// answers, checks signatures and keeps the events by id.
type hookReceiver struct {
	mu       sync.Mutex
	failures int
	calls    int
	badSig   int
	events   map[string]map[string]any
	secret   string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write(body)
	if !hmac.Equal([]byte(r.Header.Get("X-Pointsync-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
		h.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h.calls <= h.failures {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.events[r.Header.Get("X-Pointsync-Event-Id")] = ev
}

// freeAddr is a 127.0.0.1 address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestWebServerE2E runs the real daemon with its web server and
// notifications: the checkout reserves and commits points, the shop's
// order then arrives through its drop folder and takes the reservation
// over without spending twice, the ERP invoice earns points, and the
// webhook receiver, failing its first answers, gets the signed event.
func TestWebServerE2E(t *testing.T) {
	s := newSite(t, 100)
	hook := &hookReceiver{failures: 2, events: map[string]map[string]any{}, secret: "whsec-0123456789abcdef"}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hsrv := &http.Server{Handler: hook}
	go hsrv.Serve(hln)
	t.Cleanup(func() { hsrv.Close() })

	const tok = "e2e-admin-token-0123456789abcdef"
	addr := freeAddr(t)
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(data), `    accrual: {base: value, mode: steps, points: 1, every: "1.00"}`,
		`    accrual: {base: value, mode: steps, points: 1, every: "1.00"}
    redemption: {rate: {points: 100, value: "1.00"}}`, 1)
	cfg += fmt.Sprintf(`server:
  listen: %s
  tokens:
    - {name: office, scopes: [admin], sha256: %s}
notifications:
  events: [points_earned]
  webhook: {url: "http://%s/events", secret: %s, backoff: 100ms, max_backoff: 200ms, poll: 100ms}
`, addr, server.HashToken(tok), hln.Addr(), hook.secret)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// anna has 500 points to spend at the checkout.
	s.drop("customers", "anna.csv", "web;email\nanna;anna@example.com\n")
	s.sync()
	if code, out, errs := s.run("adjust", "--program", "shop", "--customer", "web:anna", "--points", "500", "--note", "welcome"); code != 0 {
		t.Fatalf("adjust: %d %s %s", code, out, errs)
	}
	d, logs := s.daemon()
	api := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	waitUntil(t, "readyz", logs, func() bool { code, _ := api("GET", "/readyz", ""); return code == 200 })

	// The adjustment made before the daemon started is announced too:
	// the CLI wrote its event in the same transaction.
	waitUntil(t, "the adjustment's event", logs, func() bool {
		for _, ev := range hook.snapshot() {
			if ev["type"] == "points_earned" {
				return true
			}
		}
		return false
	})

	// Checkout: reserve 200 for order W5, then commit.
	if code, body := api("POST", "/api/v1/programs/shop/reservations", `{"order":"W5","customer":"web:anna","points":200}`); code != 201 {
		t.Fatalf("reserve: %d %v", code, body)
	}
	if code, body := api("POST", "/api/v1/programs/shop/reservations/W5/commit", ""); code != 200 || body["state"] != "committed" {
		t.Fatalf("commit: %d %v", code, body)
	}
	want := func(earned, provisional, spent float64) {
		t.Helper()
		waitUntil(t, fmt.Sprintf("balance %v/%v/%v", earned, provisional, spent), logs, func() bool {
			code, b := api("GET", "/api/v1/programs/shop/customers/web:anna/balance", "")
			return code == 200 && b["earned"] == earned && b["provisional"] == provisional && b["spent"] == spent
		})
	}
	want(300, 0, 200)
	// The shop's order W5 arrives, spending the 200 it reserved: nothing
	// is spent twice (the 300 left could pay for it again); the invoice
	// then earns its 50 points.
	placed := time.Now().Add(time.Hour)
	s.drop("orders", "w5.csv", "order,customer,placed_at,status,points_spent,product,quantity,gross\n"+
		"W5,anna,"+placed.Format("2006-01-02 15:04:05")+",wc-processing,200,A,1,50.00\n")
	want(300, 50, 200)
	s.drop("erp", "ft5.csv", "tipo;anno;serie;numero;ordine;data;importo\nF;"+placed.Format("2006")+";A;5;W5;"+
		placed.Add(time.Hour).Format("02/01/2006 15:04")+";50,00\n")
	want(350, 0, 200)

	// The invoice's points reach the webhook, after its refusals.
	waitUntil(t, "the invoice's points_earned event", logs, func() bool {
		for _, ev := range hook.snapshot() {
			if data, ok := ev["data"].(map[string]any); ok && ev["type"] == "points_earned" && data["points"] == 50.0 && data["source"] == "erp" {
				return true
			}
		}
		return false
	})
	hook.mu.Lock()
	calls, bad := hook.calls, hook.badSig
	hook.mu.Unlock()
	if calls <= hook.failures || bad != 0 {
		t.Fatalf("webhook calls %d (the first %d refused), bad signatures %d", calls, hook.failures, bad)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`pointsync_movements_applied_total{kind="spend",source="api"} 1`, "pointsync_active 1", `pointsync_job_lag_seconds{job="orders"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
	stopDaemon(t, d, logs)
}

func (h *hookReceiver) snapshot() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]map[string]any, 0, len(h.events))
	for _, ev := range h.events {
		out = append(out, ev)
	}
	return out
}
