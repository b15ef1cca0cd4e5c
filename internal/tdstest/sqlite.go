package tdstest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"modernc.org/sqlite"
)

const (
	serverName      = "tdstest"
	catalogTable    = "tds_columns"
	rowversionTable = "tds_rowversion"
	// firstRowversion is the counter's start: SQL Server's @@DBTS is
	// never 0 either.
	firstRowversion = 2000
	// busyTimeout is how long a statement waits for another session's
	// write lock before failing with error 1222.
	busyTimeout = 10 * time.Second
)

// sqliteDriver is a private modernc.org/sqlite driver carrying the
// functions and collation the translation uses; the process-wide
// "sqlite" driver is left alone.
var sqliteDriver = sync.OnceValue(func() *sqlite.Driver {
	d := &sqlite.Driver{}
	det := func(name string, n int32, fn func(args []driver.Value) (driver.Value, error)) {
		d.MustRegisterDeterministicScalarFunction(name, n, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			return fn(args)
		})
	}
	d.MustRegisterScalarFunction(fnNow, 0, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
		return time.Now().UTC().Format(layoutDateTime), nil
	})
	d.MustRegisterScalarFunction(fnNewID, 0, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		b[7] = b[7]&0x0f | 0x40 // version 4, in SQL Server's byte order
		b[8] = b[8]&0x3f | 0x80
		return guidText(b), nil
	})
	det(fnCast, 2, func(a []driver.Value) (driver.Value, error) { return castValue(a[0], a[1]) })
	det(fnTryCast, 2, func(a []driver.Value) (driver.Value, error) {
		v, err := castValue(a[0], a[1])
		if err != nil {
			return nil, nil
		}
		return v, nil
	})
	det(fnConvert, 3, func(a []driver.Value) (driver.Value, error) { return convertStyled(a[0], a[1], a[2]) })
	det(fnTryConvert, 3, func(a []driver.Value) (driver.Value, error) {
		v, err := convertStyled(a[0], a[1], a[2])
		if err != nil {
			return nil, nil
		}
		return v, nil
	})
	det(fnLen, 1, func(a []driver.Value) (driver.Value, error) {
		switch v := a[0].(type) {
		case nil:
			return nil, nil
		case []byte:
			return int64(len(v)), nil
		default:
			return int64(utf8.RuneCountInString(strings.TrimRight(toText(v), " "))), nil
		}
	})
	det(fnUpper, 1, func(a []driver.Value) (driver.Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		return strings.ToUpper(toText(a[0])), nil
	})
	det(fnLower, 1, func(a []driver.Value) (driver.Value, error) {
		if a[0] == nil {
			return nil, nil
		}
		return strings.ToLower(toText(a[0])), nil
	})
	det(fnUCS2Len, 1, func(a []driver.Value) (driver.Value, error) {
		switch v := a[0].(type) {
		case nil:
			return nil, nil
		case []byte:
			return int64(len(v)), nil
		default:
			return int64(ucs2Len(toText(v))), nil
		}
	})
	det(fnDateAdd, 3, func(a []driver.Value) (driver.Value, error) { return dateAdd(a[0], a[1], a[2]) })
	det(fnDateDiff, 3, func(a []driver.Value) (driver.Value, error) { return dateDiff(a[0], a[1], a[2]) })
	det(fnDatePart, 2, func(a []driver.Value) (driver.Value, error) { return datePart(a[0], a[1]) })
	d.MustRegisterDeterministicScalarFunction(fnCharIndex, -1, func(_ *sqlite.FunctionContext, a []driver.Value) (driver.Value, error) {
		return charIndex(a)
	})
	det(fnLeft, 2, func(a []driver.Value) (driver.Value, error) { return leftRight(a[0], a[1], true) })
	det(fnRight, 2, func(a []driver.Value) (driver.Value, error) { return leftRight(a[0], a[1], false) })
	det(fnReplicate, 2, func(a []driver.Value) (driver.Value, error) {
		if a[0] == nil || a[1] == nil {
			return nil, nil
		}
		n, err := toInt64(a[1], typeBigInt)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		s := toText(a[0])
		if int64(len(s))*n > 1<<24 {
			return nil, errorf(errGeneric, "REPLICATE result larger than 16 MiB.")
		}
		return strings.Repeat(s, int(n)), nil
	})
	d.MustRegisterCollationUtf8(collationCI, compareCI)
	return d
})

