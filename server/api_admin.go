package server

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// adminRoutes registers the back-office API: customers and their
// balances, admin adjustments (SPEC 3.6, E11), resets, expiry dates, bulk
// import and export, parked facts, reports and job status. Every route
// needs an admin token.
func (s *Server) adminRoutes() {
	const p = "/api/v1/programs/{program}"
	s.api("GET", p+"/customers", ScopeAdmin, s.adminListCustomers)
	s.api("GET", p+"/customers/{customer}", ScopeAdmin, s.adminGetCustomer)
	s.api("POST", p+"/customers/{customer}/adjustments", ScopeAdmin, s.adminAdjust)
	s.api("PUT", p+"/customers/{customer}/adjustments/{movement}", ScopeAdmin, s.adminChangeAdjustment)
	s.api("DELETE", p+"/customers/{customer}/adjustments/{movement}", ScopeAdmin, s.adminRemoveAdjustment)
	s.api("POST", p+"/customers/{customer}/reset", ScopeAdmin, s.adminResetCustomer)
	s.api("POST", p+"/reset", ScopeAdmin, s.adminResetProgram)
	s.api("POST", p+"/expiry", ScopeAdmin, s.adminExpiry)
	s.api("POST", p+"/import", ScopeAdmin, s.adminImport)
	s.api("GET", p+"/export", ScopeAdmin, s.adminExport)
	s.api("GET", p+"/parked", ScopeAdmin, s.adminParked)
	s.api("GET", p+"/reports", ScopeAdmin, s.adminReport)
	s.api("GET", p+"/reports/daily", ScopeAdmin, s.adminDaily)
	s.api("GET", "/api/v1/jobs", ScopeAdmin, s.adminJobs)
}

// adminProgram is a configured program as the admin routes need it: its
// rules form (zone, unit) and its configuration (badges, redemption rate).
type adminProgram struct {
	rules.Program
	conf configs.Program
}

// adminProgramOf reads the {program} path parameter.
func (s *Server) adminProgramOf(r *http.Request) (adminProgram, error) {
	id := r.PathValue("program")
	for _, cp := range s.conf.Programs {
		if cp.ID != id {
			continue
		}
		rp, err := cp.Rules()
		if err != nil {
			return adminProgram{}, fmt.Errorf("program %s: %w", id, err)
		}
		return adminProgram{Program: rp, conf: cp}, nil
	}
	return adminProgram{}, errorf(http.StatusNotFound, CodeUnknownProgram, "program",
		"program %q is not configured: use one of the ids under programs in the configuration", clipText(id, 64))
}

// adminAccount reads the {program} and {customer} path parameters.
func (s *Server) adminAccount(r *http.Request) (adminProgram, ledger.Account, error) {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return p, ledger.Account{}, err
	}
	id, err := parseIdent("customer", r.PathValue("customer"))
	if err != nil {
		return p, ledger.Account{}, err
	}
	return p, ledger.Account{Program: p.ID, Customer: id}, nil
}

// maxAdminKey leaves room in the ledger's 191 bytes for the prefix naming
// the operation.
const (
	maxAdminKey  = 160
	maxAdminNote = 2000
)

// adminMeta is the audit part of an admin write. The client's key is
// namespaced by operation (op), so the same key sent to two different
// routes is two operations; without a key every request is a new one.
func (s *Server) adminMeta(r *http.Request, op, key, note string) (ledger.Meta, error) {
	if err := checkAdminText("note", note, maxAdminNote, true); err != nil {
		return ledger.Meta{}, err
	}
	if key == "" {
		b := make([]byte, 16)
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return ledger.Meta{}, fmt.Errorf("draw an idempotency key: %w", err)
		}
		key = "auto-" + hex.EncodeToString(b)
	} else if err := checkAdminText("key", key, maxAdminKey, false); err != nil {
		return ledger.Meta{}, err
	} else if strings.TrimSpace(key) != key {
		return ledger.Meta{}, badRequest("key", "key %q has leading or trailing spaces: send it without them", clipText(key, 40))
	}
	return ledger.Meta{Source: ledger.SourceAPI, Key: op + ":" + key, Actor: actor(r), Note: note}, nil
}

// checkAdminText refuses text that is too long, not UTF-8, or holds
// control characters (newlines and tabs too unless multiline).
func checkAdminText(field, v string, limit int, multiline bool) error {
	switch {
	case len(v) > limit:
		return badRequest(field, "%s is %d bytes long; the limit is %d", field, len(v), limit)
	case !utf8.ValidString(v):
		return badRequest(field, "%s is not UTF-8 text", field)
	}
	for _, c := range v {
		if unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\t' || c == '\r')) {
			return badRequest(field, "%s holds the control character %U", field, c)
		}
	}
	return nil
}

