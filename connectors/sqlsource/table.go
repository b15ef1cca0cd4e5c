package sqlsource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/csvio"
)

// Figures are the balance figures a Table writes, the keys of
// TableOptions.Columns.
var Figures = []string{"customer", "program", "earned", "provisional", "spent", "expired", "expiring_date", "expiring_points", "updated_at"}

// DefaultBatchSize is the rows of one INSERT when TableOptions.BatchSize
// is 0.
const DefaultBatchSize = 500

// maxParams is MySQL's limit of parameters in one prepared statement.
const maxParams = 65535

// identRE is a table or column name a Table may quote with backticks and
// put in its SQL: nothing configured can reach the SQL text beyond a
// plain name.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]{0,63}$`)

// TableOptions configure a Table.
type TableOptions struct {
	Name  string
	DSN   string // MySQL; never put in an error or a log
	Table string // the balance table, optionally schema.table
	// Identifier is the kind of customer identifier written in the
	// customer column, without its prefix: "web" writes 1001 for
	// web:1001. A customer with several is written once for each; one
	// without any is skipped.
	Identifier string
	// Columns maps figures to the table's columns; empty writes every
	// figure to the column of its name. The customer is required.
	Columns map[string]string
	// Amount: the program's figures are cents, written as exact decimals
	// (12.73); else whole points.
	Amount    bool
	BatchSize int           // rows per INSERT; 0 = DefaultBatchSize
	Timeout   time.Duration // per statement; 0 = DefaultTimeout
	Logger    *zap.Logger
	// Guard, when set, is asked right before each INSERT; its error
	// stops the write there (the daemon checks that it still holds the
	// ledger's lease, so that one that lost it writes no stale figures).
	Guard func() error
}

// tableCol is a figure written and its column.
type tableCol struct {
	figure string
	column string
}

// Table writes balances into a shop's MySQL table, one row per customer
// (and program, when written), with INSERT ... ON DUPLICATE KEY UPDATE:
// absolute values, so writing the same balances again changes nothing.
// It is safe for concurrent use.
type Table struct {
	name    string
	dsn     string
	db      *sql.DB
	schema  string // "" is the DSN's database
	table   string
	quoted  string // `schema`.`table`
	cols    []tableCol
	prefix  string // the identifier kind and ':'
	amount  bool
	batch   int
	timeout time.Duration
	log     *zap.Logger
	guard   func() error
}

var (
	_ connectors.Sink   = (*Table)(nil)
	_ connectors.Prober = (*Table)(nil)
	_ connectors.Closer = (*Table)(nil)
)

// NewTable checks the options and opens the connection pool (which
// connects at the first statement).
func NewTable(o TableOptions) (*Table, error) {
	fail := func(err error) (*Table, error) { return nil, fmt.Errorf("sql table %q: %w", o.Name, err) }
	if strings.TrimSpace(o.Name) == "" {
		return nil, errors.New("sql table: the name is empty")
	}
	t := &Table{name: o.Name, dsn: o.DSN, amount: o.Amount, batch: o.BatchSize, timeout: o.Timeout, log: o.Logger, guard: o.Guard}
	if strings.TrimSpace(o.DSN) == "" {
		return fail(errors.New("the DSN is empty: give the shop database's address and credentials"))
	}
	parts := strings.Split(o.Table, ".")
	if len(parts) > 2 {
		return fail(fmt.Errorf("table %q: write table or schema.table", o.Table))
	}
	for _, p := range parts {
		if !identRE.MatchString(p) {
			return fail(fmt.Errorf("table %q is not a plain table name: letters, digits, _ and $, not starting with a digit, optionally schema.table", o.Table))
		}
	}
	t.table = parts[len(parts)-1]
	t.quoted = quote(t.table)
	if len(parts) == 2 {
		t.schema = parts[0]
		t.quoted = quote(t.schema) + "." + t.quoted
	}
	switch o.Identifier {
	case "web", "erp", "card", "email":
		t.prefix = o.Identifier + ":"
	default:
		return fail(fmt.Errorf("identifier %q: use web, erp, card or email, the kind of customer identifier the table's customer column holds", o.Identifier))
	}
	if len(o.Columns) == 0 {
		for _, f := range Figures {
			t.cols = append(t.cols, tableCol{figure: f, column: f})
		}
	} else {
		for _, k := range sortedKeys(o.Columns) {
			if !slices.Contains(Figures, k) {
				return fail(fmt.Errorf("columns: unknown figure %q (figures: %s)", k, strings.Join(Figures, ", ")))
			}
			if !identRE.MatchString(o.Columns[k]) {
				return fail(fmt.Errorf("columns: %s: %q is not a plain column name (letters, digits, _ and $)", k, o.Columns[k]))
			}
		}
		if o.Columns["customer"] == "" {
			return fail(errors.New("columns: the customer column is needed (customer: COLUMN): it is the table's key"))
		}
		for _, f := range Figures {
			if c, ok := o.Columns[f]; ok {
				t.cols = append(t.cols, tableCol{figure: f, column: c})
			}
		}
	}
	for i, a := range t.cols {
		for _, b := range t.cols[:i] {
			if strings.EqualFold(a.column, b.column) {
				return fail(fmt.Errorf("columns: %s and %s are both written to column %s: give each figure its own column", b.figure, a.figure, a.column))
			}
		}
	}
	most := min(10_000, maxParams/max(1, t.params()))
	switch {
	case t.batch < 0 || t.batch > most:
		return fail(fmt.Errorf("batch size %d: use 1 to %d rows per INSERT, or 0 for %d", t.batch, most, DefaultBatchSize))
	case t.batch == 0:
		t.batch = min(DefaultBatchSize, most)
	}
	switch {
	case t.timeout < 0:
		return fail(fmt.Errorf("timeout %s is negative: leave it 0 for %s", t.timeout, DefaultTimeout))
	case t.timeout == 0:
		t.timeout = DefaultTimeout
	}
	if t.log == nil {
		t.log = zap.NewNop()
	}
	db, err := open(DriverMySQL, o.DSN)
	if err != nil {
		return fail(scrubDSN(err, o.DSN))
	}
	t.db = db
	return t, nil
}

