package configs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/rules"
)

// TestParseErrors covers each class of problem with the exact message,
// file:line: key: text, an operator would see.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want string // the whole error, one problem per line
	}{
		// The file as a whole.
		{"empty", "", nil,
			"c.yaml: file is empty; a configuration needs at least one program under programs:"},
		{"only comments", "# nothing yet\n\n", nil,
			"c.yaml: file is empty; a configuration needs at least one program under programs:"},
		{"null document", "---\n", nil,
			"c.yaml: file is empty; a configuration needs at least one program under programs:"},
		{"two documents", "programs:\n  - id: a\n---\nprograms:\n  - id: b\n", nil,
			"c.yaml:3: more than one YAML document (a second --- starts here); keep one document per file"},
		{"syntax", "programs:\n  - id: a\n   name: x\n", nil,
			"c.yaml:3: invalid YAML: did not find expected '-' indicator; check the indentation and quoting"},
		{"syntax after a multi-line value", "programs:\n  - id: a\n    name: \"two\n      lines\"\n  - id: b\n   unit: amount\n", nil,
			"c.yaml:6: invalid YAML: did not find expected '-' indicator; check the indentation and quoting"},
		{"unclosed list", "programs:\n  - id: a\nimport:\n  date_formats: [\"2006-01-02\"\n", nil,
			"c.yaml:4: invalid YAML: did not find expected ',' or ']'; check the indentation and quoting"},
		{"tab indent", "programs:\n\t- id: a\n", nil,
			"c.yaml:2: invalid YAML: found character that cannot start any token; check the indentation and quoting"},
		{"not a mapping", "- id: a\n", nil,
			"c.yaml:1: expected a mapping of sections (ledger:, log:, programs:, ...), got a list"},

		// Strict decoding.
		{"unknown section", "programs:\n  - id: a\nwebhooks: {}\n", nil,
			"c.yaml:3: webhooks: unknown key (known keys here: connectors, daemon, export, exports, import, ledger, log, notifications, programs, server)"},
		{"near miss", "programs:\n  - id: a\n    time_zon: UTC\n", nil,
			"c.yaml:3: programs[0].time_zon: unknown key (did you mean time_zone?)"},
		{"camel case", "programs:\n  - id: a\n    timeZone: UTC\n", nil,
			"c.yaml:3: programs[0].timeZone: unknown key (did you mean time_zone?)"},
		{"swapped letters", "ledger:\n  dns: x\nprograms:\n  - id: a\n", nil,
			"c.yaml:2: ledger.dns: unknown key (did you mean dsn?)"},
		{"duplicate key", "programs:\n  - id: a\n    unit: points\n    unit: amount\n", nil,
			"c.yaml:4: programs[0].unit: duplicate key (first at line 3); keep one"},
		{"duplicate section", "log:\n  level: info\nprograms:\n  - id: a\nlog:\n  level: debug\n", nil,
			"c.yaml:5: log: duplicate key (first at line 1); keep one"},
		{"int type", "programs:\n  - id: a\n    expiry:\n      policy: days\n      days: many\n", nil,
			`c.yaml:5: programs[0].expiry.days: expected a whole number, got "many"`},
		{"fractional int", "programs:\n  - id: a\n    expiry:\n      policy: days\n      days: 1.5\n", nil,
			`c.yaml:5: programs[0].expiry.days: expected a whole number, got "1.5"`},
		{"duration type", "ledger:\n  busy_timeout: 10\nprograms:\n  - id: a\n", nil,
			`c.yaml:2: ledger.busy_timeout: expected a duration such as 10s, 500ms or 1m30s, got "10"`},
		{"bool type", "programs:\n  - id: a\nexport:\n  bom: maybe\n", nil,
			`c.yaml:4: export.bom: expected true or false, got "maybe"`},
		{"date type", "programs:\n  - id: a\n    expiry:\n      policy: fixed_date\n      date: 2026-02-30\n", nil,
			`c.yaml:5: programs[0].expiry.date: date "2026-02-30" is not of the form YYYY-MM-DD (for example 2026-12-31)`},
		{"mapping for a value", "programs:\n  - id: a\n    name: {first: x}\n", nil,
			"c.yaml:3: programs[0].name: expected a single value, got a mapping"},
		{"value for a list", "programs: shop\n", nil,
			`c.yaml:1: programs: expected a list (lines starting with -), got the value "shop"`},
		{"value for a mapping", "ledger: sqlite\nprograms:\n  - id: a\n", nil,
			`c.yaml:1: ledger: expected a mapping (key: value lines), got the value "sqlite"`},
		{"list key", "programs:\n  - id: a\n    [x]: 1\n", nil,
			"c.yaml:3: programs[0]: a key must be a single word, not a list or mapping"},

		// Environment.
		{"missing env", "ledger:\n  driver: mysql\n  dsn: ${LEDGER_DSN}\nprograms:\n  - id: a\n", nil,
			"c.yaml:3: ledger.dsn: environment variable LEDGER_DSN is not set; set it or write ${LEDGER_DSN:default}"},
		{"malformed env", "programs:\n  - id: a\n    name: ${\n", nil,
			"c.yaml:3: programs[0].name: unterminated ${: close it with }, or write $${ for a literal ${"},
		{"env in a list", "programs:\n  - id: a\nimport:\n  date_formats: [\"${F}\"]\n", nil,
			"c.yaml:4: import.date_formats[0]: environment variable F is not set; set it or write ${F:default}"},

		// Secrets.
		{"dsn and dsn_file", "ledger:\n  driver: mysql\n  dsn: user:hunter2@tcp(db:3306)/p\n  dsn_file: dsn.txt\nprograms:\n  - id: a\n", nil,
			"c.yaml:4: ledger.dsn_file: both dsn (line 3) and dsn_file are set; keep one"},

		// Validation.
		{"driver", "ledger:\n  driver: sqlit\nprograms:\n  - id: a\n", nil,
			`c.yaml:2: ledger.driver: unknown value "sqlit" (did you mean "sqlite"? use one of "sqlite", "mysql")`},
		{"mysql without dsn", "ledger:\n  driver: mysql\nprograms:\n  - id: a\n", nil,
			"c.yaml:1: ledger.dsn: driver mysql needs dsn (user:password@tcp(host:3306)/pointsync) or dsn_file (a file holding it)"},
		{"sqlite with dsn", "ledger:\n  dsn: x\nprograms:\n  - id: a\n", nil,
			"c.yaml:2: ledger.dsn: dsn is for driver mysql; remove it, or set driver: mysql"},
		{"sqlite without path", "ledger:\n  path: \"\"\nprograms:\n  - id: a\n", nil,
			"c.yaml:2: ledger.path: driver sqlite needs the database file path, e.g. ./data/pointsync.db"},
		{"ledger values", "ledger:\n  synchronous: off\n  busy_timeout: 0s\nlog:\n  level: verbose\n  format: text\nprograms:\n  - id: a\n", nil,
			`c.yaml:2: ledger.synchronous: unknown value "off" (use one of "full", "normal")` + "\n" +
				`c.yaml:3: ledger.busy_timeout: must be greater than 0, e.g. 10s` + "\n" +
				`c.yaml:5: log.level: unknown value "verbose" (use one of "debug", "info", "warn", "error")` + "\n" +
				`c.yaml:6: log.format: unknown value "text" (use one of "console", "json")`},
		{"no programs", "log:\n  level: info\n", nil,
			"c.yaml: programs: at least one program is needed, e.g.\n  programs:\n    - id: shop"},
		{"empty program list", "programs: []\n", nil,
			"c.yaml:1: programs: at least one program is needed, e.g.\n  programs:\n    - id: shop"},
		{"program ids", "programs:\n  - name: x\n  - id: Shop\n  - id: a\n  - id: a\n", nil,
			"c.yaml:2: programs[0].id: a program needs an id, e.g. id: shop\n" +
				`c.yaml:3: programs[1].id: id "Shop" is not valid: use 1 to 32 lowercase letters, digits, _ and -, starting with a letter or digit` + "\n" +
				`c.yaml:5: programs[3].id: duplicate program id "a" (first at line 4); ids must be unique`},
		{"unit", "programs:\n  - id: a\n    unit: euro\n", nil,
			`c.yaml:3: programs[0].unit: unknown value "euro" (use one of "points", "amount")`},
		{"time zones", "programs:\n  - id: a\n    time_zone: Europe/Roma\n  - id: b\n    time_zone: Local\n  - id: c\n    time_zone: \"\"\n", nil,
			`c.yaml:3: programs[0].time_zone: unknown time zone "Europe/Roma"; use an IANA name such as Europe/Rome or UTC` + "\n" +
				"c.yaml:5: programs[1].time_zone: time zone Local depends on the host; name the zone, e.g. Europe/Rome\n" +
				"c.yaml:7: programs[2].time_zone: time zone is empty; write one such as Europe/Rome"},
		// A missing key is reported on the line of the mapping that lacks it.
		{"days missing", "programs:\n  - id: a\n    expiry:\n      policy: days\n", nil,
			"c.yaml:3: programs[0].expiry.days: expiry policy days needs days greater than 0, got 0: add days: N (e.g. 365)"},
		{"date missing", "programs:\n  - id: a\n    expiry:\n      policy: fixed_date\n", nil,
			"c.yaml:3: programs[0].expiry.date: expiry policy fixed_date needs a date: add date: YYYY-MM-DD"},
		{"policy", "programs:\n  - id: a\n    expiry:\n      policy: monthly\n", nil,
			`c.yaml:4: programs[0].expiry.policy: unknown value "monthly" (use one of "none", "fixed_date", "days")`},
		{"expiry keys of another policy", "programs:\n  - id: a\n    expiry:\n      policy: days\n      days: 10\n      date: 2026-12-31\n  - id: b\n    expiry:\n      days: 0\n", nil,
			"c.yaml:6: programs[0].expiry.date: date is only used with policy: fixed_date; remove it or set the policy\n" +
				"c.yaml:9: programs[1].expiry.days: days is only used with policy: days; remove it or set the policy"},
		{"import values", "programs:\n  - id: a\nimport:\n  delimiter: \"|\"\n  decimal: dot\n  encoding: latin1\n  date_formats: []\n", nil,
			`c.yaml:4: import.delimiter: unknown value "|" (use one of "auto", ";", ",", "tab", "\t")` + "\n" +
				`c.yaml:5: import.decimal: unknown value "dot" (use one of "comma", "point")` + "\n" +
				`c.yaml:6: import.encoding: unknown value "latin1" (use one of "auto", "utf-8", "windows-1252")` + "\n" +
				`c.yaml:7: import.date_formats: at least one date format is needed, e.g. ["2006-01-02", "02/01/2006"]`},
		{"date formats", "programs:\n  - id: a\nimport:\n  date_formats:\n    - dd/mm/yyyy\n    - \"\"\n    - 2006-01\nexport:\n  date_format: \"02/01\"\n", nil,
			`c.yaml:5: import.date_formats[0]: date format "dd/mm/yyyy" does not read back the date it writes (2026-12-31 is written "dd/mm/yyyy"); a Go layout needs the year 2006, month 01 and day 02, e.g. 02/01/2006` + "\n" +
				`c.yaml:6: import.date_formats[1]: date format is empty; write a Go layout such as 2006-01-02 or 02/01/2006` + "\n" +
				`c.yaml:7: import.date_formats[2]: date format "2006-01" does not read back the date it writes (2026-12-31 is written "2026-12"); a Go layout needs the year 2006, month 01 and day 02, e.g. 02/01/2006` + "\n" +
				`c.yaml:9: export.date_format: date format "02/01" does not read back the date it writes (2026-12-31 is written "31/12"); a Go layout needs the year 2006, month 01 and day 02, e.g. 02/01/2006`},
		{"columns", "programs:\n  - id: a\nimport:\n  columns:\n    customer: Cliente\n    points: \" cliente \"\n    note: \"\"\n    custmer: x\n    expiry: customer\n", nil,
			`c.yaml:6: import.columns.points: header " cliente " is already used by column customer (line 5); each column needs its own header` + "\n" +
				`c.yaml:7: import.columns.note: header name is empty; write the column's header as it appears in the file` + "\n" +
				`c.yaml:8: import.columns.custmer: unknown column "custmer" (did you mean customer? use customer, points, expiry, note)`},
		{"column clashes with a default", "programs:\n  - id: a\nimport:\n  columns:\n    note: points\n", nil,
			`c.yaml:4: import.columns: header "points" is used for both points and note; map each column to its own header`},
		{"export values", "programs:\n  - id: a\nexport:\n  delimiter: auto\n  decimal: virgola\n  encoding: auto\n", nil,
			`c.yaml:4: export.delimiter: auto is only for import; the export needs a fixed delimiter: ";", "," or tab` + "\n" +
				`c.yaml:5: export.decimal: unknown value "virgola" (use one of "comma", "point")` + "\n" +
				`c.yaml:6: export.encoding: auto is only for import; the export needs utf-8 or windows-1252`},

		// Everything at once, sorted by line; a value that could not be
		// read is not validated again.
		{"all collected", "ledger:\n  driver: nope\n  busy_timeout: soon\nprograms:\n  - id: a\n    colour: red\n    expiry:\n      policy: days\n      days: ${DAYS}\n", nil,
			`c.yaml:2: ledger.driver: unknown value "nope" (use one of "sqlite", "mysql")` + "\n" +
				`c.yaml:3: ledger.busy_timeout: expected a duration such as 10s, 500ms or 1m30s, got "soon"` + "\n" +
				`c.yaml:6: programs[0].colour: unknown key (known keys here: accrual, actions, badges, catalogs, confirm_on, create_card_customers, exclude_current_transaction, expiry, gifts, id, name, redemption, time_zone, unit)` + "\n" +
				`c.yaml:9: programs[0].expiry.days: environment variable DAYS is not set; set it or write ${DAYS:default}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseString(t, tt.src, tt.env)
			if err == nil {
				t.Fatalf("no error, want:\n%s", tt.want)
			}
			if c != nil {
				t.Error("a Config came back with the error")
			}
			asErrors(t, err)
			if err.Error() != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "programs:\n  - id: shop\n", nil)
	d := Default()
	if c.Ledger.Driver != DriverSQLite || c.Ledger.Synchronous != SynchronousFull || c.Ledger.BusyTimeout != 10*time.Second {
		t.Errorf("ledger = %+v", c.Ledger)
	}
	if c.Ledger.PathAsWritten != "./data/pointsync.db" || c.Ledger.Path != filepath.Join("data", "pointsync.db") {
		t.Errorf("path = %q (as written %q)", c.Ledger.Path, c.Ledger.PathAsWritten)
	}
	if c.Log != d.Log || c.Export != d.Export {
		t.Errorf("log %+v export %+v", c.Log, c.Export)
	}
	if strings.Join(c.Import.DateFormats, ",") != "2006-01-02,02/01/2006" || len(c.Import.Columns) != 0 {
		t.Errorf("import = %+v", c.Import)
	}
	p := c.Programs[0]
	if p.Unit != rules.UnitPoints || p.TimeZone != rules.DefaultTimeZone || p.Expiry.Policy != rules.ExpiryNone {
		t.Errorf("program = %+v", p)
	}
}

// Keys written with no value keep their defaults, and a partial columns
// mapping keeps the other columns' defaults.
func TestDecodeOverDefaults(t *testing.T) {
	c := mustParse(t, `
ledger:
log: ~
programs:
  - id: shop
    expiry:
import:
  columns:
    customer: cliente
  date_formats: ["02.01.2006"]
`, nil)
	if c.Ledger.Driver != DriverSQLite || c.Log.Level != "info" || c.Programs[0].Expiry.Policy != rules.ExpiryNone {
		t.Errorf("defaults lost: %+v %+v %+v", c.Ledger, c.Log, c.Programs[0])
	}
	if len(c.Import.Columns) != 1 || c.Import.Columns["customer"] != "cliente" {
		t.Errorf("columns = %v, want only customer: cliente (the others keep csvio's built-in names)", c.Import.Columns)
	}
	if len(c.Import.DateFormats) != 1 || c.Import.DateFormats[0] != "02.01.2006" {
		t.Errorf("date_formats = %q (a list replaces the default)", c.Import.DateFormats)
	}
	if len(Default().Import.Columns) != 0 {
		t.Error("decoding changed the defaults")
	}
}

func TestMergeKeys(t *testing.T) {
	c := mustParse(t, `
programs:
  - &base
    id: shop
    unit: amount
    time_zone: UTC
    expiry: {policy: days, days: 30}
  - <<: *base
    id: card
    time_zone: Europe/Rome
`, nil)
	p := c.Programs[1]
	if p.ID != "card" || p.Unit != rules.UnitAmount || p.TimeZone != "Europe/Rome" || p.Expiry.Days != 30 {
		t.Fatalf("merged program = %+v", p)
	}
	_, err := parseString(t, "programs:\n  - id: a\n    <<: 3\n", nil)
	if err == nil || err.Error() != "c.yaml:3: programs[0]: << needs a mapping or a list of mappings" {
		t.Fatalf("bad merge: %v", err)
	}
}

func TestRelativePaths(t *testing.T) {
	for _, tt := range []struct{ file, path, want string }{
		{"/etc/pointsync/config.yaml", "./data/p.db", "/etc/pointsync/data/p.db"},
		{"/etc/pointsync/config.yaml", "/var/lib/p.db", "/var/lib/p.db"},
		{"conf/config.yaml", "../p.db", "p.db"},
		{"config.yaml", ":memory:", ":memory:"},
		{"conf/config.yaml", "file:p.db?mode=memory", "file:p.db?mode=memory"},
	} {
		c, err := Parse(tt.file, []byte("ledger:\n  path: '"+tt.path+"'\nprograms:\n  - id: a\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Ledger.Path != filepath.FromSlash(tt.want) || c.Ledger.PathAsWritten != tt.path {
			t.Errorf("%s + %s: got %q (%q), want %q", tt.file, tt.path, c.Ledger.Path, c.Ledger.PathAsWritten, tt.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	want := path + ": cannot read the configuration file: no such file or directory; check the path given with --config"
	if err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("errors.Is(err, fs.ErrNotExist) is false")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pointsync.yaml")
	if err := os.WriteFile(path, []byte("programs:\n  - id: shop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.File() != path || c.Ledger.Path != filepath.Join(dir, "data", "pointsync.db") {
		t.Fatalf("file %q, ledger path %q", c.File(), c.Ledger.Path)
	}
	_, err = Load(filepath.Join(dir, "bad.yaml"))
	var e *Error
	if !errors.As(err, &e) || e.File != filepath.Join(dir, "bad.yaml") {
		t.Fatalf("errors.As: %v", err)
	}
}

func TestValidateBuiltConfig(t *testing.T) {
	c := Default()
	if err := c.Validate(); err == nil || err.Error() != "programs: at least one program is needed, e.g.\n  programs:\n    - id: shop" {
		t.Fatalf("empty: %v", err)
	}
	c.Programs = []Program{{ID: "shop", Unit: rules.UnitPoints, TimeZone: "UTC", Expiry: Expiry{Policy: rules.ExpiryDays, Days: 7}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRulesPrograms(t *testing.T) {
	c := mustParse(t, `
programs:
  - id: shop
    name: Shop
    expiry: {policy: days, days: 365}
  - id: card
    unit: amount
    time_zone: UTC
    expiry: {policy: fixed_date, date: 2026-12-31}
`, nil)
	ps, err := c.RulesPrograms()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("%d programs", len(ps))
	}
	shop := ps[0]
	if shop.ID != "shop" || shop.Name != "Shop" || shop.Unit != rules.UnitPoints || shop.Location.String() != "Europe/Rome" ||
		shop.Expiry != (rules.ExpiryPolicy{Kind: rules.ExpiryDays, Days: 365}) {
		t.Errorf("shop = %+v", shop)
	}
	card, ok := c.Program("card")
	if !ok || card.Unit != rules.UnitAmount || card.Location != time.UTC && card.Location.String() != "UTC" ||
		card.Expiry != (rules.ExpiryPolicy{Kind: rules.ExpiryFixedDate, Date: rules.Date{Year: 2026, Month: 12, Day: 31}}) {
		t.Errorf("card = %+v, %v", card, ok)
	}
	if _, ok := c.Program("nope"); ok {
		t.Error("unknown program found")
	}
	c.Programs[1].TimeZone = "Nowhere/Town"
	if _, err := c.RulesPrograms(); err == nil || !strings.Contains(err.Error(), "program card") {
		t.Errorf("bad zone: %v", err)
	}
	if _, ok := c.Program("card"); ok {
		t.Error("a program that cannot be built was returned")
	}
}

func TestDelimiterComma(t *testing.T) {
	for _, tt := range []struct {
		delim string
		want  rune
	}{{"auto", 0}, {";", ';'}, {",", ','}, {"tab", '\t'}, {"\t", '\t'}} {
		if got := (Import{Delimiter: tt.delim}).Comma(); got != tt.want {
			t.Errorf("%q: %q", tt.delim, got)
		}
	}
	if (Export{Delimiter: "tab"}).Comma() != '\t' {
		t.Error("export tab")
	}
}

// A file that is not a configuration gives a bounded list.
func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("programs:\n  - id: a\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "key%d: x\n", i)
	}
	_, err := parseString(t, b.String(), nil)
	es := asErrors(t, err)
	if len(es) != maxErrors+1 || es[0].Line != 3 {
		t.Fatalf("%d problems, first %v", len(es), es[0])
	}
	if last := es[len(es)-1]; last.Msg != "2950 more problems not shown; is this the right file?" {
		t.Fatalf("last = %q", last.Msg)
	}
}

// Aliases to a big block used many times must not make decoding explode.
func TestAliasExpansionBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("programs:\n  - &p\n    id: a\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "    k%d: x\n", i)
	}
	b.WriteString("  - " + strings.Repeat("*p\n  - ", 2000) + "*p\n")
	start := time.Now()
	_, err := parseString(t, b.String(), nil)
	if err == nil || !strings.Contains(err.Error(), "too many values") {
		t.Fatalf("got %.300v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}