// clipText shortens text echoed back in a message.
func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// maxDateYear is the last year a date field may name, as in files: the
// end of a day past 9999 cannot even be stored.
const maxDateYear = 2200

// adminDate parses a YYYY-MM-DD field.
func adminDate(field, v string) (rules.Date, error) {
	d, err := rules.ParseDate(v)
	if err != nil {
		return rules.Date{}, badRequest(field, "%s: %v", field, err)
	}
	if d.Year > maxDateYear {
		return rules.Date{}, badRequest(field, "%s: %s is after %d-12-31, the last day pointsync takes", field, v, maxDateYear)
	}
	return d, nil
}

// adminQuery is a request's query, checked against the parameters a route
// takes: an unknown or repeated parameter is refused, since a typo would
// otherwise silently widen a listing.
type adminQuery struct{ v url.Values }

func checkQuery(r *http.Request, allowed func(name string) bool) (adminQuery, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return adminQuery{}, badRequest("", "the query string is malformed: %v", err)
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !allowed(name) {
			return adminQuery{}, badRequest(name, "unknown query parameter %q", clipText(name, 40))
		}
		if len(v[name]) > 1 {
			return adminQuery{}, badRequest(name, "query parameter %s is given %d times; give it once", name, len(v[name]))
		}
	}
	return adminQuery{v: v}, nil
}

// allow is an allowed-names predicate for checkQuery.
func allow(names ...string) func(string) bool {
	return func(n string) bool { return slices.Contains(names, n) }
}

func (q adminQuery) str(name string) string { return q.v.Get(name) }

func (q adminQuery) has(name string) bool { return q.v.Has(name) }

// flag reads a boolean parameter: 1/true/yes or 0/false/no; absent or
// empty is false.
func (q adminQuery) flag(name string) (bool, error) {
	switch strings.ToLower(q.v.Get(name)) {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, badRequest(name, "%s must be 1 or 0 (true or false), got %q", name, clipText(q.v.Get(name), 20))
}

// integer reads an integer parameter within [lo, hi]; absent gives def.
func (q adminQuery) integer(name string, def, lo, hi int64) (int64, error) {
	s := q.v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(name, "%s must be a whole number from %d to %d, got %q", name, lo, hi, clipText(s, 20))
	}
	return n, nil
}

// customerColumns are the balance columns the customer list filters and
// sorts on.
var customerColumns = []string{"earned", "provisional", "spent", "expired"}

// adminCustomerRow is one customer of the list.
type adminCustomerRow struct {
	Customer    ledger.Ident      `json:"customer"`
	Identifiers []ledger.Ident    `json:"identifiers"`
	Earned      int64             `json:"earned"`
	Provisional int64             `json:"provisional"`
	Spent       int64             `json:"spent"`
	Expired     int64             `json:"expired"`
	Expiring    []ledger.Expiring `json:"expiring"`
	Badge       string            `json:"badge"`
}

// customerQuery turns the list's query parameters into a ledger query.
func customerQuery(r *http.Request, program string, now time.Time) (ledger.CustomerQuery, error) {
	q, err := checkQuery(r, func(n string) bool {
		if col, ok := strings.CutPrefix(n, "min_"); ok {
			return slices.Contains(customerColumns, col)
		}
		if col, ok := strings.CutPrefix(n, "max_"); ok {
			return slices.Contains(customerColumns, col)
		}
		return slices.Contains([]string{"search", "sort", "desc", "offset", "limit"}, n)
	})
	if err != nil {
		return ledger.CustomerQuery{}, err
	}
	cq := ledger.CustomerQuery{Program: program, At: now, Search: strings.TrimSpace(q.str("search")), Sort: q.str("sort")}
	if err := checkAdminText("search", cq.Search, 200, false); err != nil {
		return cq, err
	}
	if cq.Sort != "" && cq.Sort != "customer" && !slices.Contains(customerColumns, cq.Sort) {
		return cq, badRequest("sort", "sort %q: use customer, earned, provisional, spent or expired", clipText(cq.Sort, 20))
	}
	if cq.Desc, err = q.flag("desc"); err != nil {
		return cq, err
	}
	off, err := q.integer("offset", 0, 0, 1<<31-1)
	if err != nil {
		return cq, err
	}
	lim, err := q.integer("limit", 50, 1, 1000)
	if err != nil {
		return cq, err
	}
	cq.Offset, cq.Limit = int(off), int(lim)
	const big = 1 << 62
	for _, col := range customerColumns {
		for _, bound := range []string{"min", "max"} {
			name := bound + "_" + col
			if !q.has(name) {
				continue
			}
			n, err := q.integer(name, 0, -big, big)
			if err != nil {
				return cq, err
			}
			m := &cq.Min
			if bound == "max" {
				m = &cq.Max
			}
			if *m == nil {
				*m = map[string]int64{}
			}
			(*m)[col] = n
		}
		if lo, ok := cq.Min[col]; ok {
			if hi, ok := cq.Max[col]; ok && lo > hi {
				return cq, badRequest("min_"+col, "min_%s %d is above max_%s %d", col, lo, col, hi)
			}
		}
	}
	return cq, nil
}

