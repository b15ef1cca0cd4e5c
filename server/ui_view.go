package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/internal/mask"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// uiView is what every page template gets: the language and its messages,
// the session, the program chosen, and the page's own Data. Templates
// reach the helpers as methods ({{$.T "key"}}, {{$.Fig .Earned}}).
type uiView struct {
	u      *ui
	req    *http.Request
	Lang   string
	msgs   map[string]string
	loc    uiLocale
	Page   string
	Signed bool
	User   string
	CSRF   string
	// Program is the program the page is about; Programs all of them, for
	// the selector.
	Program  *uiProgram
	Programs []*uiProgram
	// Customer is kept by the program selector (the customer page).
	Customer string
	Flash    string // message key of what the last action did
	FlashN   int64  // a count the flash message shows
	Error    *uiPageError
	Data     any
}

// uiPageError is an error as a page shows it: a message in the page's
// language, and the ledger's own detail (English) when it helps.
type uiPageError struct {
	Status int
	Key    string
	Args   []any
	Detail string
}

// uiFormError is a mistake in a form or query, said in the user's language.
type uiFormError struct {
	status int // 0: 400
	key    string
	args   []any
}

func (e *uiFormError) Error() string { return fmt.Sprintf("%s %v", e.key, e.args) }

func uiFormErr(key string, args ...any) *uiFormError { return &uiFormError{key: key, args: args} }

// newView picks the language: ?lang= (remembered in a cookie), the
// cookie, or server.ui.language.
func (u *ui) newView(w http.ResponseWriter, r *http.Request) *uiView {
	lang := u.s.cfg.UI.Language
	if c, err := r.Cookie(uiLangCookie); err == nil {
		if _, ok := uiCatalogs[c.Value]; ok {
			lang = c.Value
		}
	}
	if q := r.URL.Query().Get("lang"); q != "" {
		if _, ok := uiCatalogs[q]; ok {
			lang = q
			http.SetCookie(w, &http.Cookie{Name: uiLangCookie, Value: q, Path: "/ui", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: u.secure(r), SameSite: http.SameSiteStrictMode})
		}
	}
	v := &uiView{u: u, req: r, Lang: lang, msgs: uiCatalogs[lang], loc: uiLocales[lang], Programs: u.programs}
	if len(u.programs) > 0 {
		v.Program = u.programs[0]
	}
	q := r.URL.Query()
	if f := q.Get("done"); f != "" {
		if _, ok := uiFlashes[f]; ok {
			v.Flash = "flash." + f
			v.FlashN, _ = strconv.ParseInt(q.Get("n"), 10, 64)
		}
	}
	return v
}

// uiFlashes are the outcomes a redirect may announce (?done=...); true
// for those whose message shows the count n.
var uiFlashes = map[string]bool{
	"adjusted": false, "changed": false, "removed": false, "replayed": false, "reset": false,
	"program_reset": true, "expiry": true,
}

func (v *uiView) signIn(s uiSession) {
	v.Signed, v.User, v.CSRF = true, s.caller.Name, s.csrf
}

// selectProgram sets the page's program; empty keeps the first one.
func (v *uiView) selectProgram(id string) error {
	if id == "" {
		return nil
	}
	p, ok := v.u.byID[id]
	if !ok {
		return &uiFormError{status: http.StatusNotFound, key: "err.unknown_program", args: []any{id}}
	}
	v.Program = p
	return nil
}

// T is the message key in the page's language, formatted with args. A
// missing key is an error: the page fails instead of showing a key.
func (v *uiView) T(key string, args ...any) (string, error) {
	m, ok := v.msgs[key]
	if !ok {
		return "", fmt.Errorf("message %q is missing in language %s", key, v.Lang)
	}
	if len(args) == 0 {
		return m, nil
	}
	return fmt.Sprintf(m, args...), nil
}

// Num is a whole number (any integer type) with the language's thousands
// separator.
func (v *uiView) Num(n any) string {
	switch x := n.(type) {
	case int:
		return v.loc.number(int64(x))
	case int64:
		return v.loc.number(x)
	case int32:
		return v.loc.number(int64(x))
	}
	return fmt.Sprint(n)
}

// Money is cents as money with two decimals.
func (v *uiView) Money(cents int64) string { return v.loc.money(cents) }

