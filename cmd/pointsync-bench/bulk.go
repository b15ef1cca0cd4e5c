package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

// buildLedgerSQL writes plan into a freshly migrated, empty ledger with
// direct multi-row INSERTs in the ledger's schema: the setup of the read
// and reservation measures only, because the ledger's own API posts a few
// thousand movements a second and ten million would take most of an hour.
// It writes the rows the API would write for the same requests, with the
// same ids, times, lots, consumptions and idempotency records
// (TestBulkLedgerMatchesAPI compares the two table by table), so the
// ledger it leaves is one the daemon and the server take as their own.
// Foreign keys are not checked while it writes (SQLite's are off on its
// connection, MySQL's switched off for the session).
func buildLedgerSQL(ctx context.Context, db *sql.DB, backend string, p ledgerPlan, progress io.Writer) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if backend == backendMySQL {
		if _, err := conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 0, UNIQUE_CHECKS = 0"); err != nil {
			return err
		}
	}
	var empty int
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM customers").Scan(&empty); err != nil {
		return fmt.Errorf("bulk ledger: %w", err)
	}
	if empty != 0 {
		return fmt.Errorf("bulk ledger: the ledger already has %d customers; it must be new", empty)
	}
	now := p.Now.UnixMicro()
	var nextAccount, nextMovement int64 = 1, 1
	const chunk = 10_000
	started := time.Now()
	for from := 0; from < p.Customers; from += chunk {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		w := newTableWriter(ctx, tx)
		for i := from; i < min(from+chunk, p.Customers); i++ {
			cid := int64(i + 1)
			w.add("customers", "id, created_at", cid, now)
			w.add("identifiers", "ident, customer_id, created_at", string(p.ident(i)), cid, now)
			ops := p.ops(i)
			if len(ops) == 0 {
				continue
			}
			account := nextAccount
			nextAccount++
			ids := make([]int64, len(ops))
			var spent int64
			for k, op := range ops {
				id := nextMovement
				nextMovement++
				ids[k] = id
				var hash [32]byte
				var reason string
				if op.Spend {
					reason, hash = "redemption", requestHash(p.spendRequest(i, op))
					spent += op.Amount
					w.add("movements", movementColumns, id, account, string(ledger.KindSpend), string(ledger.PhasePosted), op.Amount, nil, 0, nil,
						ledger.SourceWeb, op.Key, reason, "", "", "", "", "", op.At.UnixMicro(), now)
					for _, t := range op.Takes {
						w.add("consumptions", "debit_id, lot_id, movement_id, amount", id, ids[t.Op], id, t.Amount)
					}
				} else {
					reason, hash = "accrual", requestHash(p.creditRequest(i, op))
					exp := int64(neverExpires)
					if op.Expires != nil {
						exp = op.Expires.UnixMicro()
					}
					w.add("movements", movementColumns, id, account, string(ledger.KindCredit), string(ledger.PhasePosted), op.Amount, nil, 0, exp,
						ledger.SourceWeb, op.Key, reason, "", "", "", "", "", op.At.UnixMicro(), now)
					w.add("lots", "id, credit_id, account_id, expires_at, amount, remaining, closed, earned_at",
						id, id, account, exp, op.Amount, remaining(ops, k), 0, op.At.UnixMicro())
				}
				result, err := json.Marshal(ledger.Result{Movements: []int64{id}})
				if err != nil {
					return err
				}
				w.add("idempotency", "source, idem_key, hash, result, created_at", ledger.SourceWeb, op.Key, hex.EncodeToString(hash[:]), string(result), now)
			}
			w.add("accounts", "id, program, customer_id, provisional, spent, expired, debt, created_at, updated_at",
				account, benchProgram, cid, 0, spent, 0, 0, now, now)
		}
		if err := w.flushAll(); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("bulk ledger: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("bulk ledger: commit: %w", err)
		}
		if progress != nil && (from/chunk)%20 == 19 {
			fmt.Fprintf(progress, "  bulk ledger: %d of %d customers, %d movements, %s\n", min(from+chunk, p.Customers), p.Customers, nextMovement-1, time.Since(started).Round(time.Second))
		}
	}
	if backend == backendSQLite {
		if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return fmt.Errorf("bulk ledger: checkpoint: %w", err)
		}
	}
	return nil
}

const movementColumns = "id, account_id, kind, phase, amount, ref_id, overdraft, expires_at, source, idem_key, reason, document, rule, rule_version, actor, note, business_at, recorded_at"

// remaining is what is left of credit k's lot after the spends that
// follow it took their part.
func remaining(ops []bulkOp, k int) int64 {
	left := ops[k].Amount
	for _, op := range ops[k+1:] {
		for _, t := range op.Takes {
			if t.Op == k {
				left -= t.Amount
			}
		}
	}
	return left
}

// requestHash is the ledger's idempotency hash of a request: the SHA-256
// of its JSON.
func requestHash(req any) [32]byte {
	b, err := json.Marshal(req)
	if err != nil {
		panic(err) // plain structs of strings, numbers and times always marshal
	}
	return sha256.Sum256(b)
}

// tableWriter gathers rows per table and writes them in INSERTs of
// rowsPerInsert rows as they fill, and the rest at flushAll. Foreign keys
// being unchecked, a child row may be written before its parent within
// the transaction.
type tableWriter struct {
	ctx    context.Context
	tx     *sql.Tx
	tables map[string]*pendingRows
	order  []string
	err    error // the first failed INSERT; later rows are dropped
}

type pendingRows struct {
	name string
	cols string
	n    int    // values per row
	full string // the INSERT of a full batch, made once
	rows int
	args []any
}

const rowsPerInsert = 400

func newTableWriter(ctx context.Context, tx *sql.Tx) *tableWriter {
	return &tableWriter{ctx: ctx, tx: tx, tables: map[string]*pendingRows{}}
}

// add queues a row; an INSERT's error comes back from flushAll.
func (w *tableWriter) add(table, cols string, vals ...any) {
	if w.err != nil {
		return
	}
	t, ok := w.tables[table]
	if !ok {
		t = &pendingRows{name: table, cols: cols, n: len(vals)}
		t.full = t.insert(rowsPerInsert)
		w.tables[table] = t
		w.order = append(w.order, table)
	}
	t.args = append(t.args, vals...)
	t.rows++
	if t.rows == rowsPerInsert {
		w.err = w.write(t, t.full)
	}
}

func (t *pendingRows) insert(rows int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", t.n), ", ") + ")"
	return "INSERT INTO " + t.name + " (" + t.cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

func (w *tableWriter) write(t *pendingRows, q string) error {
	if _, err := w.tx.ExecContext(w.ctx, q, t.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", t.name, err)
	}
	t.args, t.rows = t.args[:0], 0
	return nil
}

func (w *tableWriter) flushAll() error {
	for _, name := range w.order {
		t := w.tables[name]
		if w.err == nil && t.rows > 0 {
			w.err = w.write(t, t.insert(t.rows))
		}
	}
	return w.err
}
