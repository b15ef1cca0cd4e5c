package tdstest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// env is the session state a statement's translation depends on.
type env struct {
	database  string
	user      string
	spid      int
	tranCount int
	rowCount  int64
	// params are the types of the request's parameters, by lower-case
	// name without @, for the metadata of "SELECT @p".
	params map[string]sqlType
}

// hint tells the executor the SQL Server type (and name) of a result
// column that SQLite cannot describe: an expression.
type hint struct {
	typ     *sqlType
	param   string // the column is this parameter
	column  string // the column is this column of the statement's target table
	unnamed bool   // SQL Server gives the column no name
}

// translation is a statement rewritten for SQLite.
type translation struct {
	sql    string
	params []string // lower-case parameter names it references
	verb   string   // SELECT, INSERT, UPDATE, DELETE, or "" for others
	target string   // the table of an INSERT, UPDATE or DELETE
	front  []hint   // hints for the columns counted from the first
	back   []hint   // hints for the columns counted from the last
}

// xlat holds the state of one statement's translation.
type xlat struct {
	env    *env
	params map[string]bool
	order  []string
}

const serverVersion = "Microsoft SQL Server 2022 (RTM) - 16.0.1000 (tdstest: a loopback TDS emulation backed by SQLite)"

// translate rewrites one T-SQL statement (kind skSQL) for SQLite.
func translate(toks []token, e *env) (translation, error) {
	x := &xlat{env: e, params: map[string]bool{}}
	var tr translation
	toks, err := x.normalize(toks)
	if err != nil {
		return tr, err
	}
	if len(toks) == 0 {
		return tr, nil
	}
	tr.verb = mainVerb(toks)
	if tr.verb == "SELECT" {
		toks, tr.front, tr.back, err = x.selectList(toks)
		if err != nil {
			return tr, err
		}
	}
	toks, err = x.rewriteExpr(toks)
	if err != nil {
		return tr, err
	}
	toks, err = rewriteTop(toks)
	if err != nil {
		return tr, err
	}
	toks, err = rewriteOffsetFetch(toks)
	if err != nil {
		return tr, err
	}
	switch tr.verb {
	case "INSERT", "UPDATE", "DELETE":
		tr.target = targetTable(toks)
		toks, tr.front, err = rewriteOutput(toks, tr.verb, tr.target)
		if err != nil {
			return tr, err
		}
	}
	tr.sql = render(toks)
	tr.params = x.order
	return tr, nil
}

// mainVerb is the statement's kind: its first keyword, or for a WITH
// (common table expressions) the first statement keyword after them.
func mainVerb(toks []token) string {
	first := toks[0].upper()
	if toks[0].kind != tWord {
		return ""
	}
	if first != "WITH" {
		switch first {
		case "SELECT", "INSERT", "UPDATE", "DELETE":
			return first
		}
		return ""
	}
	depth := 0
	for _, t := range toks[1:] {
		switch {
		case t.punct("("):
			depth++
		case t.punct(")"):
			depth--
		case depth == 0 && t.kind == tWord:
			switch u := t.upper(); u {
			case "SELECT", "INSERT", "UPDATE", "DELETE":
				return u
			}
		}
	}
	return ""
}

// tableHints are the T-SQL table hints dropped from WITH (...).
var tableHints = map[string]bool{
	"NOLOCK": true, "READUNCOMMITTED": true, "UPDLOCK": true, "REPEATABLEREAD": true, "SERIALIZABLE": true,
	"READCOMMITTED": true, "READCOMMITTEDLOCK": true, "TABLOCK": true, "TABLOCKX": true, "PAGLOCK": true,
	"ROWLOCK": true, "NOWAIT": true, "READPAST": true, "XLOCK": true, "SNAPSHOT": true, "HOLDLOCK": true,
	"NOEXPAND": true, "FORCESEEK": true, "FORCESCAN": true,
}

// notTableName are keywords a '(' may follow that are no table name.
var notTableName = map[string]bool{
	"IN": true, "VALUES": true, "EXISTS": true, "ANY": true, "ALL": true, "SOME": true, "AND": true, "OR": true,
	"NOT": true, "ON": true, "WHERE": true, "THEN": true, "ELSE": true, "WHEN": true, "AS": true, "OVER": true,
	"KEY": true, "CHECK": true, "TOP": true, "USING": true, "INTO": true, "SELECT": true, "RETURN": true,
}

// isHintGroup reports whether toks[i] is '(' opening a list of table hints.
func isHintGroup(toks []token, i int) (end int, ok bool) {
	if i >= len(toks) || !toks[i].punct("(") {
		return 0, false
	}
	end = matchParen(toks, i)
	if end < 0 || end == i+1 {
		return 0, false
	}
	for _, t := range toks[i+1 : end] {
		if !t.punct(",") && !(t.kind == tWord && tableHints[t.upper()]) {
			return 0, false
		}
	}
	return end, true
}

