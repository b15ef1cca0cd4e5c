package csvdrop

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/mapping"
)

// clock is a settable Clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// daemon plays the daemon's part without a database: it keeps the
// cursor, the finished units and the rejects of each unit, and commits a
// batch by recording what it brought.
type daemon struct {
	t       testing.TB
	dir     string
	clock   *clock
	logs    *observer.ObservedLogs
	log     *zap.Logger
	opts    func(*Options)
	src     *Source
	cursor  connectors.Cursor
	units   map[string]connectors.Unit
	order   []string // unit keys in the order they finished
	rejects map[string][]connectors.Reject
	items   map[string][]mapping.Item // applied items by unit
	batches []connectors.Batch        // committed
}

func tillSpec() mapping.Spec {
	return mapping.Spec{Type: mapping.TypeTillReceipt, Program: "P1"}
}

// testNow is the clock's start: files get their times from it (drop), so
// archive folders and ages do not depend on the day the tests run.
var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.Local)

// newDaemon makes a drop folder under a temporary directory and a Source
// on it.
func newDaemon(t testing.TB, opts func(*Options)) *daemon {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	d := &daemon{
		t: t, dir: t.TempDir(), clock: &clock{t: testNow},
		logs: logs, log: zap.New(core), opts: opts,
		units: map[string]connectors.Unit{}, rejects: map[string][]connectors.Reject{}, items: map[string][]mapping.Item{},
	}
	d.restart()
	return d
}

func (d *daemon) options() Options {
	o := Options{
		Name: "shop", Dir: d.dir, Mapping: tillSpec(), Clock: d.clock.now, Logger: d.log,
		Seen: func(_ context.Context, key string) (bool, error) {
			_, ok := d.units[key]
			return ok, nil
		},
	}
	if d.opts != nil {
		d.opts(&o)
	}
	return o
}

// restart drops the Source as a crash would and makes a new one: what
// the old one held in memory is lost, the folders and the committed
// state stay.
func (d *daemon) restart() {
	d.t.Helper()
	if d.src != nil {
		d.src.Close()
	}
	s, err := New(d.options())
	if err != nil {
		d.t.Fatal(err)
	}
	d.src = s
}

func (d *daemon) fetch(limit int) connectors.Batch {
	d.t.Helper()
	b, err := d.src.Fetch(context.Background(), d.cursor, limit)
	if err != nil {
		d.t.Fatalf("Fetch(%q, %d): %v", d.cursor, limit, err)
	}
	d.checkBatch(b, limit)
	return b
}

// checkBatch holds for every batch: the limit (a group is never split),
// items in Seq order, the cursor after the last of them.
func (d *daemon) checkBatch(b connectors.Batch, limit int) {
	d.t.Helper()
	if len(b.Items) > limit {
		seq := b.Items[0].Seq
		for _, it := range b.Items {
			if it.Seq != seq {
				d.t.Fatalf("batch of %d items for limit %d, more than one group", len(b.Items), limit)
			}
		}
	}
	for i, it := range b.Items {
		if (it.Fact == nil) == (it.Err == nil) {
			d.t.Fatalf("item %d: fact %v, error %v: want exactly one", i, it.Fact, it.Err)
		}
		if i > 0 && it.Seq < b.Items[i-1].Seq {
			d.t.Fatalf("item %d: Seq %d after %d", i, it.Seq, b.Items[i-1].Seq)
		}
	}
	if len(b.Items) > 0 {
		if want := b.Unit + ":" + fmt.Sprint(b.Items[len(b.Items)-1].Seq); string(b.Next) != want {
			d.t.Fatalf("Next %q, want %q", b.Next, want)
		}
	}
	if b.Done != nil && b.Done.Key != b.Unit {
		d.t.Fatalf("Done %q in a batch of unit %q", b.Done.Key, b.Unit)
	}
}

