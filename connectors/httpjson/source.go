// Package httpjson reads facts from a webservice that pages them out as
// JSON, and pushes balances and movements to one.
//
// A pull is one GET per page: URL?cursor=C&limit=N answers
// {"items":[...],"next":"D"}. The items are facts in their JSON form (the
// lines of a facts file, README "Facts files") or flat records mapped as
// a drop file's rows are. D is where the next page starts; the daemon
// stores it with the page's facts in one transaction, so a page is asked
// for again until it is applied, and the same cursor must bring the same
// items. A server should send a next cursor on its last page too (the
// position after its last item): without one the cursor stays where it
// was and that page is read again on each run, harmless but wasteful.
// Records that form one fact (the lines of one order) must come in one
// page, one after the other: each page is mapped on its own.
//
// A push sends JSON bodies in chunks, each with an Idempotency-Key (the
// SHA-256 of the body) so that a receiver drops a chunk repeated after a
// lost answer, and optionally an HMAC signature.
package httpjson

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/mapping"
)

// Formats of pulled items.
const (
	FormatFacts   = "facts"
	FormatRecords = "records"
)

// PullOptions configure a Source.
type PullOptions struct {
	Name        string
	URL         string // GET endpoint (http or https); its own query is kept
	CursorParam string // query parameter carrying the cursor; default "cursor"; omitted when the cursor is empty
	LimitParam  string // query parameter for the page size; default "limit"; omitted when the limit is 0
	ItemsField  string // field of the response holding the array; default "items"
	NextField   string // field with the cursor of the next page; default "next"
	// Format is FormatFacts (default): each item is a mapping.Fact in
	// its JSON form; or FormatRecords: each item is a flat JSON object
	// mapped with Fields and Mapping.
	Format  string
	Program string // the program of facts without one; for records, of Mapping when it names none
	// Mapping maps records. JSON numbers are written in Mapping.Decimal's
	// notation before mapping, so 12.5 reads as 12.50 either way; strings
	// stay as they are ("12,50" needs DecimalComma).
	Mapping mapping.Spec
	Fields  map[string]string // records: logical field -> JSON key (default: the logical name itself)
	Headers map[string]string // extra request headers; values may be secrets and are never logged
	// BearerToken, when set, is sent as Authorization: Bearer.
	BearerToken string
	Timeout     time.Duration // per request, reading the body included; default 30s
	// Retries is how many times a request is tried again after a network
	// error, a 5xx, 408 or 429: 0 is DefaultRetries, NoRetries none.
	Retries int
	// Backoff is the first wait before trying again, doubled each time,
	// at most 30s, with jitter; a 429 or 503 with Retry-After waits what
	// it asks, at most 30s. Default 1s.
	Backoff time.Duration
	MaxBody int64        // response size limit; default 32 MiB
	Client  *http.Client // default: a client with Timeout
	Logger  *zap.Logger
}

// Source pulls pages of facts from a webservice. It is safe for
// concurrent use.
type Source struct {
	c     common
	name  string
	base  *url.URL
	shown string
	// cursorParam and limitParam name the query parameters.
	cursorParam, limitParam string
	dec                     decoder
}

var (
	_ connectors.Source = (*Source)(nil)
	_ connectors.Prober = (*Source)(nil)
)

