package csvdrop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

// thousandRows is a till file of 1,000 one-row receipts whose row n
// (1-based, so line n+1) is made bad by bad.
func thousandRows(n int, bad func(row string) string) string {
	lines := strings.SplitAfter(receiptFile(1000, 1), "\r\n")
	lines[n] = bad(lines[n])
	return strings.Join(lines, "")
}

func TestE13OneBadRowOfAThousand(t *testing.T) {
	tests := []struct {
		name   string
		bad    func(string) string
		column string
		reason string
	}{
		{"bad amount", func(r string) string { return strings.Replace(r, ";500,01;", ";500,0x;", 1) }, "gross", "is not a number"},
		{"short row", func(r string) string { return r[:strings.LastIndexByte(r[:len(r)-2], ';')] + "\r\n" }, "", "the row has 7 fields but the header has 8"},
		{"bad quote", func(r string) string { return strings.Replace(r, ";A1;", ";A\"1;", 1) }, "", "a quote inside a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, nil)
			d.drop("store.csv", thousandRows(500, tt.bad), time.Minute)
			d.run(100)
			if got := len(d.facts()); got != 999 {
				t.Fatalf("%d facts, want 999", got)
			}
			u, ok := d.unitByName("store.csv")
			if !ok || u.Rows != 1000 {
				t.Fatalf("unit %+v (%v), want 1000 rows", u, ok)
			}
			rej := d.rejects[u.Key]
			if len(rej) != 1 || rej[0].Line != 501 || rej[0].Column != tt.column || !strings.Contains(rej[0].Reason, tt.reason) {
				t.Fatalf("rejects %+v, want one at line 501, column %q, reason %q", rej, tt.column, tt.reason)
			}
			for _, f := range d.facts() {
				if f.Receipt.Receipt == "500" {
					t.Fatal("the bad receipt was applied")
				}
			}
			want := []string{d.archived("store.csv"), d.archived("store.csv.errors.csv")}
			if got := d.tree(); !reflect.DeepEqual(got, want) {
				t.Fatalf("tree %v, want %v", got, want)
			}
			report := d.read(d.archived("store.csv.errors.csv"))
			if !strings.HasPrefix(report, "\ufeffline;column;value;reason\r\n501;"+tt.column+";") || !strings.Contains(report, tt.reason) {
				t.Errorf("report:\n%s", report)
			}
			if !d.logged("drop file finished") {
				t.Error("finishing the file was not logged")
			}
		})
	}
}

func TestE13SameContentTwice(t *testing.T) {
	content := receiptFile(5, 2)
	t.Run("one after the other", func(t *testing.T) {
		d := newDaemon(t, nil)
		d.drop("monday.csv", content, time.Minute)
		d.run(3)
		d.drop("monday-again.csv", content, time.Minute)
		d.run(3)
		d.drop("tuesday.csv", receiptFile(2, 1), time.Minute)
		d.run(3)
		if got := len(d.facts()); got != 5+2 {
			t.Fatalf("%d facts, want 7: the copy credited again", got)
		}
		want := []string{d.archived("monday-again.csv"), d.archived("monday.csv"), d.archived("tuesday.csv")}
		if got := d.tree(); !reflect.DeepEqual(got, want) {
			t.Fatalf("tree %v, want %v", got, want)
		}
		if !d.logged("duplicate") {
			t.Error("the duplicate was not logged as such")
		}
	})
	t.Run("both in the inbox at once", func(t *testing.T) {
		d := newDaemon(t, nil)
		d.drop("a.csv", content, time.Minute)
		d.drop("b.csv", content, time.Minute)
		d.run(100)
		if got := len(d.facts()); got != 5 {
			t.Fatalf("%d facts, want 5", got)
		}
		last := d.batches[len(d.batches)-1]
		if last.Done == nil || last.Done.Name != "b.csv" || len(last.Items) != 0 {
			t.Fatalf("last batch %+v, want b.csv done with no items", last)
		}
	})
	t.Run("duplicate with rejects writes no report", func(t *testing.T) {
		d := newDaemon(t, nil)
		bad := thousandRows(3, func(r string) string { return strings.Replace(r, ";3,01;", ";x;", 1) })
		d.drop("a.csv", bad, time.Minute)
		d.drop("b.csv", bad, time.Minute)
		d.run(500)
		want := []string{d.archived("a.csv"), d.archived("a.csv.errors.csv"), d.archived("b.csv")}
		if got := d.tree(); !reflect.DeepEqual(got, want) {
			t.Fatalf("tree %v, want %v", got, want)
		}
	})
}

