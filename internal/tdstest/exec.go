package tdstest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
)

// execParams are the parameters of an RPC, by lower-case name without @.
type execParams map[string]rpcParam

// runRPC serves an RPC: sp_executesql, by number or by name.
func (s *session) runRPC(ctx context.Context, rpc rpcRequest) {
	name := procName(rpc.procName)
	if rpc.procName == "" {
		name = map[uint16]string{procExecuteSQL: "sp_executesql", 11: "sp_prepare", 12: "sp_execute", 13: "sp_prepexec", 15: "sp_unprepare"}[rpc.procID]
		if name == "" {
			name = "procedure id " + itoa(int(rpc.procID))
		}
	}
	if name != "sp_executesql" {
		s.sendError(errorf(errNoProcedure, "Could not find stored procedure '%s' (tdstest runs only sp_executesql).", name), 1)
		s.done(tokDoneProc, doneError, cmdNone, 0)
		return
	}
	if len(rpc.params) == 0 {
		s.sendError(errorf(201, "Procedure or function 'sp_executesql' expects parameter '@statement', which was not supplied."), 1)
		s.done(tokDoneProc, doneError, cmdNone, 0)
		return
	}
	stmt, ok := rpc.params[0].value.(string)
	if !ok {
		s.sendError(errorf(214, "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'."), 1)
		s.done(tokDoneProc, doneError, cmdNone, 0)
		return
	}
	params := execParams{}
	if len(rpc.params) > 1 {
		decl, _ := rpc.params[1].value.(string)
		names := paramDecls(decl)
		for k, p := range rpc.params[2:] {
			n := p.name
			if n == "" && k < len(names) {
				n = names[k]
			}
			if n == "" {
				s.sendError(errorf(8178, "The parameterized query expects parameter number %d, which has no name in '%s'.", k+1, decl), 1)
				s.done(tokDoneProc, doneError, cmdNone, 0)
				return
			}
			params[strings.ToLower(strings.TrimPrefix(n, "@"))] = p
		}
	}
	s.logf("sp_executesql: %s %s", oneLine(stmt), describeParams(params))
	failed := s.runBatch(ctx, stmt, params, tokDoneInProc)
	if ctx.Err() != nil {
		return
	}
	status := int32(0)
	flags := uint16(doneFinal)
	if failed {
		status, flags = 1, doneError
	}
	s.flushPending()
	s.emit(appendReturnStatus(nil, status))
	s.done(tokDoneProc, flags, cmdNone, 0)
}

func describeParams(p execParams) string {
	if len(p) == 0 {
		return ""
	}
	var parts []string
	for n, v := range p {
		s := fmt.Sprint(v.value)
		if b, ok := v.value.([]byte); ok {
			s = fmt.Sprintf("0x%X", b)
		}
		if len(s) > 60 {
			s = s[:60] + "..."
		}
		parts = append(parts, "@"+n+"="+s)
	}
	sort.Strings(parts)
	return "[" + strings.Join(parts, " ") + "]"
}

// runBatch runs the statements of a batch (or of sp_executesql) and
// reports whether one failed. doneTok is DONE for a batch, DONEINPROC
// inside an RPC.
func (s *session) runBatch(ctx context.Context, text string, params execParams, doneTok byte) bool {
	stmts, err := splitBatch(text)
	if err != nil {
		s.sendError(mapError(err, s.srv.opts.Database), 1)
		s.done(doneTok, doneError, cmdNone, 0)
		return true
	}
	failed := false
	for _, st := range stmts {
		if ctx.Err() != nil {
			return failed
		}
		err := s.runStatement(ctx, st, params, doneTok)
		s.checkRolledBack()
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			// attention: finish acknowledges it
			return failed
		}
		failed = true
		e := mapError(err, s.srv.opts.Database)
		s.sendError(e, st.line)
		s.done(doneTok, doneError, cmdNone, 0)
		if s.xactAbort && s.tranCount > 0 {
			s.rollbackNow(ctx)
			return true
		}
		if !e.statementTerminating() {
			return true
		}
	}
	return failed
}

