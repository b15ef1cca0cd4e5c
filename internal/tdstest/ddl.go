package tdstest

import (
	"strconv"
	"strings"
)

// Names of the CHECK constraints tdstest adds; errors.go maps their
// failures to SQL Server's truncation and overflow errors.
const (
	checkLength = "tds_len:"
	checkRange  = "tds_range:"
	fnUCS2Len   = "tds_ucs2len"
)

// colDef is a parsed column definition.
type colDef struct {
	name     string
	typ      sqlType
	notNull  bool
	identity bool
	seed     int64
	pk       bool
	// sqlite is the column's definition for SQLite, without the name.
	sqlite []token
}

// tableDef is a parsed CREATE TABLE.
type tableDef struct {
	name        string
	temp        bool
	ifNotExists bool
	cols        []colDef
	constraints [][]token // table constraints for SQLite
	indexes     []indexDef
}

type indexDef struct {
	name   string
	unique bool
	cols   []token // the (...) group
}

// columnKeywords end a column's type and start its constraints.
var columnKeywords = map[string]bool{
	"NOT": true, "NULL": true, "PRIMARY": true, "UNIQUE": true, "CHECK": true, "DEFAULT": true,
	"CONSTRAINT": true, "IDENTITY": true, "COLLATE": true, "REFERENCES": true, "FOREIGN": true,
	"CLUSTERED": true, "NONCLUSTERED": true, "ROWGUIDCOL": true, "SPARSE": true, "FILESTREAM": true,
	"AS": true, "WITH": true, "INDEX": true, "GENERATED": true, "MASKED": true, "ENCRYPTED": true, "PERSISTED": true,
}

// tableConstraintStart are the keywords that start a table constraint.
var tableConstraintStart = map[string]bool{"CONSTRAINT": true, "PRIMARY": true, "UNIQUE": true, "FOREIGN": true, "CHECK": true, "INDEX": true}

func syntaxNear(t token) *sqlError {
	return errorf(errSyntax, "Incorrect syntax near '%s' (line %d).", t.text, t.line)
}

// parseCreateTable reads a normalized CREATE TABLE statement.
func (x *xlat) parseCreateTable(toks []token) (tableDef, error) {
	var def tableDef
	i := 2
	if len(toks) > 5 && toks[2].is("IF") && toks[3].is("NOT") && toks[4].is("EXISTS") {
		def.ifNotExists = true
		i = 5
	}
	if i >= len(toks) || !toks[i].isIdent() {
		return def, errorf(errSyntax, "Incorrect syntax near 'TABLE': expected a table name.")
	}
	if i+1 < len(toks) && toks[i+1].punct(".") {
		return def, errorf(errUnsupported, "tdstest supports only the dbo schema: table %s is in schema %s.", render(toks[i:min(i+3, len(toks))]), toks[i].name())
	}
	def.name = toks[i].name()
	def.temp = strings.HasPrefix(def.name, "#")
	i++
	if i >= len(toks) || !toks[i].punct("(") {
		return def, errorf(errSyntax, "Incorrect syntax near '%s': expected its column list.", def.name)
	}
	end := matchParen(toks, i)
	if end < 0 {
		return def, errorf(errSyntax, "Incorrect syntax near '%s': its column list is not closed.", def.name)
	}
	for _, el := range splitTop(toks[i+1 : end]) {
		if len(el) == 0 {
			return def, errorf(errSyntax, "Incorrect syntax near ',' in the column list of %s.", def.name)
		}
		if el[0].kind == tWord && tableConstraintStart[el[0].upper()] {
			if err := x.tableConstraint(&def, el); err != nil {
				return def, err
			}
			continue
		}
		c, err := x.parseColumn(def.name, el)
		if err != nil {
			return def, err
		}
		def.cols = append(def.cols, c)
	}
	if len(def.cols) == 0 {
		return def, errorf(errSyntax, "Table %s has no columns.", def.name)
	}
	rv := 0
	for k := range def.cols {
		c := &def.cols[k]
		if c.typ.rowversion {
			rv++
		}
		if !c.identity {
			continue
		}
		if !c.pk {
			// the primary key may be a table constraint on this column alone
			found := -1
			for j, con := range def.constraints {
				if cols := pkColumns(con); len(cols) == 1 && strings.EqualFold(cols[0], c.name) {
					found = j
				}
			}
			if found < 0 {
				return def, errorf(errUnsupported, "tdstest supports IDENTITY only on a column that is the whole primary key (column %s of %s).", c.name, def.name)
			}
			def.constraints = append(def.constraints[:found], def.constraints[found+1:]...)
			c.pk = true
		}
		c.sqlite = append([]token{word("INTEGER"), word("PRIMARY"), word("KEY"), word("AUTOINCREMENT")}, c.sqlite...)
	}
	if rv > 1 {
		return def, errorf(2738, "A table can only have one timestamp column. Because table '%s' already has one, the column cannot be added.", def.name)
	}
	return def, nil
}

