package server

import (
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pointsync/pointsync/internal/mask"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// adminParked lists what reconciliation parked in a program, card numbers
// masked.
func (s *Server) adminParked(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return err
	}
	if _, err := checkQuery(r, allow()); err != nil {
		return err
	}
	parked, err := s.ledger.Parked(r.Context(), p.ID)
	if err != nil {
		return err
	}
	type row struct {
		Subject string    `json:"subject"`
		Reason  string    `json:"reason"`
		Waiting string    `json:"waiting"`
		Updated time.Time `json:"updated"`
	}
	out := make([]row, 0, len(parked))
	for _, x := range parked {
		out = append(out, row{Subject: mask.Text(x.Subject), Reason: mask.Text(x.Parked), Waiting: mask.Text(x.Waiting), Updated: x.Updated.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// reportGroupings are the values of the reports' by parameter.
var reportGroupings = []string{"", "day", "month", "source", "reason", "customer"}

// maxReportDays bounds a daily report: ten years of days, as the ledger.
const maxReportDays = 3660

// reportRange reads from and to (YYYY-MM-DD, both days included, in the
// program's zone) as the half-open business-time range [from, to+1).
// Without to it is today; without from, the first day of to's month.
func reportRange(q adminQuery, p adminProgram, now time.Time) (from, to time.Time, fromDay, toDay rules.Date, err error) {
	if toDay, err = adminDate("to", q.str("to")); err != nil {
		return
	}
	if toDay.IsZero() {
		toDay = rules.DateOf(now.In(p.Location))
	}
	if fromDay, err = adminDate("from", q.str("from")); err != nil {
		return
	}
	if fromDay.IsZero() {
		fromDay = rules.Date{Year: toDay.Year, Month: toDay.Month, Day: 1}
	}
	from, to = fromDay.Start(p.Location), toDay.EndOfDay(p.Location)
	if !from.Before(to) {
		err = badRequest("from", "from %s is after to %s", fromDay, toDay)
	}
	return
}

// reportRow is one line of a report.
type reportRow struct {
	Key       string `json:"key"`
	Movements int64  `json:"movements"`
	Issued    int64  `json:"issued"`
	Spent     int64  `json:"spent"`
	Withdrawn int64  `json:"withdrawn"`
	Expired   int64  `json:"expired"`
	Average   int64  `json:"average"`
}

func toReportRow(r ledger.ReportRow) reportRow {
	return reportRow{Key: r.Key, Movements: r.Movements, Issued: r.Issued, Spent: r.Spent, Withdrawn: r.Withdrawn, Expired: r.Expired, Average: r.Average}
}

// liability is the outstanding balance and, when the program has a
// redemption rate, its value in money (SPEC 3.6).
type liability struct {
	Points    int64  `json:"points"`
	Value     *int64 `json:"value,omitempty"` // cents
	ValueText string `json:"value_text,omitempty"`
}

// liabilityOf values outstanding points at the program's redemption rate,
// rounded down to the cent; an amount program's balance is money already.
func liabilityOf(p adminProgram, outstanding int64) (liability, error) {
	out := liability{Points: outstanding}
	var v int64
	switch rr, configured, err := p.conf.RedemptionRules(); {
	case err != nil:
		return out, err
	case p.Unit == rules.UnitAmount:
		v = outstanding
	case !configured || rr.RatePoints <= 0:
		return out, nil
	default:
		n := new(big.Int).Mul(big.NewInt(outstanding), big.NewInt(rr.RateValue))
		n.Quo(n, big.NewInt(rr.RatePoints)) // truncates toward zero: never more than the rate gives
		if !n.IsInt64() {
			return out, nil
		}
		v = n.Int64()
	}
	out.Value, out.ValueText = &v, centsText(v)
	return out, nil
}

// centsText writes cents as a decimal with a point: -1234 is "-12.34".
func centsText(c int64) string {
	sign := ""
	u := new(big.Int).SetInt64(c)
	if c < 0 {
		sign = "-"
		u.Neg(u)
	}
	s := u.String()
	if len(s) < 3 {
		s = strings.Repeat("0", 3-len(s)) + s
	}
	return sign + s[:len(s)-2] + "." + s[len(s)-2:]
}

// adminReport is the movements of a program over days, grouped, with the
// outstanding balance and its value (SPEC 3.6).
func (s *Server) adminReport(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return err
	}
	q, err := checkQuery(r, allow("from", "to", "by", "limit"))
	if err != nil {
		return err
	}
	from, to, fromDay, toDay, err := reportRange(q, p, s.clock())
	if err != nil {
		return err
	}
	by := q.str("by")
	if !slices.Contains(reportGroupings, by) {
		return badRequest("by", "by %q: use day, month, source, reason or customer (or leave it out for totals only)", clipText(by, 20))
	}
	limit, err := q.integer("limit", 0, 1, 10000)
	if err != nil {
		return err
	}
	rep, err := s.ledger.Report(r.Context(), ledger.ReportQuery{Program: p.ID, From: from, To: to, By: by, Limit: int(limit)})
	if err != nil {
		return err
	}
	li, err := liabilityOf(p, rep.Outstanding)
	if err != nil {
		return err
	}
	rows := make([]reportRow, 0, len(rep.Rows))
	for _, x := range rep.Rows {
		rows = append(rows, toReportRow(x))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"program": p.ID, "from": fromDay.String(), "to": toDay.String(), "by": by,
		"rows": rows, "total": toReportRow(rep.Total),
		"outstanding": rep.Outstanding, "provisional": rep.Provisional, "customers": rep.Customers,
		"liability": li,
	})
	return nil
}

// adminDaily is a program's figures day by day.
func (s *Server) adminDaily(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return err
	}
	q, err := checkQuery(r, allow("from", "to"))
	if err != nil {
		return err
	}
	from, to, fromDay, toDay, err := reportRange(q, p, s.clock())
	if err != nil {
		return err
	}
	if n := dayCount(fromDay, toDay); n > maxReportDays {
		return badRequest("from", "a daily report covers at most %d days; %s to %s is %d", maxReportDays, fromDay, toDay, n)
	}
	days, err := s.ledger.Daily(r.Context(), p.ID, from, to)
	if err != nil {
		return err
	}
	type day struct {
		Date        string `json:"date"`
		Issued      int64  `json:"issued"`
		Spent       int64  `json:"spent"`
		Expired     int64  `json:"expired"`
		Outstanding int64  `json:"outstanding"`
	}
	out := make([]day, 0, len(days))
	for _, d := range days {
		out = append(out, day{Date: d.Date, Issued: d.Issued, Spent: d.Spent, Expired: d.Expired, Outstanding: d.Outstanding})
	}
	writeJSON(w, http.StatusOK, map[string]any{"program": p.ID, "from": fromDay.String(), "to": toDay.String(), "days": out})
	return nil
}

// dayCount is the number of days from a to b, both included.
func dayCount(a, b rules.Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 12, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 12, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta)/(24*time.Hour)) + 1
}

