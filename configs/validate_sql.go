package configs

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pointsync/pointsync/connectors/sqlquery"
)

// sqlIdentRE is a table or column name the write-back may quote and use:
// plain identifiers only, so that nothing in the configuration can reach
// into the SQL text beyond a name.
var sqlIdentRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]{0,63}$`)

// cursorColumnRE is a cursor column: its name is part of the :last_COLUMN
// placeholder, which has no $.
var cursorColumnRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// TableFigures are the balance figures a sql_table export can write, the
// keys of sql.columns.
var TableFigures = []string{"customer", "program", "earned", "provisional", "spent", "expired", "expiring_date", "expiring_points", "updated_at"}

// CursorPlaceholder is the query parameter that carries a cursor column's
// last value: :last_COLUMN.
func CursorPlaceholder(column string) string { return "last_" + column }

// LimitPlaceholder is the query parameter that carries the batch size.
const LimitPlaceholder = "limit"

func (v *validator) sqlDB(base string, s SQL, drivers ...string) {
	v.oneOf(base+".driver", s.Driver, drivers...)
	if s.DSN == "" && s.DSNFile == "" {
		example := "user:password@tcp(shop-db:3306)/wordpress"
		if s.Driver == SQLServer {
			example = "sqlserver://user:password@erp-db:1433?database=BUSINESS"
		}
		v.add(base+".dsn", "the database address is needed: dsn (%s) or dsn_file (a file holding it, better for the password)", example)
	}
	if s.Timeout <= 0 {
		v.add(base+".timeout", "must be greater than 0, e.g. 30s")
	}
}

func (v *validator) sqlSource(base string, s SQL) {
	v.sqlDB(base, s, SQLServer, SQLMySQL)
	if s.Table != "" || s.Identifier != "" || len(s.Columns) > 0 || s.BatchSize != 0 {
		v.add(base, "table, identifier, columns and batch_size are for sql_table exports; a connector maps its result with columns: at the connector's level")
	}
	if len(s.Cursor) == 0 {
		v.add(base+".cursor", "name the result column(s) the query orders by, e.g. cursor: [{column: updated_at, type: time}, {column: id, type: int}]")
	}
	allowed := []string{LimitPlaceholder}
	seen := map[string]bool{}
	for i, c := range s.Cursor {
		key := joinIndex(base+".cursor", i)
		switch {
		case c.Column == "":
			v.add(key+".column", "the result column is needed")
		case !cursorColumnRE.MatchString(c.Column):
			v.add(key+".column", "%q is not a plain column name: use the alias the query gives the column (letters, digits, _)", c.Column)
		case seen[strings.ToLower(c.Column)]:
			v.add(key+".column", "column %s is listed twice", c.Column)
		default:
			seen[strings.ToLower(c.Column)] = true
			allowed = append(allowed, CursorPlaceholder(c.Column))
		}
		if v.oneOf(key+".type", c.Type, CursorInt, CursorTime, CursorText, CursorBinary) && c.Start != "" {
			if err := checkCursorStart(c.Type, c.Start); err != nil {
				v.add(key+".start", "%v", err)
			}
		}
	}
	if strings.TrimSpace(s.Query) == "" {
		v.add(base+".query", "the SELECT is needed; it must use :limit and :last_COLUMN for each cursor column")
		return
	}
	q, err := sqlquery.Parse(s.Query)
	if err != nil {
		v.add(base+".query", "%v", err)
		return
	}
	names := q.Names()
	for _, n := range names {
		if !slices.Contains(allowed, n) {
			v.add(base+".query", "parameter :%s is not allowed: a query takes only %s (the cursor's columns are %s)",
				n, placeholders(allowed), cursorColumns(s.Cursor))
		}
	}
	for _, n := range allowed {
		if !slices.Contains(names, n) {
			v.add(base+".query", "the query does not use :%s; it must read only rows after the cursor and at most :limit of them (e.g. WHERE ... > :%s ORDER BY ... with TOP (:limit) or LIMIT :limit)",
				n, CursorPlaceholder(firstCursor(s.Cursor)))
		}
	}
}

func placeholders(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ":" + n
	}
	return strings.Join(out, ", ")
}

func cursorColumns(cs []CursorColumn) string {
	var names []string
	for _, c := range cs {
		if cursorColumnRE.MatchString(c.Column) {
			names = append(names, c.Column)
		}
	}
	if len(names) == 0 {
		return "not set"
	}
	return strings.Join(names, ", ")
}

func firstCursor(cs []CursorColumn) string {
	for _, c := range cs {
		if cursorColumnRE.MatchString(c.Column) {
			return c.Column
		}
	}
	return "updated_at"
}

// checkCursorStart reads a cursor's start value as its type.
func checkCursorStart(typ, start string) error {
	switch typ {
	case CursorInt:
		if _, err := strconv.ParseInt(start, 10, 64); err != nil {
			return fmt.Errorf("%q is not a whole number", start)
		}
	case CursorTime:
		for _, l := range CursorTimeLayouts {
			if _, err := time.Parse(l, start); err == nil {
				return nil
			}
		}
		return fmt.Errorf("%q is not a date and time such as 2026-01-01 00:00:00", start)
	case CursorBinary:
		h := strings.TrimPrefix(strings.TrimPrefix(start, "0x"), "0X")
		if len(h)%2 != 0 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
			return fmt.Errorf("%q is not hexadecimal bytes such as 0x00000000000007D1", start)
		}
	}
	return nil
}

// CursorTimeLayouts are the forms a time cursor's start may be written in.
var CursorTimeLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", time.RFC3339Nano, "2006-01-02"}

func (v *validator) sqlTable(base string, s SQL) {
	v.sqlDB(base, s, SQLMySQL)
	if s.Query != "" || len(s.Cursor) > 0 {
		v.add(base, "query and cursor are for sql connectors; an export writes table")
	}
	switch {
	case s.Table == "":
		v.add(base+".table", "the shop's balance table is needed, e.g. table: wp_pointsync_balances")
	default:
		for _, part := range strings.Split(s.Table, ".") {
			if !sqlIdentRE.MatchString(part) {
				v.add(base+".table", "%q is not a plain table name (letters, digits, _ and $, optionally schema.table)", s.Table)
				break
			}
		}
	}
	v.oneOf(base+".identifier", s.Identifier, "web", "erp", "card", "email")
	used := map[string]string{}
	for _, k := range sortedKeys(s.Columns) {
		key := base + ".columns." + k
		col := strings.ToLower(s.Columns[k])
		if other, dup := used[col]; dup {
			v.add(key, "column %s is already written by figure %s; give each figure its own column", s.Columns[k], other)
		}
		used[col] = k
		if !slices.Contains(TableFigures, k) {
			v.add(key, "unknown figure %q (figures: %s)", k, strings.Join(TableFigures, ", "))
		} else if !sqlIdentRE.MatchString(s.Columns[k]) {
			v.add(key, "%q is not a plain column name (letters, digits, _ and $)", s.Columns[k])
		}
	}
	if len(s.Columns) > 0 && s.Columns["customer"] == "" {
		v.add(base+".columns", "the customer column is needed (customer: COLUMN): it is the table's key")
	}
	// MySQL takes at most 65,535 parameters per statement; with every
	// figure written (8 parameters a row) that is 8,191 rows.
	if s.BatchSize < 1 || s.BatchSize > 5000 {
		v.add(base+".batch_size", "must be between 1 and 5000, e.g. 500")
	}
}
