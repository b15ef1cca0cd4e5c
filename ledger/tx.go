package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Tx is one write transaction on the ledger. Its methods are the ledger's
// write operations; each is idempotent by (source, key).
type Tx struct {
	l   *Ledger
	tx  *sql.Tx
	ctx context.Context
	now time.Time
	sp  int // savepoints open now: the depth names the next one

	// idents are the identifiers this transaction looked up or created,
	// with their customers: a fact looks its customer up three or four
	// times. Forgotten when a savepoint rolls back (it may have created
	// them); the ledger remembers them once committed (identCache).
	idents map[Ident]int64

	bound map[string]*sql.Stmt // the ledger's statements bound to this transaction (stmt)

	// live is the Update's own context when ctx is not cancelled with it
	// (every Update on SQLite: grouped, group.go, or alone, updateOne):
	// each statement checks it first, so that a cancelled Update stops
	// between statements and never interrupts one, which would roll a
	// shared transaction back.
	live context.Context
	// followers are the Updates after this one in its group (group.go):
	// they wait for it as much as the writers queued on the lock.
	followers int

	hooks txHooks // movements and rises, for the ledger's hooks (outbox.go)

	// waitKinds says, per program and kind of what subjects wait for
	// (the part of Subject.Waiting up to its first colon), whether any
	// subject may wait for one (WaitingOn).
	waitKinds map[waitKind]bool
}

// Try runs fn inside a savepoint: when fn fails, everything it wrote is
// undone and the transaction goes on, so one bad row or fact does not take
// its batch down with it.
func (tx *Tx) Try(fn func() error) error {
	// Savepoint statements go straight to the transaction: one name per
	// depth, and never into the statement cache (a name per call would
	// fill it, and MySQL's server-side statement limit with it).
	if err := tx.alive(); err != nil {
		return err
	}
	tx.sp++
	defer func() { tx.sp-- }()
	name := fmt.Sprintf("pointsync_sp%d", tx.sp)
	raw := func(q string) error { _, err := tx.tx.ExecContext(tx.ctx, q); return err }
	if err := raw("SAVEPOINT " + name); err != nil {
		return fmt.Errorf("ledger: savepoint: %w", err)
	}
	mark := tx.hooks.mark()
	if err := fn(); err != nil {
		tx.hooks.undo(mark)
		tx.idents = nil
		// What WaitingOn learnt inside may be undone with it: a subject
		// that stopped waiting waits again.
		tx.waitKinds = nil
		if rerr := raw("ROLLBACK TO SAVEPOINT " + name); rerr != nil {
			return errors.Join(err, fmt.Errorf("ledger: roll back to savepoint: %w", rerr))
		}
		if rerr := raw("RELEASE SAVEPOINT " + name); rerr != nil {
			return errors.Join(err, fmt.Errorf("ledger: release savepoint: %w", rerr))
		}
		return err
	}
	return raw("RELEASE SAVEPOINT " + name)
}

// Context is the transaction's context.
func (tx *Tx) Context() context.Context { return tx.ctx }

// Now is the instant the transaction treats as now.
func (tx *Tx) Now() time.Time { return tx.now }

