package sqlsource

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestMySQLTableGuard: the guard is asked right before each INSERT and
// its refusal stops the write there: the batches before it are written,
// none after, and the error names the rows left out and wraps the
// guard's.
func TestMySQLTableGuard(t *testing.T) {
	e := newMySQL(t)
	table := e.table(balancesDDL)
	refusal := errors.New("lease lost")
	calls := 0
	tb := e.newTable(TableOptions{Table: table, Amount: true, BatchSize: 1, Guard: func() error {
		calls++
		if calls > 2 {
			return refusal
		}
		return nil
	}})
	// Three rows (web:1001, web:7, web:8), one per INSERT.
	err := tb.Write(context.Background(), balances())
	if !errors.Is(err, refusal) || !strings.Contains(err.Error(), "rows 3 to 3 of 3 not written") {
		t.Fatalf("Write with the third INSERT refused: %v", err)
	}
	if got := e.dump("SELECT customer FROM " + table + " ORDER BY customer"); strings.Join(got, ",") != "1001,7" {
		t.Fatalf("rows written: %v; want the two before the refusal", got)
	}
	if calls != 3 {
		t.Fatalf("guard asked %d times; want once per INSERT up to the refusal (3)", calls)
	}
}