// ciCollators are reusable: a collate.Collator is not safe for
// concurrent use.
var ciCollators = sync.Pool{New: func() any {
	return collate.New(language.Und, collate.IgnoreCase)
}}

// compareCI orders strings as SQL_Latin1_General_CP1_CI_AS does, near
// enough: case-insensitive, accent-sensitive, trailing spaces ignored.
func compareCI(a, b string) int {
	a, b = strings.TrimRight(a, " "), strings.TrimRight(b, " ")
	if a == b {
		return 0
	}
	c := ciCollators.Get().(*collate.Collator)
	defer ciCollators.Put(c)
	return c.CompareString(a, b)
}

// sqliteConnector opens connections of the private driver.
type sqliteConnector struct {
	dsn string
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	return sqliteDriver().Open(c.dsn)
}

func (c sqliteConnector) Driver() driver.Driver { return sqliteDriver() }

// openSQLite opens the database file with WAL, a busy timeout and
// foreign keys on, and creates tdstest's own tables.
func openSQLite(path string) (*sql.DB, error) {
	dsn := path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(" + itoa(int(busyTimeout/time.Millisecond)) +
		")&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	db := sql.OpenDB(sqliteConnector{dsn: dsn})
	schema := []string{
		`CREATE TABLE IF NOT EXISTS main.` + catalogTable + ` (tbl TEXT NOT NULL, col TEXT NOT NULL, ord INTEGER NOT NULL,
			name TEXT NOT NULL, type TEXT NOT NULL, not_null INTEGER NOT NULL, PRIMARY KEY (tbl, col)) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS main.` + rowversionTable + ` (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)`,
		`INSERT OR IGNORE INTO main.` + rowversionTable + ` VALUES (1, ` + itoa(firstRowversion) + `)`,
	}
	for _, q := range schema {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			return nil, fmt.Errorf("prepare SQLite database %s: %w", path, err)
		}
	}
	return db, nil
}

// castValue implements tds_cast: CAST(v AS typeText) with SQL Server's
// conversion rules, to the storage form of the target type.
func castValue(v, typeText any) (any, error) {
	text, ok := typeText.(string)
	if !ok {
		return nil, errorf(errGeneric, "tds_cast: the type must be text, got %T", typeText)
	}
	typ, err := cachedType(text)
	if err != nil {
		return nil, err
	}
	return convertTo(typ, v)
}

var typeCache sync.Map // string -> sqlType

func cachedType(text string) (sqlType, error) {
	if t, ok := typeCache.Load(text); ok {
		return t.(sqlType), nil
	}
	t, err := parseType(text)
	if err != nil {
		return sqlType{}, errorf(243, "Type %s is not a defined system type.", text)
	}
	typeCache.Store(text, t)
	return t, nil
}

