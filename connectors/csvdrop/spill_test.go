package csvdrop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSpilledKeys runs the golden cases and the bad input catalogue with
// one key of each set in memory, the others in files in processing/: the
// answers, and the folders left, are the same.
func TestSpilledKeys(t *testing.T) {
	defer func(n int) { spillKeys = n }(spillKeys)
	spillKeys = 1
	t.Run("golden", TestGolden)
	t.Run("bad input", TestBadInputDropFiles)
}

// spillFile holds receipts met again after other rows, before and after
// an unreadable row: the Mapper refuses the first, the pass the second.
func spillFile() string {
	var b strings.Builder
	b.WriteString(receiptFile(300, 2))
	b.WriteString("S1;T1;3;15/01/2026 10:03;0420000003;A9;1,00;1\r\n")
	b.WriteString("S1;T1;99;broken\r\n")
	b.WriteString("S1;T1;4;15/01/2026 10:04;0420000004;A9;1,00;1\r\n")
	b.WriteString("S1;T1;301;15/01/2026 10:01;0420000301;A1;1,00;1\r\n")
	return b.String()
}

func resultJSON(t *testing.T, d *daemon) string {
	t.Helper()
	b, err := json.MarshalIndent(d.result(), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKeysFileFailure makes the files of a pass's keys fail, at the first
// pass and at a pass resumed after a restart: Fetch fails, nothing is
// applied, and once the folder is back the file is read as if nothing
// had happened.
func TestKeysFileFailure(t *testing.T) {
	defer func(n int) { spillKeys = n }(spillKeys)
	spillKeys = 3
	const limit = 7

	ref := newDaemon(t, nil)
	ref.drop("S1.csv", spillFile(), time.Minute)
	ref.run(limit)
	want := resultJSON(t, ref)
	for _, reason := range []string{"receipt S1/T1/3 appeared earlier in this input", "S1/T1/4 appeared earlier in this file"} {
		if !strings.Contains(want, reason) {
			t.Fatalf("the file does not make %q:\n%s", reason, want)
		}
	}

	d := newDaemon(t, nil)
	d.drop("S1.csv", spillFile(), time.Minute)
	fail := func(when string) {
		t.Helper()
		good := d.src.keysDir
		d.src.keysDir = filepath.Join(d.dir, "missing")
		for range 2 {
			_, err := d.src.Fetch(context.Background(), d.cursor, limit)
			if err == nil || !strings.Contains(err.Error(), "csv drop shop: S1.csv") || !strings.Contains(err.Error(), ": remembering the receipts") ||
				!strings.Contains(err.Error(), "no such file or directory") {
				t.Fatalf("%s: Fetch with no folder for the keys: %v; want an error that says so", when, err)
			}
		}
		d.src.keysDir = good
	}
	fail("first pass")
	for range 10 {
		d.step(limit)
	}
	d.restart()
	fail("after a restart")
	d.run(limit)
	if got := resultJSON(t, d); got != want {
		t.Fatalf("after failures the items differ from a clean run:\n%s\nwant\n%s", got, want)
	}
	if entries, err := os.ReadDir(d.path("processing")); err != nil || len(entries) != 0 {
		t.Fatalf("processing/ holds %v (%v), want nothing", entries, err)
	}
}

// TestKeysFilesLeftBehind checks that a pass leaves no file of keys in
// processing/, on Unix not even while it reads.
func TestKeysFilesLeftBehind(t *testing.T) {
	defer func(n int) { spillKeys = n }(spillKeys)
	spillKeys = 2
	d := newDaemon(t, nil)
	d.drop("S1.csv", spillFile(), time.Minute)
	d.step(5)
	entries, err := os.ReadDir(d.path("processing"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[S1.csv]" {
		t.Fatalf("processing/ holds %v while the file is read, want only S1.csv", names)
	}
	d.run(5)
	d.src.Close()
	if entries, err := os.ReadDir(d.path("processing")); err != nil || len(entries) != 0 {
		t.Fatalf("processing/ holds %v (%v) at the end, want nothing", entries, err)
	}
}
