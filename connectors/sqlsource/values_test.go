package sqlsource

import (
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/mapping"
)

func TestFieldText(t *testing.T) {
	at := time.Date(2026, 1, 15, 10, 30, 5, 123400000, time.UTC)
	tests := []struct {
		name   string
		raw    any
		class  typeClass
		kind   mapping.Kind
		amount bool
		want   string
		null   bool
		bad    string // the start of the bad value's reason
	}{
		{name: "NULL", raw: nil, class: classDecimal, kind: mapping.KindMoney, null: true},
		{name: "bigint", raw: int64(-9007199254740993), class: classInt, kind: mapping.KindText, want: "-9007199254740993"},
		{name: "unsigned bigint", raw: uint64(18446744073709551615), class: classInt, kind: mapping.KindText, want: "18446744073709551615"},
		{name: "int32", raw: int32(7), class: classInt, kind: mapping.KindQuantity, want: "7"},
		{name: "bit true", raw: true, class: classBool, kind: mapping.KindFlag, want: "1"},
		{name: "bit false", raw: false, class: classBool, kind: mapping.KindFlag, want: "0"},
		{name: "mysql bit(1)", raw: []byte{1}, class: classBits, kind: mapping.KindFlag, want: "1"},
		{name: "mysql bit(16)", raw: []byte{1, 0}, class: classBits, kind: mapping.KindText, want: "256"},
		{name: "money 4 decimals to cents", raw: []byte("12.5000"), class: classDecimal, kind: mapping.KindMoney, want: "12.5"},
		{name: "money whole", raw: []byte("-3.0000"), class: classDecimal, kind: mapping.KindMoney, want: "-3"},
		{name: "money 0.10", raw: []byte("0.10"), class: classDecimal, kind: mapping.KindMoney, want: "0.1"},
		{name: "money -0.01", raw: []byte("-0.01"), class: classDecimal, kind: mapping.KindMoney, want: "-0.01"},
		{name: "money largest", raw: []byte("99999999.99"), class: classDecimal, kind: mapping.KindMoney, want: "99999999.99"},
		{name: "money below cents", raw: []byte("12345.6789"), class: classDecimal, kind: mapping.KindMoney, want: "12345.6789",
			bad: "has 4 decimals and the field is read exactly to cents: round it in the query"},
		{name: "decimal string", raw: "1.50", class: classDecimal, kind: mapping.KindMoney, want: "1.5"},
		{name: "points whole", raw: []byte("150.00"), class: classDecimal, kind: mapping.KindPoints, want: "150"},
		{name: "points with decimals", raw: []byte("150.50"), class: classDecimal, kind: mapping.KindPoints, want: "150.5",
			bad: "has 1 decimals and the field is read exactly to whole points"},
		{name: "amount points are cents", raw: []byte("6.38"), class: classDecimal, kind: mapping.KindPoints, amount: true, want: "6.38"},
		{name: "quantity thousandths", raw: []byte("0.2500"), class: classDecimal, kind: mapping.KindQuantity, want: "0.25"},
		{name: "quantity too fine", raw: []byte("0.0001"), class: classDecimal, kind: mapping.KindQuantity, want: "0.0001",
			bad: "has 4 decimals and the field is read exactly to at most 3 decimals"},
		{name: "decimal in a text field as given", raw: []byte("12.00"), class: classDecimal, kind: mapping.KindText, want: "12.00"},
		{name: "float in money", raw: float64(12.3), class: classFloat, kind: mapping.KindMoney, want: "12.3",
			bad: "is a floating-point column (FLOAT, REAL or DOUBLE), which loses cents: cast it to DECIMAL"},
		{name: "float in points", raw: float32(10), class: classFloat, kind: mapping.KindPoints, want: "10", bad: "is a floating-point column"},
		{name: "float in quantity", raw: float64(0.5), class: classFloat, kind: mapping.KindQuantity, want: "0.5", bad: "is a floating-point column"},
		{name: "float in text", raw: float64(1234), class: classFloat, kind: mapping.KindText, want: "1234"},
		{name: "float no exponent", raw: float64(1e21), class: classFloat, kind: mapping.KindText, want: "1000000000000000000000"},
		{name: "datetime2", raw: at, class: classDateTime, kind: mapping.KindTime, want: "2026-01-15 10:30:05.1234"},
		{name: "datetime whole seconds", raw: at.Truncate(time.Second), class: classDateTime, kind: mapping.KindTime, want: "2026-01-15 10:30:05"},
		{name: "datetimeoffset", raw: at.In(time.FixedZone("", 3600)), class: classOffset, kind: mapping.KindTime, want: "2026-01-15T11:30:05.1234+01:00"},
		{name: "date", raw: at.Truncate(24 * time.Hour), class: classDate, kind: mapping.KindTime, want: "2026-01-15"},
		{name: "time of day", raw: at, class: classClock, kind: mapping.KindText, want: "10:30:05.1234"},
		{name: "mysql zero date", raw: time.Time{}, class: classDateTime, kind: mapping.KindTime, null: true},
		{name: "nvarchar", raw: "Müller", class: classText, kind: mapping.KindText, want: "Müller"},
		{name: "varchar bytes", raw: []byte("W-1001"), class: classText, kind: mapping.KindText, want: "W-1001"},
		{name: "varbinary", raw: []byte{0xCA, 0xFE}, class: classBinary, kind: mapping.KindText, want: "0xCAFE"},
		{name: "uniqueidentifier", raw: []byte{0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0},
			class: classGUID, kind: mapping.KindText, want: "12345678-1234-5678-1234-56789ABCDEF0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, bad := fieldText(tt.raw, tt.class, tt.kind, tt.amount)
			if ok == tt.null {
				t.Fatalf("ok = %v for %v", ok, tt.raw)
			}
			if got != tt.want {
				t.Errorf("text %q, want %q", got, tt.want)
			}
			switch {
			case tt.bad == "" && bad != nil:
				t.Errorf("refused: %s", bad.reason)
			case tt.bad != "" && bad == nil:
				t.Errorf("accepted, want refused with %q", tt.bad)
			case bad != nil && (len(bad.reason) < len(tt.bad) || bad.reason[:len(tt.bad)] != tt.bad):
				t.Errorf("reason %q, want it to start with %q", bad.reason, tt.bad)
			}
		})
	}
}