func TestRejectFileMode(t *testing.T) {
	rejectFile := func(o *Options) { o.RejectFile = true }
	t.Run("one bad row refuses the whole file", func(t *testing.T) {
		d := newDaemon(t, rejectFile)
		d.drop("store.csv", thousandRows(10, func(r string) string { return strings.Replace(r, ";10,01;", ";dieci;", 1) }), time.Minute)
		d.run(7)
		if got := len(d.facts()); got != 0 {
			t.Fatalf("%d facts applied from a rejected file", got)
		}
		u, _ := d.unitByName("store.csv")
		if rej := d.rejects[u.Key]; len(rej) != 1 || rej[0].Line != 11 || rej[0].Column != "gross" {
			t.Fatalf("rejects %+v, want line 11 gross", rej)
		}
		want := []string{"rejected/store.csv", "rejected/store.csv.errors.csv"}
		if got := d.tree(); !reflect.DeepEqual(got, want) {
			t.Fatalf("tree %v, want %v", got, want)
		}
		if !d.logged("drop file rejected") {
			t.Error("the rejection was not logged")
		}
	})
	t.Run("a clean file is applied", func(t *testing.T) {
		d := newDaemon(t, rejectFile)
		d.drop("store.csv", receiptFile(10, 3), time.Minute)
		d.run(4)
		if got := len(d.facts()); got != 10 {
			t.Fatalf("%d facts, want 10", got)
		}
		if got := d.tree(); !reflect.DeepEqual(got, []string{d.archived("store.csv")}) {
			t.Fatalf("tree %v", got)
		}
	})
	t.Run("more bad rows than listed", func(t *testing.T) {
		d := newDaemon(t, rejectFile)
		var b strings.Builder
		b.WriteString("negozio;cassa;scontrino;data_ora;tessera;importo\r\n")
		for i := 1; i <= maxListed+5; i++ {
			fmt.Fprintf(&b, "S1;T1;%d;15/01/2026 10:00;0420001;x\r\n", i)
		}
		d.drop("bad.csv", b.String(), time.Minute)
		d.run(3000)
		u, _ := d.unitByName("bad.csv")
		rej := d.rejects[u.Key]
		if len(rej) != maxListed+1 {
			t.Fatalf("%d rejects, want %d and a summary", len(rej), maxListed)
		}
		last := rej[len(rej)-1]
		if last.Line != maxListed+2 || !strings.Contains(last.Reason, "5 more bad rows") {
			t.Fatalf("summary %+v", last)
		}
	})
}

func TestYoungAndGrowingFiles(t *testing.T) {
	t.Run("too young", func(t *testing.T) {
		d := newDaemon(t, nil)
		d.drop("new.csv", receiptFile(1, 1), time.Second)
		if b := d.fetch(10); !d.idle(b) {
			t.Fatalf("a file 1s old was taken: %+v", b)
		}
		if lag, err := d.src.Lag(context.Background(), d.clock.now()); err != nil || lag != time.Second {
			t.Fatalf("Lag %v, %v; want 1s", lag, err)
		}
		d.clock.add(4 * time.Second)
		if b := d.fetch(10); b.Done == nil || len(b.Items) != 1 {
			t.Fatalf("a file 5s old was not taken: %+v", b)
		}
	})
	t.Run("growing between scan and move", func(t *testing.T) {
		d := newDaemon(t, nil)
		d.drop("grow.csv", receiptFile(1, 1), time.Minute)
		d.src.restatHook = func(path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString("S1;T1;2;15/01/2026 10:02;0420000002;A1;2,01;1\r\n"); err != nil {
				t.Fatal(err)
			}
			// Same mtime: only the size tells.
			mt := d.clock.now().Add(-time.Minute)
			if err := os.Chtimes(path, mt, mt); err != nil {
				t.Fatal(err)
			}
		}
		if b := d.fetch(10); !d.idle(b) {
			t.Fatalf("a file growing at the move was taken: %+v", b)
		}
		if got := d.tree(); !reflect.DeepEqual(got, []string{"inbox/grow.csv"}) {
			t.Fatalf("tree %v", got)
		}
		d.src.restatHook = nil
		d.run(10)
		if got := len(d.facts()); got != 2 {
			t.Fatalf("%d facts, want the 2 rows of the whole file", got)
		}
	})
	t.Run("marker", func(t *testing.T) {
		d := newDaemon(t, func(o *Options) { o.Marker = ".ok" })
		d.drop("a.csv", receiptFile(1, 1), 0)
		d.drop("b.csv", receiptFile(2, 1), time.Hour)
		d.drop("b.csv.ok", "", 2*time.Hour) // left from an earlier b.csv
		d.drop("c.csv", receiptFile(3, 1), time.Hour)
		if b := d.fetch(10); !d.idle(b) {
			t.Fatalf("taken without a marker, or with a stale one: %+v", b)
		}
		d.drop("A.CSV.OK", "", 0) // written just now, after the file, by a Windows till
		d.run(10)
		if got := len(d.facts()); got != 1 {
			t.Fatalf("%d facts, want the one of a.csv (its marker makes age irrelevant)", got)
		}
		want := []string{d.archived("a.csv"), "inbox/b.csv", "inbox/b.csv.ok", "inbox/c.csv"}
		if got := d.tree(); !reflect.DeepEqual(got, want) {
			t.Fatalf("tree %v, want %v (the marker removed)", got, want)
		}
	})
}

