package tdstest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// allHeaders is what tdstest reads of ALL_HEADERS (MS-TDS 2.2.5.3).
type allHeaders struct {
	transaction uint64 // the descriptor from the transaction descriptor header
}

// parseAllHeaders reads the ALL_HEADERS block that starts SQL batches,
// RPC and transaction manager requests.
func parseAllHeaders(r *reader) (allHeaders, error) {
	var h allHeaders
	start := r.off
	total := int(r.u32("ALL_HEADERS TotalLength"))
	if r.err != nil {
		return h, r.err
	}
	if total < 4 || total > len(r.b)-start {
		return h, fmt.Errorf("ALL_HEADERS declares %d bytes, %d available", total, len(r.b)-start)
	}
	end := start + total
	for r.off < end {
		hstart := r.off
		n := int(r.u32("header length"))
		typ := r.u16("header type")
		if r.err != nil {
			return h, r.err
		}
		if n < 6 || hstart+n > end {
			return h, fmt.Errorf("ALL_HEADERS: header of type %d declares %d bytes, %d left", typ, n, end-hstart)
		}
		body := r.take("header data", n-6)
		if typ == 2 && len(body) >= 8 {
			h.transaction = binary.LittleEndian.Uint64(body)
		}
	}
	return h, r.err
}

// parseSQLBatch decodes a SQL batch: ALL_HEADERS, then UCS-2 text.
func parseSQLBatch(data []byte) (string, allHeaders, error) {
	r := &reader{b: data}
	h, err := parseAllHeaders(r)
	if err != nil {
		return "", h, fmt.Errorf("SQL batch: %w", err)
	}
	text := r.rest()
	if len(text)%2 != 0 {
		return "", h, fmt.Errorf("SQL batch: text of %d bytes is not UCS-2", len(text))
	}
	return ucs2String(text), h, nil
}

// Transaction manager request types (MS-TDS 2.2.6.9).
const (
	tmBegin    = 5
	tmCommit   = 7
	tmRollback = 8
	tmSave     = 9
)

// tmRequest is a decoded transaction manager request.
type tmRequest struct {
	kind uint16
	name string
	// beginAfter asks to start a new transaction once the commit or
	// rollback is done (fBeginXact).
	beginAfter bool
}

func parseTMRequest(data []byte) (tmRequest, allHeaders, error) {
	var q tmRequest
	r := &reader{b: data}
	h, err := parseAllHeaders(r)
	if err != nil {
		return q, h, fmt.Errorf("transaction request: %w", err)
	}
	q.kind = r.u16("RequestType")
	switch q.kind {
	case tmBegin:
		r.u8("isolation level")
		q.name = r.bVarChar("transaction name")
	case tmCommit, tmRollback:
		q.name = r.bVarChar("transaction name")
		flags := r.u8("flags")
		if flags&1 != 0 {
			q.beginAfter = true
			r.u8("isolation level")
			r.bVarChar("new transaction name")
		}
	case tmSave:
		q.name = r.bVarChar("savepoint name")
	default:
		if r.err == nil {
			return q, h, fmt.Errorf("transaction request type %d is not supported by tdstest (begin, commit and rollback are)", q.kind)
		}
	}
	if r.err != nil {
		return q, h, fmt.Errorf("transaction request: %w", r.err)
	}
	return q, h, nil
}

// rpcParam is one decoded RPC parameter: its value is ready to bind to
// SQLite (nil, int64, float64, string in storage form, []byte).
type rpcParam struct {
	name   string // with the leading @, as sent; may be empty
	typ    sqlType
	value  any
	output bool
}

// rpcRequest is a decoded RPC.
type rpcRequest struct {
	procID   uint16 // when called by number
	procName string // when called by name
	params   []rpcParam
}

// Stored procedure ids (MS-TDS 2.2.6.6).
const (
	procExecuteSQL = 10
)

const (
	paramByRef     = 0x01
	paramEncrypted = 0x08
)

