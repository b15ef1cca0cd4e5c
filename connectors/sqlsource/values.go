package sqlsource

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/pointsync/pointsync/mapping"
)

// typeClass groups the database types a driver reports by how their
// values are read.
type typeClass int

const (
	classOther    typeClass = iota
	classInt                // integers
	classBool               // SQL Server's BIT
	classBits               // MySQL's BIT(n): bytes of an unsigned integer
	classDecimal            // DECIMAL, NUMERIC, MONEY: exact text from the driver
	classFloat              // FLOAT, REAL, DOUBLE
	classDateTime           // a wall-clock date and time
	classOffset             // a date and time with its offset (DATETIMEOFFSET)
	classDate               // a day
	classClock              // a time of day
	classText               // characters
	classBinary             // bytes
	classGUID               // SQL Server's UNIQUEIDENTIFIER
)

// classify tells the class of a column from the database type name the
// driver reports (sql.ColumnType.DatabaseTypeName).
func classify(driver, dbType string) typeClass {
	t := strings.ToUpper(dbType)
	if driver == DriverMySQL {
		t = strings.TrimPrefix(t, "UNSIGNED ")
		switch t {
		case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR":
			return classInt
		case "BIT":
			return classBits
		case "DECIMAL":
			return classDecimal
		case "FLOAT", "DOUBLE":
			return classFloat
		case "DATETIME", "TIMESTAMP":
			return classDateTime
		case "DATE":
			return classDate
		case "TIME":
			return classClock
		case "CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET", "JSON", "NULL":
			return classText
		case "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB":
			return classBinary
		}
		return classOther
	}
	switch t {
	case "TINYINT", "SMALLINT", "INT", "BIGINT":
		return classInt
	case "BIT":
		return classBool
	case "DECIMAL", "NUMERIC", "MONEY", "SMALLMONEY":
		return classDecimal
	case "FLOAT", "REAL":
		return classFloat
	case "DATETIME", "DATETIME2", "SMALLDATETIME":
		return classDateTime
	case "DATETIMEOFFSET":
		return classOffset
	case "DATE":
		return classDate
	case "TIME":
		return classClock
	case "CHAR", "VARCHAR", "NCHAR", "NVARCHAR", "TEXT", "NTEXT", "XML":
		return classText
	case "BINARY", "VARBINARY", "IMAGE", "TIMESTAMP", "ROWVERSION":
		return classBinary
	case "UNIQUEIDENTIFIER":
		return classGUID
	}
	return classOther
}

// numeric tells whether values of the class are numbers.
func (c typeClass) numeric() bool {
	return c == classInt || c == classBool || c == classBits || c == classDecimal || c == classFloat
}

// temporal tells whether values of the class are dates or times.
func (c typeClass) temporal() bool {
	return c == classDateTime || c == classOffset || c == classDate || c == classClock
}

// cursorFits tells whether a cursor of type typ can read a column of the
// class.
func cursorFits(typ string, c typeClass) bool {
	switch typ {
	case CursorInt:
		return c == classInt
	case CursorTime:
		return c == classDateTime || c == classOffset || c == classDate
	case CursorText:
		return c == classText
	case CursorBinary:
		return c == classBinary
	}
	return false
}

// decimalsAllowed is how many decimals a field of kind k keeps exactly:
// cents for money (and for points of an amount program), thousandths
// for quantities; -1 for kinds that are not numbers.
func decimalsAllowed(k mapping.Kind, amount bool) int {
	switch k {
	case mapping.KindMoney:
		return 2
	case mapping.KindPoints:
		if amount {
			return 2
		}
		return 0
	case mapping.KindQuantity:
		return 3
	}
	return -1
}

// badValue is a value the Mapper must not read, and why: the row is
// refused with the reason, its group with it.
type badValue struct {
	value  string
	reason string
}

// fieldText writes a value the driver read as text in the source's
// notation: integers in decimal, exact decimals as the driver gives them
// (trailing zeros beyond the point dropped in number fields, so that a
// MONEY 12.5000 reads as 12.50), booleans 1/0, times wall-clock
// (RFC 3339 when they carry an offset), bytes in hexadecimal. ok is false
// for NULL. A float in a money, points or quantity field, and a decimal
// with more decimals than the field keeps, come back as bad.
func fieldText(raw any, class typeClass, kind mapping.Kind, amount bool) (s string, ok bool, bad *badValue) {
	if raw == nil {
		return "", false, nil
	}
	places := decimalsAllowed(kind, amount)
	switch v := raw.(type) {
	case int64:
		return strconv.FormatInt(v, 10), true, nil
	case int32:
		return strconv.FormatInt(int64(v), 10), true, nil
	case int16:
		return strconv.FormatInt(int64(v), 10), true, nil
	case int8:
		return strconv.FormatInt(int64(v), 10), true, nil
	case int:
		return strconv.Itoa(v), true, nil
	case uint64:
		return strconv.FormatUint(v, 10), true, nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), true, nil
	case uint16:
		return strconv.FormatUint(uint64(v), 10), true, nil
	case uint8:
		return strconv.FormatUint(uint64(v), 10), true, nil
	case bool:
		if v {
			return "1", true, nil
		}
		return "0", true, nil
	case float64:
		return floatText(strconv.FormatFloat(v, 'f', -1, 64), places)
	case float32:
		return floatText(strconv.FormatFloat(float64(v), 'f', -1, 32), places)
	case time.Time:
		if v.IsZero() {
			// MySQL's zero date '0000-00-00' means no date.
			return "", false, nil
		}
		switch class {
		case classOffset:
			return v.Format(time.RFC3339Nano), true, nil
		case classDate:
			return v.Format("2006-01-02"), true, nil
		case classClock:
			return v.Format("15:04:05.999999999"), true, nil
		}
		return v.Format(wallLayout), true, nil
	case string:
		if class == classDecimal {
			return decimalText(v, places)
		}
		return v, true, nil
	case []byte:
		switch class {
		case classDecimal:
			return decimalText(string(v), places)
		case classBinary:
			return "0x" + strings.ToUpper(hex.EncodeToString(v)), true, nil
		case classBits:
			return new(big.Int).SetBytes(v).String(), true, nil
		case classGUID:
			var g mssql.UniqueIdentifier
			if err := g.Scan(v); err == nil {
				return g.String(), true, nil
			}
		}
		return string(v), true, nil
	}
	return fmt.Sprint(raw), true, nil
}

func floatText(s string, places int) (string, bool, *badValue) {
	if places < 0 {
		return s, true, nil
	}
	return s, true, &badValue{value: s, reason: "is a floating-point column (FLOAT, REAL or DOUBLE), which loses cents: cast it to DECIMAL in the query, e.g. CAST(amount AS DECIMAL(18,2))"}
}

// decimalText drops the zeros that end the decimals of an exact number
// read for a number field, and refuses one with more decimals than the
// field keeps: rounding it here would change the amount unseen.
func decimalText(s string, places int) (string, bool, *badValue) {
	if places < 0 {
		return s, true, nil
	}
	whole, frac, point := strings.Cut(s, ".")
	if !point {
		return s, true, nil
	}
	frac = strings.TrimRight(frac, "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if len(frac) > places {
		what := fmt.Sprintf("at most %d decimals", places)
		switch places {
		case 0:
			what = "whole points"
		case 2:
			what = "cents"
		}
		return out, true, &badValue{value: s, reason: fmt.Sprintf(
			"has %d decimals and the field is read exactly to %s: round it in the query, e.g. CAST(ROUND(col, %d) AS DECIMAL(18,%d)), as the document's own total does",
			len(frac), what, places, places)}
	}
	return out, true, nil
}
