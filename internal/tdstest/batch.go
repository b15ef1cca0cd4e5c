package tdstest

import "strings"

// stmtKind says how a statement of a batch is executed.
type stmtKind int

const (
	skSQL         stmtKind = iota // translated and run on SQLite
	skSet                         // SET option
	skBegin                       // BEGIN TRAN
	skCommit                      // COMMIT
	skRollback                    // ROLLBACK
	skWaitfor                     // WAITFOR DELAY
	skPrint                       // PRINT
	skUse                         // USE database
	skCreateTable                 // CREATE TABLE: translated by ddl.go
	skAlterTable                  // ALTER TABLE: translated by ddl.go
	skDropTable                   // DROP TABLE: translated by ddl.go
	skUnsupported                 // recognised, refused with a clear error
)

// statement is one statement of a batch, split but not yet translated:
// translation happens just before it runs, so @@TRANCOUNT and the like
// see the effects of the statements before it.
type statement struct {
	kind stmtKind
	toks []token // without white space and comments
	line int     // of its first token, 1-based
	text string  // as written, for logs and messages
}

// statementStarters are the keywords that begin a T-SQL statement.
var statementStarters = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "WITH": true, "SET": true,
	"BEGIN": true, "COMMIT": true, "ROLLBACK": true, "SAVE": true, "CREATE": true, "DROP": true,
	"ALTER": true, "TRUNCATE": true, "WAITFOR": true, "EXEC": true, "EXECUTE": true, "DECLARE": true,
	"PRINT": true, "USE": true, "IF": true, "WHILE": true, "RETURN": true, "MERGE": true, "GO": true,
	"RAISERROR": true, "THROW": true,
}

// splitBatch lexes a batch and splits it into statements: at every ';'
// outside parentheses, after a complete control statement (SET ...,
// BEGIN TRAN, COMMIT, ROLLBACK, WAITFOR DELAY '...', USE db) and before
// one, so that "SET NOCOUNT ON SELECT 1" is two statements as in SQL
// Server. Other statements must be separated by ';'.
func splitBatch(sql string) ([]statement, error) {
	all, err := lex(sql)
	if err != nil {
		return nil, err
	}
	toks := significant(all)
	var out []statement
	emit := func(seg []token) {
		for len(seg) > 0 {
			if n := controlLen(seg); n > 0 && n < len(seg) {
				out = append(out, newStatement(sql, seg[:n]))
				seg = seg[n:]
				continue
			}
			k := nextStatement(seg)
			out = append(out, newStatement(sql, seg[:k]))
			seg = seg[k:]
		}
	}
	depth, start := 0, 0
	for i, t := range toks {
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case t.punct(";") && depth <= 0:
			emit(toks[start:i])
			start, depth = i+1, 0
		}
	}
	emit(toks[start:])
	return out, nil
}

// nextStatement returns where the statement starting seg ends: before
// the first control statement that cannot belong to it, or len(seg).
func nextStatement(seg []token) int {
	depth := 0
	for i := 1; i < len(seg); i++ {
		switch {
		case seg[i].punct("("):
			depth++
		case seg[i].punct(")"):
			depth--
		case depth == 0 && startsControl(seg, i, seg[0]):
			return i
		}
	}
	return len(seg)
}

// startsControl reports whether toks[i] begins a control statement that
// cannot be part of the statement begun by first.
func startsControl(toks []token, i int, first token) bool {
	t := toks[i]
	switch {
	case t.is("COMMIT"), t.is("ROLLBACK"), t.is("WAITFOR"):
		return true
	case t.is("BEGIN"):
		return i+1 < len(toks) && (toks[i+1].is("TRAN") || toks[i+1].is("TRANSACTION") || toks[i+1].is("DISTRIBUTED"))
	case t.is("SET"):
		// UPDATE ... SET, MERGE ... SET, ALTER ... SET and the ON DELETE
		// SET NULL of DDL keep theirs.
		for _, kw := range []string{"SELECT", "INSERT", "DELETE", "TRUNCATE", "DROP", "SET", "COMMIT", "ROLLBACK", "BEGIN", "WAITFOR", "USE", "PRINT"} {
			if first.is(kw) {
				return true
			}
		}
	}
	return false
}

