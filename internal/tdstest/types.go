package tdstest

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// kind is a family of SQL Server types that share a wire format.
type kind int

const (
	kInt            kind = iota + 1 // size 1, 2, 4, 8
	kBit                            //
	kDecimal                        // prec, scale; numeric marks NUMERIC
	kMoney                          // size 4 (smallmoney) or 8
	kFloat                          // size 4 (real) or 8
	kDateTime2                      // scale
	kDateTime                       // size 4 (smalldatetime) or 8
	kDate                           //
	kTime                           // scale
	kDateTimeOffset                 // scale
	kNVarChar                       // length in UTF-16 units, maxLength for MAX; fixed marks NCHAR
	kVarChar                        // length in bytes, maxLength for MAX; fixed marks CHAR
	kVarBinary                      // length in bytes, maxLength for MAX; fixed marks BINARY
	kGUID                           //
)

// maxLength marks a (MAX) type, sent as a PLP stream.
const maxLength = -1

// sqlType is a SQL Server column or parameter type.
type sqlType struct {
	kind    kind
	size    int // bytes for ints, money, floats, datetime; length for strings and binaries
	prec    int
	scale   int
	fixed   bool // CHAR, NCHAR, BINARY: values are padded to size
	numeric bool // NUMERIC rather than DECIMAL (same values, other wire type)
	// rowversion marks ROWVERSION/TIMESTAMP: BINARY(8) filled by the
	// database-wide counter.
	rowversion bool
}

var (
	typeBigInt       = sqlType{kind: kInt, size: 8}
	typeInt          = sqlType{kind: kInt, size: 4}
	typeFloat        = sqlType{kind: kFloat, size: 8}
	typeNVarChar4000 = sqlType{kind: kNVarChar, size: 4000}
	typeNVarCharMax  = sqlType{kind: kNVarChar, size: maxLength}
	typeVarBin8000   = sqlType{kind: kVarBinary, size: 8000}
	typeVarBinMax    = sqlType{kind: kVarBinary, size: maxLength}
	typeDateTime2_7  = sqlType{kind: kDateTime2, scale: 7}
)

