package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Report groupings.
const (
	ReportByDay      = "day"
	ReportByMonth    = "month"
	ReportBySource   = "source"
	ReportByReason   = "reason"
	ReportByCustomer = "customer"
)

// ReportQuery asks for a program's figures over a period of business time.
type ReportQuery struct {
	Program string
	// From and To bound the movements' business time: From included, To
	// excluded; zero leaves that end open.
	From, To time.Time
	// By groups the rows: day or month (in the program's zone), source,
	// reason, customer; empty gives only the total.
	By string
	// Limit caps the rows (0: all); the total always covers every
	// movement of the period.
	Limit int
}

// ReportRow holds the figures of one group of movements (SPEC 3.6).
//
//   - Movements counts the movements that move points or try to: every
//     movement but posts, voids and notes, which finish or explain
//     another. A credit or spend later voided still counts, and so does a
//     refund, though no figure below adds its points.
//   - Issued is points credited and posted: posted credits, and posts of
//     pending credits for the amount posted, dated when posted. Pending
//     credits not posted yet are provisional, not issued.
//   - Spent is points paid with: spend movements not voided, for their
//     final amount (what a post kept, or the whole of one still pending).
//   - Withdrawn is points taken back: withdraw movements (credit notes,
//     negative or lowered admin adjustments) and resets.
//   - Expired is expire movements, and lots past their expiry that the
//     sweep has not recorded yet, each counted as the expire movement the
//     sweep will write (dated at the expiry), so a report does not change
//     when the sweep runs.
//   - Average is (Issued + Spent + Withdrawn + Expired) / Movements in
//     whole points, 0 without movements.
type ReportRow struct {
	Key       string `json:"key"`
	Movements int64  `json:"movements"`
	Issued    int64  `json:"issued"`
	Spent     int64  `json:"spent"`
	Withdrawn int64  `json:"withdrawn"`
	Expired   int64  `json:"expired"`
	Average   int64  `json:"average"`
}

// Report is a program's figures for a period, and its balances now.
type Report struct {
	Program string    `json:"program"`
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
	By      string    `json:"by,omitempty"`
	// Rows are in key order for day, month, source and reason; for
	// customer, the customers who moved most points first.
	Rows  []ReportRow `json:"rows"`
	Total ReportRow   `json:"total"`
	// Outstanding is the sum of every account's earned points now (an
	// account in overdraft counts negative): with the redemption rate it
	// is the program's liability. Provisional is the sum of pending
	// credits; Customers the number of accounts.
	Outstanding int64 `json:"outstanding"`
	Provisional int64 `json:"provisional"`
	Customers   int64 `json:"customers"`
}

// DayFigures are one day's figures (the definitions of ReportRow) and the
// outstanding earned points at the end of the day.
type DayFigures struct {
	Date        string `json:"date"` // YYYY-MM-DD in the program's zone
	Issued      int64  `json:"issued"`
	Spent       int64  `json:"spent"`
	Expired     int64  `json:"expired"`
	Outstanding int64  `json:"outstanding"`
}

// maxDailyDays bounds a Daily listing: ten years of days.
const maxDailyDays = 3660

// Movements are summed in the database, grouped by what the report
// groups by, and only the sums come back: reading each of a million
// movements into Go costs seconds where the sums cost a scan. Days and
// months are not SQL date functions (they differ between backends and
// know no time zones): movements are summed per quarter hour of UTC
// (bucketMicros from bucketOrigin, a whole number of quarter hours before
// the Unix epoch), and the quarter hours are placed in the program's days
// here. Every zone's offset today is a whole number of quarter hours, so
// a quarter hour never straddles a midnight.
const (
	bucketMicros = int64(15 * time.Minute / time.Microsecond)
	bucketOrigin = int64(-62135596800000000) // 0001-01-01 00:00 UTC
)

// groupBy is what the database groups movements by for a report.
type groupBy int

const (
	groupNone    groupBy = iota
	groupBucket          // quarter hours of business time
	groupSource          // m.source
	groupReason          // m.reason
	groupAccount         // m.account_id
)

