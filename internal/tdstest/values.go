package tdstest

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// Storage forms in SQLite: fixed-width text that sorts like the value.
const (
	layoutDateTime = "2006-01-02 15:04:05.0000000"
	layoutDate     = "2006-01-02"
	layoutTime     = "15:04:05.0000000"
)

// formatStorage renders t (wall clock, UTC) in the storage form of k.
func formatStorage(k kind, t time.Time) string {
	switch k {
	case kDate:
		return t.Format(layoutDate)
	case kTime:
		return t.Format(layoutTime)
	}
	return t.Format(layoutDateTime)
}

// parseTimeText reads a date/time in the forms SQL Server takes without
// a style: "2024-01-15", "20240115", "2024-01-15 10:00", "2024-01-15T10:00:00.1234567",
// each optionally followed by "Z" or an offset "+01:00", or a bare time
// "10:00:00" (on 1900-01-01). With an offset the result is in a fixed
// zone and zoned is true; without, it is wall clock in UTC.
func parseTimeText(s string) (t time.Time, zoned bool, err error) {
	orig := s
	s = strings.TrimSpace(s)
	bad := func() (time.Time, bool, error) {
		return time.Time{}, false, errorf(errDateConversion, "Conversion failed when converting date and/or time from character string '%s'.", orig)
	}
	digits := func(p string) bool {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
		return true
	}
	atoi := func(p string) int { n, _ := strconv.Atoi(p); return n }
	year, month, day := 1900, 1, 1
	rest := s
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-' && digits(s[:4]) && digits(s[5:7]) && digits(s[8:10]):
		year, month, day = atoi(s[:4]), atoi(s[5:7]), atoi(s[8:10])
		rest = s[10:]
	case len(s) >= 8 && digits(s[:8]) && (len(s) == 8 || s[8] == ' ' || s[8] == 'T'):
		year, month, day = atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8])
		rest = s[8:]
	case strings.Contains(s, ":"):
		// a bare time
	default:
		return bad()
	}
	if rest != "" && rest != s {
		if rest[0] != ' ' && rest[0] != 'T' {
			return bad()
		}
		rest = strings.TrimLeft(rest[1:], " ")
	}
	hour, minute, sec, nsec := 0, 0, 0, 0
	if rest != "" {
		// hh:mm[:ss[.fffffff]]
		colon := strings.IndexByte(rest, ':')
		if colon < 1 || colon > 2 || !digits(rest[:colon]) || len(rest) < colon+3 || !digits(rest[colon+1:colon+3]) {
			return bad()
		}
		hour, minute = atoi(rest[:colon]), atoi(rest[colon+1:colon+3])
		rest = rest[colon+3:]
		if len(rest) >= 3 && rest[0] == ':' && digits(rest[1:3]) {
			sec = atoi(rest[1:3])
			rest = rest[3:]
			if len(rest) > 0 && rest[0] == '.' {
				j := 1
				for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
					j++
				}
				frac := rest[1:j]
				if frac == "" || len(frac) > 9 {
					return bad()
				}
				nsec = atoi(frac + strings.Repeat("0", 9-len(frac)))
				rest = rest[j:]
			}
		}
	}
	loc := time.UTC
	rest = strings.TrimLeft(rest, " ")
	switch {
	case rest == "":
	case rest == "Z":
		zoned = true
	case (rest[0] == '+' || rest[0] == '-') && len(rest) >= 5:
		zone := strings.Replace(rest[1:], ":", "", 1)
		if len(zone) != 4 || !digits(zone) {
			return bad()
		}
		off := (atoi(zone[:2])*60 + atoi(zone[2:])) * 60
		if off > 14*3600 {
			return bad()
		}
		if rest[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
		zoned = true
	default:
		return bad()
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return bad()
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), zoned, nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// toTime converts a value read from SQLite (the storage text, normally)
// to a wall clock in UTC, as a column of kind k holds it. An offset in
// the text is applied for datetimeoffset and dropped for the others, as
// SQL Server converts.
func toTime(k kind, v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		if k == kDateTimeOffset {
			return x.UTC(), nil
		}
		return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC), nil
	case string:
		t, zoned, err := parseTimeText(x)
		if err != nil {
			return time.Time{}, err
		}
		if zoned && k == kDateTimeOffset {
			return t.UTC(), nil
		}
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), nil
	case []byte:
		return toTime(k, string(x))
	}
	return time.Time{}, errorf(errConversion, "Conversion failed when converting the %s value '%v' to a date and/or time.", valueTypeName(v), v)
}