// pkColumns returns the columns of a PRIMARY KEY table constraint.
func pkColumns(con []token) []string {
	for k := 0; k+1 < len(con); k++ {
		if con[k].is("PRIMARY") && con[k+1].is("KEY") {
			for j := k + 2; j < len(con); j++ {
				if con[j].punct("(") {
					e := matchParen(con, j)
					if e < 0 {
						return nil
					}
					var names []string
					for _, part := range splitTop(con[j+1 : e]) {
						if len(part) > 0 && part[0].isIdent() {
							names = append(names, part[0].name())
						}
					}
					return names
				}
			}
		}
	}
	return nil
}

// tableConstraint translates a table constraint; INDEX becomes a
// separate CREATE INDEX.
func (x *xlat) tableConstraint(def *tableDef, el []token) error {
	if el[0].is("INDEX") {
		if len(el) < 3 || !el[1].isIdent() {
			return syntaxNear(el[0])
		}
		idx := indexDef{name: el[1].name()}
		for k := 2; k < len(el); k++ {
			switch {
			case el[k].is("UNIQUE"):
				idx.unique = true
			case el[k].punct("("):
				e := matchParen(el, k)
				if e < 0 {
					return syntaxNear(el[k])
				}
				idx.cols = el[k : e+1]
				k = e
			}
		}
		if idx.cols == nil {
			return errorf(errSyntax, "Incorrect syntax near '%s': index %s has no column list.", el[1].text, idx.name)
		}
		def.indexes = append(def.indexes, idx)
		return nil
	}
	var out []token
	for k := 0; k < len(el); k++ {
		t := el[k]
		switch {
		case t.is("CLUSTERED") || t.is("NONCLUSTERED"):
		case t.is("NOT") && k+2 < len(el) && el[k+1].is("FOR") && el[k+2].is("REPLICATION"):
			k += 2
		case t.is("WITH") && k+1 < len(el) && el[k+1].punct("("):
			if e := matchParen(el, k+1); e > 0 {
				k = e
			}
		case t.is("ON") && k+1 < len(el) && !el[k+1].is("DELETE") && !el[k+1].is("UPDATE"):
			k++ // ON [PRIMARY]: a filegroup
		case t.is("CHECK") && k+1 < len(el) && el[k+1].punct("("):
			e := matchParen(el, k+1)
			if e < 0 {
				return syntaxNear(t)
			}
			expr, err := x.rewriteExpr(el[k+2 : e])
			if err != nil {
				return err
			}
			out = append(append(append(out, t, punct("(")), expr...), punct(")"))
			k = e
		default:
			out = append(out, t)
		}
	}
	def.constraints = append(def.constraints, out)
	return nil
}

