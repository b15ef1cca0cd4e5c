package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

// coPath is a route of program with the rest of the path after it.
func coPath(program string, rest ...string) string {
	p := "/api/v1/programs/" + url.PathEscape(program)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// coRoute is a checkout route as the tests call it: a concrete path for
// {program} P.
type coRoute struct {
	method, pattern string
	path            func(program string) string
	body            any
	scope           Scope
}

// checkoutRoutesUnderTest are every checkout route with a valid request.
var checkoutRoutesUnderTest = []coRoute{
	{"GET", "/api/v1/programs", func(string) string { return "/api/v1/programs" }, nil, ScopeRead},
	{"GET", "/api/v1/programs/{program}/customers/{customer}/balance", func(p string) string { return coPath(p, "customers", "web:1", "balance") }, nil, ScopeRead},
	{"GET", "/api/v1/programs/{program}/customers/{customer}/movements", func(p string) string { return coPath(p, "customers", "web:1", "movements") }, nil, ScopeRead},
	{"POST", "/api/v1/programs/{program}/quote", func(p string) string { return coPath(p, "quote") }, `{"cart":{"lines":[{"product":"A","price":"10.00"}]}}`, ScopeRead},
	{"GET", "/api/v1/programs/{program}/products/points", func(p string) string { return coPath(p, "products", "points") + "?product=A&price=10.00" }, nil, ScopeRead},
	{"POST", "/api/v1/programs/{program}/reservations", func(p string) string { return coPath(p, "reservations") }, `{"order":"W1","customer":"web:1","points":100}`, ScopeRedeem},
	{"GET", "/api/v1/programs/{program}/reservations/{order}", func(p string) string { return coPath(p, "reservations", "W1") }, nil, ScopeRedeem},
	{"POST", "/api/v1/programs/{program}/reservations/{order}/commit", func(p string) string { return coPath(p, "reservations", "W1", "commit") }, nil, ScopeRedeem},
	{"POST", "/api/v1/programs/{program}/reservations/{order}/release", func(p string) string { return coPath(p, "reservations", "W1", "release") }, nil, ScopeRedeem},
	{"GET", "/api/v1/programs/{program}/customers/{customer}/prizes", func(p string) string { return coPath(p, "customers", "web:1", "prizes") }, nil, ScopeRead},
	{"POST", "/api/v1/programs/{program}/customers/{customer}/prizes/{catalog}/{prize}", func(p string) string { return coPath(p, "customers", "web:1", "prizes", "y2026", "mug") }, `{"key":"k1"}`, ScopeRedeem},
	{"GET", "/api/v1/openapi.json", func(string) string { return "/api/v1/openapi.json" }, nil, ScopeRead},
}

// Every route below admin scope is under test here (the admin routes
// are api_admin_test.go's).
func TestCheckoutRoutesAllUnderTest(t *testing.T) {
	ts := newTestServer(t)
	tested := map[string]bool{"GET /readyz": true}
	for _, rt := range checkoutRoutesUnderTest {
		tested[rt.method+" "+rt.pattern] = true
	}
	for _, rt := range ts.srv.routes {
		if rt.Scope < ScopeAdmin && !tested[rt.Method+" "+rt.Pattern] {
			t.Errorf("route %s %s (scope %s) is not in checkoutRoutesUnderTest", rt.Method, rt.Pattern, rt.Scope)
		}
	}
}

func TestCheckoutAuth(t *testing.T) {
	ts := newTestServer(t)
	for _, rt := range checkoutRoutesUnderTest {
		path := rt.path("loyalty")
		t.Run(rt.method+" "+rt.pattern, func(t *testing.T) {
			tests := []struct {
				name, token string
				status      int
				code        string
			}{
				{"no token", "", http.StatusUnauthorized, CodeUnauthorized},
				{"unknown token", "nope-0123456789abcdef", http.StatusUnauthorized, CodeUnauthorized},
			}
			if rt.scope > ScopeRead {
				tests = append(tests, struct {
					name, token string
					status      int
					code        string
				}{"reader", tokRead, http.StatusForbidden, CodeForbidden})
			}
			for _, tt := range tests {
				r := ts.do(rt.method, path, tt.token, rt.body)
				if r.Status != tt.status || r.ErrorCode() != tt.code {
					t.Errorf("%s: %d %q, want %d %q: %s", tt.name, r.Status, r.ErrorCode(), tt.status, tt.code, r.Body)
				}
			}
		})
	}
}

func TestCheckoutUnknownProgram(t *testing.T) {
	ts := newTestServer(t)
	for _, rt := range checkoutRoutesUnderTest {
		if !strings.Contains(rt.pattern, "{program}") {
			continue
		}
		t.Run(rt.method+" "+rt.pattern, func(t *testing.T) {
			r := ts.do(rt.method, rt.path("no-such-program"), tokAdmin, rt.body)
			if r.Status != http.StatusNotFound || r.ErrorCode() != CodeUnknownProgram {
				t.Fatalf("%d %q, want 404 %s: %s", r.Status, r.ErrorCode(), CodeUnknownProgram, r.Body)
			}
			conforms(t, rt.method, rt.pattern, r)
		})
	}
}

// coPost sends body as is with a Content-Type of choice.
func (ts *testServer) coPost(path, contentType string, body []byte) response {
	ts.t.Helper()
	req, err := http.NewRequest("POST", ts.URL+path, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+tokRedeem)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// maxBody1024 sets server.max_body to its minimum.
func maxBody1024(s string) string {
	return strings.Replace(s, "\nserver:\n", "\nserver:\n  max_body: 1024\n", 1)
}

func TestCheckoutBadBodies(t *testing.T) {
	ts := newTestServer(t, withYAML(maxBody1024))
	ts.credit("loyalty", "web:1", 1000)
	quote := coPath("loyalty", "quote")
	reserve := coPath("loyalty", "reservations")
	prize := coPath("loyalty", "customers", "web:1", "prizes", "y2026", "mug")
	big := `{"cart":{"lines":[{"product":"` + strings.Repeat("x", 1100) + `","price":"1.00"}]}}`
	tests := []struct {
		name, path, ctype, body string
		status                  int
		code, field             string
	}{
		{"quote malformed", quote, "", `{"cart":`, 400, CodeBadJSON, ""},
		{"quote empty", quote, "", ``, 400, CodeBadJSON, ""},
		{"quote two values", quote, "", `{"cart":{}} {}`, 400, CodeBadJSON, ""},
		{"quote unknown field", quote, "", `{"cart":{},"coupon":"X"}`, 400, CodeBadJSON, "coupon"},
		{"quote unknown line field", quote, "", `{"cart":{"lines":[{"sku":"A"}]}}`, 400, CodeBadJSON, "sku"},
		{"quote customer wrong type", quote, "", `{"customer":5,"cart":{}}`, 400, CodeBadJSON, "customer"},
		{"quote price wrong type", quote, "", `{"cart":{"lines":[{"price":true}]}}`, 400, CodeBadJSON, "cart.lines.price"},
		{"quote lines wrong type", quote, "", `{"cart":{"lines":{}}}`, 400, CodeBadJSON, "cart.lines"},
		{"quote too large", quote, "", big, 413, CodeTooLarge, ""},
		{"quote text/plain", quote, "text/plain", `{"cart":{}}`, 415, CodeUnsupportedMedia, "Content-Type"},
		{"quote price with comma", quote, "", `{"cart":{"lines":[{"price":"12,50"}]}}`, 400, CodeBadRequest, "cart.lines[0].price"},
		{"quote price 3 decimals", quote, "", `{"cart":{"lines":[{"price":12.505}]}}`, 400, CodeBadRequest, "cart.lines[0].price"},
		{"quote negative shipping", quote, "", `{"cart":{"shipping":"-1.00"}}`, 400, CodeBadRequest, "cart.shipping"},
		{"quote quantity 4 decimals", quote, "", `{"cart":{"lines":[{"price":"1.00","quantity":"0.2505"}]}}`, 400, CodeBadRequest, "cart.lines[0].quantity"},
		{"quote no price", quote, "", `{"cart":{"lines":[{"product":"A"}]}}`, 400, CodeBadRequest, "cart.lines[0].price"},
		{"quote bad date", quote, "", `{"cart":{"date":"10/03/2026"}}`, 400, CodeBadRequest, "cart.date"},
		{"quote bad customer", quote, "", `{"customer":"42","cart":{}}`, 400, CodeBadRequest, "customer"},
		{"quote discount above gross", quote, "", `{"cart":{"lines":[{"price":"1.00","discount":"2.00"}]}}`, 400, CodeBadRequest, "cart.lines[0].discount"},
		{"reserve malformed", reserve, "", `{"order":`, 400, CodeBadJSON, ""},
		{"reserve unknown field", reserve, "", `{"order":"W1","customer":"web:1","points":10,"amount":1}`, 400, CodeBadJSON, "amount"},
		{"reserve points wrong type", reserve, "", `{"order":"W1","customer":"web:1","points":"ten"}`, 400, CodeBadJSON, "points"},
		{"reserve points fraction", reserve, "", `{"order":"W1","customer":"web:1","points":1.5}`, 400, CodeBadJSON, "points"},
		{"reserve too large", reserve, "", `{"order":"` + strings.Repeat("W", 1100) + `"}`, 413, CodeTooLarge, ""},
		{"reserve no order", reserve, "", `{"customer":"web:1","points":10}`, 400, CodeBadRequest, "order"},
		{"reserve order with spaces", reserve, "", `{"order":" W1","customer":"web:1","points":10}`, 400, CodeBadRequest, "order"},
		{"reserve order too long", reserve, "", `{"order":"` + strings.Repeat("W", 129) + `","customer":"web:1","points":10}`, 400, CodeBadRequest, "order"},
		{"reserve bad customer", reserve, "", `{"order":"W1","customer":"web1","points":10}`, 400, CodeBadRequest, "customer"},
		{"reserve zero points", reserve, "", `{"order":"W1","customer":"web:1","points":0}`, 400, CodeBadRequest, "points"},
		{"prize malformed", prize, "", `{`, 400, CodeBadJSON, ""},
		{"prize unknown field", prize, "", `{"key":"k","qty":1}`, 400, CodeBadJSON, "qty"},
		{"prize key wrong type", prize, "", `{"key":1}`, 400, CodeBadJSON, "key"},
		{"prize too large", prize, "", `{"key":"` + strings.Repeat("k", 1100) + `"}`, 413, CodeTooLarge, ""},
		{"prize no key", prize, "", `{}`, 400, CodeBadRequest, "key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.ctype
			if ct == "" {
				ct = "application/json"
			}
			r := ts.coPost(tt.path, ct, []byte(tt.body))
			var e errorBody
			r.JSON(t, &e)
			if r.Status != tt.status || e.Error == nil || e.Error.Code != tt.code || e.Error.Field != tt.field {
				t.Fatalf("%d %+v, want %d %s field %q: %s", r.Status, e.Error, tt.status, tt.code, tt.field, r.Body)
			}
		})
	}
	// Nothing was written by the refused requests.
	if b := coBalance(t, ts, "loyalty", "web:1"); b.Earned != 1000 || b.Spent != 0 {
		t.Fatalf("refused requests changed the balance: %+v", b)
	}
}

// coBalance reads a balance through the API.
func coBalance(t *testing.T, ts *testServer, program, customer string) ledger.Balance {
	t.Helper()
	r := ts.do("GET", coPath(program, "customers", customer, "balance"), tokRead, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("balance of %s: %d %s", customer, r.Status, r.Body)
	}
	var b ledger.Balance
	r.JSON(t, &b)
	return b
}

func TestCheckoutPrograms(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do("GET", "/api/v1/programs", tokRead, nil)
	conforms(t, "GET", "/api/v1/programs", r)
	var got []map[string]string
	r.JSON(t, &got)
	if len(got) != len(ts.cfg.Programs) {
		t.Fatalf("%d programs, want %d: %s", len(got), len(ts.cfg.Programs), r.Body)
	}
	if got[0]["id"] != "loyalty" || got[0]["name"] != "Loyalty card" || got[0]["unit"] != "points" {
		t.Fatalf("first program: %v", got[0])
	}
	for i, p := range ts.cfg.Programs {
		if got[i]["id"] != p.ID {
			t.Errorf("program %d is %s, want %s (configuration order)", i, got[i]["id"], p.ID)
		}
	}
}

func TestCheckoutBalance(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "card:0420001234", 250)
	const pattern = "/api/v1/programs/{program}/customers/{customer}/balance"
	tests := []struct {
		name, path string
		status     int
		code, body string
	}{
		{"card", coPath("loyalty", "customers", "card:0420001234", "balance"), 200, "",
			`{"program":"loyalty","customer":"card:0420001234","earned":250,"provisional":0,"spent":0,"expired":0,"expiring":[]}`},
		{"colon escaped", "/api/v1/programs/loyalty/customers/card%3A0420001234/balance", 200, "",
			`{"program":"loyalty","customer":"card:0420001234","earned":250,"provisional":0,"spent":0,"expired":0,"expiring":[]}`},
		{"known customer, other program", coPath("e4-redemption-limits", "customers", "card:0420001234", "balance"), 200, "",
			`{"program":"e4-redemption-limits","customer":"card:0420001234","earned":0,"provisional":0,"spent":0,"expired":0,"expiring":[]}`},
		{"unknown customer", coPath("loyalty", "customers", "web:404", "balance"), 404, CodeUnknownCustomer, ""},
		{"no kind", coPath("loyalty", "customers", "0420001234", "balance"), 400, CodeBadRequest, ""},
		{"unknown kind", coPath("loyalty", "customers", "fax:1", "balance"), 400, CodeBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("GET", tt.path, tokRead, nil)
			if r.Status != tt.status || r.ErrorCode() != tt.code {
				t.Fatalf("%d %q, want %d %q: %s", r.Status, r.ErrorCode(), tt.status, tt.code, r.Body)
			}
			conforms(t, "GET", pattern, r)
			if tt.body != "" && strings.TrimSpace(string(r.Body)) != tt.body {
				t.Fatalf("body\n%s\nwant\n%s", r.Body, tt.body)
			}
		})
	}
	// An error about one customer never shows another's card number.
	r := ts.do("GET", coPath("loyalty", "customers", "web:404", "balance"), tokRead, nil)
	if strings.Contains(string(r.Body), "0420001234") {
		t.Errorf("an error answer shows another customer's card: %s", r.Body)
	}
}