// parseRPC decodes an RPC request.
func parseRPC(data []byte) (rpcRequest, allHeaders, error) {
	var q rpcRequest
	r := &reader{b: data}
	h, err := parseAllHeaders(r)
	if err != nil {
		return q, h, fmt.Errorf("RPC: %w", err)
	}
	n := r.u16("NameLenProcID")
	if n == 0xffff {
		q.procID = r.u16("ProcID")
	} else {
		q.procName = ucs2String(r.take("ProcName", 2*int(n)))
	}
	r.u16("OptionFlags")
	if r.err != nil {
		return q, h, fmt.Errorf("RPC: %w", r.err)
	}
	for i := 1; r.off < len(r.b); i++ {
		if c := r.b[r.off]; c == 0xff || c == 0x80 || c == 0xfe {
			return q, h, fmt.Errorf("RPC: several procedure calls in one request are not supported by tdstest")
		}
		p, err := parseParam(r)
		if err != nil {
			return q, h, fmt.Errorf("RPC parameter %d: %w", i, err)
		}
		q.params = append(q.params, p)
	}
	return q, h, nil
}

func parseParam(r *reader) (rpcParam, error) {
	var p rpcParam
	p.name = r.bVarChar("name")
	status := r.u8("status flags")
	if r.err != nil {
		return p, r.err
	}
	if status&paramEncrypted != 0 {
		return p, fmt.Errorf("%s: Always Encrypted parameters are not supported by tdstest", p.name)
	}
	p.output = status&paramByRef != 0
	typ, value, err := readTypedValue(r)
	if err != nil {
		if p.name != "" {
			return p, fmt.Errorf("%s: %w", p.name, err)
		}
		return p, err
	}
	p.typ, p.value = typ, value
	return p, nil
}