// parseType reads a SQL Server type as written in DDL or CAST:
// "decimal(18, 4)", "NVARCHAR(MAX)", "[int]", "double precision".
func parseType(text string) (sqlType, error) {
	name, args, err := splitTypeText(text)
	if err != nil {
		return sqlType{}, err
	}
	argc := len(args)
	num := func(i, def, lo, hi int) (int, error) {
		if i >= argc {
			return def, nil
		}
		n, err := strconv.Atoi(args[i])
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("type %s: argument %q must be a number from %d to %d", text, args[i], lo, hi)
		}
		return n, nil
	}
	length := func(def, hi int) (int, error) {
		if argc > 1 {
			return 0, fmt.Errorf("type %s takes one length", text)
		}
		if argc == 1 && strings.EqualFold(args[0], "MAX") {
			return maxLength, nil
		}
		return num(0, def, 1, hi)
	}
	noArgs := func(t sqlType) (sqlType, error) {
		if argc > 0 {
			return sqlType{}, fmt.Errorf("type %s takes no arguments", text)
		}
		return t, nil
	}
	switch name {
	case "BIGINT":
		return noArgs(sqlType{kind: kInt, size: 8})
	case "INT", "INTEGER":
		return noArgs(sqlType{kind: kInt, size: 4})
	case "SMALLINT":
		return noArgs(sqlType{kind: kInt, size: 2})
	case "TINYINT":
		return noArgs(sqlType{kind: kInt, size: 1})
	case "BIT":
		return noArgs(sqlType{kind: kBit, size: 1})
	case "DECIMAL", "DEC", "NUMERIC":
		if argc > 2 {
			return sqlType{}, fmt.Errorf("type %s takes a precision and a scale", text)
		}
		p, err := num(0, 18, 1, 38)
		if err != nil {
			return sqlType{}, err
		}
		s, err := num(1, 0, 0, p)
		if err != nil {
			return sqlType{}, err
		}
		return sqlType{kind: kDecimal, prec: p, scale: s, numeric: name == "NUMERIC"}, nil
	case "MONEY":
		return noArgs(sqlType{kind: kMoney, size: 8, prec: 19, scale: 4})
	case "SMALLMONEY":
		return noArgs(sqlType{kind: kMoney, size: 4, prec: 10, scale: 4})
	case "FLOAT":
		if argc > 1 {
			return sqlType{}, fmt.Errorf("type %s takes one precision", text)
		}
		n, err := num(0, 53, 1, 53)
		if err != nil {
			return sqlType{}, err
		}
		if n <= 24 {
			return sqlType{kind: kFloat, size: 4}, nil
		}
		return sqlType{kind: kFloat, size: 8}, nil
	case "REAL":
		return noArgs(sqlType{kind: kFloat, size: 4})
	case "DOUBLE PRECISION":
		return noArgs(sqlType{kind: kFloat, size: 8})
	case "DATETIME2", "TIME", "DATETIMEOFFSET":
		if argc > 1 {
			return sqlType{}, fmt.Errorf("type %s takes one scale", text)
		}
		s, err := num(0, 7, 0, 7)
		if err != nil {
			return sqlType{}, err
		}
		k := map[string]kind{"DATETIME2": kDateTime2, "TIME": kTime, "DATETIMEOFFSET": kDateTimeOffset}[name]
		return sqlType{kind: k, scale: s}, nil
	case "DATETIME":
		return noArgs(sqlType{kind: kDateTime, size: 8, scale: 3})
	case "SMALLDATETIME":
		return noArgs(sqlType{kind: kDateTime, size: 4})
	case "DATE":
		return noArgs(sqlType{kind: kDate})
	case "CHAR", "CHARACTER", "VARCHAR", "CHAR VARYING", "CHARACTER VARYING":
		fixed := name == "CHAR" || name == "CHARACTER"
		n, err := length(1, 8000)
		if err != nil {
			return sqlType{}, err
		}
		if fixed && n == maxLength {
			return sqlType{}, fmt.Errorf("type %s: CHAR cannot be MAX", text)
		}
		return sqlType{kind: kVarChar, size: n, fixed: fixed}, nil
	case "TEXT":
		return noArgs(sqlType{kind: kVarChar, size: maxLength})
	case "NCHAR", "NATIONAL CHAR", "NATIONAL CHARACTER", "NVARCHAR", "NATIONAL CHAR VARYING", "NATIONAL CHARACTER VARYING":
		fixed := name == "NCHAR" || name == "NATIONAL CHAR" || name == "NATIONAL CHARACTER"
		n, err := length(1, 4000)
		if err != nil {
			return sqlType{}, err
		}
		if fixed && n == maxLength {
			return sqlType{}, fmt.Errorf("type %s: NCHAR cannot be MAX", text)
		}
		return sqlType{kind: kNVarChar, size: n, fixed: fixed}, nil
	case "NTEXT", "XML":
		return noArgs(sqlType{kind: kNVarChar, size: maxLength})
	case "SYSNAME":
		return noArgs(sqlType{kind: kNVarChar, size: 128})
	case "BINARY", "VARBINARY", "BINARY VARYING":
		fixed := name == "BINARY"
		n, err := length(1, 8000)
		if err != nil {
			return sqlType{}, err
		}
		if fixed && n == maxLength {
			return sqlType{}, fmt.Errorf("type %s: BINARY cannot be MAX", text)
		}
		return sqlType{kind: kVarBinary, size: n, fixed: fixed}, nil
	case "IMAGE":
		return noArgs(sqlType{kind: kVarBinary, size: maxLength})
	case "ROWVERSION", "TIMESTAMP":
		return noArgs(sqlType{kind: kVarBinary, size: 8, fixed: true, rowversion: true})
	case "UNIQUEIDENTIFIER":
		return noArgs(sqlType{kind: kGUID, size: 16})
	}
	return sqlType{}, fmt.Errorf("type %s is not supported by tdstest (supported: integer, bit, decimal/numeric, money, float/real, date and time, [n]char/[n]varchar/[n]text, [var]binary/image, rowversion, uniqueidentifier)", text)
}