// controlLen returns how many tokens the control statement at the start
// of seg takes, or 0 when seg does not start with one whose end is known.
func controlLen(seg []token) int {
	at := func(i int) token {
		if i < len(seg) {
			return seg[i]
		}
		return token{}
	}
	isName := func(t token) bool {
		return (t.kind == tWord && !statementStarters[t.upper()]) || t.kind == tQuoted || t.kind == tParam
	}
	switch first := seg[0]; {
	case first.is("SET"):
		if at(1).is("TRANSACTION") {
			// SET TRANSACTION ISOLATION LEVEL READ COMMITTED
			if at(4).is("READ") || at(4).is("REPEATABLE") {
				return 6
			}
			return 5
		}
		switch at(1).upper() {
		case "TEXTSIZE", "LOCK_TIMEOUT", "ROWCOUNT", "DATEFORMAT", "DATEFIRST", "LANGUAGE",
			"DEADLOCK_PRIORITY", "QUERY_GOVERNOR_COST_LIMIT", "CONTEXT_INFO":
			if at(2).punct("-") || at(2).punct("+") {
				return 4
			}
			return 3
		}
		if at(1).kind == tParam {
			return 0
		}
		for i := 1; i < len(seg); i++ {
			if seg[i].is("ON") || seg[i].is("OFF") {
				return i + 1
			}
		}
		return 0
	case first.is("BEGIN"):
		n := 1
		if at(n).is("DISTRIBUTED") {
			n++
		}
		if !at(n).is("TRAN") && !at(n).is("TRANSACTION") {
			return 0
		}
		n++
		if isName(at(n)) {
			n++
		}
		return n
	case first.is("COMMIT"), first.is("ROLLBACK"):
		n := 1
		if at(n).is("TRAN") || at(n).is("TRANSACTION") || at(n).is("WORK") {
			n++
			if isName(at(n)) {
				n++
			}
		}
		return n
	case first.is("WAITFOR"):
		return 3
	case first.is("USE"):
		return 2
	}
	return 0
}

func newStatement(sql string, toks []token) statement {
	first, last := toks[0], toks[len(toks)-1]
	st := statement{toks: toks, line: first.line, text: sql[first.pos : last.pos+len(last.text)]}
	w := func(i int) string {
		if i < len(toks) && toks[i].kind == tWord {
			return toks[i].upper()
		}
		return ""
	}
	switch w(0) {
	case "SET":
		st.kind = skSet
	case "BEGIN":
		st.kind = skUnsupported
		if w(1) == "TRAN" || w(1) == "TRANSACTION" || w(1) == "DISTRIBUTED" {
			st.kind = skBegin
		}
	case "COMMIT":
		st.kind = skCommit
	case "ROLLBACK":
		st.kind = skRollback
	case "WAITFOR":
		st.kind = skWaitfor
	case "PRINT":
		st.kind = skPrint
	case "USE":
		st.kind = skUse
	case "CREATE":
		switch {
		case w(1) == "TABLE":
			st.kind = skCreateTable
		case w(1) == "PROCEDURE" || w(1) == "PROC" || w(1) == "FUNCTION" || w(1) == "TRIGGER" || w(1) == "TYPE" || w(1) == "SCHEMA" || w(1) == "DATABASE" || w(1) == "SEQUENCE":
			st.kind = skUnsupported
		}
	case "ALTER":
		st.kind = skUnsupported
		if w(1) == "TABLE" {
			st.kind = skAlterTable
		}
	case "DROP":
		if w(1) == "TABLE" {
			st.kind = skDropTable
		}
	case "SAVE", "DECLARE", "EXEC", "EXECUTE", "IF", "WHILE", "RETURN", "MERGE", "RAISERROR", "THROW", "GOTO", "GO":
		st.kind = skUnsupported
	}
	return st
}

// unsupportedError explains why a recognised statement is refused.
func unsupportedError(st statement) *sqlError {
	what := strings.ToUpper(st.toks[0].text)
	if len(st.toks) > 1 && st.toks[1].kind == tWord {
		what += " " + strings.ToUpper(st.toks[1].text)
	}
	hint := ""
	switch strings.ToUpper(st.toks[0].text) {
	case "DECLARE":
		hint = " Local variables are not emulated: pass parameters instead."
	case "EXEC", "EXECUTE":
		hint = " Stored procedures are not emulated."
	case "IF", "WHILE", "BEGIN":
		hint = " Control-of-flow language is not emulated: use DROP TABLE IF EXISTS and the like."
	case "SAVE":
		hint = " Savepoints are not emulated."
	}
	return errorf(errUnsupported, "tdstest does not support %s statements (line %d).%s", what, st.line, hint)
}
