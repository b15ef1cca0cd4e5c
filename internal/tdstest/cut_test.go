package tdstest

import (
	"database/sql"
	"testing"
)

// TestCutResults: a result set cut by CutResults gives the client the
// rows before the cut and then an error, never a short result that looks
// complete; shorter result sets and those after the armed count pass.
func TestCutResults(t *testing.T) {
	srv := New(t)
	db, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec(t, db, "CREATE TABLE lines (id INT NOT NULL PRIMARY KEY, label NVARCHAR(200) NOT NULL)")
	for i := range 300 {
		// long labels: the rows fill several packets
		mustExec(t, db, "INSERT INTO lines VALUES (@p1, REPLICATE(N'x', 150))", i+1)
	}
	tests := []struct {
		name  string
		query string // typed columns stream; a column without a type is typed from the values, read first
	}{
		{"streamed", "SELECT id, label FROM lines ORDER BY id"},
		{"typed from values", "SELECT id, label, id % 7 AS bucket FROM lines ORDER BY id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := func() (int, error) {
				rows, err := db.QueryContext(testCtx(t), tt.query)
				if err != nil {
					return 0, err
				}
				defer rows.Close()
				n := 0
				for rows.Next() {
					n++
				}
				return n, rows.Err()
			}
			before := srv.Cuts()
			srv.CutResults(120, 1)
			if n, err := read(); err == nil || n != 120 {
				t.Fatalf("the cut result gave %d row(s) and error %v; want 120 rows, then an error", n, err)
			}
			if got := srv.Cuts() - before; got != 1 {
				t.Fatalf("Cuts went up by %d; want 1", got)
			}
			// Armed for one cut only: the next reads are whole.
			if n, err := read(); err != nil || n != 300 {
				t.Fatalf("after the cut: %d row(s), %v; want 300", n, err)
			}
			// A result shorter than the cut is not touched, and the
			// armed cut waits for a longer one.
			srv.CutResults(120, 1)
			var k int
			if err := db.QueryRowContext(testCtx(t), "SELECT COUNT(*) FROM lines").Scan(&k); err != nil || k != 300 {
				t.Fatalf("COUNT(*) with a cut armed: %d, %v", k, err)
			}
			if n, err := read(); err == nil || n != 120 {
				t.Fatalf("the armed cut did not wait for a long result: %d row(s), %v", n, err)
			}
			srv.CutResults(0, 0)
			if n, err := read(); err != nil || n != 300 {
				t.Fatalf("disarmed: %d row(s), %v; want 300", n, err)
			}
		})
	}
}
