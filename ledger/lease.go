package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrLeaseLost means a lease is no longer held by the one that asked: it
// was taken over, released, or ran out before it was renewed. A fenced
// ledger (SetFence) fails every write transaction with it, before the
// transaction writes anything; Update never retries it.
var ErrLeaseLost = errors.New("lease lost")

// mysqlNow is the database's clock in Unix microseconds. UTC_TIMESTAMP is
// UTC whatever the session's time zone, and TIMESTAMPDIFF between two
// DATETIMEs is plain arithmetic, so no zone or daylight-saving change
// enters the value. Within one statement it is the statement's start.
const mysqlNow = "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))"

// LeaseInfo is the state of a named lease as the database holds it.
type LeaseInfo struct {
	Name string
	// Holder is who took the lease last ("" when it was never taken); it
	// stays after the lease is released or runs out, see Held.
	Holder string
	// Fence counts the acquisitions of the lease: each raises it by one.
	Fence                            int64
	AcquiredAt, RenewedAt, ExpiresAt time.Time // zero when never taken
	// Now is the database's clock when the row was read (on SQLite, the
	// ledger clock): compare ExpiresAt with it, not with this host's
	// clock, which may be skewed.
	Now time.Time
}

// Held reports whether the lease was held by its Holder when it was read.
func (i LeaseInfo) Held() bool { return i.Holder != "" && i.ExpiresAt.After(i.Now) }

// Remaining is how long the lease had left when it was read, by the
// database's clock; 0 when it is not held.
func (i LeaseInfo) Remaining() time.Duration {
	if !i.Held() {
		return 0
	}
	return i.ExpiresAt.Sub(i.Now)
}

// Lease is one acquisition of a named lease by a holder. It stays the
// holder's until it is released, or runs out without renewal and another
// holder takes it; from then on Renew fails with ErrLeaseLost and a
// ledger fenced with it writes nothing.
type Lease struct {
	l      *Ledger
	name   string
	holder string
	ttl    time.Duration
	fence  int64

	mu    sync.Mutex
	info  LeaseInfo
	until time.Time // this host's clock: see ValidUntil
}

// Name is the lease's name.
func (ls *Lease) Name() string { return ls.name }

// Holder is who holds the lease.
func (ls *Lease) Holder() string { return ls.holder }

// Fence is the fence of this acquisition: higher than any before it.
func (ls *Lease) Fence() int64 { return ls.fence }

// TTL is how long the lease lasts after each acquisition or renewal.
func (ls *Lease) TTL() time.Duration { return ls.ttl }

// Info is the lease as of its acquisition or latest successful renewal.
func (ls *Lease) Info() LeaseInfo {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.info
}

// ValidUntil is an instant on this host's clock before which the lease
// surely has not run out: the moment the latest successful acquisition
// or renewal was sent, plus the TTL (the database starts the TTL later
// than that). It is the zero time once the lease is known lost or was
// released. Use it to schedule, not to decide who holds the lease: only
// the database's fence check does that.
func (ls *Lease) ValidUntil() time.Time {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.until
}

// leaseRow is a row of the leases table.
type leaseRow struct {
	holder                     string
	fence                      int64
	acquired, renewed, expires int64
	found                      bool
}

func (r leaseRow) info(name string, now int64) LeaseInfo {
	i := LeaseInfo{Name: name, Holder: r.holder, Fence: r.fence, Now: fromMicros(now)}
	if r.fence > 0 {
		i.AcquiredAt, i.RenewedAt, i.ExpiresAt = fromMicros(r.acquired), fromMicros(r.renewed), fromMicros(r.expires)
	}
	return i
}

// heldByOther reports whether the row is a lease someone other than
// holder holds at now.
func (r leaseRow) heldByOther(holder string, now int64) bool {
	return r.holder != "" && r.holder != holder && r.expires > now
}

