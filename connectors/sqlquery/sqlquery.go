// Package sqlquery reads the named placeholders (:name) of the queries
// operators write for SQL connectors and rewrites them for a driver:
// @name for SQL Server, ? for MySQL. It knows just enough SQL to leave
// alone what only looks like a placeholder: text in strings, quoted
// identifiers and comments, casts (::) and assignments (:=).
//
// Strings are read the standard way, where a quote inside a string is
// written twice. MySQL's backslash escapes (a backslash before a quote)
// are not understood, and # starts no comment (on SQL Server it starts a
// temporary table's name).
package sqlquery

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Drivers a query can be rewritten for.
const (
	DriverSQLServer = "sqlserver"
	DriverMySQL     = "mysql"
)

// Query is an operator's query split at its placeholders.
type Query struct {
	// parts alternate text and placeholders: parts[0] is text, then a
	// placeholder name, text, a name, ..., text; the text may be empty.
	parts []string
	names []string // distinct, in order of first use
}

// ErrEmpty is the error of a query with nothing but spaces and comments.
var ErrEmpty = errors.New("the query is empty: write the SELECT the connector runs")

// SyntaxError is a query that cannot be read: something opened and never
// closed. Line and Column (from 1, columns in characters) are where it
// opened.
type SyntaxError struct {
	Line, Column int
	What         string // e.g. "string", "quoted identifier", "comment"
	Close        string // what should close it
}

func (e *SyntaxError) Error() string {
	s := fmt.Sprintf("line %d:%d: unterminated %s: close it with %s", e.Line, e.Column, e.What, e.Close)
	if e.What != "comment" {
		s += fmt.Sprintf(" (a %s inside it is written twice: %s%s)", e.Close, e.Close, e.Close)
	}
	return s
}

// isNameByte tells whether c may be part of a placeholder's name.
func isNameByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// SeveralError is a query that holds more than one statement: a
// connector runs one SELECT, and a second statement after a ';' could
// write. Line and Column (from 1, columns in characters) are where the
// second one starts.
type SeveralError struct {
	Line, Column int
}

func (e *SeveralError) Error() string {
	return fmt.Sprintf("line %d:%d: a second statement after ';': the query must be one SELECT (a ';' at its end is allowed)", e.Line, e.Column)
}

// Parse finds the :name placeholders of an operator's query. Placeholders
// inside '...' and N'...' strings, "..." / [..] / `..` quoted
// identifiers, -- and /* */ comments are not placeholders; `::` and `:=`
// are not placeholders. Errors (unterminated string, quoted identifier or
// comment; empty query; more than one statement) say line:column.
func Parse(text string) (*Query, error) {
	q := &Query{}
	var (
		b       strings.Builder // the text part being read
		content bool            // something other than spaces and comments was seen
		stmt    bool            // ... since the last ';' outside strings and comments
		ended   bool            // a ';' ended a statement that had content
		seen    = map[string]bool{}
	)
	// begin notes content at offset off: a second statement is an error.
	begin := func(off int) error {
		if !stmt && ended {
			line, col := position(text, off)
			return &SeveralError{Line: line, Column: col}
		}
		content, stmt = true, true
		return nil
	}
	// skipQuoted reads from i, the opening character, to its closing one,
	// which is doubled to stand for itself; it returns the index after it.
	skipQuoted := func(i int, closing byte, what string) (int, error) {
		for j := i + 1; j < len(text); j++ {
			if text[j] != closing {
				continue
			}
			if j+1 < len(text) && text[j+1] == closing {
				j++
				continue
			}
			return j + 1, nil
		}
		line, col := position(text, i)
		return 0, &SyntaxError{Line: line, Column: col, What: what, Close: string(closing)}
	}
	for i := 0; i < len(text); {
		c := text[i]
		start := i
		switch {
		case c == '\'':
			end, err := skipQuoted(i, '\'', "string")
			if err != nil {
				return nil, err
			}
			i = end
		case c == '"':
			end, err := skipQuoted(i, '"', "quoted identifier")
			if err != nil {
				return nil, err
			}
			i = end
		case c == '`':
			end, err := skipQuoted(i, '`', "quoted identifier")
			if err != nil {
				return nil, err
			}
			i = end
		case c == '[':
			end, err := skipQuoted(i, ']', "bracketed identifier")
			if err != nil {
				return nil, err
			}
			i = end
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				i = len(text)
			} else {
				i += end
			}
			b.WriteString(text[start:i])
			continue
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				line, col := position(text, i)
				return nil, &SyntaxError{Line: line, Column: col, What: "comment", Close: "*/"}
			}
			i += 2 + end + 2
			b.WriteString(text[start:i])
			continue
		case c == ':' && i+1 < len(text) && (text[i+1] == ':' || text[i+1] == '='):
			i += 2
		case c == ':' && i+1 < len(text) && isNameByte(text[i+1]):
			j := i + 1
			for j < len(text) && isNameByte(text[j]) {
				j++
			}
			name := text[i+1 : j]
			if err := begin(start); err != nil {
				return nil, err
			}
			q.parts = append(q.parts, b.String(), name)
			b.Reset()
			if !seen[name] {
				seen[name] = true
				q.names = append(q.names, name)
			}
			i = j
			continue
		case c == ';':
			ended = ended || stmt
			stmt = false
			i++
			b.WriteString(text[start:i])
			continue
		default:
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' {
				if err := begin(start); err != nil {
					return nil, err
				}
			}
			b.WriteString(text[start:i])
			continue
		}
		if err := begin(start); err != nil {
			return nil, err
		}
		b.WriteString(text[start:i])
	}
	if !content {
		return nil, ErrEmpty
	}
	q.parts = append(q.parts, b.String())
	return q, nil
}

// position gives the line and column (from 1, in characters) of byte
// offset off of text.
func position(text string, off int) (line, col int) {
	before := text[:off]
	line = strings.Count(before, "\n") + 1
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		before = before[nl+1:]
	}
	return line, utf8.RuneCountInString(before) + 1
}

// Names returns the distinct placeholder names, in order of first use.
func (q *Query) Names() []string {
	return append([]string(nil), q.names...)
}

// For rewrites the query for a driver: "sqlserver" gives @name (args:
// distinct names, bound with sql.Named), "mysql" gives ? per occurrence
// (args: one name per occurrence, positional). Unknown driver is an
// error.
func (q *Query) For(driver string) (text string, args []string, err error) {
	var b strings.Builder
	switch driver {
	case DriverSQLServer:
		for i, p := range q.parts {
			if i%2 == 1 {
				b.WriteByte('@')
			}
			b.WriteString(p)
		}
		return b.String(), q.Names(), nil
	case DriverMySQL:
		for i, p := range q.parts {
			if i%2 == 1 {
				b.WriteByte('?')
				args = append(args, p)
				continue
			}
			b.WriteString(p)
		}
		return b.String(), args, nil
	}
	return "", nil, fmt.Errorf("unknown driver %q: use %s or %s", driver, DriverSQLServer, DriverMySQL)
}