// splitTypeText splits "nvarchar ( 50 )" into "NVARCHAR" and ["50"].
// Brackets and quotes around the name are dropped, multi-word names
// are joined by one space, and a leading "dbo." or "sys." is ignored.
func splitTypeText(text string) (string, []string, error) {
	s := strings.TrimSpace(text)
	open := strings.IndexByte(s, '(')
	head, tail := s, ""
	if open >= 0 {
		head, tail = s[:open], s[open:]
	}
	head = strings.NewReplacer("[", " ", "]", " ", `"`, " ").Replace(head)
	words := strings.Fields(strings.ToUpper(head))
	if len(words) > 0 {
		for _, schema := range []string{"DBO.", "SYS."} {
			words[0] = strings.TrimPrefix(words[0], schema)
		}
	}
	name := strings.Join(words, " ")
	if name == "" {
		return "", nil, fmt.Errorf("type %q has no name", text)
	}
	for _, r := range name {
		if r != ' ' && r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return "", nil, fmt.Errorf("type %q: unexpected %q in its name", text, r)
		}
	}
	if tail == "" {
		return name, nil, nil
	}
	if !strings.HasSuffix(tail, ")") || strings.Count(tail, "(") != 1 || strings.Count(tail, ")") != 1 {
		return "", nil, fmt.Errorf("type %q: arguments must be one (...) group at its end", text)
	}
	var args []string
	for _, a := range strings.Split(tail[1:len(tail)-1], ",") {
		args = append(args, strings.TrimSpace(a))
	}
	return name, args, nil
}

// String renders the type as SQL Server DDL writes it.
func (t sqlType) String() string {
	length := func(name string) string {
		if t.size == maxLength {
			return name + "(MAX)"
		}
		return fmt.Sprintf("%s(%d)", name, t.size)
	}
	switch t.kind {
	case kInt:
		return map[int]string{1: "TINYINT", 2: "SMALLINT", 4: "INT", 8: "BIGINT"}[t.size]
	case kBit:
		return "BIT"
	case kDecimal:
		name := "DECIMAL"
		if t.numeric {
			name = "NUMERIC"
		}
		return fmt.Sprintf("%s(%d,%d)", name, t.prec, t.scale)
	case kMoney:
		if t.size == 4 {
			return "SMALLMONEY"
		}
		return "MONEY"
	case kFloat:
		if t.size == 4 {
			return "REAL"
		}
		return "FLOAT"
	case kDateTime2:
		return fmt.Sprintf("DATETIME2(%d)", t.scale)
	case kDateTime:
		if t.size == 4 {
			return "SMALLDATETIME"
		}
		return "DATETIME"
	case kDate:
		return "DATE"
	case kTime:
		return fmt.Sprintf("TIME(%d)", t.scale)
	case kDateTimeOffset:
		return fmt.Sprintf("DATETIMEOFFSET(%d)", t.scale)
	case kNVarChar:
		if t.fixed {
			return length("NCHAR")
		}
		return length("NVARCHAR")
	case kVarChar:
		if t.fixed {
			return length("CHAR")
		}
		return length("VARCHAR")
	case kVarBinary:
		if t.rowversion {
			return "ROWVERSION"
		}
		if t.fixed {
			return length("BINARY")
		}
		return length("VARBINARY")
	case kGUID:
		return "UNIQUEIDENTIFIER"
	}
	return "UNKNOWN"
}

// isDateTime reports the kinds stored as fixed-width text in SQLite.
func (t sqlType) isDateTime() bool {
	switch t.kind {
	case kDateTime2, kDateTime, kDate, kTime, kDateTimeOffset:
		return true
	}
	return false
}

// sqliteDecl is the type a column of t is declared with in SQLite: it
// fixes the column's affinity (so comparisons behave) and avoids the
// names modernc.org/sqlite would parse into time.Time on its own.
func (t sqlType) sqliteDecl() string {
	switch t.kind {
	case kInt, kBit:
		return "INTEGER"
	case kDecimal, kMoney:
		return "NUMERIC"
	case kFloat:
		return "REAL"
	case kVarBinary:
		return "BLOB"
	}
	return "TEXT"
}

