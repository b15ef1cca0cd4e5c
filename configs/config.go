// Package configs owns pointsync's configuration file: its schema and
// defaults, ${ENV} expansion, secrets read from files, strict decoding
// (unknown keys are errors) and validation, with every problem named by
// file, line and key. It also holds the example configurations shipped with
// the binary and turns configured programs into rules.Program values.
package configs

import (
	"time"

	// Program time zones must load on hosts without a zoneinfo database
	// (Windows shop servers, scratch containers); the embedded copy makes
	// validation give the same answer everywhere.
	_ "time/tzdata"

	"github.com/pointsync/pointsync/rules"
)

// Config is one configuration file. Each section is its own struct so a new
// section (connectors, server, ...) is one new field and one new type; the
// strict decoder and the secret reader find it by reflection.
type Config struct {
	Ledger   Ledger    `yaml:"ledger"`
	Log      Log       `yaml:"log"`
	Programs []Program `yaml:"programs"`
	Import   Import    `yaml:"import"`
	Export   Export    `yaml:"export"`

	Daemon     Daemon      `yaml:"daemon"`
	Connectors []Connector `yaml:"connectors"`
	Exports    []ExportJob `yaml:"exports"`

	Server        Server        `yaml:"server"`
	Notifications Notifications `yaml:"notifications"`

	file  string         // as given to Load or Parse
	dir   string         // folder relative paths are resolved against
	lines map[string]int // key path -> line, for messages about values
}

// Ledger is where balances are kept.
type Ledger struct {
	Driver string `yaml:"driver"`
	// Path is the SQLite file. Load resolves a relative path against the
	// configuration file's folder; PathAsWritten keeps the text of the file.
	Path          string `yaml:"path"`
	PathAsWritten string `yaml:"-"`
	DSN           Secret `yaml:"dsn,omitempty"`
	DSNFile       string `yaml:"dsn_file,omitempty"`
	Synchronous   string `yaml:"synchronous"`
	// BusyTimeout is how long SQLite waits on a locked database.
	BusyTimeout time.Duration `yaml:"busy_timeout"`
	// CacheMiB is SQLite's page cache of the write connection, in MiB.
	CacheMiB int `yaml:"cache_mib"`
}

// Log is the daemon's logging.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Program is one configured points program; Rules turns it into the
// rules.Program the ledger works with.
type Program struct {
	ID       string     `yaml:"id"`
	Name     string     `yaml:"name,omitempty"`
	Unit     rules.Unit `yaml:"unit"`
	TimeZone string     `yaml:"time_zone"`
	Expiry   Expiry     `yaml:"expiry"`

	// ConfirmOn is when a web order's provisional accrual is posted:
	// ConfirmConverted (by the ERP; also what "" means), or ConfirmPaid /
	// ConfirmCompleted for shops without an ERP.
	ConfirmOn string `yaml:"confirm_on"`
	// CreateCardCustomers makes a card first seen at a till a customer
	// instead of a drop row refused as unknown.
	CreateCardCustomers bool `yaml:"create_card_customers"`
	// ExcludeCurrentTransaction (amount programs) keeps what a bill earns
	// out of the balance usable on that bill; see rules.TillQuoteOptions.
	ExcludeCurrentTransaction bool `yaml:"exclude_current_transaction"`

	// The rule sections; the methods of the same names (AccrualRules,
	// Gifts, ...) give them as rules values.
	Accrual     Accrual    `yaml:"accrual,omitempty"`
	Redemption  Redemption `yaml:"redemption,omitempty"`
	Actions     Actions    `yaml:"actions,omitempty"`
	GiftList    []Gift     `yaml:"gifts,omitempty"`
	BadgeList   []Badge    `yaml:"badges,omitempty"`
	CatalogList []Catalog  `yaml:"catalogs,omitempty"`
}

// Expiry is a program's expiry rule as written; see rules.ExpiryPolicy.
type Expiry struct {
	Policy rules.ExpiryKind `yaml:"policy"`
	Date   rules.Date       `yaml:"date,omitempty"`
	Days   int              `yaml:"days,omitempty"`
}

// Import describes the bulk adjustment CSV files read by `pointsync import`.
type Import struct {
	Delimiter   string   `yaml:"delimiter"`
	Decimal     string   `yaml:"decimal"`
	Encoding    string   `yaml:"encoding"`
	DateFormats []string `yaml:"date_formats"`
	// Columns maps a logical column (customer, points, expiry, note) to the
	// header text in the file. A column not written here accepts the
	// built-in English and Italian names (customer/cliente/card/tessera,
	// points/punti/importo, expiry/scadenza, note/nota; see csvio).
	Columns map[string]string `yaml:"columns"`
}

// Export describes the balance CSV files written by `pointsync export`.
type Export struct {
	Delimiter  string `yaml:"delimiter"`
	Decimal    string `yaml:"decimal"`
	Encoding   string `yaml:"encoding"`
	BOM        bool   `yaml:"bom"`
	DateFormat string `yaml:"date_format"`
}

// Values of the enumerated settings.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"

	SynchronousFull   = "full"
	SynchronousNormal = "normal"

	DelimiterAuto = "auto"
	DelimiterTab  = "tab"

	DecimalComma = "comma"
	DecimalPoint = "point"

	EncodingAuto        = "auto"
	EncodingUTF8        = "utf-8"
	EncodingWindows1252 = "windows-1252"
)

// ImportColumns lists the logical columns of a bulk adjustment file, the
// keys Import.Columns accepts.
func ImportColumns() []string { return []string{"customer", "points", "expiry", "note"} }

// Default is a configuration with every default filled and no programs;
// Load decodes the file over it.
func Default() *Config {
	return &Config{
		Ledger: Ledger{
			Driver:        DriverSQLite,
			Path:          "./data/pointsync.db",
			PathAsWritten: "./data/pointsync.db",
			Synchronous:   SynchronousFull,
			BusyTimeout:   10 * time.Second,
			CacheMiB:      16,
		},
		Log: Log{Level: "info", Format: "console"},
		Import: Import{
			Delimiter:   DelimiterAuto,
			Decimal:     DecimalComma,
			Encoding:    EncodingAuto,
			DateFormats: []string{"2006-01-02", "02/01/2006"},
			Columns:     map[string]string{},
		},
		Export: Export{
			Delimiter:  ";",
			Decimal:    DecimalComma,
			Encoding:   EncodingUTF8,
			DateFormat: rules.DateLayout,
		},
		Daemon:        defaultDaemon(),
		Server:        defaultServer(),
		Notifications: defaultNotifications(),
		lines:         map[string]int{},
	}
}

// setDefaults fills a program before its keys are decoded over it; the
// strict decoder calls it for each new list element.
func (p *Program) setDefaults() {
	p.Unit = rules.UnitPoints
	p.TimeZone = rules.DefaultTimeZone
	p.Expiry.Policy = rules.ExpiryNone
	p.ConfirmOn = ConfirmConverted
}

// File is the configuration file name as given to Load or Parse.
func (c *Config) File() string { return c.file }

// Comma is the import field separator, or 0 for "auto" (guess per file).
func (i Import) Comma() rune { return comma(i.Delimiter) }

// Comma is the export field separator.
func (e Export) Comma() rune { return comma(e.Delimiter) }

func comma(delim string) rune {
	switch delim {
	case DelimiterTab, "\t":
		return '\t'
	case ";":
		return ';'
	case ",":
		return ','
	default:
		return 0
	}
}
