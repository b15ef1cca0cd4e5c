package configs

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/rules"
)

// Validate reports every problem of c as Errors, each naming its key path
// and, for a loaded file, the line (the line of the enclosing key when the
// key itself was not written). Load calls it; code that builds a Config
// by hand should too.
func (c *Config) Validate() error { return c.validate().asError(0) }

// programIDRE keeps ids usable in URLs, file names and log fields as they
// are.
var programIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

type validator struct {
	c     *Config
	errs  Errors
	zones map[string]error // time zones already checked: loading reads a file
}

func (c *Config) validate() Errors {
	v := &validator{c: c, zones: map[string]error{}}
	v.ledger()
	v.log()
	v.programs()
	v.importFiles()
	v.exportFiles()
	v.daemon()
	v.jobs()
	v.server()
	v.notifications()
	return v.errs
}

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.c.file, Line: v.c.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// oneOf checks an enumerated setting; the message lists the choices and
// suggests the closest one.
func (v *validator) oneOf(key, value string, choices ...string) bool {
	if slices.Contains(choices, value) {
		return true
	}
	quoted := make([]string, len(choices))
	for i, c := range choices {
		quoted[i] = fmt.Sprintf("%q", c)
	}
	hint := ""
	if s := suggest(value, choices); s != "" {
		hint = fmt.Sprintf("did you mean %q? ", s)
	}
	v.add(key, "unknown value %q (%suse one of %s)", value, hint, strings.Join(quoted, ", "))
	return false
}

// given reports whether key was written in the file.
func (v *validator) given(key string) bool {
	_, ok := v.c.lines[key]
	return ok
}

func (v *validator) ledger() {
	l := v.c.Ledger
	v.oneOf("ledger.driver", l.Driver, DriverSQLite, DriverMySQL)
	switch l.Driver {
	case DriverSQLite:
		if l.Path == "" {
			v.add("ledger.path", "driver sqlite needs the database file path, e.g. ./data/pointsync.db")
		}
		if l.DSN != "" {
			v.add("ledger.dsn", "dsn is for driver mysql; remove it, or set driver: mysql")
		}
		if l.DSNFile != "" {
			v.add("ledger.dsn_file", "dsn_file is for driver mysql; remove it, or set driver: mysql")
		}
	case DriverMySQL:
		if l.DSN == "" && l.DSNFile == "" {
			v.add("ledger.dsn", "driver mysql needs dsn (user:password@tcp(host:3306)/pointsync) or dsn_file (a file holding it)")
		}
	}
	v.oneOf("ledger.synchronous", l.Synchronous, SynchronousFull, SynchronousNormal)
	if l.BusyTimeout <= 0 {
		v.add("ledger.busy_timeout", "must be greater than 0, e.g. 10s")
	}
	if l.CacheMiB < 1 || l.CacheMiB > 4096 {
		v.add("ledger.cache_mib", "must be 1 to 4096 (MiB of SQLite page cache), e.g. 16")
	}
}

