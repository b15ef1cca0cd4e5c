package ledger

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"go.uber.org/zap"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Backend names.
const (
	BackendSQLite = "sqlite"
	BackendMySQL  = "mysql"
)

// Program is what the ledger needs to know of a program: its id and the
// zone its days are counted in.
type Program struct {
	ID       string
	Location *time.Location
}

// Options open a ledger.
type Options struct {
	// Backend is BackendSQLite (default) or BackendMySQL.
	Backend string
	// Path of the SQLite file (created with its folder if missing).
	Path string
	// DSN for MySQL, in go-sql-driver form.
	DSN string
	// Synchronous is SQLite's durability: "full" (default) or "normal".
	Synchronous string
	// BusyTimeout is how long SQLite waits for a lock (default 10s).
	BusyTimeout time.Duration
	// CacheMiB is SQLite's page cache of each write connection, in MiB
	// (default 16).
	CacheMiB int
	// StallTimeout, on MySQL, is how long the server waits for the next
	// statement of a connection before it closes it and rolls back its
	// transaction (the session's wait_timeout, in whole seconds, at least
	// one). Daemons sharing the ledger set it to daemon.lease_ttl: a
	// daemon stalled in the middle of a fenced transaction (frozen, cut
	// off from the database) holds the lease's fence row, and no standby
	// could take the lease over until it resumed. 0, or wait_timeout in
	// the DSN, keeps that setting.
	StallTimeout time.Duration
	// Programs the ledger accepts writes for.
	Programs []Program
	// Clock gives "now"; nil means time.Now. Tests inject their own.
	Clock func() time.Time
	// Logger; nil means no logs.
	Logger *zap.Logger
}

// Ledger is the points ledger on one database.
type Ledger struct {
	backend  string
	w        *sql.DB // writes (SQLite: one connection, so writers queue here)
	r        *sql.DB // reads (SQLite: a pool of read-only connections)
	programs map[string]Program
	clock    func() time.Time
	log      *zap.Logger
	stmts    sync.Map              // query -> *sql.Stmt on w
	rstmts   stmtCache             // SQLite: query -> *sql.Stmt on r
	idents   identCache            // committed identifiers and their customers
	wmu      sync.Mutex            // SQLite: one write transaction at a time
	wwaiting atomic.Int32          // SQLite: writers waiting for wmu (lockWrite)
	group    writeQueue            // SQLite: the Updates waiting for the next transaction (group.go)
	fence    atomic.Pointer[Lease] // set: every write transaction checks the lease first (SetFence)
	hooks    hooks                 // SetNotifier, OnCommit
}

// Open connects to the ledger database, applies pending migrations and
// refuses a schema newer than this binary knows.
func Open(ctx context.Context, o Options) (*Ledger, error) {
	l := &Ledger{
		backend:  o.Backend,
		programs: make(map[string]Program, len(o.Programs)),
		clock:    o.Clock,
		log:      o.Logger,
	}
	if l.backend == "" {
		l.backend = BackendSQLite
	}
	if l.clock == nil {
		l.clock = time.Now
	}
	if l.log == nil {
		l.log = zap.NewNop()
	}
	for _, p := range o.Programs {
		if p.Location == nil {
			p.Location = time.UTC
		}
		l.programs[p.ID] = p
	}
	var err error
	switch l.backend {
	case BackendSQLite:
		err = l.openSQLite(o)
	case BackendMySQL:
		err = l.openMySQL(o)
	default:
		return nil, fmt.Errorf("ledger: unknown backend %q (use sqlite or mysql)", l.backend)
	}
	if err != nil {
		return nil, err
	}
	if err := l.migrate(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Ledger) openSQLite(o Options) error {
	if o.Path == "" {
		return errors.New("ledger: the SQLite path is empty (set ledger.path)")
	}
	if dir := filepath.Dir(o.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("ledger: create folder for %s: %w", o.Path, err)
		}
	}
	sync := strings.ToUpper(o.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	if sync != "FULL" && sync != "NORMAL" {
		return fmt.Errorf("ledger: synchronous %q: use full or normal", o.Synchronous)
	}
	busy := o.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+sync+")")
	// The default 2 MiB thrashes once indexes outgrow it; each MiB more
	// is a MiB more of the process's memory, since the cache fills up as
	// the ledger grows. 16 MiB was 11% slower than 64 MiB at ingesting
	// 200,000 till rows, for half the memory (BENCHMARKS.md).
	cache := o.CacheMiB
	if cache <= 0 {
		cache = 16
	}
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cache*1024))
	// The process's pool of cached pages (pagecache.go): this cache and
	// an eighth more for the read connections' pages.
	if err := setupPageCache(cache + cache/8); err != nil {
		l.log.Warn("SQLite's cached pages take about twice their size", zap.Error(err))
	}
	// Savepoints (Tx.Try, group commit) copy each page they touch to a
	// statement journal, a temporary file by default: a pwrite per page.
	// In memory it is a copy, freed when the savepoint is released.
	q.Add("_pragma", "temp_store(MEMORY)")
	// A batch of 500 till receipts dirties some 3,000 pages, most of
	// them in per-account indexes: with the default checkpoint at 1,000
	// pages every commit was followed by one, copying those pages again.
	// At 10,000 (about 40 MiB of WAL) the drop ingest ran 26% faster.
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	q.Add("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: o.Path}).EscapedPath() + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("ledger: open %s: %w", o.Path, err)
	}
	// SQLite allows one write transaction at a time: Update queues writers
	// on l.wmu, which is cheaper and fairer than busy retries. The second
	// connection lets a statement be prepared while a transaction holds
	// the first.
	w.SetMaxOpenConns(2)
	w.SetConnMaxLifetime(0)
	if err := w.Ping(); err != nil {
		w.Close()
		return fmt.Errorf("ledger: open %s: %w", o.Path, err)
	}
	rq := url.Values{}
	rq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	rq.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+(&url.URL{Path: o.Path}).EscapedPath()+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return fmt.Errorf("ledger: open %s for reading: %w", o.Path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	l.w, l.r = w, r
	return nil
}