// parseColumn reads one column definition of table.
func (x *xlat) parseColumn(table string, el []token) (colDef, error) {
	var c colDef
	if !el[0].isIdent() {
		return c, syntaxNear(el[0])
	}
	c.name = el[0].name()
	k := 1
	if k < len(el) && el[k].is("AS") {
		return c, errorf(errUnsupported, "tdstest does not support computed columns (column %s of %s).", c.name, table)
	}
	start := k
	for k < len(el) && el[k].isIdent() && !(el[k].kind == tWord && columnKeywords[el[k].upper()]) {
		k++
	}
	if k == start {
		return c, errorf(173, "The definition for column '%s' must include a data type.", c.name)
	}
	if k < len(el) && el[k].punct("(") {
		e := matchParen(el, k)
		if e < 0 {
			return c, syntaxNear(el[k])
		}
		k = e + 1
	}
	typ, err := typeOfTokens(el[start:k])
	if err != nil {
		return c, errorf(2715, "Column '%s' of %s: cannot use data type %s: %s", c.name, table, render(el[start:k]), err.(*sqlError).msg)
	}
	c.typ = typ
	collate := ""
	var cons []token
	for ; k < len(el); k++ {
		t := el[k]
		next := func(n int) token {
			if k+n < len(el) {
				return el[k+n]
			}
			return token{}
		}
		switch {
		case t.is("NOT") && next(1).is("NULL"):
			c.notNull = true
			if !c.typ.rowversion { // its trigger fills it after the insert
				cons = append(cons, t, el[k+1])
			}
			k++
		case t.is("NOT") && next(1).is("FOR") && next(2).is("REPLICATION"):
			k += 2
		case t.is("NULL"), t.is("CLUSTERED"), t.is("NONCLUSTERED"), t.is("ROWGUIDCOL"), t.is("SPARSE"), t.is("FILESTREAM"), t.is("ASC"), t.is("DESC"):
		case t.is("IDENTITY"):
			c.identity, c.seed = true, 1
			if next(1).punct("(") {
				e := matchParen(el, k+1)
				if e < 0 {
					return c, syntaxNear(t)
				}
				args := splitTop(el[k+2 : e])
				if len(args) != 2 {
					return c, errorf(errSyntax, "Incorrect syntax near 'IDENTITY': expected IDENTITY(seed, increment).")
				}
				seed, err1 := strconv.ParseInt(render(args[0]), 10, 64)
				inc, err2 := strconv.ParseInt(render(args[1]), 10, 64)
				if err1 != nil || err2 != nil {
					seed, err1 = strconv.ParseInt(strings.ReplaceAll(render(args[0]), " ", ""), 10, 64)
					inc, err2 = strconv.ParseInt(strings.ReplaceAll(render(args[1]), " ", ""), 10, 64)
				}
				if err1 != nil || err2 != nil {
					return c, errorf(errSyntax, "Incorrect syntax near 'IDENTITY': seed and increment must be integers.")
				}
				if inc != 1 {
					return c, errorf(errUnsupported, "tdstest supports IDENTITY only with increment 1 (column %s of %s).", c.name, table)
				}
				c.seed = seed
				k = e
			}
			if c.typ.kind != kInt {
				return c, errorf(2749, "Identity column '%s' must be of data type int, bigint, smallint or tinyint.", c.name)
			}
		case t.is("PRIMARY") && next(1).is("KEY"):
			c.pk, c.notNull = true, true
			k++
		case t.is("UNIQUE"):
			cons = append(cons, t)
		case t.is("CONSTRAINT") && next(1).isIdent():
			cons = append(cons, t, identToken(el[k+1]))
			k++
		case t.is("DEFAULT"):
			e, expr, err := x.defaultExpr(el, k+1)
			if err != nil {
				return c, err
			}
			cons = append(append(append(cons, t, punct("(")), expr...), punct(")"))
			k = e
		case t.is("CHECK") && next(1).punct("("):
			e := matchParen(el, k+1)
			if e < 0 {
				return c, syntaxNear(t)
			}
			expr, err := x.rewriteExpr(el[k+2 : e])
			if err != nil {
				return c, err
			}
			cons = append(append(append(cons, t, punct("(")), expr...), punct(")"))
			k = e
		case t.is("FOREIGN") && next(1).is("KEY"):
			k++
		case t.is("REFERENCES"):
			// REFERENCES t [(cols)] [ON DELETE|UPDATE action]...
			if !next(1).isIdent() {
				return c, syntaxNear(t)
			}
			cons = append(cons, t, identToken(el[k+1]))
			k++
			if next(1).punct("(") {
				e := matchParen(el, k+1)
				if e < 0 {
					return c, syntaxNear(el[k+1])
				}
				cons = append(cons, el[k+1:e+1]...)
				k = e
			}
			for next(1).is("ON") && (next(2).is("DELETE") || next(2).is("UPDATE")) {
				cons = append(cons, el[k+1], el[k+2])
				k += 2
				switch {
				case next(1).is("CASCADE"), next(1).is("RESTRICT"):
					cons = append(cons, el[k+1])
					k++
				case (next(1).is("NO") && next(2).is("ACTION")) || (next(1).is("SET") && (next(2).is("NULL") || next(2).is("DEFAULT"))):
					cons = append(cons, el[k+1], el[k+2])
					k += 2
				default:
					return c, syntaxNear(el[k])
				}
			}
		case t.is("COLLATE") && next(1).isIdent():
			collate = collationFor(el[k+1].name())
			k++
		default:
			return c, errorf(errSyntax, "Incorrect syntax near '%s' in the definition of column %s of %s.", t.text, c.name, table)
		}
	}
	decl := []token{word(c.typ.sqliteDecl())}
	if c.identity {
		decl = nil // INTEGER PRIMARY KEY AUTOINCREMENT, added by the caller
	} else if c.pk {
		cons = append([]token{word("PRIMARY"), word("KEY")}, cons...)
	}
	if c.typ.kind == kNVarChar || c.typ.kind == kVarChar || c.typ.kind == kGUID {
		if collate == "" {
			collate = collationCI
		}
		cons = append(cons, word("COLLATE"), word(collate))
	}
	cons = append(cons, columnChecks(table, c)...)
	c.sqlite = append(decl, cons...)
	return c, nil
}

