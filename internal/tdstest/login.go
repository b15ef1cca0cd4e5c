package tdstest

import (
	"encoding/binary"
	"fmt"
)

// LOGIN7 flags tdstest looks at (MS-TDS 2.2.6.4).
const (
	loginIntSecurity = 0x80 // OptionFlags2: integrated (SSPI) security
	loginExtension   = 0x10 // OptionFlags3: a FeatureExt block follows
)

// Feature extension ids.
const (
	featFedAuth    = 0x02
	featTerminator = 0xff
)

const login7HeaderLen = 94

// login7 is a decoded LOGIN7 message.
type login7 struct {
	tdsVersion     uint32
	packetSize     uint32
	optionFlags1   byte
	optionFlags2   byte
	typeFlags      byte
	optionFlags3   byte
	hostName       string
	userName       string
	password       string
	appName        string
	serverName     string
	clientLibrary  string
	language       string
	database       string
	changePassword string
	sspi           []byte
	// features holds the FeatureExt blocks by id.
	features map[byte][]byte
}

// parseLogin7 decodes a LOGIN7 message, de-obfuscating the passwords.
func parseLogin7(data []byte) (login7, error) {
	var l login7
	if len(data) < login7HeaderLen {
		return l, fmt.Errorf("LOGIN7: %w: %d bytes, the fixed part alone is %d", errShort, len(data), login7HeaderLen)
	}
	total := binary.LittleEndian.Uint32(data)
	if int64(total) > int64(len(data)) {
		return l, fmt.Errorf("LOGIN7: declares %d bytes but the message has %d", total, len(data))
	}
	r := &reader{b: data, off: 4}
	l.tdsVersion = binary.BigEndian.Uint32(r.take("TDSVersion", 4))
	l.packetSize = r.u32("PacketSize")
	r.take("ClientProgVer, ClientPID, ConnectionID", 12)
	l.optionFlags1 = r.u8("OptionFlags1")
	l.optionFlags2 = r.u8("OptionFlags2")
	l.typeFlags = r.u8("TypeFlags")
	l.optionFlags3 = r.u8("OptionFlags3")
	r.take("ClientTimeZone, ClientLCID", 8)
	if r.err != nil {
		return l, fmt.Errorf("LOGIN7: %w", r.err)
	}

	var err error
	str := func(at int, what string, mangled bool) string {
		if err != nil {
			return ""
		}
		off := int(binary.LittleEndian.Uint16(data[at:]))
		n := 2 * int(binary.LittleEndian.Uint16(data[at+2:]))
		if n == 0 {
			return ""
		}
		if off+n > len(data) {
			err = fmt.Errorf("LOGIN7: %s points at bytes %d..%d of a %d-byte message", what, off, off+n, len(data))
			return ""
		}
		b := data[off : off+n]
		if mangled {
			b = unmanglePassword(b)
		}
		return ucs2String(b)
	}
	l.hostName = str(36, "HostName", false)
	l.userName = str(40, "UserName", false)
	l.password = str(44, "Password", true)
	l.appName = str(48, "AppName", false)
	l.serverName = str(52, "ServerName", false)
	l.clientLibrary = str(60, "CltIntName", false)
	l.language = str(64, "Language", false)
	l.database = str(68, "Database", false)
	l.changePassword = str(86, "ChangePassword", true)
	if err != nil {
		return l, err
	}
	sspiOff := int(binary.LittleEndian.Uint16(data[78:]))
	sspiLen := int(binary.LittleEndian.Uint16(data[80:]))
	if sspiLen > 0 {
		if sspiOff+sspiLen > len(data) {
			return l, fmt.Errorf("LOGIN7: SSPI points at bytes %d..%d of a %d-byte message", sspiOff, sspiOff+sspiLen, len(data))
		}
		l.sspi = data[sspiOff : sspiOff+sspiLen]
	}
	if l.optionFlags3&loginExtension != 0 {
		extOff := int(binary.LittleEndian.Uint16(data[56:]))
		extLen := int(binary.LittleEndian.Uint16(data[58:]))
		if extLen < 4 || extOff+4 > len(data) {
			return l, fmt.Errorf("LOGIN7: extension pointer at %d (length %d) is outside the %d-byte message", extOff, extLen, len(data))
		}
		featOff := int(binary.LittleEndian.Uint32(data[extOff:]))
		features, err := parseFeatureExt(data, featOff)
		if err != nil {
			return l, err
		}
		l.features = features
	}
	return l, nil
}

// parseFeatureExt decodes the FeatureExt blocks starting at off.
func parseFeatureExt(data []byte, off int) (map[byte][]byte, error) {
	if off < 0 || off >= len(data) {
		return nil, fmt.Errorf("LOGIN7: FeatureExt offset %d is outside the %d-byte message", off, len(data))
	}
	r := &reader{b: data, off: off}
	features := map[byte][]byte{}
	for {
		id := r.u8("FeatureId")
		if r.err != nil {
			return nil, fmt.Errorf("LOGIN7: FeatureExt: %w", r.err)
		}
		if id == featTerminator {
			return features, nil
		}
		n := r.u32("FeatureDataLen")
		if uint64(n) > uint64(len(data)) {
			return nil, fmt.Errorf("LOGIN7: feature %d declares %d bytes in a %d-byte message", id, n, len(data))
		}
		v := r.take("FeatureData", int(n))
		if r.err != nil {
			return nil, fmt.Errorf("LOGIN7: FeatureExt: %w", r.err)
		}
		features[id] = v
	}
}

// unmanglePassword reverses the LOGIN7 password obfuscation: each byte
// had its nibbles swapped and was XORed with 0xA5.
func unmanglePassword(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		x := c ^ 0xa5
		out[i] = x<<4 | x>>4
	}
	return out
}
