package httpjson

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pointsync/pointsync/connectors"
)

// received is one request a test server got.
type received struct {
	method string
	header http.Header
	body   []byte
}

// recorder is a push receiver that keeps what it got and answers with
// the statuses it is given, then 204.
type recorder struct {
	mu       sync.Mutex
	got      []received
	statuses []int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, received{method: r.Method, header: r.Header.Clone(), body: b})
	status := http.StatusNoContent
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *recorder) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func balances(n int) []connectors.Balance {
	out := make([]connectors.Balance, n)
	for i := range out {
		out[i] = connectors.Balance{
			Program: "shop", Customer: "web:" + string(rune('a'+i)),
			Identifiers: []string{"web:" + string(rune('a'+i))},
			Earned:      int64(100 * (i + 1)),
		}
	}
	return out
}

func TestSinkChunks(t *testing.T) {
	tests := []struct {
		name   string
		items  int
		batch  int
		chunks []int // items per request
	}{
		{"none", 0, 2, nil},
		{"one chunk", 2, 2, []int{2}},
		{"remainder", 5, 2, []int{2, 2, 1}},
		{"default batch", 3, 0, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{}
			srv := newServer(t, rc)
			s, err := NewSink(PushOptions{Name: "shop", URL: srv.URL + "/balances", BatchSize: tt.batch, Method: "put"})
			if err != nil {
				t.Fatal(err)
			}
			items := balances(tt.items)
			if err := s.Write(context.Background(), items); err != nil {
				t.Fatal(err)
			}
			got := rc.requests()
			if len(got) != len(tt.chunks) {
				t.Fatalf("%d requests, want %d", len(got), len(tt.chunks))
			}
			next := 0
			for i, r := range got {
				if r.method != http.MethodPut {
					t.Errorf("request %d: method %s, want PUT", i, r.method)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("request %d: Content-Type %q", i, ct)
				}
				var body struct {
					Balances []connectors.Balance `json:"balances"`
				}
				dec := json.NewDecoder(strings.NewReader(string(r.body)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&body); err != nil {
					t.Fatalf("request %d: %v: %s", i, err, r.body)
				}
				if len(body.Balances) != tt.chunks[i] {
					t.Errorf("request %d: %d balances, want %d", i, len(body.Balances), tt.chunks[i])
				}
				for _, b := range body.Balances {
					if b.Customer != items[next].Customer || b.Earned != items[next].Earned {
						t.Errorf("request %d: got %+v, want %+v", i, b, items[next])
					}
					next++
				}
			}
		})
	}
}