// normalize rewrites the lexical differences: N'...' literals, [names],
// 0x literals, #temp names, schema prefixes, @@globals, table hints,
// OPTION (...), COLLATE, string concatenation with '+'.
func (x *xlat) normalize(toks []token) ([]token, error) {
	out := make([]token, 0, len(toks))
	switch {
	case len(toks) >= 2 && toks[0].is("TRUNCATE") && toks[1].is("TABLE"):
		toks = append([]token{word("DELETE"), word("FROM")}, toks[2:]...)
	case len(toks) >= 2 && toks[0].is("DELETE") && toks[1].isIdent() && !toks[1].is("FROM") && !toks[1].is("TOP"):
		// T-SQL: DELETE table (FROM is optional)
		toks = append([]token{toks[0], word("FROM")}, toks[1:]...)
	case len(toks) >= 2 && toks[0].is("INSERT") && toks[1].isIdent() && !toks[1].is("INTO") && !toks[1].is("TOP"):
		// T-SQL: INSERT table (INTO is optional)
		toks = append([]token{toks[0], word("INTO")}, toks[1:]...)
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tString:
			lit := str(t.val)
			lit.national = t.national
			out = append(out, lit)
		case tHex:
			digits := t.val
			if len(digits)%2 == 1 {
				digits = "0" + digits
			}
			out = append(out, token{kind: tHex, text: "X'" + digits + "'", val: digits})
		case tParam:
			if !x.params[t.val] {
				x.params[t.val] = true
				x.order = append(x.order, t.val)
			}
			out = append(out, token{kind: tParam, text: "@" + t.val, val: t.val})
		case tGlobal:
			rep, err := x.global(t)
			if err != nil {
				return nil, err
			}
			out = append(out, rep...)
		case tWord, tQuoted:
			if t.kind == tWord {
				switch {
				case t.is("WITH"):
					if end, ok := isHintGroup(toks, i+1); ok {
						i = end
						continue
					}
				case t.is("OPTION") && i+1 < len(toks) && toks[i+1].punct("("):
					if end := matchParen(toks, i+1); end > 0 {
						i = end
						continue
					}
				case t.is("COLLATE") && i+1 < len(toks) && toks[i+1].isIdent():
					out = append(out, t, word(collationFor(toks[i+1].name())))
					i++
					continue
				case t.is("CURRENT_TIMESTAMP"):
					out = append(out, word("tds_now"), punct("("), punct(")"))
					continue
				}
			}
			// a dotted name: drop database and dbo schema parts
			if i > 0 && toks[i-1].punct(".") {
				out = append(out, identToken(t))
				continue
			}
			parts := []token{t}
			j := i + 1
			for j+1 < len(toks) && toks[j].punct(".") {
				if toks[j+1].isIdent() || toks[j+1].punct("*") {
					parts = append(parts, toks[j+1])
					j += 2
					continue
				}
				if toks[j+1].punct(".") { // db..table
					parts = append(parts, token{kind: tWord})
					j++
					continue
				}
				break
			}
			for len(parts) > 1 {
				p := parts[0]
				if (p.kind == tWord && p.text == "") || strings.EqualFold(p.name(), "dbo") ||
					(len(parts) >= 3 && strings.EqualFold(p.name(), x.env.database)) {
					parts = parts[1:]
					continue
				}
				break
			}
			for k, p := range parts {
				if k > 0 {
					out = append(out, punct("."))
				}
				out = append(out, identToken(p))
			}
			i = j - 1
			// legacy table hint: name (NOLOCK)
			if end, ok := isHintGroup(toks, j); ok && !(t.kind == tWord && notTableName[t.upper()]) {
				i = end
			}
		case tPunct:
			if t.text == "+" && ((len(out) > 0 && out[len(out)-1].kind == tString) || (i+1 < len(toks) && toks[i+1].kind == tString)) {
				out = append(out, punct("||"))
				continue
			}
			out = append(out, t)
		default:
			out = append(out, t)
		}
	}
	return out, nil
}

// identToken renders a name for SQLite: [x], "x" and #temp are quoted.
func identToken(t token) token {
	if t.kind == tQuoted || strings.HasPrefix(t.text, "#") {
		return quotedIdent(t.name())
	}
	return t
}

// collationFor maps a SQL Server collation to tds_ci (case-insensitive,
// the default) or BINARY (case-sensitive or binary collations).
func collationFor(name string) string {
	u := strings.ToUpper(name)
	if u == "BINARY" || strings.Contains(u, "_CS") || strings.Contains(u, "_BIN") {
		return "BINARY"
	}
	return collationCI
}