// Fig is a balance figure of the page's program: points, or money for an
// amount program.
func (v *uiView) Fig(n int64) string {
	if v.Program != nil && v.Program.Amount() {
		return v.loc.money(n)
	}
	return v.loc.number(n)
}

// Delta is Fig with an explicit sign, for movements.
func (v *uiView) Delta(n int64) string {
	if n > 0 {
		return "+" + v.Fig(n)
	}
	return v.Fig(n)
}

// FigInput is a figure as written back into a form field.
func (v *uiView) FigInput(n int64) string {
	if v.Program != nil && v.Program.Amount() {
		dec := csvio.DecimalComma
		if v.loc.decimal == "." {
			dec = csvio.DecimalPoint
		}
		return csvio.FormatCents(n, dec)
	}
	return fmt.Sprint(n)
}

// zone is the page's program's time zone.
func (v *uiView) zone() *time.Location {
	if v.Program != nil && v.Program.Rules.Location != nil {
		return v.Program.Rules.Location
	}
	return time.UTC
}

// Date is the day of t in the program's zone ("" for the zero time).
func (v *uiView) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(v.zone()).Format(v.loc.date)
}

// Time is t to the minute in the program's zone ("" for the zero time).
func (v *uiView) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(v.zone()).Format(v.loc.dateTime)
}

// Day writes a YYYY-MM-DD day in the language's form.
func (v *uiView) Day(s string) string {
	t, err := time.Parse(rules.DateLayout, s)
	if err != nil {
		return s
	}
	return t.Format(v.loc.date)
}

// RuleDate writes a configured date.
func (v *uiView) RuleDate(d rules.Date) string { return v.Day(d.String()) }

// ExpiryDay is the last day points expiring at t are usable.
func (v *uiView) ExpiryDay(t *time.Time) string {
	if t == nil {
		return ""
	}
	return v.Day(ledger.ExpiryDay(*t, v.zone()))
}

// Duration is d rounded to the second.
func (v *uiView) Duration(d time.Duration) string { return d.Round(time.Second).String() }

// Masked is an identifier fit for a page that must not show card numbers.
func (v *uiView) Masked(s string) string { return mask.Ident(s) }

