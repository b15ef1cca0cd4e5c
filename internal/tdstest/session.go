package tdstest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// handshakeTimeout bounds PRELOGIN and LOGIN7: a client that connects
// and says nothing does not hold a session forever.
const handshakeTimeout = 30 * time.Second

// session is one client connection: one TDS conversation and one SQLite
// connection, so each session has its own transaction.
type session struct {
	srv    *Server
	nc     net.Conn
	spid   int
	ctx    context.Context
	cancel context.CancelFunc

	pw         *packetWriter
	packetSize int
	out        []byte // tokens not yet given to pw
	pending    []byte // the last DONE of the reply, final unless more follows

	db *sql.Conn
	// rolledBack is set by SQLite's rollback hook: a transaction ended
	// by SQLite itself (an interrupted write) must be reported.
	rolledBack atomic.Bool

	// request state, shared with the reader goroutine
	mu      sync.Mutex
	running bool
	attn    bool
	reqStop context.CancelFunc

	// session state, owned by the serving goroutine
	user       string
	tranCount  int
	tranID     uint64
	tranSerial uint64
	nocount    bool
	xactAbort  bool
	rowCount   int64
}

// request is what the reader goroutine hands to the serving goroutine.
type request struct {
	msg       message
	ctx       context.Context
	attention bool // an attention that arrived with no request running
}

func (s *session) logf(format string, args ...any) {
	s.srv.logf("spid %d: "+format, append([]any{s.spid}, args...)...)
}

// kill cuts the connection (first, so that a statement the cancellation
// stops cannot report success); serve then cleans up and returns.
func (s *session) kill() {
	s.nc.Close()
	s.cancel()
}

// serve runs the session until the client leaves or the server cuts it.
func (s *session) serve() {
	defer s.cleanup()
	if err := s.handshake(); err != nil {
		if !errors.Is(err, io.EOF) && s.ctx.Err() == nil {
			s.logf("login: %v", err)
		}
		return
	}
	reqs := make(chan request)
	go s.readLoop(reqs)
	for req := range reqs {
		if req.attention {
			s.pw.begin()
			s.out = appendDone(s.out[:0], tokDone, doneAttn, cmdNone, 0)
			s.pw.write(s.out)
			s.out = s.out[:0]
			if err := s.pw.end(); err != nil {
				s.kill()
			}
			continue
		}
		if err := s.handle(req); err != nil {
			if s.ctx.Err() == nil {
				s.logf("closing: %v", err)
			}
			s.kill()
		}
	}
}

func (s *session) cleanup() {
	s.kill()
	if s.db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
		if s.tranCount > 0 {
			s.db.ExecContext(ctx, "ROLLBACK")
		}
		cancel()
		// The SQLite connection holds this session's #temp tables and
		// rollback hook: database/sql must close it, not pool it.
		s.db.Raw(func(any) error { return driver.ErrBadConn })
		s.db.Close()
	}
	s.srv.forget(s)
}

// readLoop reads client messages. Attention is handled here, since it
// arrives while the serving goroutine is busy with the request it stops.
func (s *session) readLoop(reqs chan<- request) {
	defer close(reqs)
	for {
		m, err := readMessage(s.nc)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && s.ctx.Err() == nil {
				s.logf("read: %v", err)
			}
			s.cancel()
			return
		}
		if m.typ == pktAttention {
			s.mu.Lock()
			if s.running {
				s.attn = true
				s.reqStop()
				s.mu.Unlock()
				s.logf("attention: stopping the running request")
				continue
			}
			s.mu.Unlock()
			select {
			case reqs <- request{attention: true}:
			case <-s.ctx.Done():
				return
			}
			continue
		}
		ctx, stop := context.WithCancel(s.ctx)
		s.mu.Lock()
		s.running, s.attn, s.reqStop = true, false, stop
		s.mu.Unlock()
		select {
		case reqs <- request{msg: m, ctx: ctx}:
		case <-s.ctx.Done():
			stop()
			return
		}
	}
}

