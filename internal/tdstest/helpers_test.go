package tdstest

import (
	"encoding/binary"
)

// Client-side encoders, as go-mssqldb writes the messages, for the
// decoder tests and the fuzz seeds.

func allHeadersBytes(tran uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 22)
	b = binary.LittleEndian.AppendUint32(b, 18)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint64(b, tran)
	return binary.LittleEndian.AppendUint32(b, 1)
}

// rpcBytes builds an RPC by id (name empty) or by name.
func rpcBytes(procID uint16, name string, params ...[]byte) []byte {
	b := allHeadersBytes(0)
	if name == "" {
		b = binary.LittleEndian.AppendUint16(b, 0xffff)
		b = binary.LittleEndian.AppendUint16(b, procID)
	} else {
		b = appendUSVarChar(b, name)
	}
	b = binary.LittleEndian.AppendUint16(b, 0)
	for _, p := range params {
		b = append(b, p...)
	}
	return b
}

// paramBytes is one RPC parameter: name, status, TYPE_INFO and value.
func paramBytes(name string, status byte, typeAndValue []byte) []byte {
	b := appendBVarChar(nil, name)
	b = append(b, status)
	return append(b, typeAndValue...)
}

// nvarcharParam is an NVARCHAR(n) TYPE_INFO and value.
func nvarcharParam(s string) []byte {
	data := appendUCS2(nil, s)
	b := []byte{tyNVarChar}
	b = binary.LittleEndian.AppendUint16(b, uint16(max(len(data), 2)))
	b = append(b, collationLatin1...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func executeSQLBytes(stmt, decl string, params ...[]byte) []byte {
	all := [][]byte{paramBytes("", 0, nvarcharParam(stmt)), paramBytes("", 0, nvarcharParam(decl))}
	return rpcBytes(procExecuteSQL, "", append(all, params...)...)
}

// login7Bytes builds a LOGIN7 as go-mssqldb does.
func login7Bytes(user, password, database string, packetSize uint32, features []byte) []byte {
	strs := []struct {
		at      int
		s       string
		mangled bool
	}{
		{36, "host", false}, {40, user, false}, {44, password, true}, {48, "app", false}, {52, "127.0.0.1", false},
		{60, "go-mssqldb", false}, {64, "", false}, {68, database, false}, {82, "", false}, {86, "", false},
	}
	hdr := make([]byte, login7HeaderLen)
	binary.BigEndian.PutUint32(hdr[4:], 0x74000004)
	binary.LittleEndian.PutUint32(hdr[8:], packetSize)
	hdr[24] = 0xa0 // OptionFlags1: use db, set lang
	hdr[25] = 0x02 // OptionFlags2: ODBC
	var body []byte
	off := login7HeaderLen
	for _, f := range strs {
		data := appendUCS2(nil, f.s)
		if f.mangled {
			data = manglePassword(data)
		}
		binary.LittleEndian.PutUint16(hdr[f.at:], uint16(off+len(body)))
		binary.LittleEndian.PutUint16(hdr[f.at+2:], uint16(len(data)/2))
		body = append(body, data...)
	}
	binary.LittleEndian.PutUint16(hdr[78:], uint16(off+len(body))) // SSPI, empty
	if features != nil {
		hdr[27] |= loginExtension
		binary.LittleEndian.PutUint16(hdr[56:], uint16(off+len(body)))
		binary.LittleEndian.PutUint16(hdr[58:], 4)
		body = binary.LittleEndian.AppendUint32(body, uint32(off+len(body)+4))
		body = append(body, features...)
	}
	msg := append(hdr, body...)
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))
	return msg
}

// manglePassword is the client side of the LOGIN7 password obfuscation.
func manglePassword(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = (c<<4 | c>>4) ^ 0xa5
	}
	return out
}

// packets splits a message into packets of size bytes.
func packets(typ, status byte, data []byte, size int) []byte {
	var out []byte
	for seq := 1; ; seq++ {
		n := min(size-headerLen, len(data))
		st := byte(0)
		if n == len(data) {
			st = stEOM | status
		} else if seq == 1 {
			st = status
		}
		hdr := []byte{typ, st, 0, 0, 0, 0, byte(seq), 0}
		binary.BigEndian.PutUint16(hdr[2:], uint16(headerLen+n))
		out = append(append(out, hdr...), data[:n]...)
		data = data[n:]
		if len(data) == 0 {
			return out
		}
	}
}

func preloginBytes(encryption byte) []byte {
	opts := [][2][]byte{
		{{preVersion}, {1, 2, 3, 4, 0, 0}},
		{{preEncryption}, {encryption}},
		{{preInstOpt}, {0}},
		{{preThreadID}, {0, 0, 0, 0}},
		{{preMARS}, {0}},
	}
	at := 5*len(opts) + 1
	var head, body []byte
	for _, o := range opts {
		head = append(head, o[0][0])
		head = binary.BigEndian.AppendUint16(head, uint16(at+len(body)))
		head = binary.BigEndian.AppendUint16(head, uint16(len(o[1])))
		body = append(body, o[1]...)
	}
	return append(append(head, preTerminator), body...)
}