// quote writes a checked identifier for MySQL.
func quote(ident string) string { return "`" + ident + "`" }

// params is how many parameters one row binds: every figure but
// updated_at, which the server sets.
func (t *Table) params() int {
	n := 0
	for _, c := range t.cols {
		if c.figure != "updated_at" {
			n++
		}
	}
	return n
}

// Close closes the connection pool.
func (t *Table) Close() error { return t.db.Close() }

// Write upserts a row per customer identifier of the table's kind, in
// INSERTs of BatchSize rows. Each INSERT commits on its own: after a
// failure the daemon writes the same balances again, which rewrites the
// same values.
func (t *Table) Write(ctx context.Context, items []connectors.Balance) error {
	type target struct {
		customer string
		b        *connectors.Balance
	}
	var rows []target
	skipped := 0
	for i := range items {
		n := len(rows)
		for _, id := range items[i].Identifiers {
			if v, ok := strings.CutPrefix(id, t.prefix); ok && v != "" {
				rows = append(rows, target{customer: v, b: &items[i]})
			}
		}
		if len(rows) == n {
			skipped++
		}
	}
	if skipped > 0 {
		t.log.Debug("customers without a shop identifier skipped", zap.String("export", t.name),
			zap.String("identifier", strings.TrimSuffix(t.prefix, ":")), zap.Int("skipped", skipped))
	}
	for start := 0; start < len(rows); start += t.batch {
		end := min(start+t.batch, len(rows))
		args := make([]any, 0, (end-start)*t.params())
		for _, r := range rows[start:end] {
			args = t.appendRow(args, r.customer, r.b)
		}
		if t.guard != nil {
			if err := t.guard(); err != nil {
				return fmt.Errorf("sql table %q: rows %d to %d of %d not written into %s: %w", t.name, start+1, end, len(rows), t.quoted, err)
			}
		}
		ctx, cancel := context.WithTimeout(ctx, t.timeout)
		_, err := t.db.ExecContext(ctx, t.insert(end-start), args...)
		cancel()
		if err != nil {
			return fmt.Errorf("sql table %q: writing rows %d to %d of %d into %s: %w (check that the shop database is reachable, the DSN's user may write the table, and check-config --connect)",
				t.name, start+1, end, len(rows), t.quoted, scrubDSN(err, t.dsn))
		}
	}
	t.log.Debug("balances written", zap.String("export", t.name), zap.Int("rows", len(rows)))
	return nil
}

// insert is the statement for n rows.
func (t *Table) insert(n int) string {
	var cols, row, update []string
	for _, c := range t.cols {
		cols = append(cols, quote(c.column))
		if c.figure == "updated_at" {
			row = append(row, "UTC_TIMESTAMP(6)")
		} else {
			row = append(row, "?")
		}
		if c.figure != "customer" && c.figure != "program" {
			update = append(update, quote(c.column)+"=VALUES("+quote(c.column)+")")
		}
	}
	if len(update) == 0 {
		// Nothing but the key: a row that exists stays as it is.
		update = append(update, quote(t.cols[0].column)+"="+quote(t.cols[0].column))
	}
	values := "(" + strings.Join(row, ",") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.quoted + " (" + strings.Join(cols, ",") + ") VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(values)
	}
	b.WriteString(" ON DUPLICATE KEY UPDATE " + strings.Join(update, ","))
	return b.String()
}