// global replaces an @@ variable by its value.
func (x *xlat) global(t token) ([]token, error) {
	switch t.val {
	case "VERSION":
		return []token{str(serverVersion)}, nil
	case "TRANCOUNT":
		return []token{number(int64(x.env.tranCount))}, nil
	case "SPID":
		return []token{number(int64(x.env.spid))}, nil
	case "ROWCOUNT":
		return []token{number(x.env.rowCount)}, nil
	case "ERROR":
		return []token{number(0)}, nil
	case "IDENTITY":
		return []token{word("last_insert_rowid"), punct("("), punct(")")}, nil
	case "SERVERNAME":
		return []token{str(serverName)}, nil
	case "SERVICENAME":
		return []token{str("MSSQLSERVER")}, nil
	case "LANGUAGE":
		return []token{str("us_english")}, nil
	case "MAX_PRECISION":
		return []token{number(38)}, nil
	case "DBTS":
		return []token{punct("("), word("SELECT"), word(fnCast), punct("("), word("value"), punct(","), str("BINARY(8)"), punct(")"),
			word("FROM"), word("main"), punct("."), word(rowversionTable), punct(")")}, nil
	}
	return nil, errorf(errMustDeclare, "Must declare the scalar variable \"@@%s\".", t.val)
}

// Names of the SQL functions tdstest registers on SQLite.
const (
	fnNow        = "tds_now"
	fnCast       = "tds_cast"
	fnTryCast    = "tds_try_cast"
	fnConvert    = "tds_convert"
	fnTryConvert = "tds_try_convert"
	fnLen        = "tds_len"
	fnDateAdd    = "tds_dateadd"
	fnDateDiff   = "tds_datediff"
	fnDatePart   = "tds_datepart"
	fnCharIndex  = "tds_charindex"
	fnLeft       = "tds_left"
	fnRight      = "tds_right"
	fnReplicate  = "tds_replicate"
	fnNewID      = "tds_newid"
	fnUpper      = "tds_upper"
	fnLower      = "tds_lower"
	collationCI  = "tds_ci"
)

// renamed are T-SQL functions with a direct SQLite (or tdstest) twin.
var renamed = map[string]string{
	"ISNULL": "IFNULL", "LEN": fnLen, "CHARINDEX": fnCharIndex, "LEFT": fnLeft, "RIGHT": fnRight,
	"REPLICATE": fnReplicate, "COUNT_BIG": "count", "CEILING": "ceil", "POWER": "pow", "NEWID": fnNewID,
	"SCOPE_IDENTITY": "last_insert_rowid", "UPPER": fnUpper, "LOWER": fnLower,
}

// nowFunctions return the current time; tdstest's clock is UTC.
var nowFunctions = map[string]sqlType{
	"GETDATE":           {kind: kDateTime, size: 8, scale: 3},
	"GETUTCDATE":        {kind: kDateTime, size: 8, scale: 3},
	"SYSDATETIME":       typeDateTime2_7,
	"SYSUTCDATETIME":    typeDateTime2_7,
	"SYSDATETIMEOFFSET": {kind: kDateTimeOffset, scale: 7},
}

// resultTypes are the SQL Server types of functions whose result SQLite
// cannot describe, for the metadata of "SELECT f(...)".
var resultTypes = map[string]sqlType{
	"COUNT": typeInt, "COUNT_BIG": typeBigInt, "LEN": typeInt, "CHARINDEX": typeInt, "DATEDIFF": typeInt,
	"DATEDIFF_BIG": typeBigInt, "DATEPART": typeInt, "YEAR": typeInt, "MONTH": typeInt, "DAY": typeInt,
	"SCOPE_IDENTITY": {kind: kDecimal, prec: 38, scale: 0, numeric: true}, "NEWID": {kind: kGUID, size: 16},
	"DB_NAME": {kind: kNVarChar, size: 128}, "SUSER_SNAME": {kind: kNVarChar, size: 128},
	"MIN_ACTIVE_ROWVERSION": {kind: kVarBinary, size: 8, fixed: true},
}

var globalTypes = map[string]sqlType{
	"TRANCOUNT": typeInt, "SPID": {kind: kInt, size: 2}, "ROWCOUNT": typeInt, "ERROR": typeInt,
	"IDENTITY": {kind: kDecimal, prec: 38, scale: 0, numeric: true}, "DBTS": {kind: kVarBinary, size: 8},
	"VERSION": {kind: kNVarChar, size: 300}, "SERVERNAME": {kind: kNVarChar, size: 128},
	"SERVICENAME": {kind: kNVarChar, size: 128}, "LANGUAGE": {kind: kNVarChar, size: 128}, "MAX_PRECISION": {kind: kInt, size: 1},
}