// movementSums are the figures of a group of movements: the ReportRow
// figures and what the movements did to the earned points.
type movementSums struct {
	text   string // the group: source or reason
	num    int64  // the group: account or bucket
	row    ReportRow
	effect int64
}

// movementSumsSQL computes, per group of movements m, the figures of
// ReportRow (their definitions are there) and earnedEffect: what the
// movements did to their accounts' earned points (usable lots less
// overdraft debt) at their business time. A debit that overdraws lowers
// earned by its whole amount, lots and debt together; a credit raises it
// by its whole amount, whatever part pays debt first; a post of a pending
// spend gives back what it did not keep, a void all of it; a reset takes
// its points and forgives its debt. Posts and voids read the movement
// they finish, pending spends the post or void that finished them; the
// CASEs read them only for those rows.
const movementSumsSQL = `COALESCE(SUM(CASE WHEN m.kind IN ('post', 'void', 'note') THEN 0 ELSE 1 END), 0),
	COALESCE(SUM(CASE WHEN m.kind = 'credit' AND m.phase = 'posted' THEN m.amount
		WHEN m.kind = 'post' AND (SELECT r.kind FROM movements r WHERE r.id = m.ref_id) = 'credit' THEN m.amount
		ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN m.kind <> 'spend' THEN 0
		WHEN m.phase <> 'pending' THEN m.amount
		ELSE COALESCE((SELECT CASE WHEN f.kind = 'post' THEN f.amount ELSE 0 END FROM movements f
			WHERE f.ref_id = m.id AND f.kind IN ('post', 'void')), m.amount) END), 0),
	COALESCE(SUM(CASE WHEN m.kind IN ('withdraw', 'reset') THEN m.amount ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN m.kind = 'expire' THEN m.amount ELSE 0 END), 0),
	COALESCE(SUM(CASE m.kind
		WHEN 'credit' THEN CASE WHEN m.phase = 'posted' THEN m.amount ELSE 0 END
		WHEN 'post' THEN (SELECT CASE r.kind WHEN 'credit' THEN m.amount WHEN 'spend' THEN r.amount - m.amount ELSE 0 END
			FROM movements r WHERE r.id = m.ref_id)
		WHEN 'void' THEN (SELECT CASE r.kind WHEN 'spend' THEN m.amount ELSE 0 END FROM movements r WHERE r.id = m.ref_id)
		WHEN 'refund' THEN m.amount
		WHEN 'reset' THEN m.overdraft - m.amount
		WHEN 'spend' THEN -m.amount
		WHEN 'withdraw' THEN -m.amount
		WHEN 'expire' THEN -m.amount
		ELSE 0 END), 0)`

