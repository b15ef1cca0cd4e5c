package tdstest

import "encoding/binary"

// Token types (MS-TDS 2.2.7).
const (
	tokReturnStatus  = 0x79
	tokColMetadata   = 0x81
	tokError         = 0xaa
	tokInfo          = 0xab
	tokLoginAck      = 0xad
	tokFeatureExtAck = 0xae
	tokRow           = 0xd1
	tokEnvChange     = 0xe3
	tokDone          = 0xfd
	tokDoneProc      = 0xfe
	tokDoneInProc    = 0xff
)

// DONE status bits.
const (
	doneFinal = 0x00
	doneMore  = 0x01
	doneError = 0x02
	doneCount = 0x10
	doneAttn  = 0x20
)

// DONE CurCmd values, as SQL Server sets them.
const (
	cmdNone    = 0x00
	cmdSelect  = 0xc1
	cmdInsert  = 0xc3
	cmdDelete  = 0xc4
	cmdUpdate  = 0xc5
	cmdBeginTx = 0xd4
	cmdEndTx   = 0xd5
	cmdSetOpt  = 0xb9
)

// ENVCHANGE types.
const (
	envDatabase   = 1
	envLanguage   = 2
	envPacketSize = 4
	envCollation  = 7
	envBeginTx    = 8
	envCommitTx   = 9
	envRollbackTx = 10
	envResetAck   = 18
)

func appendDone(b []byte, tok byte, status, cmd uint16, rows uint64) []byte {
	b = append(b, tok)
	b = binary.LittleEndian.AppendUint16(b, status)
	b = binary.LittleEndian.AppendUint16(b, cmd)
	return binary.LittleEndian.AppendUint64(b, rows)
}

// appendMessage appends an ERROR or INFO token.
func appendMessage(b []byte, tok byte, number int32, state, class byte, msg, server string, line int32) []byte {
	var body []byte
	body = binary.LittleEndian.AppendUint32(body, uint32(number))
	body = append(body, state, class)
	body = appendUSVarChar(body, msg)
	body = appendBVarChar(body, server)
	body = appendBVarChar(body, "") // procedure
	body = binary.LittleEndian.AppendUint32(body, uint32(line))
	b = append(b, tok)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func appendEnvString(b []byte, typ byte, newValue, oldValue string) []byte {
	var body []byte
	body = append(body, typ)
	body = appendBVarChar(body, newValue)
	body = appendBVarChar(body, oldValue)
	b = append(b, tokEnvChange)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func appendEnvBytes(b []byte, typ byte, newValue, oldValue []byte) []byte {
	var body []byte
	body = append(body, typ, byte(len(newValue)))
	body = append(body, newValue...)
	body = append(body, byte(len(oldValue)))
	body = append(body, oldValue...)
	b = append(b, tokEnvChange)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

// appendLoginAck announces TDS 7.4 and a SQL Server 2022 program version.
func appendLoginAck(b []byte) []byte {
	var body []byte
	body = append(body, 1)                                 // SQL_TSQL interface
	body = binary.BigEndian.AppendUint32(body, 0x74000004) // TDS 7.4
	body = appendBVarChar(body, "Microsoft SQL Server")    // program name
	body = append(body, 16, 0, 0x03, 0xe8)                 // 16.0.1000
	b = append(b, tokLoginAck)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

// appendFeatureExtAck acknowledges none of the client's feature
// extensions: tdstest supports none, and an empty acknowledgement tells
// the client to go on without them.
func appendFeatureExtAck(b []byte) []byte {
	return append(b, tokFeatureExtAck, featTerminator)
}

func appendReturnStatus(b []byte, status int32) []byte {
	b = append(b, tokReturnStatus)
	return binary.LittleEndian.AppendUint32(b, uint32(status))
}

// column is one column of a result set.
type column struct {
	name     string
	typ      sqlType
	nullable bool
}

// COLMETADATA column flags.
const (
	colNullable  = 0x0001
	colUpdatable = 0x0008
)

func appendColMetadata(b []byte, cols []column) []byte {
	b = append(b, tokColMetadata)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(cols)))
	for _, c := range cols {
		b = binary.LittleEndian.AppendUint32(b, c.typ.userType())
		flags := uint16(colUpdatable)
		if c.nullable {
			flags |= colNullable
		}
		b = binary.LittleEndian.AppendUint16(b, flags)
		b = c.typ.appendTypeInfo(b)
		b = appendBVarChar(b, c.name)
	}
	return b
}
