package ledger

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/pointsync/pointsync/internal/testdb"
)

// TestWriteReadCommitted: on MySQL a write transaction reads what another
// committed after its first read (read committed: a reservation must see
// the lots the account's previous holder wrote), whether the level is
// every connection's own from the start (no SET TRANSACTION per write)
// or asked of each transaction because the DSN sets a level of its own.
func TestWriteReadCommitted(t *testing.T) {
	dsn := testdb.MySQL(t)
	raw, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	name, err := isolationVariable(raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params[name] = "'REPEATABLE-READ'"
	ownLevel := cfg.FormatDSN()

	for _, tc := range []struct {
		name        string
		dsn         string
		perTx       bool   // the ledger asks each write transaction for the level
		sessionWant string // the connection's own level
	}{
		{"session default", dsn, false, "READ-COMMITTED"},
		{"DSN sets " + name, ownLevel, true, "REPEATABLE-READ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, err := Open(ctx, Options{Backend: BackendMySQL, DSN: tc.dsn, Programs: testPrograms})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if got := l.writeOpts != nil; got != tc.perTx {
				t.Fatalf("level asked per transaction: %v, want %v", got, tc.perTx)
			}
			var session string
			if err := l.w.QueryRowContext(ctx, "SELECT @@session."+name).Scan(&session); err != nil {
				t.Fatal(err)
			}
			if session != tc.sessionWant {
				t.Errorf("a connection's own level is %s, want %s", session, tc.sessionWant)
			}
			err = l.Update(ctx, func(tx *Tx) error {
				var before, after int
				if err := tx.queryRow("SELECT COUNT(*) FROM customers").Scan(&before); err != nil {
					return err
				}
				// Another connection commits a customer after this
				// transaction's first read.
				if _, err := l.w.ExecContext(ctx, "INSERT INTO customers (created_at) VALUES (0)"); err != nil {
					return err
				}
				if err := tx.queryRow("SELECT COUNT(*) FROM customers").Scan(&after); err != nil {
					return err
				}
				if after != before+1 {
					t.Errorf("the write transaction read %d customers, then %d after another committed one: not read committed", before, after)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
