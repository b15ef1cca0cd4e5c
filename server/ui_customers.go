package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// uiCustomersPerPage is the customer list's page size.
const uiCustomersPerPage = 50

// uiCustomerColumns are the balance columns of the list, each with a min and
// max filter and a sort link.
var uiCustomerColumns = []string{"earned", "provisional", "spent", "expired"}

// uiCustomersPage is the customer list's data.
type uiCustomersPage struct {
	Search  string
	Columns []uiListColumn
	Sort    string
	Desc    bool
	Rows    []uiCustomerListRow
	Total   int
	// First and Last number the rows shown (1-based); Prev and Next are the
	// other pages' links, "" when there is none.
	First, Last int
	Prev, Next  string
	// SortCustomer is the identifier column's sort link.
	SortCustomer string
}

// uiListColumn is a figure column with its filter as typed and sort link.
type uiListColumn struct {
	Name     string
	Min, Max string
	SortURL  string
	// Sorted is "", "asc" or "desc".
	Sorted string
}

// uiCustomerListRow is a customer of the list.
type uiCustomerListRow struct {
	ledger.CustomerRow
	URL  string
	Next *ledger.Expiring
}

// customers lists the program's customers, filtered, sorted and paged.
func (u *ui) customers(w http.ResponseWriter, r *http.Request, v *uiView) error {
	qv := r.URL.Query()
	q := ledger.CustomerQuery{
		Program: v.Program.ID, Search: strings.TrimSpace(qv.Get("q")),
		Min: map[string]int64{}, Max: map[string]int64{},
		Sort: qv.Get("sort"), Desc: qv.Get("desc") == "1", Limit: uiCustomersPerPage,
	}
	switch q.Sort {
	case "earned", "provisional", "spent", "expired", "customer":
	default:
		q.Sort = "customer"
	}
	page, _ := strconv.Atoi(qv.Get("page"))
	page = max(page, 1)
	q.Offset = (page - 1) * uiCustomersPerPage
	pg := uiCustomersPage{Search: q.Search, Sort: q.Sort, Desc: q.Desc}
	// base is the query the sort and paging links keep.
	base := url.Values{"program": {v.Program.ID}}
	if q.Search != "" {
		base.Set("q", q.Search)
	}
	var ferr error
	for _, c := range uiCustomerColumns {
		col := uiListColumn{Name: c, Min: strings.TrimSpace(qv.Get("min_" + c)), Max: strings.TrimSpace(qv.Get("max_" + c))}
		for _, f := range []struct {
			text string
			into map[string]int64
			key  string
		}{{col.Min, q.Min, "min_" + c}, {col.Max, q.Max, "max_" + c}} {
			if f.text == "" {
				continue
			}
			n, err := v.parseFigure(f.text)
			if err != nil {
				ferr = err
				continue
			}
			f.into[c] = n
			base.Set(f.key, f.text)
		}
		pg.Columns = append(pg.Columns, col)
	}
	if ferr != nil {
		v.Error = v.explain(ferr)
		return u.render(w, v, http.StatusBadRequest, "customers", pg)
	}
	sortURL := func(col string) (string, string) {
		s := uiCloneValues(base)
		s.Set("sort", col)
		state := ""
		if q.Sort == col {
			state = "asc"
			if q.Desc {
				state = "desc"
			} else {
				s.Set("desc", "1")
			}
		}
		return "/ui/customers?" + s.Encode(), state
	}
	for i := range pg.Columns {
		pg.Columns[i].SortURL, pg.Columns[i].Sorted = sortURL(pg.Columns[i].Name)
	}
	pg.SortCustomer, _ = sortURL("customer")

	res, err := u.s.ledger.ListCustomers(r.Context(), q)
	if err != nil {
		return err
	}
	pg.Total = res.Total
	for _, row := range res.Rows {
		ref, err := u.refs.ref(row.Customer)
		if err != nil {
			return err
		}
		cr := uiCustomerListRow{CustomerRow: row, URL: v.URL("/ui/customer", "customer", ref)}
		if len(row.Expiring) > 0 {
			cr.Next = &row.Expiring[0]
		}
		current, _ := rules.BadgesFor(v.Program.Badges, row.Earned)
		if len(current) > 0 {
			cr.Badge = current[0].Title
		}
		pg.Rows = append(pg.Rows, cr)
	}
	if len(pg.Rows) > 0 {
		pg.First, pg.Last = q.Offset+1, q.Offset+len(pg.Rows)
	}
	pageURL := func(n int) string {
		s := uiCloneValues(base)
		if q.Sort != "customer" {
			s.Set("sort", q.Sort)
		}
		if q.Desc {
			s.Set("desc", "1")
		}
		if n > 1 {
			s.Set("page", strconv.Itoa(n))
		}
		return "/ui/customers?" + s.Encode()
	}
	if page > 1 {
		pg.Prev = pageURL(page - 1)
	}
	if q.Offset+len(res.Rows) < res.Total {
		pg.Next = pageURL(page + 1)
	}
	return u.render(w, v, http.StatusOK, "customers", pg)
}

func uiCloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