// TestDecimalsReadToCents runs the texts fieldText writes through a
// Mapper: exact decimals become the right cents.
func TestDecimalsReadToCents(t *testing.T) {
	tests := []struct {
		raw   string
		cents int64
		err   string // a line's gross may not be negative: the fact's error shows the value read
	}{
		{raw: "12345.6700", cents: 1234567},
		{raw: "0.10", cents: 10},
		{raw: "-0.0100", err: "gross -0.01 is negative"},
		{raw: "99999999.99", cents: 9999999999},
		{raw: "12.5000", cents: 1250},
		{raw: "7", cents: 700},
	}
	s := newSource(t, nil)
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			gross, ok, bad := fieldText([]byte(tt.raw), classDecimal, mapping.KindMoney, false)
			if !ok || bad != nil {
				t.Fatalf("%q refused", tt.raw)
			}
			m := s.newMapper()
			items := m.Add(mapping.Record{Seq: 1, Origin: "t", Values: map[string]string{
				"order": "W1", "customer": "42", "placed_at": "2026-01-15 10:00:00", "status": "paid", "gross": gross,
			}})
			items = append(items, m.Flush()...)
			if tt.err != "" {
				if len(items) != 1 || items[0].Err == nil || !strings.Contains(items[0].Err.Reason, tt.err) {
					t.Fatalf("items %v, want an error saying %q", summary(items), tt.err)
				}
				return
			}
			if len(items) != 1 || items[0].Fact == nil {
				t.Fatalf("items %v", summary(items))
			}
			if got := items[0].Fact.Order.Lines[0].Gross; got != tt.cents {
				t.Errorf("gross %q is %d cents, want %d", tt.raw, got, tt.cents)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		driver, dbType string
		want           typeClass
	}{
		{DriverSQLServer, "BIGINT", classInt},
		{DriverSQLServer, "BIT", classBool},
		{DriverSQLServer, "MONEY", classDecimal},
		{DriverSQLServer, "SMALLMONEY", classDecimal},
		{DriverSQLServer, "DECIMAL", classDecimal},
		{DriverSQLServer, "FLOAT", classFloat},
		{DriverSQLServer, "REAL", classFloat},
		{DriverSQLServer, "DATETIME2", classDateTime},
		{DriverSQLServer, "SMALLDATETIME", classDateTime},
		{DriverSQLServer, "DATETIMEOFFSET", classOffset},
		{DriverSQLServer, "DATE", classDate},
		{DriverSQLServer, "TIME", classClock},
		{DriverSQLServer, "NVARCHAR", classText},
		{DriverSQLServer, "BINARY", classBinary},
		{DriverSQLServer, "TIMESTAMP", classBinary},
		{DriverSQLServer, "UNIQUEIDENTIFIER", classGUID},
		{DriverSQLServer, "SQL_VARIANT", classOther},
		{DriverMySQL, "UNSIGNED BIGINT", classInt},
		{DriverMySQL, "YEAR", classInt},
		{DriverMySQL, "BIT", classBits},
		{DriverMySQL, "DECIMAL", classDecimal},
		{DriverMySQL, "DOUBLE", classFloat},
		{DriverMySQL, "TIMESTAMP", classDateTime},
		{DriverMySQL, "DATETIME", classDateTime},
		{DriverMySQL, "VARCHAR", classText},
		{DriverMySQL, "LONGTEXT", classText},
		{DriverMySQL, "VARBINARY", classBinary},
		{DriverMySQL, "BLOB", classBinary},
		{DriverMySQL, "GEOMETRY", classOther},
		{DriverMySQL, "", classOther},
	}
	for _, tt := range tests {
		if got := classify(tt.driver, tt.dbType); got != tt.want {
			t.Errorf("classify(%s, %q) = %d, want %d", tt.driver, tt.dbType, got, tt.want)
		}
	}
}
