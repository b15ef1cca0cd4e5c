package server

import (
	"bytes"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/rules"
)

// The admin web UI: server-rendered pages under /ui/, templates and assets
// embedded, no script or style inline (the CSP forbids them), every page
// usable without JavaScript. An admin logs in with an admin token; the
// session lives in memory, so a restart logs everybody out.

//go:embed ui/templates/*.html ui/static/app.css ui/static/app.js
var uiFiles embed.FS

// uiPages are the page templates; each defines "content" inside the layout.
var uiPages = []string{
	"login", "error", "customers", "customer", "customer_reset", "program", "program_expiry",
	"import_result", "prizes", "parked", "connectors", "reports",
}

// uiProgram is a configured program with the rules the pages show.
type uiProgram struct {
	ID, Name   string
	Rules      rules.Program
	Catalogs   []rules.Catalog
	Badges     []rules.Badge
	Redemption rules.RedemptionRules
	// Redeems tells that the program has redemption rules (a rate).
	Redeems bool
}

// Amount tells that the program counts money (cents), not points.
func (p *uiProgram) Amount() bool { return p.Rules.Unit == rules.UnitAmount }

// Label is the program's name, or its id when it has none.
func (p *uiProgram) Label() string {
	if p.Name != "" {
		return p.Name
	}
	return p.ID
}

// ui is the admin web UI's state.
type ui struct {
	s        *Server
	pages    map[string]*template.Template
	sessions *uiSessions
	programs []*uiProgram
	byID     map[string]*uiProgram
	origin   *http.CrossOriginProtection
	randMu   sync.Mutex
	refs     *uiRefs
}

// uiRoutes registers the admin web UI under /ui/ unless server.ui.disabled.
func (s *Server) uiRoutes() error {
	if s.cfg.UI.Disabled {
		return nil
	}
	u, err := newUI(s)
	if err != nil {
		return fmt.Errorf("admin web UI: %w", err)
	}
	static, err := fs.Sub(uiFiles, "ui/static")
	if err != nil {
		return err
	}
	files := http.StripPrefix("/ui/static/", http.FileServerFS(static))
	s.handle("GET /ui/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}))
	s.handle("GET /ui/{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/customers", http.StatusSeeOther)
	}))
	s.handle("GET /ui", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/customers", http.StatusSeeOther)
	}))
	s.handle("GET /ui/login", http.HandlerFunc(u.loginForm))
	s.handle("POST /ui/login", http.HandlerFunc(u.login))
	s.handle("POST /ui/logout", u.page(u.logout))

	s.handle("GET /ui/customers", u.page(u.customers))
	s.handle("GET /ui/customer", u.page(u.customer))
	s.handle("POST /ui/customer/adjust", u.page(u.adjust))
	s.handle("POST /ui/customer/adjustment/change", u.page(u.changeAdjustment))
	s.handle("POST /ui/customer/adjustment/remove", u.page(u.removeAdjustment))
	s.handle("GET /ui/customer/reset", u.page(u.customerResetForm))
	s.handle("POST /ui/customer/reset", u.page(u.customerReset))

	s.handle("GET /ui/program", u.page(u.program))
	s.handle("POST /ui/program/expiry", u.page(u.programExpiry))
	s.handle("POST /ui/program/reset", u.page(u.programReset))
	s.handle("POST /ui/program/import", u.upload(u.importFile))
	s.handle("GET /ui/program/export", u.page(u.exportFile))

	s.handle("GET /ui/prizes", u.page(u.prizes))
	s.handle("GET /ui/parked", u.page(u.parked))
	s.handle("GET /ui/connectors", u.page(u.connectors))
	s.handle("GET /ui/reports", u.page(u.reports))
	return nil
}

