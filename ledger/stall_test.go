package ledger

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/testdb"
)

// TestStallTimeoutEndsStalledTransaction: a holder stalled in the middle
// of a fenced transaction (a frozen daemon) holds the lease's fence row.
// With StallTimeout the server closes its connection once it has sent
// nothing for that long and rolls the transaction back, so a standby
// takes the lease over about then rather than when the holder resumes;
// the stalled transaction's write is not committed, before or after.
func TestStallTimeoutEndsStalledTransaction(t *testing.T) {
	dsn := testdb.MySQL(t)
	const stall, ttl = time.Second, 300 * time.Millisecond
	a, err := Open(context.Background(), Options{Backend: BackendMySQL, DSN: dsn, Programs: testPrograms, StallTimeout: stall})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b := mysqlHandle(t, dsn)
	ctx := context.Background()
	a.SetFence(acquire(t, a, "a:1", ttl))
	entered, resume, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var resumed sync.Once
	wake := func() { resumed.Do(func() { close(resume) }) }
	defer wake() // a failing test must not leave the transaction open
	go func() {
		done <- a.Update(ctx, func(tx *Tx) error {
			if err := tx.SetCursor("order", "written by a"); err != nil {
				return err
			}
			select {
			case <-entered:
			default:
				close(entered) // a retry after the connection was closed comes here again
			}
			<-resume // stalled: nothing more is sent
			return nil
		})
	}()
	<-entered
	stalled := time.Now()
	wait, cancel := context.WithDeadline(ctx, stalled.Add(5*time.Second))
	defer cancel()
	var lease *Lease
	for lease == nil {
		if lease, _, err = b.AcquireLease(wait, leaseName, "b:2", time.Minute); wait.Err() != nil {
			t.Fatal("no takeover 5s after the holder stalled inside a fenced transaction: its transaction was not ended")
		} else if err != nil {
			t.Fatal(err)
		}
		if lease == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	took := time.Since(stalled)
	if took < stall || took > stall+1500*time.Millisecond {
		t.Fatalf("taken over %s after the stall; want about the stall timeout %s", took, stall)
	}
	if c, err := b.Cursor(ctx, "order"); err != nil || c != "" {
		t.Fatalf("after the takeover the stalled write reads %q (%v); want it rolled back", c, err)
	}
	wake()
	if err := <-done; err == nil {
		t.Fatal("the stalled transaction committed after its connection was closed")
	}
	if c, err := b.Cursor(ctx, "order"); err != nil || c != "" {
		t.Fatalf("after the holder resumed the stalled write reads %q (%v); want nothing", c, err)
	}
}