// receiptsWithBadRows is a file of multi-line receipts with bad rows in
// several places, one cutting a receipt in two.
func receiptsWithBadRows() string {
	lines := strings.SplitAfter(receiptFile(12, 3), "\r\n")
	lines[5] = "S1;T1;2;short\r\n"                                    // middle line of receipt 2
	lines[13] = strings.Replace(lines[13], ";5,01;", ";5,0x;", 1)     // receipt 5: bad amount
	lines[21] = "S1;T1;7;15/01/2026 10:07;04200\"00007;A3;7,03;3\r\n" // receipt 7's last line: a bare quote
	return strings.Join(lines, "")
}

// TestCrashResume stops the process after every possible batch, before
// the daemon commits it, and goes on with a new Source from the committed
// cursor: what is applied is what one uninterrupted run applies.
func TestCrashResume(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts func(*Options)
	}{
		{"quarantine", nil},
		{"reject_file", func(o *Options) { o.RejectFile = true }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			// d.csv ends with a line of its first receipt again: refused
			// only if the rows before the cursor are read again too.
			repeat := receiptFile(6, 2)
			repeat += strings.SplitAfter(repeat, "\r\n")[1]
			files := map[string]string{"a.csv": receiptsWithBadRows(), "b.csv": receiptFile(7, 2), "c.csv": receiptFile(7, 2), "d.csv": repeat}
			ref := newDaemon(t, mode.opts)
			for n, c := range files {
				ref.drop(n, c, time.Minute)
			}
			const limit = 2
			ref.run(limit)
			if len(ref.batches) < 8 {
				t.Fatalf("only %d batches: the test needs files spanning many", len(ref.batches))
			}
			for crash := 0; crash < len(ref.batches); crash++ {
				d := newDaemon(t, mode.opts)
				for n, c := range files {
					d.drop(n, c, time.Minute)
				}
				for range crash {
					if _, ok := d.step(limit); !ok {
						t.Fatal("ran dry before the crash point")
					}
				}
				d.fetch(limit) // fetched, never committed
				d.restart()
				d.run(limit)
				if !reflect.DeepEqual(d.items, ref.items) {
					t.Fatalf("crash after batch %d: items differ from an uninterrupted run\ngot  %v\nwant %v", crash, summary(d), summary(ref))
				}
				// A copy taken from the inbox just before the crash is found
				// in processing/ afterwards, its content the cursor's: it is
				// finished as the cursor's own file (Rows counted), not as a
				// duplicate, with nothing applied either way.
				if !reflect.DeepEqual(names(d.units), names(ref.units)) || !reflect.DeepEqual(d.tree(), ref.tree()) {
					t.Fatalf("crash after batch %d: units %v tree %v, want %v %v", crash, d.units, d.tree(), ref.units, ref.tree())
				}
			}
		})
	}
}

func names(units map[string]connectors.Unit) map[string]string {
	out := map[string]string{}
	for k, u := range units {
		out[k] = u.Name
	}
	return out
}

func summary(d *daemon) []string {
	var out []string
	for _, k := range d.unitKeys() {
		for _, it := range d.items[k] {
			s := fmt.Sprintf("%d:", it.Seq)
			if it.Fact != nil {
				s += it.Fact.Subject()
			} else {
				s += "err@" + fmt.Sprint(it.Line)
			}
			out = append(out, s)
		}
	}
	return out
}