// adminListCustomers lists a program's customers with their balances,
// filtered and sorted (SPEC 3.6).
func (s *Server) adminListCustomers(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return err
	}
	cq, err := customerQuery(r, p.ID, s.clock())
	if err != nil {
		return err
	}
	page, err := s.ledger.ListCustomers(r.Context(), cq)
	if errors.Is(err, ledger.ErrInvalid) {
		// Every parameter but the search was checked above.
		return badRequest("search", "%v", err)
	}
	if err != nil {
		return err
	}
	badges := p.conf.Badges()
	out := struct {
		Customers []adminCustomerRow `json:"customers"`
		Total     int                `json:"total"`
	}{Customers: make([]adminCustomerRow, 0, len(page.Rows)), Total: page.Total}
	for _, row := range page.Rows {
		cr := adminCustomerRow{Customer: row.Customer, Identifiers: row.Identifiers, Earned: row.Earned,
			Provisional: row.Provisional, Spent: row.Spent, Expired: row.Expired, Expiring: row.Expiring,
			Badge: badgeName(badges, row.Earned)}
		if cr.Identifiers == nil {
			cr.Identifiers = []ledger.Ident{}
		}
		if cr.Expiring == nil {
			cr.Expiring = []ledger.Expiring{}
		}
		out.Customers = append(out.Customers, cr)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// badgeName is the title of the badge a customer with earned points
// holds, or "".
func badgeName(badges []rules.Badge, earned int64) string {
	cur, _ := rules.BadgesFor(badges, earned)
	if len(cur) == 0 {
		return ""
	}
	return cur[0].Title
}

// adminGetCustomer shows one customer: identifiers, balance, badge.
func (s *Server) adminGetCustomer(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.adminAccount(r)
	if err != nil {
		return err
	}
	if _, err := checkQuery(r, allow()); err != nil {
		return err
	}
	ids, err := s.ledger.Identifiers(r.Context(), acct.Customer)
	if err != nil {
		return err
	}
	b, err := s.ledger.Balance(r.Context(), acct, time.Time{})
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []ledger.Ident{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"program": p.ID, "customer": acct.Customer, "identifiers": ids, "balance": b,
		"badge": badgeName(p.conf.Badges(), b.Earned),
	})
	return nil
}

// adjustBody is the body of a new adjustment.
type adjustBody struct {
	Points         int64  `json:"points"`
	Expires        string `json:"expires"`
	Note           string `json:"note"`
	Key            string `json:"key"`
	Preview        bool   `json:"preview"`
	CreateCustomer bool   `json:"create_customer"`
}

