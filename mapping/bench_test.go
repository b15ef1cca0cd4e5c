package mapping

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMapperReceipts maps a drop of single-line receipts, as tills
// write them: Italian numbers and day-first times in the store's zone.
func BenchmarkMapperReceipts(b *testing.B) {
	const rows = 100_000
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]Record, rows)
	for i := range recs {
		recs[i] = Record{Seq: int64(i + 1), Origin: "S001_20260115.csv", Line: i + 2, Values: map[string]string{
			"store": "S001", "till": "T02", "receipt": fmt.Sprintf("%06d", i),
			"at":   fmt.Sprintf("15/01/2026 %02d:%02d:%02d", 8+i/3600%12, i/60%60, i%60),
			"card": fmt.Sprintf("04200%05d", i%50_000), "card_type": "GOLD",
			"product": "", "quantity": "1", "gross": fmt.Sprintf("%d,%02d", 1+i%300, i%100),
			"discount": "", "discounted": "", "earned": fmt.Sprintf("%d", 1+i%300), "spent": "",
		}}
	}
	m, err := NewMapper(Spec{Type: TypeTillReceipt, Program: "P1", Location: loc})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, r := range recs {
			for _, it := range m.Add(r) {
				if it.Err != nil {
					b.Fatal(it.Err)
				}
				n++
			}
		}
		n += len(m.Flush())
		if n != rows {
			b.Fatalf("%d facts, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows*b.N), "ns/record")
}