// defaultExpr reads the expression of DEFAULT starting at el[k]: a
// literal, a signed number, NULL, a (group) or a function call.
func (x *xlat) defaultExpr(el []token, k int) (int, []token, error) {
	if k >= len(el) {
		return k, nil, errorf(errSyntax, "Incorrect syntax near 'DEFAULT': expected a value.")
	}
	t := el[k]
	switch {
	case t.punct("("):
		e := matchParen(el, k)
		if e < 0 {
			return k, nil, syntaxNear(t)
		}
		expr, err := x.rewriteExpr(el[k+1 : e])
		return e, expr, err
	case (t.punct("-") || t.punct("+")) && k+1 < len(el) && el[k+1].kind == tNumber:
		return k + 1, el[k : k+2], nil
	case t.kind == tString || t.kind == tNumber || t.kind == tHex || t.is("NULL"):
		return k, el[k : k+1], nil
	case t.kind == tWord && k+1 < len(el) && el[k+1].punct("("):
		e := matchParen(el, k+1)
		if e < 0 {
			return k, nil, syntaxNear(t)
		}
		expr, err := x.rewriteExpr(el[k : e+1])
		return e, expr, err
	}
	return k, nil, errorf(errSyntax, "Incorrect syntax near '%s' after DEFAULT.", t.text)
}