func TestCheckoutMovements(t *testing.T) {
	ts := newTestServer(t)
	const cust = "web:7"
	acct := ledger.Account{Program: "loyalty", Customer: cust}
	ts.credit("loyalty", cust, 100)
	ts.credit("loyalty", cust, 200)
	var pendingCredit, pendingSpend int64
	err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		res, err := tx.Credit(ledger.CreditRequest{Account: acct, Meta: ledger.Meta{Source: ledger.SourceWeb, Key: "order:W1"}, Amount: 120, Pending: true})
		if err != nil {
			return err
		}
		pendingCredit = res.Main()
		res, err = tx.Spend(ledger.SpendRequest{Account: acct, Meta: ledger.Meta{Source: ledger.SourceWeb, Key: "order:W2"}, Amount: 50, Pending: true})
		pendingSpend = res.Main()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	const pattern = "/api/v1/programs/{program}/customers/{customer}/movements"
	page := func(query string) apiMovementPage {
		t.Helper()
		r := ts.do("GET", coPath("loyalty", "customers", cust, "movements")+query, tokRead, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("movements%s: %d %s", query, r.Status, r.Body)
		}
		conforms(t, "GET", pattern, r)
		var p apiMovementPage
		r.JSON(t, &p)
		return p
	}
	all := page("")
	if len(all.Movements) != 4 || all.NextBefore != 0 {
		t.Fatalf("all movements: %+v", all)
	}
	for _, m := range all.Movements {
		wantPending := m.ID == pendingCredit || m.ID == pendingSpend
		if m.Pending != wantPending || m.Provisional != (m.ID == pendingCredit) {
			t.Errorf("movement %d (%s %s): pending %v provisional %v", m.ID, m.Kind, m.State, m.Pending, m.Provisional)
		}
	}
	// Pages of two, newest first, until next_before is 0.
	var ids []int64
	before := ""
	for range 5 {
		p := page("?limit=2" + before)
		for _, m := range p.Movements {
			ids = append(ids, m.ID)
		}
		if p.NextBefore == 0 {
			break
		}
		before = fmt.Sprintf("&before=%d", p.NextBefore)
	}
	if len(ids) != 4 {
		t.Fatalf("paging read %v", ids)
	}
	for i, m := range all.Movements {
		if ids[i] != m.ID {
			t.Fatalf("paging read %v, the whole list is %+v", ids, all.Movements)
		}
	}
	if p := page("?limit=4"); p.NextBefore != 0 || len(p.Movements) != 4 {
		t.Errorf("a page holding the last movement says there is another: %+v", p)
	}
	// The pending credit shows as provisional in the balance too.
	if b := coBalance(t, ts, "loyalty", cust); b.Provisional != 120 || b.Earned != 250 || b.Spent != 50 {
		t.Errorf("balance: %+v", b)
	}
	for _, tt := range []struct{ query, field string }{
		{"?limit=0", "limit"}, {"?limit=1001", "limit"}, {"?limit=x", "limit"}, {"?before=-1", "before"}, {"?before=1.5", "before"},
	} {
		r := ts.do("GET", coPath("loyalty", "customers", cust, "movements")+tt.query, tokRead, nil)
		var e errorBody
		r.JSON(t, &e)
		if r.Status != 400 || e.Error == nil || e.Error.Code != CodeBadRequest || e.Error.Field != tt.field {
			t.Errorf("%s: %d %s", tt.query, r.Status, r.Body)
		}
	}
	if r := ts.do("GET", coPath("loyalty", "customers", "web:404", "movements"), tokRead, nil); r.Status != 404 || r.ErrorCode() != CodeUnknownCustomer {
		t.Errorf("unknown customer: %d %s", r.Status, r.Body)
	}
}