// roundTime rounds t to the precision of a column of type t: scale
// digits of a second, 1/300 s for datetime, the minute for smalldatetime,
// the day for date.
func roundTime(typ sqlType, t time.Time) time.Time {
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	ns := int64(t.Sub(midnight))
	switch typ.kind {
	case kDate:
		return midnight
	case kDateTime:
		if typ.size == 4 {
			// 29.998 s rounds down, 29.999 s up, as SQL Server does
			return midnight.Add(time.Duration((ns + 30001e6) / 60e9 * 60e9))
		}
		ticks := (ns*3 + 5e6) / 1e7 // 1/300 s, rounded
		return midnight.Add(time.Duration(ticks * 1e7 / 3 / 100 * 100))
	}
	unit := int64(math.Pow10(9 - typ.scale))
	return midnight.Add(time.Duration((ns + unit/2) / unit * unit))
}

// normalizeTime returns v in the storage form of a column of type typ,
// rounded to its precision. It backs the tds_norm SQL function.
func normalizeTime(typ sqlType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	t, err := toTime(typ.kind, v)
	if err != nil {
		return nil, err
	}
	t = roundTime(typ, t)
	if typ.kind == kTime {
		t = time.Date(1900, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	}
	if err := checkTimeRange(typ, t); err != nil {
		return nil, err
	}
	return formatStorage(typ.kind, t), nil
}

func checkTimeRange(typ sqlType, t time.Time) error {
	lo, hi := 1, 9999
	if typ.kind == kDateTime {
		lo = 1753
		if typ.size == 4 {
			lo, hi = 1900, 2079
		}
	}
	if t.Year() < lo || t.Year() > hi || (typ.kind == kDateTime && typ.size == 4 && t.After(time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC))) {
		return errorf(errDateRange, "The conversion to %s resulted in an out-of-range value: %s.", typ, t.Format(layoutDateTime))
	}
	return nil
}

// daysSince0001 counts days from 0001-01-01 (proleptic Gregorian).
func daysSince0001(t time.Time) int {
	y := t.Year() - 1
	return y*365 + y/4 - y/100 + y/400 + t.YearDay() - 1
}

func nanosOfDay(t time.Time) int64 {
	return int64(t.Hour())*3600e9 + int64(t.Minute())*60e9 + int64(t.Second())*1e9 + int64(t.Nanosecond())
}

// appendTimePart appends the time-of-day of t in 10^-scale s units.
func appendTimePart(b []byte, t time.Time, scale int) []byte {
	ticks := uint64(nanosOfDay(t) / int64(math.Pow10(9-scale)))
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], ticks)
	return append(b, buf[:timeSize(scale)]...)
}

func appendDatePart(b []byte, t time.Time) []byte {
	d := daysSince0001(t)
	return append(b, byte(d), byte(d>>8), byte(d>>16))
}

// scaledDecimal returns v*10^scale rounded half away from zero.
func scaledDecimal(v any, scale int) (*big.Int, error) {
	switch x := v.(type) {
	case int64:
		n := big.NewInt(x)
		return n.Mul(n, pow10(scale)), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errorf(errNumericConvert, "Error converting data type float to numeric: %v.", x)
		}
		if n, ok := parseDecimalText(strconv.FormatFloat(x, 'f', -1, 64), scale); ok {
			return n, nil
		}
	case bool:
		if x {
			return scaledDecimal(int64(1), scale)
		}
		return scaledDecimal(int64(0), scale)
	case string:
		if n, ok := parseDecimalText(x, scale); ok {
			return n, nil
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return scaledDecimal(f, scale)
		}
		return nil, errorf(errNumericConvert, "Error converting data type nvarchar to numeric: '%s'.", x)
	}
	return nil, errorf(errNumericConvert, "Error converting data type %s to numeric.", valueTypeName(v))
}

