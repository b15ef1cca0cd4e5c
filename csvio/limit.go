package csvio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxRecordBytes is the most one record (a row, with all its lines when a
// quoted field holds newlines) may take. encoding/csv would otherwise keep
// reading into one record until a closing quote, which for a quote left open
// in a 10 GB file means 10 GB of memory.
const MaxRecordBytes = 1 << 20

// readAhead is the buffer between limitReader and encoding/csv: bytes
// delivered but not yet parsed, allowed on top of the record cap.
const readAhead = 64 << 10

// errRecordTooLong is the cause inside the FileError of an oversized record.
var errRecordTooLong = errors.New("record too long")

type tooLongError struct {
	line      int // line being read when the cap was passed
	startLine int // the record began on this line or later
	max       int64
}

func (e *tooLongError) Error() string {
	return fmt.Sprintf("more than %d bytes without the end of a record since line %d: a line this long, or a quote opened and never closed, cannot be read", e.max, e.startLine)
}

func (e *tooLongError) Unwrap() error { return errRecordTooLong }

// limitReader sits under encoding/csv. It bounds what one record can cost
// by counting the bytes handed over since the reader marked the end of the
// last record, and it notes which lines end with a quote: with that the
// reader can tell whether a row's last field was quoted, to trim spaces only
// around unquoted fields.
type limitReader struct {
	r         io.Reader
	max       int64 // record cap, without the read-ahead allowance
	delivered int64
	base      int64 // offset where the current record starts
	baseLine  int
	line      int // line of the next byte, 1-based

	// The last two bytes of the current line and its length, carried across
	// reads because a line end can fall anywhere in a buffer.
	b1, b2  byte
	lineLen int

	quoteEnds []int // lines ending with '"', ascending
	qhead     int
	eof       bool
	err       error
}

func newLimitReader(r io.Reader, max int64) *limitReader {
	return &limitReader{r: r, max: max, line: 1, baseLine: 1}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	room := l.base + l.max + readAhead - l.delivered
	if room <= 0 {
		// Sticky: bufio and encoding/csv do not remember errors, and going
		// on after an oversized record would misplace every later line.
		l.err = &tooLongError{line: l.line, startLine: l.baseLine, max: l.max}
		return 0, l.err
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	data := p[:n]
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			l.feed(data)
			break
		}
		l.feed(data[:i])
		l.endLine()
		l.line++
		data = data[i+1:]
	}
	l.delivered += int64(n)
	if errors.Is(err, io.EOF) && !l.eof {
		l.eof = true
		if l.lineLen > 0 {
			l.endLine()
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = err
	}
	return n, err
}

func (l *limitReader) feed(b []byte) {
	switch len(b) {
	case 0:
	case 1:
		l.b1, l.b2 = l.b2, b[0]
	default:
		l.b1, l.b2 = b[len(b)-2], b[len(b)-1]
	}
	l.lineLen += len(b)
}

// endLine records whether the line just finished ends with a quote, after
// dropping one '\r' as encoding/csv does.
func (l *limitReader) endLine() {
	last, n := l.b2, l.lineLen
	if n > 0 && last == '\r' {
		last, n = l.b1, n-1
	}
	if n > 0 && last == '"' {
		l.quoteEnds = append(l.quoteEnds, l.line)
	}
	l.lineLen, l.b1, l.b2 = 0, 0, 0
}

// endsWithQuote reports whether line ended with a quote. Lines must be asked
// in ascending order.
func (l *limitReader) endsWithQuote(line int) bool {
	l.drop(line)
	return l.qhead < len(l.quoteEnds) && l.quoteEnds[l.qhead] == line
}

// mark tells that encoding/csv has consumed everything up to offset, where
// a record ended on endLine.
func (l *limitReader) mark(offset int64, endLine int) {
	l.base = offset
	l.baseLine = endLine + 1
	l.drop(endLine + 1)
}

// drop forgets the lines before line.
func (l *limitReader) drop(line int) {
	for l.qhead < len(l.quoteEnds) && l.quoteEnds[l.qhead] < line {
		l.qhead++
	}
	if l.qhead == len(l.quoteEnds) {
		l.quoteEnds, l.qhead = l.quoteEnds[:0], 0
	} else if l.qhead > 1024 && l.qhead > len(l.quoteEnds)/2 {
		n := copy(l.quoteEnds, l.quoteEnds[l.qhead:])
		l.quoteEnds, l.qhead = l.quoteEnds[:n], 0
	}
}
