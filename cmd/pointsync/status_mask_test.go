package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

// TestStatusMasksCardsInErrors: a job's last error that quotes a card
// number (a data row read as a header, a customer written card:NUMBER)
// shows its last four digits in status, as in the API and the admin UI,
// in the table, in --json and in --check's complaint.
func TestStatusMasksCardsInErrors(t *testing.T) {
	c := newCLI(t)
	e, err := (&common{config: c.config}).open(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = e.ledger.SaveJob(context.Background(), ledger.Job{Name: "stores", LastRun: now, LastErrorAt: now, Failures: 5, Runs: 5,
		LastError: `stores.csv:1: unknown column "card:0420009876" (a data row read as the header?)`})
	e.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"status", "--json"}, {"status", "--check"}} {
		_, out, errs := c.run(args...)
		if strings.Contains(out+errs, "0420009876") || !strings.Contains(out+errs, "9876") {
			t.Errorf("%s shows the card number or not its last four:\n%s%s", strings.Join(args, " "), out, errs)
		}
	}
}
