package configs

import (
	"fmt"
	"time"

	"github.com/pointsync/pointsync/csvio"
)

// Daemon holds the settings of `pointsync run` that are not about one job.
type Daemon struct {
	// BatchSize is how many facts commit in one transaction.
	BatchSize int `yaml:"batch_size"`
	// Retries is how many times a failing job run is tried again, waiting
	// Backoff, then twice as long each time up to MaxBackoff, before the
	// run counts as failed (the next schedule tries again).
	Retries    int           `yaml:"retries"`
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Housekeeping is the schedule of the expiry sweep and periodic gifts.
	Housekeeping string `yaml:"housekeeping"`
	// LockFile keeps a second daemon off the same SQLite ledger; empty is
	// the ledger file's path with ".lock" added.
	LockFile string `yaml:"lock_file"`
	// LeaseTTL is, on a MySQL ledger shared by several daemons, how long
	// the active daemon's lease lasts without renewal (it renews every
	// third of it): a standby takes over within about this time after the
	// active one dies.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// MemoryLimitMiB is the soft limit of the Go runtime's memory (heap,
	// stacks), in MiB: past it the collector runs more often rather than
	// let garbage double the heap. 0 leaves the runtime's default (no
	// limit). The GOMEMLIMIT environment variable, when set, wins.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
}

// Connector is one source of facts: a drop folder, a webservice or a SQL
// query.
type Connector struct {
	Name     string `yaml:"name"`
	Kind     string `yaml:"kind"`     // ConnectorCSVDrop, ConnectorHTTPPull or ConnectorSQL
	Schedule string `yaml:"schedule"` // cron expression or @every 30s
	Disabled bool   `yaml:"disabled"`
	// Program is the program of every fact it reads (a "program" column
	// overrides it per row).
	Program string `yaml:"program"`
	// Facts is what each row (or group of adjacent rows) is: till_receipt,
	// web_order, erp_document, action or link.
	Facts string `yaml:"facts"`
	// IdentKind is the kind given to customer values written bare: "42"
	// read by a web shop connector is web:42.
	IdentKind string `yaml:"ident_kind"`
	// Columns maps a logical field to the header (CSV) or key (JSON) the
	// source uses for it; see README "Drop file fields".
	Columns map[string]string `yaml:"columns"`
	// Statuses maps the shop's order status texts to pointsync's:
	// placed, payment_unconfirmed, paid, completed, cancelled.
	Statuses map[string]string `yaml:"statuses"`
	// DocumentKinds maps the ERP's document types to delivery_note,
	// invoice, credit_note, cancellation.
	DocumentKinds map[string]string `yaml:"document_kinds"`
	// DateFormats are the Go layouts of dates and times in the source;
	// empty accepts ISO and Italian forms (README).
	DateFormats []string `yaml:"date_formats"`
	// Timezone is the zone of the times the source writes without one
	// (IANA name, e.g. UTC for WooCommerce's *_gmt columns); empty is the
	// program's zone.
	Timezone string `yaml:"timezone"`

	Drop Drop     `yaml:"drop"`
	CSV  CSVFiles `yaml:"csv"`
	HTTP HTTP     `yaml:"http"`
	SQL  SQL      `yaml:"sql"`
}

// SQL is a database: a query a connector reads (the ERP on SQL Server,
// the shop on MySQL) or a table an export writes.
type SQL struct {
	Driver  string `yaml:"driver"` // SQLServer or SQLMySQL
	DSN     Secret `yaml:"dsn,omitempty"`
	DSNFile string `yaml:"dsn_file,omitempty"`
	// Query is the operator's SELECT, with :limit and one :last_COLUMN
	// per cursor column as its only parameters; it must order by the
	// cursor columns.
	Query string `yaml:"query,omitempty"`
	// Cursor names the result columns the query orders by, where the
	// connector stands between runs: a rowversion, or an update time and
	// an id.
	Cursor  []CursorColumn `yaml:"cursor,omitempty"`
	Timeout time.Duration  `yaml:"timeout"`
	// Table is the shop table an export upserts balances into, with a
	// unique key on the customer column (and program, when written).
	Table string `yaml:"table,omitempty"`
	// Identifier is the kind of the customer identifier written in the
	// customer column, without its prefix: web writes 1001 for web:1001.
	Identifier string `yaml:"identifier,omitempty"`
	// Columns maps a balance figure (customer, program, earned,
	// provisional, spent, expired, expiring_date, expiring_points,
	// updated_at) to the table's column; empty writes every figure to the
	// column of the same name.
	Columns   map[string]string `yaml:"columns,omitempty"`
	BatchSize int               `yaml:"batch_size,omitempty"`
}

