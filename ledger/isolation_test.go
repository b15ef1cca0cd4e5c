package ledger

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/pointsync/pointsync/internal/testdb"
)

// TestMySQLIsolation: on MySQL every connection starts at read committed
// (readCommitted), so that the write transactions, which send no SET
// TRANSACTION of their own, read what another committed after their first
// read (a reservation must see the lots the account's previous holder
// wrote), even when the DSN sets another level; reads of several
// statements still read one snapshot.
func TestMySQLIsolation(t *testing.T) {
	dsn := testdb.MySQL(t)
	raw, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// The session variable's name: transaction_isolation (MySQL 8,
	// MariaDB 11.1 and later) or tx_isolation (MariaDB before 11.1).
	name, level := "transaction_isolation", ""
	if raw.QueryRow("SELECT @@session.transaction_isolation").Scan(&level) != nil {
		name = "tx_isolation"
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

	for _, tc := range []struct{ name, dsn string }{
		{"server's default level", dsn},
		{"DSN sets " + name, ownLevel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l, err := Open(ctx, Options{Backend: BackendMySQL, DSN: tc.dsn, Programs: testPrograms})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := l.w.QueryRowContext(ctx, "SELECT @@session."+name).Scan(&level); err != nil {
				t.Fatal(err)
			}
			if level != "READ-COMMITTED" {
				t.Errorf("a connection's own level is %s, want READ-COMMITTED", level)
			}
			// twice counts the customers, has another connection commit
			// one, and counts again.
			twice := func(q querier) (before, after int, err error) {
				if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM customers").Scan(&before); err != nil {
					return 0, 0, err
				}
				if _, err := l.w.ExecContext(ctx, "INSERT INTO customers (created_at) VALUES (0)"); err != nil {
					return 0, 0, err
				}
				err = q.QueryRowContext(ctx, "SELECT COUNT(*) FROM customers").Scan(&after)
				return before, after, err
			}
			err = l.Update(ctx, func(tx *Tx) error {
				before, after, err := twice(tx.tx)
				if err == nil && after != before+1 {
					t.Errorf("a write transaction read %d customers, then %d after another committed one: not read committed", before, after)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = l.leaseTx(ctx, func(tx *sql.Tx) error {
				before, after, err := twice(tx)
				if err == nil && after != before+1 {
					t.Errorf("a lease transaction read %d customers, then %d after another committed one: not read committed", before, after)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = l.read(ctx, func(q querier) error {
				before, after, err := twice(q)
				if err == nil && after != before {
					t.Errorf("a read transaction read %d customers, then %d: not one snapshot", before, after)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
