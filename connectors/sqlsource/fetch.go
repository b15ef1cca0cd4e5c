package sqlsource

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/mapping"
)

// row is one row of the query's result, read.
type row struct {
	cursor []cval
	rec    mapping.Record
	// bad is the first value of the row the Mapper must not read (a
	// float in a money field), with its field; the row's group is
	// refused with it.
	bad      *badValue
	badField string
}

// args binds the query's parameters: the cursor's last values and the
// limit.
func (s *Source) args(last []cval, limit int) []any {
	value := func(name string) any {
		if name == LimitPlaceholder {
			return int64(limit)
		}
		for i := range s.cursor {
			if name == CursorPlaceholder+s.cursor[i].column {
				return s.cursor[i].bind(s.driver, last[i])
			}
		}
		// New allows no other placeholder.
		panic("sqlsource: unknown placeholder " + name)
	}
	args := make([]any, len(s.params))
	for i, name := range s.params {
		if s.driver == DriverSQLServer {
			args[i] = sql.Named(name, value(name))
		} else {
			args[i] = value(name)
		}
	}
	return args
}

// Fetch reads the rows after the cursor and maps them to facts. The
// query runs with :limit = limit. Fewer rows than that are the end of
// the data: all of them are mapped and Next is the last row's cursor.
// Otherwise the batch ends at the last row that closes a group (an
// order's, document's or receipt's lines), whose cursor value differs
// from the next row's and is past the stored cursor; Next is that row's
// cursor and More is set. With no such row the query runs again with
// twice the limit, up to 64 times limit (at most 200,000 rows), before
// failing. The same cursor gives the same batch while the data does not
// change.
//
// Rows at or before the stored cursor (a query that reads an overlapping
// window on purpose, to catch rows committed late) are mapped again,
// which facts being idempotent changes nothing, but the cursor never
// moves back.
func (s *Source) Fetch(ctx context.Context, after connectors.Cursor, limit int) (connectors.Batch, error) {
	if limit < 1 {
		return connectors.Batch{}, fmt.Errorf("sql %q: batch size %d: it must be at least 1", s.name, limit)
	}
	last, err := decodeCursor(s.cursor, after)
	if err != nil {
		return connectors.Batch{}, fmt.Errorf("sql %q: %w", s.name, err)
	}
	most := max(limit, min(maxGrowth*limit, maxRows))
	for n := limit; ; n = min(2*n, most) {
		rows, err := s.read(ctx, last, n)
		if err != nil {
			return connectors.Batch{}, err
		}
		if len(rows) < n {
			b := connectors.Batch{Items: s.mapAll(rows), Next: after}
			if len(rows) > 0 && s.compare(rows[len(rows)-1].cursor, last) > 0 {
				b.Next = encodeCursor(s.cursor, rows[len(rows)-1].cursor)
			}
			s.log.Debug("rows read", zap.String("connector", s.name), zap.Int("rows", len(rows)), zap.Int("items", len(b.Items)),
				zap.Bool("more", false))
			return b, nil
		}
		if b, ok := s.cut(rows, last); ok {
			s.log.Debug("rows read", zap.String("connector", s.name), zap.Int("rows", len(rows)), zap.Int("items", len(b.Items)),
				zap.Bool("more", true))
			return b, nil
		}
		if n == most {
			return connectors.Batch{}, s.noCut(rows, last)
		}
		s.log.Info("no place to end a batch in the rows read: reading more", zap.String("connector", s.name),
			zap.Int("rows", n), zap.Int("next_rows", min(2*n, most)), zap.String("cursor", cursorText(s.cursor, rows[0].cursor)))
	}
}

// noCut explains a result in which no batch can end.
func (s *Source) noCut(rows []row, last []cval) error {
	first, lastRow := rows[0].cursor, rows[len(rows)-1].cursor
	if s.compare(lastRow, last) <= 0 {
		return fmt.Errorf("sql %q: all %d rows read lie at or before the stored cursor %s: the query must read the rows after it (WHERE column > :last_column)",
			s.name, len(rows), cursorText(s.cursor, last))
	}
	if s.sameCursor(first, lastRow) {
		return fmt.Errorf("sql %q: all %d rows from cursor %s on have that same cursor value, and a batch cannot end between rows sharing it (the next query starts after it): the cursor must grow from one document to the next; add a column that does to the cursor (e.g. updated_at, id)",
			s.name, len(rows), cursorText(s.cursor, first))
	}
	return fmt.Errorf("sql %q: in the %d rows from cursor %s to %s, no group of lines (order, document, receipt) ends where the cursor value changes: a batch cannot end there; the cursor must grow from one document to the next (rows of one document sharing its value, as a document's update time or rowversion), and the rows of a document must be adjacent",
		s.name, len(rows), cursorText(s.cursor, first), cursorText(s.cursor, lastRow))
}

