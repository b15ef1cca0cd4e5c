package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/pointsync/pointsync/daemon"
)

// The security tests: every route the server registers is walked with
// every kind of caller (SPEC 5, issue 7), the answers carry the security
// headers, refused requests change nothing, no token is ever logged or
// echoed, and uploads are bounded.

// secAccess is who may use a route.
type secAccess int

const (
	secPublic  secAccess = iota // anybody: the answer does not depend on the caller
	secToken                    // a bearer token of at least the route's scope
	secSession                  // an admin UI session; a POST also its CSRF token, sent from this site
)

// secOther are the patterns registered outside s.routes (whose scope the
// API routes declare), with who may use them and a request for each.
// TestSecurityEveryRoute fails on a registered pattern missing here, so a
// new page or endpoint cannot escape the walk.
var secOther = map[string]struct {
	access secAccess
	scope  Scope
	path   string
	status int // the anonymous answer of a public route
}{
	"GET /healthz":                        {secPublic, 0, "/healthz", http.StatusOK},
	"GET /metrics":                        {secToken, ScopeRead, "/metrics", 0},
	"/":                                   {secPublic, 0, "/no/such/route", http.StatusNotFound},
	"GET /ui/static/":                     {secPublic, 0, "/ui/static/app.css", http.StatusOK},
	"GET /ui/{$}":                         {secPublic, 0, "/ui/", http.StatusSeeOther},
	"GET /ui":                             {secPublic, 0, "/ui", http.StatusSeeOther},
	"GET /ui/login":                       {secPublic, 0, "/ui/login", http.StatusOK},
	"POST /ui/login":                      {secPublic, 0, "/ui/login", http.StatusForbidden}, // without the login form's cookie (TestUICSRF)
	"POST /ui/logout":                     {secSession, 0, "/ui/logout", 0},
	"GET /ui/customers":                   {secSession, 0, "/ui/customers?program=loyalty", 0},
	"GET /ui/customer":                    {secSession, 0, "/ui/customer?program=loyalty&customer=web:1", 0},
	"POST /ui/customer/adjust":            {secSession, 0, "/ui/customer/adjust", 0},
	"POST /ui/customer/adjustment/change": {secSession, 0, "/ui/customer/adjustment/change", 0},
	"POST /ui/customer/adjustment/remove": {secSession, 0, "/ui/customer/adjustment/remove", 0},
	"GET /ui/customer/reset":              {secSession, 0, "/ui/customer/reset?program=loyalty&customer=web:1", 0},
	"POST /ui/customer/reset":             {secSession, 0, "/ui/customer/reset", 0},
	"GET /ui/program":                     {secSession, 0, "/ui/program?program=loyalty", 0},
	"POST /ui/program/expiry":             {secSession, 0, "/ui/program/expiry", 0},
	"POST /ui/program/reset":              {secSession, 0, "/ui/program/reset", 0},
	"POST /ui/program/import":             {secSession, 0, "/ui/program/import", 0},
	"GET /ui/program/export":              {secSession, 0, "/ui/program/export?program=loyalty", 0},
	"GET /ui/prizes":                      {secSession, 0, "/ui/prizes?program=loyalty", 0},
	"GET /ui/parked":                      {secSession, 0, "/ui/parked?program=loyalty", 0},
	"GET /ui/connectors":                  {secSession, 0, "/ui/connectors", 0},
	"GET /ui/reports":                     {secSession, 0, "/ui/reports?program=loyalty", 0},
}

// secRoute is one registered pattern as the walk calls it.
type secRoute struct {
	method, pattern, path string
	access                secAccess
	scope                 Scope
	status                int
}

func (r secRoute) String() string { return r.method + " " + r.path }

// secSamples fill a pattern's wildcards.
var secSamples = map[string]string{
	"program": "loyalty", "customer": "web:1", "movement": "1", "order": "W1", "catalog": "y2026", "prize": "mug",
}

var secWildcard = regexp.MustCompile(`\{([A-Za-z_]+)(\.\.\.)?\}`)

