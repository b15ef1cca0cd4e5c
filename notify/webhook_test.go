package notify

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
)

func (e *env) stats() ledger.OutboxStats {
	e.t.Helper()
	s, err := e.l.OutboxStats(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// earn gives customers web:0..web:n-1 10 points each: one points_earned
// event apiece.
func (e *env) earn(from, to int) {
	e.t.Helper()
	for i := from; i < to; i++ {
		c := ledger.Ident(fmt.Sprint("web:", i))
		e.customer(c)
		e.credit(c, 10, nil)
	}
}

// TestDeliverRetriesUntilAccepted: a receiver refusing its first answers
// gets every event at least once, signed, in order of enqueueing.
func TestDeliverRetriesUntilAccepted(t *testing.T) {
	r := newReceiver(t, 3)
	e := newEnv(t, r.url, allEvents...)
	n := e.notifier()
	e.earn(0, 10)
	first := e.pending()[0].ID
	stop := deliver(t, n)
	eventually(t, "every event accepted", func() bool { return r.distinct() == 10 && e.stats().Pending == 0 })
	stop()

	reqs, accepted, bad := r.snapshot()
	if len(bad) > 0 {
		t.Fatalf("bad requests: %q", bad)
	}
	if len(reqs) < 13 {
		t.Fatalf("%d requests, want at least 10 deliveries and 3 refusals", len(reqs))
	}
	if reqs[0].id != first || reqs[0].status != 500 {
		t.Fatalf("first request %s (HTTP %d), want the first event %s, refused", reqs[0].id, reqs[0].status, first)
	}
	for _, q := range reqs[:3] {
		if accepted[q.id] == 0 {
			t.Fatalf("event %s was refused and never delivered", q.id)
		}
	}
	for _, q := range reqs {
		if q.status != 200 {
			continue
		}
		d, _ := q.body["data"].(map[string]any)
		if q.typ != configs.EventPointsEarned || q.body["program"] != "shop" || !strings.HasPrefix(q.body["customer"].(string), "web:") ||
			d["points"] != 10.0 || q.body["at"] == "" {
			t.Fatalf("delivered body %v", q.body)
		}
	}
	noSecret(t, e)
	if len(e.logs.FilterMessage("event not delivered; will retry").All()) != 3 {
		t.Fatalf("want 3 retry warnings, logs: %v", e.logs.All())
	}
}

// TestDeliverSurvivesRestart: events accepted before a restart are not
// sent again; events failing at the restart are delivered by the next
// notifier on the same ledger.
func TestDeliverSurvivesRestart(t *testing.T) {
	r := newReceiver(t, 0)
	e := newEnv(t, r.url, configs.EventPointsEarned)
	a := e.notifier()
	stopA := deliver(t, a)
	e.earn(0, 3)
	eventually(t, "the first three delivered", func() bool { return r.distinct() == 3 && e.stats().Pending == 0 })
	r.setDown(true)
	e.earn(3, 6)
	eventually(t, "the next three failing", func() bool { s := e.stats(); return s.Pending == 3 && s.Failing == 3 })
	stopA()
	for _, ev := range e.pending() {
		if ev.Attempts == 0 || !strings.Contains(ev.LastError, "HTTP 500") {
			t.Fatalf("pending after the stop: %+v", ev)
		}
	}

	r.setDown(false)
	b := e.notifier()
	deliver(t, b)
	eventually(t, "all six delivered", func() bool { return r.distinct() == 6 && e.stats().Pending == 0 })
	_, accepted, bad := r.snapshot()
	if len(bad) > 0 {
		t.Fatalf("bad requests: %q", bad)
	}
	for id, k := range accepted {
		if k != 1 {
			t.Fatalf("event %s accepted %d times across a clean restart, want once", id, k)
		}
	}
}

// TestDeliverUnreachable: a receiver that cannot be reached leaves the
// events pending with the reason, the address without its query, and no
// secret.
func TestDeliverUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	e := newEnv(t, "http://"+addr+"/hook?token=query-secret", configs.EventPointsEarned)
	e.cfg.Notifications.Webhook.Poll = time.Hour
	n := e.quietNotifier()
	e.earn(0, 2)
	stop := deliver(t, n)
	// A round stops at the first unreachable attempt: the second event
	// waits for the next poll.
	eventually(t, "the first failing", func() bool { return e.stats().Failing >= 1 })
	time.Sleep(100 * time.Millisecond)
	if s := e.stats(); s.Failing != 1 || s.Pending != 2 {
		t.Fatalf("stats %+v after the first round, want one of two attempted", s)
	}
	stop()
	for _, ev := range e.pending()[:1] {
		if !strings.Contains(ev.LastError, "POST to http://"+addr+"/hook:") || strings.Contains(ev.LastError, "query-secret") {
			t.Fatalf("last error %q", ev.LastError)
		}
	}
	noSecret(t, e)
	for _, entry := range e.logs.All() {
		if line := fmt.Sprint(entry.Message, entry.ContextMap()); strings.Contains(line, "query-secret") {
			t.Fatalf("a log line holds the address's query: %s", line)
		}
	}
}

// TestCommittedWakesDelivery: with OnCommit wired, an event goes out at
// once even when the poll is long.
func TestCommittedWakesDelivery(t *testing.T) {
	r := newReceiver(t, 0)
	e := newEnv(t, r.url, configs.EventPointsEarned, configs.EventPointsExpiring)
	e.cfg.Notifications.Webhook.Poll = time.Hour
	n := e.notifier()
	stop := deliver(t, n)
	time.Sleep(50 * time.Millisecond) // the first round found nothing and waits
	e.earn(0, 1)
	eventually(t, "the earned event delivered before the poll", func() bool { return r.distinct() == 1 })
	tomorrow := e.clock.Now().Add(24 * time.Hour)
	e.credit("web:0", 5, &tomorrow)
	eventually(t, "the second earned event", func() bool { return r.distinct() == 2 })
	if _, err := n.ScanExpiring(e.ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the expiring event delivered before the poll", func() bool { return r.distinct() == 3 })
	stop()
}

// TestDeliverStatusFailureDoesNotBlock: a receiver refusing one event
// (HTTP 500) still gets the ones after it.
func TestDeliverStatusFailureDoesNotBlock(t *testing.T) {
	r := newReceiver(t, 1)
	e := newEnv(t, r.url, configs.EventPointsEarned)
	e.cfg.Notifications.Webhook.Backoff = time.Hour
	e.cfg.Notifications.Webhook.MaxBackoff = time.Hour
	e.cfg.Notifications.Webhook.Poll = time.Hour // all in the first round
	n := e.quietNotifier()
	e.earn(0, 4)
	stop := deliver(t, n)
	// The receiver counts an event before its answer is back: wait for
	// the ledger to have marked the last one too, or stopping may cut it
	// off before that (it would be delivered again later, as it must).
	eventually(t, "the three after the refused one", func() bool { return r.distinct() == 3 && e.stats().Pending == 1 })
	stop()
	s := e.stats()
	if s.Pending != 1 || s.Failing != 1 {
		t.Fatalf("stats %+v, want the refused event pending and failing", s)
	}
}