func (l *Ledger) openMySQL(o Options) error {
	if o.DSN == "" {
		return errors.New("ledger: the MySQL DSN is empty (set ledger.dsn or ledger.dsn_file)")
	}
	cfg, err := mysql.ParseDSN(o.DSN)
	if err != nil {
		// The driver's message may quote the DSN; it holds a password.
		return errors.New("ledger: the MySQL DSN is not valid (form user:password@tcp(host:3306)/database)")
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'"
	if _, set := cfg.Params["wait_timeout"]; o.StallTimeout > 0 && !set {
		cfg.Params["wait_timeout"] = strconv.FormatInt(max(1, int64((o.StallTimeout+time.Second-1)/time.Second)), 10)
	}
	// Arguments are sent inside the statement text, escaped by the driver
	// for the connection's charset: one round trip per statement.
	cfg.InterpolateParams = true
	// Rows affected are rows changed: PutFact tells a fact stored before
	// by an insert that changed nothing.
	cfg.ClientFoundRows = false
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("ledger: MySQL: %w", err)
	}
	db := sql.OpenDB(readCommitted{connector})
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(30 * time.Minute)
	if o.StallTimeout > 0 {
		// The pool lets idle connections go before the server closes them.
		db.SetConnMaxIdleTime(o.StallTimeout / 2)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return fmt.Errorf("ledger: connect to MySQL at %s: %w", cfg.Addr, err)
	}
	l.w, l.r = db, db
	return nil
}

// readCommitted makes read committed the level of every connection it
// opens. The ledger's write transactions run at it: each statement sees
// what committed before it, so reads that follow an account's lock see
// the lots its previous holder wrote. As the connection's own level it
// needs no SET TRANSACTION before each write (a statement fewer for the
// server each time); reads that need one snapshot over several
// statements ask for repeatable read themselves (Ledger.read). The
// statement is the same on every MySQL and MariaDB version, where the
// variable's name is not (tx_isolation, transaction_isolation), and it
// comes after the DSN's own settings, so a level set there does not
// change the writes'.
type readCommitted struct{ driver.Connector }

func (c readCommitted) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("ledger: the MySQL driver's connection cannot run statements")
	}
	if _, err := ex.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ledger: MySQL: set the connection's isolation level: %w", err)
	}
	return conn, nil
}

// Close releases the database handles.
func (l *Ledger) Close() error {
	l.stmts.Range(func(_, s any) bool { s.(*sql.Stmt).Close(); return true })
	l.rstmts.close()
	err := l.w.Close()
	if l.r != l.w {
		if rerr := l.r.Close(); err == nil {
			err = rerr
		}
	}
	return err
}

// Backend is "sqlite" or "mysql".
func (l *Ledger) Backend() string { return l.backend }

// Now is the ledger clock.
func (l *Ledger) Now() time.Time { return l.clock() }

