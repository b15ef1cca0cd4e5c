package tdstest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Options configure a Server. The zero value is ready to use.
type Options struct {
	// Database is the one database the server has: reported at login
	// and accepted in the DSN. Default "erp".
	Database string
	// User and Password are the only login accepted; default "sa" and
	// "Loopback-1". A LOGIN7 with others fails with error 18456.
	User, Password string
	// Logf, if set, receives a trace: logins, batches, the SQLite text
	// they were translated to, errors.
	Logf func(format string, args ...any)
}

// Server is a loopback SQL Server (TDS 7.4) backed by a SQLite file.
type Server struct {
	opts Options
	dir  string
	db   *sql.DB

	mu       sync.Mutex
	ln       net.Listener
	addr     string
	sessions map[*session]struct{}
	nextSPID int
	closed   bool
	cut      cutFault
	accepts  sync.WaitGroup // the accept loop
	live     sync.WaitGroup // the sessions
}

// Start starts a server on 127.0.0.1 with an empty database in a
// temporary directory, removed by Close.
func Start(o Options) (*Server, error) {
	if o.Database == "" {
		o.Database = "erp"
	}
	if o.User == "" {
		o.User = "sa"
	}
	if o.Password == "" {
		o.Password = "Loopback-1"
	}
	dir, err := os.MkdirTemp("", "tdstest-")
	if err != nil {
		return nil, fmt.Errorf("tdstest: create the database directory: %w", err)
	}
	db, err := openSQLite(filepath.Join(dir, o.Database+".sqlite"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("tdstest: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("tdstest: listen on 127.0.0.1: %w", err)
	}
	s := &Server{opts: o, dir: dir, db: db, ln: ln, addr: ln.Addr().String(), sessions: map[*session]struct{}{}, nextSPID: 51}
	s.logf("listening on %s, database %s in %s", s.addr, o.Database, dir)
	s.accepts.Add(1)
	go s.acceptLoop(ln)
	return s, nil
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("tdstest: "+format, args...)
	}
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// DSN is a go-mssqldb connection string for the server:
// sqlserver://USER:PASS@127.0.0.1:PORT?database=DB&encrypt=disable.
func (s *Server) DSN() string {
	u := url.URL{
		Scheme:   "sqlserver",
		User:     url.UserPassword(s.opts.User, s.opts.Password),
		Host:     s.addr,
		RawQuery: url.Values{"database": {s.opts.Database}, "encrypt": {"disable"}}.Encode(),
	}
	return u.String()
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.accepts.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.logf("accept: %v", err)
			}
			return
		}
		s.mu.Lock()
		if s.closed || s.ln != ln {
			s.mu.Unlock()
			nc.Close()
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		sess := &session{srv: s, nc: nc, spid: s.nextSPID, ctx: ctx, cancel: cancel}
		s.nextSPID++
		if s.nextSPID > 32000 {
			s.nextSPID = 51
		}
		s.sessions[sess] = struct{}{}
		s.live.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.live.Done()
			sess.serve()
		}()
	}
}

func (s *Server) forget(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
}

// stop closes the listener and cuts every session, waiting for them to
// roll back and release their SQLite connections.
func (s *Server) stop() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for sess := range s.sessions {
		sess.kill()
	}
	s.mu.Unlock()
	s.accepts.Wait()
	s.live.Wait()
}

// Pause simulates an outage: it closes the listener and cuts every open
// connection, even in the middle of a query, and returns once their
// transactions are rolled back. The data stays; Resume listens again on
// the same address. Pause, Resume and Close are not to be called
// concurrently with each other.
func (s *Server) Pause() {
	s.logf("pause")
	s.stop()
}

// Resume listens again on the address of Start after Pause.
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("tdstest: Resume after Close")
	}
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("tdstest: listen again on %s: %w", s.addr, err)
	}
	s.ln = ln
	s.logf("resumed on %s", s.addr)
	s.accepts.Add(1)
	go s.acceptLoop(ln)
	return nil
}

// cutFault is what CutResults arms.
type cutFault struct {
	armed atomic.Bool // left > 0: the rows streamed check no lock when false
	rows  int         // the row after which a result set is cut
	left  int         // result sets still to cut
	done  int         // result sets cut so far
}

// CutResults simulates a network failure in the middle of a result set:
// the next n result sets that reach rows rows lose their connection right
// after those rows reach the client, with no error token and no DONE.
// Shorter result sets are not touched. n 0 disarms it.
func (s *Server) CutResults(rows, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut.rows, s.cut.left = rows, max(n, 0)
	s.cut.armed.Store(s.cut.left > 0)
	if s.cut.left == 0 {
		s.logf("cuts disarmed")
		return
	}
	s.logf("armed: cut the next %d result set(s) after %d row(s)", n, rows)
}

// Cuts reports how many result sets CutResults has cut.
func (s *Server) Cuts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cut.done
}

// cutAt reports whether a result set that has sent rows rows is to be cut
// now, counting the cut.
func (s *Server) cutAt(rows int64) bool {
	if !s.cut.armed.Load() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut.left == 0 || rows != int64(s.cut.rows) {
		return false
	}
	s.cut.left--
	s.cut.done++
	s.cut.armed.Store(s.cut.left > 0)
	return true
}

// Close stops the server, closes the database and removes its files.
// It may be called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	err := s.db.Close()
	if rmErr := os.RemoveAll(s.dir); err == nil {
		err = rmErr
	}
	s.logf("closed")
	return err
}