// handshake answers PRELOGIN and LOGIN7 and opens the SQLite connection.
func (s *session) handshake() error {
	s.nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer s.nc.SetDeadline(time.Time{})
	m, err := readMessage(s.nc)
	if err != nil {
		return err
	}
	if m.typ != pktPrelogin {
		return fmt.Errorf("expected PRELOGIN (packet type 18), got packet type %d", m.typ)
	}
	pl, err := parsePrelogin(m.data)
	if err != nil {
		return err
	}
	if pl.encryption == encryptOn || pl.encryption == encryptReq {
		s.logf("the client requires encryption, which tdstest does not offer: use encrypt=disable in the DSN")
	}
	s.pw = newPacketWriter(s.nc, minPacketSize, uint16(s.spid))
	s.pw.begin()
	s.pw.write(preloginReply())
	if err := s.pw.end(); err != nil {
		return err
	}
	m, err = readMessage(s.nc)
	if err != nil {
		return err
	}
	if m.typ != pktLogin7 {
		return fmt.Errorf("expected LOGIN7 (packet type 16), got packet type %d", m.typ)
	}
	l, err := parseLogin7(m.data)
	if err != nil {
		return err
	}
	s.packetSize = int(l.packetSize)
	switch {
	case s.packetSize == 0:
		s.packetSize = defaultPacketSize
	case s.packetSize < minPacketSize:
		s.packetSize = minPacketSize
	case s.packetSize > maxPacketSize:
		s.packetSize = maxPacketSize
	}
	opts := s.srv.opts
	fail := func(number int32, msg string) error {
		s.pw.begin()
		b := appendMessage(nil, tokError, number, 1, 14, msg, serverName, 1)
		b = appendDone(b, tokDone, doneError, cmdNone, 0)
		s.pw.write(b)
		s.pw.end()
		return fmt.Errorf("refused login of %q: %s", l.userName, msg)
	}
	switch {
	case l.optionFlags2&loginIntSecurity != 0 || len(l.sspi) > 0:
		return fail(18452, "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication (tdstest accepts only SQL Server logins).")
	case l.features[featFedAuth] != nil:
		return fail(errLoginFailed, "Login failed: tdstest does not support federated (Azure AD) authentication.")
	case l.userName != opts.User || l.password != opts.Password:
		return fail(errLoginFailed, fmt.Sprintf("Login failed for user '%s'.", l.userName))
	case l.database != "" && !strings.EqualFold(l.database, opts.Database):
		s.pw.begin()
		b := appendMessage(nil, tokError, errCannotOpenDB, 1, 11, fmt.Sprintf("Cannot open database \"%s\" requested by the login. The login failed.", l.database), serverName, 1)
		b = appendMessage(b, tokError, errLoginFailed, 1, 14, fmt.Sprintf("Login failed for user '%s'.", l.userName), serverName, 1)
		b = appendDone(b, tokDone, doneError, cmdNone, 0)
		s.pw.write(b)
		s.pw.end()
		return fmt.Errorf("refused login of %q: database %q does not exist (this server has %q)", l.userName, l.database, opts.Database)
	}
	s.user = l.userName

	conn, err := s.srv.db.Conn(s.ctx)
	if err != nil {
		return fmt.Errorf("open SQLite connection: %w", err)
	}
	s.db = conn
	if err := conn.Raw(func(dc any) error {
		h, ok := dc.(interface {
			RegisterRollbackHook(sqlite.RollbackHookFn)
		})
		if !ok {
			return fmt.Errorf("modernc.org/sqlite connection %T has no rollback hook", dc)
		}
		h.RegisterRollbackHook(func() { s.rolledBack.Store(true) })
		return nil
	}); err != nil {
		return err
	}

	b := appendEnvString(nil, envDatabase, opts.Database, "master")
	b = appendMessage(b, tokInfo, 5701, 2, 0, fmt.Sprintf("Changed database context to '%s'.", opts.Database), serverName, 1)
	b = appendEnvBytes(b, envCollation, collationLatin1, nil)
	b = appendEnvString(b, envLanguage, "us_english", "")
	b = appendMessage(b, tokInfo, 5703, 1, 0, "Changed language setting to us_english.", serverName, 1)
	b = appendEnvString(b, envPacketSize, itoa(s.packetSize), itoa(int(l.packetSize)))
	b = appendLoginAck(b)
	if l.features != nil {
		b = appendFeatureExtAck(b)
	}
	b = appendDone(b, tokDone, doneFinal, cmdNone, 0)
	s.pw.begin()
	s.pw.write(b)
	if err := s.pw.end(); err != nil {
		return err
	}
	s.pw = newPacketWriter(s.nc, s.packetSize, uint16(s.spid))
	s.logf("logged in as %s from %s (packet size %d, client %s %q)", l.userName, s.nc.RemoteAddr(), s.packetSize, l.clientLibrary, l.appName)
	return nil
}