// readTypedValue reads a TYPE_INFO and the value after it, converting
// the value to its SQLite binding: numbers stay numbers, decimals become
// their exact text, dates and times their storage text.
func readTypedValue(r *reader) (sqlType, any, error) {
	id := r.u8("type")
	if r.err != nil {
		return sqlType{}, nil, r.err
	}
	fixed := func(t sqlType, n int) (sqlType, any, error) {
		b := r.take("value", n)
		if r.err != nil {
			return t, nil, r.err
		}
		v, err := decodeFixed(id, b)
		return t, v, err
	}
	switch id {
	case tyNull:
		return typeNVarChar4000, nil, nil
	case tyInt1:
		return fixed(sqlType{kind: kInt, size: 1}, 1)
	case tyBit:
		return fixed(sqlType{kind: kBit, size: 1}, 1)
	case tyInt2:
		return fixed(sqlType{kind: kInt, size: 2}, 2)
	case tyInt4:
		return fixed(sqlType{kind: kInt, size: 4}, 4)
	case tyInt8:
		return fixed(sqlType{kind: kInt, size: 8}, 8)
	case tyFlt4:
		return fixed(sqlType{kind: kFloat, size: 4}, 4)
	case tyFlt8:
		return fixed(sqlType{kind: kFloat, size: 8}, 8)
	case tyMoney4:
		return fixed(sqlType{kind: kMoney, size: 4, prec: 10, scale: 4}, 4)
	case tyMoney:
		return fixed(sqlType{kind: kMoney, size: 8, prec: 19, scale: 4}, 8)
	case tyDateTim4:
		return fixed(sqlType{kind: kDateTime, size: 4}, 4)
	case tyDateTime:
		return fixed(sqlType{kind: kDateTime, size: 8, scale: 3}, 8)

	case tyIntN, tyBitN, tyFltN, tyMoneyN, tyDateTimN, tyGUID, tyDecimalN, tyNumericN, tyDecimal, tyNumeric,
		tyChar, tyVarChar, tyBinary, tyVarBinary:
		max := int(r.u8("max length"))
		var t sqlType
		switch id {
		case tyIntN:
			t = sqlType{kind: kInt, size: max}
			if max != 1 && max != 2 && max != 4 && max != 8 {
				return t, nil, fmt.Errorf("INTN of %d bytes", max)
			}
		case tyBitN:
			t = sqlType{kind: kBit, size: 1}
		case tyFltN:
			t = sqlType{kind: kFloat, size: max}
			if max != 4 && max != 8 {
				return t, nil, fmt.Errorf("FLTN of %d bytes", max)
			}
		case tyMoneyN:
			t = sqlType{kind: kMoney, size: max, prec: 19, scale: 4}
			if max != 4 && max != 8 {
				return t, nil, fmt.Errorf("MONEYN of %d bytes", max)
			}
		case tyDateTimN:
			t = sqlType{kind: kDateTime, size: max, scale: 3}
			if max != 4 && max != 8 {
				return t, nil, fmt.Errorf("DATETIMN of %d bytes", max)
			}
		case tyGUID:
			t = sqlType{kind: kGUID, size: 16}
		case tyDecimalN, tyNumericN, tyDecimal, tyNumeric:
			prec, scale := int(r.u8("precision")), int(r.u8("scale"))
			if r.err != nil {
				return t, nil, r.err
			}
			if prec < 1 || prec > 38 || scale > prec {
				return t, nil, fmt.Errorf("DECIMAL(%d,%d) is not a valid type", prec, scale)
			}
			t = sqlType{kind: kDecimal, prec: prec, scale: scale, numeric: id == tyNumericN || id == tyNumeric}
		case tyChar, tyVarChar:
			t = sqlType{kind: kVarChar, size: max}
		case tyBinary, tyVarBinary:
			t = sqlType{kind: kVarBinary, size: max}
		}
		n := int(r.u8("value length"))
		if r.err != nil {
			return t, nil, r.err
		}
		if n == 0 {
			if id == tyChar || id == tyVarChar {
				return t, "", nil
			}
			if id == tyBinary || id == tyVarBinary {
				return t, []byte{}, nil
			}
			return t, nil, nil
		}
		b := r.take("value", n)
		if r.err != nil {
			return t, nil, r.err
		}
		v, err := decodeByteLen(id, t, b)
		return t, v, err

	case tyDateN:
		t := sqlType{kind: kDate}
		n := int(r.u8("value length"))
		if n == 0 {
			return t, nil, r.err
		}
		b := r.take("value", n)
		if r.err != nil {
			return t, nil, r.err
		}
		if n != 3 {
			return t, nil, fmt.Errorf("DATEN value of %d bytes, want 3", n)
		}
		return t, decodeDate(b).Format(layoutDate), nil
	case tyTimeN, tyDateTime2N, tyDateTimeOffset:
		scale := int(r.u8("scale"))
		if scale > 7 {
			return sqlType{}, nil, fmt.Errorf("time scale %d, at most 7", scale)
		}
		k := map[byte]kind{tyTimeN: kTime, tyDateTime2N: kDateTime2, tyDateTimeOffset: kDateTimeOffset}[id]
		t := sqlType{kind: k, scale: scale}
		n := int(r.u8("value length"))
		if n == 0 {
			return t, nil, r.err
		}
		b := r.take("value", n)
		if r.err != nil {
			return t, nil, r.err
		}
		want := timeSize(scale)
		switch k {
		case kDateTime2:
			want += 3
		case kDateTimeOffset:
			want += 5
		}
		if n != want {
			return t, nil, fmt.Errorf("%s value of %d bytes, want %d", t, n, want)
		}
		tm := decodeTimePart(b[:timeSize(scale)], scale)
		switch k {
		case kTime:
			return t, tm.Format(layoutTime), nil
		case kDateTime2:
			d := decodeDate(b[timeSize(scale):])
			return t, d.Add(tm.Sub(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))).Format(layoutDateTime), nil
		}
		// datetimeoffset: date and time are UTC; the offset follows.
		d := decodeDate(b[timeSize(scale) : timeSize(scale)+3])
		utc := d.Add(tm.Sub(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)))
		return t, utc.Format(layoutDateTime), nil

	case tyBigVarBin, tyBigVarChar, tyBigBinary, tyBigChar, tyNVarChar, tyNChar, tyXML:
		var t sqlType
		max := 0xffff
		if id != tyXML {
			max = int(r.u16("max length"))
		}
		switch id {
		case tyBigVarBin, tyBigBinary:
			t = sqlType{kind: kVarBinary, size: max, fixed: id == tyBigBinary}
		case tyBigVarChar, tyBigChar:
			t = sqlType{kind: kVarChar, size: max, fixed: id == tyBigChar}
			r.take("collation", 5)
		case tyNVarChar, tyNChar:
			t = sqlType{kind: kNVarChar, size: max / 2, fixed: id == tyNChar}
			r.take("collation", 5)
		case tyXML:
			t = typeNVarCharMax
			if r.u8("schema present") != 0 {
				r.bVarChar("database")
				r.bVarChar("owning schema")
				r.usVarChar("schema collection")
			}
		}
		if r.err != nil {
			return t, nil, r.err
		}
		var data []byte
		if max == 0xffff {
			t.size = maxLength
			var null bool
			var err error
			data, null, err = readPLP(r)
			if err != nil {
				return t, nil, err
			}
			if null {
				return t, nil, nil
			}
		} else {
			n := int(r.u16("value length"))
			if r.err != nil {
				return t, nil, r.err
			}
			if n == 0xffff {
				return t, nil, nil
			}
			data = r.take("value", n)
			if r.err != nil {
				return t, nil, r.err
			}
		}
		return t, decodeChars(t.kind, data), nil

	case tyText, tyNText, tyImage:
		r.u32("max length")
		var t sqlType
		switch id {
		case tyText:
			t = sqlType{kind: kVarChar, size: maxLength}
			r.take("collation", 5)
		case tyNText:
			t = typeNVarCharMax
			r.take("collation", 5)
		default:
			t = typeVarBinMax
		}
		ptr := int(r.u8("text pointer length"))
		if r.err != nil {
			return t, nil, r.err
		}
		if ptr == 0 {
			return t, nil, nil
		}
		r.take("text pointer", ptr)
		r.take("timestamp", 8)
		n := r.u32("value length")
		if r.err != nil {
			return t, nil, r.err
		}
		if n == 0xffffffff {
			return t, nil, nil
		}
		if uint64(n) > uint64(len(r.b)) {
			return t, nil, fmt.Errorf("%w: value declares %d bytes", errShort, n)
		}
		data := r.take("value", int(n))
		if r.err != nil {
			return t, nil, r.err
		}
		return t, decodeChars(t.kind, data), nil

	case tyTVP:
		return sqlType{}, nil, fmt.Errorf("table-valued parameters are not supported by tdstest")
	case tyVariant:
		return sqlType{}, nil, fmt.Errorf("sql_variant parameters are not supported by tdstest")
	case tyUDT:
		return sqlType{}, nil, fmt.Errorf("CLR user-defined type parameters are not supported by tdstest")
	}
	return sqlType{}, nil, fmt.Errorf("unknown type id 0x%02x", id)
}

