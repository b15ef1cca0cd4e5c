package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/internal/testflags"
)

// The bench's children are this test binary run again with the hidden
// child command, as the bench binary runs itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		os.Exit(childMain(context.Background(), os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	testdb.Drop()
	os.Exit(code)
}

// TestGeneratorsDeterministic: the same seed gives the same files, byte
// for byte, and another seed other files; a till file has exactly the
// rows asked, its header first.
func TestGeneratorsDeterministic(t *testing.T) {
	gens := []struct {
		name string
		gen  func(t *testing.T, seed uint64) []byte
	}{
		{"till file", func(t *testing.T, seed uint64) []byte {
			var b bytes.Buffer
			if _, err := writeTillFile(&b, 3000, 50, seed); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}},
		{"order rounds", func(t *testing.T, seed uint64) []byte {
			dir := t.TempDir()
			if _, err := writeOrderRounds(dir, 500, 3, seed); err != nil {
				t.Fatal(err)
			}
			return stageDigest(t, dir)
		}},
		{"ledger plan", func(t *testing.T, seed uint64) []byte {
			p := testPlan(seed)
			var b bytes.Buffer
			for i := range p.Customers {
				if err := json.NewEncoder(&b).Encode(p.ops(i)); err != nil {
					t.Fatal(err)
				}
			}
			return b.Bytes()
		}},
	}
	seed := testflags.Seed(t, 11)
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			a, b, c := g.gen(t, seed), g.gen(t, seed), g.gen(t, seed+1)
			if !bytes.Equal(a, b) {
				t.Fatalf("two runs with seed %d differ", seed)
			}
			if bytes.Equal(a, c) {
				t.Fatalf("seeds %d and %d give the same output", seed, seed+1)
			}
		})
	}
	for _, rows := range []int{1, 2, 5, 997} {
		var b bytes.Buffer
		st, err := writeTillFile(&b, rows, tillBadEvery, seed)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if st.Rows != rows || len(lines) != rows+1 || lines[0]+"\n" != tillHeader || st.Bytes != int64(b.Len()) {
			t.Fatalf("till file of %d rows: stats %+v, %d lines, header %q, %d bytes", rows, st, len(lines), lines[0], b.Len())
		}
	}
}

// stageDigest is the SHA-256 of every file of a stage, with its path.
func stageDigest(t *testing.T, dir string) []byte {
	t.Helper()
	files, err := stageFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(data))
		h.Write(data)
	}
	return h.Sum(nil)
}

// TestGeneratedFilesParse runs the generated till, customer, order and
// ERP files through the product's drop connectors, mapping and
// reconciliation (the sync child, in this process, on a SQLite ledger):
// every receipt the generator made good is applied and every bad one
// rejected whole; every order snapshot and ERP document is applied, none
// refused.
func TestGeneratedFilesParse(t *testing.T) {
	seed := testflags.Seed(t, 3)
	ctx := context.Background()
	b := &bench{work: t.TempDir(), log: io.Discard}

	s, err := b.newStore(ctx, "till", backendSQLite)
	if err != nil {
		t.Fatal(err)
	}
	config, err := tillConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(s.dir, "stage")
	inRound := filepath.Join(stage, roundDir(1), connStores)
	if err := os.MkdirAll(inRound, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(inRound, "till.csv"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := writeTillFile(f, 1200, 25, seed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.BadReceipts < 5 {
		t.Fatalf("seed %d made %d bad receipts of %d: too few to try the kinds of bad row", seed, st.BadReceipts, st.Receipts)
	}
	rounds := syncInProcess(t, config, stage, 1)
	if want := int64(st.Receipts - st.BadReceipts); rounds[0].Applied != want || rounds[0].Rejected != int64(st.BadReceipts) {
		t.Fatalf("till file (%+v): %d receipts applied, %d rejected; want %d and %d", st, rounds[0].Applied, rounds[0].Rejected, want, st.BadReceipts)
	}

	s, err = b.newStore(ctx, "orders", backendSQLite)
	if err != nil {
		t.Fatal(err)
	}
	if config, err = ordersConfig(s); err != nil {
		t.Fatal(err)
	}
	stage = filepath.Join(s.dir, "stage")
	ost, err := writeOrderRounds(stage, 250, 3, seed)
	if err != nil {
		t.Fatal(err)
	}
	if ost.Early == 0 || ost.CreditNotes == 0 || ost.DeliveryNotes == 0 || ost.Partial == 0 || ost.Cancellations == 0 || ost.Snapshots == ost.Orders {
		t.Fatalf("seed %d: the workload lacks a kind of event: %+v", seed, ost)
	}
	rounds = syncInProcess(t, config, stage, ost.Rounds+1)
	if rounds[0].Applied != int64(ost.Customers) || rounds[0].Rejected != 0 {
		t.Fatalf("customers: %d links applied, %d rejected; want %d and 0", rounds[0].Applied, rounds[0].Rejected, ost.Customers)
	}
	var applied, rejected int64
	for _, r := range rounds[1:] {
		applied += r.Applied
		rejected += r.Rejected
	}
	if applied != int64(ost.Events()) || rejected != 0 {
		t.Fatalf("orders and documents (%+v): %d applied, %d rejected; want %d and 0", ost, applied, rejected, ost.Events())
	}
}

// syncInProcess runs the sync child's work in this process and returns
// its rounds, checking there are n without errors.
func syncInProcess(t *testing.T, config, stage string, n int) []roundResult {
	t.Helper()
	var out, logs bytes.Buffer
	if err := childSync(context.Background(), config, stage, &out, &logs); err != nil {
		t.Fatalf("sync: %v\n%s", err, logs.String())
	}
	var rounds []roundResult
	if err := json.Unmarshal(out.Bytes(), &rounds); err != nil || len(rounds) != n {
		t.Fatalf("sync: %v, %d rounds, want %d: %s", err, len(rounds), n, out.String())
	}
	for _, r := range rounds {
		if len(r.Errors) > 0 {
			t.Fatalf("sync round %s: %v\n%s", r.Round, r.Errors, logs.String())
		}
	}
	return rounds
}
