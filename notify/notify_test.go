package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
)

var allEvents = []string{configs.EventPointsEarned, configs.EventPrizeThreshold, configs.EventPointsExpiring}

func data(t *testing.T, e ledger.OutboxEntry) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatalf("event %s data %s: %v", e.ID, e.Data, err)
	}
	return m
}

func TestEarnedEvent(t *testing.T) {
	e := newEnv(t, "http://127.0.0.1:1/hook", allEvents...)
	e.notifier()
	e.customer("web:1")
	e.clock.Add(time.Minute) // the card comes second: web:1 stays the customer's name
	if err := e.l.Update(e.ctx, func(tx *ledger.Tx) error { return tx.Link("web:1", "card:900042") }); err != nil {
		t.Fatal(err)
	}
	e.credit("web:1", 30, nil)
	id := e.credit("card:900042", 120, nil)
	es := e.pending()
	if len(es) != 2 {
		t.Fatalf("events %+v, want two points_earned", es)
	}
	ev := es[1]
	if ev.ID != fmt.Sprintf("earned:%d", id) || ev.Type != configs.EventPointsEarned || ev.Program != "shop" || ev.Customer != "web:1" {
		t.Fatalf("event %+v", ev)
	}
	want := map[string]any{"points": 120.0, "movement": float64(id), "reason": "accrual", "source": "erp", "earned": 150.0}
	if got := data(t, ev); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("data = %v, want %v", got, want)
	}
}