// secRoutes lists every pattern the server registered, failing the test on
// one nobody classified and on a classification left without its route.
func secRoutes(t *testing.T, s *Server) []secRoute {
	t.Helper()
	api := map[string]Scope{}
	for _, rt := range s.routes {
		api[rt.Method+" "+rt.Pattern] = rt.Scope
	}
	var out []secRoute
	seen := map[string]bool{}
	for _, p := range s.patterns {
		seen[p] = true
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "GET", p
		}
		if sc, ok := api[p]; ok {
			if sc < ScopeRead {
				t.Errorf("API route %s declares no scope: every API route needs a token", p)
			}
			filled := secWildcard.ReplaceAllStringFunc(path, func(m string) string {
				name := secWildcard.FindStringSubmatch(m)[1]
				v, ok := secSamples[name]
				if !ok {
					t.Errorf("route %s: no sample value for {%s}; add one to secSamples", p, name)
				}
				return url.PathEscape(v)
			})
			out = append(out, secRoute{method: method, pattern: p, path: filled, access: secToken, scope: sc})
			continue
		}
		o, ok := secOther[p]
		if !ok {
			t.Errorf("pattern %q is registered but not classified in secOther: add it with who may use it", p)
			continue
		}
		out = append(out, secRoute{method: method, pattern: p, path: o.path, access: o.access, scope: o.scope, status: o.status})
	}
	for p := range secOther {
		if !seen[p] {
			t.Errorf("secOther classifies %q, which the server does not register", p)
		}
	}
	if len(s.routes) < 27 || len(out) < 27+len(secOther) {
		t.Fatalf("%d API routes and %d in all: fewer than the server has", len(s.routes), len(out))
	}
	return out
}

// secAnswer is an answer read whole.
type secAnswer struct {
	Status int
	Header http.Header
	Body   string
}

func (a secAnswer) errorCode() string { return response{Body: []byte(a.Body)}.ErrorCode() }

// secClient sends requests as they are: no cookie jar, no redirect
// followed.
var secClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// secCall is one request: a route and how the caller presents itself.
type secCall struct {
	method, url string
	body        string
	contentType string
	header      http.Header
	cookies     []*http.Cookie
}

func secDo(t *testing.T, c secCall) secAnswer {
	t.Helper()
	var rd io.Reader
	if c.body != "" {
		rd = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, c.url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	resp, err := secClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return secAnswer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// secHeaders checks the headers every answer must carry.
func secHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: header %s = %q, want %q", what, k, got, want)
		}
	}
	csp := map[string]string{}
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), " ")
		csp[name] = val
	}
	script, ok := csp["script-src"]
	if !ok {
		script, ok = csp["default-src"]
	}
	switch {
	case !ok || script == "":
		t.Errorf("%s: the CSP %q does not restrict scripts", what, h.Get("Content-Security-Policy"))
	case strings.Contains(script, "'unsafe-inline'") || strings.Contains(script, "'unsafe-eval'") || strings.Contains(script, "*"):
		t.Errorf("%s: the CSP allows inline or foreign scripts: script-src %s", what, script)
	}
	if csp["frame-ancestors"] != "'none'" {
		t.Errorf("%s: CSP frame-ancestors = %q, want 'none'", what, csp["frame-ancestors"])
	}
	if csp["default-src"] != "'self'" || csp["base-uri"] != "'none'" || csp["form-action"] != "'self'" {
		t.Errorf("%s: CSP %q: want default-src 'self', base-uri 'none', form-action 'self'", what, h.Get("Content-Security-Policy"))
	}
}

