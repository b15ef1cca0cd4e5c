package server

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

// uiClient is a browser for the admin UI: a cookie jar, redirects not
// followed, so each answer can be checked.
type uiClient struct {
	t    *testing.T
	ts   *testServer
	c    *http.Client
	csrf string // the session's CSRF token, read from the last page
}

func newUIClient(ts *testServer) *uiClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	return &uiClient{t: ts.t, ts: ts, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// uiAnswer is an answer of the UI.
type uiAnswer struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func (c *uiClient) do(req *http.Request) uiAnswer {
	c.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	p := uiAnswer{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Location: resp.Header.Get("Location")}
	if m := csrfField.FindStringSubmatch(p.Body); m != nil && !strings.Contains(p.Body, `action="/ui/login"`) {
		c.csrf = html.UnescapeString(m[1])
	}
	return p
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *uiClient) get(path string) uiAnswer {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.ts.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a form; the session's CSRF token is added unless the form
// has a csrf entry already (set it to "" to send none).
func (c *uiClient) post(path string, form url.Values) uiAnswer {
	c.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	} else if form.Get("csrf") == "" {
		form.Del("csrf")
	}
	req, err := http.NewRequest(http.MethodPost, c.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// login logs in with token and returns the answer to the login form.
func (c *uiClient) login(token string) uiAnswer {
	c.t.Helper()
	form := c.get("/ui/login")
	if form.Status != http.StatusOK {
		c.t.Fatalf("login page: %d\n%s", form.Status, form.Body)
	}
	m := csrfField.FindStringSubmatch(form.Body)
	if m == nil {
		c.t.Fatalf("login page has no csrf field:\n%s", form.Body)
	}
	return c.post("/ui/login", url.Values{"csrf": {m[1]}, "token": {token}})
}

// mustLogin logs in as the admin.
func (c *uiClient) mustLogin() {
	c.t.Helper()
	if p := c.login(tokAdmin); p.Status != http.StatusSeeOther || p.Location != "/ui/customers" {
		c.t.Fatalf("admin login: %d to %q\n%s", p.Status, p.Location, p.Body)
	}
	if p := c.get("/ui/customers"); p.Status != http.StatusOK {
		c.t.Fatalf("customers after login: %d\n%s", p.Status, p.Body)
	}
}

// uiHidden is the value of the hidden field name in the form posting to
// action (the first such form).
func uiHidden(t *testing.T, body, action, name string) string {
	t.Helper()
	i := strings.Index(body, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form posting to %s in:\n%s", action, body)
	}
	rest := body[i:]
	if end := strings.Index(rest, "</form>"); end >= 0 {
		rest = rest[:end]
	}
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(rest)
	if m == nil {
		t.Fatalf("form %s has no field %s:\n%s", action, name, rest)
	}
	return html.UnescapeString(m[1])
}

// uiText is body with tags removed and spaces collapsed, for looking up
// what a reader sees.
func uiText(body string) string {
	s := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

func (p uiAnswer) has(t *testing.T, wants ...string) {
	t.Helper()
	txt := uiText(p.Body)
	for _, w := range wants {
		if !strings.Contains(txt, w) && !strings.Contains(p.Body, w) {
			t.Errorf("page (%d) lacks %q:\n%s", p.Status, w, txt)
		}
	}
}

func (p uiAnswer) lacks(t *testing.T, nots ...string) {
	t.Helper()
	txt := uiText(p.Body)
	for _, n := range nots {
		if strings.Contains(txt, n) {
			t.Errorf("page (%d) shows %q:\n%s", p.Status, n, txt)
		}
	}
}

// uiBalanceOf reads a balance from the ledger.
func (ts *testServer) uiBalanceOf(program, customer string) ledger.Balance {
	ts.t.Helper()
	b, err := ts.ledger.Balance(context.Background(), ledger.Account{Program: program, Customer: ledger.Ident(customer)}, ts.now)
	if err != nil {
		ts.t.Fatal(err)
	}
	return b
}

func TestUILogin(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct {
		name, token string
		status      int
		says        string
	}{
		{"unknown token", "not-a-token", http.StatusUnauthorized, "Il token non è tra quelli configurati."},
		{"read token", tokRead, http.StatusForbidden, "Questo token non ha l'ambito admin"},
		{"redeem token", tokRedeem, http.StatusForbidden, "Questo token non ha l'ambito admin"},
		{"empty", "", http.StatusUnauthorized, "Il token non è tra quelli configurati."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newUIClient(ts)
			p := c.login(tc.token)
			if p.Status != tc.status {
				t.Fatalf("status %d, want %d\n%s", p.Status, tc.status, p.Body)
			}
			p.has(t, tc.says)
			u, _ := url.Parse(ts.URL)
			for _, ck := range c.c.Jar.Cookies(u.JoinPath("/ui/customers")) {
				if ck.Name == uiSessionCookie {
					t.Errorf("a refused login got a session cookie")
				}
			}
			if p := c.get("/ui/customers"); p.Status != http.StatusSeeOther {
				t.Errorf("customers after a refused login: %d, want a redirect to the login", p.Status)
			}
		})
	}
	t.Run("admin", func(t *testing.T) {
		c := newUIClient(ts)
		p := c.login(tokAdmin)
		if p.Status != http.StatusSeeOther || p.Location != "/ui/customers" {
			t.Fatalf("admin login: %d to %q", p.Status, p.Location)
		}
		var sc *http.Cookie
		for _, ck := range (&http.Response{Header: p.Header}).Cookies() {
			if ck.Name == uiSessionCookie {
				sc = ck
			}
		}
		if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/ui" || sc.Secure || len(sc.Value) < 43 {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui, not Secure without TLS, 32 random bytes", sc)
		}
		p = c.get("/ui/customers")
		if p.Status != http.StatusOK {
			t.Fatalf("customers: %d", p.Status)
		}
		p.has(t, "Accesso come office")
		// Logging out ends the session on the server, not only the cookie.
		if out := c.post("/ui/logout", url.Values{}); out.Status != http.StatusSeeOther || out.Location != "/ui/login" {
			t.Fatalf("logout: %d to %q", out.Status, out.Location)
		}
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/ui/customers", nil)
		req.AddCookie(sc)
		if p := c.do(req); p.Status != http.StatusSeeOther {
			t.Errorf("the old session cookie still works after logout: %d", p.Status)
		}
	})
	t.Run("next", func(t *testing.T) {
		c := newUIClient(ts)
		p := c.get("/ui/reports?program=loyalty")
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/ui/login?next=") {
			t.Fatalf("reports without a session: %d to %q", p.Status, p.Location)
		}
		form := c.get(p.Location)
		next := uiHidden(t, form.Body, "/ui/login", "next")
		if next != "/ui/reports?program=loyalty" {
			t.Fatalf("next = %q", next)
		}
		in := c.post("/ui/login", url.Values{"csrf": {uiHidden(t, form.Body, "/ui/login", "csrf")}, "token": {tokAdmin}, "next": {next}})
		if in.Location != next {
			t.Fatalf("login went to %q, want %q", in.Location, next)
		}
	})
}