// TestPrizeThreshold: crossing the cheapest open prize is one event;
// staying above it, or crossing a dearer prize, is none.
func TestPrizeThreshold(t *testing.T) {
	e := newEnv(t, "http://127.0.0.1:1/hook", configs.EventPrizeThreshold)
	e.notifier()
	e.customer("web:p")
	var key string
	if err := e.l.Update(e.ctx, func(tx *ledger.Tx) (err error) { key, err = tx.CustomerKey("web:p"); return err }); err != nil {
		t.Fatal(err)
	}
	spend := func(points int64) {
		err := e.l.Update(e.ctx, func(tx *ledger.Tx) error {
			_, err := tx.Spend(ledger.SpendRequest{Account: ledger.Account{Program: "shop", Customer: "web:p"},
				Meta: ledger.Meta{Source: ledger.SourceWeb, Key: e.key()}, Amount: points})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		spend   int64
		credits []int64 // in one transaction
		prize   bool
	}{
		{"below every open prize (the card-type catalog's 100 does not count)", 0, []int64{400}, false},
		{"crossing 500", 0, []int64{100}, true},
		{"staying above", 0, []int64{50}, false},
		{"crossing the dearer 800", 0, []int64{300}, false},
		{"back below, then crossing again", 800, []int64{450}, true},
		{"two rises in one transaction crossing once", 450, []int64{300, 300}, true},
		{"crossing with the first of two rises", 600, []int64{500, 10}, true},
	}
	seen := 0
	for _, s := range steps {
		if s.spend > 0 {
			spend(s.spend)
		}
		var last int64
		err := e.l.Update(e.ctx, func(tx *ledger.Tx) error {
			for _, c := range s.credits {
				r, err := tx.Credit(ledger.CreditRequest{Account: ledger.Account{Program: "shop", Customer: "web:p"},
					Meta: ledger.Meta{Source: ledger.SourceERP, Key: e.key()}, Amount: c})
				if err != nil {
					return err
				}
				last = r.Main()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		es := e.pending()
		got := es[seen:]
		seen = len(es)
		if !s.prize {
			if len(got) != 0 {
				t.Fatalf("%s: events %+v, want none", s.name, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%s: events %+v, want one prize_threshold", s.name, got)
		}
		ev := got[0]
		b, err := e.l.Balance(e.ctx, ledger.Account{Program: "shop", Customer: "web:p"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"prize": "mug", "name": "Mug", "points": 500.0, "earned": float64(b.Earned), "movement": float64(last)}
		if ev.ID != fmt.Sprintf("prize:shop:%s:%d", key, last) || ev.Type != configs.EventPrizeThreshold || fmt.Sprint(data(t, ev)) != fmt.Sprint(want) {
			t.Fatalf("%s: event %s %s %s, want prize:shop:%s:%d with %v", s.name, ev.ID, ev.Type, ev.Data, key, last, want)
		}
	}
}

// TestEventsOff: only the enabled events are written.
func TestEventsOff(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		want   []string // event types after crossing 500 with one credit
	}{
		{"earned only", []string{configs.EventPointsEarned}, []string{configs.EventPointsEarned}},
		{"prize only", []string{configs.EventPrizeThreshold}, []string{configs.EventPrizeThreshold}},
		{"both", []string{configs.EventPointsEarned, configs.EventPrizeThreshold}, []string{configs.EventPointsEarned, configs.EventPrizeThreshold}},
		{"expiring only", []string{configs.EventPointsExpiring}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "http://127.0.0.1:1/hook", tt.events...)
			e.notifier()
			e.customer("web:1")
			e.credit("web:1", 600, nil)
			var got []string
			for _, ev := range e.pending() {
				got = append(got, ev.Type)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("event types %v, want %v", got, tt.want)
			}
		})
	}
}

// TestScanExpiring: one event per account and expiry day; a second scan
// adds nothing.
func TestScanExpiring(t *testing.T) {
	e := newEnv(t, "http://127.0.0.1:1/hook", configs.EventPointsExpiring)
	n := e.notifier()
	rome, _ := time.LoadLocation("Europe/Rome")
	at := func(day, hour int) *time.Time { t := time.Date(2026, 3, day, hour, 0, 0, 0, rome); return &t }
	e.customer("web:a")
	e.customer("web:b")
	e.credit("web:a", 10, at(15, 10))
	e.credit("web:a", 5, at(15, 18)) // same day: one event
	e.credit("web:a", 7, at(30, 0))  // usable through the 29th
	e.credit("web:a", 3, at(10+45, 0))
	e.credit("web:b", 4, at(12, 0))
	e.credit("web:b", 9, nil)

	added, err := n.ScanExpiring(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if added != 3 {
		t.Fatalf("first scan added %d events, want 3", added)
	}
	var got []string
	for _, ev := range e.pending() {
		d := data(t, ev)
		if ev.Type != configs.EventPointsExpiring || !strings.HasPrefix(ev.ID, "expiring:shop:") || !strings.HasSuffix(ev.ID, ":"+d["date"].(string)) {
			t.Fatalf("event %+v", ev)
		}
		got = append(got, fmt.Sprintf("%s %v %v %v", ev.Customer, d["date"], d["points"], d["earned"]))
	}
	want := []string{"web:a 2026-03-15 15 25", "web:a 2026-03-29 7 25", "web:b 2026-03-11 4 13"}
	if !slices.Equal(got, want) {
		t.Fatalf("expiring events %q, want %q", got, want)
	}
	for range 2 {
		e.clock.Add(24 * time.Hour)
		if added, err := n.ScanExpiring(e.ctx); err != nil || added != 0 {
			t.Fatalf("rescan added %d events (%v), want none", added, err)
		}
	}
	if es := e.pending(); len(es) != 3 {
		t.Fatalf("%d events after rescans, want 3", len(es))
	}
}

func TestScanExpiringOff(t *testing.T) {
	e := newEnv(t, "http://127.0.0.1:1/hook", configs.EventPointsEarned)
	n := e.notifier()
	e.customer("web:a")
	tomorrow := e.clock.Now().Add(24 * time.Hour)
	e.credit("web:a", 10, &tomorrow)
	if added, err := n.ScanExpiring(e.ctx); err != nil || added != 0 {
		t.Fatalf("scan with points_expiring off added %d (%v)", added, err)
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no ledger", func(o *Options) { o.Ledger = nil }, "a configuration and a ledger"},
		{"no url", func(o *Options) { o.Config.Notifications.Webhook.URL = "" }, "webhook.url is empty"},
		{"bad url", func(o *Options) { o.Config.Notifications.Webhook.URL = "ftp://x/y" }, "not an http"},
		{"no secret", func(o *Options) { o.Config.Notifications.Webhook.Secret = "" }, "secret is empty"},
		{"no poll", func(o *Options) { o.Config.Notifications.Webhook.Poll = 0 }, "poll and backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "http://127.0.0.1:1/hook", allEvents...)
			o := Options{Config: e.cfg, Ledger: e.l}
			tt.edit(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	base, maxWait := 5*time.Second, time.Hour
	tests := []struct {
		attempts int
		r        float64
		want     time.Duration
	}{
		{0, 0.5, 5 * time.Second},
		{1, 0.5, 10 * time.Second},
		{3, 0.5, 40 * time.Second},
		{0, 0, 4500 * time.Millisecond},
		{0, 0.999999, 5500 * time.Millisecond},
		{9, 0.5, 2560 * time.Second},
		{10, 0.5, time.Hour}, // 5s * 1024 is past the cap
		{1000, 0.5, time.Hour},
		{1000, 0, 54 * time.Minute},
	}
	for _, tt := range tests {
		got := retryAfter(tt.attempts, base, maxWait, tt.r)
		if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("retryAfter(%d, r=%v) = %s, want %s", tt.attempts, tt.r, got, tt.want)
		}
	}
}

func TestDeliverNeedsURL(t *testing.T) {
	e := newEnv(t, "http://127.0.0.1:1/hook")
	e.cfg.Notifications.Webhook.URL = ""
	n, err := New(Options{Config: e.cfg, Ledger: e.l})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Deliver(context.Background()); err == nil || !strings.Contains(err.Error(), "webhook.url") {
		t.Fatalf("Deliver without an address: %v", err)
	}
}

// noSecret fails when a log line holds the webhook secret.
func noSecret(t *testing.T, e *env) {
	t.Helper()
	for _, entry := range e.logs.All() {
		if line := fmt.Sprint(entry.Message, entry.ContextMap()); strings.Contains(line, testSecret) {
			t.Fatalf("a log line holds the secret: %s", line)
		}
	}
}

// TestGivenBackIsNotEarned: points a voided spend gives back (a released
// reservation) are not announced as earned.
func TestGivenBackIsNotEarned(t *testing.T) {
	e := newEnv(t, "http://127.0.0.1:1/hook", configs.EventPointsEarned)
	e.notifier()
	e.customer("web:g")
	e.credit("web:g", 100, nil)
	acct := ledger.Account{Program: "shop", Customer: "web:g"}
	var spend int64
	err := e.l.Update(e.ctx, func(tx *ledger.Tx) error {
		res, err := tx.Spend(ledger.SpendRequest{Account: acct, Meta: ledger.Meta{Source: ledger.SourceAPI, Key: e.key()}, Amount: 40, Pending: true})
		spend = res.Main()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = e.l.Update(e.ctx, func(tx *ledger.Tx) error {
		_, err := tx.Void(ledger.FinishRequest{Meta: ledger.Meta{Source: ledger.SourceAPI, Key: e.key()}, Movement: spend})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if es := e.pending(); len(es) != 1 {
		t.Fatalf("events %+v, want only the credit's points_earned", es)
	}
}
