package tdstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// errShort is wrapped by every decoder error caused by a message ending
// before a field it announces.
var errShort = errors.New("message ends early")

// reader decodes the little-endian fields of a TDS message body. The
// first failure sticks: later reads return zero values, and err says
// which field was cut, so decoders check once at the end of a block.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string, n int) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s needs %d bytes at offset %d, %d left", errShort, what, n, r.off, len(r.b)-r.off)
	}
}

// take returns the next n bytes (aliasing the message) or nil.
func (r *reader) take(what string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail(what, n)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8(what string) byte {
	p := r.take(what, 1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) u16(what string) uint16 {
	p := r.take(what, 2)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(p)
}

func (r *reader) u32(what string) uint32 {
	p := r.take(what, 4)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(p)
}

func (r *reader) u64(what string) uint64 {
	p := r.take(what, 8)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

// bVarChar reads a B_VARCHAR: a character count byte, then UCS-2.
func (r *reader) bVarChar(what string) string {
	n := int(r.u8(what + " length"))
	return ucs2String(r.take(what, 2*n))
}

// usVarChar reads a US_VARCHAR: a character count ushort, then UCS-2.
func (r *reader) usVarChar(what string) string {
	n := int(r.u16(what + " length"))
	return ucs2String(r.take(what, 2*n))
}

func (r *reader) rest() []byte {
	if r.err != nil {
		return nil
	}
	p := r.b[r.off:]
	r.off = len(r.b)
	return p
}

// ucs2String decodes UTF-16LE; an odd trailing byte is dropped and
// unpaired surrogates become U+FFFD, as SQL Server would show them.
func ucs2String(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	ascii := true
	for i := 0; i+1 < len(b); i += 2 {
		if b[i+1] != 0 || b[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		s := make([]byte, len(b)/2)
		for i := range s {
			s[i] = b[2*i]
		}
		return string(s)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// appendUCS2 appends s as UTF-16LE.
func appendUCS2(b []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = binary.LittleEndian.AppendUint16(b, uint16(r1))
			b = binary.LittleEndian.AppendUint16(b, uint16(r2))
			continue
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return b
}

// ucs2Len is the number of UTF-16 code units of s: what SQL Server
// counts as the length of an nvarchar.
func ucs2Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// appendBVarChar appends a B_VARCHAR, cutting s to 255 UTF-16 units.
func appendBVarChar(b []byte, s string) []byte {
	s = cutUCS2(s, 255)
	b = append(b, byte(ucs2Len(s)))
	return appendUCS2(b, s)
}

// appendUSVarChar appends a US_VARCHAR, cutting s to 65535 UTF-16 units.
func appendUSVarChar(b []byte, s string) []byte {
	s = cutUCS2(s, 65535)
	b = binary.LittleEndian.AppendUint16(b, uint16(ucs2Len(s)))
	return appendUCS2(b, s)
}

// cutUCS2 returns the longest prefix of s of at most n UTF-16 units.
func cutUCS2(s string, n int) string {
	units := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if units+w > n {
			return s[:i]
		}
		units += w
	}
	return s
}
