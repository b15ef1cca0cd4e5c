package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/reconcile"
)

// path builds an API path under /api/v1, escaping each segment.
func apiPath(segs ...string) string {
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/api/v1/" + strings.Join(segs, "/")
}

// custPath is the path of a customer of a program, plus more segments.
func custPath(program, customer string, more ...string) string {
	return apiPath(append([]string{"programs", program, "customers", customer}, more...)...)
}

// balanceOf reads a balance straight from the ledger.
func (ts *testServer) balanceOf(program, customer string) ledger.Balance {
	ts.t.Helper()
	b, err := ts.ledger.Balance(context.Background(), ledger.Account{Program: program, Customer: ledger.Ident(customer)}, time.Time{})
	if err != nil {
		ts.t.Fatal(err)
	}
	return b
}

// movementsOf reads an account's history straight from the ledger, newest
// first.
func (ts *testServer) movementsOf(program, customer string) []ledger.Movement {
	ts.t.Helper()
	ms, err := ts.ledger.Movements(context.Background(), ledger.Account{Program: program, Customer: ledger.Ident(customer)}, ledger.MovementQuery{})
	if err != nil {
		ts.t.Fatal(err)
	}
	return ms
}

// adminAnswer is the JSON answer of an adjustment write.
type adminAnswer struct {
	Movement int64          `json:"movement"`
	Replayed bool           `json:"replayed"`
	Balance  ledger.Balance `json:"balance"`
}

// fillPath puts sample values in a route pattern's parameters.
func fillPath(pattern string) string {
	return strings.NewReplacer("{program}", "loyalty", "{customer}", "web:1", "{movement}", "1").Replace(pattern)
}

// Every admin route refuses a request without a token, and tokens of the
// read and redeem scopes, before looking at anything else.
func TestAdminRoutesNeedAdmin(t *testing.T) {
	ts := newTestServer(t)
	n := 0
	for _, rt := range ts.srv.routes {
		if rt.Scope != ScopeAdmin {
			continue
		}
		n++
		for _, tc := range []struct {
			name, token string
			status      int
			code        string
		}{
			{"no token", "", 401, CodeUnauthorized},
			{"reader", tokRead, 403, CodeForbidden},
			{"shop", tokRedeem, 403, CodeForbidden},
		} {
			t.Run(rt.Method+" "+rt.Pattern+" "+tc.name, func(t *testing.T) {
				var body any
				if rt.Method != "GET" && rt.Method != "DELETE" {
					body = map[string]any{}
				}
				r := ts.do(rt.Method, fillPath(rt.Pattern), tc.token, body)
				if r.Status != tc.status || r.ErrorCode() != tc.code {
					t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.ErrorCode(), tc.status, tc.code, r.Body)
				}
			})
		}
	}
	if n < 14 {
		t.Fatalf("only %d admin routes are registered; want at least the 14 of the admin API", n)
	}
}

