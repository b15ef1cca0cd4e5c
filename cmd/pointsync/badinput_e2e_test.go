package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestBadInputE2E is the end-to-end part of the bad input catalogue
// (docs/reliability.md): bad files in a store's drop folder, a facts file
// with a figure no account can hold, and an adjustment beyond the limit,
// through the real binary. Every good row is applied once, every bad one
// is reported with its file and line, and every balance still reads.
func TestBadInputE2E(t *testing.T) {
	s := newSite(t, 100)
	const header = "store;till;receipt;line;at;card;gross;discount;spent\n"
	r1 := "S01;1;1;1;10/07/2026 09:00;0420000001;100,00;0;0\n" // earns 5.00
	r2 := "S01;1;2;1;10/07/2026 09:05;0420000002;20,00;0;0\n"  // earns 1.00
	s.drop("stores", "S01-a.csv", header+r1+r2)
	s.sync()
	s.wantBalance("card", "card:0420000001", 500, 0, 0)

	var le []byte
	for _, r := range utf16.Encode([]rune(header + "S01;1;9;1;10/07/2026 10:00;0420000009;100,00;0;0\n")) {
		le = append(le, byte(r), byte(r>>8))
	}
	files := map[string]string{
		// The same file again under its own name, once archived.
		"S01-a.csv": header + r1 + r2,
		// Receipt 1 again, beside a new receipt.
		"S01-b.csv": header + r1 + "S01;1;3;1;10/07/2026 09:10;0420000003;40,00;0;0\n",
		// Cut in the middle of its last row.
		"S01-c.csv": header + "S01;1;4;1;10/07/2026 09:20;0420000004;10,00;0;0\n" + "S01;1;5;1;10/07/2026 09:2",
		// Saved as UTF-16.
		"S01-d.csv": string(append([]byte{0xFF, 0xFE}, le...)),
		// A date out of range beside a good row.
		"S01-e.csv": header + "S01;1;6;1;01/01/0001 09:30;0420000006;10,00;0;0\n" + "S01;1;7;1;10/07/2026 09:40;0420000007;60,00;0;0\n",
	}
	for name, content := range files {
		s.drop("stores", name, content)
	}
	out := s.sync()
	if !strings.Contains(out, "stores: 4 fact(s) applied, 3 rejected") {
		t.Fatalf("sync: %s\nwant 4 facts applied (receipts 1 again, 3, 4, 7) and 3 rejected rows", out)
	}
	for card, earned := range map[string]int64{
		"card:0420000001": 500, // not 1000: the replay and the copy changed nothing
		"card:0420000002": 100,
		"card:0420000003": 200,
		"card:0420000004": 50,
		"card:0420000007": 300,
	} {
		s.wantBalance("card", card, earned, 0, 0)
	}
	for _, card := range []string{"card:0420000005", "card:0420000006", "card:0420000009"} {
		if code, _, errs := s.run("balance", "--program", "card", "--customer", card); code != 1 || !strings.Contains(errs, "unknown customer") {
			t.Errorf("balance of %s from a refused row: exit %d %s", card, code, errs)
		}
	}
	archived := s.files("drops/stores/archive")
	var names []string
	for _, p := range archived {
		names = append(names, filepath.Base(p))
	}
	slices.Sort(names)
	want := []string{"S01-a-2.csv", "S01-a.csv", "S01-b.csv", "S01-c.csv", "S01-c.csv.errors.csv", "S01-e.csv", "S01-e.csv.errors.csv"}
	if !slices.Equal(names, want) {
		t.Fatalf("archive %v, want %v", names, want)
	}
	for file, line := range map[string]string{
		"S01-c.csv.errors.csv": "3;;;\"the row has 5 fields but the header has 9",
		"S01-e.csv.errors.csv": "2;at;01/01/0001 09:30;\"year 1 is out of range (2000 to 2200)",
	} {
		if r := s.read(archived, file); !strings.Contains(r, line) {
			t.Errorf("%s does not hold %q:\n%s", file, line, r)
		}
	}
	rejected := s.files("drops/stores/rejected")
	if r := s.read(rejected, "S01-d.csv.errors.csv"); len(rejected) != 2 || !strings.Contains(r, "the whole file is rejected: the file is UTF-16") {
		t.Fatalf("rejected %v, report:\n%s", rejected, r)
	}

	// A facts file (the form a webservice sends) with a figure beyond
	// what one movement may carry: that line is refused, the next applied.
	facts := filepath.Join(s.dir, "huge.jsonl")
	if err := os.WriteFile(facts, []byte(
		`{"type":"till_receipt","program":"card","receipt":{"store":"S02","till":"1","receipt":"1","at":"2026-07-11T10:00:00+02:00","card":"0420000001","gross":1000,"earned":9223372036854775807}}`+"\n"+
			`{"type":"till_receipt","program":"card","receipt":{"store":"S02","till":"1","receipt":"2","at":"2026-07-11T10:05:00+02:00","card":"0420000001","gross":1000,"earned":7}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := s.run("sync", "--once", facts)
	if code != 0 || !strings.Contains(out, "huge.jsonl: 1 fact(s) applied, 1 rejected") || !strings.Contains(errs, "huge.jsonl:1: invalid request: credit amount 9223372036854775807 is beyond the limit of ±10000000000000 per movement") {
		t.Fatalf("sync of huge.jsonl: exit %d\n%s%s", code, out, errs)
	}
	s.wantBalance("card", "card:0420000001", 507, 0, 0)

	// An adjustment beyond the limit, from the command line.
	code, out, errs = s.run("adjust", "--program", "card", "--customer", "card:0420000001", "--points", "9223372036854775807")
	if code != 1 || !strings.Contains(errs, "adjustment 9223372036854775807 is beyond the limit") {
		t.Fatalf("adjust beyond the limit: exit %d\n%s%s", code, out, errs)
	}
	s.wantBalance("card", "card:0420000001", 507, 0, 0)
}