// TestCrashBetweenCommitAndAck: the batch that finished a file is
// committed, the process stops before Ack. The next process finds the
// file in processing/, and Fetch from the committed cursor gives the
// finishing batch again with nothing in it to apply; Ack files it where
// the first Ack would have.
func TestCrashBetweenCommitAndAck(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(*Options)
		content string
		tree    func(d *daemon) []string
		facts   int
	}{
		{"finished with rejects", nil, receiptsWithBadRows(),
			func(d *daemon) []string { return []string{d.archived("f.csv"), d.archived("f.csv.errors.csv")} }, 9},
		{"bad header", nil, "negozio;cassa\r\nS1;T1\r\n",
			func(*daemon) []string { return []string{"rejected/f.csv", "rejected/f.csv.errors.csv"} }, 0},
		{"reject_file", func(o *Options) { o.RejectFile = true }, receiptsWithBadRows(),
			func(*daemon) []string { return []string{"rejected/f.csv", "rejected/f.csv.errors.csv"} }, 0},
		{"header only", nil, "negozio;cassa;scontrino;data_ora;tessera;importo\r\n",
			func(d *daemon) []string { return []string{d.archived("f.csv")} }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, tt.opts)
			d.drop("f.csv", tt.content, time.Minute)
			for {
				b := d.fetch(3)
				d.commit(b)
				if b.Done != nil {
					break
				}
				d.ack(b)
			}
			applied := len(d.items[d.cursorUnit()])
			d.restart()
			if got := d.tree(); !reflect.DeepEqual(got, []string{"processing/f.csv"}) {
				t.Fatalf("tree %v before the second Ack", got)
			}
			cursor := d.cursor
			b := d.fetch(3)
			if b.Done == nil || len(b.Items) != 0 || b.Next != cursor {
				t.Fatalf("after the crash: %+v, want the finishing batch again, empty, cursor %q", b, cursor)
			}
			d.commit(b)
			d.ack(b)
			if got := len(d.items[d.cursorUnit()]); got != applied {
				t.Fatalf("%d items after the second run, want %d", got, applied)
			}
			if got := len(d.facts()); got != tt.facts {
				t.Fatalf("%d facts, want %d", got, tt.facts)
			}
			if got, want := d.tree(), tt.tree(d); !reflect.DeepEqual(got, want) {
				t.Fatalf("tree %v, want %v", got, want)
			}
			if b := d.fetch(3); !d.idle(b) {
				t.Fatalf("after the Ack: %+v", b)
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		d := newDaemon(t, nil)
		d.drop("a.csv", receiptFile(2, 1), time.Minute)
		d.run(10)
		d.drop("b.csv", receiptFile(2, 1), time.Minute)
		b := d.fetch(10)
		d.commit(b)
		d.restart()
		b = d.fetch(10)
		if b.Done == nil || b.Done.Name != "b.csv" || len(b.Items) != 0 {
			t.Fatalf("%+v", b)
		}
		d.commit(b)
		d.ack(b)
		if got, want := d.tree(), []string{d.archived("a.csv"), d.archived("b.csv")}; !reflect.DeepEqual(got, want) {
			t.Fatalf("tree %v, want %v", got, want)
		}
	})
	t.Run("moved to processing, nothing committed", func(t *testing.T) {
		d := newDaemon(t, nil)
		d.drop("a.csv", receiptFile(4, 1), time.Minute)
		d.fetch(2)
		d.restart()
		d.run(2)
		if got := len(d.facts()); got != 4 {
			t.Fatalf("%d facts, want 4", got)
		}
	})
}

// cursorUnit is the unit key the cursor names.
func (d *daemon) cursorUnit() string {
	c := string(d.cursor)
	return c[:strings.LastIndexByte(c, ':')]
}

func TestLimitNeverSplitsAGroup(t *testing.T) {
	content := receiptsWithBadRows()
	ref := newDaemon(t, nil)
	ref.drop("f.csv", content, time.Minute)
	ref.run(1000)
	if len(ref.batches) != 1 {
		t.Fatalf("%d batches with a large limit, want 1", len(ref.batches))
	}
	for limit := 1; limit <= 6; limit++ {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			d := newDaemon(t, nil)
			d.drop("f.csv", content, time.Minute)
			d.run(limit) // checkBatch holds each batch to the limit
			if !reflect.DeepEqual(d.items, ref.items) {
				t.Fatalf("items differ from one batch:\ngot  %v\nwant %v", summary(d), summary(ref))
			}
			for _, b := range d.batches[:len(d.batches)-1] {
				if len(b.Items) != limit {
					t.Fatalf("a batch of %d items before the last, limit %d", len(b.Items), limit)
				}
			}
			for _, f := range d.facts() {
				if n := len(f.Receipt.Lines); n != 3 {
					t.Fatalf("%s applied with %d lines, want 3", f.Subject(), n)
				}
			}
		})
	}
}

func TestReceiptCutByUnreadableRow(t *testing.T) {
	d := newDaemon(t, nil)
	d.drop("f.csv", receiptsWithBadRows(), time.Minute)
	d.run(5)
	var got []string
	for _, f := range d.facts() {
		got = append(got, f.Receipt.Receipt)
	}
	// 2 is cut by its middle line, 5 has a bad amount, 7's last line is
	// unreadable but still names it; 8, after that line, is whole.
	want := []string{"1", "3", "4", "6", "8", "9", "10", "11", "12"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("receipts applied %v, want %v", got, want)
	}
}