// columnChecks are the CHECK constraints that make SQLite refuse what
// SQL Server refuses: strings and binaries longer than the column, and
// integers out of the column's range.
func columnChecks(table string, c colDef) []token {
	name := quotedIdent(c.name)
	label := strings.ToLower(table) + ":" + c.name
	t := c.typ
	switch {
	case (t.kind == kNVarChar || t.kind == kVarChar || t.kind == kVarBinary) && t.size != maxLength && !t.rowversion:
		fn := "length"
		if t.kind == kNVarChar {
			fn = fnUCS2Len
		}
		return []token{word("CONSTRAINT"), quotedIdent(checkLength + label), word("CHECK"), punct("("),
			word(fn), punct("("), name, punct(")"), punct("<="), number(int64(t.size)), punct(")")}
	case t.kind == kInt && t.size < 8:
		r := map[int][2]int64{1: {0, 255}, 2: {-32768, 32767}, 4: {-2147483648, 2147483647}}[t.size]
		lo, hi := r[0], r[1]
		return []token{word("CONSTRAINT"), quotedIdent(checkRange + label), word("CHECK"), punct("("),
			name, word("BETWEEN"), number(lo), word("AND"), number(hi), punct(")")}
	}
	return nil
}

// sqliteCreateTable renders def for SQLite.
func (def tableDef) sqliteCreateTable() string {
	var toks []token
	toks = append(toks, word("CREATE"))
	if def.temp {
		toks = append(toks, word("TEMP"))
	}
	toks = append(toks, word("TABLE"))
	if def.ifNotExists {
		toks = append(toks, word("IF"), word("NOT"), word("EXISTS"))
	}
	toks = append(toks, quotedIdent(def.name), punct("("))
	for k, c := range def.cols {
		if k > 0 {
			toks = append(toks, punct(","))
		}
		toks = append(append(toks, quotedIdent(c.name)), c.sqlite...)
	}
	for _, con := range def.constraints {
		toks = append(append(toks, punct(",")), con...)
	}
	toks = append(toks, punct(")"))
	return render(toks)
}

// indexName is the SQLite name of index idx of table: SQL Server
// scopes index names to their table, SQLite to the database.
func indexName(table, idx string) string {
	return strings.ToLower(table) + "." + idx
}

// translateIndex rewrites CREATE [UNIQUE] [[NON]CLUSTERED] INDEX and
// DROP INDEX for SQLite; ok is false for other statements.
func translateIndex(toks []token) (string, bool, error) {
	if len(toks) < 2 {
		return "", false, nil
	}
	if toks[0].is("DROP") && toks[1].is("INDEX") {
		k := 2
		ifExists := false
		if k+1 < len(toks) && toks[k].is("IF") && toks[k+1].is("EXISTS") {
			ifExists, k = true, k+2
		}
		var table, idx string
		switch {
		case k+2 < len(toks) && toks[k+1].is("ON"):
			idx, table = toks[k].name(), toks[k+2].name()
		case k+2 < len(toks) && toks[k+1].punct("."):
			table, idx = toks[k].name(), toks[k+2].name()
		default:
			return "", true, errorf(errSyntax, "Incorrect syntax near 'INDEX': expected DROP INDEX name ON table.")
		}
		out := []token{word("DROP"), word("INDEX")}
		if ifExists {
			out = append(out, word("IF"), word("EXISTS"))
		}
		return render(append(out, quotedIdent(indexName(table, idx)))), true, nil
	}
	if !toks[0].is("CREATE") {
		return "", false, nil
	}
	k := 1
	unique := false
	for k < len(toks) && (toks[k].is("UNIQUE") || toks[k].is("CLUSTERED") || toks[k].is("NONCLUSTERED")) {
		unique = unique || toks[k].is("UNIQUE")
		k++
	}
	if k >= len(toks) || !toks[k].is("INDEX") {
		return "", false, nil
	}
	if k+4 >= len(toks) || !toks[k+1].isIdent() || !toks[k+2].is("ON") || !toks[k+3].isIdent() || !toks[k+4].punct("(") {
		return "", true, errorf(errSyntax, "Incorrect syntax near 'INDEX': expected CREATE INDEX name ON table (columns).")
	}
	idx, table := toks[k+1].name(), toks[k+3].name()
	e := matchParen(toks, k+4)
	if e < 0 {
		return "", true, syntaxNear(toks[k+4])
	}
	out := []token{word("CREATE")}
	if unique {
		out = append(out, word("UNIQUE"))
	}
	out = append(out, word("INDEX"), quotedIdent(indexName(table, idx)), word("ON"), identToken(toks[k+3]))
	out = append(out, toks[k+4:e+1]...)
	for j := e + 1; j < len(toks); j++ {
		t := toks[j]
		switch {
		case t.is("INCLUDE") && j+1 < len(toks) && toks[j+1].punct("("):
			if m := matchParen(toks, j+1); m > 0 {
				j = m
			}
		case t.is("WITH") && j+1 < len(toks) && toks[j+1].punct("("):
			if m := matchParen(toks, j+1); m > 0 {
				j = m
			}
		case t.is("ON") && j+1 < len(toks):
			j++ // filegroup
		case t.is("WHERE"):
			rest := toks[j:]
			end := len(rest)
			for m, r := range rest {
				if r.is("WITH") || (r.is("ON") && m > 0) {
					end = m
					break
				}
			}
			out = append(out, rest[:end]...)
			j += end - 1
		default:
			return "", true, syntaxNear(t)
		}
	}
	return render(out), true, nil
}

