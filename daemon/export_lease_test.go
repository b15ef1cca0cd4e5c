package daemon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/wcdb"
	"github.com/pointsync/pointsync/ledger"
)

// TestExportsFencedByLease: on a ledger fenced with a lease, every kind
// of export writes while the lease is surely held and writes nothing,
// failing with ledger.ErrLeaseLost, once it is not: run out (a daemon
// that resumes after a stall), lost at a renewal (taken over), or with
// less than a third of its TTL left (about to be counted lost). The till
// file is left as it was with no temporary file beside it, the
// webservice gets no request, the shop's table no row, and the push's
// cursor does not move.
func TestExportsFencedByLease(t *testing.T) {
	states := []struct {
		name   string
		ttl    time.Duration
		after  func(t *testing.T, l *ledger.Ledger, lease *ledger.Lease)
		writes bool
	}{
		{name: "held", ttl: time.Minute, writes: true},
		// 350ms left of 1.2s: valid, but under the third of the TTL.
		{name: "about to run out", ttl: 1200 * time.Millisecond, after: func(_ *testing.T, _ *ledger.Ledger, lease *ledger.Lease) {
			time.Sleep(time.Until(lease.ValidUntil().Add(-350 * time.Millisecond)))
		}},
		{name: "ran out", ttl: 20 * time.Millisecond, after: func(*testing.T, *ledger.Ledger, *ledger.Lease) {
			time.Sleep(50 * time.Millisecond)
		}},
		{name: "taken over", ttl: 20 * time.Millisecond, after: func(t *testing.T, l *ledger.Ledger, lease *ledger.Lease) {
			time.Sleep(50 * time.Millisecond)
			if taken, _, err := l.AcquireLease(context.Background(), LeaseName, "standby:2", time.Minute); err != nil || taken == nil {
				t.Fatalf("the standby could not take the lease over: %v", err)
			}
			if err := lease.Renew(context.Background()); !errors.Is(err, ledger.ErrLeaseLost) {
				t.Fatalf("renewing a lease taken over: %v; want ErrLeaseLost", err)
			}
		}},
	}
	for _, x := range leaseExports() {
		for _, st := range states {
			t.Run(x.name+"/"+st.name, func(t *testing.T) {
				t.Parallel() // mostly waiting for leases to run out
				config, written := x.setup(t)
				// No retries: a refused run is not tried again after backoff.
				e := newEnv(t, "daemon: {retries: 0}\n"+config)
				e.apply(receipt("1", "0420001234", 100), receipt("2", "0420009999", 20))
				ctx := context.Background()
				lease, _, err := e.l.AcquireLease(ctx, LeaseName, "active:1", st.ttl)
				if err != nil || lease == nil {
					t.Fatalf("take the lease: %v", err)
				}
				e.l.SetFence(lease)
				if st.after != nil {
					st.after(t, e.l, lease)
				}
				reports, _ := once(t, e.daemon())
				r, ok := reports["out"]
				switch {
				case !ok:
					t.Fatalf("the export did not run: %v", reports)
				case st.writes && (r.Err != nil || !written(t)):
					t.Fatalf("with the lease held: error %v, written %v; want it written", r.Err, written(t))
				case !st.writes && !errors.Is(r.Err, ledger.ErrLeaseLost):
					t.Fatalf("without the lease: error %v; want ErrLeaseLost", r.Err)
				case !st.writes && written(t):
					t.Fatalf("without the lease the export wrote (%v)", r.Err)
				}
				if cur := e.cursor("export:out"); !st.writes && cur != "" {
					t.Fatalf("without the lease the push's cursor moved to %q", cur)
				}
			})
		}
	}
}

// leaseExport is an export configuration of the test and how to tell it
// wrote.
type leaseExport struct {
	name  string
	setup func(t *testing.T) (config string, written func(t *testing.T) bool)
}

func leaseExports() []leaseExport {
	push := func(what string) func(t *testing.T) (string, func(*testing.T) bool) {
		return func(t *testing.T) (string, func(*testing.T) bool) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(srv.Close)
			config := fmt.Sprintf(`exports:
  - name: out
    kind: http_push
    program: card
    what: %s
    http: {url: %q, retries: 0}
`, what, srv.URL)
			return config, func(*testing.T) bool { return requests.Load() > 0 }
		}
	}
	return []leaseExport{
		{name: "till_files", setup: func(t *testing.T) (string, func(*testing.T) bool) {
			dir := t.TempDir()
			path := filepath.Join(dir, "balances.csv")
			if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			config := fmt.Sprintf(`exports:
  - name: out
    kind: till_files
    program: card
    path: %q
`, path)
			return config, func(t *testing.T) bool {
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 1 {
					t.Fatalf("%s holds %d files: a temporary file was left behind", dir, len(entries))
				}
				return string(got) != "old\n"
			}
		}},
		{name: "http_push balances", setup: push("balances")},
		{name: "http_push movements", setup: push("movements")},
		{name: "sql_table", setup: func(t *testing.T) (string, func(*testing.T) bool) {
			dsn, shop := wcdb.Open(t)
			if _, err := shop.Exec(`CREATE TABLE card_balances (customer VARCHAR(64) NOT NULL, program VARCHAR(64) NOT NULL,
				earned DECIMAL(12,2) NOT NULL, provisional DECIMAL(12,2) NOT NULL, spent DECIMAL(12,2) NOT NULL,
				expired DECIMAL(12,2) NOT NULL, expiring_date DATE NULL, expiring_points DECIMAL(12,2) NULL,
				updated_at DATETIME(6) NOT NULL, PRIMARY KEY (customer, program))`); err != nil {
				t.Fatal(err)
			}
			config := fmt.Sprintf(`exports:
  - name: out
    kind: sql_table
    program: card
    sql: {dsn: %q, table: card_balances, identifier: card, batch_size: 1}
`, dsn)
			return config, func(t *testing.T) bool { return countRows(t, shop, "card_balances") > 0 }
		}},
	}
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count the rows of %s: %v", table, err)
	}
	return n
}

// TestLeaseGuardMargin: the guard passes on an unfenced ledger and on a
// lease with more than a third of its TTL left, and names the fence and
// the time left when it refuses.
func TestLeaseGuardMargin(t *testing.T) {
	e := newEnv(t, "")
	guard := leaseGuard(e.l)
	if err := guard(); err != nil {
		t.Fatalf("unfenced ledger: %v", err)
	}
	lease, _, err := e.l.AcquireLease(context.Background(), LeaseName, "active:1", 600*time.Millisecond)
	if err != nil || lease == nil {
		t.Fatalf("take the lease: %v", err)
	}
	e.l.SetFence(lease)
	if err := guard(); err != nil {
		t.Fatalf("a lease just taken: %v", err)
	}
	time.Sleep(time.Until(lease.ValidUntil().Add(-150 * time.Millisecond)))
	err = guard()
	if !errors.Is(err, ledger.ErrLeaseLost) || !strings.Contains(err.Error(), "fence 1") || !strings.Contains(err.Error(), "left by this host's clock") {
		t.Fatalf("with 150ms of a 600ms lease left: %v; want ErrLeaseLost naming the fence and the time left", err)
	}
}
