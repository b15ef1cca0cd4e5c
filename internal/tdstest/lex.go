package tdstest

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies T-SQL tokens.
type tokKind uint8

const (
	tSpace   tokKind = iota // white space
	tComment                // -- ... or /* ... */ (nested, as T-SQL allows)
	tWord                   // a bare identifier or keyword
	tQuoted                 // [identifier] or "identifier"; val is the name
	tString                 // '...' or N'...'; val is the content
	tNumber                 // 12, 1.5, .5, 1e3
	tHex                    // 0x0A1B; val is the hex digits
	tParam                  // @name; val is the lower-case name without @
	tGlobal                 // @@NAME; val is the upper-case name
	tPunct                  // operators and punctuation
)

// token is one lexical unit of a batch.
type token struct {
	kind tokKind
	text string // as written (or as synthesized)
	val  string
	pos  int // byte offset in the batch
	line int // 1-based line in the batch
	// national marks an N'...' literal.
	national bool
}

// upper is the upper-case text of a word, for keyword tests.
func (t token) upper() string { return strings.ToUpper(t.text) }

// is reports whether t is the word kw (case-insensitive).
func (t token) is(kw string) bool { return t.kind == tWord && strings.EqualFold(t.text, kw) }

func (t token) punct(p string) bool { return t.kind == tPunct && t.text == p }

// name is the identifier a word or quoted token stands for.
func (t token) name() string {
	if t.kind == tQuoted {
		return t.val
	}
	return t.text
}

func (t token) isIdent() bool { return t.kind == tWord || t.kind == tQuoted }

// lex splits a batch into tokens; its errors are SQL Server's for
// unclosed quotes and comments.
func lex(sql string) ([]token, error) {
	var toks []token
	line := 1
	i := 0
	emit := func(k tokKind, start int, val string) {
		text := sql[start:i]
		toks = append(toks, token{kind: k, text: text, val: val, pos: start, line: line})
		line += strings.Count(text, "\n")
	}
	for i < len(sql) {
		start := i
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			for i < len(sql) && strings.IndexByte(" \t\n\r\f\v", sql[i]) >= 0 {
				i++
			}
			emit(tSpace, start, "")
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			emit(tComment, start, "")
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			depth := 0
			for {
				if i+1 >= len(sql) {
					return nil, &sqlError{number: 113, class: 15, msg: "Missing end comment mark '*/'."}
				}
				if sql[i] == '/' && sql[i+1] == '*' {
					depth++
					i += 2
					continue
				}
				if sql[i] == '*' && sql[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
			emit(tComment, start, "")
		case c == '\'' || ((c == 'N' || c == 'n') && i+1 < len(sql) && sql[i+1] == '\''):
			if c != '\'' {
				i++
			}
			val, n, ok := scanQuoted(sql[i:], '\'', '\'')
			if !ok {
				return nil, errorf(errUnclosedQuote, "Unclosed quotation mark after the character string '%s'.", shorten(sql[i+1:]))
			}
			i += n
			emit(tString, start, val)
			toks[len(toks)-1].national = c != '\''

		case c == '[':
			val, n, ok := scanQuoted(sql[i:], '[', ']')
			if !ok {
				return nil, errorf(errUnclosedQuote, "Unclosed quotation mark after the character string '%s'.", shorten(sql[i+1:]))
			}
			i += n
			emit(tQuoted, start, val)
		case c == '"':
			val, n, ok := scanQuoted(sql[i:], '"', '"')
			if !ok {
				return nil, errorf(errUnclosedQuote, "Unclosed quotation mark after the character string '%s'.", shorten(sql[i+1:]))
			}
			i += n
			emit(tQuoted, start, val)
		case c == '0' && i+1 < len(sql) && (sql[i+1] == 'x' || sql[i+1] == 'X'):
			i += 2
			for i < len(sql) && isHexDigit(sql[i]) {
				i++
			}
			emit(tHex, start, sql[start+2:i])
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9'):
			for i < len(sql) && (sql[i] >= '0' && sql[i] <= '9' || sql[i] == '.') {
				i++
			}
			if i < len(sql) && (sql[i] == 'e' || sql[i] == 'E') {
				j := i + 1
				if j < len(sql) && (sql[j] == '+' || sql[j] == '-') {
					j++
				}
				if j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
					i = j
					for i < len(sql) && sql[i] >= '0' && sql[i] <= '9' {
						i++
					}
				}
			}
			emit(tNumber, start, "")
		case c == '@':
			global := i+1 < len(sql) && sql[i+1] == '@'
			if global {
				i += 2
			} else {
				i++
			}
			for i < len(sql) {
				r, n := utf8.DecodeRuneInString(sql[i:])
				if !isIdentRune(r) {
					break
				}
				i += n
			}
			if global {
				emit(tGlobal, start, strings.ToUpper(sql[start+2:i]))
			} else {
				emit(tParam, start, strings.ToLower(sql[start+1:i]))
			}
		default:
			r, n := utf8.DecodeRuneInString(sql[i:])
			if r == '#' || r == '_' || unicode.IsLetter(r) {
				i += n
				for i < len(sql) {
					r, n := utf8.DecodeRuneInString(sql[i:])
					if !isIdentRune(r) {
						break
					}
					i += n
				}
				emit(tWord, start, "")
				continue
			}
			for _, op := range []string{"<>", "!=", "<=", ">=", "!<", "!>", "||", "+=", "-=", "*=", "/=", "::"} {
				if strings.HasPrefix(sql[i:], op) {
					i += len(op)
					break
				}
			}
			if i == start {
				i += n
			}
			emit(tPunct, start, "")
		}
	}
	return toks, nil
}

// scanQuoted reads a token opened by open and closed by close, where a
// doubled close stands for itself. It returns the unescaped content and
// the token's length.
func scanQuoted(s string, open, close byte) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == close {
			if i+1 < len(s) && s[i+1] == close {
				b.WriteByte(close)
				i++
				continue
			}
			return b.String(), i + 1, true
		}
		b.WriteByte(s[i])
	}
	return "", 0, false
}

func isIdentRune(r rune) bool {
	return r == '_' || r == '#' || r == '$' || r == '@' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// significant drops white space and comments.
func significant(toks []token) []token {
	out := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.kind != tSpace && t.kind != tComment {
			out = append(out, t)
		}
	}
	return out
}

// render joins tokens into SQLite text, one space apart.
func render(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// matchParen returns the index of the ')' closing the '(' at i, or -1.
func matchParen(toks []token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch {
		case toks[j].punct("("):
			depth++
		case toks[j].punct(")"):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// splitTop splits toks at the commas outside parentheses.
func splitTop(toks []token) [][]token {
	var parts [][]token
	depth, start := 0, 0
	for i, t := range toks {
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case t.punct(",") && depth == 0:
			parts = append(parts, toks[start:i])
			start = i + 1
		}
	}
	return append(parts, toks[start:])
}

// Synthesized tokens.
func word(s string) token  { return token{kind: tWord, text: s} }
func punct(s string) token { return token{kind: tPunct, text: s} }
func str(s string) token   { return token{kind: tString, text: quoteLiteral(s), val: s} }
func quotedIdent(name string) token {
	return token{kind: tQuoted, text: `"` + strings.ReplaceAll(name, `"`, `""`) + `"`, val: name}
}
func number(n int64) token { return token{kind: tNumber, text: itoa64(n)} }