// dateParts maps DATEADD/DATEDIFF/DATEPART part names and abbreviations.
var dateParts = map[string]string{
	"YEAR": "year", "YY": "year", "YYYY": "year", "QUARTER": "quarter", "QQ": "quarter", "Q": "quarter",
	"MONTH": "month", "MM": "month", "M": "month", "DAYOFYEAR": "dayofyear", "DY": "dayofyear", "Y": "dayofyear",
	"DAY": "day", "DD": "day", "D": "day", "WEEK": "week", "WK": "week", "WW": "week", "WEEKDAY": "weekday",
	"DW": "weekday", "HOUR": "hour", "HH": "hour", "MINUTE": "minute", "MI": "minute", "N": "minute",
	"SECOND": "second", "SS": "second", "S": "second", "MILLISECOND": "millisecond", "MS": "millisecond",
	"MICROSECOND": "microsecond", "MCS": "microsecond", "NANOSECOND": "nanosecond", "NS": "nanosecond",
}

// noCallBefore are tokens after which "name (" is a table or column
// list, not a function call.
var noCallBefore = map[string]bool{"INTO": true, "TABLE": true, "FROM": true, "JOIN": true, "UPDATE": true, "REFERENCES": true, "ON": true, "INDEX": true, "VIEW": true}

// rewriteExpr rewrites the function calls of T-SQL that SQLite lacks.
func (x *xlat) rewriteExpr(toks []token) ([]token, error) {
	out := make([]token, 0, len(toks))
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tWord || i+1 >= len(toks) || !toks[i+1].punct("(") {
			out = append(out, t)
			continue
		}
		end := matchParen(toks, i+1)
		if end < 0 {
			return nil, errorf(errSyntax, "Incorrect syntax near '%s': its '(' is not closed.", t.text)
		}
		args := toks[i+2 : end]
		callable := i == 0 || !(toks[i-1].punct(".") || (toks[i-1].kind == tWord && noCallBefore[toks[i-1].upper()]))
		var rep []token
		var err error
		if callable {
			rep, err = x.rewriteCall(t, args)
			if err != nil {
				return nil, err
			}
		}
		if rep == nil {
			inner, err := x.rewriteExpr(args)
			if err != nil {
				return nil, err
			}
			rep = append([]token{t, punct("(")}, inner...)
			rep = append(rep, punct(")"))
		}
		out = append(out, rep...)
		i = end
	}
	return out, nil
}

// call builds "name(args...)".
func call(name string, args ...[]token) []token {
	out := []token{word(name), punct("(")}
	for k, a := range args {
		if k > 0 {
			out = append(out, punct(","))
		}
		out = append(out, a...)
	}
	return append(out, punct(")"))
}

