package ledger

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// CustomerQuery filters, sorts and pages the customer list of a program
// (SPEC 3.6).
type CustomerQuery struct {
	Program string
	// At is the instant balances are read at (zero: now), as in Balance.
	At time.Time
	// Search keeps customers with an identifier starting with it: with a
	// kind ("card:0042", "web:1", "email:ann") it matches that kind only,
	// without one ("0042") the value of any kind.
	Search string
	// Min and Max bound the figures, per column: earned, provisional,
	// spent, expired (both ends included).
	Min, Max map[string]int64
	// Sort is earned, provisional, spent, expired or customer (the
	// default: the customer's first identifier); Desc reverses it.
	Sort string
	Desc bool
	// Offset skips rows; Limit caps them (default 50, at most 1000).
	Offset, Limit int
}

// CustomerRow is one customer of the list with its balance.
type CustomerRow struct {
	// Customer is the customer's first-known identifier, the name the
	// program-wide listings use (EachBalance).
	Customer    Ident      `json:"customer"`
	Identifiers []Ident    `json:"identifiers"`
	Earned      int64      `json:"earned"`
	Provisional int64      `json:"provisional"`
	Spent       int64      `json:"spent"`
	Expired     int64      `json:"expired"`
	Expiring    []Expiring `json:"expiring"`
	// Badge is left empty by the ledger: callers fill it from the
	// program's badge ranges.
	Badge string `json:"badge,omitempty"`
}

// CustomerPage is one page of the customer list and how many customers
// match the query in all.
type CustomerPage struct {
	Rows  []CustomerRow `json:"rows"`
	Total int           `json:"total"`
}

// Customer list paging bounds.
const (
	defaultCustomerLimit = 50
	maxCustomerLimit     = 1000
)

// customerColumns are the figures a list can be filtered and sorted by, in
// the order they are selected.
var customerColumns = []string{"earned", "provisional", "spent", "expired"}

// customerExpr is the SQL of a column of the list for account a at the
// instant given as its argument (earned and expired read the lots as
// Balance does: a lot past its expiry is expired even before the sweep).
func customerExpr(col string, at int64) (string, []any) {
	switch col {
	case "earned":
		return "(SELECT COALESCE(SUM(l.remaining), 0) FROM lots l WHERE l.account_id = a.id AND l.expires_at > ? AND l.remaining > 0) - a.debt", []any{at}
	case "expired":
		return "a.expired + (SELECT COALESCE(SUM(l.remaining), 0) FROM lots l WHERE l.account_id = a.id AND l.expires_at <= ? AND l.remaining > 0)", []any{at}
	case "provisional", "spent":
		return "a." + col, nil
	default: // customer
		return firstIdent, nil
	}
}

