package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSpillChangesNothing maps every golden input, and a long input with
// receipts met again, with the keys spilled after 1, 2 and 5 in memory:
// the items are those of a Mapper that keeps them all in memory.
func TestSpillChangesNothing(t *testing.T) {
	type input struct {
		name string
		spec Spec
		recs []Record
	}
	var inputs []input
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "spec.json"))
		if err != nil {
			t.Fatal(err)
		}
		var gs goldenSpec
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&gs); err != nil {
			t.Fatal(err)
		}
		in := input{name: filepath.Base(dir), spec: gs.spec(t)}
		if _, err := os.Stat(filepath.Join(dir, "input.json")); err == nil {
			in.recs = readJSONRecords(t, filepath.Join(dir, "input.json"))
		} else {
			in.recs = readCSVRecords(t, filepath.Join(dir, "input.csv"))
		}
		inputs = append(inputs, in)
	}
	// 3,000 receipts of two lines, every 7th of them met again after
	// others, and one whose rows are split around another.
	var rows [][]string
	for i := range 3000 {
		n := receiptNo(i)
		rows = append(rows, receiptRow(n), receiptRow(n, "line", "2"))
		if i%7 == 6 {
			rows = append(rows, receiptRow(receiptNo(i-5)))
		}
	}
	rows = append(rows, receiptRow("x"), receiptRow("y"), receiptRow("x", "line", "2"))
	inputs = append(inputs, input{name: "long", spec: Spec{Type: TypeTillReceipt, Program: "P1"}, recs: recs(rows...)})

	for _, in := range inputs {
		want := mapAll(newMapper(t, in.spec), in.recs)
		for _, memKeys := range []int{1, 2, 5} {
			m := newMapper(t, in.spec)
			m.SpillTo(t.TempDir(), memKeys)
			// Twice: Flush forgets the first input, not the file.
			for round := range 2 {
				got := mapAll(m, in.recs)
				if err := m.Err(); err != nil {
					t.Fatalf("%s, %d keys in memory: %v", in.name, memKeys, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s, %d keys in memory, round %d: items differ from those of a Mapper in memory:\n%+v\n%+v", in.name, memKeys, round, got, want)
				}
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	refused := 0
	for _, it := range mapAll(newMapper(t, inputs[len(inputs)-1].spec), inputs[len(inputs)-1].recs) {
		if it.Err != nil && strings.Contains(it.Err.Reason, "appeared earlier in this input") {
			refused++
		}
	}
	if refused != 3000/7+1 {
		t.Fatalf("%d receipts refused as met before, want %d", refused, 3000/7+1)
	}
}

func receiptNo(i int) string { return fmt.Sprintf("%05d", i) }

// TestSpillFailureIsAnError checks that a Mapper whose file fails says so
// in Err, instead of passing or refusing a receipt it cannot check.
func TestSpillFailureIsAnError(t *testing.T) {
	m := newMapper(t, Spec{Type: TypeTillReceipt, Program: "P1"})
	m.SpillTo(filepath.Join(t.TempDir(), "missing"), 1)
	mapAll(m, recs(receiptRow("1"), receiptRow("2"), receiptRow("3")))
	err := m.Err()
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Err() = %v, want the failure to create the file", err)
	}
	if !strings.HasPrefix(err.Error(), "remembering the receipts met in this input: keyset: ") {
		t.Fatalf("Err() = %q: the message should say what failed", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Without SpillTo the keys stay in memory: nothing can fail.
	m = newMapper(t, Spec{Type: TypeTillReceipt, Program: "P1"})
	mapAll(m, recs(receiptRow("1"), receiptRow("2"), receiptRow("3")))
	if m.Err() != nil || m.Close() != nil {
		t.Fatalf("a Mapper in memory failed: %v", m.Err())
	}
}