func TestAck(t *testing.T) {
	d := newDaemon(t, nil)
	d.drop("a.csv", receiptFile(2, 1), time.Minute)
	b := d.fetch(10)
	d.commit(b)
	ctx := context.Background()
	if err := d.src.Ack(ctx, connectors.Batch{Next: b.Next}, nil); err != nil {
		t.Fatalf("Ack of a batch without Done: %v", err)
	}
	if got := d.tree(); !reflect.DeepEqual(got, []string{"processing/a.csv"}) {
		t.Fatalf("Ack without Done moved something: %v", got)
	}
	bad := b
	bad.Done = &connectors.Unit{Key: b.Done.Key, Name: "../a.csv"}
	if err := d.src.Ack(ctx, bad, nil); err == nil {
		t.Fatal("Ack of ../a.csv succeeded")
	}
	other := b
	other.Done = &connectors.Unit{Key: "sha256:00", Name: "a.csv"}
	if err := d.src.Ack(ctx, other, nil); err == nil || !strings.Contains(err.Error(), "fetch again") {
		t.Fatalf("Ack of a unit not read: %v", err)
	}
	d.ack(b)
	d.ack(b) // again: already moved
	d.restart()
	d.ack(b) // again, from a new process
	if got := d.tree(); !reflect.DeepEqual(got, []string{d.archived("a.csv")}) {
		t.Fatalf("tree %v", got)
	}
}

func TestArchiveNameCollision(t *testing.T) {
	d := newDaemon(t, nil)
	for i := 1; i <= 3; i++ {
		content := thousandRows(i, func(r string) string { return strings.Replace(r, ";A1;", ";A1;x;", 1) })
		d.drop("store.csv", content, time.Minute)
		d.run(2000)
	}
	want := []string{
		d.archived("store-2.csv"), d.archived("store-2.csv.errors.csv"),
		d.archived("store-3.csv"), d.archived("store-3.csv.errors.csv"),
		d.archived("store.csv"), d.archived("store.csv.errors.csv"),
	}
	if got := d.tree(); !reflect.DeepEqual(got, want) {
		t.Fatalf("tree %v, want %v", got, want)
	}
	if r := d.read(d.archived("store-3.csv.errors.csv")); !strings.Contains(r, "\r\n4;;;") {
		t.Errorf("store-3's report does not name its own bad line 4:\n%s", r)
	}
}

func TestFileChangedAfterRead(t *testing.T) {
	d := newDaemon(t, nil)
	d.drop("a.csv", receiptFile(2, 1), time.Minute)
	b := d.fetch(10)
	d.commit(b)
	f, err := os.OpenFile(d.path("processing/a.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("S1;T1;3;15/01/2026 10:03;0420000003;A1;3,01;1\r\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := d.src.Ack(context.Background(), b, nil); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("Ack of a file written after it was read: %v", err)
	}
	if got := d.tree(); !reflect.DeepEqual(got, []string{"processing/a.csv"}) {
		t.Fatalf("tree %v", got)
	}
	d.run(10)
	if got := len(d.facts()); got != 2+3 {
		t.Fatalf("%d facts, want 2 then the 3 of the whole file (the first 2 again, which facts' idempotency absorbs)", got)
	}
	if got := d.tree(); !reflect.DeepEqual(got, []string{d.archived("a.csv")}) {
		t.Fatalf("tree %v", got)
	}
}

// A line too long to read ends the file's reading: what comes before is
// applied, unless the line names the receipt just before it, which then
// may miss a line.
func TestUnreadableTail(t *testing.T) {
	tests := []struct {
		name    string
		receipt string
		facts   int
		rejects []string
	}{
		{"a new receipt", "4", 3, []string{"5: the file cannot be read past this line"}},
		{"the last receipt goes on", "3", 2, []string{"4: receipt S1/T1/3 is not applied: the unreadable row at line 5 names it too", "5: the file cannot be read past this line"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, nil)
			content := receiptFile(3, 1) + "S1;T1;" + tt.receipt + ";" + strings.Repeat("x", csvio.MaxRecordBytes+100<<10) + "\r\n" + "S1;T1;5;15/01/2026 10:00;1;A;1,00;1\r\n"
			d.drop("f.csv", content, time.Minute)
			d.run(2)
			if got := len(d.facts()); got != tt.facts {
				t.Fatalf("%d facts, want %d", got, tt.facts)
			}
			u, _ := d.unitByName("f.csv")
			var got []string
			for _, r := range d.rejects[u.Key] {
				got = append(got, fmt.Sprintf("%d: %s", r.Line, r.Reason))
			}
			if len(got) != len(tt.rejects) {
				t.Fatalf("rejects %q, want %q", got, tt.rejects)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.rejects[i]) {
					t.Fatalf("reject %q, want %q...", got[i], tt.rejects[i])
				}
			}
			if got := d.tree(); !reflect.DeepEqual(got, []string{"rejected/f.csv", "rejected/f.csv.errors.csv"}) {
				t.Fatalf("tree %v", got)
			}
		})
	}
}

