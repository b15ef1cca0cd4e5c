package csvio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

func BenchmarkAdjustmentReader(b *testing.B) {
	const rows = 100_000
	var buf bytes.Buffer
	buf.WriteString("\xef\xbb\xbfcliente;punti;scadenza;nota\r\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&buf, "card:%08d;%d;31/12/2026;\"Rettifica n. %d, caffè\"\r\n", i, 1+i%5000, i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ar, err := NewAdjustmentReader(bytes.NewReader(data), "bench.csv", Dialect{}, nil, false)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := ar.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("%d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