// ListCustomers lists a program's customers with their balances, filtered,
// sorted and paged in the database: a page of a program of 100,000
// customers sorted by earned points reads no more than that page's rows
// into memory. The page and its total come from one snapshot.
func (l *Ledger) ListCustomers(ctx context.Context, q CustomerQuery) (CustomerPage, error) {
	p, err := l.Program(q.Program)
	if err != nil {
		return CustomerPage{}, err
	}
	at := q.At
	if at.IsZero() {
		at = l.clock()
	}
	if q.Offset < 0 {
		return CustomerPage{}, invalidf("offset %d is negative", q.Offset)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultCustomerLimit
	}
	limit = min(limit, maxCustomerLimit)
	sortCol := q.Sort
	if sortCol == "" {
		sortCol = "customer"
	}
	if sortCol != "customer" && !isCustomerColumn(sortCol) {
		return CustomerPage{}, invalidf("cannot sort customers by %q: use customer, earned, provisional, spent or expired", q.Sort)
	}
	for _, bounds := range []map[string]int64{q.Min, q.Max} {
		for col := range bounds {
			if !isCustomerColumn(col) {
				return CustomerPage{}, invalidf("cannot filter customers by %q: use earned, provisional, spent or expired", col)
			}
		}
	}
	ranges, err := searchRanges(q.Search)
	if err != nil {
		return CustomerPage{}, err
	}

	// The filters' columns are computed for every account of the
	// program, the sort's too for the page; the count needs only the
	// filters'. Each of earned and expired costs an index search in the
	// account's lots (lots_usable holds what they sum).
	filtered := map[string]bool{}
	for col := range q.Min {
		filtered[col] = true
	}
	for col := range q.Max {
		filtered[col] = true
	}
	var where []string
	var whereArgs []any
	for _, col := range customerColumns {
		if v, ok := q.Min[col]; ok {
			where = append(where, "c_"+col+" >= ?")
			whereArgs = append(whereArgs, v)
		}
		if v, ok := q.Max[col]; ok {
			where = append(where, "c_"+col+" <= ?")
			whereArgs = append(whereArgs, v)
		}
	}
	// from is the FROM clause over the program's accounts with the given
	// columns, and the filters; args are its arguments in order.
	from := func(cols map[string]bool) (string, []any) {
		inner := "SELECT a.id AS acct"
		var args []any
		for _, col := range append(append([]string{}, customerColumns...), "customer") {
			if !cols[col] {
				continue
			}
			expr, a := customerExpr(col, micros(at))
			inner += ", " + expr + " AS c_" + col
			args = append(args, a...)
		}
		inner += " FROM accounts a WHERE a.program = ?"
		args = append(args, p.ID)
		if len(ranges) > 0 {
			conds := make([]string, len(ranges))
			for i, r := range ranges {
				conds[i] = "(i.ident >= ? AND i.ident < ?)"
				args = append(args, r[0], r[1])
			}
			inner += " AND a.customer_id IN (SELECT i.customer_id FROM identifiers i WHERE " + strings.Join(conds, " OR ") + ")"
		}
		out := " FROM (" + inner + ") t"
		if len(where) > 0 {
			out += " WHERE " + strings.Join(where, " AND ")
		}
		return out, append(args, whereArgs...)
	}
	countFrom, countArgs := from(filtered)
	countSQL := "SELECT COUNT(*)" + countFrom
	sorted := maps.Clone(filtered)
	sorted[sortCol] = true
	pageFrom, pageArgs := from(sorted)
	dir := ""
	if q.Desc {
		dir = " DESC"
	}
	pageSQL := "SELECT acct" + pageFrom + " ORDER BY c_" + sortCol + dir + ", acct LIMIT ? OFFSET ?"
	pageArgs = append(pageArgs, limit, q.Offset)

	page := CustomerPage{Rows: []CustomerRow{}}
	err = l.read(ctx, func(rq querier) error {
		if err := rq.QueryRowContext(ctx, countSQL, countArgs...).Scan(&page.Total); err != nil {
			return fmt.Errorf("ledger: count customers of %s: %w", p.ID, err)
		}
		rows, err := rq.QueryContext(ctx, pageSQL, pageArgs...)
		if err != nil {
			return fmt.Errorf("ledger: list customers of %s: %w", p.ID, err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("ledger: list customers of %s: %w", p.ID, err)
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("ledger: list customers of %s: %w", p.ID, err)
		}
		page.Rows, err = customerRows(ctx, rq, p, ids, at)
		return err
	})
	if err != nil {
		return CustomerPage{}, err
	}
	return page, nil
}

func isCustomerColumn(col string) bool {
	for _, c := range customerColumns {
		if c == col {
			return true
		}
	}
	return false
}

// customerRows reads the balances and identifiers of the accounts ids,
// kept in that order, with three queries whatever the page size.
func customerRows(ctx context.Context, q querier, p Program, ids []int64, at time.Time) ([]CustomerRow, error) {
	out := make([]CustomerRow, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	idArgs := make([]any, len(ids))
	index := make(map[int64]int, len(ids))
	for i, id := range ids {
		idArgs[i] = id
		index[id] = i
	}
	byCustomer := map[int64][]int{}
	rows, err := q.QueryContext(ctx, "SELECT id, customer_id, provisional, spent, expired, debt FROM accounts WHERE id IN ("+marks+")", idArgs...)
	if err != nil {
		return nil, fmt.Errorf("ledger: read accounts: %w", err)
	}
	for rows.Next() {
		var id, cid, debt int64
		var r CustomerRow
		if err := rows.Scan(&id, &cid, &r.Provisional, &r.Spent, &r.Expired, &debt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ledger: read accounts: %w", err)
		}
		r.Earned = -debt
		r.Expiring, r.Identifiers = []Expiring{}, []Ident{}
		out[index[id]] = r
		byCustomer[cid] = append(byCustomer[cid], index[id])
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: read accounts: %w", err)
	}

	// The lots' part, as fillLots reads it for one account.
	rows, err = q.QueryContext(ctx, "SELECT account_id, expires_at, SUM(remaining) FROM lots WHERE account_id IN ("+marks+") AND remaining > 0 GROUP BY account_id, expires_at", idArgs...)
	if err != nil {
		return nil, fmt.Errorf("ledger: read lots: %w", err)
	}
	now := micros(at)
	byDay := make([]map[string]int64, len(ids))
	for rows.Next() {
		var acct, exp, n int64
		if err := rows.Scan(&acct, &exp, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ledger: read lots: %w", err)
		}
		i := index[acct]
		switch {
		case exp <= now:
			out[i].Expired += n
		case exp == neverExpires:
			out[i].Earned += n
		default:
			out[i].Earned += n
			if byDay[i] == nil {
				byDay[i] = map[string]int64{}
			}
			byDay[i][ExpiryDay(fromMicros(exp), p.Location)] += n
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: read lots: %w", err)
	}
	for i, days := range byDay {
		for d, n := range days {
			out[i].Expiring = append(out[i].Expiring, Expiring{Date: d, Points: n})
		}
		sort.Slice(out[i].Expiring, func(a, b int) bool { return out[i].Expiring[a].Date < out[i].Expiring[b].Date })
	}

	cids := make([]any, 0, len(byCustomer))
	for cid := range byCustomer {
		cids = append(cids, cid)
	}
	cmarks := strings.TrimSuffix(strings.Repeat("?, ", len(cids)), ", ")
	rows, err = q.QueryContext(ctx, "SELECT customer_id, ident FROM identifiers WHERE customer_id IN ("+cmarks+") ORDER BY customer_id, created_at, ident", cids...)
	if err != nil {
		return nil, fmt.Errorf("ledger: read identifiers: %w", err)
	}
	for rows.Next() {
		var cid int64
		var s string
		if err := rows.Scan(&cid, &s); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ledger: read identifiers: %w", err)
		}
		for _, i := range byCustomer[cid] {
			out[i].Identifiers = append(out[i].Identifiers, Ident(s))
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: read identifiers: %w", err)
	}
	for i := range out {
		if len(out[i].Identifiers) > 0 {
			out[i].Customer = out[i].Identifiers[0]
		}
	}
	return out, nil
}

// identKinds are the kinds a search without a kind looks in.
var identKinds = []string{IdentCard, IdentEmail, IdentERP, IdentWeb}

// searchRanges turns a customer search into ranges [from, to) of
// canonical identifiers: every identifier starting with the search (in
// its kind, or in any kind) falls in one of them, so the identifiers'
// primary key answers the search on both backends without LIKE, whose
// case rules differ between them.
func searchRanges(s string) ([][2]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if len(s) > maxIdentValue+len(IdentEmail)+1 {
		return nil, invalidf("search is longer than %d bytes: no identifier starts with it", maxIdentValue+len(IdentEmail)+1)
	}
	if !utf8.ValidString(s) {
		return nil, invalidf("search is not valid text")
	}
	kinds, value := identKinds, s
	if k, v, ok := strings.Cut(s, ":"); ok {
		k = strings.ToLower(strings.TrimSpace(k))
		for _, known := range identKinds {
			if k == known {
				kinds, value = []string{k}, strings.TrimSpace(v)
			}
		}
	}
	out := make([][2]string, 0, len(kinds))
	for _, k := range kinds {
		v := value
		if k == IdentEmail {
			v = strings.ToLower(v) // stored lower-cased (ParseIdent)
		}
		prefix := k + ":" + v
		out = append(out, [2]string{prefix, prefixEnd(prefix)})
	}
	return out, nil
}

// prefixEnd is the least string greater than every string starting with
// prefix, in code-point order (SQLite's BINARY and MySQL's utf8mb4_bin
// order): prefix with its last character raised by one.
func prefixEnd(prefix string) string {
	runes := []rune(prefix)
	for i := len(runes) - 1; i >= 0; i-- {
		switch r := runes[i]; {
		case r == utf8.MaxRune:
			continue
		case r == 0xD7FF: // the next character after the surrogates
			runes[i] = 0xE000
		default:
			runes[i] = r + 1
		}
		return string(runes[:i+1])
	}
	// A prefix of nothing but the last character: no upper bound exists
	// below it; its own end is as good as any (no identifier holds it).
	return prefix + string(utf8.MaxRune)
}