func (s *session) env(params execParams) *env {
	e := &env{database: s.srv.opts.Database, user: s.user, spid: s.spid, tranCount: s.tranCount, rowCount: s.rowCount}
	if len(params) > 0 {
		e.params = map[string]sqlType{}
		for n, p := range params {
			e.params[n] = p.typ
		}
	}
	return e
}

// runStatement runs one statement and queues its result and DONE.
func (s *session) runStatement(ctx context.Context, st statement, params execParams, doneTok byte) error {
	switch st.kind {
	case skSet:
		if err := s.set(st); err != nil {
			return err
		}
		s.done(doneTok, doneFinal, cmdSetOpt, 0)
		return nil
	case skBegin:
		if err := s.begin(ctx); err != nil {
			return err
		}
		s.done(doneTok, doneFinal, cmdBeginTx, 0)
		return nil
	case skCommit:
		if err := s.commit(ctx); err != nil {
			return err
		}
		s.done(doneTok, doneFinal, cmdEndTx, 0)
		return nil
	case skRollback:
		if err := s.rollback(ctx); err != nil {
			return err
		}
		s.done(doneTok, doneFinal, cmdEndTx, 0)
		return nil
	case skWaitfor:
		if err := s.waitfor(ctx, st, params); err != nil {
			return err
		}
		s.done(doneTok, doneFinal, cmdNone, 0)
		return nil
	case skPrint:
		if err := s.print(ctx, st, params); err != nil {
			return err
		}
		s.done(doneTok, doneFinal, cmdNone, 0)
		return nil
	case skUse:
		name := ""
		if len(st.toks) == 2 && st.toks[1].isIdent() {
			name = st.toks[1].name()
		}
		if !strings.EqualFold(name, s.srv.opts.Database) {
			return errorf(errNoSuchDatabase, "Database '%s' does not exist. Make sure that the name is entered correctly (this server has only %s).", name, s.srv.opts.Database)
		}
		s.emit(appendEnvString(nil, envDatabase, s.srv.opts.Database, s.srv.opts.Database))
		s.sendInfo(5701, fmt.Sprintf("Changed database context to '%s'.", s.srv.opts.Database))
		s.done(doneTok, doneFinal, cmdNone, 0)
		return nil
	case skUnsupported:
		return unsupportedError(st)
	case skCreateTable, skAlterTable, skDropTable:
		if err := s.ddl(ctx, st, params); err != nil {
			return err
		}
		s.done(doneTok, doneFinal, cmdNone, 0)
		return nil
	}
	if st.toks[0].is("CREATE") || st.toks[0].is("DROP") {
		x := &xlat{env: s.env(params), params: map[string]bool{}}
		norm, err := x.normalize(st.toks)
		if err != nil {
			return err
		}
		if q, ok, err := translateIndex(norm); ok {
			if err != nil {
				return err
			}
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				return err
			}
			s.done(doneTok, doneFinal, cmdNone, 0)
			return nil
		}
	}
	tr, err := translate(st.toks, s.env(params))
	if err != nil {
		return err
	}
	if tr.sql == "" {
		s.done(doneTok, doneFinal, cmdNone, 0)
		return nil
	}
	s.logf("sqlite: %s", oneLine(tr.describe()))
	return s.execSQL(ctx, tr, params, doneTok)
}

// set handles SET: NOCOUNT and XACT_ABORT change what the session
// does; every other option is accepted and ignored.
func (s *session) set(st statement) error {
	if len(st.toks) > 1 && st.toks[1].kind == tParam {
		return errorf(errUnsupported, "tdstest does not support variables (SET @%s): pass parameters instead.", st.toks[1].val)
	}
	on := len(st.toks) > 0 && st.toks[len(st.toks)-1].is("ON")
	off := len(st.toks) > 0 && st.toks[len(st.toks)-1].is("OFF")
	if !on && !off {
		return nil
	}
	for _, t := range st.toks[1 : len(st.toks)-1] {
		switch {
		case t.is("NOCOUNT"):
			s.nocount = on
		case t.is("XACT_ABORT"):
			s.xactAbort = on
		}
	}
	return nil
}