// handle serves one request and sends its reply.
func (s *session) handle(req request) error {
	m := req.msg
	ctx := req.ctx
	s.pw.begin()
	s.out = s.out[:0]
	s.pending = nil
	if m.status&(stResetConn|stResetConnSkipTran) != 0 {
		s.reset(m.status&stResetConnSkipTran != 0)
	}
	switch m.typ {
	case pktSQLBatch:
		text, _, err := parseSQLBatch(m.data)
		if err != nil {
			return err
		}
		s.logf("batch: %s", oneLine(text))
		s.runBatch(ctx, text, nil, tokDone)
	case pktRPC:
		rpc, _, err := parseRPC(m.data)
		if err != nil {
			s.sendError(errorf(errRPCParam, "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect: %v.", err), 1)
			s.done(tokDone, doneError, cmdNone, 0)
			break
		}
		s.runRPC(ctx, rpc)
	case pktTM:
		q, _, err := parseTMRequest(m.data)
		if err != nil {
			s.sendError(errorf(errProtocol, "The incoming tabular data stream (TDS) protocol stream is incorrect: %v.", err), 1)
			s.done(tokDone, doneError, cmdNone, 0)
			break
		}
		s.runTM(ctx, q)
	default:
		s.sendError(errorf(errProtocol, "tdstest does not handle requests of packet type %d (SQL batch, RPC, transaction manager and attention only).", m.typ), 1)
		s.done(tokDone, doneError, cmdNone, 0)
	}
	return s.finish()
}

// emit queues tokens, passing them to the network when enough gathered.
func (s *session) emit(b []byte) {
	s.out = append(s.out, b...)
	if len(s.out) >= 4*s.packetSize {
		s.pw.write(s.out)
		s.out = s.out[:0]
	}
}

// done queues a DONE, DONEPROC or DONEINPROC token. It stays pending:
// when another follows it gets the "more" bit, else it ends the reply.
func (s *session) done(tok byte, status, cmd uint16, rows uint64) {
	s.flushPending()
	s.pending = appendDone(nil, tok, status, cmd, rows)
}

func (s *session) flushPending() {
	if s.pending != nil {
		s.pending[1] |= doneMore
		s.emit(s.pending)
		s.pending = nil
	}
}

// finish ends the reply. An attention that arrived while the request
// ran is acknowledged here with DONE_ATTN; one arriving later finds no
// request running and gets its own reply.
func (s *session) finish() error {
	s.mu.Lock()
	attn := s.attn
	s.running, s.attn = false, false
	if s.reqStop != nil {
		s.reqStop()
		s.reqStop = nil
	}
	s.mu.Unlock()
	if err := s.ctx.Err(); err != nil {
		// the session is being cut: whatever ran must not look done
		return fmt.Errorf("session ended during the request: %w", err)
	}
	s.checkRolledBack()
	switch {
	case attn:
		s.flushPending()
		s.emit(appendDone(nil, tokDone, doneAttn, cmdNone, 0))
	case s.pending != nil:
		s.emit(s.pending)
		s.pending = nil
	default:
		s.emit(appendDone(nil, tokDone, doneFinal, cmdNone, 0))
	}
	s.pw.write(s.out)
	s.out = s.out[:0]
	return s.pw.end()
}

// sendError queues an ERROR token.
func (s *session) sendError(e *sqlError, line int) {
	s.logf("error %d: %s", e.number, e.msg)
	s.emit(appendMessage(nil, tokError, e.number, 1, e.class, e.msg, serverName, int32(line)))
}

