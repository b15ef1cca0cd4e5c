package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/internal/testflags"
	"github.com/pointsync/pointsync/ledger"
)

// testPlan is a small ledger, about eleven movements per customer.
func testPlan(seed uint64) ledgerPlan {
	return ledgerPlan{Customers: 80, Movements: 900, Seed: seed, Now: time.Date(2026, 11, 1, 10, 30, 0, 0, time.UTC)}
}

// TestBulkLedgerMatchesAPI builds the same plan twice, once through the
// ledger's own API (EnsureCustomer, Credit, Spend at the plan's clock) and
// once with the bench's direct SQL, and requires the same rows in every
// table the API writes: customers, identifiers, accounts, movements, lots,
// consumptions, debts and idempotency records, ids and times included.
// The bulk ledger is the API's ledger, only faster to make. On MySQL (with
// POINTSYNC_TEST_MYSQL_DSN) the bulk side is written to MariaDB and
// compared with the same SQLite API ledger.
func TestBulkLedgerMatchesAPI(t *testing.T) {
	seed := testflags.Seed(t, 5)
	p := testPlan(seed)
	checkPlanCoverage(t, p)
	ctx := context.Background()
	dir := t.TempDir()
	api := filepath.Join(dir, "api.db")
	l, err := ledger.Open(ctx, ledger.Options{Path: api, Programs: []ledger.Program{{ID: benchProgram, Location: time.UTC}}, Clock: func() time.Time { return p.Now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Customers {
		err := l.Update(ctx, func(tx *ledger.Tx) error {
			if _, _, err := tx.EnsureCustomer(p.ident(i)); err != nil {
				return err
			}
			for _, op := range p.ops(i) {
				var err error
				if op.Spend {
					_, err = tx.Spend(p.spendRequest(i, op))
				} else {
					_, err = tx.Credit(p.creditRequest(i, op))
				}
				if err != nil {
					return fmt.Errorf("%s %s: %w", p.ident(i), op.Key, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	apiDB, err := openSQLite(api, false, true)
	if err != nil {
		t.Fatal(err)
	}
	defer apiDB.Close()
	want := dumpLedger(t, apiDB)

	for _, backend := range []string{backendSQLite, backendMySQL} {
		t.Run(backend, func(t *testing.T) {
			s := &store{backend: backend, dir: t.TempDir()}
			if backend == backendSQLite {
				s.path = filepath.Join(s.dir, "bulk.db")
			} else {
				s.dsn = testdb.MySQL(t)
			}
			if err := s.migrate(ctx, benchProgram); err != nil {
				t.Fatal(err)
			}
			db, err := s.open(true)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := buildLedgerSQL(ctx, db, backend, p, nil); err != nil {
				t.Fatal(err)
			}
			got := dumpLedger(t, db)
			for _, table := range ledgerTables {
				g, w := got[table.name], want[table.name]
				for k := range max(len(g), len(w)) {
					var gr, wr string
					if k < len(g) {
						gr = g[k]
					}
					if k < len(w) {
						wr = w[k]
					}
					if gr != wr {
						t.Fatalf("%s row %d:\n bulk %s\n  API %s\n(%d rows and %d)", table.name, k+1, gr, wr, len(g), len(w))
					}
				}
			}
			if err := buildLedgerSQL(ctx, db, backend, p, nil); err == nil || !strings.Contains(err.Error(), "must be new") {
				t.Fatalf("a second build over the ledger: %v, want a refusal", err)
			}
		})
	}
}

// checkPlanCoverage makes sure the plan tries what the bulk writer must
// get right: spends taking several lots, lots without expiry, and lots
// expired at the plan's clock (which a spend must not take).
func checkPlanCoverage(t *testing.T, p ledgerPlan) {
	t.Helper()
	var multi, never, expired int
	for i := range p.Customers {
		for _, op := range p.ops(i) {
			switch {
			case op.Spend && len(op.Takes) > 1:
				multi++
			case !op.Spend && op.Expires == nil:
				never++
			case !op.Spend && !op.Expires.After(p.Now):
				expired++
			}
		}
	}
	if multi == 0 || never == 0 || expired == 0 {
		t.Fatalf("the plan lacks a case: %d spends over several lots, %d lots without expiry, %d expired lots", multi, never, expired)
	}
}

// ledgerTables are the tables the API writes, with an order that makes
// their rows comparable.
var ledgerTables = []struct{ name, cols, order string }{
	{"customers", "id, created_at", "id"},
	{"identifiers", "ident, customer_id, created_at", "ident"},
	{"accounts", "id, program, customer_id, provisional, spent, expired, debt, created_at, updated_at", "id"},
	{"movements", movementColumns, "id"},
	{"lots", "id, credit_id, account_id, expires_at, amount, remaining, closed, earned_at", "id"},
	{"consumptions", "debit_id, lot_id, movement_id, amount", "debit_id, lot_id, movement_id"},
	{"debts", "debit_id, account_id, remaining, forgiven", "debit_id"},
	{"idempotency", "source, idem_key, hash, result, created_at", "source, idem_key"},
}

// dumpLedger reads every row of the ledger tables as text.
func dumpLedger(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range ledgerTables {
		rows, err := db.Query("SELECT " + table.cols + " FROM " + table.name + " ORDER BY " + table.order)
		if err != nil {
			t.Fatal(err)
		}
		n := len(strings.Split(table.cols, ","))
		for rows.Next() {
			vals := make([]sql.NullString, n)
			ptrs := make([]any, n)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteString(" | ")
				}
				if v.Valid {
					b.WriteString(v.String)
				} else {
					b.WriteString("NULL")
				}
			}
			out[table.name] = append(out[table.name], b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if len(out["movements"]) == 0 {
		t.Fatal("the ledger has no movements")
	}
	return out
}