// parseDecimalText reads [sign]digits[.digits] and rounds it to scale.
func parseDecimalText(s string, scale int) (*big.Int, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return nil, false
	}
	for _, p := range []string{intPart, frac} {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return nil, false
			}
		}
	}
	roundUp := false
	if len(frac) > scale {
		roundUp = frac[scale] >= '5'
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", scale-len(frac))
	n, ok := new(big.Int).SetString("0"+intPart+frac, 10)
	if !ok {
		return nil, false
	}
	if roundUp {
		n.Add(n, big.NewInt(1))
	}
	if neg {
		n.Neg(n)
	}
	return n, true
}

// formatDecimal renders an unscaled value with scale digits.
func formatDecimal(n *big.Int, scale int) string {
	s := new(big.Int).Abs(n).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if n.Sign() < 0 {
		s = "-" + s
	}
	return s
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// normalizeDecimal rounds v to scale and returns it as SQLite stores a
// NUMERIC: an integer when it is one, else a float. It backs tds_norm.
func normalizeDecimal(typ sqlType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	n, err := scaledDecimal(v, typ.scale)
	if err != nil {
		return nil, err
	}
	if err := checkDecimalRange(typ, n); err != nil {
		return nil, err
	}
	q, r := new(big.Int).QuoRem(n, pow10(typ.scale), new(big.Int))
	if r.Sign() == 0 && q.IsInt64() {
		return q.Int64(), nil
	}
	f, err := strconv.ParseFloat(formatDecimal(n, typ.scale), 64)
	if err != nil {
		return nil, errorf(errOverflow, "Arithmetic overflow error converting expression to data type %s.", typ)
	}
	return f, nil
}

func checkDecimalRange(typ sqlType, n *big.Int) error {
	switch typ.kind {
	case kMoney:
		lim := int64(math.MaxInt64)
		if typ.size == 4 {
			lim = math.MaxInt32
		}
		if !n.IsInt64() || n.Int64() > lim || n.Int64() < -lim-1 {
			return errorf(errOverflow, "Arithmetic overflow error converting expression to data type %s.", typ)
		}
	case kDecimal:
		if new(big.Int).Abs(n).Cmp(pow10(typ.prec)) >= 0 {
			return errorf(errOverflow, "Arithmetic overflow error converting numeric to data type %s.", typ)
		}
	}
	return nil
}

func valueTypeName(v any) string {
	switch v.(type) {
	case int64:
		return "bigint"
	case float64:
		return "float"
	case string:
		return "nvarchar"
	case []byte:
		return "varbinary"
	case time.Time:
		return "datetime2"
	case bool:
		return "bit"
	}
	return fmt.Sprintf("%T", v)
}

func toInt64(v any, typ sqlType) (int64, error) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case bool:
		if x {
			n = 1
		}
	case float64:
		if math.IsNaN(x) || x >= 9.3e18 || x <= -9.3e18 {
			return 0, errorf(errOverflow, "Arithmetic overflow error converting float to data type %s.", typ)
		}
		n = int64(x) // SQL Server truncates toward zero
	case string:
		s := strings.TrimSpace(x)
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, errorf(errConversion, "Conversion failed when converting the nvarchar value '%s' to data type %s.", x, strings.ToLower(typ.String()))
		}
		n = i
	default:
		return 0, errorf(errConversion, "Conversion failed when converting the %s value to data type %s.", valueTypeName(v), strings.ToLower(typ.String()))
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch typ.size {
	case 1:
		lo, hi = 0, 255
	case 2:
		lo, hi = math.MinInt16, math.MaxInt16
	case 4:
		lo, hi = math.MinInt32, math.MaxInt32
	}
	if n < lo || n > hi {
		return 0, errorf(errOverflow, "Arithmetic overflow error converting expression to data type %s.", strings.ToLower(typ.String()))
	}
	return n, nil
}

func toFloat64(v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err == nil {
			return f, nil
		}
		return 0, errorf(errNumericConvert, "Error converting data type nvarchar to float: '%s'.", x)
	}
	return 0, errorf(errNumericConvert, "Error converting data type %s to float.", valueTypeName(v))
}