func TestUISecureCookie(t *testing.T) {
	ts := newTestServer(t, withYAML(func(s string) string {
		return strings.Replace(s, "server:\n", "server:\n  ui: {secure_cookie: true, session_ttl: 30m}\n", 1)
	}))
	c := newUIClient(ts)
	p := c.login(tokAdmin)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.Status)
	}
	for _, ck := range (&http.Response{Header: p.Header}).Cookies() {
		if !ck.Secure {
			t.Errorf("cookie %s is not Secure with server.ui.secure_cookie", ck.Name)
		}
	}
}

func TestUISafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/customer?customer=web:1": "/ui/customer?customer=web:1",
		"":                            "/ui/customers",
		"https://evil.example/":       "/ui/customers",
		"//evil.example/ui/":          "/ui/customers",
		"/ui//evil.example":           "/ui/customers",
		"/ui/\\evil.example":          "/ui/customers",
		"/api/v1/openapi.json":        "/ui/customers",
		"/ui/login?next=/ui/x":        "/ui/customers",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUIPagesNeedASession(t *testing.T) {
	ts := newTestServer(t)
	c := newUIClient(ts)
	for _, path := range []string{"/ui/customers", "/ui/customer?customer=web:1", "/ui/customer/reset?customer=web:1",
		"/ui/program", "/ui/program/export", "/ui/prizes", "/ui/parked", "/ui/connectors", "/ui/reports"} {
		p := c.get(path)
		if p.Status != http.StatusSeeOther || p.Location != "/ui/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s without a session: %d to %q", path, p.Status, p.Location)
		}
	}
	for _, path := range []string{"/ui/customer/adjust", "/ui/customer/adjustment/change", "/ui/customer/adjustment/remove",
		"/ui/customer/reset", "/ui/program/expiry", "/ui/program/reset", "/ui/program/import", "/ui/logout"} {
		p := c.post(path, url.Values{"customer": {"web:1"}, "points": {"10"}, "csrf": {"x"}})
		if p.Status != http.StatusSeeOther || p.Location != "/ui/login" {
			t.Errorf("POST %s without a session: %d to %q", path, p.Status, p.Location)
		}
	}
	if p := c.get("/ui/"); p.Status != http.StatusSeeOther || p.Location != "/ui/customers" {
		t.Errorf("/ui/: %d to %q", p.Status, p.Location)
	}
	if p := c.get("/ui/static/app.css"); p.Status != http.StatusOK || !strings.Contains(p.Header.Get("Content-Type"), "text/css") {
		t.Errorf("app.css: %d %s", p.Status, p.Header.Get("Content-Type"))
	}
}

func TestUISessionExpiry(t *testing.T) {
	st := newUISessions(time.Hour)
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	st.add("a", uiSession{caller: Caller{Name: "office", Scope: ScopeAdmin}, csrf: "c", lastSeen: t0})
	for _, tc := range []struct {
		at   time.Time
		live bool
	}{
		{t0.Add(59 * time.Minute), true},
		{t0.Add(59*time.Minute + 59*time.Minute), true}, // used at +59m: idle time counts from then
		{t0.Add(3*time.Hour + time.Second), false},
		{t0.Add(30 * time.Minute), false}, // gone for good
	} {
		if _, ok := st.get("a", tc.at); ok != tc.live {
			t.Errorf("session at %s: live %v, want %v", tc.at.Sub(t0), ok, tc.live)
		}
	}
	if _, ok := st.get("", t0); ok {
		t.Error("the empty id found a session")
	}
	// A new login sweeps sessions idle past their time.
	st.add("b", uiSession{lastSeen: t0})
	st.add("c", uiSession{lastSeen: t0.Add(2 * time.Hour)})
	if len(st.m) != 1 {
		t.Errorf("%d sessions kept, want only the new one", len(st.m))
	}
}

func TestUICSRF(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "web:1", 100)
	c := newUIClient(ts)
	c.mustLogin()
	page := c.get("/ui/customer?program=loyalty&customer=web:1")
	key := uiHidden(t, page.Body, "/ui/customer/adjust", "key")
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "program": {"loyalty"}, "customer": {"web:1"}, "points": {"50"}, "key": {key}, "action": {"save"}}
	}
	for _, tc := range []struct {
		name   string
		csrf   string
		origin string
	}{
		{"no token", "", ""},
		{"wrong token", strings.Repeat("A", 43), ""},
		{"token of a login form", uiHidden(t, newUIClient(ts).get("/ui/login").Body, "/ui/login", "csrf"), ""},
		{"other site", c.csrf, "https://evil.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/ui/customer/adjust", strings.NewReader(form(tc.csrf).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			p := c.do(req)
			if p.Status != http.StatusForbidden {
				t.Fatalf("status %d, want 403\n%s", p.Status, p.Body)
			}
			p.has(t, "Il modulo non proviene da questa sessione")
			if b := ts.uiBalanceOf("loyalty", "web:1"); b.Earned != 100 {
				t.Fatalf("earned %d after a refused form, want 100", b.Earned)
			}
		})
	}
	t.Run("login form without its cookie", func(t *testing.T) {
		other := newUIClient(ts)
		p := other.post("/ui/login", url.Values{"csrf": {strings.Repeat("B", 43)}, "token": {tokAdmin}})
		if p.Status != http.StatusForbidden {
			t.Fatalf("login without the login cookie: %d, want 403", p.Status)
		}
	})
	t.Run("good token", func(t *testing.T) {
		if p := c.post("/ui/customer/adjust", form(c.csrf)); p.Status != http.StatusSeeOther {
			t.Fatalf("status %d\n%s", p.Status, p.Body)
		}
		if b := ts.uiBalanceOf("loyalty", "web:1"); b.Earned != 150 {
			t.Fatalf("earned %d, want 150", b.Earned)
		}
	})
}