// commit records a batch as the daemon's transaction does.
func (d *daemon) commit(b connectors.Batch) {
	for _, it := range b.Items {
		d.items[b.Unit] = append(d.items[b.Unit], it)
		if it.Err != nil {
			e := it.Err
			d.rejects[b.Unit] = append(d.rejects[b.Unit], connectors.Reject{Origin: e.Origin, Line: e.Line, Column: e.Column, Value: e.Value, Reason: e.Reason})
		}
	}
	if b.Done != nil {
		if _, ok := d.units[b.Done.Key]; !ok {
			d.order = append(d.order, b.Done.Key)
		}
		d.units[b.Done.Key] = *b.Done
	}
	d.cursor = b.Next
	d.batches = append(d.batches, b)
}

func (d *daemon) ack(b connectors.Batch) {
	d.t.Helper()
	if b.Done == nil {
		return
	}
	if err := d.src.Ack(context.Background(), b, d.rejects[b.Done.Key]); err != nil {
		d.t.Fatalf("Ack(%s): %v", b.Done.Name, err)
	}
}

// idle reports a batch that brings nothing, as the daemon tells it.
func (d *daemon) idle(b connectors.Batch) bool {
	return len(b.Items) == 0 && b.Done == nil && b.Next == d.cursor
}

// step fetches, commits and acks one batch; false when there was nothing.
func (d *daemon) step(limit int) (connectors.Batch, bool) {
	d.t.Helper()
	b := d.fetch(limit)
	if d.idle(b) {
		return b, false
	}
	d.commit(b)
	d.ack(b)
	return b, true
}

// run steps until the source has nothing more.
func (d *daemon) run(limit int) {
	d.t.Helper()
	for i := 0; ; i++ {
		if i > 100000 {
			d.t.Fatal("the source never runs dry")
		}
		if _, ok := d.step(limit); !ok {
			return
		}
	}
}

// facts are the facts applied, in order, over every unit.
func (d *daemon) facts() []mapping.Fact {
	var out []mapping.Fact
	for _, k := range d.unitKeys() {
		for _, it := range d.items[k] {
			if it.Fact != nil {
				out = append(out, *it.Fact)
			}
		}
	}
	return out
}

// unitKeys are the units that brought items, in the order their first
// batch was committed.
func (d *daemon) unitKeys() []string {
	var keys []string
	for _, b := range d.batches {
		if b.Unit != "" && !slices.Contains(keys, b.Unit) {
			keys = append(keys, b.Unit)
		}
	}
	return keys
}

func (d *daemon) unitByName(name string) (connectors.Unit, bool) {
	for _, k := range d.order {
		if u := d.units[k]; u.Name == name {
			return u, true
		}
	}
	return connectors.Unit{}, false
}

// path is a path under the drop folder's root.
func (d *daemon) path(rel string) string { return filepath.Join(d.dir, filepath.FromSlash(rel)) }

// drop writes a file in the inbox, modified age before the clock.
func (d *daemon) drop(name, content string, age time.Duration) {
	d.t.Helper()
	p := d.path("inbox/" + name)
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		d.t.Fatal(err)
	}
	mt := d.clock.now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		d.t.Fatal(err)
	}
}

// archived is the archive folder of the clock's day.
func (d *daemon) archived(name string) string {
	return "archive/" + d.clock.now().Local().Format("2006/01/02") + "/" + name
}

// tree lists the files under the root, relative, with "/".
func (d *daemon) tree() []string {
	d.t.Helper()
	var out []string
	err := filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(d.dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		d.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func (d *daemon) read(rel string) string {
	d.t.Helper()
	b, err := os.ReadFile(d.path(rel))
	if err != nil {
		d.t.Fatal(err)
	}
	return string(b)
}

// logged reports whether a log entry's message contains msg.
func (d *daemon) logged(msg string) bool {
	for _, e := range d.logs.All() {
		if strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

// receiptFile writes a till file of n receipts of lines rows each, with
// the header in Italian as tills write it.
func receiptFile(n, lines int) string {
	var b strings.Builder
	b.WriteString("negozio;cassa;scontrino;data_ora;tessera;articolo;importo;punti_guadagnati\r\n")
	for i := 1; i <= n; i++ {
		for l := 1; l <= lines; l++ {
			fmt.Fprintf(&b, "S1;T1;%d;15/01/2026 10:%02d;04200%05d;A%d;%d,%02d;%d\r\n", i, i%60, i, l, i, l, l)
		}
	}
	return b.String()
}
