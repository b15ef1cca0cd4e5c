package sqlsource

import (
	"bytes"
	"testing"
	"time"

	"github.com/golang-sql/civil"

	"github.com/pointsync/pointsync/connectors"
)

func TestCursorStart(t *testing.T) {
	tests := []struct {
		typ, start string
		want       string // format of the start value
	}{
		{CursorInt, "", "0"},
		{CursorInt, "-5", "-5"},
		{CursorTime, "", "1900-01-01 00:00:00"},
		{CursorTime, "2026-01-02", "2026-01-02 00:00:00"},
		{CursorTime, "2026-01-02T10:30:00.1234567", "2026-01-02 10:30:00.1234567"},
		{CursorTime, "2026-01-02 10:30:00.000001", "2026-01-02 10:30:00.000001"},
		{CursorTime, "2026-01-02T10:30:00.5+01:00", "2026-01-02T10:30:00.5+01:00"},
		{CursorText, "", ""},
		{CursorText, "A-17", "A-17"},
		{CursorBinary, "", "0x0000000000000000"},
		{CursorBinary, "0x00000000000007d1", "0x00000000000007D1"},
		{CursorBinary, "07D1", "0x07D1"},
		{CursorBinary, "0x", "0x"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.start, func(t *testing.T) {
			c, err := newCursorCol(CursorColumn{Column: "c", Type: tt.typ, Start: tt.start})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.format(c.start); got != tt.want {
				t.Errorf("start %q formats as %q, want %q", tt.start, got, tt.want)
			}
			again, err := c.parse(c.format(c.start))
			if err != nil || !c.equal(again, c.start) {
				t.Errorf("the start does not read back: %v, %v", again, err)
			}
		})
	}
}