// uiBadges adds a badge ladder to the loyalty program.
func uiBadges(s string) string {
	return strings.Replace(s, "  - id: loyalty\n    name: Loyalty card\n",
		"  - id: loyalty\n    name: Loyalty card\n    badges:\n      - {id: bronze, title: Bronzo, from: 100, to: 999}\n      - {id: silver, title: Argento, from: 1000, to: 4999}\n      - {id: gold, title: Oro, from: 5000}\n", 1)
}

// seedUI gives the test server something on every page: customers with
// credits, a provisional credit, an adjustment, a parked subject, a job.
func seedUI(t *testing.T, ts *testServer) {
	t.Helper()
	ts.credit("loyalty", "card:0420001234", 1200)
	ts.credit("loyalty", "web:7", 300)
	ts.credit("loyalty", "erp:C0042", 2500)
	ctx := context.Background()
	exp := ts.now.AddDate(0, 2, 0)
	err := ts.ledger.Update(ctx, func(tx *ledger.Tx) error {
		if err := tx.Link("web:7", "email:anna@example.com"); err != nil {
			return err
		}
		acct := ledger.Account{Program: "loyalty", Customer: "web:7"}
		if _, err := tx.Credit(ledger.CreditRequest{Account: acct, Meta: ledger.Meta{Source: ledger.SourceWeb, Key: "order-1", Reason: "accrual", Document: "W1"}, Amount: 40, Pending: true}); err != nil {
			return err
		}
		if _, err := tx.Adjust(ledger.AdjustRequest{Account: acct, Meta: ledger.Meta{Source: ledger.SourceAdmin, Key: "seed-adj", Note: "welcome"}, Points: 25, Expires: &exp}); err != nil {
			return err
		}
		return tx.SaveSubject(ledger.Subject{Program: "loyalty", Subject: "actions:card:0420009999", State: []byte("{}"),
			Parked: "action of card:******9999: no customer has this identifier yet", Waiting: "card:0420009999"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.ledger.SaveJob(ctx, ledger.Job{Name: "erp-documents", LastRun: ts.now.Add(-time.Minute), LastSuccess: ts.now.Add(-time.Hour),
		LastError: "dial tcp: connection refused", LastErrorAt: ts.now.Add(-time.Minute), Runs: 10, Failures: 2, Lag: 90 * time.Second,
		NextRun: ts.now.Add(time.Minute), Holder: "host:42"}); err != nil {
		t.Fatal(err)
	}
}

// uiPaths are the GET pages, each with the text it must show.
var uiPaths = []struct {
	path     string
	it, en   string
	contains string
}{
	{"/ui/customers?program=loyalty", "Clienti di Loyalty card", "Customers of Loyalty card", "erp:C0042"},
	{"/ui/customers?program=loyalty&min_earned=500&sort=earned&desc=1", "Guadagnati", "Earned", "Argento"},
	{"/ui/customer?program=loyalty&customer=web:7", "Cliente web:7", "Customer web:7", "Bronzo"},
	{"/ui/customer/reset?program=loyalty&customer=web:7", "Azzerare i punti di web:7?", "Reset the points of web:7?", "325"},
	{"/ui/program?program=loyalty", "Raccolta punti Loyalty card", "Program Loyalty card", "Europe/Rome"},
	{"/ui/program?program=e12-catalog", "Raccolta punti e12-catalog", "Program e12-catalog", "e12-catalog"},
	{"/ui/prizes?program=loyalty", "Premi di Loyalty card", "Prizes of Loyalty card", "Mug"},
	{"/ui/prizes?program=loyalty&customer=erp:C0042", "Premi per erp:C0042", "Prizes for erp:C0042", "Bag"},
	{"/ui/prizes?program=cards&customer=erp:C0042&card_type=GOLD", "Premi per erp:C0042", "Prizes for erp:C0042", "<td>gold</td>"},
	{"/ui/parked?program=loyalty", "Dati in attesa", "Parked facts", "actions:card:******9999"},
	{"/ui/connectors", "Connettori", "Connectors", "erp-documents"},
	{"/ui/reports?program=loyalty", "Report di Loyalty card", "Reports of Loyalty card", "<svg"},
	{"/ui/reports?program=loyalty&by=reason&from=2026-03-01&to=2026-03-10", "Causale", "Reason", "<svg"},
	{"/ui/reports?program=loyalty&by=customer", "Cliente", "Customer", "erp:C0042"},
	{"/ui/reports?program=loyalty&by=day", "Giorno", "Day", "10/03/2026"},
}

// uiCardCatalog adds a program whose catalog is for GOLD cards only.
func uiCardCatalog(s string) string {
	return strings.Replace(s, "programs:\n", `programs:
  - id: cards
    accrual: {mode: steps, points: 1, every: "1.00"}
    catalogs:
      - id: gold
        card_types: [GOLD]
        valid_from: 2026-01-01
        valid_to: 2026-12-31
        prizes:
          - {id: lamp, name: Lamp, kind: article, points: 100}
`, 1)
}

func TestUIPagesRenderInBothLanguages(t *testing.T) {
	ts := newTestServer(t, withYAML(func(s string) string { return uiCardCatalog(uiBadges(s)) }))
	seedUI(t, ts)
	c := newUIClient(ts)
	c.mustLogin()
	for _, lang := range []string{"it", "en"} {
		c.get("/ui/customers?lang=" + lang)
		for _, pt := range uiPaths {
			t.Run(lang+pt.path, func(t *testing.T) {
				p := c.get(pt.path)
				if p.Status != http.StatusOK {
					t.Fatalf("status %d\n%s", p.Status, p.Body)
				}
				want := pt.it
				contains := pt.contains
				if lang == "en" {
					want = pt.en
					contains = strings.ReplaceAll(contains, "10/03/2026", "2026-03-10")
				}
				p.has(t, `<html lang="`+lang+`">`, want, contains)
				p.lacks(t, "%!", "<no value>", "title.", "err.", "col.")
				if ct := p.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q", cc)
				}
				if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, "<style") {
					t.Errorf("inline script or style, which the CSP refuses")
				}
				other := map[string]string{"it": "Customers", "en": "Clienti"}[lang]
				if strings.Contains(uiText(p.Body), other) {
					t.Errorf("a %s page says %q", lang, other)
				}
			})
		}
	}
	// The card number of a parked subject never shows in clear.
	if p := c.get("/ui/parked?program=loyalty"); strings.Contains(p.Body, "0420009999") {
		t.Errorf("the parked page shows a full card number")
	}
}

func TestUILanguage(t *testing.T) {
	ts := newTestServer(t, withYAML(func(s string) string {
		return strings.Replace(s, "server:\n", "server:\n  ui: {language: en}\n", 1)
	}))
	c := newUIClient(ts)
	if p := c.get("/ui/login"); !strings.Contains(p.Body, `<html lang="en">`) || !strings.Contains(p.Body, "Admin token") {
		t.Fatalf("server.ui.language en: the login page is not in English:\n%s", p.Body)
	}
	p := c.get("/ui/login?lang=it")
	if !strings.Contains(p.Body, `<html lang="it">`) || !strings.Contains(p.Body, "Token di amministrazione") {
		t.Fatalf("?lang=it: not in Italian:\n%s", p.Body)
	}
	c.mustLogin()
	if p := c.get("/ui/connectors"); !strings.Contains(p.Body, `<html lang="it">`) {
		t.Errorf("the language chosen before login is not kept")
	}
	if p := c.get("/ui/connectors?lang=xx"); !strings.Contains(p.Body, `<html lang="it">`) {
		t.Errorf("an unknown language changed the page")
	}
	p = c.get("/ui/customers?lang=en")
	if !strings.Contains(p.Body, `href="/ui/customers?lang=it"`) {
		t.Errorf("no link to the Italian page:\n%s", p.Body)
	}
}

func TestUICatalogs(t *testing.T) {
	verbs := regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z%]`)
	keys := func(m map[string]string) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	it, en := keys(uiMessagesIT), keys(uiMessagesEN)
	if !slices.Equal(it, en) {
		for _, k := range it {
			if _, ok := uiMessagesEN[k]; !ok {
				t.Errorf("%s is missing in English", k)
			}
		}
		for _, k := range en {
			if _, ok := uiMessagesIT[k]; !ok {
				t.Errorf("%s is missing in Italian", k)
			}
		}
	}
	for _, k := range it {
		a, b := verbs.FindAllString(uiMessagesIT[k], -1), verbs.FindAllString(uiMessagesEN[k], -1)
		if !slices.Equal(a, b) {
			t.Errorf("%s: verbs %v in Italian, %v in English", k, a, b)
		}
		if strings.TrimSpace(uiMessagesIT[k]) == "" || strings.TrimSpace(uiMessagesEN[k]) == "" {
			t.Errorf("%s is empty", k)
		}
	}
	// Every literal key a template or the Go code names is in the catalog.
	tmplKey := regexp.MustCompile(`\.T "([a-z_.]+)"`)
	goKey := regexp.MustCompile(`"((?:err|flash|chart|col|login|expiry_policy)\.[a-z_]+)"`)
	files, _ := filepath.Glob("ui/templates/*.html")
	gofiles, _ := filepath.Glob("ui*.go")
	for _, f := range append(files, gofiles...) {
		if strings.HasSuffix(f, "_test.go") || f == "ui_i18n.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		literal := goKey
		if strings.HasSuffix(f, ".html") {
			literal = tmplKey
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			k := m[1]
			if _, ok := uiMessagesIT[k]; !ok {
				t.Errorf("%s names message %q, which the catalog lacks", f, k)
			}
		}
	}
	// Keys built from data: every value they can take is there.
	for prefix, values := range map[string][]string{
		"kind.":    {"credit", "spend", "withdraw", "post", "void", "refund", "expire", "reset", "note"},
		"state.":   {"pending", "posted", "voided"},
		"source.":  {"web", "erp", "pos", "admin", "import", "api", "schedule"},
		"title.":   uiPages,
		"by.":      uiReportGroupings,
		"flash.":   keys(map[string]string{"adjusted": "", "changed": "", "removed": "", "replayed": "", "reset": "", "program_reset": "", "expiry": ""}),
		"catalog.": {"open", "upcoming", "redeem_only", "closed"},
		"prize.":   {"article", "non_stock", "voucher"},
		"unit.":    {"points", "amount"},
		"lang.":    {"it", "en"},
		"col.":     {"customer", "points", "expiry", "note", "earned", "provisional", "spent", "expired"},
	} {
		for _, v := range values {
			if _, ok := uiMessagesIT[prefix+v]; !ok {
				t.Errorf("message %s%s is missing", prefix, v)
			}
		}
	}
	for f := range uiFlashes {
		if _, ok := uiMessagesIT["flash."+f]; !ok {
			t.Errorf("flash %s has no message", f)
		}
	}
}

func TestUINumbers(t *testing.T) {
	for _, tc := range []struct {
		lang       string
		n          int64
		num, money string
	}{
		{"it", 0, "0", "0,00\u00a0€"},
		{"it", 999, "999", "9,99\u00a0€"},
		{"it", 1234567, "1.234.567", "12.345,67\u00a0€"},
		{"it", -1234, "-1.234", "-12,34\u00a0€"},
		{"en", 1000, "1,000", "€10.00"},
		{"en", -5, "-5", "-€0.05"},
		{"en", -9223372036854775808, "-9,223,372,036,854,775,808", "-€92,233,720,368,547,758.08"},
	} {
		lc := uiLocales[tc.lang]
		if got := lc.number(tc.n); got != tc.num {
			t.Errorf("%s number(%d) = %q, want %q", tc.lang, tc.n, got, tc.num)
		}
		if got := lc.money(tc.n); got != tc.money {
			t.Errorf("%s money(%d) = %q, want %q", tc.lang, tc.n, got, tc.money)
		}
	}
}

func TestUIParseFigure(t *testing.T) {
	points := &uiProgram{ID: "p"}
	amount := &uiProgram{ID: "a"}
	amount.Rules.Unit = "amount"
	for _, tc := range []struct {
		lang string
		p    *uiProgram
		in   string
		want int64
		ok   bool
	}{
		{"it", points, "150", 150, true},
		{"it", points, "+150", 150, true},
		{"it", points, " -50 ", -50, true},
		{"it", points, "1.5", 0, false},
		{"it", points, "abc", 0, false},
		{"it", points, "99999999999999", 0, false},
		{"it", amount, "12,50", 1250, true},
		{"it", amount, "12.50", 1250, true}, // only the point reading works
		{"it", amount, "1.234,5", 123450, true},
		{"en", amount, "1,234.50", 123450, true},
		{"en", amount, "-3", -300, true},
		{"en", amount, "1.234", 0, false}, // not read as Italian thousands
		{"en", amount, "12,50", 1250, true},
		{"it", amount, "1,234.50", 0, false},
		{"it", amount, "x", 0, false},
	} {
		v := &uiView{Program: tc.p, loc: uiLocales[tc.lang]}
		got, err := v.parseFigure(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s %s parseFigure(%q) = %d, %v; want %d ok=%v", tc.lang, tc.p.ID, tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestUIAdjustPreviewAndSave(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "web:1", 100)
	c := newUIClient(ts)
	c.mustLogin()
	cust := c.get("/ui/customer?program=loyalty&customer=web:1")
	key := uiHidden(t, cust.Body, "/ui/customer/adjust", "key")
	form := url.Values{"program": {"loyalty"}, "customer": {"web:1"}, "points": {"1500"}, "expiry": {"2026-12-31"}, "note": {"gift"}, "key": {key}, "action": {"preview"}}

	prev := c.post("/ui/customer/adjust", form)
	if prev.Status != http.StatusOK {
		t.Fatalf("preview: %d\n%s", prev.Status, prev.Body)
	}
	prev.has(t, "Anteprima: niente è ancora salvato.", `id="preview-earned">1.600<`)
	if b := ts.uiBalanceOf("loyalty", "web:1"); b.Earned != 100 {
		t.Fatalf("the preview saved: earned %d", b.Earned)
	}
	if got := uiHidden(t, prev.Body[strings.Index(prev.Body, `id="preview"`):], "/ui/customer/adjust", "key"); got != key {
		t.Fatalf("the save form carries key %q, want the previewed form's %q", got, key)
	}
	save := url.Values{}
	for _, f := range []string{"program", "customer", "points", "expiry", "note", "key", "action"} {
		save.Set(f, uiHidden(t, prev.Body[strings.Index(prev.Body, `id="preview"`):], "/ui/customer/adjust", f))
	}
	if save.Get("action") != "save" || save.Get("points") != "1500" || save.Get("expiry") != "2026-12-31" {
		t.Fatalf("save form %v", save)
	}
	done := c.post("/ui/customer/adjust", save)
	if done.Status != http.StatusSeeOther || !strings.Contains(done.Location, "done=adjusted") {
		t.Fatalf("save: %d to %q\n%s", done.Status, done.Location, done.Body)
	}
	after := c.get(done.Location)
	after.has(t, "Variazione salvata.", `id="balance-earned">1.600<`, "31/12/2026", "gift", "ui:office")
	// The same form sent again (a double click, a reload) does nothing.
	again := c.post("/ui/customer/adjust", save)
	if !strings.Contains(again.Location, "done=replayed") {
		t.Fatalf("second submit went to %q", again.Location)
	}
	if b := ts.uiBalanceOf("loyalty", "web:1"); b.Earned != 1600 {
		t.Fatalf("earned %d after a double submit, want 1600", b.Earned)
	}

	for _, tc := range []struct {
		name, points, expiry string
		status               int
		says                 string
	}{
		{"zero", "0", "", http.StatusBadRequest, "Una variazione di 0 punti non cambia nulla"},
		{"not a number", "dieci", "", http.StatusBadRequest, `"dieci" non è un numero intero di punti.`},
		{"bad date", "10", "31/12/2026", http.StatusBadRequest, `"31/12/2026" non è una data valida.`},
		{"past expiry", "10", "2026-01-01", http.StatusBadRequest, "Richiesta non valida."},
		{"too many taken", "-5000", "", http.StatusConflict, "Punti insufficienti: richiesti 5.000, utilizzabili 1.600."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, action := range []string{"preview", "save"} {
				f := url.Values{"program": {"loyalty"}, "customer": {"web:1"}, "points": {tc.points}, "expiry": {tc.expiry}, "key": {key[:20] + "zz"}, "action": {action}}
				p := c.post("/ui/customer/adjust", f)
				if p.Status != tc.status {
					t.Fatalf("%s: status %d, want %d\n%s", action, p.Status, tc.status, uiText(p.Body))
				}
				p.has(t, tc.says, `value="`+html.EscapeString(tc.points)+`"`)
			}
			if b := ts.uiBalanceOf("loyalty", "web:1"); b.Earned != 1600 {
				t.Fatalf("earned %d", b.Earned)
			}
		})
	}
	if p := c.post("/ui/customer/adjust", url.Values{"program": {"loyalty"}, "customer": {"web:1"}, "points": {"5"}, "key": {"short"}}); p.Status != http.StatusBadRequest {
		t.Errorf("a bad key: %d", p.Status)
	}
	if p := c.post("/ui/customer/adjust", url.Values{"program": {"nope"}, "customer": {"web:1"}, "points": {"5"}, "key": {key}}); p.Status != http.StatusNotFound {
		t.Errorf("an unknown program: %d", p.Status)
	}
	if p := c.get("/ui/customer?program=loyalty&customer=web:404"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Nessun cliente ha questo identificativo.") {
		t.Errorf("an unknown customer: %d\n%s", p.Status, uiText(p.Body))
	}
}

func TestUIChangeAndRemoveAdjustment(t *testing.T) {
	ts := newTestServer(t)
	seedUI(t, ts)
	c := newUIClient(ts)
	c.mustLogin()
	cust := c.get("/ui/customer?program=loyalty&customer=web:7")
	cust.has(t, `class="provisional"`, "Provvisorio", "+40")
	// The seeded adjustment (+25) has both forms; the order's credits none.
	if n := strings.Count(cust.Body, `action="/ui/customer/adjustment/change"`); n != 1 {
		t.Fatalf("%d change forms, want 1 (only the adjustment)", n)
	}
	mv := uiHidden(t, cust.Body, "/ui/customer/adjustment/change", "movement")
	change := url.Values{"program": {"loyalty"}, "customer": {"web:7"}, "movement": {mv}, "points": {"60"},
		"key": {uiHidden(t, cust.Body, "/ui/customer/adjustment/change", "key")}}
	p := c.post("/ui/customer/adjustment/change", change)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("change: %d\n%s", p.Status, uiText(p.Body))
	}
	cust = c.get(p.Location)
	cust.has(t, "Variazione modificata.", `value="60"`)
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 360 {
		t.Fatalf("earned %d after the change, want 300+60", b.Earned)
	}
	// Changing a movement that is not an adjustment is refused by the ledger.
	var credit string
	for _, m := range regexp.MustCompile(`<td class="num">(\d+)</td>`).FindAllStringSubmatch(cust.Body, -1) {
		if m[1] != mv {
			credit = m[1]
		}
	}
	bad := c.post("/ui/customer/adjustment/change", url.Values{"program": {"loyalty"}, "customer": {"web:7"}, "movement": {credit}, "points": {"5"},
		"key": {uiHidden(t, cust.Body, "/ui/customer/adjustment/change", "key")}})
	if bad.Status != http.StatusConflict {
		t.Fatalf("changing movement %s: %d\n%s", credit, bad.Status, uiText(bad.Body))
	}
	bad.has(t, "Solo le variazioni amministrative possono essere modificate o eliminate.")

	rm := c.post("/ui/customer/adjustment/remove", url.Values{"program": {"loyalty"}, "customer": {"web:7"}, "movement": {mv},
		"key": {uiHidden(t, cust.Body, "/ui/customer/adjustment/remove", "key")}})
	if rm.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", rm.Status, uiText(rm.Body))
	}
	cust = c.get(rm.Location)
	cust.has(t, "Variazione eliminata.")
	if strings.Contains(cust.Body, `action="/ui/customer/adjustment/remove"`) {
		t.Errorf("a removed adjustment still has a remove form")
	}
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 300 {
		t.Fatalf("earned %d after the removal, want 300", b.Earned)
	}
}

func TestUICustomerReset(t *testing.T) {
	ts := newTestServer(t)
	seedUI(t, ts)
	c := newUIClient(ts)
	c.mustLogin()
	confirm := c.get("/ui/customer/reset?program=loyalty&customer=web:7")
	confirm.has(t, "i punti guadagnati (325) vengono tolti;", "i punti provvisori (40) vengono annullati;", "L'operazione è irreversibile.")
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 325 {
		t.Fatalf("showing the confirmation changed the balance: %d", b.Earned)
	}
	form := url.Values{"program": {"loyalty"}, "customer": {"web:7"}, "key": {uiHidden(t, confirm.Body, "/ui/customer/reset", "key")}}
	if p := c.post("/ui/customer/reset", form); p.Status != http.StatusBadRequest {
		t.Fatalf("reset without confirm: %d", p.Status)
	}
	form.Set("confirm", "yes")
	p := c.post("/ui/customer/reset", form)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", p.Status, uiText(p.Body))
	}
	c.get(p.Location).has(t, "Punti del cliente azzerati.", `id="balance-earned">0<`)
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 0 || b.Provisional != 0 {
		t.Fatalf("after the reset: %+v", b)
	}
	if b := ts.uiBalanceOf("loyalty", "erp:C0042"); b.Earned != 2500 {
		t.Fatalf("another customer lost points: %+v", b)
	}
}

func TestUIProgramOperations(t *testing.T) {
	ts := newTestServer(t)
	seedUI(t, ts)
	c := newUIClient(ts)
	c.mustLogin()
	prog := c.get("/ui/program?program=loyalty")
	prog.has(t, "100 punti = 1,00\u00a0€")

	t.Run("expiry", func(t *testing.T) {
		form := url.Values{"program": {"loyalty"}, "date": {"2026-06-30"}, "include_no_expiry": {"yes"}, "step": {"review"},
			"key": {uiHidden(t, prog.Body, "/ui/program/expiry", "key")}}
		review := c.post("/ui/program/expiry", form)
		if review.Status != http.StatusOK {
			t.Fatalf("review: %d\n%s", review.Status, uiText(review.Body))
		}
		review.has(t, "I punti utilizzabili scadranno a fine giornata del 30/06/2026", "La data vale anche per i punti che oggi non hanno scadenza.")
		if b := ts.uiBalanceOf("loyalty", "erp:C0042"); len(b.Expiring) != 0 {
			t.Fatalf("the review changed expiry: %+v", b.Expiring)
		}
		apply := url.Values{}
		for _, f := range []string{"program", "date", "include_no_expiry", "step", "key", "note"} {
			apply.Set(f, uiHidden(t, review.Body, "/ui/program/expiry", f))
		}
		done := c.post("/ui/program/expiry", apply)
		if done.Status != http.StatusSeeOther || !strings.Contains(done.Location, "done=expiry") {
			t.Fatalf("apply: %d to %q\n%s", done.Status, done.Location, uiText(done.Body))
		}
		c.get(done.Location).has(t, "Scadenza impostata:")
		if b := ts.uiBalanceOf("loyalty", "erp:C0042"); len(b.Expiring) != 1 || b.Expiring[0].Date != "2026-06-30" {
			t.Fatalf("expiring after the bulk change: %+v", b.Expiring)
		}
		bad := c.post("/ui/program/expiry", url.Values{"program": {"loyalty"}, "date": {"30/06"}, "key": {apply.Get("key")}})
		if bad.Status != http.StatusBadRequest {
			t.Fatalf("a bad date: %d", bad.Status)
		}
	})

	t.Run("reset", func(t *testing.T) {
		key := uiHidden(t, prog.Body, "/ui/program/reset", "key")
		p := c.post("/ui/program/reset", url.Values{"program": {"loyalty"}, "confirm_id": {"Loyalty"}, "key": {key}})
		if p.Status != http.StatusBadRequest {
			t.Fatalf("reset with a wrong id: %d", p.Status)
		}
		p.has(t, "Per confermare il reset scrivi esattamente l'identificativo della raccolta: loyalty.")
		if b := ts.uiBalanceOf("loyalty", "erp:C0042"); b.Earned != 2500 {
			t.Fatalf("a refused reset zeroed: %+v", b)
		}
		p = c.post("/ui/program/reset", url.Values{"program": {"loyalty"}, "confirm_id": {"loyalty"}, "key": {key}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("reset: %d\n%s", p.Status, uiText(p.Body))
		}
		c.get(p.Location).has(t, "Raccolta punti azzerata: 3 conti.")
		for _, cu := range []string{"erp:C0042", "web:7", "card:0420001234"} {
			if b := ts.uiBalanceOf("loyalty", cu); b.Earned != 0 {
				t.Errorf("%s earned %d after the program reset", cu, b.Earned)
			}
		}
	})
}

// uiMultipart builds an upload of file content with fields.
func uiMultipart(t *testing.T, fields url.Values, name, content string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, content)
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestUIImportAndExport(t *testing.T) {
	ts := newTestServer(t)
	seedUI(t, ts)
	c := newUIClient(ts)
	c.mustLogin()
	c.get("/ui/program?program=loyalty")
	file := "cliente;punti;scadenza;nota\nweb:7;100;;bonus\nerp:C0042;dieci;;bad\ncard:0420001234;-50;;fix\n"
	upload := func(skip bool) uiAnswer {
		f := url.Values{"csrf": {c.csrf}, "program": {"loyalty"}}
		if skip {
			f.Set("skip_invalid", "yes")
		}
		ct, body := uiMultipart(t, f, "bonus.csv", file)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/ui/program/import", body)
		req.Header.Set("Content-Type", ct)
		return c.do(req)
	}
	p := upload(false)
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("import with a bad row: %d\n%s", p.Status, uiText(p.Body))
	}
	p.has(t, "Importazione annullata: 1 righe non valide", "Importazione di bonus.csv")
	row := regexp.MustCompile(`(?s)<tbody>\s*<tr><td class="num">(\d+)</td><td>([^<]*)</td><td><code>([^<]*)</code></td>`).FindStringSubmatch(p.Body)
	if row == nil || row[1] != "3" || row[2] != "Punti" || row[3] != "dieci" {
		t.Fatalf("error report row %q, want line 3, column Punti, value dieci\n%s", row, p.Body)
	}
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 325 {
		t.Fatalf("a stopped import applied rows: %+v", b)
	}
	p = upload(true)
	if p.Status != http.StatusOK {
		t.Fatalf("import skipping the bad row: %d\n%s", p.Status, uiText(p.Body))
	}
	p.has(t, `id="import-applied">2<`, `id="import-rejected">1<`)
	if b := ts.uiBalanceOf("loyalty", "web:7"); b.Earned != 425 {
		t.Fatalf("web:7 earned %d, want 425", b.Earned)
	}
	// The same file again changes nothing.
	p = upload(true)
	p.has(t, `id="import-applied">0<`, `id="import-replayed">2<`)

	t.Run("no file", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", c.csrf)
		mw.WriteField("program", "loyalty")
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/ui/program/import", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if p := c.do(req); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Scegli un file da importare.") {
			t.Fatalf("no file: %d\n%s", p.Status, uiText(p.Body))
		}
	})
	t.Run("export", func(t *testing.T) {
		p := c.get("/ui/program/export?program=loyalty")
		if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("export: %d %s", p.Status, p.Header.Get("Content-Type"))
		}
		if cd := p.Header.Get("Content-Disposition"); cd != `attachment; filename="loyalty-balances-20260310.csv"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		if !strings.Contains(p.Body, "web:7") || !strings.Contains(p.Body, "erp:C0042") || strings.Count(p.Body, "\n") < 4 {
			t.Errorf("export:\n%s", p.Body)
		}
		cards := c.get("/ui/program/export?program=loyalty&cards=1")
		if strings.Contains(cards.Body, "erp:C0042") || !strings.Contains(cards.Body, "0420001234") {
			t.Errorf("cards export:\n%s", cards.Body)
		}
	})
}

