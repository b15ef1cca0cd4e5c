package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// The customer list and report benchmarks read the ledger of
// BenchmarkBalance: 1,000,000 movements over 100,000 customers, SQLite.
//
//	go test -run='^$' -bench='ListCustomers|Report|Daily' -benchtime=20x ./ledger

// bigBenchLedger builds (once per run, shared with BenchmarkBalance) the
// ledger of 1,000,000 movements.
func bigBenchLedger(b *testing.B) *Ledger {
	b.Helper()
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
	if bigLedger.l == nil {
		b.Fatal("the benchmark ledger was not built")
	}
	return bigLedger.l
}

// BenchmarkListCustomers reads one page of the customer list of 100,000
// customers, each way an admin screen asks for it.
func BenchmarkListCustomers(b *testing.B) {
	l := bigBenchLedger(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    CustomerQuery
	}{
		{"by customer", CustomerQuery{}},
		{"by earned desc", CustomerQuery{Sort: "earned", Desc: true}},
		{"by earned desc, page 100", CustomerQuery{Sort: "earned", Desc: true, Offset: 5000}},
		{"by expired desc", CustomerQuery{Sort: "expired", Desc: true}},
		{"by spent, min earned", CustomerQuery{Sort: "spent", Min: map[string]int64{"earned": 500}}},
		{"search", CustomerQuery{Search: "card:10004", Sort: "earned", Desc: true}},
		{"1000 rows by earned", CustomerQuery{Sort: "earned", Desc: true, Limit: 1000}},
		{"by expired desc, half a year on", CustomerQuery{Sort: "expired", Desc: true, At: l.Now().AddDate(0, 6, 0)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := bc.q
			q.Program = "shop"
			for b.Loop() {
				page, err := l.ListCustomers(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Rows) == 0 {
					b.Fatalf("no rows for %+v", q)
				}
			}
		})
	}
}

// BenchmarkReport sums every movement of the program by day.
func BenchmarkReport(b *testing.B) {
	l := bigBenchLedger(b)
	ctx := context.Background()
	for b.Loop() {
		rep, err := l.Report(ctx, ReportQuery{Program: "shop", By: ReportByDay})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Total.Movements != 1_000_000 {
			b.Fatalf("report counted %d movements", rep.Total.Movements)
		}
	}
}

// BenchmarkDaily gives 30 days of figures.
func BenchmarkDaily(b *testing.B) {
	l := bigBenchLedger(b)
	ctx := context.Background()
	now := l.Now()
	for b.Loop() {
		days, err := l.Daily(ctx, "shop", now.AddDate(0, 0, -29), now)
		if err != nil {
			b.Fatal(err)
		}
		if len(days) != 30 {
			b.Fatalf("daily gave %d days", len(days))
		}
	}
}
