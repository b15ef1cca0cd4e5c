package csvio

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxValueInMessage keeps error messages readable when a field holds a whole
// paragraph or a broken multi-line record.
const maxValueInMessage = 60

// RowError is a problem with one row: the reader that returned it can go on
// with the next row, so a caller applies the good rows and reports these.
type RowError struct {
	File   string
	Line   int    // physical line (1-based) where the row starts, or where the bad field is
	Column string // logical column, "" when the problem is the whole row
	Value  string
	Reason string
}

func (e *RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	if e.Column != "" {
		fmt.Fprintf(&b, "column %q: value %q: ", e.Column, truncate(e.Value))
	}
	b.WriteString(e.Reason)
	return b.String()
}

// FileError is a problem that stops the reading of a file: a bad header, an
// undetectable delimiter, a record too long to hold, a read failure. After a
// FileError a reader returns the same error on every call.
type FileError struct {
	File   string
	Line   int
	Reason string
	Err    error // underlying cause, if any (for errors.Is / errors.As)
}

func (e *FileError) Error() string {
	if e.Err != nil && e.Reason == "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Reason, e.Err)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

func (e *FileError) Unwrap() error { return e.Err }

// truncate shortens s to maxValueInMessage runes; invalid UTF-8 is shown
// with replacement characters so the message itself stays valid text.
func truncate(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= maxValueInMessage {
		return s
	}
	n := 0
	for i := range s {
		if n == maxValueInMessage {
			return s[:i] + "..."
		}
		n++
	}
	return s
}