// convertTo converts v (a SQLite value) to the storage form of typ.
func convertTo(typ sqlType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ.kind {
	case kInt:
		if b, ok := v.([]byte); ok {
			if len(b) > 8 {
				b = b[len(b)-8:]
			}
			var buf [8]byte
			copy(buf[8-len(b):], b)
			v = int64(binary.BigEndian.Uint64(buf[:]))
		}
		return toInt64(v, typ)
	case kBit:
		if s, ok := v.(string); ok {
			switch strings.ToUpper(strings.TrimSpace(s)) {
			case "TRUE":
				return int64(1), nil
			case "FALSE":
				return int64(0), nil
			}
		}
		f, err := toFloat64(v)
		if err != nil {
			return nil, errorf(errConversion, "Conversion failed when converting the %s value '%v' to data type bit.", valueTypeName(v), v)
		}
		if f != 0 {
			return int64(1), nil
		}
		return int64(0), nil
	case kDecimal, kMoney:
		return normalizeDecimal(typ, v)
	case kFloat:
		f, err := toFloat64(v)
		if err != nil {
			return nil, err
		}
		if typ.size == 4 {
			f = float64(float32(f))
		}
		return f, nil
	case kDateTime2, kDateTime, kDate, kTime, kDateTimeOffset:
		return normalizeTime(typ, v)
	case kNVarChar:
		s := toText(v)
		if typ.size != maxLength {
			s = cutUCS2(s, typ.size)
		}
		return s, nil
	case kVarChar:
		b := encodeCP1252(toText(v))
		if typ.size != maxLength && len(b) > typ.size {
			b = b[:typ.size]
		}
		return decodeCP1252(b), nil
	case kVarBinary:
		b := toBytes(v)
		if typ.size == maxLength {
			return b, nil
		}
		switch v.(type) {
		case int64, float64:
			// numbers keep their rightmost bytes, as SQL Server converts
			if len(b) > typ.size {
				b = b[len(b)-typ.size:]
			}
		default:
			if len(b) > typ.size {
				b = b[:typ.size]
			}
			if typ.fixed && len(b) < typ.size {
				b = append(b, make([]byte, typ.size-len(b))...)
			}
		}
		return b, nil
	case kGUID:
		g, err := guidBytes(toText(v))
		if err != nil {
			return nil, err
		}
		return guidText(g), nil
	}
	return v, nil
}

// timeOf reads the date or time argument of a date function.
func timeOf(v any) (time.Time, bool, error) {
	if s, ok := v.(string); ok && len(strings.TrimSpace(s)) == 10 {
		t, err := toTime(kDate, s)
		return t, true, err
	}
	t, err := toTime(kDateTime2, v)
	return t, false, err
}

func dateAdd(part, n, d any) (any, error) {
	if part == nil || n == nil || d == nil {
		return nil, nil
	}
	t, dateOnly, err := timeOf(d)
	if err != nil {
		return nil, err
	}
	f, err := toFloat64(n)
	if err != nil {
		return nil, err
	}
	k := int(f) // SQL Server truncates the number
	switch toText(part) {
	case "year":
		t = t.AddDate(k, 0, 0)
	case "quarter":
		t = addMonths(t, 3*k)
	case "month":
		t = addMonths(t, k)
	case "dayofyear", "day", "weekday":
		t = t.AddDate(0, 0, k)
	case "week":
		t = t.AddDate(0, 0, 7*k)
	case "hour":
		t = t.Add(time.Duration(k) * time.Hour)
	case "minute":
		t = t.Add(time.Duration(k) * time.Minute)
	case "second":
		t = t.Add(time.Duration(k) * time.Second)
	case "millisecond":
		t = t.Add(time.Duration(k) * time.Millisecond)
	case "microsecond":
		t = t.Add(time.Duration(k) * time.Microsecond)
	case "nanosecond":
		t = t.Add(time.Duration(k))
	default:
		return nil, errorf(155, "'%v' is not a recognized dateadd option.", part)
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return nil, errorf(517, "Adding a value to a 'datetime2' column caused an overflow.")
	}
	if dateOnly {
		return t.Format(layoutDate), nil
	}
	return t.Format(layoutDateTime), nil
}

