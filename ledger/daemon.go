package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Unit is a whole input a source finished (a drop file, known by the hash
// of its content): recorded in the batch that applies it, so the same
// content arriving again under another name is recognised.
type Unit struct {
	Key, Name      string
	Rows, Rejected int
	DoneAt         time.Time // zero when recording: the transaction's now
}

// Reject is a row a source brought that was not applied, with where it
// came from and why. Origin, Column, Value and Reason are cut to their
// columns' size when stored.
type Reject struct {
	Origin     string // file name or URL
	Line       int    // physical line, 0 when not a file
	Column     string // field at fault, "" for the whole row
	Value      string
	Reason     string
	RecordedAt time.Time // zero when recording: the transaction's now
}

// Job is the status of one scheduled job, as the daemon saves it after
// each run and the health check and admin UI read it.
type Job struct {
	Name                                       string
	LastRun, LastSuccess, LastErrorAt, NextRun time.Time // zero = never/none
	LastError                                  string
	Runs, Failures                             int64 // Failures = consecutive failures since the last success
	Rows, Rejected                             int64 // of the last run
	Lag                                        time.Duration
	Running                                    bool
	Holder                                     string // who runs it: "host:pid"
}

// Sizes of the daemon's text columns, in characters (MySQL counts
// characters), and of a cursor in bytes.
const (
	maxKeyLen      = 191
	maxNameLen     = 512
	maxOriginLen   = 512
	maxColumnLen   = 191
	maxValueLen    = 512
	maxReasonLen   = 1024
	maxHolderLen   = 191
	maxJobErrorLen = 4000
	maxCursorBytes = 1 << 20
)

// lastWindow is how many of the newest movements LastMovementID waits
// for (see settled).
const lastWindow = 10000

// changeWindow is how many movements ChangedCustomers reads per round (see
// settled); a variable so tests can make rounds small.
var changeWindow = 10000

// clip makes s fit a text column of n characters: bytes that are not
// UTF-8 become U+FFFD (MySQL refuses them in strict mode, and a row that
// is being rejected must still be recorded), and text past the limit is
// cut at a character boundary and ends with "…" so the reader sees it was
// cut.
func clip(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	end := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	return s[:end] + "…"
}

// checkKey refuses a key that could not be stored as given: cutting or
// mending a key would make two inputs one.
func checkKey(what, s string) error {
	switch {
	case s == "":
		return invalidf("the %s is empty", what)
	case len(s) > maxKeyLen:
		return invalidf("the %s is longer than %d bytes: %.40q…", what, maxKeyLen, s)
	case !utf8.ValidString(s):
		return invalidf("the %s %q is not UTF-8 text", what, s)
	case strings.TrimSpace(s) != s:
		// MySQL compares keys without trailing spaces: "a" and "a " would
		// be one row there and two in SQLite.
		return invalidf("the %s %q has leading or trailing spaces", what, s)
	}
	return nil
}

// upsert is the backend's form of "insert, or on a duplicate key set
// these columns from the new row" (no columns: keep the old row).
func (l *Ledger) upsert(insert string, key, set []string) string {
	if l.backend == BackendMySQL {
		if len(set) == 0 {
			return insert + " ON DUPLICATE KEY UPDATE " + key[0] + " = " + key[0]
		}
		parts := make([]string, len(set))
		for i, c := range set {
			parts[i] = c + " = VALUES(" + c + ")"
		}
		return insert + " ON DUPLICATE KEY UPDATE " + strings.Join(parts, ", ")
	}
	conflict := " ON CONFLICT (" + strings.Join(key, ", ") + ")"
	if len(set) == 0 {
		return insert + conflict + " DO NOTHING"
	}
	parts := make([]string, len(set))
	for i, c := range set {
		parts[i] = c + " = excluded." + c
	}
	return insert + conflict + " DO UPDATE SET " + strings.Join(parts, ", ")
}

// Cursor is where source stands, "" when it has no cursor yet. On MySQL
// the row stays locked to the transaction, so a cursor read here cannot
// be moved by another writer before this one commits.
func (tx *Tx) Cursor(source string) (string, error) {
	if err := checkKey("source", source); err != nil {
		return "", err
	}
	var c string
	err := tx.queryRow("SELECT cursor_value FROM cursors WHERE source = ?"+tx.forUpdate(), source).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("ledger: read the cursor of source %s: %w", source, err)
	}
	return c, nil
}