// sumMovements sums, per group, a program's movements with business time
// in [from, to), then its unswept expirations in that range up to now:
// lots past their expiry that still hold points, each summed as the
// expire movement the sweep will write for it (dated at the expiry,
// source schedule, reason expiry). fn gets each group's sums.
func (l *Ledger) sumMovements(ctx context.Context, q querier, program string, by groupBy, from, to, now int64, fn func(*movementSums)) error {
	div := " / "
	if l.backend == BackendMySQL {
		div = " DIV "
	}
	var mkey, lkey string
	var keyArgs []any
	switch by {
	case groupNone, groupSource, groupReason:
		mkey, lkey = "0", "0"
	case groupBucket:
		mkey = "(m.business_at - ?)" + div + strconv.FormatInt(bucketMicros, 10)
		lkey = "(l.expires_at - ?)" + div + strconv.FormatInt(bucketMicros, 10)
		keyArgs = []any{bucketOrigin}
	case groupAccount:
		mkey, lkey = "m.account_id", "l.account_id"
	}
	switch by {
	case groupSource:
		mkey = "m.source"
	case groupReason:
		mkey = "m.reason"
	}
	// The movements are scanned in table order and kept when their
	// account is of the program. Both planners would rather walk them
	// account by account through movements_account, a random read per
	// movement: ten times slower on SQLite, and on MySQL, once the table
	// outgrows the buffer pool, a disk read per movement.
	table := "movements m NOT INDEXED"
	if l.backend == BackendMySQL {
		table = "movements m IGNORE INDEX (movements_account)"
	}
	query := "SELECT " + mkey + " AS k, " + movementSumsSQL + " FROM " + table +
		" WHERE +m.account_id IN (SELECT id FROM accounts WHERE program = ?) AND m.business_at >= ? AND m.business_at < ? GROUP BY k"
	rows, err := q.QueryContext(ctx, query, append(keyArgs, program, from, to)...)
	if err != nil {
		return fmt.Errorf("ledger: sum the movements of %s: %w", program, err)
	}
	text := by == groupSource || by == groupReason
	for rows.Next() {
		var s movementSums
		key := any(&s.num)
		if text {
			key = &s.text
		}
		if err := rows.Scan(key, &s.row.Movements, &s.row.Issued, &s.row.Spent, &s.row.Withdrawn, &s.row.Expired, &s.effect); err != nil {
			rows.Close()
			return fmt.Errorf("ledger: sum the movements of %s: %w", program, err)
		}
		fn(&s)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: sum the movements of %s: %w", program, err)
	}
	rows, err = q.QueryContext(ctx, "SELECT "+lkey+" AS k, COUNT(*), COALESCE(SUM(l.remaining), 0) FROM lots l"+
		" WHERE +l.account_id IN (SELECT id FROM accounts WHERE program = ?) AND l.remaining > 0 AND l.expires_at <= ?"+
		" AND l.expires_at >= ? AND l.expires_at < ? GROUP BY k", append(keyArgs, program, now, from, to)...)
	if err != nil {
		return fmt.Errorf("ledger: sum the expired lots of %s: %w", program, err)
	}
	for rows.Next() {
		s := movementSums{text: SourceSchedule}
		if by == groupReason {
			s.text = ReasonExpiry
		}
		if err := rows.Scan(&s.num, &s.row.Movements, &s.row.Expired); err != nil {
			rows.Close()
			return fmt.Errorf("ledger: sum the expired lots of %s: %w", program, err)
		}
		s.effect = -s.row.Expired
		fn(&s)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: sum the expired lots of %s: %w", program, err)
	}
	return nil
}

// bucketTime is the first instant of a quarter hour of sumMovements.
func bucketTime(b int64) time.Time { return fromMicros(bucketOrigin + b*bucketMicros) }

func (r *ReportRow) average() {
	r.Average = 0
	if r.Movements > 0 {
		r.Average = (r.Issued + r.Spent + r.Withdrawn + r.Expired) / r.Movements
	}
}

func (r *ReportRow) sum(o ReportRow) {
	r.Movements += o.Movements
	r.Issued += o.Issued
	r.Spent += o.Spent
	r.Withdrawn += o.Withdrawn
	r.Expired += o.Expired
}

