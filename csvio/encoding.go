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

// errUTF16 refuses a file saved as UTF-16 ("Unicode text" in Excel), whose
// byte order mark would otherwise read as Windows-1252 noise and give a
// misleading header error.
var errUTF16 = errors.New("the file is UTF-16 (it starts with a UTF-16 byte order mark), which is not read: save it again as UTF-8 (in Excel: CSV UTF-8) or Windows-1252")

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
	case len(p) >= 2 && (p[0] == 0xFF && p[1] == 0xFE || p[0] == 0xFE && p[1] == 0xFF):
		return nil, enc, errUTF16
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