// SetCursor stores where source stands; it commits with the batch it
// stands after.
func (tx *Tx) SetCursor(source, cursor string) error {
	if err := checkKey("source", source); err != nil {
		return err
	}
	if len(cursor) > maxCursorBytes {
		return invalidf("source %s: the cursor is %d bytes, more than the %d the ledger keeps; the connector must keep its cursor short", source, len(cursor), maxCursorBytes)
	}
	if !utf8.ValidString(cursor) {
		return invalidf("source %s: the cursor is not UTF-8 text; the connector must encode binary positions (hex, base64)", source)
	}
	q := tx.l.upsert("INSERT INTO cursors (source, cursor_value, updated_at) VALUES (?, ?, ?)",
		[]string{"source"}, []string{"cursor_value", "updated_at"})
	if err := tx.exec(q, source, cursor, micros(tx.now)); err != nil {
		return fmt.Errorf("ledger: store the cursor of source %s: %w", source, err)
	}
	return nil
}

// RecordUnit records that source finished the whole input u. Recording a
// key already recorded keeps the first record and is not an error: the
// same file dropped twice is one input.
func (tx *Tx) RecordUnit(source string, u Unit) error {
	if err := checkKey("source", source); err != nil {
		return err
	}
	if err := checkKey("unit key", u.Key); err != nil {
		return err
	}
	if u.Rows < 0 || u.Rejected < 0 {
		return invalidf("source %s, unit %s: rows (%d) and rejected (%d) cannot be negative", source, u.Key, u.Rows, u.Rejected)
	}
	done := u.DoneAt
	if done.IsZero() {
		done = tx.now
	}
	q := tx.l.upsert("INSERT INTO units (source, ukey, name, rows_read, rejected, done_at) VALUES (?, ?, ?, ?, ?, ?)",
		[]string{"source", "ukey"}, nil)
	if err := tx.exec(q, source, u.Key, clip(u.Name, maxNameLen), u.Rows, u.Rejected, micros(done)); err != nil {
		return fmt.Errorf("ledger: record unit %s of source %s: %w", u.Key, source, err)
	}
	return nil
}

// Reject records a row of source that was not applied; unit is the whole
// input it came from, "" for sources without units. Text too long for its
// column is cut, never refused: the record of a bad row must not fail on
// the row's badness.
func (tx *Tx) Reject(source, unit string, r Reject) error {
	if err := checkKey("source", source); err != nil {
		return err
	}
	if unit != "" {
		if err := checkKey("unit key", unit); err != nil {
			return err
		}
	}
	at := r.RecordedAt
	if at.IsZero() {
		at = tx.now
	}
	if err := tx.exec("INSERT INTO rejects (source, unit, origin, line, col, value, reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		source, unit, clip(r.Origin, maxOriginLen), int64(r.Line), clip(r.Column, maxColumnLen),
		clip(r.Value, maxValueLen), clip(r.Reason, maxReasonLen), micros(at)); err != nil {
		return fmt.Errorf("ledger: record a rejected row of source %s: %w", source, err)
	}
	return nil
}

// Cursor is where source stands as last committed, "" when it has none.
func (l *Ledger) Cursor(ctx context.Context, source string) (string, error) {
	if err := checkKey("source", source); err != nil {
		return "", err
	}
	var c string
	err := l.r.QueryRowContext(ctx, "SELECT cursor_value FROM cursors WHERE source = ?", source).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("ledger: read the cursor of source %s: %w", source, err)
	}
	return c, nil
}

// Unit reads the record of a whole input of source; ok is false when the
// input was never finished.
func (l *Ledger) Unit(ctx context.Context, source, key string) (u Unit, ok bool, err error) {
	if err := checkKey("source", source); err != nil {
		return Unit{}, false, err
	}
	if err := checkKey("unit key", key); err != nil {
		return Unit{}, false, err
	}
	var done int64
	err = l.r.QueryRowContext(ctx, "SELECT name, rows_read, rejected, done_at FROM units WHERE source = ? AND ukey = ?", source, key).
		Scan(&u.Name, &u.Rows, &u.Rejected, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return Unit{}, false, nil
	}
	if err != nil {
		return Unit{}, false, fmt.Errorf("ledger: read unit %s of source %s: %w", key, source, err)
	}
	u.Key, u.DoneAt = key, fromMicros(done)
	return u, true, nil
}

