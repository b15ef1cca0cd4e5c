package configs

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/pointsync/pointsync/mapping"
)

// jobNameRE keeps job names usable in file names, metrics labels and the
// status table as they are.
var jobNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// HousekeepingJob is the name of the daemon's own job: the expiry sweep
// and periodic gifts on daemon.housekeeping's schedule.
const HousekeepingJob = "housekeeping"

// The daemon's other own jobs: reservations that ran out are released
// (when the web server runs), and points about to expire are announced
// (when that notification is on).
const (
	ReservationsJob = "reservations"
	ExpiringJob     = "expiring-points"
)

// ownJob reports whether n names one of the daemon's own jobs.
func ownJob(n string) bool {
	return n == HousekeepingJob || n == ReservationsJob || n == ExpiringJob
}

// ParseSchedule reads a job's schedule: five cron fields (minute hour
// day month weekday) or a descriptor such as @every 30s or @hourly.
func ParseSchedule(s string) (cron.Schedule, error) {
	return cron.ParseStandard(s)
}

func (v *validator) daemon() {
	d := v.c.Daemon
	if d.BatchSize < 1 || d.BatchSize > 100000 {
		v.add("daemon.batch_size", "must be between 1 and 100000, e.g. 500")
	}
	if d.MemoryLimitMiB < 0 || d.MemoryLimitMiB > 1<<20 {
		v.add("daemon.memory_limit_mib", "must be 0 (no limit) to 1048576 MiB, e.g. 64")
	}
	if d.Retries < 0 || d.Retries > 100 {
		v.add("daemon.retries", "must be between 0 and 100")
	}
	if d.Backoff <= 0 {
		v.add("daemon.backoff", "must be greater than 0, e.g. 2s")
	}
	if d.MaxBackoff < d.Backoff {
		v.add("daemon.max_backoff", "must be at least backoff (%s)", d.Backoff)
	}
	if _, err := ParseSchedule(d.Housekeeping); err != nil {
		v.add("daemon.housekeeping", "%v; write a cron expression such as \"0 * * * *\" or @every 1h", err)
	}
	if d.LockFile != "" && v.c.Ledger.Driver != DriverSQLite {
		v.add("daemon.lock_file", "the lock file is for a SQLite ledger; remove it")
	}
	if d.LeaseTTL < time.Second || d.LeaseTTL > time.Hour {
		v.add("daemon.lease_ttl", "must be between 1s and 1h, e.g. 15s (a standby takes over within about this time)")
	}
}

// jobs checks the connectors and exports: their names share one
// namespace (the status table).
func (v *validator) jobs() {
	names := map[string]string{}
	name := func(base, n string) {
		switch {
		case n == "":
			v.add(base+".name", "a name is needed, e.g. name: stores")
		case !jobNameRE.MatchString(n):
			v.add(base+".name", "name %q is not valid: use 1 to 64 lowercase letters, digits, _ and -", n)
		case ownJob(n):
			v.add(base+".name", "%q is one of the daemon's own jobs (housekeeping, reservations, expiring-points); choose another name", n)
		case names[n] != "":
			v.add(base+".name", "duplicate name %q (first at %s); connector and export names must be unique", n, names[n])
		default:
			names[n] = fmt.Sprintf("line %d", v.c.line(base+".name"))
		}
	}
	for i, c := range v.c.Connectors {
		base := fmt.Sprintf("connectors[%d]", i)
		name(base, c.Name)
		v.connector(base, c)
	}
	drops := map[string]string{}
	for i, c := range v.c.Connectors {
		if c.Kind != ConnectorCSVDrop || c.Drop.Dir == "" {
			continue
		}
		if other, dup := drops[c.Drop.Dir]; dup {
			v.add(fmt.Sprintf("connectors[%d].drop.dir", i), "folder %s is already read by connector %s; each drop connector needs its own folder", c.Drop.Dir, other)
		}
		drops[c.Drop.Dir] = c.Name
	}
	for i, e := range v.c.Exports {
		base := fmt.Sprintf("exports[%d]", i)
		name(base, e.Name)
		v.export(base, e)
	}
}

func (v *validator) schedule(key, s string) {
	if _, err := ParseSchedule(s); err != nil {
		v.add(key, "%v; write a cron expression such as \"*/5 * * * *\" or @every 1m", err)
	}
}