func (v *validator) log() {
	v.oneOf("log.level", v.c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", v.c.Log.Format, "console", "json")
}

func (v *validator) programs() {
	if len(v.c.Programs) == 0 {
		v.add("programs", "at least one program is needed, e.g.\n  programs:\n    - id: shop")
		return
	}
	firstLine := map[string]int{}
	for i, p := range v.c.Programs {
		base := fmt.Sprintf("programs[%d]", i)
		switch {
		case p.ID == "":
			v.add(base+".id", "a program needs an id, e.g. id: shop")
		case !programIDRE.MatchString(p.ID):
			v.add(base+".id", "id %q is not valid: use 1 to 32 lowercase letters, digits, _ and -, starting with a letter or digit", p.ID)
		default:
			if first, dup := firstLine[p.ID]; dup {
				v.add(base+".id", "duplicate program id %q (first at line %d); ids must be unique", p.ID, first)
			} else {
				firstLine[p.ID] = v.c.line(base + ".id")
			}
		}
		if !p.Unit.Valid() {
			v.oneOf(base+".unit", string(p.Unit), string(rules.UnitPoints), string(rules.UnitAmount))
		}
		err, seen := v.zones[p.TimeZone]
		if !seen {
			err = checkTimeZone(p.TimeZone)
			v.zones[p.TimeZone] = err
		}
		if err != nil {
			v.add(base+".time_zone", "%v", err)
		}
		v.expiry(base+".expiry", p.Expiry)
		v.programRules(base, p)
	}
}

func checkTimeZone(name string) error {
	switch name {
	case "":
		return fmt.Errorf("time zone is empty; write one such as %s", rules.DefaultTimeZone)
	case "Local":
		return fmt.Errorf("time zone Local depends on the host; name the zone, e.g. %s", rules.DefaultTimeZone)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("unknown time zone %q; use an IANA name such as %s or UTC", name, rules.DefaultTimeZone)
	}
	return nil
}

func (v *validator) expiry(base string, e Expiry) {
	if err := e.policy().Validate(); err != nil {
		switch e.Policy {
		case rules.ExpiryFixedDate:
			v.add(base+".date", "%v: add date: YYYY-MM-DD", err)
		case rules.ExpiryDays:
			v.add(base+".days", "%v: add days: N (e.g. 365)", err)
		default:
			v.oneOf(base+".policy", string(e.Policy), string(rules.ExpiryNone), string(rules.ExpiryFixedDate), string(rules.ExpiryDays))
		}
	}
	if e.Policy != rules.ExpiryFixedDate && (!e.Date.IsZero() || v.given(base+".date")) {
		v.add(base+".date", "date is only used with policy: fixed_date; remove it or set the policy")
	}
	if e.Policy != rules.ExpiryDays && (e.Days != 0 || v.given(base+".days")) {
		v.add(base+".days", "days is only used with policy: days; remove it or set the policy")
	}
}

func (v *validator) importFiles() {
	im := v.c.Import
	v.oneOf("import.delimiter", im.Delimiter, DelimiterAuto, ";", ",", DelimiterTab, "\t")
	v.oneOf("import.decimal", im.Decimal, DecimalComma, DecimalPoint)
	v.oneOf("import.encoding", im.Encoding, EncodingAuto, EncodingUTF8, EncodingWindows1252)
	if len(im.DateFormats) == 0 {
		v.add("import.date_formats", "at least one date format is needed, e.g. [\"2006-01-02\", \"02/01/2006\"]")
	}
	for i, f := range im.DateFormats {
		if err := checkLayout(f); err != nil {
			v.add(joinIndex("import.date_formats", i), "%v", err)
		}
	}
	v.columns(im.Columns)
}

// columns checks the header mapping. Headers are compared as csvio will
// match them, ignoring case and surrounding spaces, since two columns
// found under one header would be read from the same field.
func (v *validator) columns(cols map[string]string) {
	names := make([]string, 0, len(cols))
	for name := range cols {
		names = append(names, name)
	}
	// Defaults (not written, line 0) first, then file order, so a clash
	// is reported on the line the operator wrote.
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(v.c.lines["import.columns."+a], v.c.lines["import.columns."+b]), strings.Compare(a, b))
	})
	known := ImportColumns()
	owner := map[string]string{}
	for _, name := range names {
		key := "import.columns." + name
		if !slices.Contains(known, name) {
			hint := ""
			if s := suggest(name, known); s != "" {
				hint = fmt.Sprintf("did you mean %s? ", s)
			}
			v.add(key, "unknown column %q (%suse %s)", name, hint, strings.Join(known, ", "))
			continue
		}
		header := strings.ToLower(strings.TrimSpace(cols[name]))
		if header == "" {
			v.add(key, "header name is empty; write the column's header as it appears in the file")
			continue
		}
		if other, dup := owner[header]; dup {
			v.add(key, "header %q is already used by column %s (line %d); each column needs its own header", cols[name], other, v.c.line("import.columns."+other))
			continue
		}
		owner[header] = name
	}
	// A header given to one column must not be a built-in name of another
	// column still on its defaults: the file's header would be ambiguous.
	if len(owner) == len(cols) {
		if _, err := csvio.AdjustmentColumns(cols); err != nil {
			v.add("import.columns", "%s; map each column to its own header", strings.TrimPrefix(err.Error(), "columns: "))
		}
	}
}

func (v *validator) exportFiles() {
	ex := v.c.Export
	switch ex.Delimiter {
	case DelimiterAuto:
		v.add("export.delimiter", "auto is only for import; the export needs a fixed delimiter: \";\", \",\" or tab")
	default:
		v.oneOf("export.delimiter", ex.Delimiter, ";", ",", DelimiterTab, "\t")
	}
	v.oneOf("export.decimal", ex.Decimal, DecimalComma, DecimalPoint)
	switch ex.Encoding {
	case EncodingAuto:
		v.add("export.encoding", "auto is only for import; the export needs utf-8 or windows-1252")
	default:
		v.oneOf("export.encoding", ex.Encoding, EncodingUTF8, EncodingWindows1252)
	}
	if err := checkLayout(ex.DateFormat); err != nil {
		v.add("export.date_format", "%v", err)
	}
}

// checkLayout requires a Go time layout to write a date and read the same
// date back. A layout without year, month or day ("02/01", "2006-01"), or a
// non-layout ("dd/mm/yyyy", which Go writes literally), fails this.
func checkLayout(layout string) error {
	if strings.TrimSpace(layout) == "" {
		return fmt.Errorf("date format is empty; write a Go layout such as 2006-01-02 or 02/01/2006")
	}
	for _, d := range []time.Time{
		time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC), // single digits catch "1" and "2" layouts read as other fields
		// The ends of the years a file may carry: a two-digit year
		// writes 2200 as "00", read back as 2000.
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2200, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		s := d.Format(layout)
		back, err := time.Parse(layout, s)
		if err != nil || back.Year() != d.Year() || back.Month() != d.Month() || back.Day() != d.Day() {
			return fmt.Errorf("date format %q does not read back the date it writes (%s is written %q); a Go layout needs the year 2006, month 01 and day 02, e.g. 02/01/2006",
				layout, d.Format(rules.DateLayout), s)
		}
	}
	return nil
}

// line is the line of key, or of the nearest enclosing key that was
// written; 0 when none was.
func (c *Config) line(key string) int {
	for {
		if l, ok := c.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
}