// adminAdjust adds an admin adjustment, or with preview shows the balance
// before and after it and saves nothing (SPEC 3.6).
func (s *Server) adminAdjust(w http.ResponseWriter, r *http.Request) error {
	p, acct, err := s.adminAccount(r)
	if err != nil {
		return err
	}
	var body adjustBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Points == 0 {
		return badRequest("points", "points must be a whole number other than 0: positive adds, negative takes")
	}
	var exp *time.Time
	if body.Expires != "" {
		if body.Points < 0 {
			return badRequest("expires", "only added points can carry an expiry; leave expires out for a negative adjustment")
		}
		d, err := adminDate("expires", body.Expires)
		if err != nil {
			return err
		}
		t := d.EndOfDay(p.Location)
		if !t.After(s.clock()) {
			return badRequest("expires", "expires %s is past: the points would expire at once (they expire at the end of that day, %s)",
				body.Expires, t.Format("2006-01-02 15:04 MST"))
		}
		exp = &t
	}
	meta, err := s.adminMeta(r, "adjust", body.Key, body.Note)
	if err != nil {
		return err
	}
	write := func(tx *ledger.Tx) (ledger.Result, error) {
		if body.CreateCustomer {
			if _, _, err := tx.EnsureCustomer(acct.Customer); err != nil {
				return ledger.Result{}, err
			}
		}
		return tx.Adjust(ledger.AdjustRequest{Account: acct, Meta: meta, Points: body.Points, Expires: exp})
	}
	if body.Preview {
		before, after, err := s.ledger.Preview(r.Context(), acct, func(tx *ledger.Tx) error { _, err := write(tx); return err })
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"before": before, "after": after, "saved": false})
		return nil
	}
	var res ledger.Result
	if err := s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = write(tx)
		return err
	}); err != nil {
		return err
	}
	s.log.Info("admin adjustment", zap.String("program", acct.Program), zap.String("customer", acct.Customer.Masked()),
		zap.Int64("points", body.Points), zap.Int64("movement", res.Main()), zap.String("actor", meta.Actor), zap.Bool("replayed", res.Replayed))
	return s.writeAdjustment(w, r, acct, res, http.StatusCreated)
}

// writeAdjustment answers an adjustment write with its movement and the
// balance now; a replay (same key and input) answers 200.
func (s *Server) writeAdjustment(w http.ResponseWriter, r *http.Request, acct ledger.Account, res ledger.Result, status int) error {
	b, err := s.ledger.Balance(r.Context(), acct, time.Time{})
	if err != nil {
		return err
	}
	if res.Replayed {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"movement": res.Main(), "replayed": res.Replayed, "balance": b})
	return nil
}

// adminMovement reads the {movement} path parameter.
func adminMovement(r *http.Request) (int64, error) {
	v := r.PathValue("movement")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("movement", "movement must be a movement id (a positive whole number), got %q", clipText(v, 20))
	}
	return id, nil
}

// changeBody is the body of an adjustment change.
type changeBody struct {
	Points int64  `json:"points"`
	Note   string `json:"note"`
	Key    string `json:"key"`
}

// adminChangeAdjustment sets an admin adjustment to new points with a
// correcting movement; other movements are refused (SPEC E11).
func (s *Server) adminChangeAdjustment(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.adminAccount(r)
	if err != nil {
		return err
	}
	id, err := adminMovement(r)
	if err != nil {
		return err
	}
	var body changeBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Points == 0 {
		return badRequest("points", "points must be the adjustment's new value, other than 0; to take it back entirely, DELETE it")
	}
	meta, err := s.adminMeta(r, "adjust-change", body.Key, body.Note)
	if err != nil {
		return err
	}
	var res ledger.Result
	if err := s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.ChangeAdjustment(ledger.ChangeRequest{Meta: meta, Movement: id, Points: body.Points, Account: acct})
		return err
	}); err != nil {
		return err
	}
	s.log.Info("admin adjustment changed", zap.String("program", acct.Program), zap.String("customer", acct.Customer.Masked()),
		zap.Int64("adjustment", id), zap.Int64("points", body.Points), zap.Int64("movement", res.Main()), zap.String("actor", meta.Actor))
	return s.writeAdjustment(w, r, acct, res, http.StatusOK)
}

// adminRemoveAdjustment takes an admin adjustment back with a correcting
// movement; key and note come in the query.
func (s *Server) adminRemoveAdjustment(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.adminAccount(r)
	if err != nil {
		return err
	}
	id, err := adminMovement(r)
	if err != nil {
		return err
	}
	q, err := checkQuery(r, allow("key", "note"))
	if err != nil {
		return err
	}
	meta, err := s.adminMeta(r, "adjust-remove", q.str("key"), q.str("note"))
	if err != nil {
		return err
	}
	var res ledger.Result
	if err := s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.RemoveAdjustment(ledger.RemoveRequest{Meta: meta, Movement: id, Account: acct})
		return err
	}); err != nil {
		return err
	}
	s.log.Info("admin adjustment removed", zap.String("program", acct.Program), zap.String("customer", acct.Customer.Masked()),
		zap.Int64("adjustment", id), zap.Int64("movement", res.Main()), zap.String("actor", meta.Actor))
	return s.writeAdjustment(w, r, acct, res, http.StatusOK)
}

// auditBody is the body of a customer reset.
type auditBody struct {
	Note string `json:"note"`
	Key  string `json:"key"`
}

