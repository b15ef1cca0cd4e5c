package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/connectors/httpjson"
	"github.com/pointsync/pointsync/ledger"
)

// newServer serves h on 127.0.0.1 until the test ends.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// shop is a web shop: it serves facts pages by cursor and receives
// balance and movement pushes.
type shop struct {
	t     *testing.T
	mu    sync.Mutex
	pages map[string]page // by cursor; "" is the first page
	// refuse, when set, makes the receivers answer 500 to the nth push
	// (from 1).
	refuse func(n int) bool
	n      int
	pushes []push
}

type page struct {
	Items []json.RawMessage `json:"items"`
	Next  string            `json:"next"`
}

// push is one request a receiver got.
type push struct {
	Path, Key string
	Status    int
	Balances  []connectors.Balance
	Movements []httpjson.Movement
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/facts":
		p, ok := s.pages[r.URL.Query().Get("cursor")]
		if !ok {
			http.Error(w, "unknown cursor", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p)
	case "/balances", "/movements":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		if key := r.Header.Get(httpjson.HeaderIdempotencyKey); key != hex.EncodeToString(sum[:]) {
			s.t.Errorf("Idempotency-Key %q is not the SHA-256 of the body", key)
		}
		var in struct {
			Balances  []connectors.Balance `json:"balances"`
			Movements []httpjson.Movement  `json:"movements"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			s.t.Errorf("push body %s: %v", body, err)
		}
		p := push{Path: r.URL.Path, Key: r.Header.Get(httpjson.HeaderIdempotencyKey), Status: http.StatusOK,
			Balances: in.Balances, Movements: in.Movements}
		s.n++
		if s.refuse != nil && s.refuse(s.n) {
			p.Status = http.StatusInternalServerError
		}
		s.pushes = append(s.pushes, p)
		w.WriteHeader(p.Status)
	default:
		http.NotFound(w, r)
	}
}

// setPage sets the page served for a cursor.
func (s *shop) setPage(cursor, next string, facts ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := page{Next: next, Items: []json.RawMessage{}}
	for _, f := range facts {
		p.Items = append(p.Items, json.RawMessage(f))
	}
	s.pages[cursor] = p
}

func (s *shop) setRefuse(f func(n int) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse, s.n = f, 0
}

// taken returns the pushes received since the last call.
func (s *shop) taken() []push {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pushes
	s.pushes = nil
	return out
}

func newShop(t *testing.T) (*shop, string) {
	s := &shop{t: t, pages: map[string]page{}}
	return s, newServer(t, s).URL
}

// pushedBalances is every balance of the successful pushes to path, by
// customer.
func pushedBalances(pushes []push, path string) map[string]connectors.Balance {
	out := map[string]connectors.Balance{}
	for _, p := range pushes {
		if p.Path == path && p.Status == http.StatusOK {
			for _, b := range p.Balances {
				out[b.Customer] = b
			}
		}
	}
	return out
}

func pushedMovements(pushes []push) []httpjson.Movement {
	var out []httpjson.Movement
	for _, p := range pushes {
		if p.Path == "/movements" && p.Status == http.StatusOK {
			out = append(out, p.Movements...)
		}
	}
	return out
}

// TestHTTPPullAndPush: web orders pulled page by page from the shop's
// webservice become points; the balances of the customers that changed
// and the new movements are pushed back, each once.
func TestHTTPPullAndPush(t *testing.T) {
	sh, url := newShop(t)
	e := newEnv(t, fmt.Sprintf(`daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}
connectors:
  - name: shop-api
    kind: http_pull
    program: shop
    http: {url: "%[1]s/facts", retries: 0, timeout: 5s}
exports:
  - name: shop-balances
    kind: http_push
    program: shop
    http: {url: "%[1]s/balances", retries: 0, timeout: 5s, batch_size: 1}
  - name: shop-movements
    kind: http_push
    program: shop
    what: movements
    http: {url: "%[1]s/movements", retries: 0, timeout: 5s}
`, url))
	sh.setPage("", "p2", linkAnna, linkBea)
	sh.setPage("p2", "p3", order("W1", "web:anna", 120), order("W2", "web:bea", 50))
	sh.setPage("p3", "p3")
	d := e.daemon()

	reports, err := once(t, d)
	if err != nil {
		t.Fatalf("Once: %v %+v", err, reports)
	}
	if r := reports["shop-api"]; r.Rows != 4 {
		t.Fatalf("pull report %+v", r)
	}
	if a, b := e.earned("shop", "web:anna"), e.earned("shop", "web:bea"); a != 120 || b != 50 {
		t.Fatalf("anna %d, bea %d", a, b)
	}
	if c := e.cursor("shop-api"); c != "p3" {
		t.Fatalf("pull cursor %q", c)
	}
	pushes := sh.taken()
	bal := pushedBalances(pushes, "/balances")
	if len(bal) != 2 || bal["web:anna"].Earned != 120 || bal["web:bea"].Earned != 50 ||
		!slices.Equal(bal["web:anna"].Identifiers, []string{"web:anna"}) || bal["web:anna"].Program != "shop" {
		t.Fatalf("pushed balances %+v", bal)
	}
	if r := reports["shop-balances"]; r.Rows != 2 {
		t.Fatalf("balances report %+v", r)
	}
	mv := pushedMovements(pushes)
	if len(mv) != 2 || mv[0].Customer != "web:anna" || mv[0].Points != 120 || mv[1].Customer != "web:bea" || mv[1].Points != 50 ||
		mv[0].ID >= mv[1].ID || mv[0].Program != "shop" {
		t.Fatalf("pushed movements %+v", mv)
	}
	if c := e.cursor("export:shop-movements"); c != strconv.FormatInt(mv[1].ID, 10) {
		t.Fatalf("movements cursor %q, want the last id pushed %d", c, mv[1].ID)
	}

	// Nothing changed: nothing is pushed.
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	if p := sh.taken(); len(p) != 0 {
		t.Fatalf("a second run pushed %+v", p)
	}

	// A new order of anna's: only her balance goes, and the one movement.
	sh.setPage("p3", "p4", order("W3", "web:anna", 30))
	sh.setPage("p4", "p4")
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	pushes = sh.taken()
	bal = pushedBalances(pushes, "/balances")
	if len(bal) != 1 || bal["web:anna"].Earned != 150 {
		t.Fatalf("pushed after anna's new order: %+v", bal)
	}
	if mv := pushedMovements(pushes); len(mv) != 1 || mv[0].Points != 30 || mv[0].Customer != "web:anna" {
		t.Fatalf("movements pushed after anna's new order: %+v", mv)
	}
}

// TestHTTPPushFailureKeepsTheCursor: a receiver answering 500 fails the
// export job and the cursor stays before the page it refused (pages are
// batch_size customers); the next run sends that page again, with the
// same Idempotency-Key, and only then moves on.
func TestHTTPPushFailureKeepsTheCursor(t *testing.T) {
	sh, url := newShop(t)
	e := newEnv(t, fmt.Sprintf(`daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}
exports:
  - name: shop-balances
    kind: http_push
    program: shop
    http: {url: "%s/balances", retries: 0, timeout: 5s, batch_size: 1}
`, url))
	e.apply(linkAnna, linkBea, order("W1", "web:anna", 120), order("W2", "web:bea", 50))
	last, err := e.l.LastMovementID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := e.daemon()
	// anna's page is taken, bea's refused.
	sh.setRefuse(func(n int) bool { return n == 2 })
	reports, err := once(t, d)
	if err == nil || !strings.Contains(err.Error(), "1 job(s) failed") || reports["shop-balances"].Err == nil {
		t.Fatalf("Once: %v %+v", err, reports["shop-balances"])
	}
	if !strings.Contains(reports["shop-balances"].Err.Error(), "500") {
		t.Errorf("the error does not say what the receiver answered: %v", reports["shop-balances"].Err)
	}
	failed := sh.taken()
	if len(failed) != 2 || failed[0].Status != 200 || failed[1].Status != 500 ||
		len(failed[1].Balances) != 1 || failed[1].Balances[0].Customer != "web:bea" {
		t.Fatalf("first run: %+v", failed)
	}
	mid, err := strconv.ParseInt(e.cursor("export:shop-balances"), 10, 64)
	if err != nil || mid <= 0 || mid >= last {
		t.Fatalf("cursor %d (%v) after the refused page: want past anna's page, before the last movement %d", mid, err, last)
	}
	if s := e.status("shop-balances"); s.Failures != 1 || s.Rows != 1 {
		t.Fatalf("status %+v", s)
	}

	sh.setRefuse(nil)
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	again := sh.taken()
	if len(again) != 1 || again[0].Key != failed[1].Key || again[0].Status != 200 {
		t.Fatalf("after the failure: %+v, want bea's page again as %+v", again, failed[1])
	}
	if c := e.cursor("export:shop-balances"); c != strconv.FormatInt(last, 10) {
		t.Fatalf("cursor %q, want %d", c, last)
	}
	if s := e.status("shop-balances"); s.Failures != 0 || s.Rows != 1 {
		t.Fatalf("status %+v", s)
	}
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	if p := sh.taken(); len(p) != 0 {
		t.Fatalf("pushed again after success: %+v", p)
	}
}

// TestHTTPPushMovementsFailure: a refused push of movements leaves the
// cursor where it was; the next run sends the same body.
func TestHTTPPushMovementsFailure(t *testing.T) {
	sh, url := newShop(t)
	e := newEnv(t, fmt.Sprintf(`daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}
