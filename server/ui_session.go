package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Cookies of the admin web UI.
const (
	uiSessionCookie = "pointsync_session"
	// uiLoginCookie holds the login form's CSRF token (double submit: the
	// form must echo it), before there is a session to hold one.
	uiLoginCookie = "pointsync_login"
	uiLangCookie  = "pointsync_lang"
)

// uiSession is one logged-in admin.
type uiSession struct {
	caller   Caller
	csrf     string
	lastSeen time.Time
}

// uiSessions are kept in memory by the SHA-256 of their id, so the map is
// never searched with the secret itself.
type uiSessions struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[[sha256.Size]byte]*uiSession
}

func newUISessions(ttl time.Duration) *uiSessions {
	if ttl <= 0 {
		ttl = 8 * time.Hour
	}
	return &uiSessions{ttl: ttl, m: map[[sha256.Size]byte]*uiSession{}}
}

// add stores a session under id; sessions idle past their time go.
func (st *uiSessions) add(id string, s uiSession) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, old := range st.m {
		if s.lastSeen.Sub(old.lastSeen) >= st.ttl {
			delete(st.m, k)
		}
	}
	st.m[sha256.Sum256([]byte(id))] = &s
}

// get finds a live session and marks it used at now.
func (st *uiSessions) get(id string, now time.Time) (uiSession, bool) {
	if id == "" {
		return uiSession{}, false
	}
	k := sha256.Sum256([]byte(id))
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[k]
	if !ok {
		return uiSession{}, false
	}
	if now.Sub(s.lastSeen) >= st.ttl {
		delete(st.m, k)
		return uiSession{}, false
	}
	s.lastSeen = now
	return *s, true
}

func (st *uiSessions) remove(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, sha256.Sum256([]byte(id)))
}

// secure tells whether cookies get the Secure flag: over TLS, or when TLS
// ends at a proxy in front (server.ui.secure_cookie).
func (u *ui) secure(r *http.Request) bool { return r.TLS != nil || u.s.cfg.UI.SecureCookie }

func (u *ui) currentSession(r *http.Request) (uiSession, bool) {
	c, err := r.Cookie(uiSessionCookie)
	if err != nil {
		return uiSession{}, false
	}
	return u.sessions.get(c.Value, u.s.clock())
}

// checkPost reads a POST form (at most limit bytes) and checks that it
// comes from this site and carries the session's CSRF token.
func (u *ui) checkPost(w http.ResponseWriter, r *http.Request, s uiSession, limit int64) error {
	if err := u.origin.Check(r); err != nil {
		return errUICSRF
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(8 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &uiFormError{status: http.StatusRequestEntityTooLarge, key: "err.too_large", args: []any{limit}}
		}
		return &uiFormError{key: "err.bad_form"}
	}
	if !uiSameSecret(r.PostForm.Get("csrf"), s.csrf) {
		return errUICSRF
	}
	return nil
}

// uiSameSecret compares a presented secret with the expected one in
// constant time; an empty one never matches.
func uiSameSecret(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// uiLoginView is the login page's data.
type uiLoginView struct {
	CSRF, Next string
	Failed     string // message key of why the last attempt failed
}

// loginForm shows the login page; with a session it goes straight on.
func (u *ui) loginForm(w http.ResponseWriter, r *http.Request) {
	v := u.newView(w, r)
	if _, ok := u.currentSession(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	u.showLogin(w, r, v, http.StatusOK, r.URL.Query().Get("next"), "")
}

func (u *ui) showLogin(w http.ResponseWriter, r *http.Request, v *uiView, status int, next, failed string) {
	tok := ""
	if c, err := r.Cookie(uiLoginCookie); err == nil && len(c.Value) == 43 {
		tok = c.Value
	} else {
		var err error
		if tok, err = u.random(32); err != nil {
			u.renderError(w, r, v, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: uiLoginCookie, Value: tok, Path: "/ui/login", MaxAge: 3600,
		HttpOnly: true, Secure: u.secure(r), SameSite: http.SameSiteStrictMode})
	if err := u.render(w, v, status, "login", uiLoginView{CSRF: tok, Next: next, Failed: failed}); err != nil {
		u.renderError(w, r, v, err)
	}
}

// login checks the token typed in the login form: it must be an admin
// token. The form must come from this site and echo the login cookie.
func (u *ui) login(w http.ResponseWriter, r *http.Request) {
	v := u.newView(w, r)
	if err := u.origin.Check(r); err != nil {
		u.renderError(w, r, v, errUICSRF)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, uiMaxFormBody)
	if err := r.ParseForm(); err != nil {
		u.renderError(w, r, v, &uiFormError{key: "err.bad_form"})
		return
	}
	c, err := r.Cookie(uiLoginCookie)
	if err != nil || !uiSameSecret(r.PostForm.Get("csrf"), c.Value) {
		u.renderError(w, r, v, errUICSRF)
		return
	}
	next := r.PostForm.Get("next")
	caller, ok := u.s.authenticate(strings.TrimSpace(r.PostForm.Get("token")))
	switch {
	case !ok:
		u.s.log.Warn("admin web UI: login with an unknown token", zap.String("remote", r.RemoteAddr))
		u.showLogin(w, r, v, http.StatusUnauthorized, next, "login.failed_unknown")
		return
	case caller.Scope < ScopeAdmin:
		u.s.log.Warn("admin web UI: login with a token without the admin scope", zap.String("remote", r.RemoteAddr), zap.String("token", caller.Name))
		u.showLogin(w, r, v, http.StatusForbidden, next, "login.failed_scope")
		return
	}
	id, err := u.random(32)
	if err != nil {
		u.renderError(w, r, v, err)
		return
	}
	csrf, err := u.random(32)
	if err != nil {
		u.renderError(w, r, v, err)
		return
	}
	u.sessions.add(id, uiSession{caller: caller, csrf: csrf, lastSeen: u.s.clock()})
	u.s.log.Info("admin web UI: login", zap.String("token", caller.Name), zap.String("remote", r.RemoteAddr))
	http.SetCookie(w, &http.Cookie{Name: uiSessionCookie, Value: id, Path: "/ui", HttpOnly: true, Secure: u.secure(r), SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: uiLoginCookie, Path: "/ui/login", MaxAge: -1, HttpOnly: true, Secure: u.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// logout ends the session.
func (u *ui) logout(w http.ResponseWriter, r *http.Request, v *uiView) error {
	if c, err := r.Cookie(uiSessionCookie); err == nil {
		u.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: uiSessionCookie, Path: "/ui", MaxAge: -1, HttpOnly: true, Secure: u.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}
