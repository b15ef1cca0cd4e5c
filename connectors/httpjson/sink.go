package httpjson

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
)

// Headers of every push request. A receiver drops a body whose
// Idempotency-Key it has already applied: after a timeout the same chunk
// comes again with the same key.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderSignature      = "X-Pointsync-Signature"
)

// PushOptions configure a Sink.
type PushOptions struct {
	Name        string
	URL         string
	Method      string // POST (default), PUT or PATCH
	Headers     map[string]string
	BearerToken string
	BatchSize   int // items per request; default 500
	Timeout     time.Duration
	Retries     int
	Backoff     time.Duration
	Client      *http.Client
	Logger      *zap.Logger
	// HMACSecret, when set, signs each body: X-Pointsync-Signature:
	// sha256=<hex HMAC-SHA256 of the body with this secret>.
	HMACSecret string
}

// Sink pushes balances or movements to a webservice as JSON, in chunks
// of BatchSize items, each its own request.
type Sink struct {
	c      common
	name   string
	method string
	url    string
	shown  string
	batch  int
	secret []byte
}

var _ connectors.Sink = (*Sink)(nil)

// Movement is a ledger movement as a webservice receives it.
type Movement struct {
	ID         int64     `json:"id"`
	Program    string    `json:"program"`
	Customer   string    `json:"customer"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	Source     string    `json:"source"`
	Key        string    `json:"key"`
	Document   string    `json:"document"`
	Note       string    `json:"note"`
	Points     int64     `json:"points"`
	At         time.Time `json:"at"`
	RecordedAt time.Time `json:"recorded_at"`
}

// NewSink checks the options and fills in the defaults.
func NewSink(o PushOptions) (*Sink, error) {
	fail := func(err error) (*Sink, error) { return nil, fmt.Errorf("http push %q: %w", o.Name, err) }
	u, shown, err := checkURL(o.URL)
	if err != nil {
		return fail(err)
	}
	s := &Sink{name: o.Name, url: u.String(), shown: shown, batch: o.BatchSize}
	s.method = strings.ToUpper(o.Method)
	switch s.method {
	case "":
		s.method = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return fail(fmt.Errorf("method %q: use POST, PUT or PATCH", o.Method))
	}
	switch {
	case s.batch < 0:
		return fail(fmt.Errorf("batch size %d is negative: leave it 0 for %d", s.batch, DefaultBatchSize))
	case s.batch == 0:
		s.batch = DefaultBatchSize
	}
	if o.HMACSecret != "" {
		s.secret = []byte(o.HMACSecret)
	}
	s.c, err = newCommon(commonOptions{
		name: o.Name, headers: o.Headers, bearer: o.BearerToken,
		timeout: o.Timeout, retries: o.Retries, backoff: o.Backoff,
		client: o.Client, logger: o.Logger,
		extraHeader: []string{"Content-Type", HeaderIdempotencyKey, HeaderSignature},
		noRedirects: true,
	})
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// Write sends {"balances":[...]}. A failed chunk fails the call after
// the chunks before it were accepted: the daemon writes the same items
// again, and those chunks come again with the same Idempotency-Key.
func (s *Sink) Write(ctx context.Context, items []connectors.Balance) error {
	out := make([]connectors.Balance, len(items))
	for i, b := range items {
		// Receivers should not have to tell null from an empty list.
		if b.Identifiers == nil {
			b.Identifiers = []string{}
		}
		if b.Expiring == nil {
			b.Expiring = []connectors.Expiring{}
		}
		out[i] = b
	}
	return push(ctx, s, "balances", out)
}

// WriteMovements sends {"movements":[...]}, chunked as Write.
func (s *Sink) WriteMovements(ctx context.Context, items []Movement) error {
	return push(ctx, s, "movements", items)
}

func push[T any](ctx context.Context, s *Sink, field string, items []T) error {
	for start := 0; start < len(items); start += s.batch {
		end := min(start+s.batch, len(items))
		body, err := json.Marshal(map[string][]T{field: items[start:end]})
		if err != nil {
			return fmt.Errorf("http push %q: encoding %s: %w", s.name, field, err)
		}
		sum := sha256.Sum256(body)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(HeaderIdempotencyKey, hex.EncodeToString(sum[:]))
		if s.secret != nil {
			h.Set(HeaderSignature, Signature(s.secret, body))
		}
		r := request{method: s.method, url: s.url, shown: s.shown, body: body, header: h, ignoreBody: true}
		if _, err := s.c.do(ctx, r); err != nil {
			return fmt.Errorf("http push %q: %s %d to %d of %d: %w", s.name, field, start+1, end, len(items), err)
		}
		s.c.log.Debug("pushed", zap.String("url", s.shown), zap.String("what", field), zap.Int("items", end-start))
	}
	return nil
}

// Signature is the X-Pointsync-Signature value of body: a receiver
// computes it with the shared secret and compares with hmac.Equal.
func Signature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