func TestUICustomerList(t *testing.T) {
	ts := newTestServer(t)
	seedUI(t, ts)
	c := newUIClient(ts)
	c.mustLogin()
	rows := func(p uiAnswer) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<th scope="row"><a href="[^"]*">([^<]+)</a>`).FindAllStringSubmatch(p.Body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// web:7 is listed by its first identifier, email:anna@example.com.
		{"", []string{"card:******1234", "email:anna@example.com", "erp:C0042"}},
		{"&min_earned=500", []string{"card:******1234", "erp:C0042"}},
		{"&min_earned=500&max_earned=2000", []string{"card:******1234"}},
		{"&sort=earned&desc=1", []string{"erp:C0042", "card:******1234", "email:anna@example.com"}},
		{"&sort=earned", []string{"email:anna@example.com", "card:******1234", "erp:C0042"}},
		{"&sort=customer&desc=1", []string{"erp:C0042", "email:anna@example.com", "card:******1234"}},
		{"&min_provisional=1", []string{"email:anna@example.com"}},
		{"&q=web:7", []string{"email:anna@example.com"}},
		{"&q=card:0420", []string{"card:******1234"}},
	} {
		p := c.get("/ui/customers?program=loyalty" + tc.query)
		if p.Status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", tc.query, p.Status, uiText(p.Body))
		}
		if got := rows(p); !slices.Equal(got, tc.want) {
			t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
		}
	}
	// The sort link of the column sorted ascending sorts it descending,
	// and keeps the filters.
	p := c.get("/ui/customers?program=loyalty&sort=earned&min_earned=100")
	if !strings.Contains(p.Body, `href="/ui/customers?desc=1&amp;min_earned=100&amp;program=loyalty&amp;sort=earned"`) {
		t.Errorf("no descending sort link keeping the filter:\n%s", p.Body)
	}
	bad := c.get("/ui/customers?program=loyalty&min_earned=tanti")
	if bad.Status != http.StatusBadRequest {
		t.Errorf("a bad filter: %d", bad.Status)
	}
	bad.has(t, `"tanti" non è un numero intero di punti.`, `value="tanti"`)
	// Paging: 60 customers make two pages.
	for i := range 57 {
		ts.credit("e12-catalog", fmt.Sprintf("web:%03d", i), int64(i+1))
	}
	p = c.get("/ui/customers?program=e12-catalog")
	p.has(t, "Clienti da 1 a 50 di 57")
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.Body)
	if next == nil {
		t.Fatal("no next page link")
	}
	p = c.get(html.UnescapeString(next[1]))
	p.has(t, "Clienti da 51 a 57 di 57", "web:056")
}