// CursorColumn is one column of a SQL connector's cursor.
type CursorColumn struct {
	Column string `yaml:"column"`
	Type   string `yaml:"type"` // CursorInt, CursorTime, CursorText or CursorBinary
	// Start is the value before the first row; empty is the type's
	// lowest (0, 1900-01-01 00:00:00, the empty text, 0x00).
	Start string `yaml:"start,omitempty"`
}

// Drop is a store drop folder: files arrive in DIR/inbox.
type Drop struct {
	Dir      string        `yaml:"dir"`
	Pattern  string        `yaml:"pattern"`
	MinAge   time.Duration `yaml:"min_age"`
	Marker   string        `yaml:"marker"`
	OnBadRow string        `yaml:"on_bad_row"` // BadRowQuarantine or BadRowRejectFile
}

// CSVFiles is the dialect of a kind of CSV file.
type CSVFiles struct {
	Delimiter  string `yaml:"delimiter"`
	Decimal    string `yaml:"decimal"`
	Encoding   string `yaml:"encoding"`
	BOM        bool   `yaml:"bom"`
	DateFormat string `yaml:"date_format"`
}

// HTTP is a webservice endpoint, pulled or pushed to.
type HTTP struct {
	URL         string            `yaml:"url"`
	Method      string            `yaml:"method,omitempty"`
	Format      string            `yaml:"format,omitempty"` // pull: facts or records
	CursorParam string            `yaml:"cursor_param,omitempty"`
	LimitParam  string            `yaml:"limit_param,omitempty"`
	ItemsField  string            `yaml:"items_field,omitempty"`
	NextField   string            `yaml:"next_field,omitempty"`
	Headers     map[string]Secret `yaml:"headers,omitempty"`
	// BearerToken is sent as Authorization: Bearer; BearerTokenFile reads
	// it from a file instead.
	BearerToken     Secret `yaml:"bearer_token,omitempty"`
	BearerTokenFile string `yaml:"bearer_token_file,omitempty"`
	// HMACSecret signs pushed bodies (X-Pointsync-Signature).
	HMACSecret     Secret        `yaml:"hmac_secret,omitempty"`
	HMACSecretFile string        `yaml:"hmac_secret_file,omitempty"`
	Timeout        time.Duration `yaml:"timeout"`
	Retries        int           `yaml:"retries"`
	Backoff        time.Duration `yaml:"backoff"`
	BatchSize      int           `yaml:"batch_size,omitempty"`
}

// ExportJob writes balances out: files for the tills, a push to the
// shop's webservice, or the shop's balance table.
type ExportJob struct {
	Name     string `yaml:"name"`
	Kind     string `yaml:"kind"` // ExportTillFiles, ExportHTTPPush or ExportSQLTable
	Program  string `yaml:"program"`
	Schedule string `yaml:"schedule"`
	Disabled bool   `yaml:"disabled"`
	// AfterSync runs the export as soon as a connector batch changed
	// balances, besides its schedule.
	AfterSync bool `yaml:"after_sync"`
	// Path is the file written for the tills; "{store}" in it makes one
	// file per store in Stores.
	Path   string   `yaml:"path"`
	Stores []string `yaml:"stores"`
	CSV    CSVFiles `yaml:"csv"`
	// What is pushed: balances (of the customers that changed) or
	// movements (every new one).
	What string `yaml:"what"`
	HTTP HTTP   `yaml:"http"`
	SQL  SQL    `yaml:"sql"`
}