// coQuote posts a quote and decodes the answer.
func coQuote(t *testing.T, ts *testServer, program string, body any) quoteAnswer {
	t.Helper()
	r := ts.do("POST", coPath(program, "quote"), tokRead, body)
	if r.Status != http.StatusOK {
		t.Fatalf("quote: %d %s", r.Status, r.Body)
	}
	conforms(t, "POST", "/api/v1/programs/{program}/quote", r)
	var q quoteAnswer
	r.JSON(t, &q)
	return q
}

// SPEC E4 and E5 through the API.
func TestCheckoutQuoteExamples(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("e4-redemption-limits", "web:e4", 3000)
	ts.credit("e5-goods-scope", "web:e5", 5000)
	ts.credit("e5-document-scope", "web:e5", 5000)
	e5cart := map[string]any{"lines": []any{map[string]any{"product": "BOOK", "price": "15.00"}}, "shipping": "5.00"}
	tests := []struct {
		name, program string
		body          any
		earn          int64
		want          redeemAnswer
		reason        string // part of the reason
	}{
		{"E4 cart 50.00", "e4-redemption-limits",
			map[string]any{"customer": "web:e4", "cart": map[string]any{"lines": []any{map[string]any{"product": "A", "price": "50.00"}}}},
			50, redeemAnswer{MaxPoints: 1000, MaxValue: 1000, MaxValueText: "10.00", Base: 5000, Limit: "max_discount_percent"}, ""},
		{"E4 cart 19.99", "e4-redemption-limits",
			map[string]any{"customer": "web:e4", "cart": map[string]any{"lines": []any{map[string]any{"product": "A", "price": "19.99"}}}},
			19, redeemAnswer{MaxValueText: "0.00", Base: 1999}, "below the minimum of 20.00"},
		{"E5 goods scope", "e5-goods-scope", map[string]any{"customer": "web:e5", "cart": e5cart},
			15, redeemAnswer{MaxPoints: 1500, MaxValue: 1500, MaxValueText: "15.00", Base: 1500, Limit: "base"}, ""},
		{"E5 document scope", "e5-document-scope", map[string]any{"customer": "web:e5", "cart": e5cart},
			15, redeemAnswer{MaxPoints: 2000, MaxValue: 2000, MaxValueText: "20.00", Base: 2000, Limit: "max_points"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := coQuote(t, ts, tt.program, tt.body)
			got := q.Redeem
			if !strings.Contains(got.Reason, tt.reason) || (tt.reason == "" && got.Reason != "") {
				t.Errorf("reason %q, want one with %q", got.Reason, tt.reason)
			}
			got.Reason = ""
			if q.Earn != tt.earn || got != tt.want {
				t.Fatalf("earn %d redeem %+v, want earn %d redeem %+v", q.Earn, got, tt.earn, tt.want)
			}
		})
	}
	// A quote writes nothing.
	if b := coBalance(t, ts, "e4-redemption-limits", "web:e4"); b.Earned != 3000 || b.Spent != 0 {
		t.Fatalf("the quote changed the balance: %+v", b)
	}
}

