package httpjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/mapping"
)

// action is a valid fact in its JSON form; program "" leaves it out.
func action(program, customer string) string {
	p := ""
	if program != "" {
		p = fmt.Sprintf(`"program":%q,`, program)
	}
	return fmt.Sprintf(`{"type":"action",%s"action":{"customer":%q,"kind":"newsletter","at":"2026-03-02T09:05:00+01:00"}}`, p, customer)
}

// pager serves pages by cursor and keeps the queries it was asked.
type pager struct {
	mu      sync.Mutex
	pages   map[string]string // cursor -> response body
	queries []url.Values
	headers []http.Header
}

func (p *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.queries = append(p.queries, r.URL.Query())
	p.headers = append(p.headers, r.Header.Clone())
	body, ok := p.pages[r.URL.Query().Get("cursor")]
	p.mu.Unlock()
	if !ok {
		http.Error(w, "unknown cursor", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}

func (p *pager) seen() ([]url.Values, []http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.queries...), append([]http.Header(nil), p.headers...)
}

func TestFetchPagesToTheEnd(t *testing.T) {
	pg := &pager{pages: map[string]string{
		"":   `{"items":[` + action("shop", "web:1") + `,` + action("", "web:2") + `],"next":"c1"}`,
		"c1": `{"items":[` + action("shop", "web:3") + `],"next":"c2","total":4}`,
		"c2": `{"items":[` + action("other", "web:4") + `],"next":"c3"}`,
		"c3": `{"items":[]}`,
	}}
	srv := newServer(t, pg)
	s, err := NewSource(PullOptions{
		Name: "shop", URL: srv.URL + "/facts?shop=7", Program: "shop",
		BearerToken: "tok", Headers: map[string]string{"X-Api-Key": "k1", "x-tenant": "t"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var customers, programs []string
	cursor := connectors.Cursor("")
	var cursors []connectors.Cursor
	for range 10 {
		b, err := s.Fetch(ctx, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range b.Items {
			if it.Fact == nil {
				t.Fatalf("cursor %q item %d: %v", cursor, i+1, it.Err)
			}
			if it.Seq != int64(i+1) {
				t.Errorf("cursor %q item %d: Seq %d", cursor, i+1, it.Seq)
			}
			wantOrigin := srv.URL + "/facts"
			if cursor != "" {
				wantOrigin += "#" + string(cursor)
			}
			if it.Origin != wantOrigin || it.Line != 0 {
				t.Errorf("item origin %q line %d, want %q line 0", it.Origin, it.Line, wantOrigin)
			}
			customers = append(customers, it.Fact.Action.Customer)
			programs = append(programs, it.Fact.Program)
		}
		cursor = b.Next
		cursors = append(cursors, b.Next)
		if !b.More {
			break
		}
	}
	if got, want := strings.Join(customers, " "), "web:1 web:2 web:3 web:4"; got != want {
		t.Errorf("customers %q, want %q", got, want)
	}
	if got, want := strings.Join(programs, " "), "shop shop shop other"; got != want {
		t.Errorf("programs %q, want %q (a fact's own program stands, the default fills the others)", got, want)
	}
	if got, want := fmt.Sprint(cursors), "[c1 c2 c3 c3]"; got != want {
		t.Errorf("cursors %s, want %s", got, want)
	}
	queries, headers := pg.seen()
	if len(queries) != 4 {
		t.Fatalf("%d requests, want 4", len(queries))
	}
	for i, q := range queries {
		want := url.Values{"limit": {"2"}, "shop": {"7"}}
		if i > 0 {
			want.Set("cursor", fmt.Sprintf("c%d", i))
		}
		if q.Encode() != want.Encode() {
			t.Errorf("request %d: query %s, want %s", i, q.Encode(), want.Encode())
		}
		h := headers[i]
		if h.Get("Authorization") != "Bearer tok" || h.Get("X-Api-Key") != "k1" || h.Get("X-Tenant") != "t" {
			t.Errorf("request %d: headers %v", i, h)
		}
		if h.Get("Accept") != "application/json" {
			t.Errorf("request %d: Accept %q", i, h.Get("Accept"))
		}
	}
}

func TestFetchNextAndMore(t *testing.T) {
	one := `[` + action("shop", "web:1") + `]`
	tests := []struct {
		name  string
		after connectors.Cursor
		body  string
		next  connectors.Cursor
		more  bool
	}{
		{"next moves on", "c1", `{"items":` + one + `,"next":"c2"}`, "c2", true},
		{"no next", "c1", `{"items":` + one + `}`, "c1", false},
		{"empty next", "c1", `{"items":` + one + `,"next":""}`, "c1", false},
		{"null next", "c1", `{"items":` + one + `,"next":null}`, "c1", false},
		{"same next", "c1", `{"items":` + one + `,"next":"c1"}`, "c1", false},
		{"empty page moves the cursor", "c1", `{"items":[],"next":"c2"}`, "c2", false},
		{"null items", "c1", `{"items":null,"next":"c1"}`, "c1", false},
		{"numeric next", "", `{"items":` + one + `,"next":1234}`, "1234", true},
		{"from the start without next", "", `{"items":` + one + `}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(tt.body))
			}))
			s, err := NewSource(PullOptions{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Fetch(context.Background(), tt.after, 10)
			if err != nil {
				t.Fatal(err)
			}
			if b.Next != tt.next || b.More != tt.more {
				t.Errorf("Next %q More %v, want %q %v", b.Next, b.More, tt.next, tt.more)
			}
		})
	}
}

func TestFetchCustomFieldsAndParams(t *testing.T) {
	var (
		mu  sync.Mutex
		got url.Values
	)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.URL.Query()
		mu.Unlock()
		_, _ = w.Write([]byte(`{"data":{"x":1},"facts":[` + action("shop", "web:1") + `],"after":"z9"}`))
	}))
	s, err := NewSource(PullOptions{URL: srv.URL, CursorParam: "since", LimitParam: "page_size", ItemsField: "facts", NextField: "after"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Fetch(context.Background(), "z1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != 1 || b.Items[0].Fact == nil || b.Next != "z9" || !b.More {
		t.Errorf("batch %+v", b)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Encode() != "since=z1" {
		t.Errorf("query %q, want since=z1 (no page size when the limit is 0)", got.Encode())
	}
}

// flaky answers with the statuses it is given (with their Retry-After),
// then with a page of one fact.
type flaky struct {
	mu    sync.Mutex
	steps []step
	times []time.Time
}

type step struct {
	status     int
	retryAfter string
	body       string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.times = append(f.times, time.Now())
	var st step
	if len(f.steps) > 0 {
		st, f.steps = f.steps[0], f.steps[1:]
	}
	f.mu.Unlock()
	if st.status == 0 {
		_, _ = w.Write([]byte(`{"items":[` + action("shop", "web:1") + `],"next":"n"}`))
		return
	}
	if st.retryAfter != "" {
		w.Header().Set("Retry-After", st.retryAfter)
	}
	w.WriteHeader(st.status)
	_, _ = w.Write([]byte(st.body))
}

func (f *flaky) calls() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times...)
}

func TestFetchRetries(t *testing.T) {
	tests := []struct {
		name    string
		steps   []step
		retries int
		calls   int
		err     string // "" for success
		code    int
		minGap  time.Duration // least wait between the first two calls
	}{
		{name: "500 then success", steps: []step{{status: 500}, {status: 502}}, retries: 3, calls: 3},
		{name: "429 honours Retry-After", steps: []step{{status: 429, retryAfter: "1"}}, retries: 3, calls: 2, minGap: 150 * time.Millisecond},
		{name: "503 honours Retry-After", steps: []step{{status: 503, retryAfter: "5"}}, retries: 3, calls: 2, minGap: 150 * time.Millisecond},
		{name: "408 is retried", steps: []step{{status: 408}}, retries: 1, calls: 2},
		{name: "400 is not retried", steps: []step{{status: 400, body: `{"error":"bad cursor"}`}}, retries: 3, calls: 1,
			err: `HTTP 400 Bad Request: "{\"error\":\"bad cursor\"}"`, code: 400},
		{name: "401 is not retried", steps: []step{{status: 401}}, retries: 3, calls: 1, err: "check the bearer token", code: 401},
		{name: "gives up with the last error", steps: []step{{status: 500, body: "first"}, {status: 503, body: "second"}, {status: 500, body: "third"}},
			retries: 2, calls: 3, err: `giving up after 3 attempts: GET`, code: 500},
		{name: "no retries", steps: []step{{status: 500, body: "only"}}, retries: NoRetries, calls: 1, err: `HTTP 500 Internal Server Error: "only"`, code: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flaky{steps: tt.steps}
			srv := newServer(t, f)
			s, err := NewSource(PullOptions{Name: "shop", URL: srv.URL, Retries: tt.retries, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			// Retry-After says seconds: a lower cap keeps the test short
			// and still tells a honoured wait from the 1ms backoff.
			s.c.maxWait = 150 * time.Millisecond
			b, err := s.Fetch(context.Background(), "", 10)
			calls := f.calls()
			if len(calls) != tt.calls {
				t.Errorf("%d calls, want %d", len(calls), tt.calls)
			}
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(b.Items) != 1 || b.Next != "n" {
					t.Errorf("batch %+v", b)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				var se *StatusError
				if !errors.As(err, &se) || se.Code != tt.code {
					t.Errorf("err = %v, want a StatusError %d", err, tt.code)
				}
			}
			if tt.minGap > 0 && len(calls) > 1 {
				if gap := calls[1].Sub(calls[0]); gap < tt.minGap {
					t.Errorf("waited %s before trying again, want at least %s", gap, tt.minGap)
				}
			}
		})
	}
	t.Run("the last error is the one reported", func(t *testing.T) {
		f := &flaky{steps: []step{{status: 500, body: "first"}, {status: 500, body: "second"}}}
		srv := newServer(t, f)
		s, err := NewSource(PullOptions{URL: srv.URL, Retries: 1, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Fetch(context.Background(), "", 10)
		if err == nil || !strings.Contains(err.Error(), `"second"`) || strings.Contains(err.Error(), `"first"`) {
			t.Errorf("err = %v, want the second failure only", err)
		}
	})
}

func TestBackoffGrows(t *testing.T) {
	f := &flaky{steps: []step{{status: 500}, {status: 500}, {status: 500}}}
	srv := newServer(t, f)
	s, err := NewSource(PullOptions{URL: srv.URL, Retries: 3, Backoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fetch(context.Background(), "", 10); err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 4 {
		t.Fatalf("%d calls, want 4", len(calls))
	}
	for i, least := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		if gap := calls[i+1].Sub(calls[i]); gap < least {
			t.Errorf("wait %d was %s, want at least %s", i+1, gap, least)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", -1},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 2 ", 2 * time.Second},
		{"3600", maxWait},
		{"-1", -1},
		{"soon", -1},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(24 * time.Hour).Format(http.TimeFormat), maxWait},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.v, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestJitter(t *testing.T) {
	for _, d := range []time.Duration{0, time.Nanosecond, time.Millisecond, time.Second, maxWait} {
		for range 100 {
			j := jitter(d)
			if j < d || j > d+d/4 {
				t.Fatalf("jitter(%s) = %s, want within [%s, %s]", d, j, d, d+d/4)
			}
		}
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	s, err := NewSource(PullOptions{URL: srv.URL, Timeout: 100 * time.Millisecond, Retries: NoRetries})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Fetch(context.Background(), "", 10)
	if err == nil || !strings.Contains(err.Error(), "no response within 100ms (timeout)") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s to time out after 100ms", d)
	}
}

func TestFetchTimeoutWhileReadingBody(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"items":[`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	s, err := NewSource(PullOptions{URL: srv.URL, Timeout: 100 * time.Millisecond, Retries: NoRetries})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fetch(context.Background(), "", 10)
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v, want a timeout while reading", err)
	}
}

func TestFetchOversizedBody(t *testing.T) {
	f := &flaky{}
	srv := newServer(t, f)
	s, err := NewSource(PullOptions{URL: srv.URL, MaxBody: 64, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fetch(context.Background(), "", 10)
	if !errors.Is(err, ErrBodyTooLarge) || !strings.Contains(err.Error(), "limit of 64 bytes") {
		t.Fatalf("err = %v, want ErrBodyTooLarge naming the limit", err)
	}
	if n := len(f.calls()); n != 1 {
		t.Errorf("%d calls: a body too large is the same on every try, want 1", n)
	}

	// Exactly at the limit is fine.
	body := `{"items":[],"next":"c"}`
	srv2 := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) }))
	s2, err := NewSource(PullOptions{URL: srv2.URL, MaxBody: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Fetch(context.Background(), "", 10); err != nil {
		t.Errorf("a body of exactly MaxBody: %v", err)
	}
}

func TestFetchMalformedItems(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"items":[` +
			action("shop", "web:1") + `,` +
			`42,` +
			`{"type":"action","program":"shop","action":{"customer":"web:2","kind":"newsletter","at":"2026-03-02T09:05:00+01:00","ponts":5}},` +
			`{"type":"action","program":"shop","action":{"customer":"","kind":"newsletter","at":"2026-03-02T09:05:00+01:00"}},` +
			action("shop", "web:5") +
			`],"next":"c9"}`))
	}))
	s, err := NewSource(PullOptions{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Fetch(context.Background(), "c8", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Items) != 5 || b.Next != "c9" || !b.More {
		t.Fatalf("batch: %d items, next %q, more %v", len(b.Items), b.Next, b.More)
	}
	for i, want := range []string{"", "item 2: a number, not a fact", `item 3: unknown key "ponts"`, "item 4: invalid fact: action: customer is empty", ""} {
		it := b.Items[i]
		if (it.Fact == nil) == (it.Err == nil) {
			t.Fatalf("item %d: Fact %v and Err %v: exactly one must be set", i+1, it.Fact, it.Err)
		}
		if want == "" {
			if it.Err != nil {
				t.Errorf("item %d: unexpected error %v", i+1, it.Err)
			}
			continue
		}
		if it.Err == nil || !strings.HasPrefix(it.Err.Reason, want) {
			t.Errorf("item %d: error %v, want a reason starting %q", i+1, it.Err, want)
			continue
		}
		if it.Err.Origin != srv.URL+"#c8" || it.Seq != int64(i+1) {
			t.Errorf("item %d: origin %q seq %d", i+1, it.Err.Origin, it.Seq)
		}
	}
	if c := b.Items[2].Err.Column; c != "ponts" {
		t.Errorf("unknown key reported in column %q, want ponts", c)
	}
}

func TestFetchMalformedPage(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"html", `<html>maintenance</html>`, "not JSON"},
		{"empty", ``, "empty"},
		{"array", `[1,2]`, "an array, not a JSON object"},
		{"items not an array", `{"items":{"a":1}}`, `"items" is an object, not an array`},
		{"no items", `{"data":[]}`, `no "items" field`},
		{"next an object", `{"items":[],"next":{}}`, `"next" is an object`},
		{"trailing", `{"items":[]} {"items":[]}`, "more data after"},
		{"truncated", `{"items":[{"type":"action"`, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(tt.body)) }))
			s, err := NewSource(PullOptions{Name: "shop", URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Fetch(context.Background(), "c1", 10)
			if !errors.Is(err, ErrBadPage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadPage with %q", err, tt.want)
			}
			if len(b.Items) != 0 || b.Next != "" {
				t.Errorf("a failed fetch returned a batch: %+v", b)
			}
			if !strings.Contains(err.Error(), srv.URL+"#c1") {
				t.Errorf("error %q does not name the page", err)
			}
		})
	}
}

func TestCancelStopsBackoff(t *testing.T) {
	f := &flaky{steps: []step{{status: 500}, {status: 500}}}
	srv := newServer(t, f)
	s, err := NewSource(PullOptions{URL: srv.URL, Retries: 3, Backoff: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err = s.Fetch(ctx, "", 10)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("err = %v, want the last error named", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancel took %s to stop a 20s wait", d)
	}
	if n := len(f.calls()); n != 1 {
		t.Errorf("%d calls after cancel, want 1", n)
	}
}

func TestCancelStopsRequest(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	s, err := NewSource(PullOptions{URL: srv.URL, Retries: 3, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Fetch(ctx, "", 10)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	if strings.Contains(err.Error(), "giving up") {
		t.Errorf("err = %v: the caller's deadline is not a failed attempt", err)
	}
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string // "" for success
	}{
		{"page", 200, `{"items":[],"next":"x"}`, ""},
		{"empty list as null", 200, `{"items":null}`, ""},
		{"bad item is not the probe's concern", 200, `{"items":[1]}`, ""},
		{"wrong shape", 200, `{"results":[]}`, `no "items" field`},
		{"server error, once", 500, `down`, "HTTP 500"},
		{"unauthorized", 401, ``, "check the bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flaky{steps: []step{{status: tt.status, body: tt.body}}}
			var (
				mu sync.Mutex
				q  url.Values
			)
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				q = r.URL.Query()
				mu.Unlock()
				f.ServeHTTP(w, r)
			}))
			s, err := NewSource(PullOptions{URL: srv.URL, Retries: 3, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Probe(context.Background())
			if tt.want == "" && err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if n := len(f.calls()); n != 1 {
				t.Errorf("%d calls, want one GET", n)
			}
			mu.Lock()
			defer mu.Unlock()
			if q.Encode() != "limit=1" {
				t.Errorf("query %q, want limit=1 and no cursor", q.Encode())
			}
		})
	}
}

// TestNoSecretsInMessages: the bearer token, header values and the URL's
// query never reach an error or a log line.
func TestNoSecretsInMessages(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	f := &flaky{steps: []step{{status: 503}, {status: 500}}}
	srv := newServer(t, f)
	s, err := NewSource(PullOptions{
		Name: "shop", URL: srv.URL + "/facts?api_key=SECRET-Q", BearerToken: "SECRET-B",
		Headers: map[string]string{"X-Api-Key": "SECRET-H"}, Retries: 1, Backoff: time.Millisecond,
		Logger: zap.New(core),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Fetch(context.Background(), "c1", 10)
	if err == nil {
		t.Fatal("no error after two failures")
	}
	texts := []string{err.Error()}
	if logs.Len() == 0 {
		t.Fatal("a retry was not logged")
	}
	for _, e := range logs.All() {
		fields := e.ContextMap()
		b, _ := json.Marshal(fields)
		texts = append(texts, e.Message+" "+string(b))
		if _, ok := fields["error"]; !ok && e.Level >= zapcore.WarnLevel {
			t.Errorf("log %q has no error field: %v", e.Message, fields)
		}
	}
	// A transport error carries the full request URL in net/http's form.
	srv.Close()
	_, err = s.Fetch(context.Background(), "c1", 10)
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	texts = append(texts, err.Error())
	for _, txt := range texts {
		if strings.Contains(txt, "SECRET") {
			t.Errorf("a secret leaked: %s", txt)
		}
	}

	_, err = NewSource(PullOptions{URL: "https://user:SECRET-P@shop.example.com/x?key=SECRET-Q", Format: "xml"})
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("err = %v", err)
	}
	_, err = NewSource(PullOptions{URL: "ftp://user:SECRET-P@shop.example.com/x?key=SECRET-Q"})
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("err = %v", err)
	}
}

func TestNewSourceRefuses(t *testing.T) {
	tests := []struct {
		name string
		o    PullOptions
		want string
	}{
		{"no url", PullOptions{}, "url is empty"},
		{"relative", PullOptions{URL: "shop.example.com/facts"}, "not an absolute"},
		{"no host", PullOptions{URL: "https:///facts"}, "not an absolute"},
		{"format", PullOptions{URL: "http://x", Format: "csv"}, `format "csv"`},
		{"fields with facts", PullOptions{URL: "http://x", Fields: map[string]string{"order": "id"}}, "fields are for format"},
		{"same params", PullOptions{URL: "http://x", CursorParam: "p", LimitParam: "p"}, "give them different names"},
		{"same fields", PullOptions{URL: "http://x", ItemsField: "next"}, `items and next fields are both "next"`},
		{"max body", PullOptions{URL: "http://x", MaxBody: -1}, "max body -1"},
		{"backoff", PullOptions{URL: "http://x", Backoff: -time.Second}, "backoff -1s"},
		{"records without type", PullOptions{URL: "http://x", Format: FormatRecords, Program: "shop"}, "mapping"},
		{"records unknown field", PullOptions{URL: "http://x", Format: FormatRecords, Program: "shop",
			Mapping: mapping.Spec{Type: mapping.TypeWebOrder}, Fields: map[string]string{"ordr": "id"}}, `"ordr" is not a field of web_order`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSource(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFetchRedirects(t *testing.T) {
	var mu sync.Mutex
	var otherGot []http.Header
	other := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherGot = append(otherGot, r.Header.Clone())
		mu.Unlock()
		_, _ = w.Write([]byte(`{"items":[]}`))
	}))
	var calls int
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/facts?"+r.URL.RawQuery, http.StatusMovedPermanently)
		case "/away":
			http.Redirect(w, r, other.URL+"/facts", http.StatusFound)
		case "/facts":
			if r.Header.Get("X-Api-Key") != "k" {
				http.Error(w, "no key", http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte(`{"items":[` + action("shop", "web:1") + `],"next":"` + r.URL.Query().Get("cursor") + `x"}`))
		}
	}))
	headers := map[string]string{"X-Api-Key": "k"}
	s, err := NewSource(PullOptions{URL: srv.URL + "/moved", Headers: headers})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Fetch(context.Background(), "c", 5)
	if err != nil {
		t.Fatalf("a redirect on the same host: %v", err)
	}
	if b.Next != "cx" || len(b.Items) != 1 {
		t.Errorf("batch %+v", b)
	}

	s, err = NewSource(PullOptions{URL: srv.URL + "/away", Headers: headers, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	calls = 0
	mu.Unlock()
	_, err = s.Fetch(context.Background(), "c", 5)
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("err = %v, want a redirect to another host refused", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(otherGot) != 0 {
		t.Errorf("the other host was asked, with headers %v", otherGot)
	}
	if calls != 1 {
		t.Errorf("%d calls: a refused redirect is not retried", calls)
	}
}
