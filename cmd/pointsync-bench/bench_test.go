package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/internal/testdb"
)

// TestBenchTiny runs the whole bench at a tiny size, every measure and
// the ten times larger ingest, its children included (this test binary
// run again), with CPU profiles, so that it cannot rot:
// each measure checks the product did all the work it was given (every
// receipt applied or rejected as generated, every order and document
// applied, every read and reservation answered as expected) or fails.
// With POINTSYNC_TEST_MYSQL_DSN it runs on MySQL too.
func TestBenchTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every measure of the bench; skipped with -short")
	}
	backend := "sqlite"
	if os.Getenv(testdb.Env) != "" {
		backend = "both"
	}
	dir := t.TempDir()
	var out, log bytes.Buffer
	args := []string{"-backend", backend, "-rows", "200", "-rss-x10", "-orders", "100", "-rounds", "2", "-customers", "200", "-movements", "2000",
		"-clients", "4", "-duration", "200ms", "-warmup", "100ms", "-dir", dir, "-cpuprofile", dir + "/profiles", "-memprofile", dir + "/heap"}
	if code := benchMain(context.Background(), args, &out, &log); code != 0 {
		t.Fatalf("pointsync-bench %s: exit %d\n%s\n%s", strings.Join(args, " "), code, log.String(), out.String())
	}
	backends := []string{backendSQLite}
	if backend == "both" {
		backends = append(backends, backendMySQL)
	}
	table := out.String()
	for _, be := range backends {
		for _, m := range []string{"drop ingest", "drop ingest x10", "reconciliation", "balance read p99 at 10% load", "balance read p99 at 50% load", "balance read p50 at 25% load", "balance reads", "reservations", "raw durable commits, 1 writer"} {
			if !strings.Contains(table, "| "+m+" ") || !strings.Contains(table, "| "+be+" ") {
				t.Errorf("the table has no row %q on %s:\n%s", m, be, table)
			}
		}
		for _, p := range []string{"ingest", "ingest-x10", "reconcile", "reads", "reserve"} {
			if fi, err := os.Stat(dir + "/profiles/" + p + "-" + be + ".pprof"); err != nil || fi.Size() == 0 {
				t.Errorf("no CPU profile of %s on %s: %v", p, be, err)
			}
			if fi, err := os.Stat(dir + "/heap/" + p + "-" + be + ".heap.pprof"); err != nil || fi.Size() == 0 {
				t.Errorf("no heap profile of %s on %s: %v", p, be, err)
			}
			if data, err := os.ReadFile(dir + "/heap/" + p + "-" + be + ".heap.pprof.txt"); err != nil || !strings.Contains(string(data), "rss_mib") || strings.Count(string(data), "\n") < 2 {
				t.Errorf("no memory timeline of %s on %s: %v\n%s", p, be, err, data)
			}
		}
	}
	// The timed loads start once the bulk ledger's writes are on disk.
	settled := map[string]string{backendSQLite: "before the timed loads, file synced in ", backendMySQL: "flushed to disk (FLUSH TABLES ... FOR EXPORT"} // or, without RELOAD, "not flushed"
	for _, be := range backends {
		if !strings.Contains(table, settled[be]) {
			t.Errorf("the notes do not say the %s ledger settled before the timed loads (%q):\n%s", be, settled[be], table)
		}
	}
	if t.Failed() {
		t.Log(log.String())
	}
	t.Logf("the table (figures of a tiny run on a shared machine, not to quote):\n%s", table)
}
