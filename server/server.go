package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/reconcile"
)

// Options are what a Server works with.
type Options struct {
	Config *configs.Config
	Ledger *ledger.Ledger
	Engine *reconcile.Engine
	Logger *zap.Logger
	// Active reports whether this daemon holds the ledger (its lock file,
	// or on a shared MySQL ledger the lease); nil means always. /readyz
	// fails while it is false.
	Active func() bool
	// Clock is the time; nil means time.Now.
	Clock func() time.Time
	// Rand draws session ids, CSRF tokens and voucher codes; nil means
	// crypto/rand.
	Rand io.Reader
	// Registry is where the metrics are registered; nil makes a new one
	// with the Go runtime and process collectors.
	Registry *prometheus.Registry
}

// Server is the web server. Make it with New, then Serve or use Handler.
type Server struct {
	cfg     configs.Server
	conf    *configs.Config
	ledger  *ledger.Ledger
	engine  *reconcile.Engine
	log     *zap.Logger
	active  func() bool
	clock   func() time.Time
	rand    io.Reader
	tokens  []token
	mux     *http.ServeMux
	routes  []route
	metrics *metrics
	handler http.Handler
	// patterns are every pattern the mux serves (API, UI and the rest),
	// so that a test walks them all and no route escapes its access check.
	patterns []string
}

// route is one API route, as registered and as the OpenAPI document must
// describe it.
type route struct {
	Method  string
	Pattern string // net/http pattern without the method, e.g. /api/v1/programs/{program}/quote
	Scope   Scope
}

// handlerFunc is an API handler: an error it returns is written as JSON.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// New builds the server and its routes.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Ledger == nil || o.Engine == nil {
		return nil, errors.New("server: Config, Ledger and Engine are needed")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Active == nil {
		o.Active = func() bool { return true }
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	toks, err := loadTokens(o.Config.Server.Tokens)
	if err != nil {
		return nil, fmt.Errorf("server.tokens: %w", err)
	}
	s := &Server{
		cfg: o.Config.Server, conf: o.Config, ledger: o.Ledger, engine: o.Engine, log: o.Logger,
		active: o.Active, clock: o.Clock, rand: o.Rand, tokens: toks, mux: http.NewServeMux(),
	}
	if s.metrics, err = newMetrics(o.Registry, s); err != nil {
		return nil, err
	}
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	s.api("GET", "/readyz", ScopeRead, s.readyz)
	s.handle("GET /metrics", s.withAuth(ScopeRead, s.metrics.handler()))
	s.apiRoutes()
	if _, err := openAPIDocument(); err != nil {
		return nil, fmt.Errorf("server: the OpenAPI document: %w", err)
	}
	if err := s.uiRoutes(); err != nil {
		return nil, err
	}
	s.handle("/", http.HandlerFunc(s.notFound))
	s.handler = s.recoverPanics(s.metrics.instrument(securityHeaders(s.mux)))
	return s, nil
}

// Handler is the server's whole handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// api registers an API route: authenticated with at least scope, errors
// written as JSON.
func (s *Server) api(method, pattern string, scope Scope, h handlerFunc) {
	s.routes = append(s.routes, route{Method: method, Pattern: pattern, Scope: scope})
	s.handle(method+" "+pattern, s.withAuth(scope, s.jsonErrors(h)))
}

// handle registers h for pattern and records the pattern.
func (s *Server) handle(pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, h)
}

// jsonErrors writes the error a handler returns.
func (s *Server) jsonErrors(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError writes err as a JSON error; internal faults are logged with
// their cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Status >= 500 {
		s.log.Error("request failed", zap.String("method", r.Method), zap.String("route", r.Pattern),
			zap.String("caller", callerOf(r).Name), zap.Error(err))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pointsync"`)
	}
	writeJSON(w, e.Status, errorBody{Error: e})
}

type callerKey struct{}

// callerOf is the authenticated caller of r (zero when none).
func callerOf(r *http.Request) Caller {
	c, _ := r.Context().Value(callerKey{}).(Caller)
	return c
}

// actor names the caller in the ledger's audit columns.
func actor(r *http.Request) string {
	c := callerOf(r)
	if c.Name == "" {
		return "api"
	}
	return "api:" + c.Name
}

// withAuth lets a request through when it presents a token (or, for the
// UI, a session) with at least scope.
func (s *Server) withAuth(scope Scope, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			s.writeError(w, r, errorf(http.StatusUnauthorized, CodeUnauthorized, "Authorization",
				"this route needs a bearer token: send the header Authorization: Bearer <token>"))
			return
		}
		c, ok := s.authenticate(tok)
		if !ok {
			s.writeError(w, r, errorf(http.StatusUnauthorized, CodeUnauthorized, "Authorization", "the bearer token is not one of the configured tokens"))
			return
		}
		if c.Scope < scope {
			s.writeError(w, r, errorf(http.StatusForbidden, CodeForbidden, "Authorization",
				"token %s has scope %s; this route needs %s", c.Name, c.Scope, scope))
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, errorf(http.StatusNotFound, CodeNotFound, "", "no route %s %s; the API is described at /api/v1/openapi.json", r.Method, r.URL.Path))
}

// recoverPanics turns a handler's panic into a 500 and a log line with
// the stack, instead of a dropped connection.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in a request", zap.Any("panic", v), zap.String("path", r.URL.Path), zap.ByteString("stack", debug.Stack()))
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// securityHeaders are sent with every answer.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the ledger answers and this daemon holds it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.ledger.Ping(ctx); err != nil {
		s.log.Warn("readyz: the ledger does not answer", zap.Error(err))
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "", "the ledger does not answer: %v", err)
	}
	if !s.active() {
		return errorf(http.StatusServiceUnavailable, CodeNotActive, "", "this daemon is a standby: another one holds the ledger's lease")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// decodeJSON reads a JSON body of at most server.max_body bytes into v,
// refusing unknown fields and trailing data.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type", "send the body as application/json, not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, s.cfg.MaxBody)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, CodeBadJSON, "", "the body holds more than one JSON value")
	}
	return nil
}

// jsonError explains a decoding error, naming the field when it can.
func jsonError(err error, limit int64) *Error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "", "the body is larger than %d bytes (server.max_body)", limit)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, CodeBadJSON, "", "the body is empty: send a JSON object")
	case errors.As(err, &se):
		return errorf(http.StatusBadRequest, CodeBadJSON, "", "the body is not valid JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		field := te.Field
		return errorf(http.StatusBadRequest, CodeBadJSON, field, "field %s: expected %s, got JSON %s", field, te.Type, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errorf(http.StatusBadRequest, CodeBadJSON, field, "unknown field %q", field)
	}
	return errorf(http.StatusBadRequest, CodeBadJSON, "", "the body is not the JSON expected: %v", err)
}

// Serve answers on ln until ctx is done, then lets requests in flight
// finish for server.shutdown_timeout. With server.tls it serves HTTPS.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.cfg.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("server.tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("web server listening", zap.String("address", ln.Addr().String()), zap.Bool("tls", s.cfg.TLS.Enabled()))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close()
	}
	<-errc
	return err
}

// ListenAndServe listens on server.listen and serves until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	return s.Serve(ctx, ln)
}
