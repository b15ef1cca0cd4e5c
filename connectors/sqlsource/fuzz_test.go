package sqlsource

import (
	"testing"

	"github.com/pointsync/pointsync/connectors"
)

// FuzzDecodeCursor feeds any stored text to the cursor decoder: it never
// panics, and a cursor it reads writes back to one that reads the same
// values and writes the same text again.
func FuzzDecodeCursor(f *testing.F) {
	cols := []cursorCol{{column: "updated_at", typ: CursorTime}, {column: "id", typ: CursorInt},
		{column: "code", typ: CursorText}, {column: "rv", typ: CursorBinary}}
	for _, s := range []string{
		"",
		`{"v":1,"columns":["updated_at","id","code","rv"],"last":["2026-03-04 05:06:07.0000012","-42","A-1","0x00000000000007D1"]}`,
		`{"v":1,"columns":["updated_at","id","code","rv"],"last":["2026-03-04T05:06:07+01:00","0","","0x00"]}`,
		`{"v":1,"columns":["updated_at","id","code","rv"],"last":["2026-03-04","9223372036854775807","\u00e8","07d1"]}`,
		`{"v":2,"columns":[],"last":[]}`,
		`sha256:abc:1`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := decodeCursor(cols, connectors.Cursor(s))
		if err != nil {
			return
		}
		if len(vals) != len(cols) {
			t.Fatalf("%d values for %d columns", len(vals), len(cols))
		}
		cur := encodeCursor(cols, vals)
		again, err := decodeCursor(cols, cur)
		if err != nil {
			t.Fatalf("%s, written from %q, does not read back: %v", cur, s, err)
		}
		for i := range cols {
			if !cols[i].equal(vals[i], again[i]) {
				t.Fatalf("column %s: %s read back as %s (cursor %s)", cols[i].column, cols[i].format(vals[i]), cols[i].format(again[i]), cur)
			}
		}
		if next := encodeCursor(cols, again); next != cur {
			t.Fatalf("written twice: %s then %s", cur, next)
		}
	})
}