// stmt binds the ledger's prepared statement for query to the
// transaction. Parsing the same SQL for every write cost SQLite a third of
// its time; the statements are few and fixed, so they are prepared once.
// MySQL does not use it (see direct): preparing on the pool from inside a
// transaction can wait for a connection that transactions hold.
func (tx *Tx) stmt(query string) (*sql.Stmt, error) {
	// Bound once per transaction: a batch runs each statement hundreds
	// of times.
	if s, ok := tx.bound[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	if v, ok := tx.l.stmts.Load(query); ok {
		s = v.(*sql.Stmt)
	} else {
		var err error
		if s, err = tx.l.w.PrepareContext(tx.ctx, query); err != nil {
			return nil, err
		}
		if prev, loaded := tx.l.stmts.LoadOrStore(query, s); loaded {
			s.Close()
			s = prev.(*sql.Stmt)
		}
	}
	b := tx.tx.StmtContext(tx.ctx, s)
	if tx.bound == nil {
		tx.bound = make(map[string]*sql.Stmt)
	}
	tx.bound[query] = b
	return b, nil
}

// direct reports whether statements go straight to the transaction: on
// MySQL, where arguments are interpolated and a statement is one round
// trip without preparing.
func (tx *Tx) direct() bool { return tx.l.backend == BackendMySQL }

// alive is the error of an Update whose own context ended (Tx.live).
func (tx *Tx) alive() error {
	if tx.live == nil {
		return nil
	}
	return tx.live.Err()
}

func (tx *Tx) execResult(query string, args ...any) (sql.Result, error) {
	if err := tx.alive(); err != nil {
		return nil, err
	}
	if tx.direct() {
		return tx.tx.ExecContext(tx.ctx, query, args...)
	}
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(tx.ctx, args...)
}

func (tx *Tx) query(query string, args ...any) (*sql.Rows, error) {
	if err := tx.alive(); err != nil {
		return nil, err
	}
	if tx.direct() {
		return tx.tx.QueryContext(tx.ctx, query, args...)
	}
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(tx.ctx, args...)
}

// queryRow is QueryRow through the statement cache; a preparation error
// comes out of Scan.
func (tx *Tx) queryRow(query string, args ...any) scanner {
	if err := tx.alive(); err != nil {
		return errRow{err}
	}
	if tx.direct() {
		return tx.tx.QueryRowContext(tx.ctx, query, args...)
	}
	s, err := tx.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return s.QueryRowContext(tx.ctx, args...)
}

type scanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (tx *Tx) exec(query string, args ...any) error {
	_, err := tx.execResult(query, args...)
	return err
}

func (tx *Tx) insert(query string, args ...any) (int64, error) {
	res, err := tx.execResult(query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// forUpdate locks the rows read on MySQL; SQLite holds the database write
// lock for the whole transaction already.
func (tx *Tx) forUpdate() string {
	if tx.l.backend == BackendMySQL {
		return " FOR UPDATE"
	}
	return ""
}

// once runs write under the idempotency key of m: a key seen before with
// the same request replays the stored result; with another request it is
// an IdempotencyError. The key is stored with the movements, so a lost
// race on it rolls the whole transaction back and Update retries into the
// replay.
func (tx *Tx) once(m *Meta, req any, write func() (Result, error)) (Result, error) {
	if !validSources[m.Source] {
		return Result{}, invalidf("source %q is not one of web, erp, pos, admin, import, api, schedule", m.Source)
	}
	if m.Key == "" {
		return Result{}, invalidf("every write needs an idempotency key")
	}
	if strings.TrimSpace(m.Key) != m.Key {
		return Result{}, invalidf("idempotency key %q has leading or trailing spaces", m.Key)
	}
	if len(m.Key) > 191 {
		return Result{}, invalidf("idempotency key is longer than 191 bytes")
	}
	if len(m.Document) > 191 || len(m.Actor) > 191 || len(m.Reason) > 64 || len(m.Rule) > 64 || len(m.RuleVersion) > 64 {
		return Result{}, invalidf("document and actor are limited to 191 bytes, reason, rule and rule version to 64")
	}
	if len(m.Note) > 2000 {
		return Result{}, invalidf("note is longer than 2000 bytes")
	}
	b, err := json.Marshal(req)
	if err != nil {
		return Result{}, fmt.Errorf("ledger: hash request: %w", err)
	}
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:])

	var storedHash, stored string
	err = tx.queryRow("SELECT hash, result FROM idempotency WHERE source = ? AND idem_key = ?",
		m.Source, m.Key).Scan(&storedHash, &stored)
	switch {
	case err == nil:
		if storedHash != hash {
			return Result{}, &IdempotencyError{Source: m.Source, Key: m.Key}
		}
		var r Result
		if err := json.Unmarshal([]byte(stored), &r); err != nil {
			return Result{}, fmt.Errorf("ledger: stored result of %s/%s: %w", m.Source, m.Key, err)
		}
		r.Replayed = true
		return r, nil
	case !errors.Is(err, sql.ErrNoRows):
		return Result{}, fmt.Errorf("ledger: read idempotency key: %w", err)
	}

	if m.At.IsZero() {
		m.At = tx.now
	}
	r, err := write()
	if err != nil {
		return Result{}, err
	}
	out, err := json.Marshal(r)
	if err != nil {
		return Result{}, err
	}
	if err := tx.exec("INSERT INTO idempotency (source, idem_key, hash, result, created_at) VALUES (?, ?, ?, ?, ?)",
		m.Source, m.Key, hash, string(out), micros(tx.now)); err != nil {
		return Result{}, fmt.Errorf("ledger: store idempotency key %s/%s: %w", m.Source, m.Key, err)
	}
	return r, nil
}

// account is an account row, locked for the transaction.
type account struct {
	id          int64
	program     Program
	customerID  int64
	customer    Ident
	provisional int64
	spent       int64
	expired     int64
	debt        int64
}

// customerID resolves an identifier to its customer.
func (tx *Tx) customerID(id Ident) (int64, Ident, error) {
	canon, err := ParseIdent(string(id))
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if cid, ok := tx.idents[canon]; ok {
		return cid, canon, nil
	}
	if cid, ok := tx.l.idents.get(canon); ok {
		return cid, canon, nil
	}
	var cid int64
	err = tx.queryRow("SELECT customer_id FROM identifiers WHERE ident = ?", string(canon)).Scan(&cid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, canon, fmt.Errorf("%w %s: no customer has this identifier yet", ErrUnknownCustomer, canon.Masked())
	}
	if err != nil {
		return 0, canon, fmt.Errorf("ledger: look up customer: %w", err)
	}
	tx.knownIdent(canon, cid)
	return cid, canon, nil
}

// knownIdent notes that identifier canon is customer cid's.
func (tx *Tx) knownIdent(canon Ident, cid int64) {
	if tx.idents == nil {
		tx.idents = make(map[Ident]int64)
	}
	tx.idents[canon] = cid
}

// CustomerKey is a stable name of the customer known by id, the same for
// all of the customer's identifiers ("customer#17"): limits "per customer"
// and waits on a customer's account are keyed by it.
func (tx *Tx) CustomerKey(id Ident) (string, error) {
	cid, _, err := tx.customerID(id)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("customer#%d", cid), nil
}

// Known reports whether some customer has identifier id.
func (tx *Tx) Known(id Ident) (bool, error) {
	_, _, err := tx.customerID(id)
	if errors.Is(err, ErrUnknownCustomer) {
		return false, nil
	}
	return err == nil, err
}

// EnsureCustomer returns the customer known by id, creating it when no
// customer has that identifier yet.
func (tx *Tx) EnsureCustomer(id Ident) (customerID int64, created bool, err error) {
	cid, canon, err := tx.customerID(id)
	if err == nil {
		return cid, false, nil
	}
	if !errors.Is(err, ErrUnknownCustomer) {
		return 0, false, err
	}
	cid, err = tx.insert("INSERT INTO customers (created_at) VALUES (?)", micros(tx.now))
	if err != nil {
		return 0, false, fmt.Errorf("ledger: create customer: %w", err)
	}
	if err := tx.exec("INSERT INTO identifiers (ident, customer_id, created_at) VALUES (?, ?, ?)",
		string(canon), cid, micros(tx.now)); err != nil {
		return 0, false, fmt.Errorf("ledger: create customer %s: %w", canon.Masked(), err)
	}
	tx.knownIdent(canon, cid)
	return cid, true, nil
}

// Link makes other a further identifier of the customer known by known.
// Linking an identifier already on the same customer does nothing; one on
// another customer is an error (merging customers is a separate,
// deliberate operation).
func (tx *Tx) Link(known, other Ident) error {
	cid, _, err := tx.customerID(known)
	if err != nil {
		return err
	}
	ocid, canon, err := tx.customerID(other)
	switch {
	case err == nil && ocid == cid:
		return nil
	case err == nil:
		return fmt.Errorf("%w: %s already belongs to another customer than %s", ErrInvalid, canon.Masked(), known.Masked())
	case !errors.Is(err, ErrUnknownCustomer):
		return err
	}
	if err := tx.exec("INSERT INTO identifiers (ident, customer_id, created_at) VALUES (?, ?, ?)",
		string(canon), cid, micros(tx.now)); err != nil {
		return err
	}
	tx.knownIdent(canon, cid)
	return nil
}

// lockAccount finds (creating if needed) and locks the account of a known
// customer in a configured program.
func (tx *Tx) lockAccount(a Account) (*account, error) {
	p, err := tx.l.Program(a.Program)
	if err != nil {
		return nil, err
	}
	cid, canon, err := tx.customerID(a.Customer)
	if err != nil {
		return nil, err
	}
	acct, err := tx.lockAccountByCustomer(p, cid)
	if err != nil {
		return nil, err
	}
	acct.customer = canon
	return acct, nil
}

func (tx *Tx) lockAccountByCustomer(p Program, cid int64) (*account, error) {
	acct := &account{program: p, customerID: cid}
	q := "SELECT id, provisional, spent, expired, debt FROM accounts WHERE program = ? AND customer_id = ?" + tx.forUpdate()
	err := tx.queryRow(q, p.ID, cid).Scan(&acct.id, &acct.provisional, &acct.spent, &acct.expired, &acct.debt)
	if errors.Is(err, sql.ErrNoRows) {
		acct.id, err = tx.insert("INSERT INTO accounts (program, customer_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
			p.ID, cid, micros(tx.now), micros(tx.now))
		if err != nil {
			return nil, fmt.Errorf("ledger: create account: %w", err)
		}
		return acct, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: lock account: %w", err)
	}
	return acct, nil
}

// lockAccountByID locks the account a movement belongs to.
func (tx *Tx) lockAccountByID(id int64) (*account, error) {
	acct := &account{id: id}
	var program string
	q := "SELECT program, customer_id, provisional, spent, expired, debt FROM accounts WHERE id = ?" + tx.forUpdate()
	if err := tx.queryRow(q, id).Scan(&program, &acct.customerID, &acct.provisional, &acct.spent, &acct.expired, &acct.debt); err != nil {
		return nil, fmt.Errorf("ledger: lock account %d: %w", id, err)
	}
	p, err := tx.l.Program(program)
	if err != nil {
		return nil, err
	}
	acct.program = p
	return acct, nil
}

// name is the account's customer for messages, read only when one is
// needed.
func (tx *Tx) name(a *account) Ident {
	if a.customer == "" {
		id, err := tx.primaryIdent(a.customerID)
		if err != nil {
			return Ident(fmt.Sprintf("customer#%d", a.customerID))
		}
		a.customer = id
	}
	return a.customer
}

func (tx *Tx) primaryIdent(customerID int64) (Ident, error) {
	var s string
	err := tx.queryRow("SELECT ident FROM identifiers WHERE customer_id = ? ORDER BY created_at, ident LIMIT 1", customerID).Scan(&s)
	if err != nil {
		return "", fmt.Errorf("ledger: identifiers of customer %d: %w", customerID, err)
	}
	return Ident(s), nil
}

// addTotals moves the account's counters and keeps the in-memory copy in
// step.
func (tx *Tx) addTotals(a *account, provisional, spent, expired, debt int64) error {
	if provisional == 0 && spent == 0 && expired == 0 && debt == 0 {
		return nil
	}
	a.provisional += provisional
	a.spent += spent
	a.expired += expired
	a.debt += debt
	return tx.exec("UPDATE accounts SET provisional = ?, spent = ?, expired = ?, debt = ?, updated_at = ? WHERE id = ?",
		a.provisional, a.spent, a.expired, a.debt, micros(tx.now), a.id)
}

// row is a movement to insert.
type row struct {
	kind      Kind
	phase     Phase
	amount    int64
	ref       int64
	overdraft int64
	expires   *int64
}

func (tx *Tx) insertMovement(a *account, m *Meta, r row) (int64, error) {
	var ref any
	if r.ref != 0 {
		ref = r.ref
	}
	var exp any
	if r.expires != nil {
		exp = *r.expires
	}
	id, err := tx.insert(`INSERT INTO movements (account_id, kind, phase, amount, ref_id, overdraft, expires_at,
		source, idem_key, reason, document, rule, rule_version, actor, note, business_at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.id, string(r.kind), string(r.phase), r.amount, ref, r.overdraft, exp,
		m.Source, m.Key, m.Reason, m.Document, m.Rule, m.RuleVersion, m.Actor, m.Note,
		micros(m.At), micros(tx.now))
	if err != nil {
		return 0, fmt.Errorf("ledger: write %s movement: %w", r.kind, err)
	}
	tx.wrote(id, m, r.kind)
	return id, nil
}

// stored is a movement read back for an operation that refers to it.
type stored struct {
	id        int64
	accountID int64
	kind      Kind
	phase     Phase
	amount    int64
	ref       int64
	overdraft int64
	expires   *int64
	source    string
	reason    string
	document  string
	note      string
}

func (tx *Tx) movement(id int64) (*stored, error) {
	s := &stored{id: id}
	var ref, exp sql.NullInt64
	err := tx.queryRow(`SELECT account_id, kind, phase, amount, ref_id, overdraft, expires_at, source, reason, document, note
		FROM movements WHERE id = ?`, id).Scan(&s.accountID, &s.kind, &s.phase, &s.amount, &ref, &s.overdraft, &exp, &s.source, &s.reason, &s.document, &s.note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w %d", ErrUnknownMovement, id)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: read movement %d: %w", id, err)
	}
	s.ref = ref.Int64
	if exp.Valid {
		s.expires = &exp.Int64
	}
	return s, nil
}

// finishedBy is the post or void that finished a pending movement, if any.
func (tx *Tx) finishedBy(id int64) (kind Kind, amount int64, err error) {
	err = tx.queryRow("SELECT kind, amount FROM movements WHERE ref_id = ? AND kind IN ('post', 'void')", id).Scan(&kind, &amount)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	return kind, amount, err
}

// usable is the account's earned balance now: unexpired lot remainders
// less uncovered overdraft.
func (tx *Tx) usable(a *account, earnedBefore int64) (int64, error) {
	lots, err := tx.lotsAvailable(a, earnedBefore)
	if err != nil {
		return 0, err
	}
	return lots - a.debt, nil
}

// anyTime bounds nothing: every lot counts, whenever it was earned.
const anyTime = int64(^uint64(0) >> 1)

func (tx *Tx) lotsAvailable(a *account, earnedBefore int64) (int64, error) {
	var n int64
	err := tx.queryRow("SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE account_id = ? AND expires_at > ? AND remaining > 0 AND earned_at < ?",
		a.id, micros(tx.now), earnedBefore).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("ledger: read lots: %w", err)
	}
	return n, nil
}
