package sqlsource

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-sql/civil"

	"github.com/pointsync/pointsync/connectors"
)

// Types of cursor columns.
const (
	CursorInt    = "int"    // an integer: an identity, a sequence
	CursorTime   = "time"   // a date and time, such as an update time
	CursorText   = "text"   // characters, compared by the database's collation
	CursorBinary = "binary" // bytes, such as a SQL Server rowversion read raw
)

// cursorVersion is written in every cursor, so that a later form can
// still read the cursors stored by this one.
const cursorVersion = 1

// Layouts of time cursor values: the first is how they are written,
// with as many decimals as the value has (100 ns on SQL Server's
// datetime2, microseconds on MySQL's DATETIME(6)).
const wallLayout = "2006-01-02 15:04:05.999999999"

var wallLayouts = []string{wallLayout, "2006-01-02T15:04:05.999999999", "2006-01-02"}

// cval is one cursor column's value; the fields its type uses are set.
type cval struct {
	i int64
	t time.Time // wall-clock, in UTC, unless offset
	// offset: t carries the database's offset (SQL Server's
	// datetimeoffset); written RFC 3339, bound as a datetimeoffset.
	offset bool
	s      string
	b      []byte
}

// cursorCol is a checked CursorColumn.
type cursorCol struct {
	column string
	typ    string
	start  cval
}

func newCursorCol(c CursorColumn) (cursorCol, error) {
	cc := cursorCol{column: c.Column, typ: c.Type}
	switch c.Type {
	case CursorInt, CursorTime, CursorText, CursorBinary:
	default:
		return cc, fmt.Errorf("cursor column %s: unknown type %q; use %s, %s, %s or %s", c.Column, c.Type, CursorInt, CursorTime, CursorText, CursorBinary)
	}
	if c.Start == "" {
		switch c.Type {
		case CursorTime:
			cc.start.t = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
		case CursorBinary:
			cc.start.b = make([]byte, 8)
		}
		return cc, nil
	}
	v, err := cc.parse(c.Start)
	if err != nil {
		return cc, fmt.Errorf("cursor column %s: start: %w", c.Column, err)
	}
	cc.start = v
	return cc, nil
}

// parse reads a value as format writes it.
func (c *cursorCol) parse(s string) (cval, error) {
	switch c.typ {
	case CursorInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return cval{}, fmt.Errorf("%q is not a whole number such as 1234", s)
		}
		return cval{i: n}, nil
	case CursorTime:
		for _, l := range wallLayouts {
			if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
				return cval{t: t}, nil
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return cval{t: t, offset: true}, nil
		}
		return cval{}, fmt.Errorf("%q is not a date and time such as 2026-01-01 00:00:00 or 2026-01-01 10:30:00.1234567", s)
	case CursorBinary:
		h, prefixed := strings.CutPrefix(s, "0x")
		if !prefixed {
			h, prefixed = strings.CutPrefix(s, "0X")
		}
		b, err := hex.DecodeString(h)
		if err != nil || (h == "" && !prefixed) {
			return cval{}, fmt.Errorf("%q is not hexadecimal bytes such as 0x00000000000007D1", s)
		}
		return cval{b: b}, nil
	}
	return cval{s: s}, nil
}

// format writes v as cursors and messages show it.
func (c *cursorCol) format(v cval) string {
	switch c.typ {
	case CursorInt:
		return strconv.FormatInt(v.i, 10)
	case CursorTime:
		if v.offset {
			return v.t.Format(time.RFC3339Nano)
		}
		return v.t.Format(wallLayout)
	case CursorBinary:
		return "0x" + strings.ToUpper(hex.EncodeToString(v.b))
	}
	return v.s
}

// equal tells whether two rows share the value, as the next query's
// "after the cursor" sees them.
func (c *cursorCol) equal(a, b cval) bool {
	switch c.typ {
	case CursorInt:
		return a.i == b.i
	case CursorTime:
		return a.t.Equal(b.t) && a.offset == b.offset
	case CursorBinary:
		return bytes.Equal(a.b, b.b)
	}
	return a.s == b.s
}

// compare orders two values as the database does, where that can be
// known: text is ordered by the database's collation, which Go cannot
// follow, so ok is false for text that differs.
func (c *cursorCol) compare(a, b cval) (n int, ok bool) {
	switch c.typ {
	case CursorInt:
		switch {
		case a.i < b.i:
			return -1, true
		case a.i > b.i:
			return 1, true
		}
		return 0, true
	case CursorTime:
		return a.t.Compare(b.t), true
	case CursorBinary:
		return bytes.Compare(a.b, b.b), true
	}
	if a.s == b.s {
		return 0, true
	}
	return 0, false
}

// bind is the value a query parameter carries, in the type that compares
// exactly with the column: for SQL Server a time is a datetime2 (7
// decimals, the wall-clock time as read), or a datetimeoffset when the
// column has an offset; MySQL's driver writes a time with all its
// decimals, compared as DATETIME(6).
func (c *cursorCol) bind(driver string, v cval) any {
	switch c.typ {
	case CursorInt:
		return v.i
	case CursorTime:
		if driver == DriverSQLServer && !v.offset {
			return civil.DateTimeOf(v.t)
		}
		return v.t
	case CursorBinary:
		return v.b
	}
	return v.s
}

// cursorJSON is a stored cursor: the configured columns, to catch a
// configuration that changed under a stored cursor, and each column's
// last value as format writes it.
type cursorJSON struct {
	V       int      `json:"v"`
	Columns []string `json:"columns"`
	Last    []string `json:"last"`
}