// waitfor sleeps for WAITFOR DELAY 'hh:mm[:ss[.fff]]' (or a parameter
// holding it); attention wakes it.
func (s *session) waitfor(ctx context.Context, st statement, params execParams) error {
	if len(st.toks) != 3 || !st.toks[1].is("DELAY") {
		return errorf(errUnsupported, "tdstest supports WAITFOR DELAY 'hh:mm:ss' only (line %d).", st.line)
	}
	var text string
	switch t := st.toks[2]; t.kind {
	case tString:
		text = t.val
	case tParam:
		p, ok := params[t.val]
		if !ok {
			return errorf(errMustDeclare, "Must declare the scalar variable \"@%s\".", t.val)
		}
		text = toText(p.value)
	default:
		return errorf(errSyntax, "Incorrect syntax near '%s': WAITFOR DELAY takes a 'hh:mm:ss' string.", t.text)
	}
	d, err := parseDelay(text)
	if err != nil {
		return err
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseDelay reads hh:mm[:ss[.fff]], at most 24 hours as in SQL Server.
func parseDelay(text string) (time.Duration, error) {
	bad := errorf(148, "Incorrect time syntax in time string '%s' used with WAITFOR.", text)
	parts := strings.Split(strings.TrimSpace(text), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, bad
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || h < 0 || h > 24 || m < 0 || m > 59 {
		return 0, bad
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	if len(parts) == 3 {
		f, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || f < 0 || f >= 60 {
			return 0, bad
		}
		d += time.Duration(f * float64(time.Second))
	}
	return d, nil
}

// print sends PRINT's text as an INFO message.
func (s *session) print(ctx context.Context, st statement, params execParams) error {
	toks := append([]token{word("SELECT")}, st.toks[1:]...)
	tr, err := translate(toks, s.env(params))
	if err != nil {
		return err
	}
	args, err := bindArgs(tr, params)
	if err != nil {
		return err
	}
	var v any
	if err := s.db.QueryRowContext(ctx, tr.sql, args...).Scan(&v); err != nil {
		return err
	}
	s.sendInfo(0, toText(v))
	return nil
}

// ddl runs CREATE/ALTER/DROP TABLE atomically: in the open transaction
// through a savepoint, else in a transaction of its own.
func (s *session) ddl(ctx context.Context, st statement, params execParams) error {
	x := &xlat{env: s.env(params), params: map[string]bool{}}
	toks, err := x.normalize(st.toks)
	if err != nil {
		return err
	}
	var run func() error
	switch st.kind {
	case skCreateTable:
		def, err := x.parseCreateTable(toks)
		if err != nil {
			return err
		}
		run = func() error { return execCreateTable(ctx, s.db, def) }
	case skAlterTable:
		table, acts, err := x.parseAlterTable(toks)
		if err != nil {
			return err
		}
		run = func() error { return execAlterTable(ctx, s.db, table, acts) }
	case skDropTable:
		ifExists, names, err := parseDropTable(toks)
		if err != nil {
			return err
		}
		run = func() error { return execDropTable(ctx, s.db, ifExists, names) }
	}
	open, commit, undo := "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"
	if s.tranCount > 0 {
		open, commit, undo = "SAVEPOINT tds_ddl", "RELEASE tds_ddl", "ROLLBACK TO tds_ddl; RELEASE tds_ddl"
	}
	if _, err := s.db.ExecContext(ctx, open); err != nil {
		return err
	}
	if err := run(); err != nil {
		for _, q := range strings.Split(undo, "; ") {
			s.db.ExecContext(context.WithoutCancel(ctx), q)
		}
		return err
	}
	_, err = s.db.ExecContext(context.WithoutCancel(ctx), commit)
	return err
}

// bindArgs binds the parameters a translation references.
func bindArgs(tr translation, params execParams) ([]any, error) {
	args := make([]any, 0, len(tr.params))
	for _, n := range tr.params {
		p, ok := params[n]
		if !ok {
			return nil, errorf(errMustDeclare, "Must declare the scalar variable \"@%s\".", n)
		}
		args = append(args, sql.Named(n, p.value))
	}
	return args, nil
}

var verbCmd = map[string]uint16{"SELECT": cmdSelect, "INSERT": cmdInsert, "UPDATE": cmdUpdate, "DELETE": cmdDelete}

// columnInfo prepares q (without running it) to describe its result.
func (s *session) columnInfo(q string) ([]sqlite.ColumnInfo, error) {
	var info []sqlite.ColumnInfo
	err := s.db.Raw(func(dc any) error {
		ci, ok := dc.(interface {
			ColumnInfo(string) ([]sqlite.ColumnInfo, error)
		})
		if !ok {
			return fmt.Errorf("modernc.org/sqlite connection %T cannot describe queries", dc)
		}
		var err error
		info, err = ci.ColumnInfo(q)
		return err
	})
	return info, err
}

// execSQL runs a translated statement and queues its result.
func (s *session) execSQL(ctx context.Context, tr translation, params execParams, doneTok byte) error {
	args, err := bindArgs(tr, params)
	if err != nil {
		return err
	}
	info, err := s.columnInfo(tr.sql)
	if err != nil {
		return err
	}
	cmd := verbCmd[tr.verb]
	if len(info) == 0 {
		res, err := s.db.ExecContext(ctx, tr.sql, args...)
		if err != nil {
			return err
		}
		status := uint16(doneFinal)
		var n int64
		if tr.verb == "INSERT" || tr.verb == "UPDATE" || tr.verb == "DELETE" {
			n, _ = res.RowsAffected()
			s.rowCount = n
			if !s.nocount {
				status |= doneCount
			}
		}
		s.done(doneTok, status, cmd, uint64(n))
		return nil
	}
	cols, infer, err := s.resultColumns(ctx, info, tr, params)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, tr.sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	n, err := s.sendRows(ctx, rows, cols, infer)
	if err != nil {
		return err
	}
	s.rowCount = n
	status := uint16(doneFinal)
	if !s.nocount {
		status |= doneCount
	}
	s.done(doneTok, status, cmd, uint64(n))
	return nil
}

// resultColumns types each result column: from a hint of the
// translation, else from the catalog through the column's origin;
// columns with neither are typed from their values (infer[i] true).
func (s *session) resultColumns(ctx context.Context, info []sqlite.ColumnInfo, tr translation, params execParams) ([]column, []bool, error) {
	catalogs := map[string][]catCol{}
	lookup := func(schema, table, col string) (catCol, bool, error) {
		if table == "" || col == "" {
			return catCol{}, false, nil
		}
		if schema == "" {
			schema = "main"
		}
		key := schema + "." + strings.ToLower(table)
		cols, ok := catalogs[key]
		if !ok {
			var err error
			if cols, err = catalogColumns(ctx, s.db, schema, table); err != nil {
				return catCol{}, false, err
			}
			catalogs[key] = cols
		}
		for _, c := range cols {
			if c.col == strings.ToLower(col) {
				return c, true, nil
			}
		}
		return catCol{}, false, nil
	}
	n := len(info)
	cols := make([]column, n)
	infer := make([]bool, n)
	for i, ci := range info {
		var h hint
		switch {
		case i < len(tr.front):
			h = tr.front[i]
		case n-1-i < len(tr.back):
			h = tr.back[n-1-i]
		}
		cols[i] = column{name: ci.Name, nullable: true}
		if h.unnamed {
			cols[i].name = ""
		}
		switch {
		case h.typ != nil:
			cols[i].typ = *h.typ
			continue
		case h.param != "":
			if p, ok := params[h.param]; ok && p.typ.kind != 0 {
				cols[i].typ = p.typ
				continue
			}
		case h.column != "":
			c, ok, err := lookup("", tr.target, h.column)
			if err != nil {
				return nil, nil, err
			}
			if !ok && strings.HasPrefix(tr.target, "#") {
				c, ok, err = lookup("temp", tr.target, h.column)
				if err != nil {
					return nil, nil, err
				}
			}
			if ok {
				cols[i].typ, cols[i].nullable = c.typ, !c.notNull
				continue
			}
		}
		c, ok, err := lookup(ci.DatabaseName, ci.TableName, ci.OriginName)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			cols[i].typ, cols[i].nullable = c.typ, !c.notNull
			continue
		}
		infer[i] = true
	}
	return cols, infer, nil
}

// sendRows queues COLMETADATA and the rows. Typed columns stream; with
// a column to type from its values, the rows are read first.
func (s *session) sendRows(ctx context.Context, rows *sql.Rows, cols []column, infer []bool) (int64, error) {
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	inferring := false
	for _, b := range infer {
		inferring = inferring || b
	}
	if inferring {
		var all [][]any
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return 0, err
			}
			all = append(all, append([]any(nil), vals...))
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		for i := range cols {
			if infer[i] {
				cols[i].typ = inferType(all, i)
			}
		}
		s.emit(appendColMetadata(nil, cols))
		var b []byte
		for k, row := range all {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			var err error
			if b, err = appendRow(b[:0], cols, row); err != nil {
				return 0, err
			}
			s.emit(b)
			if err := s.cutAfter(int64(k + 1)); err != nil {
				return int64(k + 1), err
			}
		}
		return int64(len(all)), nil
	}
	s.emit(appendColMetadata(nil, cols))
	var n int64
	var b []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		var err error
		if b, err = appendRow(b[:0], cols, vals); err != nil {
			return n, err
		}
		s.emit(b)
		n++
		if err := s.cutAfter(n); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, ctx.Err()
}

// errCut ends a request whose connection CutResults cut.
var errCut = errors.New("connection cut in the middle of a result set (CutResults)")

// cutAfter cuts the connection after the rows-th row of a result set when
// CutResults asks for it: what was queued is sent first, in packets
// without end-of-message, so the client has the rows and then loses the
// connection.
func (s *session) cutAfter(rows int64) error {
	if !s.srv.cutAt(rows) {
		return nil
	}
	s.pw.write(s.out)
	s.out = s.out[:0]
	s.pw.flush(0)
	s.logf("cut after row %d of a result set", rows)
	s.kill()
	return errCut
}

func appendRow(b []byte, cols []column, vals []any) ([]byte, error) {
	b = append(b, tokRow)
	for i, c := range cols {
		var err error
		if b, err = c.typ.appendValue(b, vals[i]); err != nil {
			var se *sqlError
			if errors.As(err, &se) {
				se.msg += fmt.Sprintf(" (column %d, %q)", i+1, c.name)
			}
			return nil, err
		}
	}
	return b, nil
}

// inferType types an expression column from its values: integers are
// BIGINT, any real FLOAT, date-times in the storage form DATETIME2(7)
// and dates in theirs DATE,
// other text NVARCHAR, blobs VARBINARY; all NULL is NVARCHAR(4000).
func inferType(rows [][]any, i int) sqlType {
	var ints, reals, texts, blobs, stamps, dates int
	longText, longBlob := false, false
	for _, r := range rows {
		switch v := r[i].(type) {
		case int64:
			ints++
		case float64:
			reals++
		case string:
			texts++
			switch len(v) {
			case len(layoutDateTime):
				if _, err := time.Parse(layoutDateTime, v); err == nil {
					stamps++
				}
			case len(layoutDate):
				if _, err := time.Parse(layoutDate, v); err == nil {
					dates++
				}
			}
			if utf8.RuneCountInString(v) > 4000 {
				longText = true
			}
		case []byte:
			blobs++
			if len(v) > 8000 {
				longBlob = true
			}
		case time.Time:
			stamps++
			texts++
		}
	}
	switch {
	case blobs > 0 && texts == 0:
		if longBlob {
			return typeVarBinMax
		}
		return typeVarBin8000
	case texts > 0 && stamps == texts && ints+reals+blobs == 0:
		return typeDateTime2_7
	case texts > 0 && dates == texts && ints+reals+blobs == 0:
		return sqlType{kind: kDate}
	case texts > 0 || blobs > 0:
		if longText {
			return typeNVarCharMax
		}
		return typeNVarChar4000
	case reals > 0:
		return typeFloat
	case ints > 0:
		return typeBigInt
	}
	return typeNVarChar4000
}