// read runs the query and reads every row of its result.
func (s *Source) read(ctx context.Context, last []cval, n int) ([]row, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rs, err := s.db.QueryContext(ctx, s.text, s.args(last, n)...)
	if err != nil {
		return nil, s.queryErr(err)
	}
	defer rs.Close()
	cts, err := rs.ColumnTypes()
	if err != nil {
		return nil, s.queryErr(err)
	}
	l, probs := s.resolve(resultCols(s.driver, cts))
	var fatal []string
	for _, p := range probs {
		if p.fatal {
			fatal = append(fatal, p.text)
		}
	}
	if len(fatal) > 0 {
		return nil, fmt.Errorf("sql %q: the query's result does not fit the connector: %s", s.name, strings.Join(fatal, "; "))
	}
	raw := make([]any, len(l.cols))
	ptrs := make([]any, len(l.cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	var rows []row
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, s.queryErr(err)
		}
		r, err := s.row(l, raw, len(rows)+1)
		if err != nil {
			return nil, err
		}
		if err := s.checkOrder(r, rows, last); err != nil {
			return nil, err
		}
		rows = append(rows, r)
		if len(rows) > n {
			return nil, fmt.Errorf("sql %q: the query returned more than the %d rows asked: it must return at most :limit rows (TOP (:limit) on SQL Server, LIMIT :limit on MySQL)", s.name, n)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, s.queryErr(err)
	}
	return rows, nil
}

// row reads the seq-th row of the result.
func (s *Source) row(l layout, raw []any, seq int) (row, error) {
	r := row{cursor: make([]cval, len(s.cursor))}
	for k, i := range l.cursor {
		v, err := s.cursor[k].fromDB(raw[i], l.cols[i].class)
		if err != nil {
			return r, fmt.Errorf("sql %q: row %d: cursor column %s (%s) %w", s.name, seq, l.cols[i].name, l.cols[i].typeName(), err)
		}
		r.cursor[k] = v
	}
	r.rec = mapping.Record{Seq: int64(seq), Origin: s.name + " row " + cursorText(s.cursor, r.cursor), Values: make(map[string]string, len(l.fields))}
	for _, f := range l.fields {
		text, ok, bad := fieldText(raw[f.index], f.class, f.kind, s.spec.Amount)
		if !ok {
			continue
		}
		r.rec.Values[f.name] = text
		if bad != nil && r.bad == nil {
			r.bad, r.badField = bad, f.name
		}
	}
	return r, nil
}

// checkOrder catches a query that does not order by the cursor: a row
// whose cursor is before the previous row's. Text columns are ordered by
// the database's collation, which cannot be checked here.
func (s *Source) checkOrder(r row, rows []row, last []cval) error {
	if len(rows) == 0 {
		if s.compare(r.cursor, last) <= 0 {
			// Harmless, facts being idempotent: an overlapping window
			// read on purpose, >= instead of >, or SQL Server's DATETIME
			// compared with the exact value read (CAST the parameter
			// AS datetime).
			s.log.Debug("the query read rows at or before the stored cursor again", zap.String("connector", s.name),
				zap.String("cursor", cursorText(s.cursor, last)), zap.String("row", cursorText(s.cursor, r.cursor)))
		}
		return nil
	}
	prev := rows[len(rows)-1].cursor
	if s.compare(r.cursor, prev) < 0 {
		names := make([]string, len(s.cursor))
		for i := range s.cursor {
			names[i] = s.cursor[i].column
		}
		return fmt.Errorf("sql %q: row %d has cursor %s, before the row before it (%s): the query must ORDER BY the cursor columns %s",
			s.name, len(rows)+1, cursorText(s.cursor, r.cursor), cursorText(s.cursor, prev), strings.Join(names, ", "))
	}
	return nil
}

// compare orders two cursors by their columns in turn; 1 when the order
// cannot be known (text that differs), taken as moving on.
func (s *Source) compare(a, b []cval) int {
	for i := range s.cursor {
		n, ok := s.cursor[i].compare(a[i], b[i])
		if !ok {
			return 1
		}
		if n != 0 {
			return n
		}
	}
	return 0
}

func (s *Source) newMapper() *mapping.Mapper {
	m, err := mapping.NewMapper(s.spec)
	if err != nil {
		// New built one from the same spec: this cannot fail.
		panic(fmt.Sprintf("sqlsource: the mapping checked at start is refused now: %v", err))
	}
	return m
}

// mapAll maps every row to the end of the data.
func (s *Source) mapAll(rows []row) []mapping.Item {
	m := s.newMapper()
	var items []mapping.Item
	for _, r := range rows {
		items = append(items, m.Add(r.rec)...)
	}
	items = append(items, m.Flush()...)
	return refuseBad(s.spec.Type, items, rows)
}

// cut maps a full result and ends the batch at the last row that closes
// a group, whose cursor value differs from the next row's and is past
// the stored cursor last (else the batch would not move on). The groups
// the Mapper closed are exactly those that a later row left: the last
// group may go on past the rows read, so it is never flushed.
func (s *Source) cut(rows []row, last []cval) (connectors.Batch, bool) {
	m := s.newMapper()
	var items []mapping.Item
	for _, r := range rows {
		items = append(items, m.Add(r.rec)...)
	}
	for k := len(items) - 1; k >= 0; k-- {
		end := int(items[k].Seq) // rows 1..end are complete groups
		if end >= len(rows) || (k+1 < len(items) && items[k+1].Seq == items[k].Seq) {
			continue
		}
		if s.sameCursor(rows[end-1].cursor, rows[end].cursor) || s.compare(rows[end-1].cursor, last) <= 0 {
			continue
		}
		return connectors.Batch{
			Items: refuseBad(s.spec.Type, items[:k+1], rows[:end]),
			Next:  encodeCursor(s.cursor, rows[end-1].cursor),
			More:  true,
		}, true
	}
	return connectors.Batch{}, false
}

func (s *Source) sameCursor(a, b []cval) bool {
	for i := range s.cursor {
		if !s.cursor[i].equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// refuseBad replaces the items of every group holding a bad value with
// one error about it: a line the Mapper cannot be trusted to read makes
// its whole order, document or receipt wrong. Items come in the order of
// their rows; those of one group (several links of one row) share a Seq.
func refuseBad(typ mapping.Type, items []mapping.Item, rows []row) []mapping.Item {
	found := false
	for _, r := range rows {
		found = found || r.bad != nil
	}
	if !found {
		return items
	}
	var out []mapping.Item
	prevEnd := int64(0)
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && items[j].Seq == items[i].Seq {
			j++
		}
		end := items[i].Seq
		var bad *row
		for k := prevEnd + 1; k <= end && k <= int64(len(rows)); k++ {
			if rows[k-1].bad != nil {
				bad = &rows[k-1]
				break
			}
		}
		if bad == nil {
			out = append(out, items[i:j]...)
		} else {
			out = append(out, mapping.Item{Seq: end, Origin: items[i].Origin, Line: items[i].Line, Err: &mapping.RowError{
				Origin: bad.rec.Origin, Column: bad.badField, Value: bad.bad.value,
				Reason: bad.bad.reason + notApplied(typ, rows[prevEnd].rec.Values, int(end-prevEnd)),
			}})
		}
		prevEnd = end
		i = j
	}
	return out
}

// notApplied ends a refused group's reason with what was dropped, the
// group named by the key its first record gives, as the Mapper names it.
func notApplied(typ mapping.Type, first map[string]string, records int) string {
	count := "1 record"
	if records != 1 {
		count = fmt.Sprintf("%d records", records)
	}
	get := func(name string) string { return strings.TrimSpace(first[name]) }
	var noun, key string
	switch typ {
	case mapping.TypeWebOrder:
		noun, key = "order", get("order")
	case mapping.TypeERPDocument:
		noun, key = "document", get("key")
		if key == "" && get("doc_type") != "" && get("number") != "" {
			key = strings.Join([]string{get("doc_type"), get("year"), get("series"), get("number")}, "/")
		}
	case mapping.TypeTillReceipt:
		noun = "receipt"
		if get("store") != "" && get("till") != "" && get("receipt") != "" {
			key = get("store") + "/" + get("till") + "/" + get("receipt")
		}
	}
	if key == "" {
		if records == 1 {
			return "; the record is not applied"
		}
		return fmt.Sprintf("; its %s (%s) is not applied", noun, count)
	}
	return fmt.Sprintf("; %s %s (%s) not applied", noun, key, count)
}
