package bulk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pointsync/pointsync/csvio"
)

// FuzzImport feeds random bytes to Import: it never panics, and when it
// reads the whole file every data row is counted once, as applied,
// replayed or rejected, and listed (up to MaxErrors) in the report.
func FuzzImport(f *testing.F) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "import", "*", "in.csv"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte("customer,points\r\nweb:1,\"1\r\n2\"\r\n,\n"), true)
	f.Add([]byte("\xff\xfe;points\n"), false)
	l := openSQLite(f)
	seed(f, l)
	f.Fuzz(func(t *testing.T, data []byte, amount bool) {
		p := shop
		if amount {
			p = card
		}
		var rep bytes.Buffer
		o := ImportOptions{Program: p, Name: "fuzz.csv", SkipInvalid: true, CreateCustomers: true, Actor: "fuzz", Report: &rep}
		res, err := Import(context.Background(), l, bytes.NewReader(data), o)
		if err != nil {
			var fe *csvio.FileError
			if !errors.As(err, &fe) || fe.File != "fuzz.csv" || fe.Line < 1 {
				t.Fatalf("an error that is not a *csvio.FileError naming the file and a line: %v", err)
			}
			return
		}
		rows := dataRows(t, data, o)
		if got := res.Applied + res.Replayed + res.Rejected; got != rows {
			t.Fatalf("%d applied + %d replayed + %d rejected = %d, the file has %d data rows", res.Applied, res.Replayed, res.Rejected, got, rows)
		}
		if want := min(res.Rejected, MaxErrors); len(res.Errors) != want {
			t.Fatalf("%d errors listed for %d rejected", len(res.Errors), res.Rejected)
		}
		for _, e := range res.Errors {
			if e.Line < 2 || e.Reason == "" {
				t.Fatalf("row error without a line after the header or a reason: %+v", e)
			}
		}
		if res.Rejected == 0 && rep.Len() != 0 {
			t.Fatalf("a report without bad rows: %q", rep.String())
		}
		if res.Rejected > 0 {
			lines := 0
			r, err := csvio.NewReader(bytes.NewReader(rep.Bytes()), "report", csvio.Dialect{Delimiter: ';'}, reportColumns)
			if err != nil {
				t.Fatalf("the report does not read back: %v\n%q", err, rep.String())
			}
			for {
				_, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("the report does not read back: %v", err)
				}
				lines++
			}
			if lines != res.Rejected {
				t.Fatalf("the report has %d rows for %d rejected", lines, res.Rejected)
			}
		}
	})
}

var reportColumns = csvio.Columns{
	{Name: "line", Required: true, Headers: []string{"line"}},
	{Name: "column", Required: true, Headers: []string{"column"}},
	{Name: "value", Required: true, Headers: []string{"value"}},
	{Name: "reason", Required: true, Headers: []string{"reason"}},
}

// dataRows counts the records after the header as the adjustment reader
// sees them, good or bad.
func dataRows(t *testing.T, data []byte, o ImportOptions) int {
	t.Helper()
	r, err := csvio.NewAdjustmentReader(bytes.NewReader(data), o.Name, o.Dialect, o.Columns, o.Program.Unit == "amount")
	if err != nil {
		t.Fatalf("Import read a header the reader refuses: %v", err)
	}
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		var re *csvio.RowError
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("Import read a file the reader stops on: %v", err)
		}
		n++
	}
}