// appendRow binds one row's figures in column order.
func (t *Table) appendRow(args []any, customer string, b *connectors.Balance) []any {
	figure := func(v int64) any {
		if t.amount {
			return csvio.FormatCents(v, csvio.DecimalPoint)
		}
		return v
	}
	for _, c := range t.cols {
		switch c.figure {
		case "customer":
			args = append(args, customer)
		case "program":
			args = append(args, b.Program)
		case "earned":
			args = append(args, figure(b.Earned))
		case "provisional":
			args = append(args, figure(b.Provisional))
		case "spent":
			args = append(args, figure(b.Spent))
		case "expired":
			args = append(args, figure(b.Expired))
		case "expiring_date":
			if len(b.Expiring) == 0 {
				args = append(args, nil)
			} else {
				args = append(args, b.Expiring[0].Date)
			}
		case "expiring_points":
			if len(b.Expiring) == 0 {
				args = append(args, nil)
			} else {
				args = append(args, figure(b.Expiring[0].Points))
			}
		}
	}
	return args
}

// Probe checks that the table and its columns exist, that amount
// figures go to exact decimal columns, and that a PRIMARY or UNIQUE key
// is made of the customer column (and the program column, when written),
// which the upsert needs to find a customer's row. Every problem is
// reported at once.
func (t *Table) Probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	fail := func(err error) error {
		return fmt.Errorf("sql table %q: reading the table's definition: %w (check that the shop database is reachable and the DSN's database, user and password)",
			t.name, scrubDSN(err, t.dsn))
	}
	schema := t.schema
	if schema == "" {
		var db sql.NullString
		if err := t.db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&db); err != nil {
			return fail(err)
		}
		if !db.Valid || db.String == "" {
			return fmt.Errorf("sql table %q: the DSN names no database and table %s no schema: add /DATABASE to the DSN, or write table: DATABASE.%s",
				t.name, t.table, t.table)
		}
		schema = db.String
	}
	types := map[string]string{} // lower-cased column -> DATA_TYPE
	var names []string
	rows, err := t.db.QueryContext(ctx,
		"SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
		schema, t.table)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return fail(err)
		}
		types[strings.ToLower(name)] = strings.ToLower(typ)
		names = append(names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if len(names) == 0 {
		return fmt.Errorf("sql table %q: table %s does not exist in database %s (or the DSN's user may not see it): create it (connectors/sqlsource/README.md shows a CREATE TABLE)",
			t.name, t.table, schema)
	}
	var probs []string
	for _, c := range t.cols {
		typ, ok := types[strings.ToLower(c.column)]
		if !ok {
			probs = append(probs, fmt.Sprintf("figure %s: the table has no column %s (its columns: %s): add it, or map the figure to another column",
				c.figure, c.column, strings.Join(names, ", ")))
			continue
		}
		switch c.figure {
		case "earned", "provisional", "spent", "expired", "expiring_points":
			if t.amount && typ != "decimal" {
				probs = append(probs, fmt.Sprintf("figure %s: column %s is %s, and the program's figures are amounts written exactly, such as 12.73: make it DECIMAL(12,2)",
					c.figure, c.column, strings.ToUpper(typ)))
			}
		}
	}
	key, err := t.uniqueKeys(ctx, schema)
	if err != nil {
		return fail(err)
	}
	want := []string{}
	for _, c := range t.cols {
		if c.figure == "customer" || c.figure == "program" {
			want = append(want, c.column)
		}
	}
	if !hasKey(key, want) {
		probs = append(probs, fmt.Sprintf("no PRIMARY KEY or UNIQUE key of the table is made of exactly (%s): INSERT ... ON DUPLICATE KEY UPDATE finds a customer's row by it, and without it every write adds rows instead of updating them; add one: ALTER TABLE %s ADD UNIQUE KEY (%s)",
			strings.Join(want, ", "), t.quoted, strings.Join(quoteAll(want), ", ")))
	}
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("sql table %q: table %s.%s does not fit the export:\n  - %s", t.name, schema, t.table, strings.Join(probs, "\n  - "))
}

// uniqueKeys lists the columns of each PRIMARY or UNIQUE key.
func (t *Table) uniqueKeys(ctx context.Context, schema string) (map[string][]string, error) {
	rows, err := t.db.QueryContext(ctx,
		"SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX",
		schema, t.table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := map[string][]string{}
	for rows.Next() {
		var index, col string
		if err := rows.Scan(&index, &col); err != nil {
			return nil, err
		}
		keys[index] = append(keys[index], col)
	}
	return keys, rows.Err()
}

// hasKey tells whether one of the keys is made of exactly the columns
// want, in any order.
func hasKey(keys map[string][]string, want []string) bool {
	for _, cols := range keys {
		if len(cols) != len(want) {
			continue
		}
		all := true
		for _, w := range want {
			found := false
			for _, c := range cols {
				found = found || strings.EqualFold(c, w)
			}
			all = all && found
		}
		if all {
			return true
		}
	}
	return false
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quote(n)
	}
	return out
}