// addMonths adds months, clamping the day to the end of the month as
// SQL Server does (Jan 31 + 1 month = Feb 28/29).
func addMonths(t time.Time, n int) time.Time {
	y, m := t.Year(), int(t.Month())-1+n
	y += m / 12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	d := min(t.Day(), daysIn(y, m+1))
	return time.Date(y, time.Month(m+1), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// dateDiff counts the part boundaries crossed from a to b.
func dateDiff(part, a, b any) (any, error) {
	if part == nil || a == nil || b == nil {
		return nil, nil
	}
	ta, _, err := timeOf(a)
	if err != nil {
		return nil, err
	}
	tb, _, err := timeOf(b)
	if err != nil {
		return nil, err
	}
	day := func(t time.Time) int64 { return int64(daysSince0001(t)) }
	// units crossed: whole days apart, plus the units within the day
	units := func(unit int64) (int64, error) {
		days := day(tb) - day(ta)
		if unit == 1 && (days > 100000 || days < -100000) {
			return 0, errorf(535, "The datediff function resulted in an overflow. The number of dateparts separating two date/time instances is too large.")
		}
		return days*(86400e9/unit) + floorDiv(nanosOfDay(tb), unit) - floorDiv(nanosOfDay(ta), unit), nil
	}
	switch toText(part) {
	case "year":
		return int64(tb.Year() - ta.Year()), nil
	case "quarter":
		return int64((tb.Year()*4 + (int(tb.Month())-1)/3) - (ta.Year()*4 + (int(ta.Month())-1)/3)), nil
	case "month":
		return int64((tb.Year()*12 + int(tb.Month())) - (ta.Year()*12 + int(ta.Month()))), nil
	case "dayofyear", "day", "weekday":
		return day(tb) - day(ta), nil
	case "week":
		// weeks start on Sunday; 0001-01-01 was a Monday
		return floorDiv(day(tb)+1, 7) - floorDiv(day(ta)+1, 7), nil
	case "hour":
		return units(3600e9)
	case "minute":
		return units(60e9)
	case "second":
		return units(1e9)
	case "millisecond":
		return units(1e6)
	case "microsecond":
		return units(1e3)
	case "nanosecond":
		return units(1)
	}
	return nil, errorf(155, "'%v' is not a recognized datediff option.", part)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// datePart extracts a part of a date, as DATEPART does with the default
// DATEFIRST 7 (Sunday is day 1).
func datePart(part, d any) (any, error) {
	if part == nil || d == nil {
		return nil, nil
	}
	t, _, err := timeOf(d)
	if err != nil {
		return nil, err
	}
	switch toText(part) {
	case "year":
		return int64(t.Year()), nil
	case "quarter":
		return int64((int(t.Month())-1)/3 + 1), nil
	case "month":
		return int64(t.Month()), nil
	case "dayofyear":
		return int64(t.YearDay()), nil
	case "day":
		return int64(t.Day()), nil
	case "week":
		jan1 := time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		return int64((t.YearDay()+int(jan1.Weekday())-1)/7 + 1), nil
	case "weekday":
		return int64(t.Weekday()) + 1, nil
	case "hour":
		return int64(t.Hour()), nil
	case "minute":
		return int64(t.Minute()), nil
	case "second":
		return int64(t.Second()), nil
	case "millisecond":
		return int64(t.Nanosecond() / 1e6), nil
	case "microsecond":
		return int64(t.Nanosecond() / 1e3), nil
	case "nanosecond":
		return int64(t.Nanosecond()), nil
	}
	return nil, errorf(155, "'%v' is not a recognized datepart option.", part)
}

// charIndex is CHARINDEX(needle, haystack[, start]), case-insensitive
// like the default collation.
func charIndex(a []driver.Value) (any, error) {
	if len(a) < 2 || len(a) > 3 {
		return nil, errorf(174, "The charindex function requires 2 to 3 arguments.")
	}
	if a[0] == nil || a[1] == nil {
		return nil, nil
	}
	needle := []rune(strings.ToLower(toText(a[0])))
	hay := []rune(strings.ToLower(toText(a[1])))
	start := 0
	if len(a) == 3 && a[2] != nil {
		n, err := toInt64(a[2], typeBigInt)
		if err != nil {
			return nil, err
		}
		if n > 1 {
			start = int(min(n-1, int64(len(hay))))
		}
	}
	if len(needle) == 0 {
		return int64(0), nil
	}
	for i := start; i+len(needle) <= len(hay); i++ {
		if string(hay[i:i+len(needle)]) == string(needle) {
			return int64(i + 1), nil
		}
	}
	return int64(0), nil
}

func leftRight(s, n any, left bool) (any, error) {
	if s == nil || n == nil {
		return nil, nil
	}
	k, err := toInt64(n, typeBigInt)
	if err != nil {
		return nil, err
	}
	if k < 0 {
		return nil, errorf(536, "Invalid length parameter passed to the %s function.", map[bool]string{true: "left", false: "right"}[left])
	}
	r := []rune(toText(s))
	if int(k) >= len(r) {
		return string(r), nil
	}
	if left {
		return string(r[:k]), nil
	}
	return string(r[len(r)-int(k):]), nil
}

// dateStyles are the CONVERT styles between dates and strings tdstest
// knows, as Go layouts.
var dateStyles = map[int64]string{
	1: "01/02/06", 101: "01/02/2006", 2: "06.01.02", 102: "2006.01.02", 3: "02/01/06", 103: "02/01/2006",
	4: "02.01.06", 104: "02.01.2006", 5: "02-01-06", 105: "02-01-2006", 10: "01-02-06", 110: "01-02-2006",
	11: "06/01/02", 111: "2006/01/02", 12: "060102", 112: "20060102", 8: "15:04:05", 108: "15:04:05",
	24: "15:04:05", 20: "2006-01-02 15:04:05", 120: "2006-01-02 15:04:05", 21: "2006-01-02 15:04:05.000",
	121: "2006-01-02 15:04:05.000", 23: "2006-01-02", 126: "2006-01-02T15:04:05.999", 127: "2006-01-02T15:04:05.999Z",
}

// convertStyled implements CONVERT(type, v, style): the style picks the
// format between dates and strings; for other conversions it is ignored.
func convertStyled(v, typeText, style any) (any, error) {
	text, ok := typeText.(string)
	if !ok {
		return nil, errorf(errGeneric, "tds_convert: the type must be text, got %T", typeText)
	}
	typ, err := cachedType(text)
	if err != nil {
		return nil, err
	}
	if v == nil || style == nil {
		return convertTo(typ, v)
	}
	n, err := toInt64(style, typeBigInt)
	if err != nil {
		return nil, err
	}
	s, isText := v.(string)
	switch {
	case (typ.kind == kNVarChar || typ.kind == kVarChar) && isText:
		layout, known := dateStyles[n]
		t, _, err := parseTimeText(s)
		if err != nil {
			return convertTo(typ, v) // not a date: the style does not apply
		}
		if !known {
			return nil, errorf(281, "%d is not a valid style number when converting from datetime to a character string.", n)
		}
		return convertTo(typ, t.Format(layout))
	case typ.isDateTime() && isText:
		layout, known := dateStyles[n]
		if !known {
			return nil, errorf(281, "%d is not a valid style number when converting to datetime.", n)
		}
		s = strings.TrimSpace(s)
		t, err := time.Parse(layout, s)
		if err != nil && len(s) > len(layout) {
			// a date style followed by a time: "15.01.2024 10:30"
			var tm time.Time
			if tm, err = time.Parse(layout, s[:len(layout)]); err == nil {
				t, _, err = parseTimeText(tm.Format(layoutDate) + s[len(layout):])
			}
		}
		if err != nil {
			return nil, errorf(errDateConversion, "Conversion failed when converting date and/or time from character string '%s' with style %d.", s, n)
		}
		return convertTo(typ, t.Format(layoutDateTime))
	}
	return convertTo(typ, v)
}