func TestSinkBalanceJSON(t *testing.T) {
	rc := &recorder{}
	srv := newServer(t, rc)
	s, err := NewSink(PushOptions{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	b := connectors.Balance{Program: "card", Customer: "card:0420001234", Earned: 1273, Spent: 5}
	if err := s.Write(context.Background(), []connectors.Balance{b}); err != nil {
		t.Fatal(err)
	}
	want := `{"balances":[{"program":"card","customer":"card:0420001234","identifiers":[],"earned":1273,"provisional":0,"spent":5,"expired":0,"expiring":[]}]}`
	if got := string(rc.requests()[0].body); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if m := rc.requests()[0].method; m != http.MethodPost {
		t.Errorf("method %s, want the default POST", m)
	}
}

func TestSinkMovements(t *testing.T) {
	rc := &recorder{}
	srv := newServer(t, rc)
	s, err := NewSink(PushOptions{URL: srv.URL, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	mv := []Movement{
		{ID: 7, Program: "shop", Customer: "web:anna", Kind: "credit", State: "pending", Source: "web", Key: "order:W1", Document: "W1", Points: 120, At: at, RecordedAt: at.Add(time.Minute)},
		{ID: 8, Program: "shop", Customer: "web:anna", Kind: "post", State: "posted", Source: "erp", Key: "doc:FT/1", Note: "n", Points: 0, At: at, RecordedAt: at},
	}
	if err := s.WriteMovements(context.Background(), mv); err != nil {
		t.Fatal(err)
	}
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	want := `{"movements":[{"id":7,"program":"shop","customer":"web:anna","kind":"credit","state":"pending","source":"web","key":"order:W1","document":"W1","note":"","points":120,"at":"2026-03-02T09:00:00Z","recorded_at":"2026-03-02T09:01:00Z"}]}`
	if string(got[0].body) != want {
		t.Errorf("body\n got %s\nwant %s", got[0].body, want)
	}
}

func TestSinkIdempotencyKeyAndSignature(t *testing.T) {
	const secret = "s3cret"
	rc := &recorder{}
	srv := newServer(t, rc)
	s, err := NewSink(PushOptions{URL: srv.URL, HMACSecret: secret, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	items := balances(3)
	for range 2 {
		if err := s.Write(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	got := rc.requests()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4", len(got))
	}
	for i, r := range got {
		sum := sha256.Sum256(r.body)
		if k := r.header.Get(HeaderIdempotencyKey); k != hex.EncodeToString(sum[:]) {
			t.Errorf("request %d: Idempotency-Key %q is not the sha256 of the body", i, k)
		}
		// What a receiver does: recompute and compare in constant time.
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(r.body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		if sig := r.header.Get(HeaderSignature); !hmac.Equal([]byte(sig), []byte(want)) {
			t.Errorf("request %d: signature %q, want %q", i, sig, want)
		}
	}
	if got[0].header.Get(HeaderIdempotencyKey) != got[2].header.Get(HeaderIdempotencyKey) ||
		got[1].header.Get(HeaderIdempotencyKey) != got[3].header.Get(HeaderIdempotencyKey) {
		t.Error("the same items were sent under another Idempotency-Key")
	}
	if got[0].header.Get(HeaderIdempotencyKey) == got[1].header.Get(HeaderIdempotencyKey) {
		t.Error("two different chunks share an Idempotency-Key")
	}

	// Without a secret there is no signature.
	rc2 := &recorder{}
	srv2 := newServer(t, rc2)
	s2, err := NewSink(PushOptions{URL: srv2.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Write(ctx, items[:1]); err != nil {
		t.Fatal(err)
	}
	if sig := rc2.requests()[0].header.Get(HeaderSignature); sig != "" {
		t.Errorf("unsigned sink sent signature %q", sig)
	}
}

func TestSinkRetriesWithSameKey(t *testing.T) {
	rc := &recorder{statuses: []int{http.StatusBadGateway, http.StatusServiceUnavailable}}
	srv := newServer(t, rc)
	s, err := NewSink(PushOptions{URL: srv.URL, Backoff: time.Millisecond, Retries: 2, BearerToken: "tok", Headers: map[string]string{"X-Shop": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), balances(1)); err != nil {
		t.Fatal(err)
	}
	got := rc.requests()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3 (two failures, then success)", len(got))
	}
	for i, r := range got {
		if k := r.header.Get(HeaderIdempotencyKey); k != got[0].header.Get(HeaderIdempotencyKey) {
			t.Errorf("attempt %d: Idempotency-Key %q changed", i, k)
		}
		if a := r.header.Get("Authorization"); a != "Bearer tok" {
			t.Errorf("attempt %d: Authorization %q", i, a)
		}
		if x := r.header.Get("X-Shop"); x != "1" {
			t.Errorf("attempt %d: X-Shop %q", i, x)
		}
		if string(r.body) != string(got[0].body) {
			t.Errorf("attempt %d: body changed", i)
		}
	}
}

func TestSinkFailureNamesChunk(t *testing.T) {
	rc := &recorder{statuses: []int{http.StatusOK, http.StatusUnprocessableEntity}}
	srv := newServer(t, rc)
	s, err := NewSink(PushOptions{Name: "shop", URL: srv.URL, BatchSize: 2, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(context.Background(), balances(5))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnprocessableEntity {
		t.Fatalf("err = %v, want a 422 StatusError", err)
	}
	if !strings.Contains(err.Error(), "balances 3 to 4 of 5") {
		t.Errorf("error %q does not name the failed chunk", err)
	}
	if n := len(rc.requests()); n != 2 {
		t.Errorf("%d requests, want 2: a 422 is not retried and the last chunk is not sent", n)
	}
}

func TestSinkIgnoresLargeSuccessBody(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(strings.Repeat("x", 1<<20)))
	}))
	s, err := NewSink(PushOptions{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), balances(1)); err != nil {
		t.Errorf("a 200 with a large body failed the write: %v", err)
	}
}

func TestNewSinkRefuses(t *testing.T) {
	tests := []struct {
		name string
		o    PushOptions
		want string
	}{
		{"no url", PushOptions{}, "url is empty"},
		{"relative url", PushOptions{URL: "/balances"}, "not an absolute"},
		{"ftp", PushOptions{URL: "ftp://x/y"}, "not an absolute"},
		{"method", PushOptions{URL: "http://x", Method: "GET"}, `method "GET"`},
		{"batch", PushOptions{URL: "http://x", BatchSize: -1}, "batch size -1"},
		{"own header", PushOptions{URL: "http://x", Headers: map[string]string{"idempotency-key": "k"}}, "set by pointsync"},
		{"bearer twice", PushOptions{URL: "http://x", BearerToken: "t", Headers: map[string]string{"Authorization": "Basic x"}}, "keep one"},
		{"bad header name", PushOptions{URL: "http://x", Headers: map[string]string{"X Y": "v"}}, "not a valid header name"},
		{"header value", PushOptions{URL: "http://x", Headers: map[string]string{"X-Key": "secret\r\nX-Evil: 1"}}, "line break"},
		{"header twice", PushOptions{URL: "http://x", Headers: map[string]string{"x-shop": "1", "X-Shop": "2"}}, "given twice"},
		{"retries", PushOptions{URL: "http://x", Retries: -2}, "retries -2"},
		{"timeout", PushOptions{URL: "http://x", Timeout: -time.Second}, "timeout -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSink(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows a header value", err)
			}
		})
	}
}

// A 302 would turn the POST into a GET whose 200 passes for a push that
// never happened.
func TestSinkRefusesRedirects(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new?token=SECRET", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	for _, client := range []*http.Client{nil, {}} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		s, err := NewSink(PushOptions{URL: srv.URL + "/old", Client: client, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Write(context.Background(), balances(1))
		var se *StatusError
		if !errors.As(err, &se) || se.Code != http.StatusFound || !strings.Contains(err.Error(), "redirected to "+srv.URL+"/new") {
			t.Fatalf("client %v: err = %v, want the 302 named with its target", client, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("the redirect's query leaked: %v", err)
		}
		mu.Lock()
		if len(seen) != 1 || seen[0] != "POST /old" {
			t.Errorf("client %v: requests %v, want only POST /old", client, seen)
		}
		mu.Unlock()
	}
}