// encodeCursor writes the cursor of a row.
func encodeCursor(cols []cursorCol, vals []cval) connectors.Cursor {
	c := cursorJSON{V: cursorVersion, Columns: make([]string, len(cols)), Last: make([]string, len(cols))}
	for i := range cols {
		c.Columns[i] = cols[i].column
		c.Last[i] = cols[i].format(vals[i])
	}
	b, err := json.Marshal(c)
	if err != nil {
		// Strings and an int always encode.
		panic(fmt.Sprintf("sqlsource: encoding a cursor: %v", err))
	}
	return connectors.Cursor(b)
}

// decodeCursor reads a stored cursor; the empty cursor is the columns'
// start values.
func decodeCursor(cols []cursorCol, cur connectors.Cursor) ([]cval, error) {
	vals := make([]cval, len(cols))
	if cur == "" {
		for i := range cols {
			vals[i] = cols[i].start
		}
		return vals, nil
	}
	var c cursorJSON
	dec := json.NewDecoder(strings.NewReader(string(cur)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() {
		return nil, fmt.Errorf("stored cursor %q is not a SQL connector's cursor; was the connector's kind changed? Set the cursor back to empty to read from the start", truncate(string(cur)))
	}
	if c.V != cursorVersion {
		return nil, fmt.Errorf("stored cursor %q has version %d, and this pointsync reads version %d: was it written by a newer pointsync?", truncate(string(cur)), c.V, cursorVersion)
	}
	names := make([]string, len(cols))
	for i := range cols {
		names[i] = cols[i].column
	}
	if len(c.Columns) != len(cols) || len(c.Last) != len(cols) || !slices.Equal(c.Columns, names) {
		return nil, fmt.Errorf("stored cursor %q is for cursor columns %s, and the configuration names %s: restore the configuration's cursor, or set the stored cursor to the new columns' values (empty reads from the start)",
			truncate(string(cur)), strings.Join(c.Columns, ", "), strings.Join(names, ", "))
	}
	for i := range cols {
		v, err := cols[i].parse(c.Last[i])
		if err != nil {
			return nil, fmt.Errorf("stored cursor %q: column %s: %w", truncate(string(cur)), cols[i].column, err)
		}
		vals[i] = v
	}
	return vals, nil
}

// truncate keeps messages about a damaged cursor readable.
func truncate(s string) string {
	const most = 200
	if len(s) <= most {
		return s
	}
	return s[:most] + "..."
}

// cursorText names a row's cursor in messages and origins:
// "rv=0x00000000000007D1" or "updated_at=2026-01-02 10:00:00.5,id=42".
func cursorText(cols []cursorCol, vals []cval) string {
	var b strings.Builder
	for i := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(cols[i].column)
		b.WriteByte('=')
		b.WriteString(cols[i].format(vals[i]))
	}
	return b.String()
}

// fromDB reads a row's cursor column value, raw as the driver gave it.
func (c *cursorCol) fromDB(raw any, class typeClass) (cval, error) {
	if raw == nil {
		return cval{}, fmt.Errorf("is NULL: a cursor column must always have a value (COALESCE it in the query, or choose another column)")
	}
	switch c.typ {
	case CursorInt:
		switch v := raw.(type) {
		case int64:
			return cval{i: v}, nil
		case int32:
			return cval{i: int64(v)}, nil
		case int16:
			return cval{i: int64(v)}, nil
		case int8:
			return cval{i: int64(v)}, nil
		case int:
			return cval{i: int64(v)}, nil
		case uint64:
			if v <= math.MaxInt64 {
				return cval{i: int64(v)}, nil
			}
		case uint32:
			return cval{i: int64(v)}, nil
		case uint16:
			return cval{i: int64(v)}, nil
		case uint8:
			return cval{i: int64(v)}, nil
		case []byte:
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && class != classBinary {
				return cval{i: n}, nil
			}
		case string:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return cval{i: n}, nil
			}
		}
	case CursorTime:
		if t, ok := raw.(time.Time); ok {
			if class == classOffset {
				return cval{t: t, offset: true}, nil
			}
			// The wall-clock time as stored, whatever zone the driver
			// gave it.
			y, mo, d := t.Date()
			h, mi, s := t.Clock()
			return cval{t: time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)}, nil
		}
	case CursorText:
		switch v := raw.(type) {
		case string:
			return cval{s: v}, nil
		case []byte:
			if class != classBinary {
				return cval{s: string(v)}, nil
			}
		}
	case CursorBinary:
		if v, ok := raw.([]byte); ok && class != classText {
			return cval{b: bytes.Clone(v)}, nil
		}
	}
	return cval{}, fmt.Errorf("holds %s, which the %s cursor type cannot read: %s", describe(raw), c.typ, cursorTypeHelp(c.typ))
}

// describe shows a raw value for a message, without its bytes when it
// has many.
func describe(raw any) string {
	switch v := raw.(type) {
	case []byte:
		if len(v) > 16 {
			return fmt.Sprintf("%d bytes", len(v))
		}
		return fmt.Sprintf("bytes 0x%X", v)
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("text %q", v)
	case time.Time:
		return "time " + v.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%v (%T)", raw, raw)
}

// cursorTypeHelp says which database types a cursor type reads.
func cursorTypeHelp(typ string) string {
	switch typ {
	case CursorInt:
		return "an int cursor reads integer columns (INT, BIGINT, ...)"
	case CursorTime:
		return "a time cursor reads date and time columns (DATETIME2, DATETIME, DATETIMEOFFSET, TIMESTAMP, DATE)"
	case CursorText:
		return "a text cursor reads character columns (VARCHAR, NVARCHAR, CHAR, ...)"
	}
	return "a binary cursor reads binary columns (ROWVERSION, BINARY, VARBINARY)"
}