// alterAction is one action of ALTER TABLE.
type alterAction struct {
	add  *colDef
	drop string
}

// parseAlterTable reads ALTER TABLE t ADD col type ..., ... or
// ALTER TABLE t DROP COLUMN c, ...
func (x *xlat) parseAlterTable(toks []token) (string, []alterAction, error) {
	if len(toks) < 4 || !toks[2].isIdent() {
		return "", nil, errorf(errSyntax, "Incorrect syntax near 'TABLE': expected ALTER TABLE name ADD|DROP COLUMN ...")
	}
	table := toks[2].name()
	var acts []alterAction
	switch {
	case toks[3].is("ADD"):
		if len(toks) > 4 && toks[4].kind == tWord && tableConstraintStart[toks[4].upper()] {
			return "", nil, errorf(errUnsupported, "tdstest does not support ALTER TABLE ... ADD CONSTRAINT (SQLite cannot add constraints to a table): declare it in CREATE TABLE.")
		}
		rest := toks[4:]
		if len(rest) > 0 && rest[0].is("COLUMN") {
			rest = rest[1:]
		}
		for _, el := range splitTop(rest) {
			if len(el) == 0 {
				return "", nil, errorf(errSyntax, "Incorrect syntax near ',' in ALTER TABLE %s.", table)
			}
			c, err := x.parseColumn(table, el)
			if err != nil {
				return "", nil, err
			}
			if c.identity || c.pk {
				return "", nil, errorf(errUnsupported, "tdstest cannot add an IDENTITY or PRIMARY KEY column to an existing table (%s.%s).", table, c.name)
			}
			acts = append(acts, alterAction{add: &c})
		}
	case toks[3].is("DROP") && len(toks) > 4 && toks[4].is("COLUMN"):
		for _, el := range splitTop(toks[5:]) {
			if len(el) != 1 || !el[0].isIdent() {
				return "", nil, errorf(errSyntax, "Incorrect syntax in ALTER TABLE %s DROP COLUMN.", table)
			}
			acts = append(acts, alterAction{drop: el[0].name()})
		}
	default:
		return "", nil, errorf(errUnsupported, "tdstest supports ALTER TABLE ... ADD column and ALTER TABLE ... DROP COLUMN only (table %s).", table)
	}
	return table, acts, nil
}

// parseDropTable reads DROP TABLE [IF EXISTS] a[, b].
func parseDropTable(toks []token) (bool, []string, error) {
	k := 2
	ifExists := false
	if k+1 < len(toks) && toks[k].is("IF") && toks[k+1].is("EXISTS") {
		ifExists, k = true, k+2
	}
	var names []string
	for _, el := range splitTop(toks[k:]) {
		if len(el) != 1 || !el[0].isIdent() {
			return false, nil, errorf(errSyntax, "Incorrect syntax near 'TABLE': expected DROP TABLE [IF EXISTS] name[, name].")
		}
		names = append(names, el[0].name())
	}
	return ifExists, names, nil
}
