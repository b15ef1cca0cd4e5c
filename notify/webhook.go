package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors/httpjson"
	"github.com/pointsync/pointsync/ledger"
)

// Headers of a delivery.
const (
	HeaderEventID   = "X-Pointsync-Event-Id"
	HeaderEvent     = "X-Pointsync-Event"
	HeaderSignature = "X-Pointsync-Signature"
)

// batch is how many due events one round reads.
const batch = 100

// markTimeout bounds recording a delivery's outcome after Deliver was
// asked to stop: an event the receiver accepted should not be sent again
// only because the daemon was shutting down.
const markTimeout = 10 * time.Second

// Deliver posts due events to the webhook until ctx is done, then returns
// nil. Each event is POSTed as JSON {"id","type","program","customer","at",
// "data"} with its id, type and HMAC-SHA256 signature in headers; a 2xx
// answer delivers it, anything else is retried after a backoff doubling
// from notifications.webhook.backoff up to max_backoff (±10%), while the
// events after it go on. When the receiver cannot be reached the round
// stops there and resumes at the next poll. The retry state is in the
// ledger, so a restarted daemon takes over where this one stopped. Run it
// in one goroutine of the active daemon.
func (n *Notifier) Deliver(ctx context.Context) error {
	if n.target == "" {
		return errors.New("notify: notifications.webhook.url is empty: there is nowhere to deliver to")
	}
	n.log.Info("webhook delivery started", zap.String("url", n.shown))
	for {
		more, err := n.round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			n.log.Warn("webhook delivery round failed; trying again at the next poll", zap.Error(err))
		} else if more {
			continue
		}
		t := time.NewTimer(n.cfg.Webhook.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-n.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// round delivers one batch of due events; more is true when the batch was
// full and everything in it was tried.
func (n *Notifier) round(ctx context.Context) (more bool, err error) {
	es, err := n.l.DueEvents(ctx, batch)
	if err != nil {
		return false, err
	}
	for _, e := range es {
		if ctx.Err() != nil {
			return false, nil
		}
		err := n.post(ctx, e)
		if err != nil && ctx.Err() != nil {
			return false, nil // stopping is not the receiver's failure
		}
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		if err == nil {
			merr := n.l.MarkDelivered(mctx, e.Seq)
			cancel()
			if merr != nil {
				return false, merr
			}
			n.log.Debug("event delivered", zap.String("event", e.ID), zap.String("type", e.Type), zap.Int("attempts", e.Attempts+1))
			continue
		}
		next := n.clock().Add(retryAfter(e.Attempts, n.cfg.Webhook.Backoff, n.cfg.Webhook.MaxBackoff, rand.Float64()))
		merr := n.l.MarkFailed(mctx, e.Seq, next, err.Error())
		cancel()
		if merr != nil {
			return false, merr
		}
		n.log.Warn("event not delivered; will retry", zap.String("event", e.ID), zap.String("type", e.Type),
			zap.String("customer", e.Customer.Masked()), zap.Int("attempt", e.Attempts+1), zap.Time("next", next),
			zap.String("url", n.shown), zap.Error(err))
		var se *statusError
		if !errors.As(err, &se) {
			return false, nil // unreachable: the next poll tries again
		}
	}
	return len(es) == batch, nil
}

// statusError is a receiver's answer other than 2xx.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("the receiver answered HTTP %d", e.code)
	}
	return fmt.Sprintf("the receiver answered HTTP %d: %s", e.code, e.body)
}

// post sends one event.
func (n *Notifier) post(ctx context.Context, e ledger.OutboxEntry) error {
	body, err := json.Marshal(e.Event)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request to %s: %w", n.shown, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pointsync")
	req.Header.Set(HeaderEventID, e.ID)
	req.Header.Set(HeaderEvent, e.Type)
	req.Header.Set(HeaderSignature, httpjson.Signature(n.secret, body))
	resp, err := n.client.Do(req)
	if err != nil {
		// url.Error repeats the whole address, query included: keep the
		// cause only, the address is logged without its query.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST to %s: %w", n.shown, err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &statusError{code: resp.StatusCode, body: strings.TrimSpace(strings.ToValidUTF8(string(head), "?"))}
}

// retryAfter is the wait before the next attempt of an event that failed
// attempts times before: base doubled per earlier failure, at most maxWait,
// then moved by up to ±10% (r in [0,1)) so that events failing together
// do not come back together.
func retryAfter(attempts int, base, maxWait time.Duration, r float64) time.Duration {
	d := base
	for i := 0; i < attempts && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d + time.Duration((r*0.2-0.1)*float64(d))
}
