package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/daemon"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/notify"
	"github.com/pointsync/pointsync/reconcile"
	"github.com/pointsync/pointsync/rules"
	"github.com/pointsync/pointsync/server"
)

// defaultConfig is used when neither --config nor POINTSYNC_CONFIG is set.
const defaultConfig = "/etc/pointsync/pointsync.yaml"

// common are the flags most commands share.
type common struct {
	config   string
	logLevel string
	program  string
}

// registerProgram adds --program for commands that work on one program.
func (c *common) registerProgram(fs *flag.FlagSet) {
	fs.StringVar(&c.program, "program", "", "program id")
}

// openProgram opens the configuration and ledger and finds --program.
func (c *common) openProgram(ctx context.Context, stderr io.Writer) (*env, rules.Program, error) {
	e, err := c.open(ctx, stderr)
	if err != nil {
		return nil, rules.Program{}, err
	}
	p, err := e.program(c.program)
	if err != nil {
		e.Close()
		return nil, rules.Program{}, err
	}
	return e, p, nil
}

// audit are the flags of commands that change the ledger: who, why, and
// the idempotency key that makes a retried run harmless.
type audit struct {
	note, actor, key string
}

func (au *audit) register(fs *flag.FlagSet) {
	fs.StringVar(&au.note, "note", "", "note for the history")
	fs.StringVar(&au.actor, "actor", "", "who makes the change (default: cli:<user>)")
	fs.StringVar(&au.key, "key", "", "idempotency key: running again with the same key and input changes nothing (default: a new key every run)")
}

// meta is the audit part of an admin write; without --key every run is a
// new operation.
func (au *audit) meta(prefix string) ledger.Meta {
	m := ledger.Meta{Source: ledger.SourceAdmin, Key: au.key, Actor: actor(au.actor), Note: au.note}
	if m.Key == "" {
		m.Key = newKey(prefix)
	}
	return m
}

func (c *common) register(fs *flag.FlagSet) {
	def := os.Getenv("POINTSYNC_CONFIG")
	if def == "" {
		def = defaultConfig
	}
	fs.StringVar(&c.config, "config", def, "configuration file (or set POINTSYNC_CONFIG)")
	fs.StringVar(&c.logLevel, "log-level", "", "log level: debug, info, warn, error (default: warn for commands, the configured level for the daemon)")
}

// env is an opened configuration and ledger.
type env struct {
	cfg    *configs.Config
	ledger *ledger.Ledger
	log    *zap.Logger
	web    *server.Server // `run` with server.listen set
	// notifier writes the notifications' events (nil when none is on).
	notifier *notify.Notifier
}

func (e *env) Close() {
	if e.ledger != nil {
		e.ledger.Close()
	}
	_ = e.log.Sync()
}

func loadConfig(path string) (*configs.Config, error) {
	cfg, err := configs.Load(path)
	if err != nil {
		return nil, &configError{err: err}
	}
	return cfg, nil
}

// open loads the configuration and opens the ledger. Commands log at warn
// unless --log-level says otherwise: their output is the answer, not logs.
func (c *common) open(ctx context.Context, stderr io.Writer) (*env, error) {
	cfg, err := loadConfig(c.config)
	if err != nil {
		return nil, err
	}
	level := c.logLevel
	if level == "" {
		level = "warn"
	}
	log, err := newLogger(level, cfg.Log.Format, stderr)
	if err != nil {
		return nil, usagef("", "--log-level: %v", err)
	}
	progs, err := cfg.RulesPrograms()
	if err != nil {
		return nil, &configError{err: err}
	}
	var lp []ledger.Program
	for _, p := range progs {
		lp = append(lp, ledger.Program{ID: p.ID, Location: p.Location})
	}
	l, err := ledger.Open(ctx, ledger.Options{
		Backend:     cfg.Ledger.Driver,
		Path:        cfg.Ledger.Path,
		DSN:         cfg.Ledger.DSN.Reveal(),
		Synchronous: cfg.Ledger.Synchronous,
		CacheMiB:    cfg.Ledger.CacheMiB,
		BusyTimeout: cfg.Ledger.BusyTimeout,
		// A daemon stalled inside a transaction must not keep a standby
		// from taking the lease over for longer than the lease lasts.
		StallTimeout: cfg.Daemon.LeaseTTL,
		Programs:     lp,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, ledger: l, log: log}
	// Every command that writes announces what it earned: the events are
	// written in the movement's transaction, whoever writes it.
	if cfg.Notifications.Enabled() {
		if e.notifier, err = notify.New(notify.Options{Config: cfg, Ledger: l, Logger: log}); err != nil {
			l.Close()
			return nil, &configError{err: err}
		}
		l.SetNotifier(e.notifier.Hook())
		l.OnCommit(e.notifier.Committed)
	}
	return e, nil
}

// newLogger builds the structured logger; logs go to stderr so stdout
// stays the command's answer.
func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("unknown log level %q (use debug, info, warn or error)", level)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "time"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == "json" {
		enc = zapcore.NewJSONEncoder(encCfg)
	} else {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	// Locked: the daemon logs from many goroutines, and w may be any writer.
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)), nil
}

// program finds a configured program or explains which exist.
func (e *env) program(id string) (rules.Program, error) {
	if id == "" {
		return rules.Program{}, usagef("", "--program is required (configured: %s)", e.programIDs())
	}
	p, ok := e.cfg.Program(id)
	if !ok {
		return rules.Program{}, usagef("", "program %q is not in %s (configured: %s)", id, e.cfg.File(), e.programIDs())
	}
	return p, nil
}

func (e *env) programIDs() string {
	var ids []string
	for _, p := range e.cfg.Programs {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}

func customerFlag(s string) (ledger.Ident, error) {
	if s == "" {
		return "", usagef("", "--customer is required: web:ID, erp:CODE, card:NUMBER or email:ADDRESS")
	}
	id, err := ledger.ParseIdent(s)
	if err != nil {
		return "", usagef("", "--customer: %v", err)
	}
	return id, nil
}

// endOfDate reads an ISO date as the instant points dated so stop being
// usable: the start of the next day in the program's zone (SPEC 3.5).
func endOfDate(flagName, s string, p rules.Program) (*time.Time, error) {
	d, err := rules.ParseDate(s)
	if err != nil {
		return nil, usagef("", "%s: %v", flagName, err)
	}
	if d.IsZero() {
		return nil, nil
	}
	t := d.EndOfDay(p.Location)
	return &t, nil
}

// actor is who runs the command, for the audit trail.
func actor(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// newKey is an idempotency key for a command run without --key: every run
// is a new operation. Scripts that retry pass --key.
func newKey(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + ":" + time.Now().UTC().Format("20060102T150405") + ":" + hex.EncodeToString(b)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

// figure formats an amount in the program's unit for people: whole points,
// or money with two decimals.
func figure(p rules.Program, n int64) string {
	if p.Unit != rules.UnitAmount {
		return fmt.Sprintf("%d", n)
	}
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

// friendly turns ledger errors into messages that say what to do.
func friendly(err error) error {
	switch {
	case errors.Is(err, ledger.ErrUnknownCustomer):
		return fmt.Errorf("%w (link the identifier first, or pass --create-customer to create it)", err)
	}
	return err
}

// engine builds the reconciliation engine from the configured programs and
// their rules.
func (e *env) engine() (*reconcile.Engine, error) {
	eng, err := daemon.Engine(e.cfg)
	if err != nil {
		return nil, &configError{err: err}
	}
	return eng, nil
}
