package csvio

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// sampleSize is how much of a file EncodingAuto looks at. Tills and Excel
// put accented names in the first rows often enough; a file that turns out
// to be Windows-1252 further on gets a row error telling how to configure it.
const sampleSize = 64 << 10

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decode strips a UTF-8 BOM, settles the encoding and returns the file as
// UTF-8 text. br must have a buffer of at least sampleSize bytes.
func decode(br *bufio.Reader, enc Encoding) (io.Reader, Encoding, error) {
	hasBOM := false
	p, err := br.Peek(len(utf8BOM))
	switch {
	case bytes.Equal(p, utf8BOM):
		hasBOM = true
		if _, err := br.Discard(len(utf8BOM)); err != nil {
			return nil, enc, err
		}
	case err != nil && !errors.Is(err, io.EOF):
		return nil, enc, err
	}
	if enc == EncodingAuto {
		enc = EncodingUTF8
		if !hasBOM {
			sample, err := br.Peek(sampleSize)
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
				return nil, enc, err
			}
			if !looksUTF8(sample, len(sample) == sampleSize) {
				enc = EncodingWindows1252
			}
		}
	}
	if enc == EncodingWindows1252 {
		return transform.NewReader(br, charmap.Windows1252.NewDecoder()), enc, nil
	}
	return br, enc, nil
}

// looksUTF8 reports whether b is valid UTF-8. When b was cut from a longer
// file, a rune split by the cut is not held against it.
func looksUTF8(b []byte, cut bool) bool {
	if cut {
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}
