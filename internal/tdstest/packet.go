package tdstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Packet types (MS-TDS 2.2.3.1.1).
const (
	pktSQLBatch  = 1
	pktRPC       = 3
	pktReply     = 4
	pktAttention = 6
	pktBulkLoad  = 7
	pktFedAuth   = 8
	pktTM        = 14
	pktLogin7    = 16
	pktSSPI      = 17
	pktPrelogin  = 18
)

// Packet status bits (MS-TDS 2.2.3.1.2).
const (
	stEOM               = 0x01
	stIgnore            = 0x02
	stResetConn         = 0x08
	stResetConnSkipTran = 0x10
)

const (
	headerLen = 8
	// maxMessage bounds what one client request may make the server hold
	// in memory; a test never comes near it.
	maxMessage = 64 << 20
	// Negotiable packet sizes, as go-mssqldb clamps them.
	minPacketSize     = 512
	maxPacketSize     = 32767
	defaultPacketSize = 4096
)

var (
	// errTLS reports a client that opened with a TLS handshake instead of
	// a PRELOGIN packet: encrypt=strict (TDS 8), which tdstest does not
	// speak.
	errTLS = errors.New("client started TLS (encrypt=strict?): tdstest speaks only unencrypted TDS 7.4, use encrypt=disable in the DSN")
	// errTooBig reports a request beyond maxMessage.
	errTooBig = fmt.Errorf("request larger than %d bytes", maxMessage)
)

// message is one client request: the payload of packets up to the one
// marked end-of-message, with the status of its first packet (which
// carries the reset-connection flags).
type message struct {
	typ    byte
	status byte
	data   []byte
}

// readMessage reads the packets of one message. It returns io.EOF when
// the connection ends cleanly between messages and io.ErrUnexpectedEOF
// when it ends inside one. A message the client marked "ignore" (it gave
// up sending it) is skipped and the next one returned.
func readMessage(r io.Reader) (message, error) {
	for {
		m, err := readOneMessage(r)
		if err != nil {
			return message{}, err
		}
		if m.status&stIgnore == 0 {
			return m, nil
		}
	}
}

func readOneMessage(r io.Reader) (message, error) {
	var m message
	var hdr [headerLen]byte
	for first := true; ; first = false {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if first && errors.Is(err, io.EOF) {
				return message{}, io.EOF
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return message{}, err
		}
		if first && hdr[0] == 0x16 && hdr[1] == 0x03 {
			return message{}, errTLS
		}
		size := int(binary.BigEndian.Uint16(hdr[2:4]))
		if size < headerLen {
			return message{}, fmt.Errorf("packet of type %d declares length %d, shorter than its 8-byte header", hdr[0], size)
		}
		if first {
			m.typ = hdr[0]
			m.status = hdr[1]
		} else if hdr[0] != m.typ {
			return message{}, fmt.Errorf("packet of type %d inside a message of type %d", hdr[0], m.typ)
		}
		if len(m.data)+size-headerLen > maxMessage {
			return message{}, errTooBig
		}
		start := len(m.data)
		m.data = append(m.data, make([]byte, size-headerLen)...)
		if _, err := io.ReadFull(r, m.data[start:]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return message{}, err
		}
		if hdr[1]&stEOM != 0 {
			m.status |= hdr[1] & stIgnore
			return m, nil
		}
	}
}

// packetWriter splits a reply into packets of the negotiated size.
// Errors stick: after the first failed write everything is dropped and
// end returns the error.
type packetWriter struct {
	w    io.Writer
	size int
	spid uint16
	buf  []byte
	seq  byte
	err  error
}

func newPacketWriter(w io.Writer, size int, spid uint16) *packetWriter {
	return &packetWriter{w: w, size: size, spid: spid}
}

// begin starts a reply message.
func (p *packetWriter) begin() {
	p.seq = 1
	p.buf = append(p.buf[:0], make([]byte, headerLen)...)
}

// write appends payload bytes, sending every packet that fills up.
func (p *packetWriter) write(b []byte) {
	for len(b) > 0 && p.err == nil {
		room := p.size - len(p.buf)
		if room == 0 {
			p.flush(0)
			continue
		}
		n := min(room, len(b))
		p.buf = append(p.buf, b[:n]...)
		b = b[n:]
	}
}

// end sends the last packet of the message, marked end-of-message.
func (p *packetWriter) end() error {
	p.flush(stEOM)
	return p.err
}

func (p *packetWriter) flush(status byte) {
	if p.err != nil {
		return
	}
	p.buf[0] = pktReply
	p.buf[1] = status
	binary.BigEndian.PutUint16(p.buf[2:], uint16(len(p.buf)))
	binary.BigEndian.PutUint16(p.buf[4:], p.spid)
	p.buf[6] = p.seq
	p.buf[7] = 0
	if _, err := p.w.Write(p.buf); err != nil {
		p.err = err
		return
	}
	p.seq++
	p.buf = p.buf[:headerLen]
}