func TestCheckoutQuote(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "web:1", 700)
	line := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cart := func(lines ...map[string]any) map[string]any { return map[string]any{"lines": lines} }
	tests := []struct {
		name, program string
		body          any
		earn          int64
		maxPoints     int64
		reason        string
	}{
		{"balance bounds", "loyalty", map[string]any{"customer": "web:1", "cart": cart(line("product", "A", "price", "20.00"))}, 20, 700, ""},
		{"base bounds", "loyalty", map[string]any{"customer": "web:1", "cart": cart(line("product", "A", "price", "3.00"))}, 3, 300, ""},
		{"no customer", "loyalty", map[string]any{"cart": cart(line("product", "A", "price", "20.00"))}, 20, 0, "no earned points"},
		{"unknown customer", "loyalty", map[string]any{"customer": "web:404", "cart": cart(line("product", "A", "price", "20.00"))}, 20, 0, "no earned points"},
		{"price as JSON number, exact", "loyalty", map[string]any{"customer": "web:1", "cart": cart(line("product", "A", "price", json.Number("2.99")))}, 2, 299, ""},
		{"quantity times price", "loyalty", map[string]any{"customer": "web:1", "cart": cart(line("product", "A", "price", "1.50", "quantity", "3"))}, 4, 450, ""},
		{"weighed, rounded half up", "loyalty", map[string]any{"customer": "web:1", "cart": cart(line("product", "A", "price", "12.99", "quantity", "0.250"))}, 3, 325, ""},
		{"total overrides price", "loyalty", map[string]any{"customer": "web:1", "cart": cart(line("product", "A", "price", "12.99", "quantity", "0.250", "total", "3.24"))}, 3, 324, ""},
		{"line and document discounts", "loyalty", map[string]any{"customer": "web:1", "cart": map[string]any{
			"lines": []any{line("product", "A", "price", "10.00", "discount", "1.00")}, "discount": "2.00"}}, 7, 700, ""},
		{"empty cart", "loyalty", map[string]any{"customer": "web:1", "cart": map[string]any{}}, 0, 0, "empty"},
		{"dated cart", "loyalty", map[string]any{"customer": "web:1", "cart": map[string]any{"date": "2026-03-01", "lines": []any{line("product", "A", "price", "1.00")}}}, 1, 100, ""},
		{"instant cart", "loyalty", map[string]any{"customer": "web:1", "cart": map[string]any{"date": "2026-03-01T10:00:00+01:00", "lines": []any{line("product", "A", "price", "1.00")}}}, 1, 100, ""},
		{"program without redemption", "e12-catalog", map[string]any{"customer": "web:1", "cart": cart(line("product", "A", "price", "20.00"))}, 20, 0, "no redemption rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := coQuote(t, ts, tt.program, tt.body)
			if q.Earn != tt.earn || q.Redeem.MaxPoints != tt.maxPoints || !strings.Contains(q.Redeem.Reason, tt.reason) {
				t.Fatalf("earn %d redeem %+v, want earn %d max %d reason with %q", q.Earn, q.Redeem, tt.earn, tt.maxPoints, tt.reason)
			}
		})
	}
}