// adminResetCustomer zeroes one customer's account; the history stays.
func (s *Server) adminResetCustomer(w http.ResponseWriter, r *http.Request) error {
	_, acct, err := s.adminAccount(r)
	if err != nil {
		return err
	}
	var body auditBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	meta, err := s.adminMeta(r, "reset-customer", body.Key, body.Note)
	if err != nil {
		return err
	}
	var res ledger.Result
	if err := s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.Reset(ledger.ResetRequest{Program: acct.Program, Customer: acct.Customer, Meta: meta})
		return err
	}); err != nil {
		return err
	}
	s.log.Warn("points reset", zap.String("program", acct.Program), zap.String("customer", acct.Customer.Masked()),
		zap.Int("written", res.Written), zap.String("actor", meta.Actor), zap.Bool("replayed", res.Replayed))
	b, err := s.ledger.Balance(r.Context(), acct, time.Time{})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": res.Accounts, "written": res.Written, "replayed": res.Replayed, "balance": b})
	return nil
}

// resetProgramBody is the body of a whole-program reset: confirm must
// repeat the program id.
type resetProgramBody struct {
	Confirm string `json:"confirm"`
	Note    string `json:"note"`
	Key     string `json:"key"`
}

// adminResetProgram zeroes every account of a program, once confirmed.
func (s *Server) adminResetProgram(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return err
	}
	var body resetProgramBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Confirm != p.ID {
		return badRequest("confirm", "resetting every customer of program %s cannot be undone: send \"confirm\": %q to confirm", p.ID, p.ID)
	}
	meta, err := s.adminMeta(r, "reset-program", body.Key, body.Note)
	if err != nil {
		return err
	}
	var res ledger.Result
	if err := s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.Reset(ledger.ResetRequest{Program: p.ID, Meta: meta})
		return err
	}); err != nil {
		return err
	}
	s.log.Warn("points reset", zap.String("program", p.ID), zap.Int("accounts", res.Accounts), zap.Int("written", res.Written),
		zap.String("actor", meta.Actor), zap.Bool("replayed", res.Replayed))
	writeJSON(w, http.StatusOK, map[string]any{"accounts": res.Accounts, "written": res.Written, "replayed": res.Replayed})
	return nil
}

// expiryBody is the body of an expiry change. Date is required: "" (not
// a missing field) removes expiry, so an empty body cannot do it by
// accident.
type expiryBody struct {
	Date            *string `json:"date"`
	Customer        string  `json:"customer"`
	IncludeNoExpiry bool    `json:"include_no_expiry"`
	Note            string  `json:"note"`
	Key             string  `json:"key"`
}

// adminExpiry dates again the usable points of a program or of one
// customer, or removes their expiry (SPEC 3.5, E9).
func (s *Server) adminExpiry(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adminProgramOf(r)
	if err != nil {
		return err
	}
	var body expiryBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Date == nil {
		return badRequest("date", "date is required: YYYY-MM-DD (points expire at the end of that day in the program's zone), or \"\" to remove expiry")
	}
	req := ledger.ExpiryRequest{Program: p.ID, IncludeNoExpiry: body.IncludeNoExpiry}
	if *body.Date != "" {
		d, err := adminDate("date", *body.Date)
		if err != nil {
			return err
		}
		t := d.EndOfDay(p.Location)
		if !t.After(s.clock()) {
			return badRequest("date", "date %s is past: every point would expire at once (points expire at the end of that day, %s)",
				*body.Date, t.Format("2006-01-02 15:04 MST"))
		}
		req.Expires = &t
	} else if body.IncludeNoExpiry {
		return badRequest("include_no_expiry", "include_no_expiry goes with a date: removing expiry leaves points without one as they are")
	}
	if body.Customer != "" {
		if req.Customer, err = parseIdent("customer", body.Customer); err != nil {
			return err
		}
	}
	if req.Meta, err = s.adminMeta(r, "expiry", body.Key, body.Note); err != nil {
		return err
	}
	var res ledger.Result
	if err := s.ledger.Update(r.Context(), func(tx *ledger.Tx) error {
		var err error
		res, err = tx.SetExpiry(req)
		return err
	}); err != nil {
		return err
	}
	s.log.Info("expiry set", zap.String("program", p.ID), zap.String("customer", req.Customer.Masked()), zap.String("date", *body.Date),
		zap.Int("lots", res.Lots), zap.String("actor", req.Actor), zap.Bool("replayed", res.Replayed))
	out := map[string]any{"accounts": res.Accounts, "lots": res.Lots, "replayed": res.Replayed, "expires": nil}
	if req.Expires != nil {
		out["expires"] = req.Expires.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