func TestUIDailyChartGolden(t *testing.T) {
	days := []uiChartDay{
		{Date: "2026-03-01", Issued: 1200, Spent: 0, Expired: 0, Outstanding: 1200},
		{Date: "2026-03-02", Issued: 350, Spent: 500, Expired: 0, Outstanding: 1050},
		{Date: "2026-03-03", Issued: 0, Spent: 0, Expired: 100, Outstanding: 950},
		{Date: "2026-03-04", Issued: 2400, Spent: 1300, Expired: 0, Outstanding: 2050},
		{Date: "2026-03-05", Issued: 80, Spent: 40, Expired: 20, Outstanding: 2070},
	}
	txt := uiChartText{Title: "Points <per> day", Desc: "desc & more", Empty: "none", Issued: "Issued", Spent: "Spent",
		Expired: "Expired", Outstanding: "Outstanding", FlowsAxis: "Points", OutstandingAxis: "Balance", DateLabel: "Date"}
	lc := uiLocales["it"]
	day := func(s string) string { return s[8:] + "/" + s[5:7] }
	got := string(uiDailyChart(days, txt, lc.number, day))
	golden := filepath.Join("testdata", "ui_chart_daily.svg")
	if os.Getenv("POINTSYNC_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with POINTSYNC_UPDATE_GOLDEN=1 to write it)", err)
	}
	if got != string(want) {
		t.Errorf("chart differs from %s (POINTSYNC_UPDATE_GOLDEN=1 rewrites it):\n%s", golden, got)
	}
	if again := string(uiDailyChart(days, txt, lc.number, day)); again != got {
		t.Error("the chart is not deterministic")
	}
	for _, w := range []string{"Points &lt;per&gt; day", "desc &amp; more", `role="img"`, "<polyline", "2.070", "01/03"} {
		if !strings.Contains(got, w) {
			t.Errorf("chart lacks %q", w)
		}
	}
	if empty := string(uiDailyChart(nil, txt, lc.number, day)); !strings.Contains(empty, ">none</text>") {
		t.Errorf("empty chart:\n%s", empty)
	}
	// Negative outstanding (an overdraft) stays inside the plot.
	neg := string(uiDailyChart([]uiChartDay{{Date: "2026-03-01", Spent: 300, Outstanding: -300}, {Date: "2026-03-02", Issued: 500, Outstanding: 200}}, txt, lc.number, day))
	if !strings.Contains(neg, ">-500</text>") && !strings.Contains(neg, ">-400</text>") && !strings.Contains(neg, ">-300</text>") {
		t.Errorf("negative outstanding axis:\n%s", neg)
	}
}

