// Package sqlsource reads facts from a database with a query the
// operator writes (the ERP on SQL Server, the web shop on MySQL), and
// writes balances back into a shop's table (Table).
//
// The query takes :limit and, for each cursor column C, :last_C: it
// returns at most :limit rows after the cursor, ordered by the cursor
// columns, one row per line of an order, document or receipt. Each row's
// columns are read as text in the source's notation and mapped to facts
// by a mapping.Mapper, exactly as the rows of a drop file. A batch never
// ends inside a group of lines or between rows sharing a cursor value,
// so that the next query, which starts strictly after the stored cursor,
// misses nothing. See README.md for operators.
package sqlsource

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	mssql "github.com/microsoft/go-mssqldb"
	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/connectors/sqlquery"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

// Drivers.
const (
	DriverSQLServer = sqlquery.DriverSQLServer // github.com/microsoft/go-mssqldb
	DriverMySQL     = sqlquery.DriverMySQL     // github.com/go-sql-driver/mysql
)

// Placeholders of a query: the batch size and, per cursor column, its
// last value.
const (
	LimitPlaceholder  = "limit"
	CursorPlaceholder = "last_" // followed by the cursor column's name
)

// DefaultTimeout bounds one query when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Bounds of the rows one Fetch reads when a batch of limit rows has no
// place to end (one document, or one cursor value, fills it): the query
// runs again with twice the limit, up to maxGrowth times the limit and
// at most maxRows rows.
const (
	maxGrowth = 64
	maxRows   = 200_000
)

// Options configure a Source.
type Options struct {
	Name   string // connector name, in messages and Record.Origin
	Driver string // DriverSQLServer or DriverMySQL
	DSN    string // never put in an error or a log: it holds a password
	// Query must use :limit and :last_<column> for each cursor column,
	// and no other placeholder.
	Query  string
	Cursor []CursorColumn
	// Columns maps a logical field to the result column it is read from;
	// a field not listed is read from the column of its own name, if the
	// result has one. Names are matched exactly, else ignoring case.
	Columns map[string]string
	// Mapping makes facts of the rows. Its Decimal is always
	// csvio.DecimalPoint (drivers write numbers so), and the layouts of
	// the times this package writes are tried before its DateFormats.
	Mapping mapping.Spec
	Timeout time.Duration // per query; 0 = DefaultTimeout
	Logger  *zap.Logger
}

// CursorColumn is one column of the cursor.
type CursorColumn struct {
	Column string // result column
	Type   string // CursorInt, CursorTime, CursorText or CursorBinary (a rowversion read raw)
	// Start is the value before the first row; "" is 0,
	// 1900-01-01 00:00:00, "" or 0x0000000000000000.
	Start string
}

// field is a logical field and the result column it is read from.
type field struct {
	name     string
	column   string
	explicit bool // configured in Columns, so the result must have it
	kind     mapping.Kind
	required bool
}

// Source reads facts with an operator's query. It is safe for concurrent
// use.
type Source struct {
	name    string
	driver  string
	dsn     string
	db      *sql.DB
	text    string   // the query rewritten for the driver
	params  []string // the placeholder of each parameter, in order (SQL Server: named)
	cursor  []cursorCol
	fields  []field
	spec    mapping.Spec
	timeout time.Duration
	log     *zap.Logger
}

var (
	_ connectors.Source = (*Source)(nil)
	_ connectors.Prober = (*Source)(nil)
	_ connectors.Closer = (*Source)(nil)
)