// adminJobs is each scheduled job's status as the daemon saved it.
func (s *Server) adminJobs(w http.ResponseWriter, r *http.Request) error {
	if _, err := checkQuery(r, allow()); err != nil {
		return err
	}
	jobs, err := s.ledger.Jobs(r.Context())
	if err != nil {
		return err
	}
	type row struct {
		Job         string     `json:"job"`
		Running     bool       `json:"running"`
		Holder      string     `json:"holder"`
		LastRun     *time.Time `json:"last_run"`
		LastSuccess *time.Time `json:"last_success"`
		LastError   string     `json:"last_error"`
		LastErrorAt *time.Time `json:"last_error_at"`
		Failures    int64      `json:"consecutive_failures"`
		Runs        int64      `json:"runs"`
		Rows        int64      `json:"rows"`
		Rejected    int64      `json:"rejected"`
		LagSeconds  float64    `json:"lag_seconds"`
		NextRun     *time.Time `json:"next_run"`
	}
	ts := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	out := make([]row, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, row{Job: j.Name, Running: j.Running, Holder: j.Holder, LastRun: ts(j.LastRun), LastSuccess: ts(j.LastSuccess),
			LastError: mask.Text(j.LastError), LastErrorAt: ts(j.LastErrorAt), Failures: j.Failures, Runs: j.Runs, Rows: j.Rows,
			Rejected: j.Rejected, LagSeconds: j.Lag.Seconds(), NextRun: ts(j.NextRun)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
	return nil
}