func TestSeenFails(t *testing.T) {
	fail := true
	d := newDaemon(t, nil)
	seen := d.src.o.Seen
	d.opts = func(o *Options) {
		o.Seen = func(ctx context.Context, key string) (bool, error) {
			if fail {
				return false, errors.New("database is locked")
			}
			return seen(ctx, key)
		}
	}
	d.restart()
	d.drop("a.csv", receiptFile(2, 1), time.Minute)
	if _, err := d.src.Fetch(context.Background(), "", 10); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("Fetch with Seen failing: %v", err)
	}
	fail = false
	d.run(10)
	if got := len(d.facts()); got != 2 {
		t.Fatalf("%d facts, want 2", got)
	}
}

func TestMore(t *testing.T) {
	d := newDaemon(t, nil)
	d.drop("a.csv", receiptFile(2, 1), time.Minute)
	d.drop("b.csv", receiptFile(3, 1), time.Minute)
	b, _ := d.step(1)
	if !b.More || b.Done != nil {
		t.Fatalf("first batch %+v, want more of a.csv", b)
	}
	b, _ = d.step(1)
	if !b.More || b.Done == nil {
		t.Fatalf("a.csv's last batch %+v, want Done and More (b.csv waits)", b)
	}
	d.run(10)
	if b := d.batches[len(d.batches)-1]; b.More || b.Done == nil || b.Done.Name != "b.csv" {
		t.Fatalf("last batch %+v, want b.csv done, nothing more", b)
	}
}

func TestLag(t *testing.T) {
	d := newDaemon(t, nil)
	ctx := context.Background()
	if lag, err := d.src.Lag(ctx, d.clock.now()); err != nil || lag != 0 {
		t.Fatalf("empty: %v %v", lag, err)
	}
	d.drop("notes.txt", "not a drop", 48*time.Hour)
	d.drop("x.csv.tmp", "being written", 48*time.Hour)
	d.drop("a.csv", receiptFile(1, 1), time.Hour)
	d.drop("b.csv", receiptFile(1, 1), 10*time.Minute)
	if lag, err := d.src.Lag(ctx, d.clock.now()); err != nil || lag != time.Hour {
		t.Fatalf("Lag %v %v, want 1h", lag, err)
	}
	d.fetch(1) // a.csv into processing
	if lag, _ := d.src.Lag(ctx, d.clock.now()); lag != time.Hour {
		t.Fatalf("Lag %v with a.csv in processing, want 1h", lag)
	}
	if lag, _ := d.src.Lag(ctx, d.clock.now().Add(-2*time.Hour)); lag != 0 {
		t.Fatalf("Lag %v for a clock before the files, want 0", lag)
	}
}