// Rejects lists the rejected rows of one unit of source ("" for the rows
// of a source without units), in the order they were recorded.
func (l *Ledger) Rejects(ctx context.Context, source, unit string) ([]Reject, error) {
	if err := checkKey("source", source); err != nil {
		return nil, err
	}
	rows, err := l.r.QueryContext(ctx, "SELECT origin, line, col, value, reason, recorded_at FROM rejects WHERE source = ? AND unit = ? ORDER BY id",
		source, unit)
	if err != nil {
		return nil, fmt.Errorf("ledger: read rejected rows of source %s: %w", source, err)
	}
	defer rows.Close()
	out := []Reject{}
	for rows.Next() {
		var r Reject
		var line, at int64
		if err := rows.Scan(&r.Origin, &line, &r.Column, &r.Value, &r.Reason, &at); err != nil {
			return nil, fmt.Errorf("ledger: read rejected rows of source %s: %w", source, err)
		}
		r.Line, r.RecordedAt = int(line), fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RejectCount counts every rejected row of source, all units together.
func (l *Ledger) RejectCount(ctx context.Context, source string) (int64, error) {
	if err := checkKey("source", source); err != nil {
		return 0, err
	}
	var n int64
	if err := l.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM rejects WHERE source = ?", source).Scan(&n); err != nil {
		return 0, fmt.Errorf("ledger: count rejected rows of source %s: %w", source, err)
	}
	return n, nil
}

var jobColumns = []string{"last_run", "last_success", "last_error", "last_error_at", "runs", "failures",
	"rows_read", "rejected", "lag_micros", "next_run", "running", "holder", "updated_at"}

// SaveJob stores the status of job j.Name, replacing what was saved
// before. It runs its own short transaction: call it outside Update.
func (l *Ledger) SaveJob(ctx context.Context, j Job) error {
	if err := checkKey("job name", j.Name); err != nil {
		return err
	}
	q := l.upsert("INSERT INTO jobs (name, "+strings.Join(jobColumns, ", ")+") VALUES (?"+strings.Repeat(", ?", len(jobColumns))+")",
		[]string{"name"}, jobColumns)
	running := 0
	if j.Running {
		running = 1
	}
	return l.Update(ctx, func(tx *Tx) error {
		if err := tx.exec(q, j.Name, nullMicros(j.LastRun), nullMicros(j.LastSuccess), clip(j.LastError, maxJobErrorLen),
			nullMicros(j.LastErrorAt), j.Runs, j.Failures, j.Rows, j.Rejected, j.Lag.Microseconds(), nullMicros(j.NextRun),
			running, clip(j.Holder, maxHolderLen), micros(tx.now)); err != nil {
			return fmt.Errorf("ledger: save the status of job %s: %w", j.Name, err)
		}
		return nil
	})
}

// Jobs lists the saved status of every job, by name.
func (l *Ledger) Jobs(ctx context.Context) ([]Job, error) {
	rows, err := l.r.QueryContext(ctx, "SELECT name, "+strings.Join(jobColumns, ", ")+" FROM jobs ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("ledger: read job status: %w", err)
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		var j Job
		var lastRun, lastSuccess, lastErrorAt, nextRun sql.NullInt64
		var lag, running, updated int64
		if err := rows.Scan(&j.Name, &lastRun, &lastSuccess, &j.LastError, &lastErrorAt, &j.Runs, &j.Failures,
			&j.Rows, &j.Rejected, &lag, &nextRun, &running, &j.Holder, &updated); err != nil {
			return nil, fmt.Errorf("ledger: read job status: %w", err)
		}
		j.LastRun, j.LastSuccess = timeOrZero(lastRun), timeOrZero(lastSuccess)
		j.LastErrorAt, j.NextRun = timeOrZero(lastErrorAt), timeOrZero(nextRun)
		j.Lag, j.Running = time.Duration(lag)*time.Microsecond, running != 0
		out = append(out, j)
	}
	return out, rows.Err()
}

// nullMicros stores the zero time ("never") as NULL.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

func timeOrZero(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}

// errFeedInUpdate refuses a change-feed read inside a write transaction:
// it waits for writers to commit, the caller's own transaction among them.
func (l *Ledger) errFeedInUpdate(ctx context.Context, what string) error {
	if ctx.Value(inTxKey{}) == l {
		return fmt.Errorf("ledger: %s waits for open writes to commit and cannot run inside an Update: %w", what, ErrNestedUpdate)
	}
	return nil
}

// settled returns the highest id among the first n movements after
// after (after itself when there are none), once every one of them has
// committed.
//
// Movement ids are given out at insert and become visible at commit, so
// on MySQL a reader can see id 101 while 100 is still being written by a
// longer transaction; a feed that moved past 101 would never send 100. A
// locking read waits for the writer of every row it meets, so what it
// returns is a prefix of ids that is complete. SQLite has one writer at a
// time: what a reader sees is always complete.
func (l *Ledger) settled(ctx context.Context, after int64, n int) (int64, error) {
	if l.backend != BackendMySQL {
		var upto int64
		err := l.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), ?) FROM (SELECT id FROM movements WHERE id > ? ORDER BY id LIMIT ?) w",
			after, after, n).Scan(&upto)
		if err != nil {
			return 0, fmt.Errorf("ledger: read movement ids: %w", err)
		}
		return upto, nil
	}
	return l.waitMovements(ctx, "SELECT id FROM movements WHERE id > ? ORDER BY id LIMIT ? LOCK IN SHARE MODE", after, after, n)
}