// readPLP reads a partially length-prefixed value.
func readPLP(r *reader) ([]byte, bool, error) {
	total := r.u64("PLP length")
	if r.err != nil {
		return nil, false, r.err
	}
	if total == 0xffffffffffffffff {
		return nil, true, nil
	}
	if total != 0xfffffffffffffffe && total > uint64(len(r.b)) {
		return nil, false, fmt.Errorf("%w: PLP value declares %d bytes", errShort, total)
	}
	var data []byte
	for {
		n := r.u32("PLP chunk length")
		if r.err != nil {
			return nil, false, r.err
		}
		if n == 0 {
			break
		}
		if uint64(n) > uint64(len(r.b)) {
			return nil, false, fmt.Errorf("%w: PLP chunk declares %d bytes", errShort, n)
		}
		data = append(data, r.take("PLP chunk", int(n))...)
		if r.err != nil {
			return nil, false, r.err
		}
	}
	if data == nil {
		data = []byte{}
	}
	return data, false, nil
}

func decodeChars(k kind, data []byte) any {
	switch k {
	case kNVarChar:
		return ucs2String(data)
	case kVarChar:
		return decodeCP1252(data)
	}
	return append([]byte{}, data...)
}

func decodeFixed(id byte, b []byte) (any, error) {
	switch id {
	case tyInt1:
		return int64(b[0]), nil
	case tyBit:
		if b[0] != 0 {
			return int64(1), nil
		}
		return int64(0), nil
	case tyInt2:
		return int64(int16(binary.LittleEndian.Uint16(b))), nil
	case tyInt4:
		return int64(int32(binary.LittleEndian.Uint32(b))), nil
	case tyInt8:
		return int64(binary.LittleEndian.Uint64(b)), nil
	case tyFlt4:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
	case tyFlt8:
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	case tyMoney4:
		return formatDecimal(big.NewInt(int64(int32(binary.LittleEndian.Uint32(b)))), 4), nil
	case tyMoney:
		v := int64(uint64(binary.LittleEndian.Uint32(b))<<32 | uint64(binary.LittleEndian.Uint32(b[4:])))
		return formatDecimal(big.NewInt(v), 4), nil
	case tyDateTim4:
		days := int(binary.LittleEndian.Uint16(b))
		mins := int(binary.LittleEndian.Uint16(b[2:]))
		return time.Date(1900, 1, 1+days, 0, mins, 0, 0, time.UTC).Format(layoutDateTime), nil
	case tyDateTime:
		days := int(int32(binary.LittleEndian.Uint32(b)))
		ticks := int64(binary.LittleEndian.Uint32(b[4:]))
		t := time.Date(1900, 1, 1+days, 0, 0, 0, 0, time.UTC).Add(time.Duration(ticks * 1e7 / 3 / 100 * 100))
		return t.Format(layoutDateTime), nil
	}
	return nil, fmt.Errorf("unknown fixed type 0x%02x", id)
}

