package daemon

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/ledger"
)

// receipt is a till receipt of the card program: 5 cents per euro.
func receipt(n, card string, euros int) string {
	return `{"type":"till_receipt","program":"card","receipt":{"store":"S01","till":"1","receipt":"` + n +
		`","at":"2026-11-03T10:00:00+01:00","card":"` + card + `","gross":` + strconv.Itoa(euros*100) + `,"spent":0}}`
}

// TestTillFilesPerStore: a path with {store} is one file per store, each
// holding a row per card of the program, none for customers without a
// card; a file is replaced whole, never rewritten in place.
func TestTillFilesPerStore(t *testing.T) {
	e := newEnv(t, `exports:
  - name: tills
    kind: till_files
    program: card
    path: out/{store}/balances.csv
    stores: [S01, S02]
`)
	e.apply(receipt("1", "0420001234", 100), `{"type":"link","known":"card:0420001234","other":"card:0420005678"}`,
		receipt("2", "0420009999", 20), `{"type":"link","known":"web:zoe","other":"web:zoe"}`)
	err := e.l.Update(context.Background(), func(tx *ledger.Tx) error {
		_, err := tx.Adjust(ledger.AdjustRequest{Account: ledger.Account{Program: "card", Customer: "web:zoe"},
			Meta: ledger.Meta{Source: "admin", Key: "zoe-1", Reason: "test"}, Points: 300})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s01 := filepath.Join(e.dir, "out", "S01", "balances.csv")
	if err := os.MkdirAll(filepath.Dir(s01), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s01, []byte("old file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A till reading the old file while it is replaced reads the old file
	// to its end.
	reader, err := os.Open(s01)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	d := e.daemon()
	reports, err := once(t, d)
	if err != nil {
		t.Fatal(err)
	}
	if r := reports["tills"]; r.Rows != 6 {
		t.Fatalf("report %+v: want 3 rows in each of 2 files", r)
	}
	old, err := io.ReadAll(reader)
	if err != nil || string(old) != "old file\n" {
		t.Fatalf("the old file was rewritten in place: %q %v", old, err)
	}
	want := "customer;identifiers;earned;provisional;spent;expired;expiring\n" +
		"card:0420001234;card:0420001234 card:0420005678;5,00;0,00;0,00;0,00;03/11/2027=5,00\n" +
		"card:0420005678;card:0420001234 card:0420005678;5,00;0,00;0,00;0,00;03/11/2027=5,00\n" +
		"card:0420009999;card:0420009999;1,00;0,00;0,00;0,00;03/11/2027=1,00\n"
	for _, store := range []string{"S01", "S02"} {
		dir := filepath.Join(e.dir, "out", store)
		got, err := os.ReadFile(filepath.Join(dir, "balances.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if g := strings.ReplaceAll(string(got), "\r\n", "\n"); g != want {
			t.Fatalf("%s:\n%s\nwant:\n%s", store, g, want)
		}
		if info, err := os.Stat(filepath.Join(dir, "balances.csv")); err != nil || info.Mode().Perm() != 0o644 {
			t.Fatalf("%s: mode %v %v: tills of another user must read it", store, info.Mode(), err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("%s holds %v: temporary files left behind", dir, entries)
		}
	}
}

// TestWriteFileAtomicFailure: a write that fails leaves the old file as
// it was and no temporary file beside it.
func TestWriteFileAtomicFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "balances.csv")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFileAtomic(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, "half a fi"); err != nil {
			return err
		}
		return io.ErrUnexpectedEOF
	})
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("WriteFileAtomic: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "old\n" {
		t.Fatalf("file now %q %v", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("folder holds %v", entries)
	}
}