// toText renders a value the way SQL Server converts it to a string.
func toText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []byte:
		return string(x)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case time.Time:
		return x.Format(layoutDateTime)
	}
	return fmt.Sprint(v)
}

func toBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	case int64:
		return binary.BigEndian.AppendUint64(nil, uint64(x))
	case float64:
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(x))
	case bool:
		if x {
			return []byte{1}
		}
		return []byte{0}
	}
	return []byte(fmt.Sprint(v))
}

var cp1252 = charmap.Windows1252

// encodeCP1252 converts s to code page 1252; characters it lacks become
// '?', as SQL Server stores them in a Latin1 varchar.
func encodeCP1252(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := cp1252.EncodeRune(r); ok {
			out = append(out, b)
		} else {
			out = append(out, '?')
		}
	}
	return out
}

func decodeCP1252(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(cp1252.DecodeByte(c))
	}
	return sb.String()
}

// guidBytes parses 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX' (braces
// allowed) into SQL Server's byte order: the first three groups little
// endian.
func guidBytes(s string) ([]byte, error) {
	h := strings.Trim(strings.TrimSpace(s), "{}")
	if len(h) != 36 || h[8] != '-' || h[13] != '-' || h[18] != '-' || h[23] != '-' {
		return nil, errorf(errConversion, "Conversion failed when converting from a character string to uniqueidentifier: '%s'.", s)
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(h, "-", ""))
	if err != nil {
		return nil, errorf(errConversion, "Conversion failed when converting from a character string to uniqueidentifier: '%s'.", s)
	}
	raw[0], raw[1], raw[2], raw[3] = raw[3], raw[2], raw[1], raw[0]
	raw[4], raw[5] = raw[5], raw[4]
	raw[6], raw[7] = raw[7], raw[6]
	return raw, nil
}