// NewSource checks the options and fills in the defaults.
func NewSource(o PullOptions) (*Source, error) {
	fail := func(err error) (*Source, error) { return nil, fmt.Errorf("http pull %q: %w", o.Name, err) }
	u, shown, err := checkURL(o.URL)
	if err != nil {
		return fail(err)
	}
	// Each request rewrites the query with the cursor and the limit: a
	// parameter it cannot read would be dropped without a word.
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return fail(fmt.Errorf("url %s: its query cannot be read (%v), and pointsync adds the cursor and the limit to it: separate parameters with & and write special characters as %%XX", shown, err))
	}
	s := &Source{
		name: o.Name, base: u, shown: shown,
		cursorParam: or(o.CursorParam, "cursor"),
		limitParam:  or(o.LimitParam, "limit"),
		dec: decoder{
			itemsField: or(o.ItemsField, "items"),
			nextField:  or(o.NextField, "next"),
			program:    o.Program,
		},
	}
	if s.cursorParam == s.limitParam {
		return fail(fmt.Errorf("cursor and limit parameters are both %q: give them different names", s.cursorParam))
	}
	if s.dec.itemsField == s.dec.nextField {
		return fail(fmt.Errorf("items and next fields are both %q: give them different names", s.dec.itemsField))
	}
	switch o.Format {
	case "", FormatFacts:
		if len(o.Fields) > 0 {
			return fail(fmt.Errorf("fields are for format %q: facts name their own keys; remove them", FormatRecords))
		}
	case FormatRecords:
		if err := s.dec.setRecords(o); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("format %q: use %q or %q", o.Format, FormatFacts, FormatRecords))
	}
	s.c, err = newCommon(commonOptions{
		name: o.Name, headers: o.Headers, bearer: o.BearerToken,
		timeout: o.Timeout, retries: o.Retries, backoff: o.Backoff,
		maxBody: o.MaxBody, client: o.Client, logger: o.Logger,
	})
	if err != nil {
		return fail(err)
	}
	if s.c.header.Get("Accept") == "" {
		s.c.header.Set("Accept", "application/json")
	}
	return s, nil
}

// Fetch reads the page after the cursor: GET URL?cursor=after&limit=limit
// (no limit parameter when limit is 0 or less: the server's page size).
// Items are numbered from 1 in the page. Next is the page's next cursor,
// or after when it names none; More is set when a next cursor moved on
// from a page that had items.
func (s *Source) Fetch(ctx context.Context, after connectors.Cursor, limit int) (connectors.Batch, error) {
	p, err := s.get(ctx, after, limit)
	if err != nil {
		return connectors.Batch{}, err
	}
	b := connectors.Batch{Items: p.items, Next: after}
	if p.next != "" {
		b.Next = connectors.Cursor(p.next)
	}
	b.More = p.next != "" && b.Next != after && len(p.items) > 0
	s.c.log.Debug("page read", zap.String("url", s.shown), zap.String("cursor", string(after)),
		zap.Int("items", len(p.items)), zap.String("next", string(b.Next)), zap.Bool("more", b.More))
	return b, nil
}

// Probe asks for one item from the start, once, and checks that the
// answer is a page. Items that are not facts are not its concern: they
// are reported when read.
func (s *Source) Probe(ctx context.Context) error {
	probe := *s
	probe.c.retries = 0
	_, err := probe.get(ctx, "", 1)
	return err
}

func (s *Source) get(ctx context.Context, after connectors.Cursor, limit int) (page, error) {
	u := *s.base
	u.Fragment, u.RawFragment = "", ""
	q := u.Query()
	q.Del(s.cursorParam)
	if after != "" {
		q.Set(s.cursorParam, string(after))
	}
	q.Del(s.limitParam)
	if limit > 0 {
		q.Set(s.limitParam, strconv.Itoa(limit))
	}
	u.RawQuery = q.Encode()
	origin := s.origin(after)
	body, err := s.c.do(ctx, request{method: http.MethodGet, url: u.String(), shown: origin})
	if err != nil {
		return page{}, fmt.Errorf("http pull %q: %w", s.name, err)
	}
	p, err := s.dec.decode(body, origin)
	if err != nil {
		return page{}, fmt.Errorf("http pull %q: %w", s.name, err)
	}
	return p, nil
}

// origin names the page in messages and reports: the address without
// its query, which may hold secrets, and the cursor.
func (s *Source) origin(after connectors.Cursor) string {
	if after == "" {
		return s.shown
	}
	return s.shown + "#" + string(after)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
