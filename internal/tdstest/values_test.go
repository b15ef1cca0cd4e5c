package tdstest

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func TestParseType(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "int", want: "INT"},
		{in: "[bigint]", want: "BIGINT"},
		{in: "decimal", want: "DECIMAL(18,0)"},
		{in: "numeric ( 10 , 2 )", want: "NUMERIC(10,2)"},
		{in: "nvarchar(max)", want: "NVARCHAR(MAX)"},
		{in: "varchar", want: "VARCHAR(1)"},
		{in: "char(10)", want: "CHAR(10)"},
		{in: "float(24)", want: "REAL"},
		{in: "double precision", want: "FLOAT"},
		{in: "datetime2", want: "DATETIME2(7)"},
		{in: "datetime2(0)", want: "DATETIME2(0)"},
		{in: "timestamp", want: "ROWVERSION"},
		{in: "sysname", want: "NVARCHAR(128)"},
		{in: "ntext", want: "NVARCHAR(MAX)"},
		{in: "image", want: "VARBINARY(MAX)"},
		{in: "dbo.int", want: "INT"},
		{in: "decimal(39,2)", err: true},
		{in: "decimal(5,6)", err: true},
		{in: "nvarchar(4001)", err: true},
		{in: "char(max)", err: true},
		{in: "int(4)", err: true},
		{in: "geography", err: true},
		{in: "", err: true},
		{in: "varchar(10", err: true},
		{in: "varchar(1)(2)", err: true},
	}
	for _, tt := range tests {
		got, err := parseType(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("parseType(%q) = %s, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("parseType(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		if again, err := parseType(got.String()); err != nil || again != got {
			t.Errorf("parseType(%q) does not read back: %v %v", got.String(), again, err)
		}
	}
}

func TestParseTimeText(t *testing.T) {
	utc := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in    string
		want  time.Time
		zoned bool
		err   bool
	}{
		{in: "2024-01-15", want: utc(2024, 1, 15, 0, 0, 0, 0)},
		{in: "20240115", want: utc(2024, 1, 15, 0, 0, 0, 0)},
		{in: "2024-01-15 10:00", want: utc(2024, 1, 15, 10, 0, 0, 0)},
		{in: "2024-01-15T10:00:05.1234567", want: utc(2024, 1, 15, 10, 0, 5, 123456700)},
		{in: " 2024-01-15 10:00:05.5 ", want: utc(2024, 1, 15, 10, 0, 5, 500000000)},
		{in: "2024-01-15T10:00:05Z", want: utc(2024, 1, 15, 10, 0, 5, 0), zoned: true},
		{in: "2024-01-15 10:00:05 +01:00", want: utc(2024, 1, 15, 9, 0, 5, 0), zoned: true},
		{in: "2024-01-15T10:00:05-0230", want: utc(2024, 1, 15, 12, 30, 5, 0), zoned: true},
		{in: "7:08:09", want: utc(1900, 1, 1, 7, 8, 9, 0)},
		{in: "2024-02-30", err: true},
		{in: "2024-01-15 24:00", err: true},
		{in: "2024-01-15 10:00:05.1234567890", err: true},
		{in: "2024-01-15X", err: true},
		{in: "15/01/2024", err: true},
		{in: "", err: true},
		{in: "2024-01-15 10:00 +15:00", err: true},
	}
	for _, tt := range tests {
		got, zoned, err := parseTimeText(tt.in)
		if tt.err {
			if err == nil || errNumberOf(err) != errDateConversion {
				t.Errorf("parseTimeText(%q) = %v, %v; want error %d", tt.in, got, err, errDateConversion)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || zoned != tt.zoned {
			t.Errorf("parseTimeText(%q) = %v, %v, %v; want %v, %v", tt.in, got, zoned, err, tt.want, tt.zoned)
		}
	}
}

func errNumberOf(err error) int32 {
	if se, ok := err.(*sqlError); ok {
		return se.number
	}
	return 0
}

func TestCastValue(t *testing.T) {
	tests := []struct {
		in   any
		typ  string
		want any
		err  int32
	}{
		{int64(5), "INT", int64(5), 0},
		{"  42 ", "BIGINT", int64(42), 0},
		{2.9, "INT", int64(2), 0},
		{int64(300), "TINYINT", nil, errOverflow},
		{"abc", "INT", nil, errConversion},
		{[]byte{0, 0, 0, 0, 0, 0, 7, 208}, "BIGINT", int64(2000), 0},
		{"true", "BIT", int64(1), 0},
		{int64(-3), "BIT", int64(1), 0},
		{12.345, "DECIMAL(10,2)", 12.35, 0},
		{-12.345, "DECIMAL(10,2)", -12.35, 0},
		{"12345.67891", "DECIMAL(18,4)", 12345.6789, 0},
		{"100", "DECIMAL(5,2)", int64(100), 0},
		{"1000", "DECIMAL(5,2)", nil, errOverflow},
		{"1.23456", "MONEY", 1.2346, 0},
		{"2024-01-15T10:00:05.12345678", "DATETIME2(7)", "2024-01-15 10:00:05.1234568", 0},
		{"2024-01-15 10:00:05.125", "DATETIME2(2)", "2024-01-15 10:00:05.1300000", 0},
		{"2024-01-15 23:59:59.9999999", "DATETIME2(0)", "2024-01-16 00:00:00.0000000", 0},
		{"2024-01-15 10:00:05.123", "DATETIME", "2024-01-15 10:00:05.1233333", 0},
		{"2024-01-15 10:00:29.998", "SMALLDATETIME", "2024-01-15 10:00:00.0000000", 0},
		{"2024-01-15 10:00:29.999", "SMALLDATETIME", "2024-01-15 10:01:00.0000000", 0},
		{"2024-01-15 10:00:30", "SMALLDATETIME", "2024-01-15 10:01:00.0000000", 0},
		{"2024-01-15 10:00:05", "DATE", "2024-01-15", 0},
		{"2024-01-15 10:00:05 +02:00", "DATETIMEOFFSET", "2024-01-15 08:00:05.0000000", 0},
		{"2024-01-15 10:00:05 +02:00", "DATETIME2", "2024-01-15 10:00:05.0000000", 0},
		{"1700-01-01", "DATETIME", nil, errDateRange},
		{"not a date", "DATE", nil, errDateConversion},
		{"è€ 漢", "VARCHAR(10)", "è€ ?", 0},
		{"abcdef", "NVARCHAR(3)", "abc", 0},
		{int64(42), "NVARCHAR(10)", "42", 0},
		{int64(1), "BINARY(4)", []byte{0, 0, 0, 1}, 0},
		{"ab", "BINARY(4)", []byte{'a', 'b', 0, 0}, 0},
		{"ff19966f-868b-11d0-b42d-00c04fc964ff", "UNIQUEIDENTIFIER", "FF19966F-868B-11D0-B42D-00C04FC964FF", 0},
		{nil, "INT", nil, 0},
	}
	for _, tt := range tests {
		got, err := castValue(tt.in, tt.typ)
		if tt.err != 0 {
			if errNumberOf(err) != tt.err {
				t.Errorf("CAST(%#v AS %s) = %#v, %v; want error %d", tt.in, tt.typ, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CAST(%#v AS %s) = %#v, %v; want %#v", tt.in, tt.typ, got, err, tt.want)
		}
	}
}

func TestAppendValueMatchesWire(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)
	tests := []struct {
		typ  string
		in   any
		want []byte
	}{
		{"INT", int64(-5), []byte{4, 0xfb, 0xff, 0xff, 0xff}},
		{"BIT", int64(1), []byte{1, 1}},
		{"DECIMAL(10,4)", 12345.6789, cat([]byte{9, 1}, le64(123456789))},
		{"NUMERIC(5,2)", "-0.01", []byte{5, 0, 1, 0, 0, 0}},
		{"MONEY", "12.3456", cat([]byte{8}, le32(0), le32(123456))},
		{"SMALLMONEY", int64(-1), cat([]byte{4}, le32(uint32(0xffffffff-9999)))},
		{"DATETIME2(7)", ts.Format(layoutDateTime), cat([]byte{8}, dt2(ts))},
		{"DATE", "2024-01-02", cat([]byte{3}, appendDatePart(nil, ts))},
		{"NVARCHAR(4)", "è", []byte{2, 0, 0xe8, 0}},
		{"NCHAR(2)", "x", []byte{4, 0, 'x', 0, ' ', 0}},
		{"CHAR(3)", "è", []byte{3, 0, 0xe8, ' ', ' '}},
		{"NVARCHAR(MAX)", "a", cat(le64(2), le32(2), []byte{'a', 0}, le32(0))},
		{"NVARCHAR(MAX)", "", cat(le64(0), le32(0))},
		{"NVARCHAR(MAX)", nil, le64(0xffffffffffffffff)},
		{"VARBINARY(4)", nil, le16(0xffff)},
		{"INT", nil, []byte{0}},
	}
	for _, tt := range tests {
		typ, err := parseType(tt.typ)
		if err != nil {
			t.Fatal(err)
		}
		got, err := typ.appendValue(nil, tt.in)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s value %#v = % x, %v; want % x", tt.typ, tt.in, got, err, tt.want)
		}
	}
}

func TestDateFunctions(t *testing.T) {
	tests := []struct {
		name string
		got  func() (any, error)
		want any
	}{
		{"dateadd month end", func() (any, error) { return dateAdd("month", int64(1), "2024-01-31 10:00:00.0000000") }, "2024-02-29 10:00:00.0000000"},
		{"dateadd date stays date", func() (any, error) { return dateAdd("day", int64(-1), "2024-03-01") }, "2024-02-29"},
		{"dateadd quarter", func() (any, error) { return dateAdd("quarter", int64(-1), "2024-01-15") }, "2023-10-15"},
		{"datediff year", func() (any, error) { return dateDiff("year", "2023-12-31 23:59", "2024-01-01 00:00") }, int64(1)},
		{"datediff hour", func() (any, error) { return dateDiff("hour", "2024-01-01 10:59", "2024-01-01 11:00") }, int64(1)},
		{"datediff week", func() (any, error) { return dateDiff("week", "2024-01-06", "2024-01-07") }, int64(1)},
		{"datediff negative", func() (any, error) { return dateDiff("day", "2024-01-07", "2024-01-01") }, int64(-6)},
		{"datepart weekday", func() (any, error) { return datePart("weekday", "2024-01-07") }, int64(1)},
		{"datepart week", func() (any, error) { return datePart("week", "2024-01-07") }, int64(2)},
		{"datepart millisecond", func() (any, error) { return datePart("millisecond", "2024-01-07 01:02:03.4567") }, int64(456)},
		{"null", func() (any, error) { return dateAdd("day", nil, "2024-01-01") }, nil},
	}
	for _, tt := range tests {
		got, err := tt.got()
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s = %#v, %v; want %#v", tt.name, got, err, tt.want)
		}
	}
}

func TestCompareCI(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"abc", "ABC", 0},
		{"abc  ", "abc", 0},
		{"Alpha", "beta", -1},
		{"è", "e", 1},
		{"è", "f", -1},
		{"b", "a", 1},
	}
	for _, tt := range tests {
		if got := compareCI(tt.a, tt.b); got != tt.want {
			t.Errorf("compareCI(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestConvertStyled(t *testing.T) {
	tests := []struct {
		in    any
		typ   string
		style int64
		want  any
		err   int32
	}{
		{"2024-01-05", "VARCHAR(10)", 103, "05/01/2024", 0},
		{"2024-01-05 07:08:09.1234567", "VARCHAR(30)", 121, "2024-01-05 07:08:09.123", 0},
		{"2024-01-05 07:08:09.5", "VARCHAR(30)", 126, "2024-01-05T07:08:09.5", 0},
		{"not a date", "VARCHAR(30)", 103, "not a date", 0},
		{"2024-01-05", "VARCHAR(30)", 999, nil, 281},
		{"05/01/2024", "DATE", 103, "2024-01-05", 0},
		{"15.01.2024 10:30", "DATETIME2(0)", 104, "2024-01-15 10:30:00.0000000", 0},
		{"2024-01-15 10", "DATETIME2(3)", 120, nil, errDateConversion}, // shorter than its style
		{"15/01/2024", "DATE", 101, nil, errDateConversion},
		{int64(5), "VARCHAR(5)", 103, "5", 0},
	}
	for _, tt := range tests {
		got, err := convertStyled(tt.in, tt.typ, tt.style)
		if tt.err != 0 {
			if errNumberOf(err) != tt.err {
				t.Errorf("CONVERT(%s, %#v, %d) = %#v, %v; want error %d", tt.typ, tt.in, tt.style, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CONVERT(%s, %#v, %d) = %#v, %v; want %#v", tt.typ, tt.in, tt.style, got, err, tt.want)
		}
	}
}