// guidText is the inverse of guidBytes, upper case as SQL Server shows it.
func guidText(b []byte) string {
	c := append([]byte(nil), b...)
	c[0], c[1], c[2], c[3] = c[3], c[2], c[1], c[0]
	c[4], c[5] = c[5], c[4]
	c[6], c[7] = c[7], c[6]
	h := strings.ToUpper(hex.EncodeToString(c))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// appendValue appends v, as read from SQLite, in the ROW format of a
// column of type typ. NULL is the type's null marker.
func (t sqlType) appendValue(b []byte, v any) ([]byte, error) {
	plp := t.size == maxLength && (t.kind == kNVarChar || t.kind == kVarChar || t.kind == kVarBinary)
	if v == nil {
		switch {
		case plp:
			return binary.LittleEndian.AppendUint64(b, 0xffffffffffffffff), nil
		case t.kind == kNVarChar || t.kind == kVarChar || t.kind == kVarBinary:
			return binary.LittleEndian.AppendUint16(b, 0xffff), nil
		}
		return append(b, 0), nil
	}
	switch t.kind {
	case kInt:
		n, err := toInt64(v, t)
		if err != nil {
			return b, err
		}
		b = append(b, byte(t.size))
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], uint64(n))
		return append(b, buf[:t.size]...), nil
	case kBit:
		var on bool
		switch x := v.(type) {
		case string:
			switch strings.ToUpper(strings.TrimSpace(x)) {
			case "TRUE":
				on = true
			case "FALSE":
			default:
				f, err := toFloat64(x)
				if err != nil {
					return b, errorf(errConversion, "Conversion failed when converting the nvarchar value '%s' to data type bit.", x)
				}
				on = f != 0
			}
		default:
			f, err := toFloat64(v)
			if err != nil {
				return b, err
			}
			on = f != 0
		}
		if on {
			return append(b, 1, 1), nil
		}
		return append(b, 1, 0), nil
	case kDecimal:
		n, err := scaledDecimal(v, t.scale)
		if err != nil {
			return b, err
		}
		if err := checkDecimalRange(t, n); err != nil {
			return b, err
		}
		size := decimalSize(t.prec)
		b = append(b, byte(size))
		if n.Sign() < 0 {
			b = append(b, 0)
		} else {
			b = append(b, 1)
		}
		mag := new(big.Int).Abs(n).Bytes() // big endian
		le := make([]byte, size-1)
		for i := range mag {
			le[i] = mag[len(mag)-1-i]
		}
		return append(b, le...), nil
	case kMoney:
		n, err := scaledDecimal(v, 4)
		if err != nil {
			return b, err
		}
		if err := checkDecimalRange(t, n); err != nil {
			return b, err
		}
		m := n.Int64()
		if t.size == 4 {
			b = append(b, 4)
			return binary.LittleEndian.AppendUint32(b, uint32(int32(m))), nil
		}
		b = append(b, 8)
		b = binary.LittleEndian.AppendUint32(b, uint32(uint64(m)>>32))
		return binary.LittleEndian.AppendUint32(b, uint32(m)), nil
	case kFloat:
		f, err := toFloat64(v)
		if err != nil {
			return b, err
		}
		if t.size == 4 {
			b = append(b, 4)
			return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(f))), nil
		}
		b = append(b, 8)
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(f)), nil
	case kDateTime2, kDateTime, kDate, kTime, kDateTimeOffset:
		tm, err := toTime(t.kind, v)
		if err != nil {
			return b, err
		}
		tm = roundTime(t, tm)
		if err := checkTimeRange(t, tm); err != nil && t.kind != kTime {
			return b, err
		}
		switch t.kind {
		case kDateTime2:
			b = append(b, byte(timeSize(t.scale)+3))
			b = appendTimePart(b, tm, t.scale)
			return appendDatePart(b, tm), nil
		case kDateTimeOffset:
			b = append(b, byte(timeSize(t.scale)+5))
			b = appendTimePart(b, tm, t.scale)
			b = appendDatePart(b, tm)
			return append(b, 0, 0), nil // stored as UTC: offset +00:00
		case kDate:
			b = append(b, 3)
			return appendDatePart(b, tm), nil
		case kTime:
			b = append(b, byte(timeSize(t.scale)))
			return appendTimePart(b, tm, t.scale), nil
		}
		days := daysSince0001(tm) - daysSince0001(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))
		if t.size == 4 {
			b = append(b, 4)
			b = binary.LittleEndian.AppendUint16(b, uint16(days))
			return binary.LittleEndian.AppendUint16(b, uint16(tm.Hour()*60+tm.Minute())), nil
		}
		ticks := (nanosOfDay(tm)*3 + 5e6) / 1e7
		b = append(b, 8)
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(days)))
		return binary.LittleEndian.AppendUint32(b, uint32(ticks)), nil
	case kGUID:
		var raw []byte
		switch x := v.(type) {
		case []byte:
			if len(x) != 16 {
				return b, errorf(errConversion, "Conversion failed when converting a %d-byte binary to uniqueidentifier.", len(x))
			}
			raw = x
		default:
			g, err := guidBytes(toText(v))
			if err != nil {
				return b, err
			}
			raw = g
		}
		b = append(b, 16)
		return append(b, raw...), nil
	case kNVarChar, kVarChar, kVarBinary:
		var data []byte
		switch t.kind {
		case kNVarChar:
			s := toText(v)
			if t.size != maxLength {
				s = cutUCS2(s, t.size)
				if t.fixed {
					s += strings.Repeat(" ", t.size-ucs2Len(s))
				}
			}
			data = appendUCS2(nil, s)
		case kVarChar:
			data = encodeCP1252(toText(v))
			if t.size != maxLength {
				if len(data) > t.size {
					data = data[:t.size]
				}
				for t.fixed && len(data) < t.size {
					data = append(data, ' ')
				}
			}
		default:
			data = toBytes(v)
			if t.size != maxLength {
				if len(data) > t.size {
					data = data[:t.size]
				}
				if t.fixed && len(data) < t.size {
					data = append(data, make([]byte, t.size-len(data))...)
				}
			}
		}
		if !plp {
			b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
			return append(b, data...), nil
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
		if len(data) > 0 {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
			b = append(b, data...)
		}
		return binary.LittleEndian.AppendUint32(b, 0), nil
	}
	return b, fmt.Errorf("tdstest: appendValue of kind %d", t.kind)
}