// secMovements counts the ledger's movements.
func secMovements(t *testing.T, ts *testServer) int {
	t.Helper()
	ms, err := ts.ledger.MovementsAfter(context.Background(), 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// secLogin logs a new UI client in as the admin and returns its session
// cookie and CSRF token.
func secLogin(t *testing.T, ts *testServer) (*http.Cookie, string) {
	t.Helper()
	c := newUIClient(ts)
	c.mustLogin()
	u, err := url.Parse(ts.URL + "/ui/customers")
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == uiSessionCookie {
			return &http.Cookie{Name: ck.Name, Value: ck.Value}, c.csrf
		}
	}
	t.Fatal("no session cookie after the admin's login")
	return nil, ""
}

// secTokenCaller is a caller of the token routes.
type secTokenCaller struct {
	name    string
	header  http.Header
	query   string // added to the path
	cookies []*http.Cookie
	scope   Scope // scopeNone: not authenticated at all
}

// secWithQuery adds query to the URL u.
func secWithQuery(u, query string) string {
	switch {
	case query == "":
		return u
	case strings.Contains(u, "?"):
		return u + "&" + query
	}
	return u + "?" + query
}

func secBearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// TestSecurityEveryRoute walks every pattern the server registers (the
// API's routes, the UI's pages, /metrics, /healthz, the rest) with every
// kind of caller, and checks that exactly the callers the route's declared
// access admits get past the check; that refused requests change nothing;
// and that every answer carries the security headers.
func TestSecurityEveryRoute(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "web:1", 1000)
	routes := secRoutes(t, ts.srv)
	sess, csrf := secLogin(t, ts)
	_, otherCSRF := secLogin(t, ts)

	tokenCallers := []secTokenCaller{
		{name: "no token"},
		{name: "basic auth", header: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("office:"+tokAdmin))}}},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer "}}},
		{name: "bearer without a space", header: http.Header{"Authorization": {"Bearer" + tokAdmin}}},
		{name: "wrong token", header: secBearer(tokAdmin + "x")},
		{name: "unknown token", header: secBearer("unknown-token-0123456789abcdef")},
		{name: "the configured hash as token", header: secBearer(HashToken(tokAdmin))},
		{name: "token in the query", query: "access_token=" + url.QueryEscape(tokAdmin) + "&token=" + url.QueryEscape(tokAdmin)},
		{name: "UI session cookie", cookies: []*http.Cookie{sess}},
		{name: "reader", header: secBearer(tokRead), scope: ScopeRead},
		{name: "shop", header: secBearer(tokRedeem), scope: ScopeRedeem},
		{name: "office", header: secBearer(tokAdmin), scope: ScopeAdmin},
	}
	// tokenCall is the request of a token route by caller c.
	tokenCall := func(rt secRoute, c secTokenCaller) secCall {
		call := secCall{method: rt.method, url: secWithQuery(ts.URL+rt.path, c.query), header: c.header, cookies: c.cookies}
		if rt.method == http.MethodPost || rt.method == http.MethodPut {
			call.body, call.contentType = "{}", "application/json"
		}
		return call
	}
	// sessionCall is the request of a UI page: a POST carries a form.
	sessionCall := func(rt secRoute, cookies []*http.Cookie, form url.Values, header http.Header) secCall {
		call := secCall{method: rt.method, url: ts.URL + rt.path, cookies: cookies, header: header}
		if rt.method == http.MethodPost {
			f := url.Values{"program": {"loyalty"}, "customer": {"web:1"}, "points": {"10"}, "movement": {"1"}}
			for k, v := range form {
				f[k] = v
			}
			call.body, call.contentType = f.Encode(), "application/x-www-form-urlencoded"
		}
		return call
	}
	forged := &http.Cookie{Name: uiSessionCookie, Value: strings.Repeat("A", 43)}
	counts := map[string]int{}

	// Refused: nothing may change.
	before := secMovements(t, ts)
	for _, rt := range routes {
		switch rt.access {
		case secToken:
			for _, c := range tokenCallers {
				if c.scope >= rt.scope {
					continue
				}
				a := secDo(t, tokenCall(rt, c))
				what := fmt.Sprintf("%s by %s", rt, c.name)
				secHeaders(t, what, a.Header)
				counts["refused"]++
				switch {
				case c.scope == scopeNone:
					if a.Status != http.StatusUnauthorized || a.errorCode() != CodeUnauthorized || a.Header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s: %d %q, want 401 %s with WWW-Authenticate: %s", what, a.Status, a.errorCode(), CodeUnauthorized, a.Body)
					}
				default:
					if a.Status != http.StatusForbidden || a.errorCode() != CodeForbidden {
						t.Errorf("%s: %d %q, want 403 %s: %s", what, a.Status, a.errorCode(), CodeForbidden, a.Body)
					}
				}
				if rt.method == http.MethodGet && c.scope == scopeNone {
					head := tokenCall(rt, c)
					head.method = http.MethodHead
					if a := secDo(t, head); a.Status != http.StatusUnauthorized {
						t.Errorf("HEAD %s by %s: %d, want 401", rt.path, c.name, a.Status)
					}
				}
			}
		case secSession:
			login := "/ui/login"
			if rt.method == http.MethodGet {
				login = "/ui/login?next=" + url.QueryEscape(rt.path)
			}
			for _, c := range []struct {
				name    string
				cookies []*http.Cookie
				header  http.Header
			}{
				{"no session", nil, nil},
				{"forged session cookie", []*http.Cookie{forged}, nil},
				{"admin bearer token without a session", nil, secBearer(tokAdmin)},
			} {
				a := secDo(t, sessionCall(rt, c.cookies, url.Values{"csrf": {csrf}}, c.header))
				what := fmt.Sprintf("%s by %s", rt, c.name)
				secHeaders(t, what, a.Header)
				counts["refused"]++
				if a.Status != http.StatusSeeOther || a.Header.Get("Location") != login {
					t.Errorf("%s: %d to %q, want 303 to %s", what, a.Status, a.Header.Get("Location"), login)
				}
			}
			// The session id is read from its cookie only.
			call := sessionCall(rt, nil, url.Values{"csrf": {csrf}, uiSessionCookie: {sess.Value}}, nil)
			call.url = secWithQuery(call.url, uiSessionCookie+"="+url.QueryEscape(sess.Value))
			a := secDo(t, call)
			counts["refused"]++
			if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/ui/login") {
				t.Errorf("%s with the session id in the query and the form: %d to %q, want 303 to the login", rt, a.Status, a.Header.Get("Location"))
			}
			if rt.method != http.MethodPost {
				continue
			}
			for _, c := range []struct {
				name   string
				form   url.Values
				header http.Header
			}{
				{"a form without CSRF token", url.Values{}, nil},
				{"a wrong CSRF token", url.Values{"csrf": {strings.Repeat("B", 43)}}, nil},
				{"the CSRF token of another session", url.Values{"csrf": {otherCSRF}}, nil},
				{"the CSRF token twice, one wrong", url.Values{"csrf": {"x", csrf}}, nil},
				{"a cross-site POST", url.Values{"csrf": {csrf}}, http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}},
				{"a POST from another origin", url.Values{"csrf": {csrf}}, http.Header{"Origin": {"https://evil.example"}}},
			} {
				a := secDo(t, sessionCall(rt, []*http.Cookie{sess}, c.form, c.header))
				what := fmt.Sprintf("%s with %s", rt, c.name)
				secHeaders(t, what, a.Header)
				counts["refused"]++
				if a.Status != http.StatusForbidden {
					t.Errorf("%s: %d, want 403", what, a.Status)
				}
			}
		case secPublic:
			for _, c := range tokenCallers {
				if c.cookies != nil {
					continue // the login page sends a logged-in admin on
				}
				call := tokenCall(rt, c)
				call.body, call.contentType = "", ""
				a := secDo(t, call)
				what := fmt.Sprintf("%s by %s", rt, c.name)
				secHeaders(t, what, a.Header)
				counts["public"]++
				if a.Status != rt.status {
					t.Errorf("%s: %d, want %d whoever asks: %.200s", what, a.Status, rt.status, a.Body)
				}
			}
		}
	}
	if after := secMovements(t, ts); after != before {
		t.Fatalf("refused requests changed the ledger: %d movements, then %d", before, after)
	}

	// Admitted: the route's own handler answers (a 2xx, a 3xx, or a 4xx
	// of its own validation), never the access check.
	logout := -1
	for i, rt := range routes {
		switch rt.access {
		case secToken:
			for _, c := range tokenCallers {
				if c.scope < rt.scope || c.scope == scopeNone {
					continue
				}
				a := secDo(t, tokenCall(rt, c))
				what := fmt.Sprintf("%s by %s", rt, c.name)
				secHeaders(t, what, a.Header)
				counts["admitted"]++
				if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden || a.Status >= 500 ||
					a.errorCode() == CodeUnauthorized || a.errorCode() == CodeForbidden || strings.Contains(a.Body, "no route ") {
					t.Errorf("%s: %d %q: the handler did not answer: %.300s", what, a.Status, a.errorCode(), a.Body)
				}
			}
		case secSession:
			if rt.pattern == "POST /ui/logout" {
				logout = i // last: it ends the session
				continue
			}
			a := secDo(t, sessionCall(rt, []*http.Cookie{sess}, url.Values{"csrf": {csrf}}, nil))
			what := fmt.Sprintf("%s with a session", rt)
			secHeaders(t, what, a.Header)
			counts["admitted"]++
			if a.Status == http.StatusForbidden || a.Status == http.StatusUnauthorized || a.Status >= 500 || strings.HasPrefix(a.Header.Get("Location"), "/ui/login") {
				t.Errorf("%s: %d to %q: the page did not answer: %.300s", what, a.Status, a.Header.Get("Location"), uiText(a.Body))
			}
		}
	}
	if logout < 0 {
		t.Fatal("no logout route")
	}
	if a := secDo(t, sessionCall(routes[logout], []*http.Cookie{sess}, url.Values{"csrf": {csrf}}, nil)); a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/ui/login" {
		t.Errorf("logout: %d to %q", a.Status, a.Header.Get("Location"))
	}

	// Expired: a session idle past server.ui.session_ttl opens nothing.
	// Each route gets its own session: the first use of an expired one
	// removes it.
	var sessionRoutes []secRoute
	var expired []*http.Cookie
	var expiredCSRF []string
	for _, rt := range routes {
		if rt.access == secSession {
			ck, tok := secLogin(t, ts)
			sessionRoutes, expired, expiredCSRF = append(sessionRoutes, rt), append(expired, ck), append(expiredCSRF, tok)
		}
	}
	before = secMovements(t, ts)
	ts.now = ts.now.Add(ts.cfg.Server.UI.SessionTTL)
	for i, rt := range sessionRoutes {
		a := secDo(t, sessionCall(rt, []*http.Cookie{expired[i]}, url.Values{"csrf": {expiredCSRF[i]}}, nil))
		what := fmt.Sprintf("%s with an expired session", rt)
		secHeaders(t, what, a.Header)
		counts["refused"]++
		if a.Status != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/ui/login") {
			t.Errorf("%s: %d to %q, want 303 to the login", what, a.Status, a.Header.Get("Location"))
		}
	}
	if after := secMovements(t, ts); after != before {
		t.Fatalf("requests with expired sessions changed the ledger: %d movements, then %d", before, after)
	}
	t.Logf("%d routes: %d refused, %d admitted, %d public requests", len(routes), counts["refused"], counts["admitted"], counts["public"])
}