func TestNamesNeverTaken(t *testing.T) {
	d := newDaemon(t, nil)
	content := receiptFile(1, 1)
	for _, n := range []string{".hidden.csv", "a..csv", "x.csv.tmp", "x.csv.part", "r.errors.csv", "~$x.csv", "y.txt"} {
		d.drop(n, content, time.Minute)
	}
	if err := os.Mkdir(d.path("inbox/dir.csv"), 0o750); err != nil {
		t.Fatal(err)
	}
	target := d.path("outside.csv")
	if err := os.WriteFile(target, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, d.path("inbox/link.csv")); err != nil {
		t.Fatal(err)
	}
	if b := d.fetch(10); !d.idle(b) {
		t.Fatalf("taken: %+v", b)
	}
	if !d.logged("not taken") {
		t.Error("the odd names were not reported")
	}
	before := len(d.logs.All())
	d.fetch(10)
	if n := len(d.logs.FilterMessageSnippet("not taken").All()); n != 3 {
		t.Errorf("%d warnings after two scans, want 3 (a..csv, dir.csv, link.csv), once each; %d entries", n, before)
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	seen := func(context.Context, string) (bool, error) { return false, nil }
	base := func() Options { return Options{Name: "s", Dir: dir, Mapping: tillSpec(), Seen: seen} }
	tests := []struct {
		name string
		mut  func(*Options)
		want string
	}{
		{"no name", func(o *Options) { o.Name = " " }, "no name"},
		{"no dir", func(o *Options) { o.Dir = "" }, "dir is empty"},
		{"no seen", func(o *Options) { o.Seen = nil }, "Seen"},
		{"pattern with a folder", func(o *Options) { o.Pattern = "x/*.csv" }, "without folders"},
		{"bad pattern", func(o *Options) { o.Pattern = "[" }, "pattern"},
		{"negative age", func(o *Options) { o.MinAge = -time.Second }, "negative"},
		{"marker with a folder", func(o *Options) { o.Marker = "../ok" }, "marker"},
		{"bad dialect", func(o *Options) { o.Dialect.Delimiter = '"' }, "delimiter"},
		{"unknown header field", func(o *Options) { o.Headers = map[string]string{"colour": "Colore"} }, `unknown field "colour"`},
		{"empty header", func(o *Options) { o.Headers = map[string]string{"store": " "} }, "empty header"},
		{"ambiguous header", func(o *Options) { o.Headers = map[string]string{"store": "cassa"} }, "cassa"},
		{"unknown type", func(o *Options) { o.Mapping.Type = "coupon" }, "coupon"},
		{"no program", func(o *Options) { o.Mapping.Program = "" }, "program"},
		{"folder cannot be made", func(o *Options) { o.Dir = filepath.Join(dir, "file") }, "cannot create"},
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.mut(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error with %q", err, tt.want)
			}
		})
	}
	s, err := New(base())
	if err != nil {
		t.Fatal(err)
	}
	if s.o.Pattern != "*.csv" || s.o.MinAge != 5*time.Second || s.o.Clock == nil {
		t.Errorf("defaults: pattern %q, min age %v", s.o.Pattern, s.o.MinAge)
	}
	for _, sub := range []string{"inbox", "processing", "archive", "rejected"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			t.Errorf("%s not created: %v", sub, err)
		}
	}
}

