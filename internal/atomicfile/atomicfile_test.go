package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "balances.csv")
	put := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := Write(path, 0o644, put("one\n"), nil); err != nil {
		t.Fatal(err)
	}
	// A failing writer or guard leaves the old file and no temporary.
	boom := errors.New("boom")
	if err := Write(path, 0o644, func(w io.Writer) error { io.WriteString(w, "half"); return boom }, nil); !errors.Is(err, boom) {
		t.Fatalf("writer's error: %v", err)
	}
	if err := Write(path, 0o644, put("two\n"), func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("guard's error: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one\n" {
		t.Fatalf("after refused writes the file holds %q", b)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"balances.csv"}) {
		t.Fatalf("folder holds %v", got)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v", info.Mode(), err)
	}
}

// TestWriteRemovesLeftovers: temporaries of the same file left by a killed
// writer go; those of other files stay.
func TestWriteRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "balances.csv")
	for _, n := range []string{".balances.csv.111.tmp", ".balances.csv.222.tmp", ".other.csv.333.tmp", ".balances.csv.tmp.keep"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("left"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(path, 0o644, func(w io.Writer) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{".balances.csv.tmp.keep", ".other.csv.333.tmp", "balances.csv"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Fatalf("folder holds %v; want %v", got, want)
	}
}
