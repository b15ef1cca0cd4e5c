package sqlsource

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/mapping"
)

// driverDecimal tells whether s is written as drivers write DECIMAL
// values: an optional minus, digits, optionally a point and digits.
func driverDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, point := strings.Cut(s, ".")
	return whole != "" && strings.Trim(whole, "0123456789") == "" && (!point || (frac != "" && strings.Trim(frac, "0123456789") == ""))
}

// FuzzFieldText runs what a database hands over through fieldText and
// the connector's own Mapper, as a fetch does: an exact decimal in a
// money, points or quantity field is either refused for its decimals
// (exactly when it has more than the field keeps) or read as its exact
// value, or refused by the mapping with the field named (negative or too
// large); a date and time reads back as the instant, the wall-clock time
// or the day the column held.
func FuzzFieldText(f *testing.F) {
	for _, s := range []string{"12345.6700", "0.10", "-0.0100", "99999999.99", "12.5000", "7", "0.001", "1.5", "000.000",
		"100000000000000000000", "-3", "12.345"} {
		f.Add(s, uint8(0), false, int64(1768467600123456789))
		f.Add(s, uint8(1), true, int64(-1))
		f.Add(s, uint8(2), false, int64(7258118400000000000))
	}
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		f.Fatal(err)
	}
	o := orderOptions()
	o.Mapping.Location = loc
	src, err := New(o)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { src.Close() })
	amountSrc := func() *Source {
		o := orderOptions()
		o.Mapping.Location, o.Mapping.Amount = loc, true
		s, err := New(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { s.Close() })
		return s
	}()
	f.Fuzz(func(t *testing.T, raw string, pick uint8, amount bool, nanos int64) {
		// The number, in the field pick chooses.
		field := []string{"gross", "points_spent", "quantity"}[int(pick)%3]
		kind := map[string]mapping.Kind{"gross": mapping.KindMoney, "points_spent": mapping.KindPoints, "quantity": mapping.KindQuantity}[field]
		s := src
		if amount {
			s = amountSrc
		}
		places := decimalsAllowed(kind, amount)
		// The instant, in the column class pick chooses.
		class := []typeClass{classDateTime, classOffset, classDate}[int(pick/3)%3]
		at := time.Unix(0, nanos).In(time.FixedZone("", int(pick)%29*1800-14*3600))
		placed, ok, bad := fieldText(at, class, mapping.KindTime, false)
		if !ok || bad != nil {
			t.Fatalf("time %v read as %q, %v, %+v", at, placed, ok, bad)
		}
		var want time.Time
		switch class {
		case classOffset:
			want = at
		case classDateTime:
			want = time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute(), at.Second(), at.Nanosecond(), loc)
		case classDate:
			want = time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, loc)
		}

		vals := map[string]string{"order": "W1", "customer": "42", "placed_at": placed, "status": "paid", "gross": "1"}
		exact := new(big.Rat)
		number := driverDecimal(raw)
		if number {
			text, ok, bad := fieldText([]byte(raw), classDecimal, kind, amount)
			exact.SetString(raw)
			scaled := new(big.Rat).Mul(exact, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)))
			if !ok || (bad != nil) != !scaled.IsInt() {
				t.Fatalf("%s %q (%d decimals kept): %q, %v, %+v", field, raw, places, text, ok, bad)
			}
			if bad != nil {
				if bad.value != raw || bad.reason == "" {
					t.Fatalf("%s %q refused as %+v", field, raw, bad)
				}
				number = false
			} else {
				vals[field] = text
				exact = scaled
			}
		}
		m := s.newMapper()
		items := append(m.Add(mapping.Record{Seq: 1, Origin: "q", Values: vals}), m.Flush()...)
		if len(items) != 1 {
			t.Fatalf("%d items for one row", len(items))
		}
		it := items[0]
		inRange := want.Year() >= 2000 && want.Year() <= 2200
		if it.Err != nil {
			// A value that reads is refused by the fact's own checks, its
			// field named in the reason.
			if it.Err.Reason == "" || it.Err.Column == "" && !strings.Contains(it.Err.Reason, field) {
				t.Fatalf("row %v refused without naming the field: %+v", vals, it.Err)
			}
			if it.Err.Column == "placed_at" && inRange {
				t.Fatalf("placed_at %q (%v) refused: %s", placed, want, it.Err.Reason)
			}
			if it.Err.Column == field && number && exact.Sign() >= 0 && exact.Num().IsInt64() && exact.Num().Int64() < 1e12 {
				t.Fatalf("%s %q refused: %s", field, raw, it.Err.Reason)
			}
			return
		}
		o := it.Fact.Order
		if !inRange || !o.PlacedAt.Equal(want) {
			t.Fatalf("placed_at %q read as %v, the column held %v", placed, o.PlacedAt, want)
		}
		if !number {
			return
		}
		got := map[string]int64{"gross": o.Lines[0].Gross, "points_spent": o.PointsSpent, "quantity": o.Lines[0].Quantity}[field]
		if !exact.IsInt() || !exact.Num().IsInt64() || got != exact.Num().Int64() {
			t.Fatalf("%s %q read as %d, its value is %s", field, raw, got, exact.FloatString(0))
		}
	})
}