func TestProbe(t *testing.T) {
	d := newDaemon(t, nil)
	if err := d.src.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := d.tree(); len(got) != 0 {
		t.Fatalf("Probe left %v", got)
	}
	if err := os.RemoveAll(d.path("archive")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.path("archive"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := d.src.Probe(context.Background()); err == nil || !strings.Contains(err.Error(), "archive") {
		t.Fatalf("Probe with a file for a folder: %v", err)
	}
}

func TestFetchArguments(t *testing.T) {
	d := newDaemon(t, nil)
	ctx := context.Background()
	if _, err := d.src.Fetch(ctx, "", 0); err == nil {
		t.Error("limit 0 accepted")
	}
	for _, c := range []string{"42", "sha256:abc:1", "sha256:" + strings.Repeat("A", 64) + ":1",
		"sha256:" + strings.Repeat("a", 64) + ":-1", "sha256:" + strings.Repeat("a", 64) + ":01", "sha256:" + strings.Repeat("a", 64)} {
		if _, err := d.src.Fetch(ctx, connectors.Cursor(c), 10); err == nil || !strings.Contains(err.Error(), "reset its cursor") {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
	h, seq, err := parseCursor(cursorOf(strings.Repeat("0f", 32), 1234))
	if err != nil || h != strings.Repeat("0f", 32) || seq != 1234 {
		t.Errorf("round trip: %q %d %v", h, seq, err)
	}
	if _, seq, err := parseCursor(""); err != nil || seq != -1 {
		t.Errorf("empty cursor: %d %v", seq, err)
	}
	if b := d.fetch(10); b.Next != "" || len(b.Items) != 0 || b.Done != nil || b.More {
		t.Errorf("empty inbox: %+v", b)
	}
}

// The card number in a header line (a file without a header) must not
// reach the log; the report keeps it for the operator.
func TestNoCardNumberInLogs(t *testing.T) {
	d := newDaemon(t, nil)
	d.drop("f.csv", "S1;T1;1;15/01/2026 10:00;0420009876543;1,00\r\n", time.Minute)
	d.run(10)
	for _, e := range d.logs.All() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), "0420009876543") {
			t.Fatalf("card number logged: %s %v", e.Message, e.ContextMap())
		}
	}
	if r := d.read("rejected/f.csv.errors.csv"); !strings.Contains(r, "0420009876543") {
		t.Errorf("report without the header as written:\n%s", r)
	}
}

func TestColumns(t *testing.T) {
	cols, grouped, err := columns(mapping.TypeTillReceipt, map[string]string{"card": "Numero Carta"})
	if err != nil || !grouped {
		t.Fatal(err, grouped)
	}
	i := slices.IndexFunc(cols, func(c csvio.Column) bool { return c.Name == "card" })
	if !reflect.DeepEqual(cols[i].Headers, []string{"Numero Carta"}) || !cols[i].Required {
		t.Errorf("card column %+v: the override replaces the built-in names", cols[i])
	}
	j := slices.IndexFunc(cols, func(c csvio.Column) bool { return c.Name == "store" })
	if cols[j].Headers[0] != "store" || !slices.Contains(cols[j].Headers, "negozio") {
		t.Errorf("store column %+v: its name and built-in headers", cols[j])
	}
	if _, grouped, _ := columns(mapping.TypeAction, nil); grouped {
		t.Error("actions are not grouped")
	}
}

// A file put in processing/ by hand beside the one the cursor is in the
// middle of waits: the cursor's file is finished first, not read again.
func TestLeftoverOfTheCursorFirst(t *testing.T) {
	d := newDaemon(t, nil)
	d.drop("b.csv", receiptFile(6, 1), time.Minute)
	d.step(2)
	if err := os.WriteFile(d.path("processing/a.csv"), []byte(receiptFile(3, 2)), 0o640); err != nil {
		t.Fatal(err)
	}
	d.restart()
	d.run(2)
	var got []string
	for _, f := range d.facts() {
		got = append(got, f.Receipt.Receipt)
	}
	if want := []string{"1", "2", "3", "4", "5", "6", "1", "2", "3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("receipts %v, want %v (b.csv once, then a.csv)", got, want)
	}
	if names := []string{d.units[d.order[0]].Name, d.units[d.order[1]].Name}; !reflect.DeepEqual(names, []string{"b.csv", "a.csv"}) {
		t.Fatalf("finished %v", names)
	}
}

// Lag is read by the daemon's status while a job runs.
func TestLagWhileFetching(t *testing.T) {
	d := newDaemon(t, nil)
	for i := range 5 {
		d.drop(fmt.Sprintf("f%d.csv", i), receiptFile(20+i, 2), time.Minute)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if _, err := d.src.Lag(ctx, d.clock.now()); err != nil && ctx.Err() == nil {
				done <- err
				return
			}
		}
	}()
	d.run(3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := len(d.facts()); got != 20+21+22+23+24 {
		t.Fatalf("%d facts, want 110", got)
	}
}

func TestCloseThenAck(t *testing.T) {
	d := newDaemon(t, nil)
	d.drop("a.csv", receiptFile(2, 1), time.Minute)
	b := d.fetch(10)
	d.commit(b)
	if err := d.src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.src.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := d.src.Ack(context.Background(), b, nil); err == nil || !strings.Contains(err.Error(), "fetch again") {
		t.Fatalf("Ack after Close: %v", err)
	}
	b = d.fetch(10)
	if b.Done == nil || len(b.Items) != 0 {
		t.Fatalf("after Close: %+v, want the finishing batch again", b)
	}
	d.ack(b)
	if got := d.tree(); !reflect.DeepEqual(got, []string{d.archived("a.csv")}) {
		t.Fatalf("tree %v", got)
	}
}

// A read error is the disk's, not the file's: Fetch fails and the file
// is read again later, not rejected.
func TestReadErrorIsNotARejection(t *testing.T) {
	content := receiptFile(5000, 1)
	ref := newDaemon(t, nil)
	ref.drop("f.csv", content, time.Minute)
	ref.run(10)

	d := newDaemon(t, nil)
	d.drop("f.csv", content, time.Minute)
	d.step(10)
	// What a failing disk looks like: the reads fail, the file is as it
	// was (a handle that cannot read stands in for Stat).
	old := d.src.cur.f
	wo, err := os.OpenFile(d.path("processing/f.csv"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	d.src.cur.f = wo
	old.Close()
	for range 1000 {
		var b connectors.Batch
		if b, err = d.src.Fetch(context.Background(), d.cursor, 10); err != nil {
			break
		}
		d.commit(b)
		if b.Done != nil {
			t.Fatalf("finished reading a file it could not read: %+v", b.Done)
		}
	}
	if err == nil || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Fetch: %v, want the read error", err)
	}
	if got := d.tree(); !reflect.DeepEqual(got, []string{"processing/f.csv"}) {
		t.Fatalf("tree %v", got)
	}
	d.restart()
	d.run(10)
	if !reflect.DeepEqual(d.items, ref.items) || !reflect.DeepEqual(d.tree(), ref.tree()) {
		t.Fatalf("after the read error: %d items, tree %v; want %d, %v", len(d.facts()), d.tree(), len(ref.facts()), ref.tree())
	}
}