// waitMovements runs a locking read of movement ids on MySQL and returns
// the highest (floor when none). Read committed takes no gap locks, so
// the shared locks, held for one statement, hold up no insert.
func (l *Ledger) waitMovements(ctx context.Context, query string, floor int64, args ...any) (int64, error) {
	tx, err := l.w.BeginTx(ctx, nil) // read committed (readCommitted)
	if err != nil {
		return 0, fmt.Errorf("ledger: begin: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("ledger: wait for movements being written: %w", err)
	}
	defer rows.Close()
	upto := floor
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return 0, err
		}
		upto = max(upto, id)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("ledger: wait for movements being written: %w", err)
	}
	return upto, nil
}

// LastMovementID is the id of the newest movement, 0 when there is none:
// the point to follow a change feed from after a full export. On MySQL it
// first waits for the writers of the newest movements, so every movement
// up to the id returned is committed (a writer whose every movement is
// more than lastWindow movements older than the newest is not waited
// for).
func (l *Ledger) LastMovementID(ctx context.Context) (int64, error) {
	if err := l.errFeedInUpdate(ctx, "LastMovementID"); err != nil {
		return 0, err
	}
	if l.backend == BackendMySQL {
		return l.waitMovements(ctx, "SELECT id FROM movements ORDER BY id DESC LIMIT ? LOCK IN SHARE MODE", 0, lastWindow)
	}
	var id int64
	if err := l.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM movements").Scan(&id); err != nil {
		return 0, fmt.Errorf("ledger: read the last movement id: %w", err)
	}
	return id, nil
}

// firstIdent selects the first-known identifier of an account's customer
// (a.customer_id), the one EachBalance and Identifiers name first.
const firstIdent = "(SELECT i.ident FROM identifiers i WHERE i.customer_id = a.customer_id ORDER BY i.created_at, i.ident LIMIT 1)"

// ChangedCustomers lists the customers of program with a movement whose id
// is > after, in order of their latest such movement id, at most limit
// (default 100, at most 10000), and the highest movement id it looked at:
// pass it as after next time. last equals after when no movement at all
// followed after; when only other programs' movements did, customers is
// empty and last moves past them. Fewer than limit customers means the
// feed is at its end for now. Each customer is named by its first-known
// identifier.
func (l *Ledger) ChangedCustomers(ctx context.Context, program string, after int64, limit int) (customers []Ident, last int64, err error) {
	if err := l.errFeedInUpdate(ctx, "ChangedCustomers"); err != nil {
		return nil, after, err
	}
	p, err := l.Program(program)
	if err != nil {
		return nil, after, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	// Rounds of a bounded number of movements, so the locks of settled
	// and the work of one query stay small however far behind the feed is.
	latest := map[int64]int64{} // account -> its latest movement id seen
	last = after
	for len(latest) < limit {
		upto, err := l.settled(ctx, last, changeWindow)
		if err != nil {
			return nil, after, err
		}
		if upto == last {
			break
		}
		if err := l.latestByAccount(ctx, p.ID, last, upto, latest); err != nil {
			return nil, after, err
		}
		last = upto
	}
	type change struct{ account, id int64 }
	changes := make([]change, 0, len(latest))
	for a, id := range latest {
		changes = append(changes, change{a, id})
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].id < changes[j].id })
	if len(changes) > limit {
		// The customers left out all moved after this one's latest: they
		// come back next time.
		changes = changes[:limit]
		last = changes[limit-1].id
	}
	accounts := make([]int64, len(changes))
	for i, c := range changes {
		accounts[i] = c.account
	}
	names, err := l.accountCustomers(ctx, accounts)
	if err != nil {
		return nil, after, err
	}
	customers = make([]Ident, len(changes))
	for i, c := range changes {
		customers[i] = names[c.account]
	}
	return customers, last, nil
}

