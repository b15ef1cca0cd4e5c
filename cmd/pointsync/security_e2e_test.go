package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/server"
)

// TestSecurityE2E runs the real daemon with its web server, logging at
// debug level, tokens given hashed and through token_file, and drops
// holding card numbers: good rows, bad rows, a file refused whole, till
// receipts and an order of cards nobody has yet (parked). It then calls
// the API and the admin UI with good and wrong tokens, and reads status
// and unmatched. No clear token and no whole card number may show in the
// daemon's log, in the commands' output, in the parked listings (CLI,
// API, UI), the jobs' errors or /metrics; each shows the last four digits.
func TestSecurityE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon with its web server; skipped with -short")
	}
	s := newSite(t, 100)
	const (
		tokHashed = "e2e-office-token-0123456789abcdef"
		tokFile   = "e2e-file-token-fedcba9876543210XYZ"
		tokRead   = "e2e-reader-token-0123456789abcdef"
	)
	wrong := []string{tokHashed + "x", "wrong-" + tokFile, tokFile[:len(tokFile)-1], strings.ToUpper(tokRead)}
	tokenFile := filepath.Join(s.dir, "office2.token")
	if err := os.WriteFile(tokenFile, []byte(tokFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Cards: one a till creates a customer for, one in a bad row, one in a
	// file refused whole (no header), one at a till of the shop program
	// (no card customers there: parked), one as a web order's customer
	// (parked).
	const (
		cardKnown   = "4000123412341234"
		cardBadRow  = "4000999988887777"
		cardRefused = "4000777766665555"
		cardTill    = "4000555566667777"
		cardOrder   = "4000111122223333"
	)
	cards := []string{cardKnown, cardBadRow, cardRefused, cardTill, cardOrder}

	addr := freeAddr(t)
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(data), "log: {level: info}", "log: {level: debug}", 1)
	cfg = strings.Replace(cfg, "exports:\n", `  - name: shoptills
    kind: csv_drop
    schedule: "@every 1s"
    program: shop
    facts: till_receipt
    drop: {dir: drops/shoptills, min_age: 1s}
    date_formats: ["02/01/2006 15:04"]
exports:
`, 1)
	cfg += fmt.Sprintf(`server:
  listen: %s
  tokens:
    - {name: office, scopes: [admin], sha256: %s}
    - {name: office2, scopes: [admin], token_file: %s}
    - {name: reader, scopes: [read], sha256: %s}
`, addr, server.HashToken(tokHashed), tokenFile, server.HashToken(tokRead))
	if !strings.Contains(cfg, "level: debug") || !strings.Contains(cfg, "shoptills") {
		t.Fatalf("the site configuration changed; this test cannot edit it:\n%s", cfg)
	}
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	head := "store;till;receipt;line;at;card;gross;discount;spent\n"
	s.drop("stores", "s01.csv", head+"S01;1;1;1;10/07/2026 09:00;"+cardKnown+";100,00;0;0\nS01;1;2;1;10/07/2026 09:05;"+cardBadRow+";dieci;0;0\n")
	s.drop("stores", "s02.csv", "S01;1;3;1;10/07/2026 09:10;"+cardRefused+";5,00;0;0\n")
	s.drop("shoptills", "t01.csv", head+"S01;1;1;1;10/07/2026 09:00;"+cardTill+";20,00;0;0\n")
	s.drop("orders", "w1.csv", "order,customer,placed_at,status,product,quantity,gross\nW1,card:"+cardOrder+",2026-03-02 09:00:00,wc-processing,A,1,80.00\n")

	d, logs := s.daemon()
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var bodies []string // every answer's body and headers
	call := func(method, path, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		bodies = append(bodies, fmt.Sprint(resp.Header)+"\n"+string(b))
		return resp.StatusCode, string(b)
	}
	waitUntil(t, "readyz", logs, func() bool { code, _ := call("GET", "/readyz", tokRead); return code == 200 })
	parked := func(program string) []map[string]string {
		t.Helper()
		code, body := call("GET", "/api/v1/programs/"+program+"/parked", tokFile)
		var out []map[string]string
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
			return nil
		}
		return out
	}
	waitUntil(t, "the till receipt and the order parked", logs, func() bool { return len(parked("shop")) >= 2 })
	waitUntil(t, "every drop archived or refused", logs, func() bool {
		for _, conn := range []string{"stores", "shoptills", "orders"} {
			if entries, _ := os.ReadDir(filepath.Join(s.dir, "drops", conn, "inbox")); len(entries) > 0 {
				return false
			}
			if entries, _ := os.ReadDir(filepath.Join(s.dir, "drops", conn, "processing")); len(entries) > 0 {
				return false
			}
		}
		return true
	})

	// The API: authorised, refused, wrong tokens.
	for _, tok := range []string{tokHashed, tokFile} {
		for _, p := range []string{"/api/v1/programs/shop/parked", "/api/v1/programs/card/parked", "/api/v1/jobs", "/api/v1/programs/card/customers/card:" + cardKnown + "/balance"} {
			if code, body := call("GET", p, tok); code != 200 {
				t.Fatalf("GET %s: %d %s", p, code, body)
			}
		}
	}
	for _, tok := range append([]string{tokRead}, wrong...) {
		for _, p := range []string{"/api/v1/programs/shop/parked", "/api/v1/jobs", "/api/v1/programs/shop/customers/web:1/adjustments"} {
			method := "GET"
			if strings.HasSuffix(p, "adjustments") {
				method = "POST"
			}
			if code, _ := call(method, p, tok); code != 401 && code != 403 {
				t.Fatalf("%s %s with a refused token: %d", method, p, code)
			}
		}
	}
	shopParked := parked("shop")
	text, _ := json.Marshal(shopParked)
	if !strings.Contains(string(text), "*"+cardTill[len(cardTill)-4:]) || !strings.Contains(string(text), "*"+cardOrder[len(cardOrder)-4:]) {
		t.Fatalf("the parked answer does not show the cards' last four digits: %s", text)
	}

	// The admin UI: a refused login, then logins with each admin token.
	ui := func(tok string) *http.Client {
		t.Helper()
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: client.CheckRedirect}
		resp, err := c.Get("http://" + addr + "/ui/login")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("login page without its csrf field:\n%s", b)
		}
		resp, err = c.PostForm("http://"+addr+"/ui/login", url.Values{"csrf": {m[1]}, "token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, fmt.Sprint(resp.Header)+"\n"+string(b))
		if (tok == tokHashed || tok == tokFile) != (resp.StatusCode == http.StatusSeeOther) {
			t.Fatalf("login: %d\n%s", resp.StatusCode, b)
		}
		return c
	}
	for _, tok := range append(wrong, tokRead) {
		ui(tok)
	}
	for _, tok := range []string{tokHashed, tokFile} {
		c := ui(tok)
		for _, p := range []string{"/ui/parked?program=shop", "/ui/parked?program=card", "/ui/connectors"} {
			resp, err := c.Get("http://" + addr + p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d", p, resp.StatusCode)
			}
			bodies = append(bodies, string(b))
			if p == "/ui/parked?program=shop" && !strings.Contains(string(b), cardTill[len(cardTill)-4:]) {
				t.Fatalf("the parked page does not show the till's card's last four digits:\n%s", b)
			}
		}
	}
	code, metrics := call("GET", "/metrics", tokRead)
	if code != 200 || !strings.Contains(metrics, `code="401"`) || !strings.Contains(metrics, `code="403"`) {
		t.Fatalf("metrics: %d, want the refusals counted:\n%s", code, metrics)
	}

	// The commands an operator reads.
	var outputs []string
	for _, args := range [][]string{
		{"status"}, {"status", "--json"},
		{"unmatched", "--program", "shop"}, {"unmatched", "--program", "shop", "--json"},
		{"unmatched", "--program", "card"}, {"unmatched", "--program", "card", "--json"},
	} {
		code, out, errs := s.run(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		outputs = append(outputs, strings.Join(args, " ")+":\n"+out+errs)
	}
	if !strings.Contains(outputs[2], cardTill[len(cardTill)-4:]) || !strings.Contains(outputs[2], cardOrder[len(cardOrder)-4:]) {
		t.Fatalf("unmatched does not list the parked cards by their last four digits:\n%s", outputs[2])
	}

	stopDaemon(t, d, logs)
	log := logs.String()
	for _, want := range []string{`"token": "office2"`, "login with an unknown token", "row rejected", "drop file rejected", "\tDEBUG\t"} {
		if !strings.Contains(log, want) && !strings.Contains(log, strings.ReplaceAll(want, `": "`, `":"`)) {
			t.Errorf("the daemon's log lacks %s: the test does not see what it should", want)
		}
	}
	places := map[string]string{"the daemon's log": log}
	for i, b := range bodies {
		places[fmt.Sprintf("answer %d", i)] = b
	}
	for _, o := range outputs {
		places[strings.SplitN(o, ":\n", 2)[0]] = o
	}
	for where, text := range places {
		for _, tok := range append([]string{tokHashed, tokFile, tokRead}, wrong...) {
			if strings.Contains(text, tok) {
				t.Errorf("%s holds the token %q", where, tok)
			}
		}
		for _, card := range cards {
			if card == cardKnown && strings.HasPrefix(where, "answer") {
				continue // its own balance, asked for by its number
			}
			if strings.Contains(text, card) {
				t.Errorf("%s holds the whole card number %s:\n%s", where, card, excerpt(text, card))
			}
		}
	}
	t.Logf("%d answers, %d command outputs and %d bytes of debug log: no token, no whole card number", len(bodies), len(outputs), len(log))
}

// excerpt is the text around the first occurrence of s.
func excerpt(text, s string) string {
	i := strings.Index(text, s)
	if i < 0 {
		return ""
	}
	return text[max(0, i-200):min(len(text), i+len(s)+200)]
}