func TestCheckoutProductPoints(t *testing.T) {
	ts := newTestServer(t)
	const pattern = "/api/v1/programs/{program}/products/points"
	tests := []struct {
		name, query string
		status      int
		points      int64
		field       string
	}{
		{"steps", "?product=SKU1&price=12.50", 200, 12, ""},
		{"below a step", "?product=SKU1&price=0.99", 200, 0, ""},
		{"ignores other parameters", "?product=SKU1&price=3.00&category=books", 200, 3, ""},
		{"no product", "?price=12.50", 400, 0, "product"},
		{"no price", "?product=SKU1", 400, 0, "price"},
		{"bad price", "?product=SKU1&price=12,50", 400, 0, "price"},
		{"negative price", "?product=SKU1&price=-1", 400, 0, "price"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("GET", coPath("loyalty", "products", "points")+tt.query, tokRead, nil)
			conforms(t, "GET", pattern, r)
			if tt.status != 200 {
				var e errorBody
				r.JSON(t, &e)
				if r.Status != tt.status || e.Error == nil || e.Error.Field != tt.field {
					t.Fatalf("%d %s, want %d field %s", r.Status, r.Body, tt.status, tt.field)
				}
				return
			}
			var got struct{ Points int64 }
			r.JSON(t, &got)
			if r.Status != 200 || got.Points != tt.points {
				t.Fatalf("%d %s, want %d points", r.Status, r.Body, tt.points)
			}
		})
	}
}

