package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reservation states. A reservation is held from Reserve until the
// checkout commits it (its points are the order's redemption from then
// on), releases it, or lets it expire.
const (
	ReservationHeld      = "held"
	ReservationCommitted = "committed"
	ReservationReleased  = "released"
	ReservationExpired   = "expired"
)

// Reservation is points held for one order of the shop's checkout
// (SPEC 3.3): a pending spend that already lowers the earned balance, so
// two checkouts spending at once can never take the same points.
type Reservation struct {
	Program   string    `json:"program"`
	Order     string    `json:"order"` // the order reference (the shop's web order id)
	Customer  Ident     `json:"customer"`
	Points    int64     `json:"points"`
	Movement  int64     `json:"movement"` // the pending spend holding the points
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"` // a held reservation is voided after it
	// FinishedAt is when it stopped being held (committed, released or
	// expired).
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// ReserveRequest holds Points of a customer's earned points for Order
// until TTL has passed. Meta gives the actor and note (and the source,
// api by default); the spend's key is the reservation's own.
type ReserveRequest struct {
	Account
	Meta
	Order  string        `json:"order"`
	Points int64         `json:"points"`
	TTL    time.Duration `json:"ttl"`
	// Check, when set, runs once the account is locked and before a new
	// hold is written (never for a replay), with the account's earned
	// balance: the caller's redemption limits, judged on the figures the
	// hold will change.
	Check func(tx *Tx, earned int64) error `json:"-"`
}

// Errors of reservations; the returned errors wrap them with the detail.
var (
	ErrReservationState   = errors.New("reservation not in a state for this")
	ErrUnknownReservation = errors.New("unknown reservation")
)

// maxGenDigits bounds the generation's digits in a reservation's keys,
// so the order reference is checked against what the keys leave it.
const maxGenDigits = 6

// reservationKey is the idempotency key of generation gen's pending spend;
// its void uses the same key with ":void".
func reservationKey(program, order string, gen int64) string {
	return fmt.Sprintf("reserve:%s:%s:g%d", program, order, gen)
}

// Reserve holds req.Points of the customer's earned points for req.Order
// as a pending spend (reason redemption, document the order) that may use
// only points earned before now, with the account locked: reservations at
// once can never hold more than the balance (ErrInsufficient). Asking
// again for an order already held or committed, for the same customer and
// points, returns that reservation with replayed set; for another
// customer or other points it is an ErrIdempotency conflict. An order
// whose reservation was released or expired is reserved anew. The
// account's own held reservations past their expiry are voided first, so
// an abandoned checkout never blocks the customer's next one.
func (tx *Tx) Reserve(req ReserveRequest) (r Reservation, replayed bool, err error) {
	if err := tx.checkReserve(&req); err != nil {
		return Reservation{}, false, err
	}
	a, err := tx.lockAccount(req.Account)
	if err != nil {
		return Reservation{}, false, err
	}
	if err := tx.expireStale(a); err != nil {
		return Reservation{}, false, err
	}
	cur, found, err := tx.reservationRow(req.Program, req.Order)
	if err != nil {
		return Reservation{}, false, err
	}
	if found && cur.State == ReservationHeld && !tx.now.Before(cur.ExpiresAt) {
		// Another customer's abandoned hold on this order (the account's
		// own were expired above): it holds nothing any more.
		if err := tx.finishReservation(&cur, ReservationExpired, tx.expiryMeta(cur)); err != nil {
			return Reservation{}, false, err
		}
	}
	if found && (cur.State == ReservationHeld || cur.State == ReservationCommitted) {
		if cur.customerID == a.customerID && cur.Points == req.Points {
			return cur.Reservation, true, nil
		}
		what := fmt.Sprintf("a %s reservation of %d points", cur.State, cur.Points)
		if cur.customerID != a.customerID {
			what = fmt.Sprintf("a %s reservation for another customer", cur.State)
		}
		undo := "release it first"
		if cur.State == ReservationCommitted {
			undo = "it is the order's redemption now: change or cancel the order instead"
		}
		return Reservation{}, false, fmt.Errorf("%w: order %s of program %s already has %s; %s, or reserve under another order reference",
			ErrIdempotency, req.Order, req.Program, what, undo)
	}
	if req.Check != nil {
		b, err := tx.Balance(req.Account, time.Time{})
		if err != nil {
			return Reservation{}, false, err
		}
		if err := req.Check(tx, b.Earned); err != nil {
			return Reservation{}, false, err
		}
	}
	gen := int64(1)
	if found {
		gen = cur.gen + 1
	}
	m := Meta{Source: req.Source, Key: reservationKey(req.Program, req.Order, gen), Reason: "redemption", Document: req.Order,
		Actor: req.Actor, Note: req.Note, At: tx.now}
	res, err := tx.Spend(SpendRequest{Account: req.Account, Meta: m, Amount: req.Points, Pending: true, EarnedBefore: tx.now})
	if ie := (*InsufficientError)(nil); errors.As(err, &ie) {
		// Only points with a business time ahead of now are left out:
		// the order-placement wording of the bound does not apply.
		ie.EarnedBefore = nil
	}
	if err != nil {
		return Reservation{}, false, err
	}
	if res.Replayed {
		// The key is new by construction: a stored one means the row and
		// the movements disagree.
		return Reservation{}, false, fmt.Errorf("ledger: reservation of order %s: spend key %s was already used; the reservations table is inconsistent", req.Order, m.Key)
	}
	r = Reservation{Program: req.Program, Order: req.Order, Customer: a.customer, Points: req.Points, Movement: res.Main(),
		State: ReservationHeld, CreatedAt: tx.now, ExpiresAt: tx.now.Add(req.TTL)}
	if found {
		err = tx.exec(`UPDATE reservations SET customer = ?, customer_id = ?, account_id = ?, movement_id = ?, points = ?, state = ?, gen = ?,
			created_at = ?, expires_at = ?, finished_at = 0 WHERE program = ? AND order_ref = ?`,
			string(r.Customer), a.customerID, a.id, r.Movement, r.Points, r.State, gen, micros(r.CreatedAt), micros(r.ExpiresAt), r.Program, r.Order)
	} else {
		err = tx.exec(`INSERT INTO reservations (program, order_ref, customer, customer_id, account_id, movement_id, points, state, gen,
			created_at, expires_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			r.Program, r.Order, string(r.Customer), a.customerID, a.id, r.Movement, r.Points, r.State, gen, micros(r.CreatedAt), micros(r.ExpiresAt))
	}
	if err != nil {
		return Reservation{}, false, fmt.Errorf("ledger: record reservation of order %s: %w", req.Order, err)
	}
	return r, false, nil
}

func (tx *Tx) checkReserve(req *ReserveRequest) error {
	if req.Source == "" {
		req.Source = SourceAPI
	}
	if _, err := tx.l.Program(req.Program); err != nil {
		return err
	}
	room := 191 - len(reservationKey(req.Program, "", 0)) + 1 - maxGenDigits - len(":void")
	switch {
	case req.Order == "":
		return invalidf("a reservation needs the order reference it holds points for")
	case strings.TrimSpace(req.Order) != req.Order:
		return invalidf("order reference %q has leading or trailing spaces", req.Order)
	case len(req.Order) > room:
		return invalidf("order reference is %d bytes; program %s allows at most %d", len(req.Order), req.Program, room)
	case req.Points <= 0:
		return invalidf("points to reserve must be greater than 0, got %d", req.Points)
	case req.TTL <= 0:
		return invalidf("a reservation needs a time to live greater than 0 (server.reservation_ttl), got %s", req.TTL)
	}
	return nil
}

// CommitReservation confirms a held reservation: its pending spend becomes
// the order's redemption, posted when the order is converted and voided
// when it is cancelled (reconciliation adopts it). Committing again
// returns it. A released or expired reservation is an ErrReservationState
// error; so is a held one past its expiry that the sweep has not reached:
// its points are given back and it is marked expired inside tx, so commit
// tx even on that error to give them back at once.
func (tx *Tx) CommitReservation(program, order string, m Meta) (Reservation, error) {
	cur, err := tx.lockReservation(program, order)
	if err != nil {
		return Reservation{}, err
	}
	switch cur.State {
	case ReservationCommitted:
		return cur.Reservation, nil
	case ReservationReleased, ReservationExpired:
		return cur.Reservation, fmt.Errorf("%w: order %s's reservation was %s at %s; reserve the points again", ErrReservationState,
			order, cur.State, cur.FinishedAt.Format(time.RFC3339))
	}
	if !tx.now.Before(cur.ExpiresAt) {
		if err := tx.finishReservation(&cur, ReservationExpired, tx.expiryMeta(cur)); err != nil {
			return Reservation{}, err
		}
		return cur.Reservation, fmt.Errorf("%w: order %s's reservation expired at %s, before this commit; its points are back: reserve them again",
			ErrReservationState, order, cur.ExpiresAt.Format(time.RFC3339))
	}
	if err := tx.setReservationState(&cur, ReservationCommitted); err != nil {
		return Reservation{}, err
	}
	return cur.Reservation, nil
}

// ReleaseReservation gives back a held reservation's points to the lots
// they came from (its pending spend is voided, with m's actor and note).
// Releasing a released or expired one returns it unchanged; a committed
// one is an ErrReservationState error.
func (tx *Tx) ReleaseReservation(program, order string, m Meta) (Reservation, error) {
	cur, err := tx.lockReservation(program, order)
	if err != nil {
		return Reservation{}, err
	}
	switch cur.State {
	case ReservationReleased, ReservationExpired:
		return cur.Reservation, nil
	case ReservationCommitted:
		return cur.Reservation, fmt.Errorf("%w: order %s's reservation was committed at %s: its points are the order's redemption now; "+
			"cancelling or changing the order gives them back", ErrReservationState, order, cur.FinishedAt.Format(time.RFC3339))
	}
	vm := Meta{Source: m.Source, Reason: "reservation_release", Actor: m.Actor, Note: m.Note}
	if vm.Source == "" {
		vm.Source = SourceAPI
	}
	if err := tx.finishReservation(&cur, ReservationReleased, vm); err != nil {
		return Reservation{}, err
	}
	return cur.Reservation, nil
}

// Reservation reads an order's reservation inside the transaction
// (locking it on MySQL); ok is false when the order has none.
func (tx *Tx) Reservation(program, order string) (Reservation, bool, error) {
	cur, ok, err := tx.reservationRow(program, order)
	return cur.Reservation, ok, err
}

// Reservation reads an order's reservation; ErrUnknownReservation when
// the order has none.
func (l *Ledger) Reservation(ctx context.Context, program, order string) (Reservation, error) {
	cur, err := scanReservation(l.r.QueryRowContext(ctx, "SELECT "+reservationColumns+" FROM reservations WHERE program = ? AND order_ref = ?", program, order))
	if errors.Is(err, sql.ErrNoRows) {
		return Reservation{}, fmt.Errorf("%w: program %s has no reservation for order %s", ErrUnknownReservation, program, order)
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("ledger: read reservation of order %s: %w", order, err)
	}
	return cur.Reservation, nil
}

// ExpireReservations voids held reservations past their expiry, oldest
// first, at most limit of them (0: all), in transactions of a bounded
// size, and returns how many it expired.
func (l *Ledger) ExpireReservations(ctx context.Context, limit int) (int, error) {
	const batch = 100
	total := 0
	for limit <= 0 || total < limit {
		size := batch
		if limit > 0 {
			size = min(size, limit-total)
		}
		var n, seen int
		err := l.Update(ctx, func(tx *Tx) error {
			var err error
			n, seen, err = tx.expireDue(size)
			return err
		})
		total += n
		if err != nil || seen < size {
			return total, err
		}
	}
	return total, nil
}

// expireDue expires up to size held reservations past their expiry. seen
// counts the candidates found: fewer than size means there are no more.
func (tx *Tx) expireDue(size int) (expired, seen int, err error) {
	// Only configured programs: an account of a program removed from the
	// configuration cannot be locked, and would stop every later run.
	ids := tx.l.programIDs()
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	args := []any{ReservationHeld, micros(tx.now)}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.query(`SELECT program, order_ref FROM reservations WHERE state = ? AND expires_at <= ? AND program IN (`+marks+`)
		ORDER BY expires_at, program, order_ref LIMIT ?`, append(args, size)...)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger: find expired reservations: %w", err)
	}
	type due struct{ program, order string }
	var ds []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.program, &d.order); err != nil {
			rows.Close()
			return 0, 0, err
		}
		ds = append(ds, d)
	}
	if err := rows.Close(); err != nil {
		return 0, 0, err
	}
	for _, d := range ds {
		cur, err := tx.lockReservation(d.program, d.order)
		if err != nil {
			return expired, len(ds), err
		}
		// Another transaction may have finished it since the list was read.
		if cur.State != ReservationHeld || tx.now.Before(cur.ExpiresAt) {
			continue
		}
		if err := tx.finishReservation(&cur, ReservationExpired, tx.expiryMeta(cur)); err != nil {
			return expired, len(ds), err
		}
		expired++
	}
	return expired, len(ds), nil
}

// expireStale expires the account's own held reservations past their
// expiry; the account is locked.
func (tx *Tx) expireStale(a *account) error {
	// Found without locking, then locked one by one: on MySQL a locking
	// range read also locks the index entry after the range, which belongs
	// to another account, so every checkout waited on the others' (the
	// caller holds a's lock, which every writer of a's reservations takes
	// first). Usually there is nothing to expire and nothing is locked.
	rows, err := tx.query("SELECT order_ref FROM reservations WHERE account_id = ? AND state = ? AND expires_at <= ? ORDER BY expires_at, order_ref",
		a.id, ReservationHeld, micros(tx.now))
	if err != nil {
		return fmt.Errorf("ledger: find the account's expired reservations: %w", err)
	}
	var orders []string
	for rows.Next() {
		var order string
		if err := rows.Scan(&order); err != nil {
			rows.Close()
			return fmt.Errorf("ledger: read reservation: %w", err)
		}
		orders = append(orders, order)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, order := range orders {
		cur, found, err := tx.reservationRow(a.program.ID, order)
		if err != nil {
			return err
		}
		if !found || cur.accountID != a.id || cur.State != ReservationHeld || cur.ExpiresAt.After(tx.now) {
			continue // finished or moved since it was read
		}
		if err := tx.finishReservation(&cur, ReservationExpired, tx.expiryMeta(cur)); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) expiryMeta(cur reservationRow) Meta {
	return Meta{Source: SourceSchedule, Reason: "reservation_expiry",
		Note: "reservation held until " + cur.ExpiresAt.Format(time.RFC3339) + " was neither committed nor released"}
}

// finishReservation voids a held reservation's spend and sets its final
// state; m gives the void's source, reason, actor and note.
func (tx *Tx) finishReservation(cur *reservationRow, state string, m Meta) error {
	m.Key = reservationKey(cur.Program, cur.Order, cur.gen) + ":void"
	m.Document, m.At = cur.Order, tx.now
	_, err := tx.Void(FinishRequest{Meta: m, Movement: cur.Movement})
	// Already finished is as good as voided here: nothing else finishes
	// a held reservation's spend, but a hold must never be stuck on it.
	if err != nil && !errors.Is(err, ErrAlreadyFinal) {
		return fmt.Errorf("ledger: give back the points of order %s's reservation: %w", cur.Order, err)
	}
	return tx.setReservationState(cur, state)
}

func (tx *Tx) setReservationState(cur *reservationRow, state string) error {
	if err := tx.exec("UPDATE reservations SET state = ?, finished_at = ? WHERE program = ? AND order_ref = ?",
		state, micros(tx.now), cur.Program, cur.Order); err != nil {
		return fmt.Errorf("ledger: mark order %s's reservation %s: %w", cur.Order, state, err)
	}
	cur.State, cur.FinishedAt = state, tx.now
	return nil
}

// lockReservation reads an order's reservation, locking its account and
// then the reservation, in the order every reservation write takes them
// (account first, as the ledger's writes do), so two of them cannot
// deadlock.
func (tx *Tx) lockReservation(program, order string) (reservationRow, error) {
	if _, err := tx.l.Program(program); err != nil {
		return reservationRow{}, err
	}
	var accountID int64
	err := tx.queryRow("SELECT account_id FROM reservations WHERE program = ? AND order_ref = ?", program, order).Scan(&accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return reservationRow{}, fmt.Errorf("%w: program %s has no reservation for order %s", ErrUnknownReservation, program, order)
	}
	if err != nil {
		return reservationRow{}, fmt.Errorf("ledger: read reservation of order %s: %w", order, err)
	}
	if _, err := tx.lockAccountByID(accountID); err != nil {
		return reservationRow{}, err
	}
	cur, found, err := tx.reservationRow(program, order)
	if err != nil {
		return reservationRow{}, err
	}
	if !found {
		return reservationRow{}, fmt.Errorf("%w: program %s has no reservation for order %s", ErrUnknownReservation, program, order)
	}
	if cur.accountID != accountID {
		// Reserved anew for another customer between the two reads: lock
		// that account instead.
		return tx.lockReservation(program, order)
	}
	return cur, nil
}

// reservationRow is a reservation with the columns only the ledger uses.
type reservationRow struct {
	Reservation
	customerID, accountID, gen int64
}

const reservationColumns = "program, order_ref, customer, customer_id, account_id, movement_id, points, state, gen, created_at, expires_at, finished_at"

func (tx *Tx) reservationRow(program, order string) (reservationRow, bool, error) {
	cur, err := scanReservation(tx.queryRow("SELECT "+reservationColumns+" FROM reservations WHERE program = ? AND order_ref = ?"+tx.forUpdate(), program, order))
	if errors.Is(err, sql.ErrNoRows) {
		return reservationRow{}, false, nil
	}
	if err != nil {
		return reservationRow{}, false, fmt.Errorf("ledger: read reservation of order %s: %w", order, err)
	}
	return cur, true, nil
}

func scanReservation(s scanner) (reservationRow, error) {
	var r reservationRow
	var customer string
	var created, expires, finished int64
	if err := s.Scan(&r.Program, &r.Order, &customer, &r.customerID, &r.accountID, &r.Movement, &r.Points, &r.State, &r.gen,
		&created, &expires, &finished); err != nil {
		return r, err
	}
	r.Customer, r.CreatedAt, r.ExpiresAt = Ident(customer), fromMicros(created), fromMicros(expires)
	if finished != 0 {
		r.FinishedAt = fromMicros(finished)
	}
	return r, nil
}
