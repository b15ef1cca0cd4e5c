package tdstest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// dt2 encodes a DATETIME2(7) value (time ticks, then days since 0001).
func dt2(t time.Time) []byte {
	b := appendTimePart(nil, t, 7)
	return appendDatePart(b, t)
}

func TestParseRPCParameterTypes(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)
	plp := appendUCS2(nil, strings.Repeat("è", 3000))
	tests := []struct {
		name     string
		param    []byte // TYPE_INFO and value
		wantType string
		want     any
	}{
		{"intn 4", cat([]byte{tyIntN, 4, 4}, le32(uint32(0xfffffffb))), "INT", int64(-5)},
		{"intn 8", cat([]byte{tyIntN, 8, 8}, le64(math.MaxInt64)), "BIGINT", int64(math.MaxInt64)},
		{"intn null", []byte{tyIntN, 2, 0}, "SMALLINT", nil},
		{"int1 fixed", []byte{tyInt1, 200}, "TINYINT", int64(200)},
		{"int8 fixed", cat([]byte{tyInt8}, le64(uint64(1<<40))), "BIGINT", int64(1 << 40)},
		{"bitn", []byte{tyBitN, 1, 1, 1}, "BIT", int64(1)},
		{"decimaln", cat([]byte{tyDecimalN, 9, 10, 4, 9, 1}, le64(123456789)), "DECIMAL(10,4)", "12345.6789"},
		{"numericn negative", []byte{tyNumericN, 5, 5, 2, 5, 0, 1, 0, 0, 0}, "NUMERIC(5,2)", "-0.01"},
		{"decimaln 38", cat([]byte{tyDecimalN, 17, 38, 0, 17, 1}, le64(math.MaxUint64), le64(1)), "DECIMAL(38,0)", "36893488147419103231"},
		{"decimaln null", []byte{tyDecimalN, 5, 9, 2, 0}, "DECIMAL(9,2)", nil},
		{"moneyn 8", cat([]byte{tyMoneyN, 8, 8}, le32(0), le32(123456)), "MONEY", "12.3456"},
		{"moneyn 8 negative", cat([]byte{tyMoneyN, 8, 8}, le32(0xffffffff), le32(uint32(0xffffffff-99))), "MONEY", "-0.0100"},
		{"moneyn 4", cat([]byte{tyMoneyN, 4, 4}, le32(uint32(0xffffffff-9999))), "SMALLMONEY", "-1.0000"},
		{"money fixed", cat([]byte{tyMoney}, le32(0), le32(10000)), "MONEY", "1.0000"},
		{"fltn 8", cat([]byte{tyFltN, 8, 8}, le64(math.Float64bits(2.5))), "FLOAT", 2.5},
		{"fltn 4", cat([]byte{tyFltN, 4, 4}, le32(math.Float32bits(0.5))), "REAL", 0.5},
		{"datetime2n", cat([]byte{tyDateTime2N, 7, 8}, dt2(ts)), "DATETIME2(7)", "2024-01-02 03:04:05.1234567"},
		{"datetime2n scale 0", cat([]byte{tyDateTime2N, 0, 6}, appendDatePart(appendTimePart(nil, ts, 0), ts)), "DATETIME2(0)", "2024-01-02 03:04:05.0000000"},
		{"datetimeoffsetn", cat([]byte{tyDateTimeOffset, 7, 10}, dt2(ts), le16(60)), "DATETIMEOFFSET(7)", "2024-01-02 03:04:05.1234567"},
		{"daten", cat([]byte{tyDateN, 3}, appendDatePart(nil, ts)), "DATE", "2024-01-02"},
		{"timen", cat([]byte{tyTimeN, 3, 4}, appendTimePart(nil, ts, 3)), "TIME(3)", "03:04:05.1230000"},
		{"datetimn 8", cat([]byte{tyDateTimN, 8, 8}, le32(45290), le32(300*3600+1)), "DATETIME", "2024-01-01 01:00:00.0033333"},
		{"datetimn 4", cat([]byte{tyDateTimN, 4, 4}, le16(45290), le16(61)), "SMALLDATETIME", "2024-01-01 01:01:00.0000000"},
		{"nvarchar", nvarcharParam("è€"), "NVARCHAR(2)", "è€"},
		{"nvarchar plp", cat([]byte{tyNVarChar, 0xff, 0xff}, collationLatin1, le64(uint64(len(plp))), le32(100), plp[:100], le32(uint32(len(plp)-100)), plp[100:], le32(0)), "NVARCHAR(MAX)", strings.Repeat("è", 3000)},
		{"nvarchar plp unknown length", cat([]byte{tyNVarChar, 0xff, 0xff}, collationLatin1, le64(0xfffffffffffffffe), le32(2), []byte{'a', 0}, le32(0)), "NVARCHAR(MAX)", "a"},
		{"nvarchar plp null", cat([]byte{tyNVarChar, 0xff, 0xff}, collationLatin1, le64(math.MaxUint64)), "NVARCHAR(MAX)", nil},
		{"nvarchar null", cat([]byte{tyNVarChar, 0x40, 0x1f}, collationLatin1, le16(0xffff)), "NVARCHAR(4000)", nil},
		{"varchar cp1252", cat([]byte{tyBigVarChar, 10, 0}, collationLatin1, le16(2), []byte{0xe8, 0x80}), "VARCHAR(10)", "è€"},
		{"varbinary", cat([]byte{tyBigVarBin, 8, 0}, le16(3), []byte{0, 1, 255}), "VARBINARY(8)", []byte{0, 1, 255}},
		{"varbinary empty", cat([]byte{tyBigVarBin, 8, 0}, le16(0)), "VARBINARY(8)", []byte{}},
		{"guid", cat([]byte{tyGUID, 16, 16}, []byte{0x6f, 0x96, 0x19, 0xff, 0x8b, 0x86, 0xd0, 0x11, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff}), "UNIQUEIDENTIFIER", "FF19966F-868B-11D0-B42D-00C04FC964FF"},
		{"ntext", cat([]byte{tyNText}, le32(0x7ffffffe), collationLatin1, []byte{16}, make([]byte, 16), make([]byte, 8), le32(2), []byte{'z', 0}), "NVARCHAR(MAX)", "z"},
		{"image null", cat([]byte{tyImage}, le32(0x7fffffff), []byte{0}), "VARBINARY(MAX)", nil},
		{"null", []byte{tyNull}, "NVARCHAR(4000)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := rpcBytes(procExecuteSQL, "", paramBytes("@p1", 0, tt.param))
			rpc, _, err := parseRPC(msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(rpc.params) != 1 {
				t.Fatalf("%d parameters, want 1", len(rpc.params))
			}
			p := rpc.params[0]
			if p.name != "@p1" || p.typ.String() != tt.wantType || !reflect.DeepEqual(p.value, tt.want) {
				t.Errorf("got %s %s %#v, want @p1 %s %#v", p.name, p.typ, p.value, tt.wantType, tt.want)
			}
		})
	}
}