// rewriteCall rewrites one call, or returns nil to keep it as it is.
func (x *xlat) rewriteCall(name token, args []token) ([]token, error) {
	fn := name.upper()
	parts := splitTop(args)
	if len(args) == 0 {
		parts = nil
	}
	rewritten := func() ([][]token, error) {
		out := make([][]token, len(parts))
		for k, p := range parts {
			r, err := x.rewriteExpr(p)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	if _, ok := nowFunctions[fn]; ok {
		if len(parts) != 0 {
			return nil, errorf(errSyntax, "The %s function takes no arguments.", fn)
		}
		return call(fnNow), nil
	}
	if fn == "MIN_ACTIVE_ROWVERSION" {
		// The lowest rowversion a transaction still open may hold: SQLite
		// has one writer, whose rows no other session sees, so it is the
		// one after the last committed.
		if len(parts) != 0 {
			return nil, errorf(errSyntax, "The %s function takes no arguments.", fn)
		}
		return []token{punct("("), word("SELECT"), word(fnCast), punct("("), word("value"), punct("+"), number(1), punct(","), str("BINARY(8)"), punct(")"),
			word("FROM"), word("main"), punct("."), word(rowversionTable), punct(")")}, nil
	}
	switch fn {
	case "CAST", "TRY_CAST":
		// CAST(expr AS type): the type follows the last AS at depth 0.
		as := -1
		depth := 0
		for k, t := range args {
			switch {
			case t.punct("("):
				depth++
			case t.punct(")"):
				depth--
			case depth == 0 && t.is("AS"):
				as = k
			}
		}
		if as <= 0 || as == len(args)-1 {
			return nil, errorf(errSyntax, "Incorrect syntax near '%s': expected %s(expression AS type).", fn, fn)
		}
		typ, err := castType(args[as+1:])
		if err != nil {
			return nil, err
		}
		expr, err := x.rewriteExpr(args[:as])
		if err != nil {
			return nil, err
		}
		return castCall(fn == "TRY_CAST", expr, typ), nil
	case "CONVERT", "TRY_CONVERT":
		if len(parts) < 2 || len(parts) > 3 {
			return nil, errorf(errSyntax, "Incorrect syntax near '%s': expected %s(type, expression[, style]).", fn, fn)
		}
		typ, err := castType(parts[0])
		if err != nil {
			return nil, err
		}
		expr, err := x.rewriteExpr(parts[1])
		if err != nil {
			return nil, err
		}
		if len(parts) == 3 {
			style, err := x.rewriteExpr(parts[2])
			if err != nil {
				return nil, err
			}
			fn := fnConvert
			if strings.HasPrefix(strings.ToUpper(name.text), "TRY_") {
				fn = fnTryConvert
			}
			return call(fn, expr, []token{str(typ.String())}, style), nil
		}
		return castCall(fn == "TRY_CONVERT", expr, typ), nil
	case "DATEADD", "DATEDIFF", "DATEDIFF_BIG", "DATEPART":
		want := map[string]int{"DATEADD": 3, "DATEDIFF": 3, "DATEDIFF_BIG": 3, "DATEPART": 2}[fn]
		if len(parts) != want || len(parts[0]) != 1 || !parts[0][0].isIdent() {
			return nil, errorf(errSyntax, "Incorrect syntax near '%s': expected %s(datepart, ...) with %d arguments.", fn, fn, want)
		}
		part, ok := dateParts[strings.ToUpper(parts[0][0].name())]
		if !ok {
			return nil, errorf(155, "'%s' is not a recognized %s option.", parts[0][0].name(), strings.ToLower(fn))
		}
		rest, err := rewritten()
		if err != nil {
			return nil, err
		}
		rest[0] = []token{str(part)}
		target := map[string]string{"DATEADD": fnDateAdd, "DATEDIFF": fnDateDiff, "DATEDIFF_BIG": fnDateDiff, "DATEPART": fnDatePart}[fn]
		return call(target, rest...), nil
	case "YEAR", "MONTH", "DAY":
		if len(parts) != 1 {
			return nil, errorf(errSyntax, "The %s function takes one argument.", fn)
		}
		rest, err := rewritten()
		if err != nil {
			return nil, err
		}
		return call(fnDatePart, []token{str(strings.ToLower(fn))}, rest[0]), nil
	case "DB_NAME":
		return []token{str(x.env.database)}, nil
	case "SUSER_SNAME", "SUSER_NAME", "USER_NAME":
		return []token{str(x.env.user)}, nil
	}
	if to, ok := renamed[fn]; ok {
		rest, err := rewritten()
		if err != nil {
			return nil, err
		}
		return call(to, rest...), nil
	}
	return nil, nil
}

// castCall builds tds_cast(expr, 'TYPE').
func castCall(try bool, expr []token, typ sqlType) []token {
	fn := fnCast
	if try {
		fn = fnTryCast
	}
	return call(fn, expr, []token{str(typ.String())})
}

// castType reads the type of CAST or CONVERT, where a character or
// binary type without a length has 30, not 1 as in a declaration.
func castType(toks []token) (sqlType, error) {
	typ, err := typeOfTokens(toks)
	if err != nil {
		return typ, err
	}
	sized := false
	for _, t := range toks {
		sized = sized || t.punct("(")
	}
	if !sized && (typ.kind == kNVarChar || typ.kind == kVarChar || typ.kind == kVarBinary) && typ.size == 1 {
		typ.size = 30
	}
	return typ, nil
}

// typeOfTokens reads a type written as tokens: DECIMAL ( 18 , 2 ).
func typeOfTokens(toks []token) (sqlType, error) {
	var b strings.Builder
	for k, t := range toks {
		if k > 0 && t.isIdent() && toks[k-1].isIdent() {
			b.WriteByte(' ')
		}
		b.WriteString(t.name())
		if t.kind != tWord && t.kind != tQuoted && t.kind != tNumber && t.kind != tPunct {
			return sqlType{}, errorf(243, "Type %s is not a defined system type.", render(toks))
		}
	}
	typ, err := parseType(b.String())
	if err != nil {
		return sqlType{}, errorf(243, "Type %s is not a defined system type (%v).", b.String(), err)
	}
	return typ, nil
}

// selectEnd are the keywords that end a select list.
var selectEnd = map[string]bool{
	"FROM": true, "WHERE": true, "GROUP": true, "HAVING": true, "ORDER": true, "UNION": true, "EXCEPT": true,
	"INTERSECT": true, "OPTION": true, "FOR": true, "INTO": true, "WINDOW": true, "LIMIT": true, "OFFSET": true,
}

// selectList finds the select list of the statement's main SELECT,
// rewrites T-SQL's "alias = expr" items, and returns type hints for
// the items SQLite cannot type.
func (x *xlat) selectList(toks []token) ([]token, []hint, []hint, error) {
	start := -1
	depth := 0
	for k, t := range toks {
		if t.punct("(") {
			depth++
		} else if t.punct(")") {
			depth--
		} else if depth == 0 && t.is("SELECT") {
			start = k
			break
		}
	}
	if start < 0 {
		return toks, nil, nil, nil
	}
	i := start + 1
	if i < len(toks) && (toks[i].is("ALL") || toks[i].is("DISTINCT")) {
		i++
	}
	if i < len(toks) && toks[i].is("TOP") {
		i++
		if i < len(toks) && toks[i].punct("(") {
			if e := matchParen(toks, i); e > 0 {
				i = e
			}
		}
		i++
		if i < len(toks) && toks[i].is("PERCENT") {
			i++
		}
		if i+1 < len(toks) && toks[i].is("WITH") && toks[i+1].is("TIES") {
			i += 2
		}
	}
	end := len(toks)
	depth = 0
	for k := i; k < len(toks); k++ {
		t := toks[k]
		if t.punct("(") {
			depth++
		} else if t.punct(")") {
			if depth == 0 {
				end = k
				break
			}
			depth--
		} else if depth == 0 && t.kind == tWord && selectEnd[t.upper()] {
			end = k
			break
		}
	}
	if end < len(toks) && toks[end].is("INTO") {
		return nil, nil, nil, errorf(errUnsupported, "tdstest does not support SELECT ... INTO: create the table, then INSERT ... SELECT.")
	}
	if i >= end {
		return toks, nil, nil, nil
	}
	// In a UNION the other branches may widen a column's type: type
	// nothing from the first branch alone.
	compound := false
	depth = 0
	for _, t := range toks[end:] {
		if t.punct("(") {
			depth++
		} else if t.punct(")") {
			depth--
		} else if depth == 0 && (t.is("UNION") || t.is("EXCEPT") || t.is("INTERSECT")) {
			compound = true
		}
	}
	items := splitTop(toks[i:end])
	var hints []hint
	stars := []int{}
	var list []token
	for k, item := range items {
		if k > 0 {
			list = append(list, punct(","))
		}
		if len(item) >= 3 && item[0].isIdent() && item[1].punct("=") {
			// T-SQL: SELECT alias = expression
			item = append(append(append([]token{}, item[2:]...), word("AS")), item[0])
		}
		list = append(list, item...)
		if len(item) == 0 {
			hints = append(hints, hint{})
			continue
		}
		last := item[len(item)-1]
		if last.punct("*") {
			stars = append(stars, k)
			hints = append(hints, hint{})
			continue
		}
		expr := item
		aliased := false
		if len(item) >= 3 && item[len(item)-2].is("AS") && (last.isIdent() || last.kind == tString) {
			expr, aliased = item[:len(item)-2], true
		} else if len(item) >= 2 && (last.isIdent() || last.kind == tString) && !last.is("END") && !last.is("NULL") {
			prev := item[len(item)-2]
			if prev.isIdent() || prev.kind == tNumber || prev.kind == tString || prev.kind == tParam || prev.kind == tGlobal || prev.punct(")") {
				expr, aliased = item[:len(item)-1], true
			}
		}
		var h hint
		if !compound {
			h = x.exprHint(expr)
		}
		h.unnamed = !aliased && !isColumnRef(expr)
		hints = append(hints, h)
	}
	out := append(append(append([]token{}, toks[:i]...), list...), toks[end:]...)
	if len(stars) == 0 {
		return out, hints, nil, nil
	}
	front := hints[:stars[0]]
	var back []hint
	for k := len(hints) - 1; k > stars[len(stars)-1]; k-- {
		back = append(back, hints[k])
	}
	return out, front, back, nil
}

// isColumnRef reports a plain column reference: name or a.b(.c).
func isColumnRef(expr []token) bool {
	for k, t := range expr {
		if k%2 == 0 && !t.isIdent() {
			return false
		}
		if k%2 == 1 && !t.punct(".") {
			return false
		}
	}
	return len(expr)%2 == 1
}

// exprHint types a select-list expression SQLite cannot type: a CAST,
// a parameter, a global, a function of known type.
func (x *xlat) exprHint(expr []token) hint {
	if len(expr) == 2 && expr[0].punct("-") && expr[1].kind == tNumber {
		expr = []token{{kind: tNumber, text: expr[1].text}}
	}
	if len(expr) == 1 {
		switch expr[0].kind {
		case tNumber:
			if t, ok := literalType(expr[0].text); ok {
				return hint{typ: &t}
			}
		case tString:
			n := max(1, ucs2Len(expr[0].val))
			t := sqlType{kind: kNVarChar, size: min(n, 4000)}
			if !expr[0].national {
				t = sqlType{kind: kVarChar, size: min(n, 8000)}
			}
			if n > t.size {
				t.size = maxLength
			}
			return hint{typ: &t}
		case tParam:
			return hint{param: expr[0].val}
		case tGlobal:
			if t, ok := globalTypes[expr[0].val]; ok {
				return hint{typ: &t}
			}
		}
		return hint{}
	}
	if len(expr) < 3 || expr[0].kind != tWord || !expr[1].punct("(") || matchParen(expr, 1) != len(expr)-1 {
		return hint{}
	}
	fn := expr[0].upper()
	args := expr[2 : len(expr)-1]
	switch fn {
	case "CAST", "TRY_CAST":
		depth, as := 0, -1
		for k, t := range args {
			switch {
			case t.punct("("):
				depth++
			case t.punct(")"):
				depth--
			case depth == 0 && t.is("AS"):
				as = k
			}
		}
		if as > 0 {
			if t, err := castType(args[as+1:]); err == nil {
				return hint{typ: &t}
			}
		}
	case "CONVERT", "TRY_CONVERT":
		if parts := splitTop(args); len(parts) >= 2 {
			if t, err := castType(parts[0]); err == nil {
				return hint{typ: &t}
			}
		}
	}
	if t, ok := nowFunctions[fn]; ok {
		return hint{typ: &t}
	}
	if parts := splitTop(args); fn == "DATEADD" && len(parts) == 3 {
		// DATEADD returns the type of its date
		if h := x.exprHint(parts[2]); h.typ != nil {
			return hint{typ: h.typ}
		}
	}
	if t, ok := resultTypes[fn]; ok {
		return hint{typ: &t}
	}
	return hint{}
}

// scopeEnd returns the index of the ')' closing the group that contains
// toks[i], or len(toks).
func scopeEnd(toks []token, i int) int {
	depth := 0
	for k := i + 1; k < len(toks); k++ {
		switch {
		case toks[k].punct("("):
			depth++
		case toks[k].punct(")"):
			if depth == 0 {
				return k
			}
			depth--
		}
	}
	return len(toks)
}

// rewriteTop moves each SELECT's TOP (n) to a LIMIT at the end of that
// SELECT's scope.
func rewriteTop(toks []token) ([]token, error) {
	drop := make([]bool, len(toks))
	inserts := map[int][]token{}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.is("TOP") && i > 0 && (toks[i-1].is("INSERT") || toks[i-1].is("UPDATE") || toks[i-1].is("DELETE")) {
			return nil, errorf(errUnsupported, "tdstest does not support TOP in %s statements.", toks[i-1].upper())
		}
		if !t.is("SELECT") {
			continue
		}
		j := i + 1
		if j < len(toks) && (toks[j].is("ALL") || toks[j].is("DISTINCT")) {
			j++
		}
		if j >= len(toks) || !toks[j].is("TOP") {
			continue
		}
		top := j
		var limit []token
		switch {
		case j+1 < len(toks) && toks[j+1].punct("("):
			k := matchParen(toks, j+1)
			if k < 0 {
				return nil, errorf(errSyntax, "Incorrect syntax near 'TOP'.")
			}
			limit = toks[j+1 : k+1]
			j = k + 1
		case j+1 < len(toks) && (toks[j+1].kind == tNumber || toks[j+1].kind == tParam):
			limit = toks[j+1 : j+2]
			j += 2
		default:
			return nil, errorf(errSyntax, "Incorrect syntax near 'TOP'.")
		}
		if j < len(toks) && toks[j].is("PERCENT") {
			return nil, errorf(errUnsupported, "tdstest does not support TOP ... PERCENT.")
		}
		if j+1 < len(toks) && toks[j].is("WITH") && toks[j+1].is("TIES") {
			return nil, errorf(errUnsupported, "tdstest does not support TOP ... WITH TIES.")
		}
		for k := top; k < j; k++ {
			drop[k] = true
		}
		end := scopeEnd(toks, i)
		if _, dup := inserts[end]; dup {
			return nil, errorf(errUnsupported, "tdstest does not support TOP in more than one SELECT of a UNION.")
		}
		inserts[end] = append([]token{word("LIMIT")}, limit...)
	}
	if len(inserts) == 0 {
		return toks, nil
	}
	out := make([]token, 0, len(toks)+4)
	for k := 0; k <= len(toks); k++ {
		out = append(out, inserts[k]...)
		if k < len(toks) && !drop[k] {
			out = append(out, toks[k])
		}
	}
	return out, nil
}

// rewriteOffsetFetch turns OFFSET n ROWS [FETCH NEXT m ROWS ONLY] into
// LIMIT m OFFSET n.
func rewriteOffsetFetch(toks []token) ([]token, error) {
	for i := 0; i < len(toks); i++ {
		if !toks[i].is("OFFSET") {
			continue
		}
		rows := func(from int) int {
			for k := from; k < len(toks); k++ {
				if toks[k].is("ROW") || toks[k].is("ROWS") {
					return k
				}
				if toks[k].punct(")") || toks[k].punct(";") {
					break
				}
			}
			return -1
		}
		r1 := rows(i + 1)
		if r1 < 0 {
			continue
		}
		offset := toks[i+1 : r1]
		limit := []token{punct("-"), number(1)}
		end := r1 + 1
		if end+1 < len(toks) && toks[end].is("FETCH") && (toks[end+1].is("NEXT") || toks[end+1].is("FIRST")) {
			r2 := rows(end + 2)
			if r2 < 0 || r2+1 >= len(toks) || !toks[r2+1].is("ONLY") {
				return nil, errorf(errSyntax, "Incorrect syntax near 'FETCH': expected FETCH NEXT n ROWS ONLY.")
			}
			limit = toks[end+2 : r2]
			end = r2 + 2
		}
		rep := append(append(append([]token{word("LIMIT")}, limit...), word("OFFSET")), offset...)
		toks = append(append(append([]token{}, toks[:i]...), rep...), toks[end:]...)
		i += len(rep) - 1
	}
	return toks, nil
}

// targetTable is the table an INSERT, UPDATE or DELETE writes.
func targetTable(toks []token) string {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.is("INSERT") || t.is("UPDATE") || t.is("DELETE") {
			j := i + 1
			if j < len(toks) && (toks[j].is("INTO") || toks[j].is("FROM")) {
				j++
			}
			if j < len(toks) && toks[j].isIdent() {
				return strings.ToLower(toks[j].name())
			}
			return ""
		}
	}
	return ""
}

