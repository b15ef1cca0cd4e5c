package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/daemon"
	"github.com/pointsync/pointsync/ledger"
)

// fuzzHandler is the server of testdata/server.yaml over a SQLite ledger,
// called without a network, for fuzz targets: newTestServer needs a
// *testing.T and a listener, a fuzz target's setup has a *testing.F.
func fuzzHandler(tb testing.TB) (http.Handler, *ledger.Ledger) {
	tb.Helper()
	raw, err := os.ReadFile("testdata/server.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	text := strings.NewReplacer("TOKEN_READ", HashToken(tokRead), "TOKEN_REDEEM", HashToken(tokRedeem),
		"TOKEN_ADMIN", HashToken(tokAdmin)).Replace(string(raw))
	path := filepath.Join(tb.TempDir(), "pointsync.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := configs.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	progs, err := cfg.RulesPrograms()
	if err != nil {
		tb.Fatal(err)
	}
	var lp []ledger.Program
	for _, p := range progs {
		lp = append(lp, ledger.Program{ID: p.ID, Location: p.Location})
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	l, err := ledger.Open(context.Background(), ledger.Options{Path: cfg.Ledger.Path, Programs: lp, Clock: clock})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	eng, err := daemon.Engine(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Options{Config: cfg, Ledger: l, Engine: eng, Logger: zap.NewNop(), Clock: clock})
	if err != nil {
		tb.Fatal(err)
	}
	return s.Handler(), l
}

// bodyRoutes are the API routes that read a body, with the token of the
// scope they need.
var bodyRoutes = []struct {
	method, path, token, contentType string
}{
	{"POST", "/api/v1/programs/{program}/quote", tokRead, "application/json"},
	{"POST", "/api/v1/programs/{program}/customers/{customer}/prizes/{catalog}/{prize}", tokRedeem, "application/json"},
	{"POST", "/api/v1/programs/{program}/reservations", tokRedeem, "application/json"},
	{"POST", "/api/v1/programs/{program}/reservations/{order}/commit", tokRedeem, "application/json"},
	{"POST", "/api/v1/programs/{program}/reservations/{order}/release", tokRedeem, "application/json"},
	{"POST", "/api/v1/programs/{program}/customers/{customer}/adjustments", tokAdmin, "application/json"},
	{"PUT", "/api/v1/programs/{program}/customers/{customer}/adjustments/{movement}", tokAdmin, "application/json"},
	{"POST", "/api/v1/programs/{program}/customers/{customer}/reset", tokAdmin, "application/json"},
	{"POST", "/api/v1/programs/{program}/reset", tokAdmin, "application/json"},
	{"POST", "/api/v1/programs/{program}/expiry", tokAdmin, "application/json"},
	{"POST", "/api/v1/programs/{program}/import", tokAdmin, "text/csv"},
}

// fuzzPath fills a route's parameters with values picked by the bits of
// pick: known and unknown programs, customers, prizes, orders and
// movements, and malformed ones.
func fuzzPath(pattern string, pick uint16) string {
	choose := func(opts ...string) string {
		v := opts[int(pick)%len(opts)]
		pick /= uint16(len(opts))
		return url.PathEscape(v)
	}
	r := strings.NewReplacer(
		"{program}", choose("loyalty", "e12-catalog", "e4-redemption-limits", "nope"),
		"{customer}", choose("web:1", "card:0420001234", "web:2", "bad"),
		"{catalog}", choose("y2026", "first-half-2026", "x"),
		"{prize}", choose("mug", "bag", "prize"),
		"{order}", choose("W1", "W2", " W3", strings.Repeat("o", 129)),
		"{movement}", choose("1", "2", "999", "x"),
	)
	return r.Replace(pattern)
}

// FuzzAPIBody sends any body to every route that reads one, with the
// token it needs, on known and unknown programs, customers, prizes and
// orders: the server never fails (no 5xx, no panic) and every answer is
// JSON, an error with its code and message, and a 400 on a well-formed
// JSON object names the field at fault or says why the whole body is
// refused.
func FuzzAPIBody(f *testing.F) {
	for i, b := range []string{
		`{"customer":"web:1","cart":{"lines":[{"product":"A","price":"12.99","quantity":"0.250"}],"shipping":"5.00","discount":"1.00"}}`,
		`{"key":"k1","card_type":"GOLD"}`,
		`{"order":"W1","customer":"web:1","points":100}`,
		`{}`,
		`{"order":"W1","customer":"web:1","points":100}`,
		`{"points":150,"expires":"2026-12-31","note":"gift","key":"a1","create_customer":true}`,
		`{"points":-5,"note":"fix","key":"c1"}`,
		`{"note":"reset","key":"r1"}`,
		`{"confirm":"loyalty","key":"r2"}`,
		`{"date":"2026-12-31","customer":"web:1","include_no_expiry":true,"key":"e1"}`,
		"customer;points;expiry;note\r\nweb:1;10;31/12/2026;ok\r\nweb:9;x;;\r\n",
	} {
		f.Add(uint8(i), uint16(0), []byte(b))
		f.Add(uint8(i), uint16(i*37+5), []byte(b))
		f.Add(uint8(i), uint16(i), []byte(`{}`))
	}
	f.Add(uint8(0), uint16(1), []byte(`{"cart":{"lines":[{"price":92233720368547758.07,"quantity":"1000000000"}]}}`))
	f.Add(uint8(2), uint16(2), []byte(`{"order":"W9","customer":"card:0420001234","points":9223372036854775807}`))
	f.Add(uint8(5), uint16(3), []byte(`{"points":9223372036854775807,"expires":"9999-12-31"}`))
	f.Add(uint8(0), uint16(0), []byte(`{"cart":{"discount":"1"}}`))
	f.Add(uint8(0), uint16(0), []byte(`{"cart":{"lines":[{"total":"92233720368547758.07"},{"total":"1"}],"shipping":"1"}}`))
	f.Add(uint8(0), uint16(0), []byte(`{"cart":{"lines":[{"total":"92233720368547758.07"}],"shipping":"1"}}`))
	f.Add(uint8(9), uint16(0), []byte(`{"date":""}`))
	f.Add(uint8(9), uint16(0), []byte(`{"date":"9999-12-31"}`))
	f.Add(uint8(9), uint16(4), []byte(`{"date":"2026-02-30","customer":"bad"} {}`))
	h, l := fuzzHandler(f)
	// web:1 has points in every program, so spending routes get past the
	// balance.
	err := l.Update(context.Background(), func(tx *ledger.Tx) error {
		if _, _, err := tx.EnsureCustomer("web:1"); err != nil {
			return err
		}
		for _, p := range []string{"loyalty", "e12-catalog", "e4-redemption-limits"} {
			if _, err := tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: p, Customer: "web:1"},
				Meta: ledger.Meta{Source: ledger.SourceAdmin, Key: "fuzz-seed:" + p, Reason: "test"}, Amount: 1_000_000}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, route uint8, pick uint16, body []byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		path := fuzzPath(rt.path, pick)
		req := httptest.NewRequest(rt.method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+rt.token)
		req.Header.Set("Content-Type", rt.contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode >= 500 || res.StatusCode < 200 || res.StatusCode >= 300 && res.StatusCode < 400 {
			t.Fatalf("%s %s with %q: %d %s", rt.method, path, body, res.StatusCode, rec.Body.Bytes())
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %s with %q: %d answered as %q", rt.method, path, body, res.StatusCode, ct)
		}
		if res.StatusCode < 300 {
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s with %q: %d with a body that is not JSON: %q", rt.method, path, body, res.StatusCode, rec.Body.Bytes())
			}
			return
		}
		var e errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s with %q: %d with error body %q (%v)", rt.method, path, body, res.StatusCode, rec.Body.Bytes(), err)
		}
		// A well-formed object refused as bad input names its field,
		// unless the refusal is about the body as a whole.
		var obj map[string]json.RawMessage
		if res.StatusCode == http.StatusBadRequest && e.Error.Code == CodeBadRequest && e.Error.Field == "" &&
			rt.contentType == "application/json" && json.Unmarshal(body, &obj) == nil {
			t.Fatalf("%s %s with %q: 400 without the field at fault: %s", rt.method, path, body, e.Error.Message)
		}
	})
}