// AcquireLease takes the lease name for holder for ttl when it is free,
// has run out, or is already holder's, raising its fence; otherwise it
// returns a nil Lease and who holds the lease until when. On MySQL the
// expiry is judged by the database's clock, so hosts whose clocks
// disagree agree on it. Taking the lease waits until the write
// transactions its previous holder has in flight on a fenced ledger have
// ended (see SetFence).
func (l *Ledger) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (*Lease, LeaseInfo, error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return nil, LeaseInfo{}, err
	}
	sent := time.Now()
	var (
		info  LeaseInfo
		taken bool
	)
	err := l.leaseTx(ctx, func(tx *sql.Tx) error {
		taken = false
		// A look without locks first: a standby asking while the lease
		// is held must not queue behind the holder's transactions, nor
		// make them queue behind it.
		now, err := l.leaseNow(ctx, tx)
		if err != nil {
			return err
		}
		row, err := readLease(ctx, tx, name, "")
		if err != nil {
			return err
		}
		if row.heldByOther(holder, now) {
			info = row.info(name, now)
			return nil
		}
		// The fence row first: locking it waits for the fenced
		// transactions in flight. Then the lease row, which waits at
		// most for a renewal in flight.
		var fence int64
		if err := l.lockRow(ctx, tx, "lease_fences", name); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT fence FROM lease_fences WHERE name = ?", name).Scan(&fence); err != nil {
			return fmt.Errorf("ledger: read the fence of lease %s: %w", name, err)
		}
		if err := l.lockRow(ctx, tx, "leases", name); err != nil {
			return err
		}
		if row, err = readLease(ctx, tx, name, l.lockForUpdate()); err != nil {
			return err
		}
		// The locks may have waited: judge again at the time they were
		// got.
		if now, err = l.leaseNow(ctx, tx); err != nil {
			return err
		}
		if row.heldByOther(holder, now) {
			info = row.info(name, now)
			return nil
		}
		row = leaseRow{holder: holder, fence: max(row.fence, fence) + 1, acquired: now, renewed: now, expires: now + ttl.Microseconds(), found: true}
		if _, err := tx.ExecContext(ctx, "UPDATE leases SET holder = ?, fence = ?, acquired_at = ?, renewed_at = ?, expires_at = ? WHERE name = ?",
			row.holder, row.fence, row.acquired, row.renewed, row.expires, name); err != nil {
			return fmt.Errorf("ledger: take lease %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE lease_fences SET fence = ? WHERE name = ?", row.fence, name); err != nil {
			return fmt.Errorf("ledger: take lease %s: %w", name, err)
		}
		info, taken = row.info(name, now), true
		return nil
	})
	if err != nil {
		return nil, LeaseInfo{}, err
	}
	if !taken {
		return nil, info, nil
	}
	ls := &Lease{l: l, name: name, holder: holder, ttl: ttl, fence: info.Fence, info: info, until: sent.Add(ttl)}
	return ls, info, nil
}

// lockRow creates the row of lease name in table (leases or
// lease_fences) when it is missing, and locks it for writing on MySQL.
func (l *Ledger) lockRow(ctx context.Context, tx *sql.Tx, table, name string) error {
	q := l.upsert("INSERT INTO "+table+" (name) VALUES (?)", []string{"name"}, nil)
	if _, err := tx.ExecContext(ctx, q, name); err != nil {
		return fmt.Errorf("ledger: lock lease %s (%s): %w", name, table, err)
	}
	if l.backend != BackendMySQL {
		return nil // the write transaction holds the whole file
	}
	var got string
	if err := tx.QueryRowContext(ctx, "SELECT name FROM "+table+" WHERE name = ? FOR UPDATE", name).Scan(&got); err != nil {
		return fmt.Errorf("ledger: lock lease %s (%s): %w", name, table, err)
	}
	return nil
}

// Renew extends the lease by its TTL from now. It fails with
// ErrLeaseLost when the lease was taken over or released, or ran out
// before this renewal reached the database; other errors (the database
// unreachable) leave the lease as it was, to be renewed again before
// ValidUntil. It does not wait for the write transactions in flight on
// a ledger fenced with the lease.
func (ls *Lease) Renew(ctx context.Context) error {
	sent := time.Now()
	var info LeaseInfo
	err := ls.l.leaseTx(ctx, func(tx *sql.Tx) error {
		row, err := readLease(ctx, tx, ls.name, ls.l.lockForUpdate())
		if err != nil {
			return err
		}
		now, err := ls.l.leaseNow(ctx, tx)
		if err != nil {
			return err
		}
		if err := ls.lostBy(row, now); err != nil {
			return err
		}
		row.renewed, row.expires = now, now+ls.ttl.Microseconds()
		if _, err := tx.ExecContext(ctx, "UPDATE leases SET renewed_at = ?, expires_at = ? WHERE name = ?", row.renewed, row.expires, ls.name); err != nil {
			return fmt.Errorf("ledger: renew lease %s: %w", ls.name, err)
		}
		info = row.info(ls.name, now)
		return nil
	})
	ls.mu.Lock()
	defer ls.mu.Unlock()
	switch {
	case err == nil:
		ls.info, ls.until = info, sent.Add(ls.ttl)
	case errors.Is(err, ErrLeaseLost):
		ls.until = time.Time{}
	}
	return err
}