// New checks the options, everything that can be known without
// connecting, and opens the connection pool (which connects at the first
// query).
func New(o Options) (*Source, error) {
	fail := func(err error) (*Source, error) { return nil, fmt.Errorf("sql %q: %w", o.Name, err) }
	if strings.TrimSpace(o.Name) == "" {
		return nil, errors.New("sql connector: the name is empty")
	}
	s := &Source{name: o.Name, driver: o.Driver, dsn: o.DSN, timeout: o.Timeout, log: o.Logger}
	switch o.Driver {
	case DriverSQLServer, DriverMySQL:
	default:
		return fail(fmt.Errorf("driver %q: use %s (SQL Server) or %s (MySQL, MariaDB)", o.Driver, DriverSQLServer, DriverMySQL))
	}
	if strings.TrimSpace(o.DSN) == "" {
		return fail(errors.New("the DSN is empty: give the database's address and credentials"))
	}
	switch {
	case s.timeout < 0:
		return fail(fmt.Errorf("timeout %s is negative: leave it 0 for %s", s.timeout, DefaultTimeout))
	case s.timeout == 0:
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if err := s.setCursor(o.Cursor); err != nil {
		return fail(err)
	}
	if err := s.setQuery(o.Query); err != nil {
		return fail(err)
	}
	if err := s.setMapping(o.Mapping, o.Columns); err != nil {
		return fail(err)
	}
	db, err := open(o.Driver, o.DSN)
	if err != nil {
		return fail(s.scrub(err))
	}
	s.db = db
	return s, nil
}

func (s *Source) setCursor(cols []CursorColumn) error {
	if len(cols) == 0 {
		return errors.New("no cursor column: name the result column(s) the query orders by, e.g. a rowversion, or updated_at and id")
	}
	seen := map[string]bool{}
	for i, c := range cols {
		if c.Column == "" {
			return fmt.Errorf("cursor column %d: the column name is empty", i+1)
		}
		for j := 0; j < len(c.Column); j++ {
			b := c.Column[j]
			if b != '_' && (b < 'a' || b > 'z') && (b < 'A' || b > 'Z') && (b < '0' || b > '9') {
				return fmt.Errorf("cursor column %q: use a plain name of letters, digits and _ (give the column such an alias in the query), since the query refers to its last value as :%sCOLUMN",
					c.Column, CursorPlaceholder)
			}
		}
		if seen[strings.ToLower(c.Column)] {
			return fmt.Errorf("cursor column %s is listed twice", c.Column)
		}
		seen[strings.ToLower(c.Column)] = true
		cc, err := newCursorCol(c)
		if err != nil {
			return err
		}
		s.cursor = append(s.cursor, cc)
	}
	return nil
}

// setQuery checks the placeholders and rewrites the query for the
// driver.
func (s *Source) setQuery(text string) error {
	q, err := sqlquery.Parse(text)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	allowed := []string{LimitPlaceholder}
	for _, c := range s.cursor {
		allowed = append(allowed, CursorPlaceholder+c.column)
	}
	names := q.Names()
	for _, n := range names {
		if !slices.Contains(allowed, n) {
			return fmt.Errorf("query: placeholder :%s is not allowed: a query takes only %s", n, placeholderList(allowed))
		}
	}
	for _, n := range allowed {
		if !slices.Contains(names, n) {
			return fmt.Errorf("query: it does not use :%s; it must read only the rows after the cursor (%s), ordered by the cursor columns, and at most :limit of them (TOP (:limit) on SQL Server, LIMIT :limit on MySQL)",
				n, placeholderList(allowed[1:]))
		}
	}
	s.text, s.params, err = q.For(s.driver)
	return err
}

func placeholderList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ":" + n
	}
	return strings.Join(out, ", ")
}