// TestSecurityUITemplatesHaveNoInlineCode: the CSP forbids inline script
// and style, so no page may hold them (they would not run, or a future
// relaxation of the CSP would let injected ones run too).
func TestSecurityUITemplatesHaveNoInlineCode(t *testing.T) {
	inline := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"an inline <script>", regexp.MustCompile(`(?is)<script\b[^>]*>\s*[^<\s]`)},
		{"a <style> element", regexp.MustCompile(`(?i)<style\b`)},
		{"a style attribute", regexp.MustCompile(`(?i)\sstyle\s*=`)},
		{"an event handler attribute", regexp.MustCompile(`(?i)\son[a-z]+\s*=`)},
		{"a javascript: URL", regexp.MustCompile(`(?i)javascript:`)},
	}
	scriptTag := regexp.MustCompile(`(?is)<script\b[^>]*>`)
	names, err := uiFilesNames()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < len(uiPages) {
		t.Fatalf("%d templates, want at least %d", len(names), len(uiPages))
	}
	for _, name := range names {
		data, err := uiFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range scriptTag.FindAll(data, -1) {
			if !bytes.Contains(tag, []byte(" src=")) {
				t.Errorf("%s: a <script> without src: %s", name, tag)
			}
		}
		for _, x := range inline {
			if loc := x.re.FindIndex(data); loc != nil {
				line := 1 + bytes.Count(data[:loc[0]], []byte("\n"))
				t.Errorf("%s:%d: %s: %q", name, line, x.what, data[loc[0]:min(loc[1]+20, len(data))])
			}
		}
	}
}