// programIDs lists the configured programs, sorted.
func (l *Ledger) programIDs() []string {
	ids := make([]string, 0, len(l.programs))
	for id := range l.programs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Program returns a configured program.
func (l *Ledger) Program(id string) (Program, error) {
	p, ok := l.programs[id]
	if !ok {
		return Program{}, fmt.Errorf("%w %q: it is not in the configuration", ErrUnknownProgram, id)
	}
	return p, nil
}

// inTxKey marks a context that is inside an Update of a ledger.
type inTxKey struct{}

// maxAttempts bounds retries of a transaction that lost a race (deadlock,
// lock timeout, or a concurrent insert of the same key).
const maxAttempts = 5

// Update runs fn in one write transaction and commits it. fn may run more
// than once when the transaction loses a race with another writer, so it
// must not have effects outside the transaction.
func (l *Ledger) Update(ctx context.Context, fn func(*Tx) error) error {
	if ctx.Value(inTxKey{}) == l {
		// SQLite has one write connection: the inner transaction would
		// wait forever for the outer one.
		return ErrNestedUpdate
	}
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = l.update(ctx, fn)
		if err == nil || !l.retryable(err) || ctx.Err() != nil {
			return err
		}
		l.log.Debug("transaction lost a race; retrying", zap.Int("attempt", attempt), zap.Error(err))
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
	return err
}

func (l *Ledger) update(ctx context.Context, fn func(*Tx) error) error {
	if l.backend == BackendSQLite {
		return l.updateGrouped(ctx, fn)
	}
	return l.updateOne(ctx, fn)
}

// updateOne runs fn in a transaction of its own. On SQLite the caller
// holds l.wmu.
func (l *Ledger) updateOne(ctx context.Context, fn func(*Tx) error) error {
	// On SQLite the transaction and its statements run under a context
	// that is not cancelled, as a group's do (runGroupTx): when ctx ends
	// the Update stops at its next statement (Tx.live) instead of having
	// one interrupted. A cancellable context cost every statement a
	// goroutine watching it (the driver's and database/sql's), some 5% of
	// a drop's ingest. MySQL keeps ctx: a statement stalled on the
	// network must be cut off (Options.StallTimeout).
	txCtx, live := ctx, context.Context(nil)
	if l.backend == BackendSQLite {
		if err := ctx.Err(); err != nil {
			return err
		}
		txCtx, live = context.WithoutCancel(ctx), ctx
	}
	// On MySQL at the connection's read committed (readCommitted).
	sqlTx, err := l.w.BeginTx(txCtx, nil)
	if err != nil {
		return fmt.Errorf("ledger: begin: %w", err)
	}
	// A panic in fn, or an fn that ends its goroutine (runtime.Goexit),
	// must not leave the transaction open: on SQLite it would hold the
	// write lock and every later write would fail. Its context no longer
	// rolls it back.
	finished := false
	defer func() {
		if !finished {
			_ = sqlTx.Rollback()
		}
	}()
	tx := &Tx{l: l, tx: sqlTx, ctx: context.WithValue(txCtx, inTxKey{}, l), live: live, now: l.clock().UTC()}
	if lease := l.fence.Load(); lease != nil {
		if err := lease.checkFence(tx); err != nil {
			_ = sqlTx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		finished = true
		if rerr := sqlTx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			l.log.Warn("rollback failed", zap.Error(rerr))
		}
		return err
	}
	if err := tx.beforeCommit(); err != nil {
		return err
	}
	finished = true
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("ledger: commit: %w", err)
	}
	tx.afterCommit()
	return nil
}

// Preview runs fn in a write transaction, reads the account's balance
// before and after, and rolls everything back: the admin sees the
// resulting balance before saving (SPEC 3.6).
func (l *Ledger) Preview(ctx context.Context, acct Account, fn func(*Tx) error) (before, after Balance, err error) {
	err = l.Update(ctx, func(tx *Tx) error {
		// A customer the previewed write would create has nothing before.
		if before, err = tx.Balance(acct, time.Time{}); err != nil && !errors.Is(err, ErrUnknownCustomer) {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		if after, err = tx.Balance(acct, time.Time{}); err != nil {
			return err
		}
		return errRollbackForPreview
	})
	if errors.Is(err, errRollbackForPreview) {
		err = nil
	}
	return before, after, err
}

func (l *Ledger) retryable(err error) bool {
	if errors.Is(err, ErrLeaseLost) {
		return false // another daemon is active: trying again cannot help
	}
	if errors.Is(err, errGroupAborted) {
		return true // another Update broke the transaction this one was in
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213, 1205, 1062: // deadlock, lock wait timeout, duplicate key
			return true
		}
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// micros stores instants as Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// neverExpires is the stored expiry of points that do not expire.
const neverExpires = int64(^uint64(0) >> 1)

func expiryMicros(t *time.Time) int64 {
	if t == nil {
		return neverExpires
	}
	return micros(*t)
}

func expiryTime(us int64) *time.Time {
	if us == neverExpires {
		return nil
	}
	t := fromMicros(us)
	return &t
}

// Ping checks that the ledger's database answers, for writes and reads.
func (l *Ledger) Ping(ctx context.Context) error {
	if err := l.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if err := l.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}