func (v *validator) program(key, id string) bool {
	if id == "" {
		v.add(key, "the program is needed, e.g. program: %s", v.firstProgram())
		return false
	}
	for _, p := range v.c.Programs {
		if p.ID == id {
			return true
		}
	}
	v.add(key, "unknown program %q (programs: %s)", id, strings.Join(v.programIDs(), ", "))
	return false
}

func (v *validator) firstProgram() string {
	if ids := v.programIDs(); len(ids) > 0 {
		return ids[0]
	}
	return "shop"
}

func (v *validator) programIDs() []string {
	ids := make([]string, 0, len(v.c.Programs))
	for _, p := range v.c.Programs {
		ids = append(ids, p.ID)
	}
	return ids
}

func (v *validator) connector(base string, c Connector) {
	if !v.oneOf(base+".kind", c.Kind, ConnectorCSVDrop, ConnectorHTTPPull, ConnectorSQL) {
		return
	}
	v.schedule(base+".schedule", c.Schedule)
	v.program(base+".program", c.Program)
	var fields []mapping.Field
	types := make([]string, 0, 5)
	for _, t := range mapping.Types() {
		types = append(types, string(t))
	}
	recordsNeeded := c.Kind == ConnectorCSVDrop || c.Kind == ConnectorSQL || c.HTTP.Format == FormatRecords
	if recordsNeeded || c.Facts != "" {
		if v.oneOf(base+".facts", c.Facts, types...) {
			fields, _ = mapping.Fields(mapping.Type(c.Facts))
		}
	}
	if c.IdentKind != "" {
		v.oneOf(base+".ident_kind", c.IdentKind, "web", "erp", "card", "email")
	}
	if fields != nil {
		known := make([]string, len(fields))
		for i, f := range fields {
			known[i] = f.Name
		}
		for _, k := range sortedKeys(c.Columns) {
			key := base + ".columns." + k
			if !slices.Contains(known, k) {
				hint := ""
				if s := suggest(k, known); s != "" {
					hint = fmt.Sprintf("did you mean %s? ", s)
				}
				v.add(key, "unknown field %q for %s (%suse %s)", k, c.Facts, hint, strings.Join(known, ", "))
			} else if strings.TrimSpace(c.Columns[k]) == "" {
				if c.Kind == ConnectorSQL {
					v.add(key, "the column is empty; write the name of the query's result column")
				} else {
					v.add(key, "the header is empty; write the column's header as it appears in the file")
				}
			}
		}
	}
	for _, k := range sortedKeys(c.Statuses) {
		v.oneOf(base+".statuses."+k, c.Statuses[k], string(mapping.StatusPlaced), string(mapping.StatusPaymentUnconfirmed),
			string(mapping.StatusPaid), string(mapping.StatusCompleted), string(mapping.StatusCancelled))
	}
	for _, k := range sortedKeys(c.DocumentKinds) {
		v.oneOf(base+".document_kinds."+k, c.DocumentKinds[k], string(mapping.DocDeliveryNote), string(mapping.DocInvoice),
			string(mapping.DocCreditNote), string(mapping.DocCancellation))
	}
	for i, f := range c.DateFormats {
		if err := checkLayout(f); err != nil {
			v.add(joinIndex(base+".date_formats", i), "%v", err)
		}
	}
	if c.Timezone != "" {
		if err := checkTimeZone(c.Timezone); err != nil {
			v.add(base+".timezone", "%v", err)
		}
	}
	switch c.Kind {
	case ConnectorCSVDrop:
		if c.Drop.Dir == "" {
			v.add(base+".drop.dir", "the drop folder is needed, e.g. dir: /var/lib/pointsync/drops/stores (files arrive in its inbox/)")
		}
		if _, err := matchCheck(c.Drop.Pattern); err != nil {
			v.add(base+".drop.pattern", "%v", err)
		}
		if c.Drop.MinAge < 0 {
			v.add(base+".drop.min_age", "cannot be negative")
		}
		v.oneOf(base+".drop.on_bad_row", c.Drop.OnBadRow, BadRowQuarantine, BadRowRejectFile)
		v.csvFiles(base+".csv", c.CSV, true)
	case ConnectorHTTPPull:
		v.http(base+".http", c.HTTP, true)
		if v.oneOf(base+".http.format", c.HTTP.Format, FormatFacts, FormatRecords) && c.HTTP.Format == FormatFacts && len(c.Columns) > 0 {
			v.add(base+".columns", "columns are for format records; facts items are read as they are")
		}
	case ConnectorSQL:
		v.sqlSource(base+".sql", c.SQL)
	}
}