// coReserve reserves points by the API.
func coReserve(ts *testServer, program, order, customer string, points int64) response {
	ts.t.Helper()
	return ts.do("POST", coPath(program, "reservations"), tokRedeem, map[string]any{"order": order, "customer": customer, "points": points})
}

func TestCheckoutReservations(t *testing.T) {
	ts := newTestServer(t)
	const cust = "web:1"
	ts.credit("loyalty", cust, 1000)
	ts.credit("loyalty", "web:2", 1000)
	// A reservation spends only points earned before it.
	ts.now = ts.now.Add(time.Second)
	res := func(r response) ledger.Reservation {
		t.Helper()
		var v ledger.Reservation
		r.JSON(t, &v)
		return v
	}
	const (
		pReserve = "/api/v1/programs/{program}/reservations"
		pGet     = "/api/v1/programs/{program}/reservations/{order}"
		pCommit  = "/api/v1/programs/{program}/reservations/{order}/commit"
		pRelease = "/api/v1/programs/{program}/reservations/{order}/release"
	)
	// Reserve, then the same again is a replay.
	r := coReserve(ts, "loyalty", "W1", cust, 300)
	conforms(t, "POST", pReserve, r)
	first := res(r)
	if r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replay") != "" || first.State != ledger.ReservationHeld ||
		first.Points != 300 || first.Movement == 0 || !first.ExpiresAt.Equal(ts.now.Add(ts.cfg.Server.ReservationTTL)) {
		t.Fatalf("reserve: %d %s", r.Status, r.Body)
	}
	r = coReserve(ts, "loyalty", "W1", cust, 300)
	conforms(t, "POST", pReserve, r)
	if r.Status != http.StatusOK || r.Header.Get("Idempotent-Replay") != "true" || res(r).Movement != first.Movement {
		t.Fatalf("replay: %d %v %s", r.Status, r.Header, r.Body)
	}
	if b := coBalance(t, ts, "loyalty", cust); b.Earned != 700 || b.Spent != 300 {
		t.Fatalf("after the reservation: %+v", b)
	}
	// The same order with other points or another customer conflicts.
	for _, tt := range []struct {
		customer string
		points   int64
	}{{cust, 200}, {"web:2", 300}} {
		r = coReserve(ts, "loyalty", "W1", tt.customer, tt.points)
		conforms(t, "POST", pReserve, r)
		var e errorBody
		r.JSON(t, &e)
		if r.Status != http.StatusConflict || e.Error.Code != CodeConflict || e.Error.Field != "order" || !strings.Contains(e.Error.Message, "release it first") {
			t.Fatalf("conflict %+v: %d %s", tt, r.Status, r.Body)
		}
	}
	// Read, commit, commit again, release refused.
	r = ts.do("GET", coPath("loyalty", "reservations", "W1"), tokRedeem, nil)
	conforms(t, "GET", pGet, r)
	if r.Status != 200 || res(r).Movement != first.Movement {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	for range 2 {
		r = ts.do("POST", coPath("loyalty", "reservations", "W1", "commit"), tokRedeem, nil)
		conforms(t, "POST", pCommit, r)
		if r.Status != 200 || res(r).State != ledger.ReservationCommitted {
			t.Fatalf("commit: %d %s", r.Status, r.Body)
		}
	}
	r = ts.do("POST", coPath("loyalty", "reservations", "W1", "release"), tokRedeem, nil)
	conforms(t, "POST", pRelease, r)
	if r.Status != http.StatusConflict || r.ErrorCode() != CodeReservationState {
		t.Fatalf("release of a committed reservation: %d %s", r.Status, r.Body)
	}
	// Release gives the points back; again is a replay; the order can
	// be reserved anew.
	if r = coReserve(ts, "loyalty", "W2", cust, 200); r.Status != http.StatusCreated {
		t.Fatalf("reserve W2: %d %s", r.Status, r.Body)
	}
	w2 := res(r)
	for range 2 {
		r = ts.do("POST", coPath("loyalty", "reservations", "W2", "release"), tokRedeem, nil)
		conforms(t, "POST", pRelease, r)
		if r.Status != 200 || res(r).State != ledger.ReservationReleased {
			t.Fatalf("release: %d %s", r.Status, r.Body)
		}
	}
	if b := coBalance(t, ts, "loyalty", cust); b.Earned != 700 || b.Spent != 300 {
		t.Fatalf("after the release: %+v", b)
	}
	r = ts.do("POST", coPath("loyalty", "reservations", "W2", "commit"), tokRedeem, nil)
	if r.Status != http.StatusConflict || r.ErrorCode() != CodeReservationState {
		t.Fatalf("commit of a released reservation: %d %s", r.Status, r.Body)
	}
	if r = coReserve(ts, "loyalty", "W2", cust, 200); r.Status != http.StatusCreated || res(r).Movement == w2.Movement {
		t.Fatalf("reserve W2 again after its release: %d %s", r.Status, r.Body)
	}
	// Insufficient: 500 earned left.
	r = coReserve(ts, "loyalty", "W3", cust, 501)
	conforms(t, "POST", pReserve, r)
	if r.Status != http.StatusConflict || r.ErrorCode() != CodeInsufficient {
		t.Fatalf("insufficient: %d %s", r.Status, r.Body)
	}
	// Unknown order and customer.
	for _, p := range []string{coPath("loyalty", "reservations", "W404"), coPath("loyalty", "reservations", "W404", "commit"), coPath("loyalty", "reservations", "W404", "release")} {
		method := "POST"
		if !strings.HasSuffix(p, "commit") && !strings.HasSuffix(p, "release") {
			method = "GET"
		}
		if r = ts.do(method, p, tokRedeem, nil); r.Status != http.StatusNotFound || r.ErrorCode() != CodeNotFound {
			t.Errorf("%s %s: %d %s", method, p, r.Status, r.Body)
		}
	}
	if r = coReserve(ts, "loyalty", "W5", "web:404", 10); r.Status != http.StatusNotFound || r.ErrorCode() != CodeUnknownCustomer {
		t.Errorf("unknown customer: %d %s", r.Status, r.Body)
	}
}

func TestCheckoutReservationExpires(t *testing.T) {
	ts := newTestServer(t)
	const cust = "web:1"
	ts.credit("loyalty", cust, 1000)
	ts.now = ts.now.Add(time.Second)
	if r := coReserve(ts, "loyalty", "W1", cust, 400); r.Status != http.StatusCreated {
		t.Fatalf("reserve: %d %s", r.Status, r.Body)
	}
	ts.now = ts.now.Add(ts.cfg.Server.ReservationTTL + time.Second)
	r := ts.do("POST", coPath("loyalty", "reservations", "W1", "commit"), tokRedeem, nil)
	conforms(t, "POST", "/api/v1/programs/{program}/reservations/{order}/commit", r)
	if r.Status != http.StatusConflict || r.ErrorCode() != CodeReservationState || !strings.Contains(string(r.Body), "expired") {
		t.Fatalf("commit after the TTL: %d %s", r.Status, r.Body)
	}
	// The refused commit gave the points back at once.
	if b := coBalance(t, ts, "loyalty", cust); b.Earned != 1000 || b.Spent != 0 {
		t.Fatalf("after the expired commit: %+v", b)
	}
	r = ts.do("GET", coPath("loyalty", "reservations", "W1"), tokRedeem, nil)
	var got ledger.Reservation
	r.JSON(t, &got)
	if got.State != ledger.ReservationExpired {
		t.Fatalf("reservation after the expired commit: %s", r.Body)
	}
	// Releasing an expired one is a replay.
	if r = ts.do("POST", coPath("loyalty", "reservations", "W1", "release"), tokRedeem, nil); r.Status != 200 {
		t.Fatalf("release of an expired reservation: %d %s", r.Status, r.Body)
	}
}

func TestCheckoutReservationLimits(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("e4-redemption-limits", "web:1", 300)
	ts.credit("e5-goods-scope", "web:1", 5000)
	tests := []struct {
		name, program string
		points        int64
		code, text    string
	}{
		{"below the minimum balance", "e4-redemption-limits", 100, CodeLimit, "minimum of 500"},
		{"above max points", "e5-goods-scope", 2500, CodeLimit, "maximum of 2000"},
		{"no redemption rules", "e12-catalog", 100, CodeLimit, "no redemption rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := coReserve(ts, tt.program, "W-"+tt.name, "web:1", tt.points)
			conforms(t, "POST", "/api/v1/programs/{program}/reservations", r)
			if r.Status != http.StatusConflict || r.ErrorCode() != tt.code || !strings.Contains(string(r.Body), tt.text) {
				t.Fatalf("%d %s, want 409 %s with %q", r.Status, r.Body, tt.code, tt.text)
			}
		})
	}
}