func TestCursorColumnErrors(t *testing.T) {
	tests := []struct {
		col  CursorColumn
		want string
	}{
		{CursorColumn{Column: "c", Type: "number"}, `unknown type "number"`},
		{CursorColumn{Column: "c", Type: CursorInt, Start: "1.5"}, `"1.5" is not a whole number`},
		{CursorColumn{Column: "c", Type: CursorTime, Start: "yesterday"}, `"yesterday" is not a date and time`},
		{CursorColumn{Column: "c", Type: CursorTime, Start: "31/12/2026"}, `"31/12/2026" is not a date and time`},
		{CursorColumn{Column: "c", Type: CursorBinary, Start: "0x7D1"}, `"0x7D1" is not hexadecimal bytes`},
		{CursorColumn{Column: "c", Type: CursorBinary, Start: "0xZZ"}, `"0xZZ" is not hexadecimal bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := newCursorCol(tt.col)
			mustContain(t, err, "cursor column c", tt.want)
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	cols := []cursorCol{{column: "updated_at", typ: CursorTime}, {column: "id", typ: CursorInt},
		{column: "code", typ: CursorText}, {column: "rv", typ: CursorBinary}}
	vals := []cval{
		{t: time.Date(2026, 3, 4, 5, 6, 7, 1200, time.UTC)},
		{i: -42},
		{s: "ü\"\\, x"},
		{b: []byte{0, 0, 0, 0, 0, 0, 0x07, 0xD1}},
	}
	cur := encodeCursor(cols, vals)
	want := `{"v":1,"columns":["updated_at","id","code","rv"],"last":["2026-03-04 05:06:07.0000012","-42","ü\"\\, x","0x00000000000007D1"]}`
	if string(cur) != want {
		t.Errorf("cursor %s, want %s", cur, want)
	}
	back, err := decodeCursor(cols, cur)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cols {
		if !cols[i].equal(back[i], vals[i]) {
			t.Errorf("column %s: %v back, want %v", cols[i].column, back[i], vals[i])
		}
	}
	if got := cursorText(cols, vals); got != `updated_at=2026-03-04 05:06:07.0000012,id=-42,code=ü"\, x,rv=0x00000000000007D1` {
		t.Errorf("cursorText %q", got)
	}
}

func TestDecodeCursorErrors(t *testing.T) {
	cols := []cursorCol{{column: "updated_at", typ: CursorTime}, {column: "id", typ: CursorInt}}
	tests := []struct {
		cur  string
		want string
	}{
		{"sha256:abc:12", "is not a SQL connector's cursor"},
		{`{"v":1,"columns":["updated_at","id"],"last":["2026-01-01 00:00:00","1"]} x`, "is not a SQL connector's cursor"},
		{`{"v":1,"columns":["updated_at","id"],"last":["2026-01-01 00:00:00","1"],"x":1}`, "is not a SQL connector's cursor"},
		{`{"v":2,"columns":["updated_at","id"],"last":["2026-01-01 00:00:00","1"]}`, "has version 2"},
		{`{"v":1,"columns":["rv"],"last":["0x01"]}`, "is for cursor columns rv, and the configuration names updated_at, id"},
		{`{"v":1,"columns":["id","updated_at"],"last":["1","2026-01-01 00:00:00"]}`, "is for cursor columns id, updated_at"},
		{`{"v":1,"columns":["updated_at","id"],"last":["2026-01-01 00:00:00"]}`, "is for cursor columns updated_at, id"},
		{`{"v":1,"columns":["updated_at","id"],"last":["2026-01-01 00:00:00","x"]}`, `column id: "x" is not a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := decodeCursor(cols, connectors.Cursor(tt.cur))
			mustContain(t, err, tt.want)
		})
	}
}

func TestCursorCompare(t *testing.T) {
	at := func(ns int) cval { return cval{t: time.Date(2026, 1, 1, 10, 0, 0, ns, time.UTC)} }
	tests := []struct {
		name   string
		typ    string
		a, b   cval
		n      int
		ok     bool
		sameAs bool
	}{
		{"int less", CursorInt, cval{i: 1}, cval{i: 2}, -1, true, false},
		{"int equal", CursorInt, cval{i: 7}, cval{i: 7}, 0, true, true},
		{"time 100ns apart", CursorTime, at(100), at(200), -1, true, false},
		{"time equal", CursorTime, at(1000), at(1000), 0, true, true},
		{"binary", CursorBinary, cval{b: []byte{0, 2}}, cval{b: []byte{0, 1}}, 1, true, false},
		{"text equal", CursorText, cval{s: "a"}, cval{s: "a"}, 0, true, true},
		{"text differs: order unknown", CursorText, cval{s: "a"}, cval{s: "B"}, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cursorCol{column: "c", typ: tt.typ}
			n, ok := c.compare(tt.a, tt.b)
			if n != tt.n || ok != tt.ok || c.equal(tt.a, tt.b) != tt.sameAs {
				t.Errorf("compare = %d, %v; equal = %v; want %d, %v, %v", n, ok, c.equal(tt.a, tt.b), tt.n, tt.ok, tt.sameAs)
			}
		})
	}
}

func TestCursorBind(t *testing.T) {
	wall := cval{t: time.Date(2026, 1, 2, 3, 4, 5, 1234500, time.UTC)}
	zoned := cval{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)), offset: true}
	tc := cursorCol{column: "u", typ: CursorTime}
	if got, ok := tc.bind(DriverSQLServer, wall).(civil.DateTime); !ok || got != civil.DateTimeOf(wall.t) {
		t.Errorf("SQL Server binds a wall-clock time as %#v, want the civil.DateTime (a datetime2)", tc.bind(DriverSQLServer, wall))
	}
	if got, ok := tc.bind(DriverSQLServer, zoned).(time.Time); !ok || !got.Equal(zoned.t) {
		t.Errorf("SQL Server binds a time with an offset as %#v, want the time.Time (a datetimeoffset)", tc.bind(DriverSQLServer, zoned))
	}
	if got, ok := tc.bind(DriverMySQL, wall).(time.Time); !ok || !got.Equal(wall.t) {
		t.Errorf("MySQL binds a time as %#v, want the time.Time", tc.bind(DriverMySQL, wall))
	}
	bc := cursorCol{column: "rv", typ: CursorBinary}
	if got, ok := bc.bind(DriverSQLServer, cval{b: []byte{1, 2}}).([]byte); !ok || !bytes.Equal(got, []byte{1, 2}) {
		t.Errorf("binary binds as %#v", got)
	}
}

func TestCursorFromDB(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		raw   any
		class typeClass
		want  string // formatted value, or the error's start
		err   bool
	}{
		{"int64", CursorInt, int64(42), classInt, "42", false},
		{"uint64", CursorInt, uint64(42), classInt, "42", false},
		{"uint64 too large", CursorInt, uint64(1 << 63), classInt, "holds 9223372036854775808 (uint64), which the int cursor type cannot read", true},
		{"numeric(18,0) text", CursorInt, []byte("1234"), classDecimal, "1234", false},
		{"NULL", CursorInt, nil, classInt, "is NULL", true},
		{"text for int", CursorInt, "abc", classText, `holds text "abc", which the int cursor type cannot read`, true},
		{"datetime2 in UTC", CursorTime, time.Date(2026, 1, 1, 10, 0, 0, 100, time.UTC), classDateTime, "2026-01-01 10:00:00.0000001", false},
		{"wall clock kept whatever the zone", CursorTime, time.Date(2026, 1, 1, 10, 0, 0, 0, time.FixedZone("", 7200)), classDateTime, "2026-01-01 10:00:00", false},
		{"datetimeoffset", CursorTime, time.Date(2026, 1, 1, 10, 0, 0, 0, time.FixedZone("", 7200)), classOffset, "2026-01-01T10:00:00+02:00", false},
		{"string for time", CursorTime, "2026-01-01", classText, `holds text "2026-01-01", which the time cursor type cannot read`, true},
		{"nvarchar", CursorText, "A-1", classText, "A-1", false},
		{"varchar bytes", CursorText, []byte("A-1"), classText, "A-1", false},
		{"rowversion", CursorBinary, []byte{0, 0, 0, 0, 0, 0, 7, 0xD1}, classBinary, "0x00000000000007D1", false},
		{"text for binary", CursorBinary, []byte("abc"), classText, "holds bytes 0x616263, which the binary cursor type cannot read", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cursorCol{column: "c", typ: tt.typ}
			v, err := c.fromDB(tt.raw, tt.class)
			if tt.err {
				mustContain(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.format(v); got != tt.want {
				t.Errorf("%v reads as %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}
