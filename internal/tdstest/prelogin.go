package tdstest

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// PRELOGIN option tokens (MS-TDS 2.2.6.5).
const (
	preVersion    = 0x00
	preEncryption = 0x01
	preInstOpt    = 0x02
	preThreadID   = 0x03
	preMARS       = 0x04
	preTraceID    = 0x05
	preFedAuth    = 0x06
	preNonce      = 0x07
	preTerminator = 0xff
)

// Encryption negotiation values.
const (
	encryptOff    = 0x00
	encryptOn     = 0x01
	encryptNotSup = 0x02
	encryptReq    = 0x03
)

// prelogin is what tdstest needs of a client's PRELOGIN.
type prelogin struct {
	options    map[byte][]byte
	encryption byte // encryptOff if the client sent none
	fedAuth    bool
}

// parsePrelogin decodes the option table of a PRELOGIN message.
func parsePrelogin(data []byte) (prelogin, error) {
	p := prelogin{options: map[byte][]byte{}}
	for off := 0; ; off += 5 {
		if off >= len(data) {
			return p, fmt.Errorf("PRELOGIN: %w: option table has no terminator", errShort)
		}
		tok := data[off]
		if tok == preTerminator {
			break
		}
		if off+5 > len(data) {
			return p, fmt.Errorf("PRELOGIN: %w: option %d header cut", errShort, tok)
		}
		at := int(binary.BigEndian.Uint16(data[off+1:]))
		n := int(binary.BigEndian.Uint16(data[off+3:]))
		if at+n > len(data) {
			return p, fmt.Errorf("PRELOGIN: option %d points at bytes %d..%d of a %d-byte message", tok, at, at+n, len(data))
		}
		if _, dup := p.options[tok]; dup {
			return p, fmt.Errorf("PRELOGIN: option %d sent twice", tok)
		}
		p.options[tok] = data[at : at+n]
	}
	if v, ok := p.options[preEncryption]; ok {
		if len(v) != 1 {
			return p, fmt.Errorf("PRELOGIN: ENCRYPTION option has %d bytes, want 1", len(v))
		}
		p.encryption = v[0]
	}
	if v, ok := p.options[preFedAuth]; ok && len(v) == 1 && v[0] != 0 {
		p.fedAuth = true
	}
	return p, nil
}

// preloginReply builds the server's PRELOGIN answer: version, no
// encryption, no MARS.
func preloginReply() []byte {
	opts := map[byte][]byte{
		// SQL Server 2022 (16.0.1000), as a real server reports itself.
		preVersion:    {16, 0, 0x03, 0xe8, 0, 0},
		preEncryption: {encryptNotSup},
		preInstOpt:    {0},
		preThreadID:   {},
		preMARS:       {0},
	}
	keys := make([]int, 0, len(opts))
	for k := range opts {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	at := 5*len(keys) + 1
	var head, body []byte
	for _, k := range keys {
		v := opts[byte(k)]
		head = append(head, byte(k))
		head = binary.BigEndian.AppendUint16(head, uint16(at+len(body)))
		head = binary.BigEndian.AppendUint16(head, uint16(len(v)))
		body = append(body, v...)
	}
	head = append(head, preTerminator)
	return append(head, body...)
}
