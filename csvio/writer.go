package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// Writer writes a CSV file with a header in a dialect: delimiter, encoding,
// BOM and Windows line ends (Excel opens them everywhere). Values are
// written as given; formatting numbers and dates is the caller's part.
type Writer struct {
	out    *bufio.Writer
	rec    bytes.Buffer // one record, UTF-8, before encoding
	csv    *csv.Writer
	enc    *encoding.Encoder // nil for UTF-8
	fields int
	header []string
	row    int
	err    error
}

// NewWriter writes the BOM (if asked) and the header.
func NewWriter(w io.Writer, d Dialect, header []string) (*Writer, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if len(header) == 0 {
		return nil, errors.New("csv writer: no columns")
	}
	wr := &Writer{out: bufio.NewWriter(w), fields: len(header), header: header}
	wr.csv = csv.NewWriter(&wr.rec)
	wr.csv.Comma = d.Delimiter
	if wr.csv.Comma == 0 {
		wr.csv.Comma = ';'
	}
	wr.csv.UseCRLF = true
	if d.Encoding == EncodingWindows1252 {
		if d.BOM {
			return nil, errors.New("bom: a byte order mark exists only for UTF-8; turn it off or use encoding utf-8")
		}
		wr.enc = charmap.Windows1252.NewEncoder()
	}
	if d.BOM {
		if _, err := wr.out.Write(utf8BOM); err != nil {
			return nil, err
		}
	}
	if err := wr.write(header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	return wr, nil
}

// Write adds one row. A value the encoding cannot hold fails that row and
// nothing of it is written, so the caller can report it and go on.
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	if len(record) != w.fields {
		return fmt.Errorf("row %d has %d values for %d columns", w.row+1, len(record), w.fields)
	}
	return w.write(record)
}

func (w *Writer) write(record []string) error {
	w.rec.Reset()
	if err := w.csv.Write(record); err != nil {
		return err
	}
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	b := w.rec.Bytes()
	if w.enc == nil {
		if !utf8.Valid(b) {
			return fmt.Errorf("%s is not valid UTF-8", w.badField(record, func(s string) bool { return !utf8.ValidString(s) }))
		}
	} else {
		var err error
		if b, err = w.enc.Bytes(b); err != nil {
			return w.unencodable(record)
		}
	}
	w.row++
	if _, err := w.out.Write(b); err != nil {
		w.err = err
		return err
	}
	return nil
}

// unencodable names the first character Windows-1252 lacks, so the operator
// can fix the data or switch the file to UTF-8; writing '?' instead would
// silently change a customer's name or code.
func (w *Writer) unencodable(record []string) error {
	for i, f := range record {
		for _, r := range f {
			if _, err := w.enc.String(string(r)); err != nil || r == utf8.RuneError {
				return fmt.Errorf("column %q: character %q (%U) cannot be written in Windows-1252; change it or set the file's encoding to utf-8", w.header[i], r, r)
			}
		}
	}
	return errors.New("a value cannot be written in Windows-1252; set the file's encoding to utf-8")
}

func (w *Writer) badField(record []string, bad func(string) bool) string {
	for i, f := range record {
		if bad(f) {
			return fmt.Sprintf("column %q", w.header[i])
		}
	}
	return "a value"
}

// Flush writes out what is buffered; call it once at the end.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.out.Flush(); err != nil {
		w.err = err
		return err
	}
	return nil
}
