package httpjson

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// Defaults of the options left at their zero value.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultRetries   = 3
	DefaultBackoff   = time.Second
	DefaultMaxBody   = 32 << 20
	DefaultBatchSize = 500

	// NoRetries in Retries makes a failed request fail at once: 0 is
	// taken as "not set" and gets DefaultRetries.
	NoRetries = -1

	// maxWait caps every wait between attempts, Retry-After included, so
	// a misbehaving server cannot park a connector for hours.
	maxWait = 30 * time.Second
	// snippetSize is how much of an error response is kept in the error:
	// enough for the server's message, not a whole HTML page.
	snippetSize = 512
	// drainSize is how much of an ignored response is read so the
	// connection can serve the next request.
	drainSize = 64 << 10
)

// ErrBodyTooLarge marks a response bigger than MaxBody. Asking again
// would bring the same response, so it is not retried.
var ErrBodyTooLarge = errors.New("response too large")

// StatusError is a response with a status other than 2xx.
type StatusError struct {
	Method string
	URL    string // without query and credentials
	Code   int
	Body   string // the first 512 bytes of the response
	// Location is where a 3xx sends, without query and credentials.
	Location string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
	switch e.Code {
	case http.StatusUnauthorized, http.StatusForbidden:
		s += " (check the bearer token and headers)"
	case http.StatusNotFound:
		s += " (check the url)"
	}
	if e.Location != "" {
		s += fmt.Sprintf(" (redirected to %s: configure that address as the url)", e.Location)
	}
	if b := strings.TrimSpace(strings.ToValidUTF8(e.Body, "\uFFFD")); b != "" {
		s += fmt.Sprintf(": %q", b)
	}
	return s
}

// retryable says whether asking again may help: the server was busy,
// failed or timed out; any other 4xx is a request it will refuse again.
func (e *StatusError) retryable() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout
}

// common is what pulling and pushing share: the HTTP client, the
// headers, the timeout and the retry policy.
type common struct {
	client  *http.Client
	timeout time.Duration
	retries int
	backoff time.Duration
	maxWait time.Duration
	maxBody int64
	header  http.Header
	host    string // a Host header, which net/http takes from Request.Host only
	log     *zap.Logger
}

type commonOptions struct {
	name        string
	headers     map[string]string
	bearer      string
	timeout     time.Duration
	retries     int
	backoff     time.Duration
	maxBody     int64
	client      *http.Client
	logger      *zap.Logger
	extraHeader []string // headers pointsync sets itself, which the options may not set
	noRedirects bool
}

// errRedirect marks a redirect refused by sameHost: the same request
// would be refused again, so it is not retried.
var errRedirect = errors.New("redirect refused")

// sameHost follows redirects within the configured host only: net/http
// would carry custom headers (an X-Api-Key) to any other host.
func sameHost(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) >= 10:
		return fmt.Errorf("%w: stopped after 10 redirects", errRedirect)
	case req.URL.Host != first.Host:
		return fmt.Errorf("%w: it points to another host (%s): configure that address as the url", errRedirect, shownURL(req.URL, ""))
	case first.Scheme == "https" && req.URL.Scheme != "https":
		return fmt.Errorf("%w: it points from https to %s: configure the https address", errRedirect, shownURL(req.URL, ""))
	}
	return nil
}