// outputEnd are the keywords that end an OUTPUT list.
var outputEnd = map[string]bool{"INTO": true, "VALUES": true, "SELECT": true, "DEFAULT": true, "FROM": true, "WHERE": true, "EXEC": true, "EXECUTE": true}

// rewriteOutput turns T-SQL's OUTPUT INSERTED.x (or DELETED.x for a
// DELETE) into SQLite's RETURNING x at the end of the statement.
func rewriteOutput(toks []token, verb, target string) ([]token, []hint, error) {
	at := -1
	depth := 0
	for k, t := range toks {
		if t.punct("(") {
			depth++
		} else if t.punct(")") {
			depth--
		} else if depth == 0 && t.is("OUTPUT") {
			at = k
			break
		}
	}
	if at < 0 {
		return toks, nil, nil
	}
	end := len(toks)
	depth = 0
	for k := at + 1; k < len(toks); k++ {
		t := toks[k]
		if t.punct("(") {
			depth++
		} else if t.punct(")") {
			depth--
		} else if depth == 0 && t.kind == tWord && outputEnd[t.upper()] {
			end = k
			break
		}
	}
	if end < len(toks) && toks[end].is("INTO") {
		return nil, nil, errorf(errUnsupported, "tdstest does not support OUTPUT ... INTO.")
	}
	allowed := "INSERTED"
	if verb == "DELETE" {
		allowed = "DELETED"
	}
	var list []token
	var hints []hint
	for k, item := range splitTop(toks[at+1 : end]) {
		if k > 0 {
			list = append(list, punct(","))
		}
		var cleaned []token
		for j := 0; j < len(item); j++ {
			t := item[j]
			if (t.is("INSERTED") || t.is("DELETED")) && j+1 < len(item) && item[j+1].punct(".") {
				if !t.is(allowed) {
					return nil, nil, errorf(errUnsupported, "tdstest supports OUTPUT %s.column in a%s %s, not %s (SQLite returns only the row as written).", allowed, map[bool]string{true: "n", false: ""}[verb == "INSERT"], verb, t.upper())
				}
				j++
				continue
			}
			cleaned = append(cleaned, t)
		}
		list = append(list, cleaned...)
		h := hint{}
		if len(cleaned) == 1 && cleaned[0].isIdent() {
			h.column = strings.ToLower(cleaned[0].name())
		} else if len(cleaned) == 3 && cleaned[1].is("AS") && cleaned[0].isIdent() {
			h.column = strings.ToLower(cleaned[0].name())
		}
		hints = append(hints, h)
	}
	out := append(append([]token{}, toks[:at]...), toks[end:]...)
	out = append(append(out, word("RETURNING")), list...)
	if len(hints) == 1 && len(list) == 1 && list[0].punct("*") {
		hints = nil
	}
	return out, hints, nil
}

// describe renders a translation for traces.
func (tr translation) describe() string {
	return fmt.Sprintf("%s [params %v]", tr.sql, tr.params)
}

// literalType is the type SQL Server gives a number literal: INT when
// it fits, NUMERIC(p,s) for other exact numbers, FLOAT with an exponent.
func literalType(text string) (sqlType, bool) {
	if strings.ContainsAny(text, "eE") {
		return typeFloat, true
	}
	intPart, frac, _ := strings.Cut(text, ".")
	digits := strings.TrimLeft(intPart, "0") + frac
	if frac == "" && len(digits) <= 10 {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil && n <= math.MaxInt32 {
			return typeInt, true
		}
	}
	p := max(len(digits), len(frac), 1)
	if p > 38 {
		return typeFloat, true
	}
	return sqlType{kind: kDecimal, prec: p, scale: len(frac), numeric: true}, true
}