func TestCheckoutPrizes(t *testing.T) {
	ts := newTestServer(t)
	const cust = "card:0420009999"
	ts.credit("loyalty", cust, 600)
	const (
		pList   = "/api/v1/programs/{program}/customers/{customer}/prizes"
		pRedeem = "/api/v1/programs/{program}/customers/{customer}/prizes/{catalog}/{prize}"
	)
	list := func(customer string) map[string]apiPrize {
		t.Helper()
		r := ts.do("GET", coPath("loyalty", "customers", customer, "prizes"), tokRead, nil)
		conforms(t, "GET", pList, r)
		var got struct{ Prizes []apiPrize }
		r.JSON(t, &got)
		out := map[string]apiPrize{}
		for _, p := range got.Prizes {
			out[p.ID] = p
		}
		return out
	}
	ps := list(cust)
	if !ps["mug"].Redeemable || ps["mug"].Points != 500 || ps["bag"].Redeemable || ps["bag"].CoPayment != 200 || ps["bag"].Reason == "" || ps["mug"].Catalog != "y2026" {
		t.Fatalf("prizes for 600 points: %+v", ps)
	}
	if ps := list("web:404"); len(ps) != 2 || ps["mug"].Redeemable {
		t.Fatalf("prizes for an unknown customer: %+v", ps)
	}
	redeem := func(prize, key string) response {
		return ts.do("POST", coPath("loyalty", "customers", cust, "prizes", "y2026", prize), tokRedeem, map[string]any{"key": key})
	}
	r := redeem("mug", "k1")
	conforms(t, "POST", pRedeem, r)
	var first map[string]any
	r.JSON(t, &first)
	if r.Status != 200 || first["movement"] == nil {
		t.Fatalf("redeem: %d %s", r.Status, r.Body)
	}
	r = redeem("mug", "k1")
	var again map[string]any
	r.JSON(t, &again)
	if r.Status != 200 || again["movement"] != first["movement"] {
		t.Fatalf("replay: %d %s, first %v", r.Status, r.Body, first)
	}
	if b := coBalance(t, ts, "loyalty", cust); b.Earned != 100 || b.Spent != 500 {
		t.Fatalf("after the mug: %+v", b)
	}
	r = redeem("bag", "k2")
	conforms(t, "POST", pRedeem, r)
	if r.Status != http.StatusConflict || r.ErrorCode() != CodePrizeRefused {
		t.Fatalf("bag with 100 points: %d %s", r.Status, r.Body)
	}
	for _, p := range []string{"y2026/nothing", "y1999/mug"} {
		cat, pz, _ := strings.Cut(p, "/")
		r = ts.do("POST", coPath("loyalty", "customers", cust, "prizes", cat, pz), tokRedeem, map[string]any{"key": "k3"})
		conforms(t, "POST", pRedeem, r)
		if r.Status != http.StatusNotFound || r.ErrorCode() != CodeNotFound {
			t.Errorf("prize %s: %d %s", p, r.Status, r.Body)
		}
	}
	r = ts.do("POST", coPath("loyalty", "customers", "web:404", "prizes", "y2026", "mug"), tokRedeem, map[string]any{"key": "k4"})
	if r.Status != http.StatusNotFound || r.ErrorCode() != CodeUnknownCustomer {
		t.Errorf("unknown customer: %d %s", r.Status, r.Body)
	}
}
