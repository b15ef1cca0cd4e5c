package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/mapping"
)

// TestFailedCommitAppliesNothing: when the batch's transaction fails after
// its facts were applied in it (here the last statement, storing the
// cursor), nothing of the batch stays; the same batch fetched again is
// applied, once.
func TestFailedCommitAppliesNothing(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	var broken atomic.Bool
	broken.Store(true)
	var fetches atomic.Int64
	e.addSource(d, "shop", fetchFunc(func(_ context.Context, after connectors.Cursor, _ int) (connectors.Batch, error) {
		fetches.Add(1)
		if after != "" {
			return connectors.Batch{Next: after}, nil
		}
		next := connectors.Cursor("page-2")
		if broken.Load() {
			next = "page-\xff" // not UTF-8: SetCursor refuses it
		}
		return connectors.Batch{Items: items(t, linkAnna, order("W1", "web:anna", 120)), Next: next}, nil
	}))
	reports, err := once(t, d)
	if err == nil || !strings.Contains(reports["shop"].Err.Error(), "cursor is not UTF-8") {
		t.Fatalf("Once: %v, %+v", err, reports["shop"])
	}
	if r := reports["shop"]; r.Rows != 0 {
		t.Fatalf("report %+v: a rolled back batch applied nothing", r)
	}
	if _, ok := e.balance("shop", "web:anna"); ok {
		t.Fatal("facts of a failed batch were committed")
	}
	if c := e.cursor("shop"); c != "" {
		t.Fatalf("cursor %q after a failed batch", c)
	}

	broken.Store(false)
	for run := range 2 {
		if _, err := once(t, d); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got := e.earned("shop", "web:anna"); got != 120 {
			t.Fatalf("run %d: anna earned %d, want 120", run, got)
		}
	}
	if c := e.cursor("shop"); c != "page-2" {
		t.Fatalf("cursor %q", c)
	}
	if n := fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3 (failed, applied, nothing more)", n)
	}
}

// TestRedeliveredBatchAppliesOnce: a source that brings the same facts
// again, as after a crash between its read and the commit, changes
// nothing the second time.
func TestRedeliveredBatchAppliesOnce(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	facts := []string{linkAnna, linkBea, order("W1", "web:anna", 120), order("W2", "web:bea", 50)}
	e.addSource(d, "shop", pages(map[connectors.Cursor]connectors.Batch{
		"":  {Items: items(t, facts...), Next: "1", More: true},
		"1": {Items: items(t, facts...), Next: "2"},
	}))
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	if a, b := e.earned("shop", "web:anna"), e.earned("shop", "web:bea"); a != 120 || b != 50 {
		t.Fatalf("anna %d, bea %d: want 120 and 50", a, b)
	}
	if c := e.cursor("shop"); c != "2" {
		t.Fatalf("cursor %q, want 2: More must fetch the next page at once", c)
	}
}

// TestCursorMovedFencing: when the stored cursor moves between Fetch and
// the commit (another daemon on the same ledger), the batch is dropped
// unapplied with ErrCursorMoved.
func TestCursorMovedFencing(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	e.addSource(d, "shop", fetchFunc(func(ctx context.Context, after connectors.Cursor, _ int) (connectors.Batch, error) {
		if after != "" {
			return connectors.Batch{Next: after}, nil
		}
		// The other writer commits while this batch is being read.
		if err := e.l.Update(ctx, func(tx *ledger.Tx) error { return tx.SetCursor("shop", "other-daemon") }); err != nil {
			return connectors.Batch{}, err
		}
		return connectors.Batch{Items: items(t, linkAnna, order("W1", "web:anna", 120)), Next: "1"}, nil
	}))
	reports, err := once(t, d)
	if err == nil || !errors.Is(reports["shop"].Err, ErrCursorMoved) {
		t.Fatalf("Once: %v, report %+v: want ErrCursorMoved", err, reports["shop"])
	}
	if _, ok := e.balance("shop", "web:anna"); ok {
		t.Fatal("a batch fetched from a cursor that moved was applied")
	}
	if c := e.cursor("shop"); c != "other-daemon" {
		t.Fatalf("cursor %q: the other writer's cursor must stay", c)
	}
}