func (s *session) sendInfo(number int32, msg string) {
	s.emit(appendMessage(nil, tokInfo, number, 1, 0, msg, serverName, 1))
}

// reset is sp_reset_connection: roll back, forget SET options, drop
// #temp tables.
func (s *session) reset(keepTran bool) {
	ctx := context.WithoutCancel(s.ctx)
	if !keepTran && s.tranCount > 0 {
		s.rollbackNow(ctx)
	}
	s.nocount, s.xactAbort = false, false
	if err := s.dropTempTables(ctx); err != nil {
		s.logf("reset: drop temp tables: %v", err)
	}
	s.emit(appendEnvString(nil, envResetAck, "", ""))
}

func (s *session) dropTempTables(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM temp.sqlite_master WHERE type = 'table'`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if _, err := s.db.ExecContext(ctx, `DROP TABLE temp.`+quotedIdent(n).text); err != nil {
			return err
		}
	}
	return nil
}

// Transactions. SQLite's transaction is taken with BEGIN IMMEDIATE, so
// a session holding one makes other writers wait (up to busyTimeout)
// rather than fail later; nested BEGIN TRAN only counts, as in SQL Server.

func (s *session) begin(ctx context.Context) error {
	if s.tranCount == 0 {
		if _, err := s.db.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return err
		}
		s.rolledBack.Store(false)
		s.tranSerial++
		s.tranID = uint64(s.spid)<<32 | s.tranSerial
		s.emit(appendEnvBytes(nil, envBeginTx, binary.LittleEndian.AppendUint64(nil, s.tranID), nil))
	}
	s.tranCount++
	return nil
}

func (s *session) commit(ctx context.Context) error {
	if s.tranCount == 0 {
		return errorf(errCommitNoBegin, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.")
	}
	if s.tranCount > 1 {
		s.tranCount--
		return nil
	}
	if _, err := s.db.ExecContext(context.WithoutCancel(ctx), "COMMIT"); err != nil {
		return err
	}
	s.emit(appendEnvBytes(nil, envCommitTx, nil, binary.LittleEndian.AppendUint64(nil, s.tranID)))
	s.tranCount, s.tranID = 0, 0
	return nil
}

func (s *session) rollback(ctx context.Context) error {
	if s.tranCount == 0 {
		return errorf(errRollbackNoBegin, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.")
	}
	s.rollbackNow(ctx)
	return nil
}

// rollbackNow ends the open transaction, however it stands.
func (s *session) rollbackNow(ctx context.Context) {
	if _, err := s.db.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		s.logf("rollback: %v", err)
	}
	s.emit(appendEnvBytes(nil, envRollbackTx, nil, binary.LittleEndian.AppendUint64(nil, s.tranID)))
	s.tranCount, s.tranID = 0, 0
}

// checkRolledBack reports a transaction SQLite rolled back on its own
// (an interrupted write does that), as SQL Server reports a rollback.
func (s *session) checkRolledBack() {
	if s.tranCount > 0 && s.rolledBack.Load() {
		s.logf("SQLite rolled the transaction back")
		s.emit(appendEnvBytes(nil, envRollbackTx, nil, binary.LittleEndian.AppendUint64(nil, s.tranID)))
		s.tranCount, s.tranID = 0, 0
	}
}

// runTM serves a transaction manager request.
func (s *session) runTM(ctx context.Context, q tmRequest) {
	var err error
	cmd := uint16(cmdEndTx)
	switch q.kind {
	case tmBegin:
		cmd = cmdBeginTx
		err = s.begin(ctx)
	case tmCommit:
		if err = s.commit(ctx); err == nil && q.beginAfter {
			err = s.begin(ctx)
		}
	case tmRollback:
		if err = s.rollback(ctx); err == nil && q.beginAfter {
			err = s.begin(ctx)
		}
	case tmSave:
		err = errorf(errUnsupported, "tdstest does not support savepoints (SAVE TRANSACTION).")
	}
	if err != nil {
		s.sendError(mapError(err, s.srv.opts.Database), 1)
		s.done(tokDone, doneError, cmd, 0)
		return
	}
	s.done(tokDone, doneFinal, cmd, 0)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