func (v *validator) export(base string, e ExportJob) {
	if !v.oneOf(base+".kind", e.Kind, ExportTillFiles, ExportHTTPPush, ExportSQLTable) {
		return
	}
	v.schedule(base+".schedule", e.Schedule)
	v.program(base+".program", e.Program)
	switch e.Kind {
	case ExportTillFiles:
		if e.Path == "" {
			v.add(base+".path", "the file to write is needed, e.g. path: /var/lib/pointsync/drops/stores/out/{store}/balances.csv")
		}
		per := strings.Contains(e.Path, "{store}")
		switch {
		case per && len(e.Stores) == 0:
			v.add(base+".stores", "path has {store}: list the stores, e.g. stores: [S01, S02]")
		case !per && len(e.Stores) > 0:
			v.add(base+".path", "stores are listed but the path has no {store}; add it where the store's name goes")
		}
		for i, s := range e.Stores {
			if s == "" || strings.ContainsAny(s, `/\`) || s == "." || s == ".." {
				v.add(joinIndex(base+".stores", i), "store %q cannot be part of a file name", s)
			}
		}
		v.csvFiles(base+".csv", e.CSV, false)
	case ExportHTTPPush:
		v.http(base+".http", e.HTTP, false)
		v.oneOf(base+".what", e.What, PushBalances, PushMovements)
	case ExportSQLTable:
		v.sqlTable(base+".sql", e.SQL)
	}
}

func (v *validator) csvFiles(base string, f CSVFiles, reading bool) {
	if reading {
		v.oneOf(base+".delimiter", f.Delimiter, DelimiterAuto, ";", ",", DelimiterTab, "\t")
		v.oneOf(base+".encoding", f.Encoding, EncodingAuto, EncodingUTF8, EncodingWindows1252)
	} else {
		v.oneOf(base+".delimiter", f.Delimiter, ";", ",", DelimiterTab, "\t")
		v.oneOf(base+".encoding", f.Encoding, EncodingUTF8, EncodingWindows1252)
		if f.BOM && f.Encoding == EncodingWindows1252 {
			v.add(base+".bom", "a byte order mark is for utf-8; remove it or set encoding: utf-8")
		}
		if err := checkLayout(f.DateFormat); err != nil {
			v.add(base+".date_format", "%v", err)
		}
	}
	v.oneOf(base+".decimal", f.Decimal, DecimalComma, DecimalPoint)
}

func (v *validator) http(base string, h HTTP, pull bool) {
	u, err := url.Parse(h.URL)
	switch {
	case h.URL == "":
		v.add(base+".url", "the webservice address is needed, e.g. url: https://shop.example.com/pointsync/orders")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.add(base+".url", "%q is not an http:// or https:// address", h.URL)
	case u.User != nil:
		v.add(base+".url", "credentials in the address would be logged; use bearer_token_file or headers")
	}
	if h.Timeout <= 0 {
		v.add(base+".timeout", "must be greater than 0, e.g. 30s")
	}
	if h.Retries < 0 || h.Retries > 20 {
		v.add(base+".retries", "must be between 0 and 20")
	}
	if h.Backoff <= 0 {
		v.add(base+".backoff", "must be greater than 0, e.g. 1s")
	}
	if !pull {
		v.oneOf(base+".method", h.Method, "POST", "PUT")
		if h.BatchSize < 1 || h.BatchSize > 10000 {
			v.add(base+".batch_size", "must be between 1 and 10000, e.g. 500")
		}
	} else if h.HMACSecret != "" || h.HMACSecretFile != "" {
		v.add(base+".hmac_secret", "signing is for pushes (exports); remove it")
	}
	for _, k := range sortedKeys(h.Headers) {
		if strings.EqualFold(k, "Authorization") && (h.BearerToken != "" || h.BearerTokenFile != "") {
			v.add(base+".headers."+k, "Authorization is set by bearer_token; keep one")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// matchCheck refuses a file pattern that is malformed or reaches into
// another folder.
func matchCheck(pattern string) (bool, error) {
	if pattern == "" {
		return false, fmt.Errorf("the pattern is empty; e.g. *.csv")
	}
	if strings.ContainsAny(pattern, `/\`) {
		return false, fmt.Errorf("pattern %q names a folder; give a file name pattern such as *.csv", pattern)
	}
	ok, err := filepath.Match(pattern, "x")
	if err != nil {
		return false, fmt.Errorf("pattern %q is malformed: %v", pattern, err)
	}
	return ok, nil
}