func decodeByteLen(id byte, t sqlType, b []byte) (any, error) {
	switch id {
	case tyIntN:
		if len(b) != t.size {
			return nil, fmt.Errorf("INTN(%d) value of %d bytes", t.size, len(b))
		}
		return decodeFixed(map[int]byte{1: tyInt1, 2: tyInt2, 4: tyInt4, 8: tyInt8}[t.size], b)
	case tyBitN:
		if len(b) != 1 {
			return nil, fmt.Errorf("BITN value of %d bytes", len(b))
		}
		return decodeFixed(tyBit, b)
	case tyFltN:
		if len(b) != t.size {
			return nil, fmt.Errorf("FLTN(%d) value of %d bytes", t.size, len(b))
		}
		return decodeFixed(map[int]byte{4: tyFlt4, 8: tyFlt8}[t.size], b)
	case tyMoneyN:
		switch len(b) {
		case 4:
			return decodeFixed(tyMoney4, b)
		case 8:
			return decodeFixed(tyMoney, b)
		}
		return nil, fmt.Errorf("MONEYN value of %d bytes", len(b))
	case tyDateTimN:
		switch len(b) {
		case 4:
			return decodeFixed(tyDateTim4, b)
		case 8:
			return decodeFixed(tyDateTime, b)
		}
		return nil, fmt.Errorf("DATETIMN value of %d bytes", len(b))
	case tyGUID:
		if len(b) != 16 {
			return nil, fmt.Errorf("GUID value of %d bytes", len(b))
		}
		return guidText(b), nil
	case tyDecimalN, tyNumericN, tyDecimal, tyNumeric:
		if len(b) < 2 || len(b) > 17 {
			return nil, fmt.Errorf("DECIMAL value of %d bytes", len(b))
		}
		mag := make([]byte, len(b)-1)
		for i := range mag {
			mag[i] = b[len(b)-1-i]
		}
		n := new(big.Int).SetBytes(mag)
		if b[0] == 0 {
			n.Neg(n)
		}
		return formatDecimal(n, t.scale), nil
	case tyChar, tyVarChar:
		return decodeCP1252(b), nil
	case tyBinary, tyVarBinary:
		return append([]byte{}, b...), nil
	}
	return nil, fmt.Errorf("unknown type 0x%02x", id)
}

func decodeDate(b []byte) time.Time {
	days := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	return time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days)
}

// decodeTimePart returns the time of day on 1900-01-01.
func decodeTimePart(b []byte, scale int) time.Time {
	var buf [8]byte
	copy(buf[:], b)
	ticks := binary.LittleEndian.Uint64(buf[:])
	ns := ticks * uint64(math.Pow10(9-scale))
	if ns >= 24*3600*1e9 {
		ns = 24*3600*1e9 - 100
	}
	return time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ns))
}

// paramDecls parses sp_executesql's declaration list ("@p1 bigint,
// @name nvarchar(10) output") into the parameter names, in order.
func paramDecls(decl string) []string {
	var names []string
	depth := 0
	start := 0
	add := func(part string) {
		f := strings.Fields(part)
		if len(f) > 0 && strings.HasPrefix(f[0], "@") {
			names = append(names, f[0])
		}
	}
	for i := 0; i < len(decl); i++ {
		switch decl[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				add(decl[start:i])
				start = i + 1
			}
		}
	}
	add(decl[start:])
	return names
}

// procName normalises an RPC procedure name: "[sys].[sp_executesql]"
// and "master..sp_executesql" become "sp_executesql".
func procName(name string) string {
	name = strings.NewReplacer("[", "", "]", "").Replace(strings.TrimSpace(name))
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return strings.ToLower(name)
}

// quoteLiteral renders s as a SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// itoa is strconv.Itoa, for brevity in SQL building.
func itoa(n int) string { return strconv.Itoa(n) }

// itoa64 is strconv.FormatInt in base 10.
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