func TestParseRPCErrors(t *testing.T) {
	good := rpcBytes(procExecuteSQL, "", paramBytes("@p1", 0, []byte{tyIntN, 4, 4, 1, 0, 0, 0}))
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"empty", nil, "ALL_HEADERS"},
		{"headers overflow", cat(le32(100), make([]byte, 10)), "ALL_HEADERS declares 100"},
		{"cut value", good[:len(good)-2], "message ends early"},
		{"tvp", rpcBytes(procExecuteSQL, "", paramBytes("@t", 0, []byte{tyTVP})), "table-valued"},
		{"encrypted", rpcBytes(procExecuteSQL, "", paramBytes("@t", paramEncrypted, []byte{tyIntN, 4, 0})), "Always Encrypted"},
		{"bad intn size", rpcBytes(procExecuteSQL, "", paramBytes("@t", 0, []byte{tyIntN, 3, 0})), "INTN of 3 bytes"},
		{"bad decimal", rpcBytes(procExecuteSQL, "", paramBytes("@t", 0, []byte{tyDecimalN, 17, 40, 2, 0})), "not a valid type"},
		{"unknown type", rpcBytes(procExecuteSQL, "", paramBytes("@t", 0, []byte{0x01})), "unknown type id"},
		{"batched rpc", append(append([]byte{}, good...), 0xff), "several procedure calls"},
		{"huge plp", rpcBytes(procExecuteSQL, "", paramBytes("@t", 0, cat([]byte{tyNVarChar, 0xff, 0xff}, collationLatin1, le64(1<<40)))), "PLP value declares"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseRPC(tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseRPC: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseRPCExecuteSQL(t *testing.T) {
	msg := rpcBytes(0, "[sys].[sp_executesql]",
		paramBytes("", 0, nvarcharParam("SELECT @a")),
		paramBytes("", 0, nvarcharParam("@a int")),
		paramBytes("", 0, []byte{tyIntN, 4, 4, 7, 0, 0, 0}))
	rpc, _, err := parseRPC(msg)
	if err != nil {
		t.Fatal(err)
	}
	if procName(rpc.procName) != "sp_executesql" || len(rpc.params) != 3 || rpc.params[0].value != "SELECT @a" {
		t.Fatalf("parsed %+v", rpc)
	}
	if got := paramDecls("@a int, @b decimal(10, 2) output,@c nvarchar(max)"); !reflect.DeepEqual(got, []string{"@a", "@b", "@c"}) {
		t.Errorf("paramDecls = %q", got)
	}
}

func TestParseLogin7(t *testing.T) {
	msg := login7Bytes("sa", "Pässword-1", "erp", 8192, []byte{featFedAuth, 1, 0, 0, 0, 9, featTerminator})
	l, err := parseLogin7(msg)
	if err != nil {
		t.Fatal(err)
	}
	if l.userName != "sa" || l.password != "Pässword-1" || l.database != "erp" || l.packetSize != 8192 || l.tdsVersion != 0x74000004 || l.clientLibrary != "go-mssqldb" {
		t.Errorf("parsed %+v", l)
	}
	if !bytes.Equal(l.features[featFedAuth], []byte{9}) {
		t.Errorf("features %v", l.features)
	}
	for _, cut := range []int{0, 10, login7HeaderLen - 1, len(msg) - 1} {
		if _, err := parseLogin7(msg[:cut]); err == nil {
			t.Errorf("a LOGIN7 cut to %d bytes parsed", cut)
		}
	}
}

func TestReadMessage(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	stream := cat(
		packets(pktSQLBatch, stResetConn, data, 512),
		packets(pktRPC, stIgnore, []byte("dropped"), 512),
		packets(pktAttention, 0, nil, 512),
	)
	r := bytes.NewReader(stream)
	m, err := readMessage(r)
	if err != nil {
		t.Fatal(err)
	}
	if m.typ != pktSQLBatch || m.status&stResetConn == 0 || !bytes.Equal(m.data, data) {
		t.Errorf("first message: type %d status %x, %d bytes", m.typ, m.status, len(m.data))
	}
	m, err = readMessage(r)
	if err != nil || m.typ != pktAttention || len(m.data) != 0 {
		t.Errorf("second message: %+v %v (the ignored one must be skipped)", m, err)
	}
	if _, err := readMessage(r); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	bad := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"cut header", []byte{1, 1, 0}, io.ErrUnexpectedEOF},
		{"cut body", []byte{1, 1, 0, 20, 0, 0, 1, 0, 'x'}, io.ErrUnexpectedEOF},
		{"tls", []byte{0x16, 0x03, 0x01, 0x02, 0, 0, 0, 0}, errTLS},
	}
	for _, tt := range bad {
		if _, err := readMessage(bytes.NewReader(tt.stream)); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := readMessage(bytes.NewReader([]byte{1, 1, 0, 4, 0, 0, 1, 0})); err == nil || !strings.Contains(err.Error(), "shorter than its 8-byte header") {
		t.Errorf("short length: %v", err)
	}
	mixed := cat(packets(pktSQLBatch, 0, data, 512)[:512], []byte{pktRPC, 1, 0, 9, 0, 0, 2, 0, 'x'})
	if _, err := readMessage(bytes.NewReader(mixed)); err == nil || !strings.Contains(err.Error(), "inside a message") {
		t.Errorf("mixed packet types: %v", err)
	}
}

func TestPacketWriterSplits(t *testing.T) {
	var buf bytes.Buffer
	pw := newPacketWriter(&buf, 512, 51)
	payload := bytes.Repeat([]byte{7}, 3*(512-headerLen))
	pw.begin()
	pw.write(payload)
	if err := pw.end(); err != nil {
		t.Fatal(err)
	}
	m, err := readMessage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if m.typ != pktReply || !bytes.Equal(m.data, payload) || buf.Len() != 0 {
		t.Errorf("reply: type %d, %d bytes, %d left over (an exact fit must not end with an empty packet)", m.typ, len(m.data), buf.Len())
	}
}

func TestPrelogin(t *testing.T) {
	p, err := parsePrelogin(preloginBytes(encryptOn))
	if err != nil {
		t.Fatal(err)
	}
	if p.encryption != encryptOn {
		t.Errorf("encryption %d", p.encryption)
	}
	reply, err := parsePrelogin(preloginReply())
	if err != nil {
		t.Fatal(err)
	}
	if reply.encryption != encryptNotSup || len(reply.options[preVersion]) != 6 {
		t.Errorf("reply %+v", reply)
	}
	for _, bad := range [][]byte{nil, {0}, {1, 0, 50, 0, 1, 0xff}, {1, 0, 6, 0, 2, 0xff, 1, 2}} {
		if _, err := parsePrelogin(bad); err == nil {
			t.Errorf("prelogin %x parsed", bad)
		}
	}
}

func TestParseTMRequest(t *testing.T) {
	tests := []struct {
		msg  []byte
		want tmRequest
	}{
		{cat(allHeadersBytes(0), le16(tmBegin), []byte{0, 0}), tmRequest{kind: tmBegin}},
		{cat(allHeadersBytes(5), le16(tmCommit), []byte{0, 0}), tmRequest{kind: tmCommit}},
		{cat(allHeadersBytes(5), le16(tmRollback), []byte{1, 'x', 0, 1, 2, 0}), tmRequest{kind: tmRollback, name: "x", beginAfter: true}},
	}
	for _, tt := range tests {
		got, _, err := parseTMRequest(tt.msg)
		if err != nil || got != tt.want {
			t.Errorf("parseTMRequest(%x) = %+v, %v; want %+v", tt.msg, got, err, tt.want)
		}
	}
	if _, _, err := parseTMRequest(cat(allHeadersBytes(0), le16(3))); err == nil {
		t.Error("an unknown request type parsed")
	}
}