// latestByAccount adds to latest the newest movement id in (from, upto] of
// each account of program.
func (l *Ledger) latestByAccount(ctx context.Context, program string, from, upto int64, latest map[int64]int64) error {
	rows, err := l.r.QueryContext(ctx, `SELECT m.account_id, MAX(m.id) FROM movements m JOIN accounts a ON a.id = m.account_id
		WHERE m.id > ? AND m.id <= ? AND a.program = ? GROUP BY m.account_id`, from, upto, program)
	if err != nil {
		return fmt.Errorf("ledger: read changed accounts of %s: %w", program, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, id int64
		if err := rows.Scan(&a, &id); err != nil {
			return fmt.Errorf("ledger: read changed accounts of %s: %w", program, err)
		}
		latest[a] = max(latest[a], id)
	}
	return rows.Err()
}

// accountCustomers names the customer of each account by its first-known
// identifier.
func (l *Ledger) accountCustomers(ctx context.Context, accounts []int64) (map[int64]Ident, error) {
	out := make(map[int64]Ident, len(accounts))
	const chunk = 500
	for start := 0; start < len(accounts); start += chunk {
		part := accounts[start:min(start+chunk, len(accounts))]
		args := make([]any, len(part))
		for i, a := range part {
			args[i] = a
		}
		rows, err := l.r.QueryContext(ctx, "SELECT a.id, "+firstIdent+" FROM accounts a WHERE a.id IN (?"+strings.Repeat(", ?", len(part)-1)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: read customers of changed accounts: %w", err)
		}
		for rows.Next() {
			var a int64
			var id sql.NullString
			if err := rows.Scan(&a, &id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: read customers of changed accounts: %w", err)
			}
			out[a] = Ident(id.String)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("ledger: read customers of changed accounts: %w", err)
		}
	}
	for _, a := range accounts {
		if out[a] == "" {
			return nil, fmt.Errorf("ledger: account %d has no customer identifier", a)
		}
	}
	return out, nil
}

// MovementsAfter lists the movements of every account with an id greater
// than after, by id, at most limit (default 100, at most 10000), each with
// its program and its customer's first-known identifier and its state as
// of now. Pass the last id as after next time; on MySQL the list waits for
// movements still being written, so nothing before the last id returned
// can appear later.
func (l *Ledger) MovementsAfter(ctx context.Context, after int64, limit int) ([]Movement, error) {
	if err := l.errFeedInUpdate(ctx, "MovementsAfter"); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	upto, err := l.settled(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := []Movement{}
	if upto == after {
		return out, nil
	}
	rows, err := l.r.QueryContext(ctx, `SELECT `+movementColumns+`, a.program, `+firstIdent+` FROM movements m
		JOIN accounts a ON a.id = m.account_id
		LEFT JOIN movements f ON f.ref_id = m.id AND f.kind IN ('post', 'void') AND m.phase = 'pending'
		WHERE m.id > ? AND m.id <= ? ORDER BY m.id LIMIT ?`, after, upto, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: read movements after %d: %w", after, err)
	}
	defer rows.Close()
	for rows.Next() {
		var program string
		var customer sql.NullString
		m, err := scanMovement(rows, &program, &customer)
		if err != nil {
			return nil, err
		}
		m.Program, m.Customer = program, Ident(customer.String)
		out = append(out, m)
	}
	return out, rows.Err()
}