func newCommon(o commonOptions) (common, error) {
	c := common{
		client:  o.client,
		timeout: o.timeout,
		retries: o.retries,
		backoff: o.backoff,
		maxWait: maxWait,
		maxBody: o.maxBody,
		header:  http.Header{},
		log:     o.logger,
	}
	switch {
	case c.timeout < 0:
		return common{}, fmt.Errorf("timeout %s is negative: leave it 0 for %s", c.timeout, DefaultTimeout)
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	}
	switch {
	case c.retries < NoRetries:
		return common{}, fmt.Errorf("retries %d: use 0 for the default (%d), %d for none, or a positive number", c.retries, DefaultRetries, NoRetries)
	case c.retries == 0:
		c.retries = DefaultRetries
	case c.retries == NoRetries:
		c.retries = 0
	}
	switch {
	case c.backoff < 0:
		return common{}, fmt.Errorf("backoff %s is negative: leave it 0 for %s", c.backoff, DefaultBackoff)
	case c.backoff == 0:
		c.backoff = DefaultBackoff
	}
	switch {
	case c.maxBody < 0:
		return common{}, fmt.Errorf("max body %d is negative: leave it 0 for %d bytes", c.maxBody, DefaultMaxBody)
	case c.maxBody == 0:
		c.maxBody = DefaultMaxBody
	}
	switch {
	case o.noRedirects:
		// A 301 or 302 turns a POST into a GET, whose 200 would pass for
		// a push that never happened: whatever client is given, a push
		// takes a redirect as the failure it is.
		cl := http.Client{Timeout: c.timeout}
		if c.client != nil {
			cl = *c.client
		}
		cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		c.client = &cl
	case c.client == nil:
		c.client = &http.Client{Timeout: c.timeout, CheckRedirect: sameHost}
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if o.name != "" {
		c.log = c.log.With(zap.String("connector", o.name))
	}
	for k, v := range o.headers {
		// Values may be secrets: messages name the header, never its value.
		if !validHeaderName(k) {
			return common{}, fmt.Errorf("header %q: not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return common{}, fmt.Errorf("header %q: the value contains a line break or NUL", k)
		}
		ck := http.CanonicalHeaderKey(k)
		if _, dup := c.header[ck]; dup || (ck == "Host" && c.host != "") {
			return common{}, fmt.Errorf("header %q is given twice (names are matched ignoring case): keep one", k)
		}
		for _, own := range o.extraHeader {
			if ck == own {
				return common{}, fmt.Errorf("header %q is set by pointsync: remove it", k)
			}
		}
		if ck == "Authorization" && o.bearer != "" {
			return common{}, fmt.Errorf("header %q and a bearer token are both set: keep one", k)
		}
		if ck == "Host" {
			c.host = v
			continue
		}
		c.header.Set(ck, v)
	}
	if o.bearer != "" {
		if strings.ContainsAny(o.bearer, "\r\n\x00") {
			return common{}, errors.New("the bearer token contains a line break or NUL")
		}
		c.header.Set("Authorization", "Bearer "+o.bearer)
	}
	return c, nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// checkURL accepts an absolute http or https address and returns how
// messages show it: without credentials and query, which may hold
// secrets (an api_key parameter).
func checkURL(raw string) (*url.URL, string, error) {
	if raw == "" {
		return nil, "", errors.New("the url is empty: give the webservice address, e.g. https://shop.example.com/pointsync/orders")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("url %q is not an absolute http:// or https:// address", shownURL(u, raw))
	}
	return u, shownURL(u, raw), nil
}

func shownURL(u *url.URL, raw string) string {
	if u == nil {
		// Unparsable: show no more than the part before any query.
		s, _, _ := strings.Cut(raw, "?")
		if i := strings.LastIndex(s, "@"); i >= 0 {
			s = s[i+1:]
		}
		return s
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}

// request is one call, tried again as the options say.
type request struct {
	method string
	url    string // with its query
	shown  string // for messages and logs
	body   []byte
	header http.Header // on top of the common ones
	// ignoreBody: the status alone answers (a push); what the receiver
	// says on success is read a little, for the connection's reuse, and
	// dropped, so a chatty receiver cannot fail a write it accepted.
	ignoreBody bool
}

// do sends r and returns the body of its 2xx response. Network errors,
// 5xx, 408 and 429 are tried again up to retries times, waiting backoff,
// then twice as long each time (with jitter, at most maxWait), or what a
// 429 or 503 asks in Retry-After.
func (c *common) do(ctx context.Context, r request) ([]byte, error) {
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		body, after, err := c.once(ctx, r)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.shown, context.Cause(ctx))
		}
		if !retryable(err) || attempt > c.retries {
			if attempt > 1 {
				return nil, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
			}
			return nil, err
		}
		d := jitter(wait)
		if after >= 0 {
			d = after
		}
		d = min(d, c.maxWait)
		c.log.Warn("webservice request failed, trying again",
			zap.String("method", r.method), zap.String("url", r.shown),
			zap.Int("attempt", attempt), zap.Duration("wait", d), zap.Error(err))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%s %s: stopped while waiting to try again (last error: %v): %w", r.method, r.shown, err, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, c.maxWait)
	}
}

// attemptError is a failure that asking again may cure.
type attemptError struct{ err error }

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var ae *attemptError
	if errors.As(err, &ae) {
		return true
	}
	var se *StatusError
	return errors.As(err, &se) && se.retryable()
}

// once makes one attempt. after is the server's Retry-After, -1 when it
// gave none.
func (c *common) once(ctx context.Context, r request) (body []byte, after time.Duration, err error) {
	after = -1
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader = http.NoBody
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, r.url, rd)
	if err != nil {
		return nil, after, fmt.Errorf("%s %s: %w", r.method, r.shown, err)
	}
	req.Header = c.header.Clone()
	for k, v := range r.header {
		req.Header[k] = v
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "pointsync")
	}
	if c.host != "" {
		req.Host = c.host
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if errors.Is(err, errRedirect) {
			return nil, after, c.transportError(r, actx, err)
		}
		return nil, after, &attemptError{c.transportError(r, actx, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, snippetSize))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			after = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		se := &StatusError{Method: r.method, URL: r.shown, Code: resp.StatusCode, Body: validPrefix(snippet)}
		if loc, err := resp.Location(); err == nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			se.Location = shownURL(loc, "")
		}
		return nil, after, se
	}
	if r.ignoreBody {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainSize))
		return nil, after, nil
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, after, &attemptError{fmt.Errorf("reading the response: %w", c.transportError(r, actx, err))}
	}
	if int64(len(body)) > c.maxBody {
		return nil, after, fmt.Errorf("%s %s: %w: more than the limit of %d bytes (max body): raise the limit or ask for fewer items per request", r.method, r.shown, ErrBodyTooLarge, c.maxBody)
	}
	return body, after, nil
}

// transportError says what went wrong without the request's full URL,
// whose query may hold secrets.
func (c *common) transportError(r request, actx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: no response within %s (timeout): %w", r.method, r.shown, c.timeout, err)
	}
	return fmt.Errorf("%s %s: %w", r.method, r.shown, err)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return -1
		}
		if s > int64(maxWait/time.Second) {
			return maxWait
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxWait)
	}
	return -1
}

// jitter adds up to a quarter of d, so that connectors failing together
// do not come back together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + rand.N(d/4+1)
}

// validPrefix keeps an error response readable: a snippet cut in the
// middle of a character loses the broken end.
func validPrefix(b []byte) string {
	for i := 0; i < utf8.UTFMax-1 && len(b) > 0; i++ {
		if r, size := utf8.DecodeLastRune(b); r != utf8.RuneError || size != 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return string(b)
}
