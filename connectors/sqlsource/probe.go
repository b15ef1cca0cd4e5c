package sqlsource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pointsync/pointsync/mapping"
)

// resultCol is a column of the query's result.
type resultCol struct {
	name   string
	dbType string // as the driver names it: DECIMAL, NVARCHAR, DATETIME2, ...
	class  typeClass
	scale  int64 // decimals of a DECIMAL, when known
	scaled bool
}

// layout is where the query's result holds each field and cursor column.
type layout struct {
	cols   []resultCol
	fields []boundField
	cursor []int // result column of each cursor column
}

type boundField struct {
	field
	index int
	class typeClass
}

// problem is something wrong with the query's result. A fatal one stops
// Fetch (every row would be wrong); the others are checked by Probe and,
// row by row, by Fetch.
type problem struct {
	text  string
	fatal bool
}

func resultCols(driver string, cts []*sql.ColumnType) []resultCol {
	cols := make([]resultCol, len(cts))
	for i, ct := range cts {
		c := resultCol{name: ct.Name(), dbType: strings.ToUpper(ct.DatabaseTypeName())}
		c.class = classify(driver, c.dbType)
		if _, scale, ok := ct.DecimalSize(); ok {
			c.scale, c.scaled = scale, true
		}
		cols[i] = c
	}
	return cols
}

