package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/daemon"
	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/ledger"
)

// Tokens of the test server, one per scope.
const (
	tokRead   = "read-token-0123456789abcdef"
	tokRedeem = "redeem-token-0123456789abcdef"
	tokAdmin  = "admin-token-0123456789abcdef"
)

// testServer is a real server on 127.0.0.1 over a SQLite ledger.
type testServer struct {
	t      *testing.T
	cfg    *configs.Config
	ledger *ledger.Ledger
	srv    *Server
	URL    string // http://127.0.0.1:port
	now    time.Time
	clock  func() time.Time
}

type testOption func(*testConfig)

type testConfig struct {
	yaml   func(string) string // edits the configuration text
	now    time.Time
	active func() bool
	mysql  bool // the ledger on MySQL (testdb) instead of SQLite
}

// withYAML edits the test configuration before it is loaded.
func withYAML(edit func(string) string) testOption {
	return func(c *testConfig) { c.yaml = edit }
}

// withNow fixes the clock of the ledger and the server.
func withNow(t time.Time) testOption { return func(c *testConfig) { c.now = t } }

// withActive sets what the server believes about holding the ledger.
func withActive(f func() bool) testOption { return func(c *testConfig) { c.active = f } }

// newTestServer starts a server on 127.0.0.1 with testdata/server.yaml.
func newTestServer(t *testing.T, opts ...testOption) *testServer {
	t.Helper()
	tc := testConfig{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	for _, o := range opts {
		o(&tc)
	}
	dir := t.TempDir()
	raw, err := os.ReadFile("testdata/server.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("TOKEN_READ", HashToken(tokRead), "TOKEN_REDEEM", HashToken(tokRedeem),
		"TOKEN_ADMIN", HashToken(tokAdmin)).Replace(string(raw))
	if tc.yaml != nil {
		text = tc.yaml(text)
	}
	path := filepath.Join(dir, "pointsync.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, cfg: cfg, now: tc.now}
	ts.clock = func() time.Time { return ts.now }
	progs, err := cfg.RulesPrograms()
	if err != nil {
		t.Fatal(err)
	}
	var lp []ledger.Program
	for _, p := range progs {
		lp = append(lp, ledger.Program{ID: p.ID, Location: p.Location})
	}
	ctx := context.Background()
	lo := ledger.Options{Path: cfg.Ledger.Path, Programs: lp, Clock: ts.clock}
	if tc.mysql {
		lo = ledger.Options{Backend: ledger.BackendMySQL, DSN: testdb.MySQL(t), Programs: lp, Clock: ts.clock}
	}
	l, err := ledger.Open(ctx, lo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ts.ledger = l
	eng, err := daemon.Engine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Config: cfg, Ledger: l, Engine: eng, Logger: zaptest.NewLogger(t), Clock: ts.clock, Active: tc.active})
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = s
	l.OnCommit(s.ObserveCommit)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with: %v", err)
		}
	})
	ts.URL = "http://" + ln.Addr().String()
	return ts
}

// response is an answer read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.Status, err, r.Body)
	}
}

// ErrorCode is the code of a JSON error answer ("" when there is none).
func (r response) ErrorCode() string {
	var e errorBody
	if json.Unmarshal(r.Body, &e) != nil || e.Error == nil {
		return ""
	}
	return e.Error.Code
}

// do sends a request with token (none when empty) and body (a string or
// []byte is sent as is, anything else as JSON).
func (ts *testServer) do(method, path, token string, body any) response {
	ts.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case []byte:
		rd, ct = strings.NewReader(string(b)), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd, ct = strings.NewReader(string(data)), "application/json"
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
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

// credit gives a customer posted points directly in the ledger.
func (ts *testServer) credit(program, customer string, points int64) {
	ts.t.Helper()
	err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		if _, _, err := tx.EnsureCustomer(ledger.Ident(customer)); err != nil {
			return err
		}
		_, err := tx.Credit(ledger.CreditRequest{
			Account: ledger.Account{Program: program, Customer: ledger.Ident(customer)},
			Meta:    ledger.Meta{Source: ledger.SourceAdmin, Key: "test-credit:" + customer + ":" + time.Now().String(), Reason: "test"},
			Amount:  points,
		})
		return err
	})
	if err != nil {
		ts.t.Fatal(err)
	}
}

// withMySQL puts the ledger on the MySQL/MariaDB test database of
// internal/testdb (the test is skipped when POINTSYNC_TEST_MYSQL_DSN is
// not set).
func withMySQL() testOption { return func(c *testConfig) { c.mysql = true } }

// TestMain drops the MySQL test database the tests made, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	testdb.Drop()
	os.Exit(code)
}
