package csvdrop

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/connectors"
)

// FuzzDropFile drops any bytes as a till file and reads it to the end
// through the daemon loop, with a crash after some batch: nothing panics,
// every batch keeps the limit and the cursor rules (checkBatch), the
// crash changes nothing that is applied, every fact is valid, and the
// file ends whole in archive/ or rejected/.
func FuzzDropFile(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "cases", "*", "inbox", "*"))
	for _, p := range inputs {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(3), uint8(1), false)
		f.Add(data, uint8(1), uint8(0), true)
	}
	f.Add([]byte(receiptsWithBadRows()), uint8(2), uint8(4), false)
	f.Add([]byte(receiptsWithBadRows()), uint8(2), uint8(1), true)
	f.Fuzz(func(t *testing.T, data []byte, limit, crash uint8, rejectFile bool) {
		lim := int(limit%8) + 1
		opts := func(o *Options) { o.RejectFile = rejectFile }
		ref := newDaemon(t, opts)
		ref.drop("f.csv", string(data), time.Minute)
		ref.run(lim)

		d := newDaemon(t, opts)
		d.drop("f.csv", string(data), time.Minute)
		for range int(crash) % (len(ref.batches) + 1) {
			d.step(lim)
		}
		d.fetch(lim)
		d.restart()
		d.run(lim)
		if !reflect.DeepEqual(d.items, ref.items) {
			t.Fatalf("after a crash: %v\nuninterrupted: %v", summary(d), summary(ref))
		}
		if len(d.units) != 1 {
			t.Fatalf("units %v, want the file's", d.units)
		}
		for _, f := range d.facts() {
			if err := f.Validate(); err != nil {
				t.Fatalf("invalid fact applied: %v", err)
			}
		}
		tree := d.tree()
		var file string
		for _, p := range tree {
			switch {
			case strings.HasSuffix(p, ".errors.csv"):
			case p == d.archived("f.csv") || p == "rejected/f.csv":
				file = p
			default:
				t.Fatalf("tree %v: %s is not where a finished file goes", tree, p)
			}
		}
		if file == "" {
			t.Fatalf("tree %v: the file is lost", tree)
		}
		if got := d.read(file); !bytes.Equal([]byte(got), data) {
			t.Fatalf("%s holds %d bytes, not the %d dropped", file, len(got), len(data))
		}
		if !reflect.DeepEqual(tree, ref.tree()) {
			t.Fatalf("tree %v after a crash, %v without", tree, ref.tree())
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	f.Add("")
	f.Add(string(cursorOf(strings.Repeat("ab", 32), 17)))
	f.Add("sha256:" + strings.Repeat("0", 64) + ":00")
	f.Add("sha256::1")
	f.Fuzz(func(t *testing.T, c string) {
		h, seq, err := parseCursor(connectors.Cursor(c))
		if err != nil {
			return
		}
		if c == "" {
			if h != "" || seq != -1 {
				t.Fatalf("empty cursor: %q %d", h, seq)
			}
			return
		}
		if got := string(cursorOf(h, seq)); got != c {
			t.Fatalf("%q read as %q %d, written back as %q", c, h, seq, got)
		}
	})
}

// FuzzLineTracker reads any bytes in chunks of any size: the lines kept
// are those of the input, numbered as csvio numbers them.
func FuzzLineTracker(f *testing.F) {
	f.Add([]byte("\ufeffsep=;\r\nh;k\r\n1;2\r\n3;\"4\n5\"\r\n"), uint8(3))
	f.Add([]byte("a;b\nc"), uint8(1))
	f.Add([]byte(strings.Repeat("x", 2*trackBytes)+"\n;y"), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		lt := &lineTracker{r: bytes.NewReader(data), n: 1}
		buf := make([]byte, int(chunk)+1)
		for {
			if _, err := lt.Read(buf); err != nil {
				break
			}
		}
		lines := bytes.Split(data, []byte("\n"))
		if len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		for i, want := range lines {
			l, ok := lt.raw(i + 1)
			if !ok {
				if len(lines)-i <= trackLines {
					t.Fatalf("line %d of %d not kept", i+1, len(lines))
				}
				continue
			}
			if l.cut != (len(want) > trackBytes) || !bytes.HasPrefix(want, l.b) || (!l.cut && len(l.b) != len(want)) {
				t.Fatalf("line %d kept as %q (cut %v), is %q", i+1, l.b, l.cut, want)
			}
		}
		if _, ok := lt.raw(len(lines) + 1); ok {
			t.Fatalf("a line %d beyond the input", len(lines)+1)
		}
		u := lt.unreadable(1, ';') // must not panic on any text
		_ = u
	})
}