// uiFilesNames are the embedded templates.
func uiFilesNames() ([]string, error) {
	entries, err := uiFiles.ReadDir("ui/templates")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, "ui/templates/"+e.Name())
	}
	return out, nil
}

// TestSecurityUploadLimits: the UI's forms and import uploads are bounded
// like the API's bodies (TestCheckoutBadBodies, TestAdminImportTooLarge):
// a larger one is refused with 413 and applies nothing.
func TestSecurityUploadLimits(t *testing.T) {
	ts := newTestServer(t, withYAML(func(s string) string {
		return strings.Replace(s, "server:\n", "server:\n  max_upload: 1024\n", 1)
	}))
	ts.credit("loyalty", "web:1", 10)
	c := newUIClient(ts)
	c.mustLogin()
	big := "cliente;punti;scadenza;nota\n" + strings.Repeat("web:1;1;;"+strings.Repeat("x", 40)+"\n", 40)
	small := "cliente;punti;scadenza;nota\nweb:1;1;;fits\n"
	upload := func(content string) uiAnswer {
		ct, body := uiMultipart(t, url.Values{"csrf": {c.csrf}, "program": {"loyalty"}}, "f.csv", content)
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/ui/program/import", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		return c.do(req)
	}
	for _, tc := range []struct {
		name   string
		answer func() uiAnswer
		status int
	}{
		{"import larger than server.max_upload", func() uiAnswer { return upload(big) }, http.StatusRequestEntityTooLarge},
		{"form larger than 1 MiB", func() uiAnswer {
			return c.post("/ui/customer/adjust", url.Values{"program": {"loyalty"}, "customer": {"web:1"}, "points": {"1"},
				"note": {strings.Repeat("n", uiMaxFormBody)}, "action": {"save"}})
		}, http.StatusRequestEntityTooLarge},
		{"import within the limit", func() uiAnswer { return upload(small) }, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.answer()
			if p.Status != tc.status {
				t.Fatalf("status %d, want %d\n%s", p.Status, tc.status, uiText(p.Body))
			}
			secHeaders(t, tc.name, p.Header)
		})
	}
	if b := ts.uiBalanceOf("loyalty", "web:1"); b.Earned != 11 {
		t.Fatalf("earned %d, want 11: only the small file applies", b.Earned)
	}
}