// SPEC E11 through the API: +50 with a note, changed to +40, then
// removed: the balance is back as before and the history has three rows;
// an order's accrual cannot be changed.
func TestAdminE11(t *testing.T) {
	ts := newTestServer(t)
	const cust = "web:11"
	ts.credit("loyalty", cust, 200)
	before := ts.balanceOf("loyalty", cust)
	history := len(ts.movementsOf("loyalty", cust))

	var add adminAnswer
	r := ts.do("POST", custPath("loyalty", cust, "adjustments"), tokAdmin, map[string]any{"points": 50, "note": "goodwill: late delivery"})
	if r.Status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &add)
	if add.Balance.Earned != before.Earned+50 || add.Movement == 0 {
		t.Fatalf("after +50: %+v, want earned %d", add, before.Earned+50)
	}

	var change adminAnswer
	r = ts.do("PUT", custPath("loyalty", cust, "adjustments", fmt.Sprint(add.Movement)), tokAdmin, map[string]any{"points": 40, "note": "it was 40"})
	if r.Status != http.StatusOK {
		t.Fatalf("change: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &change)
	if change.Balance.Earned != before.Earned+40 || change.Movement == add.Movement {
		t.Fatalf("after the change to +40: %+v, want earned %d", change, before.Earned+40)
	}

	var remove adminAnswer
	r = ts.do("DELETE", custPath("loyalty", cust, "adjustments", fmt.Sprint(add.Movement))+"?note=mistake&key=rm-1", tokAdmin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &remove)
	if remove.Balance.Earned != before.Earned {
		t.Fatalf("after the removal earned %d, want %d as before", remove.Balance.Earned, before.Earned)
	}
	after := ts.balanceOf("loyalty", cust)
	if after.Earned != before.Earned || after.Spent != before.Spent || after.Provisional != before.Provisional {
		t.Fatalf("balance %+v, want %+v", after, before)
	}
	// The history, as the movements route shows it.
	r = ts.do("GET", custPath("loyalty", cust, "movements"), tokRead, nil)
	var page struct{ Movements []ledger.Movement }
	r.JSON(t, &page)
	ms := page.Movements
	if r.Status != http.StatusOK || len(ms) != history+3 {
		t.Fatalf("history has %d rows, want %d (the adjustment, its change, its removal)", len(ms), history+3)
	}
	wantReasons := []string{ledger.ReasonAdjustmentRemoval, ledger.ReasonAdjustmentChange, ledger.ReasonAdjustment}
	wantNotes := []string{"mistake", "it was 40", "goodwill: late delivery"}
	for i, m := range ms[:3] {
		if m.Reason != wantReasons[i] || m.Note != wantNotes[i] || m.Actor != "api:office" || m.Source != ledger.SourceAPI {
			t.Errorf("history row %d: reason %q note %q actor %q source %q, want %q %q api:office api", i, m.Reason, m.Note, m.Actor, m.Source, wantReasons[i], wantNotes[i])
		}
	}

	// The same removal again, with its key, changes nothing.
	r = ts.do("DELETE", custPath("loyalty", cust, "adjustments", fmt.Sprint(add.Movement))+"?note=mistake&key=rm-1", tokAdmin, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"replayed":true`) {
		t.Fatalf("replayed removal: %d %s", r.Status, r.Body)
	}
	// Without the key it is another removal of a removed adjustment.
	r = ts.do("DELETE", custPath("loyalty", cust, "adjustments", fmt.Sprint(add.Movement)), tokAdmin, nil)
	if r.Status != http.StatusConflict || r.ErrorCode() != CodeAlreadyFinal {
		t.Fatalf("second removal: %d %s", r.Status, r.Body)
	}

	// An order's accrual (a web movement) is refused with a clear message.
	var order ledger.Result
	err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		var err error
		order, err = tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: "loyalty", Customer: cust},
			Meta: ledger.Meta{Source: ledger.SourceWeb, Key: "order:W1:accrue", Reason: "accrual", Document: "W1"}, Amount: 120})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"PUT", "DELETE"} {
		var body any
		if method == "PUT" {
			body = map[string]any{"points": 100}
		}
		r = ts.do(method, custPath("loyalty", cust, "adjustments", fmt.Sprint(order.Main())), tokAdmin, body)
		var e errorBody
		r.JSON(t, &e)
		if r.Status != http.StatusConflict || e.Error == nil || e.Error.Code != CodeNotAdjustment ||
			!strings.Contains(e.Error.Message, "only admin adjustments can be changed or removed") || !strings.Contains(e.Error.Message, "W1") {
			t.Fatalf("%s of an order's accrual: %d %s", method, r.Status, r.Body)
		}
	}
	if got := ts.balanceOf("loyalty", cust); got.Earned != before.Earned+120 {
		t.Fatalf("the refused change moved points: earned %d, want %d", got.Earned, before.Earned+120)
	}
}

func TestAdminAdjustPreviewAndKeys(t *testing.T) {
	ts := newTestServer(t)
	const cust = "card:0420001234"
	ts.credit("loyalty", cust, 100)
	path := custPath("loyalty", cust, "adjustments")

	r := ts.do("POST", path, tokAdmin, map[string]any{"points": -30, "preview": true})
	var pv struct {
		Before, After ledger.Balance
		Saved         bool
	}
	r.JSON(t, &pv)
	if r.Status != http.StatusOK || pv.Before.Earned != 100 || pv.After.Earned != 70 || pv.Saved {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	if b := ts.balanceOf("loyalty", cust); b.Earned != 100 || len(ts.movementsOf("loyalty", cust)) != 1 {
		t.Fatalf("the preview saved something: %+v", b)
	}

	// With an expiry: the points expire at the end of that day in Rome.
	r = ts.do("POST", path, tokAdmin, map[string]any{"points": 25, "expires": "2026-12-31", "key": "k1"})
	var a adminAnswer
	r.JSON(t, &a)
	if r.Status != http.StatusCreated || a.Replayed || len(a.Balance.Expiring) != 1 || a.Balance.Expiring[0] != (ledger.Expiring{Date: "2026-12-31", Points: 25}) {
		t.Fatalf("adjustment with expiry: %d %s", r.Status, r.Body)
	}
	ms := ts.movementsOf("loyalty", cust)
	want := time.Date(2027, 1, 1, 0, 0, 0, 0, mustZone(t, "Europe/Rome"))
	if ms[0].Expires == nil || !ms[0].Expires.Equal(want) {
		t.Fatalf("expires %v, want %v", ms[0].Expires, want)
	}
	// The same key and input again: a replay, nothing more written.
	r = ts.do("POST", path, tokAdmin, map[string]any{"points": 25, "expires": "2026-12-31", "key": "k1"})
	r.JSON(t, &a)
	if r.Status != http.StatusOK || !a.Replayed || a.Balance.Earned != 125 {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	// The same key for another input: a conflict.
	r = ts.do("POST", path, tokAdmin, map[string]any{"points": 26, "key": "k1"})
	if r.Status != http.StatusConflict || r.ErrorCode() != CodeConflict {
		t.Fatalf("key reused: %d %s", r.Status, r.Body)
	}
	// An unknown customer is created only when asked.
	r = ts.do("POST", custPath("loyalty", "email:new@example.com", "adjustments"), tokAdmin, map[string]any{"points": 10})
	if r.Status != http.StatusNotFound || r.ErrorCode() != CodeUnknownCustomer {
		t.Fatalf("unknown customer: %d %s", r.Status, r.Body)
	}
	r = ts.do("POST", custPath("loyalty", "email:new@example.com", "adjustments"), tokAdmin, map[string]any{"points": 10, "create_customer": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("create_customer: %d %s", r.Status, r.Body)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Every wrong input of the adjustment routes is refused with its status,
// code and the field at fault, and changes nothing.
func TestAdminAdjustRefusals(t *testing.T) {
	ts := newTestServer(t)
	const cust = "web:7"
	ts.credit("loyalty", cust, 100)
	ts.credit("loyalty", "web:8", 100)
	var adj adminAnswer
	r := ts.do("POST", custPath("loyalty", cust, "adjustments"), tokAdmin, map[string]any{"points": 10})
	r.JSON(t, &adj)
	mv := fmt.Sprint(adj.Movement)
	r = ts.do("POST", custPath("loyalty", cust, "adjustments"), tokAdmin, map[string]any{"points": 5})
	var removed adminAnswer
	r.JSON(t, &removed)
	if r := ts.do("DELETE", custPath("loyalty", cust, "adjustments", fmt.Sprint(removed.Movement)), tokAdmin, nil); r.Status != 200 {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	history := len(ts.movementsOf("loyalty", cust))

	adjPath := custPath("loyalty", cust, "adjustments")
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"bad JSON", "POST", adjPath, `{"points": 1`, 400, CodeBadJSON, ""},
		{"two JSON values", "POST", adjPath, `{"points": 1} {}`, 400, CodeBadJSON, ""},
		{"unknown field", "POST", adjPath, `{"points": 1, "pionts": 2}`, 400, CodeBadJSON, "pionts"},
		{"points not a number", "POST", adjPath, `{"points": "10"}`, 400, CodeBadJSON, "points"},
		{"points fractional", "POST", adjPath, `{"points": 1.5}`, 400, CodeBadJSON, "points"},
		{"points 0", "POST", adjPath, map[string]any{"points": 0}, 400, CodeBadRequest, "points"},
		{"points missing", "POST", adjPath, map[string]any{"note": "x"}, 400, CodeBadRequest, "points"},
		{"expires format", "POST", adjPath, map[string]any{"points": 5, "expires": "31/12/2026"}, 400, CodeBadRequest, "expires"},
		{"expires past", "POST", adjPath, map[string]any{"points": 5, "expires": "2026-03-09"}, 400, CodeBadRequest, "expires"},
		{"expires on a negative", "POST", adjPath, map[string]any{"points": -5, "expires": "2026-12-31"}, 400, CodeBadRequest, "expires"},
		{"take more than earned", "POST", adjPath, map[string]any{"points": -1000}, 409, CodeInsufficient, "points"},
		{"key with spaces", "POST", adjPath, map[string]any{"points": 5, "key": " k "}, 400, CodeBadRequest, "key"},
		{"key too long", "POST", adjPath, map[string]any{"points": 5, "key": strings.Repeat("k", 161)}, 400, CodeBadRequest, "key"},
		{"key control", "POST", adjPath, map[string]any{"points": 5, "key": "a\nb"}, 400, CodeBadRequest, "key"},
		{"note too long", "POST", adjPath, map[string]any{"points": 5, "note": strings.Repeat("n", 2001)}, 400, CodeBadRequest, "note"},
		{"bad identifier", "POST", custPath("loyalty", "42", "adjustments"), map[string]any{"points": 5}, 400, CodeBadRequest, "customer"},
		{"unknown kind", "POST", custPath("loyalty", "phone:42", "adjustments"), map[string]any{"points": 5}, 400, CodeBadRequest, "customer"},
		{"unknown program", "POST", custPath("nope", cust, "adjustments"), map[string]any{"points": 5}, 404, CodeUnknownProgram, "program"},
		{"unknown customer", "POST", custPath("loyalty", "web:999", "adjustments"), map[string]any{"points": 5}, 404, CodeUnknownCustomer, "customer"},
		{"change: movement not a number", "PUT", custPath("loyalty", cust, "adjustments", "x1"), map[string]any{"points": 5}, 400, CodeBadRequest, "movement"},
		{"change: movement 0", "PUT", custPath("loyalty", cust, "adjustments", "0"), map[string]any{"points": 5}, 400, CodeBadRequest, "movement"},
		{"change: unknown movement", "PUT", custPath("loyalty", cust, "adjustments", "99999"), map[string]any{"points": 5}, 404, CodeNotFound, "movement"},
		{"change: points 0", "PUT", custPath("loyalty", cust, "adjustments", mv), map[string]any{"points": 0}, 400, CodeBadRequest, "points"},
		{"change: sign", "PUT", custPath("loyalty", cust, "adjustments", mv), map[string]any{"points": -5}, 400, CodeBadRequest, ""},
		{"change: unknown field", "PUT", custPath("loyalty", cust, "adjustments", mv), map[string]any{"points": 5, "expires": "2026-12-31"}, 400, CodeBadJSON, "expires"},
		{"change: another customer's", "PUT", custPath("loyalty", "web:8", "adjustments", mv), map[string]any{"points": 5}, 400, CodeBadRequest, ""},
		{"change: removed", "PUT", custPath("loyalty", cust, "adjustments", fmt.Sprint(removed.Movement)), map[string]any{"points": 5}, 409, CodeAlreadyFinal, "movement"},
		{"remove: unknown query", "DELETE", custPath("loyalty", cust, "adjustments", mv) + "?notes=x", nil, 400, CodeBadRequest, "notes"},
		{"remove: key twice", "DELETE", custPath("loyalty", cust, "adjustments", mv) + "?key=a&key=b", nil, 400, CodeBadRequest, "key"},
		{"remove: another program", "DELETE", custPath("e4-redemption-limits", cust, "adjustments", mv), nil, 400, CodeBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(tt.method, tt.path, tokAdmin, tt.body)
			var e errorBody
			r.JSON(t, &e)
			if r.Status != tt.status || e.Error == nil || e.Error.Code != tt.code || e.Error.Field != tt.field || e.Error.Message == "" {
				t.Fatalf("got %d %s, want %d %s field %q", r.Status, r.Body, tt.status, tt.code, tt.field)
			}
		})
	}
	if n := len(ts.movementsOf("loyalty", cust)); n != history {
		t.Fatalf("refused requests wrote %d movements", n-history)
	}
	r = ts.do("POST", adjPath, tokAdmin, nil)
	if r.Status != 400 || r.ErrorCode() != CodeBadJSON {
		t.Fatalf("empty body: %d %s", r.Status, r.Body)
	}
	req, _ := http.NewRequest("POST", ts.URL+adjPath, strings.NewReader("points=5"))
	req.Header.Set("Authorization", "Bearer "+tokAdmin)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("a form body: %d, want 415", resp.StatusCode)
	}
}

// badgeYAML gives the loyalty program a badge ladder.
func badgeYAML(s string) string {
	return strings.Replace(s, "  - id: loyalty\n    name: Loyalty card\n",
		"  - id: loyalty\n    name: Loyalty card\n    badges:\n      - {id: bronze, title: Bronze, from: 100, to: 499}\n      - {id: silver, title: Silver, from: 500}\n", 1)
}

func TestAdminCustomers(t *testing.T) {
	ts := newTestServer(t, withYAML(badgeYAML))
	ts.credit("loyalty", "web:1", 50)
	ts.credit("loyalty", "web:2", 300)
	ts.credit("loyalty", "web:3", 700)
	ts.credit("loyalty", "card:0420009999", 120)
	ts.credit("e4-redemption-limits", "web:4", 10)
	if err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		return tx.Link("web:3", "email:anna@example.com")
	}); err != nil {
		t.Fatal(err)
	}

	type list struct {
		Customers []adminCustomerRow
		Total     int
	}
	get := func(t *testing.T, query string) list {
		t.Helper()
		r := ts.do("GET", apiPath("programs", "loyalty", "customers")+query, tokAdmin, nil)
		if r.Status != 200 {
			t.Fatalf("list %s: %d %s", query, r.Status, r.Body)
		}
		var l list
		r.JSON(t, &l)
		return l
	}
	names := func(l list) string {
		var s []string
		for _, c := range l.Customers {
			s = append(s, string(c.Customer)+"="+fmt.Sprint(c.Earned)+"/"+c.Badge)
		}
		return strings.Join(s, " ")
	}
	tests := []struct{ query, want string }{
		{"?sort=earned&desc=1", "email:anna@example.com=700/Silver web:2=300/Bronze card:0420009999=120/Bronze web:1=50/"},
		{"?sort=earned&limit=2&offset=1", "card:0420009999=120/Bronze web:2=300/Bronze"},
		{"?min_earned=100&max_earned=500&sort=earned", "card:0420009999=120/Bronze web:2=300/Bronze"},
		{"?search=email:anna", "email:anna@example.com=700/Silver"},
		{"?search=web:3", "email:anna@example.com=700/Silver"},
		{"?search=0420", "card:0420009999=120/Bronze"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := names(get(t, tt.query)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	if l := get(t, "?limit=1"); l.Total != 4 || len(l.Customers) != 1 {
		t.Fatalf("limit 1: total %d, %d rows; want 4, 1", l.Total, len(l.Customers))
	}

	refusals := []struct{ query, field string }{
		{"?sort=name", "sort"},
		{"?limit=0", "limit"},
		{"?limit=1001", "limit"},
		{"?limit=ten", "limit"},
		{"?offset=-1", "offset"},
		{"?desc=maybe", "desc"},
		{"?min_points=1", "min_points"},
		{"?min_earned=x", "min_earned"},
		{"?min_earned=10&max_earned=5", "min_earned"},
		{"?page=2", "page"},
		{"?sort=earned&sort=spent", "sort"},
		{"?search=" + url.QueryEscape("web:\x01"), "search"},
		{"?search=" + strings.Repeat("9", 150), "search"},
		{"?search=" + strings.Repeat("9", 201), "search"},
	}
	for _, tt := range refusals {
		t.Run("refused "+tt.query, func(t *testing.T) {
			r := ts.do("GET", apiPath("programs", "loyalty", "customers")+tt.query, tokAdmin, nil)
			var e errorBody
			r.JSON(t, &e)
			if r.Status != 400 || e.Error.Code != CodeBadRequest || e.Error.Field != tt.field {
				t.Fatalf("got %d %s, want 400 field %s", r.Status, r.Body, tt.field)
			}
		})
	}
	if r := ts.do("GET", apiPath("programs", "nope", "customers"), tokAdmin, nil); r.Status != 404 || r.ErrorCode() != CodeUnknownProgram {
		t.Fatalf("unknown program: %d %s", r.Status, r.Body)
	}

	// One customer, by any of its identifiers.
	r := ts.do("GET", custPath("loyalty", "email:ANNA@example.com"), tokAdmin, nil)
	var one struct {
		Customer    string
		Identifiers []string
		Balance     ledger.Balance
		Badge       string
	}
	r.JSON(t, &one)
	if r.Status != 200 || one.Badge != "Silver" || one.Balance.Earned != 700 || strings.Join(one.Identifiers, ",") != "email:anna@example.com,web:3" || one.Customer != "email:anna@example.com" {
		t.Fatalf("one customer: %d %s", r.Status, r.Body)
	}
	r = ts.do("GET", custPath("loyalty", "web:1"), tokAdmin, nil)
	r.JSON(t, &one)
	if one.Badge != "" || one.Balance.Earned != 50 {
		t.Fatalf("below every badge: %s", r.Body)
	}
	for _, tt := range []struct {
		path   string
		status int
		code   string
	}{
		{custPath("loyalty", "web:404"), 404, CodeUnknownCustomer},
		{custPath("loyalty", "nokind"), 400, CodeBadRequest},
		{custPath("nope", "web:1"), 404, CodeUnknownProgram},
		{custPath("loyalty", "web:1") + "?x=1", 400, CodeBadRequest},
	} {
		if r := ts.do("GET", tt.path, tokAdmin, nil); r.Status != tt.status || r.ErrorCode() != tt.code {
			t.Errorf("GET %s: %d %s, want %d %s", tt.path, r.Status, r.Body, tt.status, tt.code)
		}
	}
}

func TestAdminReset(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "web:1", 100)
	ts.credit("loyalty", "web:2", 200)
	ts.credit("e4-redemption-limits", "web:1", 300)

	r := ts.do("POST", custPath("loyalty", "web:1", "reset"), tokAdmin, map[string]any{"note": "closed account", "key": "r1"})
	var one struct {
		Accounts, Written int
		Balance           ledger.Balance
	}
	r.JSON(t, &one)
	if r.Status != 200 || one.Accounts != 1 || one.Balance.Earned != 0 {
		t.Fatalf("customer reset: %d %s", r.Status, r.Body)
	}
	if b := ts.balanceOf("loyalty", "web:2"); b.Earned != 200 {
		t.Fatalf("another customer was reset: %+v", b)
	}
	if ms := ts.movementsOf("loyalty", "web:1"); len(ms) != 2 || ms[0].Kind != ledger.KindReset || ms[0].Note != "closed account" {
		t.Fatalf("history after the reset: %+v", ms)
	}

	for _, tt := range []struct {
		name    string
		body    any
		status  int
		code    string
		field   string
		program string
	}{
		{"no confirm", map[string]any{}, 400, CodeBadRequest, "confirm", "loyalty"},
		{"wrong confirm", map[string]any{"confirm": "e4-redemption-limits"}, 400, CodeBadRequest, "confirm", "loyalty"},
		{"confirm yes", map[string]any{"confirm": "yes"}, 400, CodeBadRequest, "confirm", "loyalty"},
		{"unknown program", map[string]any{"confirm": "nope"}, 404, CodeUnknownProgram, "program", "nope"},
		{"bad JSON", "{", 400, CodeBadJSON, "", "loyalty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", apiPath("programs", tt.program, "reset"), tokAdmin, tt.body)
			var e errorBody
			r.JSON(t, &e)
			if r.Status != tt.status || e.Error.Code != tt.code || e.Error.Field != tt.field {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
	}
	if b := ts.balanceOf("loyalty", "web:2"); b.Earned != 200 {
		t.Fatalf("a refused program reset changed a balance: %+v", b)
	}
	r = ts.do("POST", apiPath("programs", "loyalty", "reset"), tokAdmin, map[string]any{"confirm": "loyalty", "note": "end of season"})
	var all struct{ Accounts int }
	r.JSON(t, &all)
	if r.Status != 200 || all.Accounts != 2 {
		t.Fatalf("program reset: %d %s", r.Status, r.Body)
	}
	if b := ts.balanceOf("loyalty", "web:2"); b.Earned != 0 {
		t.Fatalf("after the program reset: %+v", b)
	}
	if b := ts.balanceOf("e4-redemption-limits", "web:1"); b.Earned != 300 {
		t.Fatalf("another program was reset: %+v", b)
	}
	if r := ts.do("POST", custPath("loyalty", "web:77", "reset"), tokAdmin, map[string]any{}); r.Status != 404 || r.ErrorCode() != CodeUnknownCustomer {
		t.Fatalf("reset of an unknown customer: %d %s", r.Status, r.Body)
	}
}

// SPEC E9 through the API: a date D dates the points to the start of D+1
// in the program's zone; "" removes expiry.
func TestAdminExpiry(t *testing.T) {
	ts := newTestServer(t)
	ts.credit("loyalty", "web:1", 100) // no expiry
	exp := time.Date(2026, 6, 30, 22, 0, 0, 0, time.UTC)
	if err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		if _, _, err := tx.EnsureCustomer("web:2"); err != nil {
			return err
		}
		_, err := tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: "loyalty", Customer: "web:2"},
			Meta: ledger.Meta{Source: ledger.SourceAdmin, Key: "dated", Reason: "test"}, Amount: 50, Expires: &exp})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	path := apiPath("programs", "loyalty", "expiry")
	r := ts.do("POST", path, tokAdmin, map[string]any{"date": "2026-12-31", "note": "year end"})
	var res struct {
		Accounts, Lots int
		Expires        *string
	}
	r.JSON(t, &res)
	if r.Status != 200 || res.Lots != 1 || res.Expires == nil || *res.Expires != "2026-12-31T23:00:00Z" {
		t.Fatalf("set expiry: %d %s", r.Status, r.Body)
	}
	if b := ts.balanceOf("loyalty", "web:2"); len(b.Expiring) != 1 || b.Expiring[0].Date != "2026-12-31" {
		t.Fatalf("dated lot: %+v", b)
	}
	if b := ts.balanceOf("loyalty", "web:1"); len(b.Expiring) != 0 {
		t.Fatalf("points without expiry were dated without include_no_expiry: %+v", b)
	}
	r = ts.do("POST", path, tokAdmin, map[string]any{"date": "2026-11-30", "customer": "web:1", "include_no_expiry": true})
	if r.Status != 200 {
		t.Fatalf("one customer: %d %s", r.Status, r.Body)
	}
	if b := ts.balanceOf("loyalty", "web:1"); len(b.Expiring) != 1 || b.Expiring[0].Date != "2026-11-30" {
		t.Fatalf("include_no_expiry: %+v", b)
	}
	if b := ts.balanceOf("loyalty", "web:2"); b.Expiring[0].Date != "2026-12-31" {
		t.Fatalf("another customer's expiry changed: %+v", b)
	}
	r = ts.do("POST", path, tokAdmin, map[string]any{"date": ""})
	r.JSON(t, &res)
	if r.Status != 200 || res.Expires != nil {
		t.Fatalf("clear: %d %s", r.Status, r.Body)
	}
	for _, c := range []string{"web:1", "web:2"} {
		if b := ts.balanceOf("loyalty", c); len(b.Expiring) != 0 {
			t.Fatalf("%s after clearing: %+v", c, b)
		}
	}
	for _, tt := range []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"no date", map[string]any{"note": "x"}, 400, CodeBadRequest, "date"},
		{"date null", `{"date": null}`, 400, CodeBadRequest, "date"},
		{"date format", map[string]any{"date": "2026-13-01"}, 400, CodeBadRequest, "date"},
		{"date past", map[string]any{"date": "2026-03-09"}, 400, CodeBadRequest, "date"},
		{"include without date", map[string]any{"date": "", "include_no_expiry": true}, 400, CodeBadRequest, "include_no_expiry"},
		{"bad customer", map[string]any{"date": "2026-12-31", "customer": "x"}, 400, CodeBadRequest, "customer"},
		{"unknown customer", map[string]any{"date": "2026-12-31", "customer": "web:404"}, 404, CodeUnknownCustomer, "customer"},
		{"date a number", `{"date": 20261231}`, 400, CodeBadJSON, "date"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", path, tokAdmin, tt.body)
			var e errorBody
			r.JSON(t, &e)
			if r.Status != tt.status || e.Error.Code != tt.code || e.Error.Field != tt.field {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
	}
}

// SPEC E12 through the API: on 2026-07-10 a customer with 600 earned
// redeems the prize (100 left); a second time is refused; on 2026-08-01
// the prize is refused.
func TestAdminE12(t *testing.T) {
	ts := newTestServer(t, withNow(time.Date(2026, 7, 10, 10, 0, 0, 0, time.UTC)))
	const cust = "card:0420001212"
	ts.credit("e12-catalog", cust, 600)
	redeem := func(key string) response {
		return ts.do("POST", custPath("e12-catalog", cust, "prizes", "first-half-2026", "prize"), tokRedeem, map[string]any{"key": key})
	}
	r := redeem("first")
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("redeem on 2026-07-10: %d %s", r.Status, r.Body)
	}
	r = ts.do("GET", custPath("e12-catalog", cust), tokAdmin, nil)
	var one struct{ Balance ledger.Balance }
	r.JSON(t, &one)
	if one.Balance.Earned != 100 || one.Balance.Spent != 500 {
		t.Fatalf("after the prize: %s", r.Body)
	}
	// A till receipt of the same day earns nothing: the catalog's window
	// for accrual closed on 2026-06-30. The history says why.
	if err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		return ts.srv.engine.TillReceipt(tx, "e12-catalog", reconcile.TillReceipt{Store: "S1", Till: "1", Receipt: "710",
			At: ts.now, Card: strings.TrimPrefix(cust, "card:"), Gross: 5000})
	}); err != nil {
		t.Fatal(err)
	}
	if b := ts.balanceOf("e12-catalog", cust); b.Earned != 100 || b.Provisional != 0 {
		t.Fatalf("a till receipt outside the catalog window earned points: %+v", b)
	}
	if ms := ts.movementsOf("e12-catalog", cust); ms[0].Kind != ledger.KindNote || ms[0].Note == "" {
		t.Fatalf("no note says why the receipt earned nothing: %+v", ms[0])
	}
	if r := redeem("second"); r.Status != http.StatusConflict || r.ErrorCode() != CodePrizeRefused {
		t.Fatalf("second redemption: %d %s", r.Status, r.Body)
	}
	// Enough points again, but past the redemption deadline.
	ts.credit("e12-catalog", cust, 1000)
	ts.now = time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)
	if r := redeem("third"); r.Status != http.StatusConflict || r.ErrorCode() != CodePrizeRefused || !strings.Contains(string(r.Body), "2026-07-31") {
		t.Fatalf("redemption on 2026-08-01: %d %s", r.Status, r.Body)
	}
	if b := ts.balanceOf("e12-catalog", cust); b.Earned != 1100 {
		t.Fatalf("refused redemptions spent points: %+v", b)
	}
}

// The answers are JSON objects even for a client that sends none.
func TestAdminAnswersAreJSON(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do("GET", apiPath("jobs"), tokAdmin, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	var v map[string]json.RawMessage
	r.JSON(t, &v)
}
