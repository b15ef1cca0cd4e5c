package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/configs"
)

// TestCSVDropThroughConfig: a csv_drop connector built from the
// configuration reads a file of the inbox, applies its good rows with
// the batch, keeps the bad one, archives the file with its report and
// does not apply it again; the after-sync export follows in Once.
func TestCSVDropThroughConfig(t *testing.T) {
	e := newEnv(t, `daemon: {batch_size: 2, retries: 0, backoff: 1ms, max_backoff: 1ms}
connectors:
  - name: stores
    kind: csv_drop
    program: card
    facts: till_receipt
    drop: {dir: drops/stores, min_age: 1s}
    date_formats: ["02/01/2006 15:04"]
exports:
  - name: tills
    kind: till_files
    program: card
    path: out/balances.csv
`)
	inbox := filepath.Join(e.dir, "drops", "stores", "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(inbox, "S01.csv")
	content := "store;till;receipt;line;at;card;gross;discount;spent\n" +
		"S01;1;1;1;03/11/2026 09:00;0420001234;100,00;0;0\n" +
		"S01;1;2;1;03/11/2026 09:10;0420001234;not money;0;0\n" +
		"S01;1;3;1;03/11/2026 09:20;0420005678;20,00;0;0\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(file, old, old); err != nil {
		t.Fatal(err)
	}
	d := e.daemon()
	for run := range 2 {
		reports, err := once(t, d)
		if err != nil {
			t.Fatalf("run %d: %v %+v", run, err, reports)
		}
		if r := reports["stores"]; run == 0 && (r.Rows != 2 || r.Rejected != 1) {
			t.Fatalf("report %+v", r)
		}
		if b, _ := e.balance("card", "card:0420001234"); b.Earned != 500 {
			t.Fatalf("run %d: card earned %d, want 500", run, b.Earned)
		}
		if b, _ := e.balance("card", "card:0420005678"); b.Earned != 100 {
			t.Fatalf("run %d: second card earned %d, want 100", run, b.Earned)
		}
	}
	var archived []string
	err := filepath.WalkDir(filepath.Join(e.dir, "drops", "stores", "archive"), func(p string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			archived = append(archived, de.Name())
		}
		return err
	})
	if err != nil || len(archived) != 2 || archived[0] != "S01.csv" || archived[1] != "S01.csv.errors.csv" {
		t.Fatalf("archive %v %v", archived, err)
	}
	if n, err := e.l.RejectCount(context.Background(), "stores"); err != nil || n != 1 {
		t.Fatalf("%d rejects stored (%v)", n, err)
	}
	got, err := os.ReadFile(filepath.Join(e.dir, "out", "balances.csv"))
	if err != nil || !strings.Contains(string(got), "card:0420005678;card:0420005678;1,00;") {
		t.Fatalf("till file %q %v", got, err)
	}
}

// TestHTTPPullRecords: an http_pull connector in the records format maps
// flat objects with the configured columns and statuses.
func TestHTTPPullRecords(t *testing.T) {
	sh, url := newShop(t)
	e := newEnv(t, fmt.Sprintf(`daemon: {retries: 0, backoff: 1ms, max_backoff: 1ms}
connectors:
  - name: shop-api
    kind: http_pull
    program: shop
    facts: web_order
    ident_kind: web
    columns: {order: order_id}
    statuses: {wc-processing: paid}
    http: {url: "%s/facts", format: records, retries: 0, timeout: 5s}
`, url))
	rec := func(line string, gross string) string {
		b, _ := json.Marshal(map[string]any{"order_id": "W7", "customer": "anna", "placed_at": "2026-11-02T10:00:00+01:00",
			"status": "wc-processing", "line": line, "gross": gross})
		return string(b)
	}
	sh.setPage("", "1", rec("1", "30.00"), rec("2", "10.50"))
	sh.setPage("1", "1")
	e.apply(linkAnna)
	d := e.daemon()
	if reports, err := once(t, d); err != nil {
		t.Fatalf("%v %+v", err, reports)
	}
	if got := e.earned("shop", "web:anna"); got != 40 {
		t.Fatalf("anna earned %d, want 40 (1 point per whole euro of 40.50)", got)
	}
}

// TestNewSkipsDisabledJobs: disabled connectors and exports are not
// built, and a configuration naming an unknown program for an export
// (possible only when built by hand) is refused with the job's name.
func TestNewSkipsDisabledJobs(t *testing.T) {
	e := newEnv(t, `connectors:
  - name: off
    kind: http_pull
    program: shop
    disabled: true
    http: {url: "http://127.0.0.1:1/facts"}
exports:
  - name: off-too
    kind: till_files
    program: card
    disabled: true
    path: out/balances.csv
`)
	d := e.daemon()
	var names []string
	for _, j := range d.jobs() {
		names = append(names, j.name)
	}
	if len(names) != 1 || names[0] != configs.HousekeepingJob {
		t.Fatalf("jobs %v: want only the housekeeping", names)
	}
	e.cfg.Exports[0].Disabled = false
	e.cfg.Exports[0].Program = "nosuch"
	_, err := New(context.Background(), Options{Config: e.cfg, Ledger: e.l, Engine: e.eng})
	if err == nil || !strings.Contains(err.Error(), `export off-too: unknown program "nosuch"`) {
		t.Fatalf("New: %v", err)
	}
}