// findColumn finds a result column by name: exactly, else ignoring case
// when only one column matches so.
func findColumn(cols []resultCol, name string) int {
	for i, c := range cols {
		if c.name == name {
			return i
		}
	}
	found := -1
	for i, c := range cols {
		if strings.EqualFold(c.name, name) {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

func columnList(cols []resultCol) string {
	if len(cols) == 0 {
		return "none"
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// typeName shows a column's database type, "unknown" when the driver
// gives none.
func (c resultCol) typeName() string {
	if c.dbType == "" {
		return "of a type the driver does not name"
	}
	return c.dbType
}

// resolve finds the fields and cursor columns in the result and lists
// what does not fit.
func (s *Source) resolve(cols []resultCol) (layout, []problem) {
	l := layout{cols: cols}
	var probs []problem
	list := columnList(cols)
	has := map[string]bool{}
	for _, f := range s.fields {
		i := findColumn(cols, f.column)
		if i < 0 {
			if f.explicit {
				probs = append(probs, problem{fatal: true, text: fmt.Sprintf(
					"field %s is mapped to column %q, which the query's result does not have (its columns: %s): fix the connector's columns or the SELECT",
					f.name, f.column, list)})
			}
			continue
		}
		has[f.name] = true
		l.fields = append(l.fields, boundField{field: f, index: i, class: cols[i].class})
		if p := typeProblem(f, cols[i]); p != "" {
			probs = append(probs, problem{text: p})
		}
	}
	probs = append(probs, s.requiredProblems(has, list)...)
	for _, c := range s.cursor {
		i := findColumn(cols, c.column)
		if i < 0 {
			probs = append(probs, problem{fatal: true, text: fmt.Sprintf(
				"cursor column %s is not in the query's result (its columns: %s): select it, or give the column that alias",
				c.column, list)})
			continue
		}
		l.cursor = append(l.cursor, i)
	}
	return l, probs
}

// cursorProblems checks the types of the cursor columns found.
func (s *Source) cursorProblems(l layout) []problem {
	var probs []problem
	for k, i := range l.cursor {
		c, col := s.cursor[k], l.cols[i]
		if cursorFits(c.typ, col.class) || (c.typ == CursorInt && col.class == classDecimal && col.scaled && col.scale == 0) {
			continue
		}
		probs = append(probs, problem{text: fmt.Sprintf(
			"cursor column %s is %s, and its cursor type is %s: %s; change the cursor's type, or CAST the column in the query",
			col.name, col.typeName(), c.typ, cursorTypeHelp(c.typ))})
	}
	return probs
}

// typeProblem tells when a column's type cannot hold its field.
func typeProblem(f field, c resultCol) string {
	switch f.kind {
	case mapping.KindMoney, mapping.KindPoints, mapping.KindQuantity:
		switch {
		case c.class == classFloat:
			return fmt.Sprintf("field %s: column %s is %s, floating point, which loses cents: cast it to DECIMAL in the query, e.g. CAST(%s AS DECIMAL(18,2))",
				f.name, c.name, c.typeName(), c.name)
		case c.class.temporal(), c.class == classBinary, c.class == classGUID:
			return fmt.Sprintf("field %s: column %s is %s, not a number: select the column holding the %s", f.name, c.name, c.typeName(), f.kind)
		}
	case mapping.KindTime:
		switch {
		case c.class.numeric():
			return fmt.Sprintf("field %s: column %s is %s, a number, not a date: convert it to a date and time type in the query (or select the date column)",
				f.name, c.name, c.typeName())
		case c.class == classBinary, c.class == classGUID, c.class == classClock:
			return fmt.Sprintf("field %s: column %s is %s, not a date: select a date and time column", f.name, c.name, c.typeName())
		}
	case mapping.KindFlag:
		if c.class.temporal() || c.class == classBinary || c.class == classGUID {
			return fmt.Sprintf("field %s: column %s is %s, not a yes/no value: select a BIT or a 1/0 column", f.name, c.name, c.typeName())
		}
	}
	return ""
}

// requiredProblems lists the fields every fact needs that no column
// gives, including the rules the Mapper applies across fields: a
// document's key or its parts, its kind or its type, a link's two
// identifiers.
func (s *Source) requiredProblems(has map[string]bool, list string) []problem {
	var probs []problem
	add := func(format string, args ...any) {
		probs = append(probs, problem{fatal: true, text: fmt.Sprintf(format, args...)})
	}
	for _, f := range s.fields {
		if f.name == "gross" && s.spec.Type == mapping.TypeERPDocument && has["kind"] && !has["doc_type"] {
			// Cancellations come without lines: a query giving the kind
			// itself may read only them (any other row without a gross
			// is refused when read, with the reason).
			continue
		}
		if f.required && !has[f.name] {
			add("field %s is required for %s facts and the result has no column %q (its columns: %s): select it (... AS %s), or map it in the connector's columns",
				f.name, s.spec.Type, f.column, list, f.name)
		}
	}
	switch s.spec.Type {
	case mapping.TypeERPDocument:
		if !has["key"] && !(has["doc_type"] && has["number"]) {
			add("a document is identified by the field key, or by doc_type, year, series and number (doc_type and number at least), and the result has neither (its columns: %s)", list)
		}
		if !has["kind"] && !has["doc_type"] {
			add("a document needs its kind: select the field kind (delivery_note, invoice, credit_note, cancellation), or doc_type mapped to a kind through document_kinds (its columns: %s)", list)
		}
	case mapping.TypeLink:
		n := 0
		for _, name := range []string{"known", "other", "web", "erp", "card", "email"} {
			if has[name] {
				n++
			}
		}
		if n < 2 {
			add("a link needs two identifiers of the customer: the fields known and other, or two of web, erp, card and email; the result has %d of them (its columns: %s)", n, list)
		}
	}
	return probs
}

// Probe runs the query for no rows from the start and checks its
// result's columns: every problem found is reported at once, each with
// the column, its database type and what to do.
func (s *Source) Probe(ctx context.Context) error {
	starts := make([]cval, len(s.cursor))
	for i := range s.cursor {
		starts[i] = s.cursor[i].start
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, s.text, s.args(starts, 0)...)
	if err != nil {
		return s.queryErr(err)
	}
	cts, err := rows.ColumnTypes()
	rows.Close()
	if err != nil {
		return s.queryErr(err)
	}
	l, probs := s.resolve(resultCols(s.driver, cts))
	probs = append(probs, s.cursorProblems(l)...)
	if len(probs) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sql %q: the query's result does not fit the connector:", s.name)
	for _, p := range probs {
		b.WriteString("\n  - ")
		b.WriteString(p.text)
	}
	return fmt.Errorf("%s", b.String())
}

// queryErr wraps a driver's error with what to check, never the DSN.
func (s *Source) queryErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sql %q: the query took longer than its timeout of %s: raise the connector's sql.timeout, or make the query faster (an index on the cursor columns): %w",
			s.name, s.timeout, s.scrub(err))
	}
	return fmt.Errorf("sql %q: running the query: %w (check that the database server is reachable, that the DSN's database, user and password are right and the user may read the query's tables, and the query itself)",
		s.name, s.scrub(err))
}