// TestSecurityUploadNames: the file name a client gives an upload is only
// ever shown, as its base name; no file is written where it points. Each
// upload has a bad row, so that the refusal names the file.
func TestSecurityUploadNames(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "web:1", 10)
	c := newUIClient(ts)
	c.mustLogin()
	outside := t.TempDir()
	names := []struct {
		name   string
		status int    // 422: the bad row stops the import; 400: a NUL cannot be in a part's header
		shown  string // what the answer names the file by
	}{
		{"../../../../" + strings.TrimPrefix(filepath.Join(outside, "escaped.csv"), "/"), http.StatusUnprocessableEntity, "escaped.csv"},
		{filepath.Join(outside, "absolute.csv"), http.StatusUnprocessableEntity, "absolute.csv"},
		{`..\..\` + filepath.Base(outside) + `\backslash.csv`, http.StatusUnprocessableEntity, "backslash.csv"},
		{"new\nline.csv", http.StatusUnprocessableEntity, "line.csv"},
		{"nul\x00byte.csv", http.StatusBadRequest, ""},
		{"quote\".csv", http.StatusUnprocessableEntity, "quote"},
	}
	leaks := func(body string) bool {
		return strings.Contains(body, outside) || strings.Contains(body, "../") || strings.Contains(body, `..\`)
	}
	for i, tc := range names {
		t.Run(fmt.Sprintf("api %q", tc.name), func(t *testing.T) {
			ct, form := multipartFile(t, "file", tc.name, fmt.Sprintf("customer;points;note\nweb:1;1;api%d\nweb:1;dieci;bad\n", i))
			r := ts.upload(apiPath("programs", "loyalty", "import"), ct, form)
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.shown) {
				t.Fatalf("import: %d %s, want %d naming %q", r.Status, r.Body, tc.status, tc.shown)
			}
			if leaks(string(r.Body)) {
				t.Errorf("the answer names the path the client gave: %s", r.Body)
			}
		})
		t.Run(fmt.Sprintf("ui %q", tc.name), func(t *testing.T) {
			ct, body := uiMultipart(t, url.Values{"csrf": {c.csrf}, "program": {"loyalty"}}, tc.name, fmt.Sprintf("cliente;punti;scadenza;nota\nweb:1;1;;ui%d\nweb:1;dieci;;bad\n", i))
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/ui/program/import", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ct)
			p := c.do(req)
			if p.Status != tc.status || !strings.Contains(uiText(p.Body), tc.shown) {
				t.Fatalf("import: %d, want %d naming %q\n%s", p.Status, tc.status, tc.shown, uiText(p.Body))
			}
			if leaks(p.Body) {
				t.Errorf("the page shows the path the client gave:\n%s", uiText(p.Body))
			}
		})
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("uploads wrote outside their spool: %v", entries)
	}
	if b := ts.uiBalanceOf("loyalty", "web:1"); b.Earned != 10 {
		t.Fatalf("earned %d, want 10: every upload was refused", b.Earned)
	}
}

// secLog is a zap core's output kept for the test, every level.
type secLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *secLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *secLog) Sync() error { return nil }

func (l *secLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestSecurityTokensNeverLogged runs a server logging at debug level with
// tokens given hashed and through token_file, sends it authorised and
// refused requests (bearer headers, wrong tokens, UI logins with the token
// in the form), and checks that no clear token shows in the log, in
// /metrics, in any answer's body or headers.
func TestSecurityTokensNeverLogged(t *testing.T) {
	const tokFile = "file-admin-token-0123456789abcdefXYZ"
	tokenFile := filepath.Join(t.TempDir(), "office2.token")
	if err := os.WriteFile(tokenFile, []byte(tokFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, withYAML(func(s string) string {
		return strings.Replace(s, "    - {name: office, scopes: [admin], sha256: "+HashToken(tokAdmin)+"}\n",
			"    - {name: office, scopes: [admin], sha256: "+HashToken(tokAdmin)+"}\n    - {name: office2, scopes: [admin], token_file: "+tokenFile+"}\n", 1)
	}))
	if len(ts.cfg.Server.Tokens) != 4 {
		t.Fatalf("%d tokens configured, want 4 (one from %s)", len(ts.cfg.Server.Tokens), tokenFile)
	}
	logs := &secLog{}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), logs, zapcore.DebugLevel)
	eng, err := daemon.Engine(ts.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Config: ts.cfg, Ledger: ts.ledger, Engine: eng, Logger: zap.New(core), Clock: ts.clock})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	ts.URL = "http://" + ln.Addr().String()
	ts.srv = s
	ts.credit("loyalty", "web:1", 1000)

	secrets := []string{tokRead, tokRedeem, tokAdmin, tokFile,
		tokAdmin + "x", "wrong-" + tokFile, tokFile[:len(tokFile)-1], strings.ToUpper(tokAdmin)}
	var answers []secAnswer
	keep := func(a secAnswer) { answers = append(answers, a) }

	// Every route with every token, right and wrong, in the header.
	for _, rt := range secRoutes(t, s) {
		if rt.access != secToken {
			continue
		}
		for _, tok := range secrets {
			call := secCall{method: rt.method, url: ts.URL + rt.path, header: secBearer(tok)}
			if rt.method == http.MethodPost || rt.method == http.MethodPut {
				call.body, call.contentType = `{"bad json`, "application/json"
			}
			keep(secDo(t, call))
		}
	}
	// Tokens in odd places: the query, basic auth, a cookie.
	for _, tok := range []string{tokAdmin, tokFile, "wrong-" + tokFile} {
		keep(secDo(t, secCall{method: "GET", url: ts.URL + "/api/v1/jobs?access_token=" + url.QueryEscape(tok)}))
		keep(secDo(t, secCall{method: "GET", url: ts.URL + "/metrics", header: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+tok))}}}))
		keep(secDo(t, secCall{method: "GET", url: ts.URL + "/ui/customers", cookies: []*http.Cookie{{Name: uiSessionCookie, Value: tok}}}))
	}
	// UI logins with the token in the form: refused and accepted.
	for _, tok := range []string{"wrong-" + tokFile, tokAdmin + "x", tokRead, tokRedeem, tokFile, tokAdmin} {
		c := newUIClient(ts)
		form := c.get("/ui/login")
		keep(secAnswer{form.Status, form.Header, form.Body})
		p := c.post("/ui/login", url.Values{"csrf": {uiHidden(t, form.Body, "/ui/login", "csrf")}, "token": {tok}, "next": {"/ui/customers?program=loyalty"}})
		keep(secAnswer{p.Status, p.Header, p.Body})
		if tok == tokFile || tok == tokAdmin {
			if p.Status != http.StatusSeeOther {
				t.Fatalf("login with an admin token: %d", p.Status)
			}
			for _, path := range []string{"/ui/customers?program=loyalty", "/ui/connectors", "/ui/customer?program=loyalty&customer=web:1"} {
				p := c.get(path)
				keep(secAnswer{p.Status, p.Header, p.Body})
			}
		} else if p.Status != http.StatusUnauthorized && p.Status != http.StatusForbidden {
			t.Fatalf("login with %q: %d, want 401 or 403", tok, p.Status)
		}
		// A login form posted without its cookie, token in it.
		keep(secDo(t, secCall{method: "POST", url: ts.URL + "/ui/login", body: url.Values{"csrf": {"x"}, "token": {tok}}.Encode(), contentType: "application/x-www-form-urlencoded"}))
	}
	metrics := secDo(t, secCall{method: "GET", url: ts.URL + "/metrics", header: secBearer(tokFile)})
	if metrics.Status != http.StatusOK {
		t.Fatalf("metrics with the token from token_file: %d", metrics.Status)
	}
	answers = append(answers, metrics)

	log := logs.String()
	// The log is not empty: the logins were logged, by the token's name.
	for _, want := range []string{`"token":"office2"`, `"token":"office"`, "login with an unknown token", `"token":"reader"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s; the test does not see what it should:\n%s", want, log)
		}
	}
	if !strings.Contains(metrics.Body, `code="401"`) || !strings.Contains(metrics.Body, `code="403"`) {
		t.Errorf("metrics count no refusals:\n%s", metrics.Body)
	}
	for _, sec := range secrets {
		if strings.Contains(log, sec) {
			t.Errorf("the log holds the token %q:\n%s", sec, log)
		}
		for i, a := range answers {
			if strings.Contains(a.Body, sec) {
				t.Errorf("answer %d (%d) holds the token %q: %.400s", i, a.Status, sec, a.Body)
			}
			for k, vs := range a.Header {
				if slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(v, sec) || strings.Contains(v, url.QueryEscape(sec)) }) {
					t.Errorf("answer %d header %s holds the token %q: %v", i, k, sec, vs)
				}
			}
		}
	}
	kinds := map[int]int{}
	for _, a := range answers {
		kinds[a.Status]++
	}
	statuses := make([]int, 0, len(kinds))
	for k := range kinds {
		statuses = append(statuses, k)
	}
	sort.Ints(statuses)
	t.Logf("%d answers (statuses %v), %d bytes of log: no token in them", len(answers), statuses, len(log))
}