// TestRefusedFactIsRejectedOthersApplied: a fact the engine refuses and
// a row the mapper could not read are rejected and stored; the other
// facts of the batch are applied and the cursor moves.
func TestRefusedFactIsRejectedOthersApplied(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	its := items(t, linkAnna, `{"type":"web_order","program":"nosuch","order":{"id":"W9","customer":"web:anna","placed_at":"2026-11-02T09:00:00+01:00","status":"paid","status_at":"2026-11-02T09:00:00+01:00","lines":[{"product":"A","quantity":1000,"gross":500}]}}`,
		order("W1", "web:anna", 120))
	its = append(its, mapping.Item{Err: &mapping.RowError{Origin: "orders.csv", Line: 7, Column: "gross", Value: "12,x", Reason: "not an amount"}})
	e.addSource(d, "shop", pages(map[connectors.Cursor]connectors.Batch{"": {Items: its, Next: "1"}}))
	reports, err := once(t, d)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports["shop"]; r.Rows != 2 || r.Rejected != 2 {
		t.Fatalf("report %+v: want 2 applied, 2 rejected", r)
	}
	if got := e.earned("shop", "web:anna"); got != 120 {
		t.Fatalf("anna earned %d", got)
	}
	rej, err := e.l.Rejects(context.Background(), "shop", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 2 || rej[0].Line != 2 || !strings.Contains(rej[0].Reason, "order W9") ||
		rej[1].Origin != "orders.csv" || rej[1].Line != 7 || rej[1].Column != "gross" || rej[1].Value != "12,x" {
		t.Fatalf("stored rejects %+v", rej)
	}
	if c := e.cursor("shop"); c != "1" {
		t.Fatalf("cursor %q", c)
	}
	if s := e.status("shop"); s.Rows != 2 || s.Rejected != 2 {
		t.Fatalf("status %+v", s)
	}
}

// TestRejectLogIsCapped: a batch of many bad rows logs the first ten one
// by one and then one line with how many more; every row is stored.
func TestRejectLogIsCapped(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	core, logs := observer.New(zap.WarnLevel)
	e.log = zap.New(core)
	d := e.daemon()
	bad := func(n, from int) []mapping.Item {
		var out []mapping.Item
		for i := range n {
			out = append(out, mapping.Item{Err: &mapping.RowError{Origin: "stores.csv", Line: from + i, Reason: "bad row"}})
		}
		return out
	}
	e.addSource(d, "stores", pages(map[connectors.Cursor]connectors.Batch{
		"":  {Items: bad(25, 2), Next: "1", More: true},
		"1": {Items: bad(3, 100), Next: "2"},
	}))
	reports, err := once(t, d)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports["stores"]; r.Rejected != 28 {
		t.Fatalf("report %+v", r)
	}
	rows := logs.FilterMessage("row rejected").All()
	if len(rows) != 13 {
		t.Fatalf("%d rejected rows logged, want 10 of the first batch and 3 of the second", len(rows))
	}
	for i, want := range []int{2, 11, 100, 102} {
		at := []int{0, 9, 10, 12}[i]
		if got := rows[at].ContextMap()["line"]; got != int64(want) {
			t.Errorf("log line %d names line %v, want %d", at, got, want)
		}
	}
	more := logs.FilterMessageSnippet("more rows of the batch rejected").All()
	if len(more) != 1 || more[0].ContextMap()["not_logged"] != int64(15) || more[0].ContextMap()["job"] != "stores" {
		t.Fatalf("summary lines %+v", more)
	}
	if n, err := e.l.RejectCount(context.Background(), "stores"); err != nil || n != 28 {
		t.Fatalf("%d rejects stored (%v), want 28", n, err)
	}
}

// acker is a source of one whole input (a file) that records its Acks.
type acker struct {
	fetchFunc
	acks    []connectors.Reject
	calls   int
	failAck bool
}

func (a *acker) Ack(_ context.Context, b connectors.Batch, rejects []connectors.Reject) error {
	a.calls++
	if a.failAck {
		return fmt.Errorf("rename %s: permission denied", b.Done.Name)
	}
	a.acks = rejects
	return nil
}

// TestAckAfterCommit: the batch that finishes an input records it with
// its rejects in the transaction, then Ack gets every reject of the
// input, those of earlier batches too. A failed Ack fails the run but
// keeps what was applied; the next run acks again.
func TestAckAfterCommit(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	const key = "sha256:0123abcd"
	rowErr := func(line int) mapping.Item {
		return mapping.Item{Err: &mapping.RowError{Origin: "a.csv", Line: line, Reason: "bad row"}}
	}
	first := items(t, linkAnna)
	first = append(first, rowErr(3))
	second := append(items(t, order("W1", "web:anna", 120)), rowErr(9))
	done := &connectors.Unit{Key: key, Name: "a.csv", Rows: 4}
	src := &acker{failAck: true}
	src.fetchFunc = pages(map[connectors.Cursor]connectors.Batch{
		"":         {Items: first, Next: key + ":2", Unit: key, More: true},
		key + ":2": {Items: second, Next: key + ":4", Unit: key, Done: done},
	})
	e.addSource(d, "drop", src)
	reports, err := once(t, d)
	if err == nil || !strings.Contains(reports["drop"].Err.Error(), "after applying a.csv: rename a.csv") {
		t.Fatalf("Once: %v, %+v", err, reports["drop"])
	}
	if got := e.earned("shop", "web:anna"); got != 120 {
		t.Fatalf("anna earned %d: what a failed Ack follows is committed", got)
	}
	if _, ok, err := e.l.Unit(context.Background(), "drop", key); err != nil || !ok {
		t.Fatalf("unit recorded: %v %v", ok, err)
	}
	// After a failed Ack the source finishes the input again (README of
	// csvdrop): here the finishing batch comes again with nothing new.
	src.failAck = false
	src.fetchFunc = pages(map[connectors.Cursor]connectors.Batch{
		key + ":4": {Next: key + ":4", Unit: key, Done: done},
	})
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	if src.calls != 2 || len(src.acks) != 2 || src.acks[0].Line != 3 || src.acks[1].Line != 9 {
		t.Fatalf("%d acks, last with rejects %+v: want lines 3 and 9", src.calls, src.acks)
	}
	if got := e.earned("shop", "web:anna"); got != 120 {
		t.Fatalf("anna earned %d after the second finish", got)
	}
}

// TestRejectReasonsMaskCards: the reason of a refused fact names it with
// its card numbers masked, in the ledger and in the log.
func TestRejectReasonsMaskCards(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	core, logs := observer.New(zap.WarnLevel)
	e.log = zap.New(core)
	e.apply(linkAnna, linkBea, `{"type":"link","known":"web:bea","other":"card:0420009999"}`)
	d := e.daemon()
	e.addSource(d, "links", pages(map[connectors.Cursor]connectors.Batch{"": {Items: items(t,
		`{"type":"link","known":"web:anna","other":"card:0420009999"}`,
		`{"type":"link","known":"Card: 0420009999","other":"web:anna"}`,
	), Next: "1"}}))
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	rej, err := e.l.Rejects(context.Background(), "links", "")
	if err != nil || len(rej) != 2 {
		t.Fatalf("rejects %+v %v", rej, err)
	}
	for i, want := range []string{"link web:anna card:******9999: ", "link Card:******9999 web:anna: "} {
		if !strings.HasPrefix(rej[i].Reason, want) || strings.Contains(rej[i].Reason, "0420009999") {
			t.Errorf("reason %q, want it to begin %q and hold no whole card number", rej[i].Reason, want)
		}
	}
	for _, l := range logs.All() {
		if strings.Contains(fmt.Sprint(l.ContextMap()), "0420009999") {
			t.Errorf("log %q %v holds a whole card number", l.Message, l.ContextMap())
		}
	}
	if logs.FilterMessage("row rejected").Len() != 2 {
		t.Fatalf("logs %v", logs.All())
	}
}

// TestRefusedAfterWritesLeavesNothing: a fact refused after it wrote (a
// till receipt of a new card: the card's customer created, then an
// accrual over the ledger's limit refused) leaves none of its writes, in
// the batch applied without savepoints and in the one applied again with
// them; the facts around it apply, and so do the next batches.
func TestRefusedAfterWritesLeavesNothing(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	e.addSource(d, "shop", pages(map[connectors.Cursor]connectors.Batch{
		"":  {Items: items(t, receipt("1", "0420001234", 100), receipt("2", "0420005555", 2_000_000_000_000_000), receipt("3", "0420001234", 20)), Next: "1", More: true},
		"1": {Items: items(t, receipt("4", "0420001234", 40)), Next: "2"},
	}))
	reports, err := once(t, d)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports["shop"]; r.Rows != 3 || r.Rejected != 1 {
		t.Fatalf("report %+v: want 3 applied, 1 rejected", r)
	}
	if got := e.earned("card", "card:0420001234"); got != 800 {
		t.Fatalf("card 1234 earned %d, want 800 (receipts 1, 3 and 4)", got)
	}
	if _, known := e.balance("card", "card:0420005555"); known {
		t.Fatal("the refused receipt's card was created: its writes stayed")
	}
	rej, err := e.l.Rejects(context.Background(), "shop", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || !strings.Contains(rej[0].Reason, "beyond the limit") {
		t.Fatalf("stored rejects %+v", rej)
	}
	if c := e.cursor("shop"); c != "2" {
		t.Fatalf("cursor %q", c)
	}
}

// TestReadAhead: on SQLite a step reads the source's next batches ahead
// and applies them in one transaction; when a write waits it commits
// after the batch it is at, and the next step applies the batches read
// ahead without reading them again.
func TestReadAhead(t *testing.T) {
	for _, tt := range []struct {
		name        string
		yieldAt     int // the yield that says commit now (1-based); 0: none
		wantCommits int
	}{
		{"nobody waits: one transaction", 0, 1},
		{"a write waits before the second batch", 1, 2},
		{"a write waits before the third batch", 2, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
			d := e.daemon()
			var fetches atomic.Int64
			src := pages(map[connectors.Cursor]connectors.Batch{
				"":  {Items: items(t, linkAnna, order("W1", "web:anna", 100)), Next: "1", More: true},
				"1": {Items: items(t, order("W2", "web:anna", 20)), Next: "2", More: true},
				"2": {Items: items(t, order("W3", "web:anna", 3)), Next: "3"},
			})
			_, sj := e.addSourceJob(d, "shop", fetchFunc(func(ctx context.Context, after connectors.Cursor, limit int) (connectors.Batch, error) {
				fetches.Add(1)
				return src(ctx, after, limit)
			}))
			yields := 0
			sj.yield = func(*ledger.Tx) bool {
				yields++
				return yields == tt.yieldAt
			}
			var commits atomic.Int64
			e.l.OnCommit(func(w map[ledger.Written]int) {
				if len(w) > 0 {
					commits.Add(1) // the source's: the others write no movement
				}
			})
			if _, err := once(t, d); err != nil {
				t.Fatal(err)
			}
			if got := e.earned("shop", "web:anna"); got != 123 {
				t.Fatalf("anna earned %d, want 123", got)
			}
			if c := e.cursor("shop"); c != "3" {
				t.Fatalf("cursor %q, want 3", c)
			}
			if n := commits.Load(); n != int64(tt.wantCommits) {
				t.Fatalf("%d transactions wrote movements, want %d", n, tt.wantCommits)
			}
			if n := fetches.Load(); n != 3 {
				t.Fatalf("%d fetches, want 3: each page once, and none again after a commit for a waiting write", n)
			}
		})
	}
}

// TestReadAheadFetchFails: a fetch that fails after batches were read
// ahead does not lose them: they apply, then the job fails with the error
// (even if the source would answer the next fetch: csvdrop drops a file
// that changed while it was read, and reads it afresh) and its next run
// reads again from after them.
func TestReadAheadFetchFails(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	var broken atomic.Bool
	broken.Store(true)
	src := pages(map[connectors.Cursor]connectors.Batch{
		"":  {Items: items(t, linkAnna, order("W1", "web:anna", 100)), Next: "1", More: true},
		"1": {Items: items(t, order("W2", "web:anna", 20)), Next: "2"},
	})
	e.addSource(d, "shop", fetchFunc(func(ctx context.Context, after connectors.Cursor, limit int) (connectors.Batch, error) {
		if after == "1" && broken.CompareAndSwap(true, false) {
			return connectors.Batch{}, errors.New("the webservice answered 503")
		}
		return src(ctx, after, limit)
	}))
	reports, err := once(t, d)
	if err == nil || !strings.Contains(reports["shop"].Err.Error(), "fetch: the webservice answered 503") {
		t.Fatalf("Once: %v, %+v: the failed fetch must fail the job", err, reports["shop"])
	}
	if got, c := e.earned("shop", "web:anna"), e.cursor("shop"); got != 100 || c != "1" {
		t.Fatalf("anna earned %d, cursor %q: the batch read before the failure applies (100, 1)", got, c)
	}
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	if got, c := e.earned("shop", "web:anna"), e.cursor("shop"); got != 120 || c != "2" {
		t.Fatalf("anna earned %d, cursor %q after the next run: want 120, 2", got, c)
	}
}

// TestReadAheadAckAfterItsCommit: an input's last batch read ahead and
// left for a waiting write is acknowledged only once the transaction
// that applies it has committed, with every reject of the input.
func TestReadAheadAckAfterItsCommit(t *testing.T) {
	e := newEnv(t, "daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}\n")
	d := e.daemon()
	const key = "sha256:0123abcd"
	bad := mapping.Item{Err: &mapping.RowError{Origin: "a.csv", Line: 3, Reason: "bad row"}}
	done := &connectors.Unit{Key: key, Name: "a.csv", Rows: 4}
	src := &acker{}
	src.fetchFunc = pages(map[connectors.Cursor]connectors.Batch{
		"":         {Items: append(items(t, linkAnna), bad), Next: key + ":2", Unit: key, More: true},
		key + ":2": {Items: items(t, order("W1", "web:anna", 120)), Next: key + ":4", Unit: key, Done: done},
	})
	var cursorAtAck string
	acks := &ackSpy{acker: src, before: func() { cursorAtAck = e.cursor("drop") }}
	_, sj := e.addSourceJob(d, "drop", acks)
	sj.yield = func(*ledger.Tx) bool { return true } // a write waits before every batch but the first
	if _, err := once(t, d); err != nil {
		t.Fatal(err)
	}
	if src.calls != 1 || cursorAtAck != key+":4" {
		t.Fatalf("%d acks, the ledger's cursor at the ack %q: want one, after the last batch committed (%s:4)", src.calls, cursorAtAck, key)
	}
	if len(src.acks) != 1 || src.acks[0].Line != 3 {
		t.Fatalf("rejects acknowledged %+v: want the one of the first batch (line 3)", src.acks)
	}
	if got := e.earned("shop", "web:anna"); got != 120 {
		t.Fatalf("anna earned %d, want 120", got)
	}
}

// ackSpy runs before ahead of an acker's Ack.
type ackSpy struct {
	*acker
	before func()
}

func (a *ackSpy) Ack(ctx context.Context, b connectors.Batch, rejects []connectors.Reject) error {
	a.before()
	return a.acker.Ack(ctx, b, rejects)
}