// Release gives the lease up at once, so another holder can take it
// without waiting for it to run out; the taker still waits for the write
// transactions in flight on a ledger fenced with it. Releasing a lease
// that is no longer held (lost, or released before) does nothing.
func (ls *Lease) Release(ctx context.Context) error {
	err := ls.l.leaseTx(ctx, func(tx *sql.Tx) error {
		row, err := readLease(ctx, tx, ls.name, ls.l.lockForUpdate())
		if err != nil {
			return err
		}
		now, err := ls.l.leaseNow(ctx, tx)
		if err != nil {
			return err
		}
		if ls.lostBy(row, now) != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE leases SET expires_at = ? WHERE name = ?", now, ls.name); err != nil {
			return fmt.Errorf("ledger: release lease %s: %w", ls.name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ls.mu.Lock()
	ls.until = time.Time{}
	ls.mu.Unlock()
	return nil
}

// lostBy says why row at now is not this lease any more (ErrLeaseLost),
// or nil when it still is.
func (ls *Lease) lostBy(row leaseRow, now int64) error {
	switch {
	case !row.found:
		return fmt.Errorf("%w: lease %s (fence %d) of %s: its row is gone from the leases table", ErrLeaseLost, ls.name, ls.fence, ls.holder)
	case row.holder != ls.holder:
		return fmt.Errorf("%w: lease %s (fence %d) of %s was taken over by %s (fence %d)", ErrLeaseLost, ls.name, ls.fence, ls.holder, row.holder, row.fence)
	case row.fence != ls.fence:
		return fmt.Errorf("%w: lease %s (fence %d) of %s was taken again (fence %d)", ErrLeaseLost, ls.name, ls.fence, ls.holder, row.fence)
	case row.expires <= now:
		return fmt.Errorf("%w: lease %s (fence %d) of %s ran out at %s (database clock) without renewal, or was released",
			ErrLeaseLost, ls.name, ls.fence, ls.holder, fromMicros(row.expires).Format(time.RFC3339Nano))
	}
	return nil
}

// LeaseInfo reads the lease name; a lease never taken has an empty
// Holder and fence 0.
func (l *Ledger) LeaseInfo(ctx context.Context, name string) (LeaseInfo, error) {
	if err := checkKey("lease name", name); err != nil {
		return LeaseInfo{}, err
	}
	var (
		row leaseRow
		now int64
	)
	q := "SELECT holder, fence, acquired_at, renewed_at, expires_at, " + l.nowColumn() + " FROM leases WHERE name = ?"
	args := []any{name}
	if l.backend != BackendMySQL {
		args = []any{micros(l.clock()), name}
	}
	err := l.r.QueryRowContext(ctx, q, args...).Scan(&row.holder, &row.fence, &row.acquired, &row.renewed, &row.expires, &now)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		now, err := l.currentTime(ctx)
		if err != nil {
			return LeaseInfo{}, err
		}
		return LeaseInfo{Name: name, Now: fromMicros(now)}, nil
	case err != nil:
		return LeaseInfo{}, fmt.Errorf("ledger: read lease %s: %w", name, err)
	}
	return row.info(name, now), nil
}

// SetFence fences the ledger with lease: from then on every write
// transaction (Update, and everything that writes through it) first
// checks, inside the transaction, that lease is still held: same holder,
// same fence, not run out. When it is not, the transaction fails with
// ErrLeaseLost and writes nothing. On MySQL the check takes a shared
// lock on the lease's fence row, held until the transaction ends, so
// whoever takes the lease over waits for the transactions already past
// the check: a daemon that lost its lease can never commit after another
// took over. A nil lease removes the fence. The admin commands leave the
// ledger unfenced.
func (l *Ledger) SetFence(lease *Lease) {
	if lease != nil && lease.l != l {
		panic("ledger: SetFence with a lease acquired on another ledger")
	}
	l.fence.Store(lease)
}

// Fence is the lease the ledger is fenced with (SetFence), nil when it
// is not fenced. Writes outside the ledger (exports to files and other
// databases) check its ValidUntil before they write: nothing else keeps
// a process that lost the lease from making them.
func (l *Ledger) Fence() *Lease { return l.fence.Load() }

// checkFence is the first statement of a write transaction on a fenced
// ledger. On MySQL it share-locks the lease's fence row until the
// transaction ends: a taker must lock that row to change it, so it waits.
// The lease row itself is read without a lock, so renewals, which change
// only that row, do not wait for the transactions in flight.
func (ls *Lease) checkFence(tx *Tx) error {
	q := "SELECT fence FROM lease_fences WHERE name = ?"
	if tx.l.backend == BackendMySQL {
		q += " LOCK IN SHARE MODE"
	}
	var fence int64
	err := tx.queryRow(q, ls.name).Scan(&fence)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: check lease %s before writing: %w", ls.name, err)
	}
	row := leaseRow{found: true}
	var now int64
	q = "SELECT holder, fence, expires_at, " + tx.l.nowColumn() + " FROM leases WHERE name = ?"
	args := []any{ls.name}
	if tx.l.backend != BackendMySQL {
		args = []any{micros(tx.now), ls.name}
	}
	err = tx.queryRow(q, args...).Scan(&row.holder, &row.fence, &row.expires, &now)
	if errors.Is(err, sql.ErrNoRows) {
		row.found = false
	} else if err != nil {
		return fmt.Errorf("ledger: check lease %s before writing: %w", ls.name, err)
	}
	lost := ls.lostBy(row, now)
	if lost == nil && fence != ls.fence {
		lost = fmt.Errorf("%w: lease %s (fence %d) of %s is being taken over (fence %d)", ErrLeaseLost, ls.name, ls.fence, ls.holder, fence)
	}
	if lost != nil {
		return fmt.Errorf("%w; this process writes nothing more to the ledger", lost)
	}
	return nil
}

// checkLease refuses a lease that could not be stored as asked.
func checkLease(name, holder string, ttl time.Duration) error {
	if err := checkKey("lease name", name); err != nil {
		return err
	}
	if err := checkKey("lease holder", holder); err != nil {
		return err
	}
	if ttl < time.Millisecond {
		return invalidf("lease %s: the time to live %s is too short (at least 1ms; daemons use daemon.lease_ttl)", name, ttl)
	}
	return nil
}

// leaseTx runs fn in a transaction of its own. Lease operations are not
// fenced: they are what the fence is made of, and a standby must be able
// to take the lease whatever its fence says.
func (l *Ledger) leaseTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if ctx.Value(inTxKey{}) == l {
		return ErrNestedUpdate
	}
	if l.backend != BackendMySQL {
		l.lockWrite()
		defer l.wmu.Unlock()
	}
	tx, err := l.w.BeginTx(ctx, nil) // MySQL: read committed (readCommitted)
	if err != nil {
		return fmt.Errorf("ledger: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: commit: %w", err)
	}
	return nil
}

