package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// importTable is a CSV file and the table the storage's own bulk import
// loads it into, with the unique key the rows have in the product.
type importTable struct {
	file   string
	table  string
	sep    string
	cols   []string
	unique []string
	rows   int // data rows of the file, checked after the import
}

// importResult is how long the storage's own tool took and its peak
// memory (0 when it ran in this process).
type importResult struct {
	took   time.Duration
	maxRSS int64
	tool   string
}

// importLimit times the storage's own bulk import of tables: Debian's
// sqlite3 `.import` into a new SQLite file in the measure's folder (WAL,
// synchronous=FULL, as the ledger), or LOAD DATA LOCAL INFILE into the
// measure's MySQL database. Each table gets all the rows or the limit is
// an error.
func (b *bench) importLimit(ctx context.Context, s *store, tables []importTable) (importResult, error) {
	if s.backend == backendMySQL {
		return mysqlLoad(ctx, s, tables)
	}
	if b.sqlite3 == "" {
		return importResult{}, errNoSQLite3
	}
	db := filepath.Join(s.dir, "import-limit.db")
	var script strings.Builder
	script.WriteString(".bail on\nPRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\n")
	created := map[string]bool{}
	for _, t := range tables {
		if !created[t.table] {
			created[t.table] = true
			fmt.Fprintf(&script, "CREATE TABLE %s (%s, UNIQUE (%s));\n", t.table, quoteCols(t.cols, " TEXT"), quoteCols(t.unique, ""))
		}
	}
	script.WriteString(".mode csv\n")
	for _, t := range tables {
		fmt.Fprintf(&script, ".separator %q\n.import --skip 1 %q %s\n", t.sep, t.file, t.table)
	}
	cmd := exec.CommandContext(ctx, b.sqlite3, db)
	cmd.Stdin = strings.NewReader(script.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdout has the answer of PRAGMA journal_mode
	start := time.Now()
	err := cmd.Run()
	res := importResult{took: time.Since(start), maxRSS: maxRSS(cmd.ProcessState), tool: "sqlite3 .import"}
	if err != nil || stderr.Len() > 0 {
		return res, fmt.Errorf("sqlite3 .import: %v: %s", err, stderr.String())
	}
	conn, err := openSQLite(db, false, true)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	return res, checkRows(ctx, conn, tables)
}

// rssNote tells a tool's peak memory, when it ran in a process of its own.
func rssNote(rss int64) string {
	if rss == 0 {
		return ""
	}
	return ", peak RSS " + mib(rss)
}

var errNoSQLite3 = fmt.Errorf("sqlite3 is not installed (apt-get install sqlite3): no import limit")

func quoteCols(cols []string, typ string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = `"` + c + `"` + typ
	}
	return strings.Join(q, ", ")
}

// mysqlLoad runs LOAD DATA LOCAL INFILE through the Go driver, one
// autocommitted statement per file.
func mysqlLoad(ctx context.Context, s *store, tables []importTable) (importResult, error) {
	res := importResult{tool: "LOAD DATA LOCAL INFILE"}
	db, err := s.open(false)
	if err != nil {
		return res, err
	}
	defer db.Close()
	created := map[string]bool{}
	for _, t := range tables {
		mysql.RegisterLocalFile(t.file)
		if created[t.table] {
			continue
		}
		created[t.table] = true
		cols := make([]string, len(t.cols))
		for i, c := range t.cols {
			cols[i] = "`" + c + "` VARCHAR(64)"
		}
		uniq := "`" + strings.Join(t.unique, "`, `") + "`"
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE limit_%s (%s, UNIQUE KEY (%s)) ENGINE=InnoDB", t.table, strings.Join(cols, ", "), uniq)); err != nil {
			return res, err
		}
	}
	start := time.Now()
	for _, t := range tables {
		q := fmt.Sprintf("LOAD DATA LOCAL INFILE '%s' INTO TABLE limit_%s CHARACTER SET utf8mb4 FIELDS TERMINATED BY '%s' LINES TERMINATED BY '\\n' IGNORE 1 LINES",
			t.file, t.table, t.sep)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return res, fmt.Errorf("LOAD DATA %s: %w", t.file, err)
		}
	}
	res.took = time.Since(start)
	for _, t := range tables {
		mysql.DeregisterLocalFile(t.file)
	}
	renamed := make([]importTable, len(tables))
	for i, t := range tables {
		t.table = "limit_" + t.table
		renamed[i] = t
	}
	return res, checkRows(ctx, db, renamed)
}

// checkRows checks that each table holds the rows of all its files.
func checkRows(ctx context.Context, db *sql.DB, tables []importTable) error {
	want := map[string]int{}
	var order []string
	for _, t := range tables {
		if _, ok := want[t.table]; !ok {
			order = append(order, t.table)
		}
		want[t.table] += t.rows
	}
	for _, table := range order {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			return err
		}
		if n != want[table] {
			return fmt.Errorf("the import limit loaded %d rows into %s, want %d", n, table, want[table])
		}
	}
	return nil
}

// fileRows counts a CSV file's data rows (its lines less the header).
func fileRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<16)
	lines := 0
	for {
		n, err := f.Read(buf)
		lines += bytes.Count(buf[:n], []byte("\n"))
		if err == io.EOF {
			return lines - 1, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
