package csvdrop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pointsync/pointsync/connectors"
)

// Drop file names cannot lead outside the drop folder (issue 7): names
// handed back to Ack are data from outside, and what the inbox holds is
// written by tills. TestNamesNeverTaken and TestAck cover the inbox's odd
// names, a link in the inbox and "../a.csv" given to Ack; these add the
// rest.

// outsideDir is a folder beside the drop folder with a file in it, to
// check that nothing there is read, moved or written.
func outsideDir(t *testing.T, content string) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "outside.csv")
	if err := os.WriteFile(file, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

// unchanged fails when the outside folder holds anything but its file as
// it was.
func unchanged(t *testing.T, dir, file, content string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(file) {
		t.Fatalf("the folder outside the drop folder now holds %v", entries)
	}
	if got, err := os.ReadFile(file); err != nil || string(got) != content {
		t.Fatalf("the file outside the drop folder changed: %q, %v", got, err)
	}
}

// Ack refuses any name that is not a plain name of the folder, before it
// looks at anything.
func TestAckRefusesPaths(t *testing.T) {
	content := receiptFile(1, 1)
	outDir, outFile := outsideDir(t, content)
	d := newDaemon(t, nil)
	d.drop("a.csv", content, time.Minute)
	b := d.fetch(10)
	d.commit(b)
	rel, err := filepath.Rel(d.path("processing"), outFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		rel, outFile, "../a.csv", "..", ".", "", "inbox/../a.csv", `..\a.csv`, `C:\a.csv`, "a.csv/", "/a.csv",
		"a.csv\x00", "a\x00/../../x.csv", "a.csv\n../x",
	} {
		bad := b
		bad.Done = &connectors.Unit{Key: b.Done.Key, Name: name}
		err := d.src.Ack(context.Background(), bad, []connectors.Reject{{Line: 2, Reason: "bad"}})
		if err == nil {
			t.Errorf("Ack of %q succeeded", name)
		}
	}
	unchanged(t, outDir, outFile, content)
	if got := d.tree(); !slices.Equal(got, []string{"processing/a.csv"}) {
		t.Fatalf("refused acks moved or wrote files: %v", got)
	}
	d.ack(b)
	if got := d.tree(); !slices.Equal(got, []string{d.archived("a.csv")}) {
		t.Fatalf("tree %v after the right ack", got)
	}
}

// A link put in processing/ (a file left by a crash is taken from there
// first) is never read: only regular files are.
func TestLinkInProcessingNotRead(t *testing.T) {
	content := receiptFile(2, 1)
	outDir, outFile := outsideDir(t, content)
	d := newDaemon(t, nil)
	if err := os.Symlink(outFile, d.path("processing/link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outDir, d.path("processing/dir.csv")); err != nil {
		t.Fatal(err)
	}
	if b := d.fetch(10); !d.idle(b) {
		t.Fatalf("a link in processing/ was read: %+v", b)
	}
	d.run(10)
	if n := len(d.facts()); n != 0 {
		t.Fatalf("%d facts from links", n)
	}
	unchanged(t, outDir, outFile, content)
}

// A link that replaces a file between the scan and the move is not taken
// either: the move checks the file again.
func TestLinkSwappedInAfterTheScan(t *testing.T) {
	content := receiptFile(1, 1)
	outDir, outFile := outsideDir(t, content)
	d := newDaemon(t, nil)
	d.drop("a.csv", content, time.Minute)
	d.src.restatHook = func(path string) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outFile, path); err != nil {
			t.Fatal(err)
		}
	}
	if b := d.fetch(10); !d.idle(b) {
		t.Fatalf("a link swapped in was taken: %+v", b)
	}
	d.src.restatHook = nil
	unchanged(t, outDir, outFile, content)
	if got := d.tree(); !slices.Equal(got, []string{"inbox/a.csv"}) {
		t.Fatalf("tree %v: the link stays in the inbox, nothing else moves", got)
	}
}

// Names a till may write that are odd but plain (a newline, quotes,
// spaces, non-ASCII) are read, archived and reported inside the folder,
// under their own name.
func TestOddPlainNamesStayInside(t *testing.T) {
	outDir, outFile := outsideDir(t, "x")
	d := newDaemon(t, nil)
	names := []string{"new\nline.csv", `quote".csv`, "space name.csv", "è.csv", "-dash.csv", "semi;colon.csv"}
	for i, n := range names {
		// A bad row of its own makes each file differ and gives it a report.
		d.drop(n, receiptFile(1, 1)+fmt.Sprintf("S01;1;%d;bad;0420001234;A;1,00;1\r\n", 100+i), time.Minute)
	}
	d.run(100)
	var want []string
	for _, n := range names {
		want = append(want, d.archived(n), d.archived(n+".errors.csv"))
	}
	slices.Sort(want)
	if got := d.tree(); !slices.Equal(got, want) {
		t.Fatalf("tree\n%q\nwant\n%q", got, want)
	}
	unchanged(t, outDir, outFile, "x")
}