// readLease reads the row of lease name with lock ("", or a locking
// clause); found is false when there is none.
func readLease(ctx context.Context, tx *sql.Tx, name, lock string) (leaseRow, error) {
	var r leaseRow
	err := tx.QueryRowContext(ctx, "SELECT holder, fence, acquired_at, renewed_at, expires_at FROM leases WHERE name = ?"+lock, name).
		Scan(&r.holder, &r.fence, &r.acquired, &r.renewed, &r.expires)
	if errors.Is(err, sql.ErrNoRows) {
		return leaseRow{}, nil
	}
	if err != nil {
		return leaseRow{}, fmt.Errorf("ledger: read lease %s: %w", name, err)
	}
	r.found = true
	return r, nil
}

// leaseNow is the clock leases are judged by: the database's on MySQL,
// read now (not at the start of the transaction, which may have waited
// for a lock); the ledger clock on SQLite, where one host holds the file.
func (l *Ledger) leaseNow(ctx context.Context, tx *sql.Tx) (int64, error) {
	if l.backend != BackendMySQL {
		return micros(l.clock()), nil
	}
	var now int64
	if err := tx.QueryRowContext(ctx, "SELECT "+mysqlNow).Scan(&now); err != nil {
		return 0, fmt.Errorf("ledger: read the database clock: %w", err)
	}
	return now, nil
}

// currentTime is leaseNow outside a transaction.
func (l *Ledger) currentTime(ctx context.Context) (int64, error) {
	if l.backend != BackendMySQL {
		return micros(l.clock()), nil
	}
	var now int64
	if err := l.r.QueryRowContext(ctx, "SELECT "+mysqlNow).Scan(&now); err != nil {
		return 0, fmt.Errorf("ledger: read the database clock: %w", err)
	}
	return now, nil
}

// nowColumn selects the lease clock beside a row: the database's on
// MySQL, a parameter (the ledger clock) on SQLite.
func (l *Ledger) nowColumn() string {
	if l.backend == BackendMySQL {
		return mysqlNow
	}
	return "?"
}

// lockForUpdate is the clause that locks a row read for writing.
func (l *Ledger) lockForUpdate() string {
	if l.backend == BackendMySQL {
		return " FOR UPDATE"
	}
	return ""
}