// URL is path with the page's program and the pairs given (key, value,
// key, value ...); empty values are left out.
func (v *uiView) URL(path string, kv ...string) string {
	q := url.Values{}
	if v.Program != nil {
		q.Set("program", v.Program.ID)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return path + "?" + q.Encode()
}

// LangURL is the current page in language lang.
func (v *uiView) LangURL(lang string) string {
	q := v.req.URL.Query()
	q.Set("lang", lang)
	q.Del("done")
	q.Del("n")
	if q.Has("customer") && v.Customer != "" {
		q.Set("customer", v.Customer) // a typed card number goes on as a reference
	}
	p := v.req.URL.Path
	if v.req.Method != http.MethodGet || v.Page == "error" {
		// A page shown after a POST: switching goes to the page's GET form.
		q = url.Values{"lang": {lang}}
		if v.Program != nil && v.Signed {
			q.Set("program", v.Program.ID)
		}
		if v.Customer != "" {
			q.Set("customer", v.Customer)
		}
		p = v.PagePath()
		if !v.Signed {
			p = "/ui/login"
		}
	}
	return p + "?" + q.Encode()
}

// Langs are the languages offered, in a fixed order.
func (v *uiView) Langs() []string { return []string{"it", "en"} }

// FlashText is what the last action did, in the page's language.
func (v *uiView) FlashText() (string, error) {
	if v.Flash == "" {
		return "", nil
	}
	if uiFlashes[strings.TrimPrefix(v.Flash, "flash.")] {
		return v.T(v.Flash, v.Num(v.FlashN))
	}
	return v.T(v.Flash)
}

// Opt is the message prefix+s when the catalog has one, else s itself
// (data such as a reason the configuration or a connector made up).
func (v *uiView) Opt(prefix, s string) string {
	if m, ok := v.msgs[prefix+s]; ok && s != "" {
		return m
	}
	return s
}

// ReportKey writes a report row's key for grouping by.
func (v *uiView) ReportKey(by, key string) string {
	switch by {
	case ledger.ReportByDay:
		return v.Day(key)
	case ledger.ReportBySource:
		return v.Opt("source.", key)
	case ledger.ReportByReason:
		return v.Opt("reason.", key)
	case ledger.ReportByCustomer:
		return mask.Ident(key)
	}
	return key
}

// ExpiryPolicy describes the program's expiry rule.
func (v *uiView) ExpiryPolicy() (string, error) {
	e := v.Program.Rules.Expiry
	switch e.Kind {
	case rules.ExpiryFixedDate:
		return v.T("expiry_policy.fixed_date", v.RuleDate(e.Date))
	case rules.ExpiryDays:
		return v.T("expiry_policy.days", e.Days)
	}
	return v.T("expiry_policy.none")
}

// uiPagePaths are the GET pages the program selector and the language
// switch go to, by page.
var uiPagePaths = map[string]string{
	"customers": "/ui/customers", "customer": "/ui/customer", "customer_reset": "/ui/customer",
	"program": "/ui/program", "program_expiry": "/ui/program", "import_result": "/ui/program",
	"prizes": "/ui/prizes", "parked": "/ui/parked", "connectors": "/ui/connectors", "reports": "/ui/reports",
}

// PagePath is the GET page the program selector shows.
func (v *uiView) PagePath() string {
	if p, ok := uiPagePaths[v.Page]; ok {
		return p
	}
	return "/ui/customers"
}

// ErrorText is the page's error in its language.
func (v *uiView) ErrorText() (string, error) {
	if v.Error == nil {
		return "", nil
	}
	return v.T(v.Error.Key, v.Error.Args...)
}

// explain turns an error into what the page shows and the status.
func (v *uiView) explain(err error) *uiPageError {
	var fe *uiFormError
	if errors.As(err, &fe) {
		st := fe.status
		if st == 0 {
			st = http.StatusBadRequest
		}
		return &uiPageError{Status: st, Key: fe.key, Args: fe.args}
	}
	if errors.Is(err, errUICSRF) {
		return &uiPageError{Status: http.StatusForbidden, Key: "err.csrf"}
	}
	var ie *ledger.InsufficientError
	pe := &uiPageError{Detail: err.Error()}
	switch {
	case errors.As(err, &ie):
		pe.Status, pe.Key, pe.Args = http.StatusConflict, "err.insufficient", []any{v.Fig(ie.Asked), v.Fig(ie.Usable)}
	case errors.Is(err, ledger.ErrInsufficient):
		pe.Status, pe.Key = http.StatusConflict, "err.insufficient_plain"
	case errors.Is(err, ledger.ErrUnknownCustomer):
		pe.Status, pe.Key = http.StatusNotFound, "err.unknown_customer"
	case errors.Is(err, ledger.ErrUnknownProgram):
		id := ""
		if v.Program != nil {
			id = v.Program.ID
		}
		pe.Status, pe.Key, pe.Args = http.StatusNotFound, "err.unknown_program", []any{id}
	case errors.Is(err, ledger.ErrIdempotency):
		pe.Status, pe.Key = http.StatusConflict, "err.idempotency"
	case errors.Is(err, ledger.ErrNotAdjustment):
		pe.Status, pe.Key = http.StatusConflict, "err.not_adjustment"
	case errors.Is(err, ledger.ErrAlreadyFinal):
		pe.Status, pe.Key = http.StatusConflict, "err.already_final"
	case errors.Is(err, ledger.ErrUnknownMovement):
		pe.Status, pe.Key = http.StatusNotFound, "err.unknown_movement"
	case errors.Is(err, ledger.ErrLeaseLost):
		pe.Status, pe.Key, pe.Detail = http.StatusServiceUnavailable, "err.not_active", ""
	case errors.Is(err, ledger.ErrInvalid), errors.Is(err, rules.ErrInvalidDocument):
		pe.Status, pe.Key = http.StatusBadRequest, "err.invalid"
	default:
		if se := asError(err); se.Status < 500 {
			pe.Status, pe.Key = se.Status, "err.request"
			pe.Detail = se.Message
			break
		}
		pe.Status, pe.Key, pe.Detail = http.StatusInternalServerError, "err.internal", ""
	}
	return pe
}
