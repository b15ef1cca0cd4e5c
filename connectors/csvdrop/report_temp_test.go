package csvdrop

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReportTempLeftByCrash: a process killed while it wrote a file's error
// report leaves the report's temporary in the archive folder; when the
// report is written again (the file is finished again after the restart)
// the temporaries of that report go, while those of another report and the
// other files stay.
func TestReportTempLeftByCrash(t *testing.T) {
	d := newDaemon(t, nil)
	if err := os.MkdirAll(d.path(d.archived("")), 0o750); err != nil {
		t.Fatal(err)
	}
	left := []string{d.archived(".store.csv.errors.csv.12345.tmp"), d.archived(".store.csv.errors.csv.678.tmp")}
	kept := []string{d.archived(".other.csv.errors.csv.12345.tmp"), d.archived("older.csv")}
	for _, p := range slices.Concat(left, kept) {
		if err := os.WriteFile(d.path(p), []byte("half a report"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	d.drop("store.csv", thousandRows(500, func(r string) string { return strings.Replace(r, ";500,01;", ";500,0x;", 1) }), time.Minute)
	d.run(100)
	want := slices.Concat([]string{d.archived("store.csv"), d.archived("store.csv.errors.csv")}, kept)
	slices.Sort(want)
	if got := d.tree(); !slices.Equal(got, want) {
		t.Fatalf("tree %v, want %v", got, want)
	}
	if report := d.read(d.archived("store.csv.errors.csv")); !strings.Contains(report, "501;gross;") {
		t.Errorf("report:\n%s", report)
	}
}
