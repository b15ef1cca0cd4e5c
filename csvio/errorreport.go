package csvio

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// reportHeader is the header of every rejected-rows report: the bulk import
// and the drop folders write the same form, so operators learn it once.
var reportHeader = []string{"line", "column", "value", "reason"}

// maxReportCell is Excel's limit on the characters of one cell: a longer
// value (a quote left open swallows whole lines) would be cut or refused
// when the operator opens the report.
const maxReportCell = 32767

// ErrorReport writes the rows a file could not apply, one per line, as
// line;column;value;reason in UTF-8 with a BOM, which Excel opens with
// accents right.
type ErrorReport struct {
	w *Writer
}

// NewErrorReport writes the BOM and the header to w.
func NewErrorReport(w io.Writer) (*ErrorReport, error) {
	cw, err := NewWriter(w, Dialect{Delimiter: ';', Encoding: EncodingUTF8, BOM: true}, reportHeader)
	if err != nil {
		return nil, err
	}
	return &ErrorReport{w: cw}, nil
}

// Write adds one rejected row. line 0 (not a line of the file) is written
// empty. Text that is not valid UTF-8, such as the raw bytes of a row in
// the wrong encoding, is written with replacement characters: the report
// must never fail because of the very data it reports.
func (r *ErrorReport) Write(line int, column, value, reason string) error {
	l := ""
	if line > 0 {
		l = strconv.Itoa(line)
	}
	return r.w.Write([]string{l, reportCell(column), reportCell(value), reportCell(reason)})
}

// Flush writes out what is buffered; call it once at the end.
func (r *ErrorReport) Flush() error { return r.w.Flush() }

func reportCell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= maxReportCell {
		return s
	}
	n := 0
	for i := range s {
		if n == maxReportCell-3 {
			return s[:i] + "..."
		}
		n++
	}
	return s
}
