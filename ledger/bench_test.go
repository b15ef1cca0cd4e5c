package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The benchmarks run on SQLite with synchronous=FULL, as shipped.
//
//	go test -run='^$' -bench=. -benchtime=1000000x ./ledger
//
// posts 1,000,000 movements in BenchmarkPost and reads balances on a
// ledger of 1,000,000 movements in BenchmarkBalance.

const (
	benchCustomers = 100_000
	benchBatch     = 1000 // movements per transaction, as a sync batch commits them
)

func benchIdent(i int) Ident { return Ident("card:" + strconv.Itoa(1_000_000+i)) }

// benchLedger opens a fresh SQLite ledger with benchCustomers customers.
func benchLedger(b *testing.B, dir string) (*Ledger, *testClock) {
	b.Helper()
	clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, rome)}
	l, err := Open(context.Background(), Options{Path: dir + "/bench.db", Programs: testPrograms, Clock: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < benchCustomers; start += 10_000 {
		err := l.Update(context.Background(), func(tx *Tx) error {
			for i := start; i < start+10_000; i++ {
				if _, _, err := tx.EnsureCustomer(benchIdent(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return l, clock
}

// postMix writes movement n of a realistic mix: three credits with an
// expiry (till and web accruals) for each spend, spread over all customers.
func postMix(tx *Tx, rng *rand.Rand, n int) error {
	c := benchIdent(rng.IntN(benchCustomers))
	key := "b" + strconv.Itoa(n)
	if n%4 == 3 {
		_, err := tx.Spend(SpendRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourcePOS, Key: key, Reason: "redemption"}, Amount: 1 + rng.Int64N(20), Overdraft: true})
		return err
	}
	exp := tx.Now().Add(time.Duration(30+rng.IntN(335)) * 24 * time.Hour)
	_, err := tx.Credit(CreditRequest{Account: Account{"shop", c}, Meta: Meta{Source: SourcePOS, Key: key, Reason: "accrual", Document: "S01/T1/" + key},
		Amount: 1 + rng.Int64N(200), Expires: &exp})
	return err
}

func post(b *testing.B, l *Ledger, from, count int, rng *rand.Rand) {
	b.Helper()
	for start := from; start < from+count; start += benchBatch {
		end := min(start+benchBatch, from+count)
		err := l.Update(context.Background(), func(tx *Tx) error {
			for n := start; n < end; n++ {
				if err := postMix(tx, rng, n); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPost posts b.N movements, benchBatch per transaction.
func BenchmarkPost(b *testing.B) {
	l, _ := benchLedger(b, b.TempDir())
	defer l.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	post(b, l, 0, b.N, rng)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "movements/s")
}

// BenchmarkPostDurable commits every movement on its own: the cost of a
// durable commit per write.
func BenchmarkPostDurable(b *testing.B) {
	l, _ := benchLedger(b, b.TempDir())
	defer l.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for n := range b.N {
		if err := l.Update(context.Background(), func(tx *Tx) error { return postMix(tx, rng, n) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "movements/s")
}

// bigLedger is a ledger of 1,000,000 movements, built once per run.
var bigLedger struct {
	once sync.Once
	l    *Ledger
	dir  string
	took time.Duration
}

// BenchmarkBalance reads random customers' balances on a ledger of
// 1,000,000 movements over 100,000 customers.
func BenchmarkBalance(b *testing.B) {
	bigLedger.once.Do(func() {
		dir, err := os.MkdirTemp("", "pointsync-bench-")
		if err != nil {
			b.Fatal(err)
		}
		bigLedger.dir = dir
		start := time.Now()
		l, _ := benchLedger(b, dir)
		post(b, l, 0, 1_000_000, rand.New(rand.NewPCG(3, 4)))
		bigLedger.l, bigLedger.took = l, time.Since(start)
		fmt.Fprintf(os.Stderr, "built a ledger of 1,000,000 movements in %s\n", bigLedger.took.Round(time.Second))
	})
	l := bigLedger.l
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Balance(ctx, Account{"shop", benchIdent(rng.IntN(benchCustomers))}, time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