// Values of the connector and export settings.
const (
	ConnectorCSVDrop  = "csv_drop"
	ConnectorHTTPPull = "http_pull"
	ConnectorSQL      = "sql"

	ExportTillFiles = "till_files"
	ExportHTTPPush  = "http_push"
	ExportSQLTable  = "sql_table"

	SQLServer = "sqlserver"
	SQLMySQL  = "mysql"

	CursorInt    = "int"
	CursorTime   = "time"
	CursorText   = "text"
	CursorBinary = "binary"

	BadRowQuarantine = "quarantine"
	BadRowRejectFile = "reject_file"

	FormatFacts   = "facts"
	FormatRecords = "records"

	PushBalances  = "balances"
	PushMovements = "movements"
)

func defaultDaemon() Daemon {
	return Daemon{BatchSize: 500, Retries: 3, Backoff: 2 * time.Second, MaxBackoff: time.Minute, Housekeeping: "@every 1h",
		LeaseTTL: 15 * time.Second, MemoryLimitMiB: 64}
}

func defaultHTTP() HTTP {
	return HTTP{Timeout: 30 * time.Second, Retries: 3, Backoff: time.Second}
}

func (c *Connector) setDefaults() {
	c.Schedule = "@every 1m"
	c.Drop = Drop{Pattern: "*.csv", MinAge: 5 * time.Second, OnBadRow: BadRowQuarantine}
	c.CSV = CSVFiles{Delimiter: DelimiterAuto, Decimal: DecimalComma, Encoding: EncodingAuto}
	c.HTTP = defaultHTTP()
	c.HTTP.Format = FormatFacts
	c.SQL = SQL{Timeout: 30 * time.Second}
}

func (e *ExportJob) setDefaults() {
	e.Schedule = "@every 5m"
	e.AfterSync = true
	e.What = PushBalances
	e.CSV = CSVFiles{Delimiter: ";", Decimal: DecimalComma, Encoding: EncodingUTF8, DateFormat: "02/01/2006"}
	e.HTTP = defaultHTTP()
	e.HTTP.Method = "POST"
	e.HTTP.BatchSize = 500
	e.SQL = SQL{Driver: SQLMySQL, Timeout: 30 * time.Second, Identifier: "web", BatchSize: 500}
}

// Dialect is the csvio dialect of the files; for reading, DateFormats
// come from the connector.
func (f CSVFiles) Dialect() (csvio.Dialect, error) {
	dec, err := csvio.ParseDecimal(f.Decimal)
	if err != nil {
		return csvio.Dialect{}, err
	}
	enc, err := csvio.ParseEncoding(f.Encoding)
	if err != nil {
		return csvio.Dialect{}, err
	}
	d := csvio.Dialect{Delimiter: comma(f.Delimiter), Decimal: dec, Encoding: enc, BOM: f.BOM, DateFormat: f.DateFormat}
	return d, d.Validate()
}

// Dialect is the import section as csvio reads it, with the adjustment
// columns; errors name the key (import.decimal, ...).
func (x Import) Dialect() (csvio.Dialect, csvio.Columns, error) {
	dec, err := csvio.ParseDecimal(x.Decimal)
	if err != nil {
		return csvio.Dialect{}, nil, fmt.Errorf("import.decimal: %w", err)
	}
	enc, err := csvio.ParseEncoding(x.Encoding)
	if err != nil {
		return csvio.Dialect{}, nil, fmt.Errorf("import.encoding: %w", err)
	}
	cols, err := csvio.AdjustmentColumns(x.Columns)
	if err != nil {
		return csvio.Dialect{}, nil, fmt.Errorf("import.columns: %w", err)
	}
	return csvio.Dialect{Delimiter: x.Comma(), Decimal: dec, Encoding: enc, DateFormats: x.DateFormats}, cols, nil
}

// Dialect is the export section as csvio writes it; errors name the key.
func (x Export) Dialect() (csvio.Dialect, error) {
	dec, err := csvio.ParseDecimal(x.Decimal)
	if err != nil {
		return csvio.Dialect{}, fmt.Errorf("export.decimal: %w", err)
	}
	enc, err := csvio.ParseEncoding(x.Encoding)
	if err != nil {
		return csvio.Dialect{}, fmt.Errorf("export.encoding: %w", err)
	}
	return csvio.Dialect{Delimiter: x.Comma(), Decimal: dec, Encoding: enc, DateFormat: x.DateFormat, BOM: x.BOM}, nil
}
