package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Fact is one thing a source reported (a web order, an ERP document, a
// till receipt), stored as reconciliation saw it so that the ledger state
// of its subject can be recomputed from all its facts.
type Fact struct {
	Program string
	Kind    string
	Key     string // unique per kind within a program: the source's own id
	Subject string // what the fact is about: "order:W1", "receipt:S1/T2/4711"
	Payload []byte // canonical JSON
	At      time.Time
}

// PutFact stores a fact. It reports false when the same key with the same
// content was stored before (a duplicate); another content under the same
// key is a revision and is stored beside it.
func (tx *Tx) PutFact(f Fact) (bool, error) {
	if f.Program == "" || f.Kind == "" || f.Key == "" || f.Subject == "" {
		return false, invalidf("a fact needs a program, a kind, a key and a subject")
	}
	if len(f.Key) > 191 || len(f.Subject) > 191 {
		return false, invalidf("fact key and subject are limited to 191 bytes")
	}
	sum := sha256.Sum256(f.Payload)
	hash := hex.EncodeToString(sum[:])
	// One statement: a fact already stored with this content is left as
	// it is, and nothing was inserted.
	q := `INSERT INTO facts (program, kind, fkey, subject, hash, payload, business_at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program, kind, fkey, hash) DO NOTHING`
	if tx.l.backend == BackendMySQL {
		q = `INSERT INTO facts (program, kind, fkey, subject, hash, payload, business_at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id`
	}
	res, err := tx.execResult(q, f.Program, f.Kind, f.Key, f.Subject, hash, string(f.Payload), micros(f.At), micros(tx.now))
	if err != nil {
		return false, fmt.Errorf("ledger: store fact %s %s: %w", f.Kind, f.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	return true, nil
}

// SubjectFacts lists every fact of a subject, by business time then
// arrival.
func (tx *Tx) SubjectFacts(program, subject string) ([]Fact, error) {
	rows, err := tx.query("SELECT kind, fkey, payload, business_at FROM facts WHERE program = ? AND subject = ? ORDER BY business_at, id", program, subject)
	if err != nil {
		return nil, fmt.Errorf("ledger: read facts of %s: %w", subject, err)
	}
	defer rows.Close()
	var out []Fact
	for rows.Next() {
		f := Fact{Program: program, Subject: subject}
		var payload string
		var at int64
		if err := rows.Scan(&f.Kind, &f.Key, &payload, &at); err != nil {
			return nil, err
		}
		f.Payload, f.At = []byte(payload), fromMicros(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Subject is what reconciliation wrote for one subject, and whether it is
// parked waiting for something (a customer link, an order).
type Subject struct {
	Program string
	Subject string
	State   []byte // reconciliation's own record, JSON
	Parked  string // why it is parked; empty when it is not
	Waiting string // what would unpark it: an identifier or "order:ID"
	Updated time.Time
}

// Subject reads a subject's record; ok is false when none exists yet.
func (tx *Tx) Subject(program, subject string) (s Subject, ok bool, err error) {
	s = Subject{Program: program, Subject: subject}
	var state string
	var updated int64
	err = tx.queryRow("SELECT state, parked, waiting, updated_at FROM subjects WHERE program = ? AND subject = ?"+tx.forUpdate(), program, subject).
		Scan(&state, &s.Parked, &s.Waiting, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("ledger: read subject %s: %w", subject, err)
	}
	s.State, s.Updated = []byte(state), fromMicros(updated)
	return s, true, nil
}

// SaveSubject writes a subject's record.
func (tx *Tx) SaveSubject(s Subject) error {
	if len(s.Parked) > 512 {
		s.Parked = s.Parked[:509] + "..."
	}
	q := `INSERT INTO subjects (program, subject, state, parked, waiting, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (program, subject) DO UPDATE SET state = excluded.state, parked = excluded.parked, waiting = excluded.waiting, updated_at = excluded.updated_at`
	if tx.l.backend == BackendMySQL {
		q = `INSERT INTO subjects (program, subject, state, parked, waiting, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE state = VALUES(state), parked = VALUES(parked), waiting = VALUES(waiting), updated_at = VALUES(updated_at)`
	}
	if err := tx.exec(q, s.Program, s.Subject, string(s.State), s.Parked, s.Waiting, micros(tx.now)); err != nil {
		return fmt.Errorf("ledger: save subject %s: %w", s.Subject, err)
	}
	if k, ok := waitKindOf(s.Program, s.Waiting); ok && tx.waitKinds != nil {
		tx.waitKinds[k] = true
	}
	return nil
}

// waitKind is a program and a kind of what its subjects wait for: the
// part of Subject.Waiting up to its first colon ("account:", "card:").
type waitKind struct{ program, prefix string }

func waitKindOf(program, what string) (waitKind, bool) {
	i := strings.IndexByte(what, ':')
	if i <= 0 {
		return waitKind{}, false
	}
	return waitKind{program, what[:i+1]}, true
}

// mayWait reports whether a subject of the program may wait for something
// of what's kind. On SQLite it asks the database once per transaction and
// kind, and SaveSubject keeps the answer: a till receipt asks, after its
// accrual, whether anything waits for its account's points, and almost
// never does; one index search per transaction instead of one per
// receipt. A savepoint that rolls back (Tx.Try) forgets the answers, which
// it may have made wrong either way. MySQL asks every time: another
// transaction may park a subject in between, and only the account's lock
// orders the two.
func (tx *Tx) mayWait(program, what string) (bool, error) {
	k, ok := waitKindOf(program, what)
	if !ok || tx.l.backend != BackendSQLite {
		return true, nil
	}
	if may, ok := tx.waitKinds[k]; ok {
		return may, nil
	}
	// ';' follows ':': the range holds every value with the prefix.
	var one int
	err := tx.queryRow("SELECT 1 FROM subjects WHERE waiting >= ? AND waiting < ? AND program = ? LIMIT 1",
		k.prefix, k.prefix[:len(k.prefix)-1]+";", program).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("ledger: read parked subjects: %w", err)
	}
	if tx.waitKinds == nil {
		tx.waitKinds = make(map[waitKind]bool)
	}
	tx.waitKinds[k] = err == nil
	return err == nil, nil
}

// WaitingOn lists the parked subjects of a program that wait for what.
func (tx *Tx) WaitingOn(program, what string) ([]string, error) {
	if may, err := tx.mayWait(program, what); err != nil || !may {
		return nil, err
	}
	rows, err := tx.query("SELECT subject FROM subjects WHERE waiting = ? AND program = ? ORDER BY subject", what, program)
	if err != nil {
		return nil, fmt.Errorf("ledger: read parked subjects: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Parked lists a program's parked subjects with their reasons.
func (l *Ledger) Parked(ctx context.Context, program string) ([]Subject, error) {
	rows, err := l.r.QueryContext(ctx, "SELECT subject, parked, waiting, updated_at FROM subjects WHERE program = ? AND parked <> '' ORDER BY updated_at, subject", program)
	if err != nil {
		return nil, fmt.Errorf("ledger: read parked subjects: %w", err)
	}
	defer rows.Close()
	var out []Subject
	for rows.Next() {
		s := Subject{Program: program}
		var updated int64
		if err := rows.Scan(&s.Subject, &s.Parked, &s.Waiting, &updated); err != nil {
			return nil, err
		}
		s.Updated = fromMicros(updated)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Customers lists one identifier (the first known) of every customer with
// an account in a program, for operations on all of them (periodic gifts).
func (tx *Tx) Customers(program string) ([]Ident, error) {
	rows, err := tx.query(`SELECT (SELECT i.ident FROM identifiers i WHERE i.customer_id = a.customer_id ORDER BY i.created_at, i.ident LIMIT 1)
		FROM accounts a WHERE a.program = ? ORDER BY a.id`, program)
	if err != nil {
		return nil, fmt.Errorf("ledger: list customers of %s: %w", program, err)
	}
	defer rows.Close()
	var out []Ident
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, Ident(s))
	}
	return out, rows.Err()
}
