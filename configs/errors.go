package configs

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a configuration file. It names where the problem
// is (file, line, key path such as "programs[1].expiry.days") so an operator
// can go straight to it, and Msg says what is wrong and what to do.
type Error struct {
	File string
	Line int    // 1-based; 0 when the problem is not on one line
	Key  string // key path; empty when the problem is about the whole file
	Msg  string
	Err  error // the cause, when there is one (an OS error, for example)
}

// Error formats the problem as FILE:LINE: KEY: MSG, leaving out the line
// when it is 0 and the key when it is empty, the form editors and CI logs
// turn into links.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap gives the cause, so errors.Is(err, fs.ErrNotExist) works on a
// missing secret or configuration file.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in one configuration file, sorted by line.
// Loading collects them all so an operator fixes a file in one pass.
type Errors []*Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem, so errors.As(err, &e) with e an *Error finds
// the first one.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted orders problems by line then key and drops exact repeats, which
// appear when an anchored block is used by more than one alias.
func (es Errors) sorted() Errors {
	out := slices.Clone(es)
	slices.SortStableFunc(out, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Key, b.Key))
	})
	return slices.CompactFunc(out, func(a, b *Error) bool {
		return a.Line == b.Line && a.Key == b.Key && a.Msg == b.Msg
	})
}

// maxErrors is how many problems are listed. More usually means the wrong
// file was given, and thousands of lines would hide that.
const maxErrors = 50

// asError returns nil for no problems (a nil Errors in an error interface
// would not compare equal to nil), else the problems sorted, at most
// maxErrors of them plus a count of the rest; dropped is how many were
// not even kept.
func (es Errors) asError(dropped int) error {
	if len(es) == 0 {
		return nil
	}
	out := es.sorted()
	if more := len(out) - maxErrors + dropped; more > 0 {
		out = append(out[:min(len(out), maxErrors):maxErrors],
			&Error{File: out[0].File, Msg: fmt.Sprintf("%d more problems not shown; is this the right file?", more)})
	}
	return out
}