exports:
  - name: shop-movements
    kind: http_push
    program: shop
    what: movements
    http: {url: "%s/movements", retries: 0, timeout: 5s}
`, url))
	e.apply(linkAnna, order("W1", "web:anna", 120))
	d := e.daemon()
	sh.setRefuse(func(int) bool { return true })
	if _, err := once(t, d); err == nil {
		t.Fatal("a refused push succeeded")
	}
	if c := e.cursor("export:shop-movements"); c != "" {
		t.Fatalf("cursor %q after a refused push", c)
	}
	failed := sh.taken()
	sh.setRefuse(nil)
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	again := sh.taken()
	if len(failed) != 1 || len(again) != 1 || again[0].Key != failed[0].Key || len(again[0].Movements) != 1 {
		t.Fatalf("refused %+v, then %+v", failed, again)
	}
	if c := e.cursor("export:shop-movements"); c != strconv.FormatInt(again[0].Movements[0].ID, 10) {
		t.Fatalf("cursor %q", c)
	}
}

// TestHTTPPushBadStoredCursor: a push cursor that is not a movement id
// (edited by hand) fails the job and pushes nothing.
func TestHTTPPushBadStoredCursor(t *testing.T) {
	sh, url := newShop(t)
	e := newEnv(t, fmt.Sprintf(`daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}
exports:
  - name: shop-balances
    kind: http_push
    program: shop
    http: {url: "%s/balances", retries: 0}
`, url))
	e.apply(linkAnna, order("W1", "web:anna", 120))
	if err := e.l.Update(context.Background(), func(tx *ledger.Tx) error { return tx.SetCursor("export:shop-balances", "abc") }); err != nil {
		t.Fatal(err)
	}
	reports, err := once(t, e.daemon())
	if err == nil || !strings.Contains(reports["shop-balances"].Err.Error(), `"abc" is not a movement id`) {
		t.Fatalf("Once: %v %+v", err, reports["shop-balances"])
	}
	if p := sh.taken(); len(p) != 0 {
		t.Fatalf("pushed %+v", p)
	}
}