func TestUIChartScale(t *testing.T) {
	for _, tc := range []struct{ top, want int64 }{{0, 1}, {1, 1}, {5, 1}, {6, 2}, {11, 5}, {49, 10}, {51, 20}, {1200, 500}, {2400, 500}, {2600, 1000}} {
		if got := uiNiceStep(tc.top, 5); got != tc.want {
			t.Errorf("uiNiceStep(%d) = %d, want %d", tc.top, got, tc.want)
		}
	}
	for _, tc := range []struct{ lo, hi int64 }{{0, 0}, {100, 2070}, {-300, 200}, {-1, 1}, {-999, 0}, {-12345, 678901}, {5000, 5001}} {
		bottom, step := uiOutstandingScale(tc.lo, tc.hi)
		if bottom > min(tc.lo, 0) || bottom+step*chartTicks < tc.hi || step <= 0 || bottom%step != 0 {
			t.Errorf("uiOutstandingScale(%d, %d) = %d, %d: does not cover the range on step multiples", tc.lo, tc.hi, bottom, step)
		}
	}
}

// TestUICardNumbersMasked: no page shows a card number beyond its last
// four digits, in its text, its links or its forms; the customer list's
// link still opens the customer, and a reference tampered with or made by
// another server is refused with a message instead of another customer.
func TestUICardNumbersMasked(t *testing.T) {
	ts := newTestServer(t)
	seedUI(t, ts)
	c := newUIClient(ts)
	c.mustLogin()
	const card = "0420001234"
	list := c.get("/ui/customers?program=loyalty")
	m := regexp.MustCompile(`<a href="(/ui/customer\?[^"]*)">card:\*{6}1234</a>`).FindStringSubmatch(list.Body)
	if m == nil {
		t.Fatalf("no masked link to the card's customer in the list:\n%s", uiText(list.Body))
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	pages := map[string]uiAnswer{"list": list}
	pages["customer"] = c.get(link)
	if pages["customer"].Status != http.StatusOK || !strings.Contains(pages["customer"].Body, "1.200") {
		t.Fatalf("the list's link %s: %d\n%s", link, pages["customer"].Status, uiText(pages["customer"].Body))
	}
	ref := regexp.MustCompile(`name="customer" value="([^"]+)"`).FindStringSubmatch(pages["customer"].Body)
	if ref == nil || !strings.HasPrefix(ref[1], refPrefix) {
		t.Fatalf("the customer page's forms carry %v; want a sealed reference", ref)
	}
	pages["reset"] = c.get("/ui/customer/reset?program=loyalty&customer=" + url.QueryEscape(ref[1]))
	pages["prizes"] = c.get("/ui/prizes?program=loyalty&customer=" + url.QueryEscape(ref[1]))
	pages["typed"] = c.get("/ui/customer?program=loyalty&customer=card:" + card)
	pages["report"] = c.get("/ui/reports?program=loyalty&by=customer")
	for name, p := range pages {
		if p.Status != http.StatusOK {
			t.Errorf("%s: %d\n%s", name, p.Status, uiText(p.Body))
		}
		if strings.Contains(p.Body, card) || strings.Contains(p.Body, "042000") {
			t.Errorf("%s shows the card number:\n%s", name, p.Body)
		}
		if !strings.Contains(p.Body, "1234") {
			t.Errorf("%s does not show the card's last four digits", name)
		}
	}
	// A changed reference, or one sealed by another server, is refused.
	other := newTestServer(t)
	seedUI(t, other)
	oc := newUIClient(other)
	oc.mustLogin()
	foreign := regexp.MustCompile(`name="customer" value="([^"]+)"`).FindStringSubmatch(oc.get("/ui/customer?program=loyalty&customer=card:" + card).Body)
	tampered := []byte(ref[1])
	tampered[len(tampered)-3] ^= 1
	for _, bad := range []string{string(tampered), foreign[1], refPrefix, refPrefix + "!!"} {
		p := c.get("/ui/customer?program=loyalty&lang=en&customer=" + url.QueryEscape(bad))
		if p.Status != http.StatusBadRequest || !strings.Contains(uiText(p.Body), "no longer valid") {
			t.Errorf("reference %q: %d\n%s", bad, p.Status, uiText(p.Body))
		}
	}
}