// Report sums a program's movements of a period, grouped by q.By (see
// ReportRow for what each figure counts), with the program's outstanding
// and provisional points and its number of customers now. The database
// sums the movements; only the sums of each group are read.
func (l *Ledger) Report(ctx context.Context, q ReportQuery) (Report, error) {
	p, err := l.Program(q.Program)
	if err != nil {
		return Report{}, err
	}
	switch q.By {
	case "", ReportByDay, ReportByMonth, ReportBySource, ReportByReason, ReportByCustomer:
	default:
		return Report{}, invalidf("cannot group a report by %q: use day, month, source, reason or customer", q.By)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return Report{}, invalidf("report period from %s to %s is empty: from must come before to", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	if q.Limit < 0 {
		return Report{}, invalidf("report limit %d is negative", q.Limit)
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = micros(q.From)
	}
	if !q.To.IsZero() {
		to = micros(q.To)
	}
	now := l.clock()
	rep := Report{Program: p.ID, From: q.From, To: q.To, By: q.By, Rows: []ReportRow{}}
	groups := map[string]*ReportRow{}
	byAccount := map[int64]*ReportRow{}
	by := map[string]groupBy{"": groupNone, ReportByDay: groupBucket, ReportByMonth: groupBucket,
		ReportBySource: groupSource, ReportByReason: groupReason, ReportByCustomer: groupAccount}[q.By]
	err = l.read(ctx, func(rq querier) error {
		err := l.sumMovements(ctx, rq, p.ID, by, from, to, micros(now), func(s *movementSums) {
			rep.Total.sum(s.row)
			var g *ReportRow
			switch q.By {
			case "":
				return
			case ReportByCustomer:
				if g = byAccount[s.num]; g == nil {
					g = &ReportRow{}
					byAccount[s.num] = g
				}
				g.sum(s.row)
				return
			case ReportByDay:
				s.text = bucketTime(s.num).In(p.Location).Format("2006-01-02")
			case ReportByMonth:
				s.text = bucketTime(s.num).In(p.Location).Format("2006-01")
			}
			if g = groups[s.text]; g == nil {
				g = &ReportRow{Key: s.text}
				groups[s.text] = g
			}
			g.sum(s.row)
		})
		if err != nil {
			return err
		}
		if q.By == ReportByCustomer {
			if rep.Rows, err = customerReportRows(ctx, rq, byAccount, q.Limit); err != nil {
				return err
			}
		}
		rep.Outstanding, rep.Provisional, rep.Customers, err = programTotals(ctx, rq, p.ID, now)
		return err
	})
	if err != nil {
		return Report{}, err
	}
	if q.By != ReportByCustomer {
		for _, g := range groups {
			rep.Rows = append(rep.Rows, *g)
		}
		sort.Slice(rep.Rows, func(i, j int) bool { return rep.Rows[i].Key < rep.Rows[j].Key })
		if q.Limit > 0 && len(rep.Rows) > q.Limit {
			rep.Rows = rep.Rows[:q.Limit]
		}
	}
	for i := range rep.Rows {
		rep.Rows[i].average()
	}
	rep.Total.average()
	return rep, nil
}

// customerReportRows orders the per-account groups by points moved, most
// first (ties by account), keeps limit of them and names each by its
// customer's first identifier.
func customerReportRows(ctx context.Context, q querier, byAccount map[int64]*ReportRow, limit int) ([]ReportRow, error) {
	type acc struct {
		id int64
		r  *ReportRow
	}
	accs := make([]acc, 0, len(byAccount))
	for id, r := range byAccount {
		accs = append(accs, acc{id, r})
	}
	moved := func(r *ReportRow) int64 { return r.Issued + r.Spent + r.Withdrawn + r.Expired }
	sort.Slice(accs, func(i, j int) bool {
		if a, b := moved(accs[i].r), moved(accs[j].r); a != b {
			return a > b
		}
		return accs[i].id < accs[j].id
	})
	if limit > 0 && len(accs) > limit {
		accs = accs[:limit]
	}
	names := map[int64]string{}
	const batch = 500
	for start := 0; start < len(accs); start += batch {
		part := accs[start:min(start+batch, len(accs))]
		args := make([]any, len(part))
		for i, a := range part {
			args[i] = a.id
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ")
		rows, err := q.QueryContext(ctx, "SELECT a.id, "+firstIdent+" FROM accounts a WHERE a.id IN ("+marks+")", args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: read customers of the report: %w", err)
		}
		for rows.Next() {
			var id int64
			var ident sql.NullString
			if err := rows.Scan(&id, &ident); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: read customers of the report: %w", err)
			}
			names[id] = ident.String
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("ledger: read customers of the report: %w", err)
		}
	}
	out := make([]ReportRow, len(accs))
	for i, a := range accs {
		out[i] = *a.r
		out[i].Key = names[a.id]
	}
	return out, nil
}

// programTotals sums a program's accounts at instant now: earned points
// (usable lots less debt), provisional points and the number of accounts.
func programTotals(ctx context.Context, q querier, program string, now time.Time) (outstanding, provisional, customers int64, err error) {
	var usable, debt int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(l.remaining), 0) FROM lots l JOIN accounts a ON a.id = l.account_id
		WHERE a.program = ? AND l.remaining > 0 AND l.expires_at > ?`, program, micros(now)).Scan(&usable); err != nil {
		return 0, 0, 0, fmt.Errorf("ledger: sum the lots of %s: %w", program, err)
	}
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(SUM(debt), 0), COALESCE(SUM(provisional), 0), COUNT(*) FROM accounts WHERE program = ?", program).
		Scan(&debt, &provisional, &customers); err != nil {
		return 0, 0, 0, fmt.Errorf("ledger: sum the accounts of %s: %w", program, err)
	}
	return usable - debt, provisional, customers, nil
}

// Daily gives a program's figures for each day, in its zone, from the day
// holding from to the day holding the last instant before to; days after
// today are left out (today's outstanding is as of now).
//
// The outstanding points at the end of each day are worked out backwards:
// the outstanding now, less what every movement dated after that day did
// to the earned points (a credit adds its points, a debit takes them,
// a void or refund gives them back, a reset takes the points and forgives
// the debt, an expiry takes the lot's points at its expiry instant, swept
// or not). Reading back from now costs only the movements since from,
// where summing forward from zero would read the whole history. The end
// of a day is the last instant before the next midnight, so points that
// expire at that midnight are still in the day's outstanding and in the
// next day's expired. Figures follow business time: a movement recorded
// late but dated earlier restates the days after its date.
func (l *Ledger) Daily(ctx context.Context, program string, from, to time.Time) ([]DayFigures, error) {
	p, err := l.Program(program)
	if err != nil {
		return nil, err
	}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		return nil, invalidf("daily figures need a period with from before to")
	}
	now := l.clock()
	if today := startOfDay(now, p.Location).AddDate(0, 0, 1); to.After(today) {
		to = today
	}
	first := startOfDay(from, p.Location)
	// starts[i] is the midnight opening day i; the last one closes the last day.
	starts := []time.Time{first}
	for d := first; d.Before(to); {
		d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, p.Location)
		starts = append(starts, d)
		if len(starts) > maxDailyDays+1 {
			return nil, invalidf("daily figures cover at most %d days; ask for a shorter period", maxDailyDays)
		}
	}
	days := len(starts) - 1
	if days <= 0 {
		return []DayFigures{}, nil // the whole period is after today
	}
	bounds := make([]int64, len(starts))
	for i, s := range starts {
		bounds[i] = micros(s)
	}
	out := make([]DayFigures, days)
	net := make([]int64, days)
	var after, outstanding int64
	err = l.read(ctx, func(rq querier) error {
		err := l.sumMovements(ctx, rq, p.ID, groupBucket, bounds[0], math.MaxInt64, micros(now), func(s *movementSums) {
			at := micros(bucketTime(s.num))
			if at >= bounds[days] {
				after += s.effect
				return
			}
			i := sort.Search(days, func(i int) bool { return bounds[i+1] > at })
			net[i] += s.effect
			out[i].Issued += s.row.Issued
			out[i].Spent += s.row.Spent
			out[i].Expired += s.row.Expired
		})
		if err != nil {
			return err
		}
		outstanding, _, _, err = programTotals(ctx, rq, p.ID, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	end := outstanding - after
	for i := days - 1; i >= 0; i-- {
		out[i].Date = starts[i].Format("2006-01-02")
		out[i].Outstanding = end
		end -= net[i]
	}
	return out, nil
}

// startOfDay is the midnight opening the day holding t in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// ParkedCount counts, per program, the subjects reconciliation parked
// (facts waiting for a customer link, an order or a review). Programs
// with none are absent.
func (l *Ledger) ParkedCount(ctx context.Context) (map[string]int64, error) {
	rows, err := l.r.QueryContext(ctx, "SELECT program, COUNT(*) FROM subjects WHERE parked <> '' GROUP BY program")
	if err != nil {
		return nil, fmt.Errorf("ledger: count parked subjects: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var program string
		var n int64
		if err := rows.Scan(&program, &n); err != nil {
			return nil, fmt.Errorf("ledger: count parked subjects: %w", err)
		}
		out[program] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: count parked subjects: %w", err)
	}
	return out, nil
}