// setMapping checks the mapping and the field columns.
func (s *Source) setMapping(spec mapping.Spec, columns map[string]string) error {
	spec.Decimal = csvio.DecimalPoint
	// The times this package writes come first, so that a layout the
	// operator gave for text columns cannot misread them.
	own := []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02"}
	if len(spec.DateFormats) == 0 {
		spec.DateFormats = mapping.DefaultDateFormats
	}
	formats := slices.Clone(own)
	for _, l := range spec.DateFormats {
		if !slices.Contains(formats, l) {
			formats = append(formats, l)
		}
	}
	spec.DateFormats = formats
	m, err := mapping.NewMapper(spec)
	if err != nil {
		return fmt.Errorf("mapping: %w", err)
	}
	s.spec = m.Spec()
	fs, err := mapping.Fields(spec.Type)
	if err != nil {
		return fmt.Errorf("mapping: %w", err)
	}
	known := map[string]bool{}
	var names []string
	for _, f := range fs {
		known[f.Name] = true
		names = append(names, f.Name)
	}
	for _, k := range sortedKeys(columns) {
		if !known[k] {
			return fmt.Errorf("columns: %q is not a field of %s facts (%s)", k, spec.Type, strings.Join(names, ", "))
		}
		if strings.TrimSpace(columns[k]) == "" {
			return fmt.Errorf("columns: %s: the column name is empty", k)
		}
	}
	for _, f := range fs {
		col, explicit := columns[f.Name]
		if !explicit {
			col = f.Name
		}
		s.fields = append(s.fields, field{name: f.Name, column: col, explicit: explicit, kind: f.Kind, required: f.Required})
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// open makes the connection pool. MySQL reads times as UTC wall-clock
// values, in a session whose time zone is UTC (unless the DSN sets
// time_zone), and keeps server-side prepared statements, so that
// parameters are never written into the SQL text.
func open(driver, dsn string) (*sql.DB, error) {
	var db *sql.DB
	switch driver {
	case DriverMySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("the DSN is not a MySQL DSN such as user:password@tcp(host:3306)/database: %w", err)
		}
		cfg.ParseTime = true
		cfg.Loc = time.UTC
		cfg.InterpolateParams = false
		// TIMESTAMP columns are read in the session's zone: UTC, so that
		// they are the instants they store whatever the server's zone.
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		if _, set := cfg.Params["time_zone"]; !set {
			cfg.Params["time_zone"] = "'+00:00'"
		}
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("the DSN is not usable: %w", err)
		}
		db = sql.OpenDB(c)
	default:
		c, err := mssql.NewConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("the DSN is not a SQL Server DSN such as sqlserver://user:password@host:1433?database=ERP: %w", err)
		}
		db = sql.OpenDB(c)
	}
	// A connector runs one query at a time; a second connection serves
	// a probe while a fetch runs.
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return db, nil
}

// Close closes the connection pool.
func (s *Source) Close() error {
	return s.db.Close()
}

// scrub removes the DSN and its password from an error's text: driver
// messages may quote what they could not parse.
func (s *Source) scrub(err error) error {
	return scrubDSN(err, s.dsn)
}

func scrubDSN(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, secret := range secretsOf(dsn) {
		clean = strings.ReplaceAll(clean, secret, "***")
	}
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

// scrubbed is an error whose text had secrets removed; Unwrap keeps the
// original for errors.Is, never for printing.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// secretsOf lists what must not appear in messages: the DSN itself and
// the password it holds, in each DSN form (URL, MySQL, key=value).
func secretsOf(dsn string) []string {
	out := []string{dsn}
	add := func(s string) {
		if len(s) >= 3 && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	// user:password@... (URL and MySQL forms): the password is between
	// the first ':' after the scheme and the last '@' before the host.
	rest := dsn
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		userinfo := rest[:at]
		if _, pw, ok := strings.Cut(userinfo, ":"); ok {
			add(pw)
			if u, err := url.PathUnescape(pw); err == nil {
				add(u)
			}
		}
	}
	// password=...; (ADO form and URL query).
	lower := strings.ToLower(dsn)
	for _, key := range []string{"password=", "pwd="} {
		for from := 0; ; {
			i := strings.Index(lower[from:], key)
			if i < 0 {
				break
			}
			start := from + i + len(key)
			end := strings.IndexAny(dsn[start:], ";&")
			if end < 0 {
				end = len(dsn) - start
			}
			add(dsn[start : start+end])
			if u, err := url.QueryUnescape(dsn[start : start+end]); err == nil {
				add(u)
			}
			from = start
		}
	}
	return out
}