func newUI(s *Server) (*ui, error) {
	u := &ui{
		s:        s,
		sessions: newUISessions(s.cfg.UI.SessionTTL),
		byID:     map[string]*uiProgram{},
		origin:   http.NewCrossOriginProtection(),
	}
	for _, cp := range s.conf.Programs {
		p, err := newUIProgram(cp)
		if err != nil {
			return nil, err
		}
		u.programs = append(u.programs, p)
		u.byID[p.ID] = p
	}
	if _, ok := uiCatalogs[s.cfg.UI.Language]; !ok {
		return nil, fmt.Errorf("server.ui.language %q: use it or en", s.cfg.UI.Language)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	u.pages = pages
	if u.refs, err = newUIRefs(lockedReader{&u.randMu, s.rand}); err != nil {
		return nil, err
	}
	return u, nil
}

func newUIProgram(cp configs.Program) (*uiProgram, error) {
	rp, err := cp.Rules()
	if err != nil {
		return nil, err
	}
	cats, err := cp.Catalogs()
	if err != nil {
		return nil, err
	}
	red, ok, err := cp.RedemptionRules()
	if err != nil {
		return nil, err
	}
	return &uiProgram{ID: cp.ID, Name: cp.Name, Rules: rp, Catalogs: cats, Badges: cp.Badges(), Redemption: red, Redeems: ok}, nil
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(uiPages))
	for _, name := range uiPages {
		t, err := template.New(name).ParseFS(uiFiles, "ui/templates/layout.html", "ui/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// random is n random bytes from the server's source, base64url.
func (u *ui) random(n int) (string, error) {
	b := make([]byte, n)
	u.randMu.Lock()
	_, err := io.ReadFull(u.s.rand, b)
	u.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("admin web UI: draw random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// uiFunc is a page handler; an error it returns is shown as an error page.
type uiFunc func(w http.ResponseWriter, r *http.Request, v *uiView) error

// Request body limits of the UI's forms: a form is small; an import
// upload may be server.max_upload.
const uiMaxFormBody = 1 << 20

// page wraps a handler of a page that needs a session: without one, GET
// goes to the login page; a POST must come from this site and carry the
// session's CSRF token.
func (u *ui) page(h uiFunc) http.Handler { return u.wrap(h, uiMaxFormBody) }

// upload is page for a multipart form of up to server.max_upload bytes.
func (u *ui) upload(h uiFunc) http.Handler { return u.wrap(h, u.s.cfg.MaxUpload) }

func (u *ui) wrap(h uiFunc, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := u.newView(w, r)
		sess, ok := u.currentSession(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		v.signIn(sess)
		if r.Method == http.MethodPost {
			if err := u.checkPost(w, r, sess, limit); err != nil {
				u.renderError(w, r, v, err)
				return
			}
		}
		if err := v.selectProgram(r.FormValue("program")); err != nil {
			u.renderError(w, r, v, err)
			return
		}
		if err := h(w, r, v); err != nil {
			u.renderError(w, r, v, err)
		}
	})
}

// render writes page with v; the page is executed into a buffer first so
// a template error becomes an error page, not half a page.
func (u *ui) render(w http.ResponseWriter, v *uiView, status int, page string, data any) error {
	t, ok := u.pages[page]
	if !ok {
		return fmt.Errorf("admin web UI: no page %q", page)
	}
	v.Page, v.Data = page, data
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("admin web UI: page %s: %w", page, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w) // the browser went away; nothing to tell it
	return nil
}

// renderError shows err as an error page with the status it stands for.
func (u *ui) renderError(w http.ResponseWriter, r *http.Request, v *uiView, err error) {
	pe := v.explain(err)
	if pe.Status >= 500 {
		u.s.log.Error("admin web UI: request failed", zap.String("method", r.Method), zap.String("route", r.Pattern),
			zap.String("caller", v.User), zap.Error(err))
	}
	v.Error = pe
	if rerr := u.render(w, v, pe.Status, "error", nil); rerr != nil {
		u.s.log.Error("admin web UI: error page failed", zap.Error(rerr))
		http.Error(w, http.StatusText(pe.Status), pe.Status)
	}
}

// redirect sends the browser to path with query (Post/Redirect/Get: a
// reload does not post the form again).
func uiRedirect(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// safeNext is where to go after login: only a path of the UI itself, so
// the login page cannot send an admin elsewhere.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "/ui/login") || strings.ContainsAny(next, "\\\r\n") ||
		strings.Contains(next, "//") {
		return "/ui/customers"
	}
	return next
}

// errUICSRF is a form that does not carry its session's token or comes from
// another site.
var errUICSRF = errors.New("the form is not from this session: reload the page and submit it again")