// Wire type ids (MS-TDS 2.2.5.4).
const (
	tyNull           = 0x1f
	tyInt1           = 0x30
	tyBit            = 0x32
	tyInt2           = 0x34
	tyInt4           = 0x38
	tyDateTim4       = 0x3a
	tyFlt4           = 0x3b
	tyMoney          = 0x3c
	tyDateTime       = 0x3d
	tyFlt8           = 0x3e
	tyMoney4         = 0x7a
	tyInt8           = 0x7f
	tyGUID           = 0x24
	tyIntN           = 0x26
	tyDecimal        = 0x37
	tyNumeric        = 0x3f
	tyBitN           = 0x68
	tyDecimalN       = 0x6a
	tyNumericN       = 0x6c
	tyFltN           = 0x6d
	tyMoneyN         = 0x6e
	tyDateTimN       = 0x6f
	tyDateN          = 0x28
	tyTimeN          = 0x29
	tyDateTime2N     = 0x2a
	tyDateTimeOffset = 0x2b
	tyChar           = 0x2f
	tyVarChar        = 0x27
	tyBinary         = 0x2d
	tyVarBinary      = 0x25
	tyBigVarBin      = 0xa5
	tyBigVarChar     = 0xa7
	tyBigBinary      = 0xad
	tyBigChar        = 0xaf
	tyNVarChar       = 0xe7
	tyNChar          = 0xef
	tyXML            = 0xf1
	tyUDT            = 0xf0
	tyTVP            = 0xf3
	tyText           = 0x23
	tyImage          = 0x22
	tyNText          = 0x63
	tyVariant        = 0x62
)

// collationLatin1 is SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, case
// insensitive, sort id 52 (code page 1252). Every character column and
// the login's default collation use it.
var collationLatin1 = []byte{0x09, 0x04, 0xd0, 0x00, 0x34}

// decimalSize is the byte length of a DECIMALN value of precision p,
// sign byte included.
func decimalSize(p int) int {
	switch {
	case p <= 9:
		return 5
	case p <= 19:
		return 9
	case p <= 28:
		return 13
	}
	return 17
}

// timeSize is the byte length of the time part at scale s.
func timeSize(s int) int {
	switch {
	case s <= 2:
		return 3
	case s <= 4:
		return 4
	}
	return 5
}

// appendTypeInfo appends the TYPE_INFO of t for COLMETADATA.
func (t sqlType) appendTypeInfo(b []byte) []byte {
	shortLen := func(n int) []byte {
		if n == maxLength {
			return binary.LittleEndian.AppendUint16(b, 0xffff)
		}
		return binary.LittleEndian.AppendUint16(b, uint16(n))
	}
	switch t.kind {
	case kInt:
		return append(b, tyIntN, byte(t.size))
	case kBit:
		return append(b, tyBitN, 1)
	case kDecimal:
		id := byte(tyDecimalN)
		if t.numeric {
			id = tyNumericN
		}
		return append(b, id, byte(decimalSize(t.prec)), byte(t.prec), byte(t.scale))
	case kMoney:
		return append(b, tyMoneyN, byte(t.size))
	case kFloat:
		return append(b, tyFltN, byte(t.size))
	case kDateTime:
		return append(b, tyDateTimN, byte(t.size))
	case kDate:
		return append(b, tyDateN)
	case kTime:
		return append(b, tyTimeN, byte(t.scale))
	case kDateTime2:
		return append(b, tyDateTime2N, byte(t.scale))
	case kDateTimeOffset:
		return append(b, tyDateTimeOffset, byte(t.scale))
	case kNVarChar:
		id := byte(tyNVarChar)
		if t.fixed {
			id = tyNChar
		}
		b = append(b, id)
		if t.size == maxLength {
			b = shortLen(maxLength)
		} else {
			b = shortLen(2 * t.size)
		}
		return append(b, collationLatin1...)
	case kVarChar:
		id := byte(tyBigVarChar)
		if t.fixed {
			id = tyBigChar
		}
		b = append(b, id)
		b = shortLen(t.size)
		return append(b, collationLatin1...)
	case kVarBinary:
		id := byte(tyBigVarBin)
		if t.fixed {
			id = tyBigBinary
		}
		b = append(b, id)
		return shortLen(t.size)
	case kGUID:
		return append(b, tyGUID, 16)
	}
	panic(fmt.Sprintf("tdstest: appendTypeInfo of kind %d", t.kind))
}

// userType is the COLMETADATA UserType: 80 for timestamp, as SQL Server
// sends it, 0 otherwise.
func (t sqlType) userType() uint32 {
	if t.rowversion {
		return 80
	}
	return 0
}
