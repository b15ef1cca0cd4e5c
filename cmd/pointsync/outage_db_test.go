package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/ntsdb"
	"github.com/pointsync/pointsync/internal/tdstest"
	"github.com/pointsync/pointsync/internal/testdb"
	"github.com/pointsync/pointsync/internal/testflags"
	"github.com/pointsync/pointsync/internal/wcdb"
	"github.com/pointsync/pointsync/server"
)

// The outage tests run the real daemon while a database it works with
// goes away in the middle of its work and comes back: the shop's MariaDB,
// the ledger's MariaDB, the ERP's SQL Server (the loopback TDS server,
// its connections cut in the middle of a result set, then refusing
// connections). Each checks that the daemon keeps running, logs the
// fault with the job and its cause, retries after growing waits, shows
// the job failing in `status`, `status --json` and /metrics, and, once
// the fault ends, catches up: the ledger (every balance and the set of
// movements) and the shop's balance table end equal to an uninterrupted
// run of the same workload. POINTSYNC_TEST_LONG=1 keeps each database
// down for more than a minute.

// dbOutageToken is the admin token of the outage tests' web servers.
const dbOutageToken = "db-outage-admin-token-0123456789abcdef"

// dbOutageDown is how long a database stays down: several seconds in CI,
// more than a minute in the long variant. It stays down longer when the
// failures the test waits for take longer to show.
func dbOutageDown() time.Duration { return testflags.Pick(5*time.Second, 70*time.Second) }

// dbOutageDaemon is `pointsync run` with its web server, watched by an
// outage test.
type dbOutageDaemon struct {
	t      *testing.T
	site   *site
	cmd    *exec.Cmd
	logs   *logBuffer
	addr   string
	exited chan error // the exit, once it has exited
}

// dbWithServer appends a web server on a free port, with the admin token
// dbOutageToken, to the site's configuration, and returns its address.
func dbWithServer(t *testing.T, s *site) string {
	t.Helper()
	addr := freeAddr(t)
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data) + fmt.Sprintf("server:\n  listen: %s\n  tokens:\n    - {name: monitor, scopes: [admin], sha256: %s}\n",
		addr, server.HashToken(dbOutageToken))
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startDBOutageDaemon starts the daemon of a site configured by dbWithServer
// and waits until its web server answers.
func startDBOutageDaemon(t *testing.T, s *site, addr string) *dbOutageDaemon {
	t.Helper()
	cmd, logs := s.daemon()
	d := &dbOutageDaemon{t: t, site: s, cmd: cmd, logs: logs, addr: addr, exited: make(chan error, 1)}
	go func() { d.exited <- cmd.Wait() }()
	waitUntil(t, "the daemon's web server", logs, func() bool {
		code, _ := d.get("/readyz")
		return code != 0
	})
	return d
}

// get does an authenticated GET on the daemon's web server; code 0 when
// it does not answer.
func (d *dbOutageDaemon) get(path string) (int, string) {
	req, err := http.NewRequest("GET", "http://"+d.addr+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+dbOutageToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metric reads one series of /metrics, e.g.
// pointsync_job_consecutive_failures{job="erp"}; false when it is absent.
func (d *dbOutageDaemon) metric(series string) (float64, bool) {
	d.t.Helper()
	code, text := d.get("/metrics")
	if code != http.StatusOK {
		d.t.Fatalf("GET /metrics: %d\n%s", code, text)
	}
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				d.t.Fatalf("/metrics: %s: %v", line, err)
			}
			return f, true
		}
	}
	return 0, false
}

// alive fails the test when the daemon has exited.
func (d *dbOutageDaemon) alive(when string) {
	d.t.Helper()
	select {
	case err := <-d.exited:
		d.t.Fatalf("the daemon exited %s (%v); its log:\n%s", when, err, d.logs.String())
	default:
	}
}

// stop stops the daemon with SIGTERM and wants exit 0.
func (d *dbOutageDaemon) stop() {
	d.t.Helper()
	d.alive("before SIGTERM")
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			d.t.Fatalf("the daemon exited with %v after SIGTERM:\n%s", err, d.logs.String())
		}
	case <-time.After(time.Minute):
		d.t.Fatalf("the daemon did not stop within a minute of SIGTERM:\n%s", d.logs.String())
	}
}

// dbLogEntry is a line of the daemon's JSON log.
type dbLogEntry struct {
	Time    time.Time
	Level   string  `json:"level"`
	Msg     string  `json:"msg"`
	Job     string  `json:"job"`
	Attempt int     `json:"attempt"`
	Wait    float64 `json:"wait"` // seconds
	Rows    int64   `json:"rows"`
	Error   string  `json:"error"`
}

// entries parses the daemon's log so far; lines that are not JSON (none
// are expected) are skipped.
func (d *dbOutageDaemon) entries() []dbLogEntry {
	var out []dbLogEntry
	sc := bufio.NewScanner(strings.NewReader(d.logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e dbLogEntry
		var raw struct {
			Time string `json:"time"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || json.Unmarshal(sc.Bytes(), &raw) != nil {
			continue
		}
		t, err := time.Parse("2006-01-02T15:04:05.000Z0700", raw.Time)
		if err != nil {
			d.t.Fatalf("log time %q: %v", raw.Time, err)
		}
		e.Time = t
		out = append(out, e)
	}
	return out
}

// dbFailures counts in the log the failed runs of job (msg "job failed")
// and its failed attempts (retried or not) whose error holds cause.
func dbFailures(entries []dbLogEntry, job, cause string) (runs, attempts int) {
	for _, e := range entries {
		if e.Job != job || !strings.Contains(e.Error, cause) {
			continue
		}
		switch e.Msg {
		case "job failed":
			runs++
			attempts++
		case "job failed, retrying":
			attempts++
		}
	}
	return runs, attempts
}

// dbWantBackoff checks in the log that job's failed attempts were
// retried after growing waits: within a run (attempts 1, 2, 3, ...) each
// wait is longer than the one before, and each attempt failed no sooner
// than the previous one's wait after it. It returns the longest sequence
// of growing waits seen.
func dbWantBackoff(t *testing.T, entries []dbLogEntry, job string) []float64 {
	t.Helper()
	var longest, run []float64
	var prev *dbLogEntry
	for i := range entries {
		e := &entries[i]
		if e.Job != job || e.Msg != "job failed, retrying" {
			continue
		}
		if e.Attempt == 1 || prev == nil || e.Attempt != prev.Attempt+1 {
			run = nil // a new run
		} else {
			if gap := e.Time.Sub(prev.Time).Seconds(); gap < prev.Wait*0.95 {
				t.Fatalf("%s: attempt %d failed %.3fs after attempt %d, sooner than its wait of %.3fs", job, e.Attempt, gap, prev.Attempt, prev.Wait)
			}
			if e.Wait <= prev.Wait {
				t.Fatalf("%s: the wait after attempt %d is %.3fs, not longer than the %.3fs after attempt %d", job, e.Attempt, e.Wait, prev.Wait, prev.Attempt)
			}
		}
		run = append(run, e.Wait)
		if len(run) > len(longest) {
			longest = slices.Clone(run)
		}
		prev = e
	}
	if len(longest) < 2 {
		t.Fatalf("%s: no failed run was retried twice with growing waits; the log:\n%s", job, dbEntriesText(entries, job))
	}
	return longest
}

// dbEntriesText shows a job's log entries, for failure messages.
func dbEntriesText(entries []dbLogEntry, job string) string {
	var b strings.Builder
	for _, e := range entries {
		if job == "" || e.Job == job {
			fmt.Fprintf(&b, "%s %s %s attempt=%d wait=%.3f rows=%d %s\n", e.Time.Format("15:04:05.000"), e.Level, e.Msg, e.Attempt, e.Wait, e.Rows, e.Error)
		}
	}
	return b.String()
}

// dbJobState is a job's row in `status --json`.
type dbJobState struct {
	Job         string  `json:"job"`
	Running     bool    `json:"running"`
	LastError   string  `json:"last_error"`
	Failures    int64   `json:"consecutive_failures"`
	Runs        int64   `json:"runs"`
	LastSuccess *string `json:"last_success"`
}

// dbStatus is `status --json`.
type dbStatus struct {
	Lease *struct {
		Held   bool   `json:"held"`
		Holder string `json:"holder"`
		Fence  int64  `json:"fence"`
	} `json:"lease"`
	Jobs []dbJobState `json:"jobs"`
}

// dbReadStatus runs `status --json`: the error says why it failed.
func dbReadStatus(s *site) (dbStatus, error) {
	s.t.Helper()
	var st dbStatus
	code, out, errs := s.run("status", "--json")
	if code != 0 {
		return st, fmt.Errorf("status --json: exit %d: %s", code, strings.TrimSpace(errs))
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("status --json: %v\n%s", err, out)
	}
	return st, nil
}

func (st dbStatus) job(name string) dbJobState {
	for _, j := range st.Jobs {
		if j.Job == name {
			return j
		}
	}
	return dbJobState{Job: name}
}

// wantFailing waits until `status --json` shows each job failed at least
// twice in a row with an error holding cause, then checks that the status
// table, /metrics and the log say so too, and that the log shows growing
// waits between attempts. It returns the consecutive failures seen.
func (d *dbOutageDaemon) wantFailing(cause string, jobs ...string) map[string]int64 {
	d.t.Helper()
	seen := map[string]int64{}
	dbPoll(d.t, "status to show "+strings.Join(jobs, ", ")+" failing twice with "+cause, 250*time.Millisecond, time.Minute, d.logs, func() bool {
		d.alive("during the outage")
		st, err := dbReadStatus(d.site)
		if err != nil {
			d.t.Fatal(err)
		}
		for _, name := range jobs {
			j := st.job(name)
			if j.Failures < 2 || !strings.Contains(j.LastError, cause) {
				return false
			}
			seen[name] = j.Failures
		}
		return true
	})
	code, out, errs := d.site.run("status")
	if code != 0 {
		d.t.Fatalf("status: exit %d\n%s%s", code, out, errs)
	}
	entries := d.entries()
	for _, name := range jobs {
		row := ""
		for line := range strings.Lines(out) {
			if strings.HasPrefix(line, name+" ") {
				row = line
			}
		}
		// A job that runs again shows "running", with its last error.
		if (!strings.Contains(row, "failing (") && !strings.Contains(row, "running")) || !strings.Contains(row, cause) {
			d.t.Errorf("the status table does not show %s failing with %q:\n%s", name, cause, out)
		}
		if v, ok := d.metric(`pointsync_job_consecutive_failures{job="` + name + `"}`); !ok || v < 2 {
			d.t.Errorf("/metrics: %s consecutive failures %v (present %v); want at least 2", name, v, ok)
		}
		if v, ok := d.metric(`pointsync_job_duration_seconds_count{job="` + name + `",outcome="error"}`); !ok || v < 2 {
			d.t.Errorf("/metrics: %s failed runs %v (present %v); want at least 2", name, v, ok)
		}
		if runs, _ := dbFailures(entries, name, cause); runs == 0 {
			d.t.Errorf("the log has no error naming job %s and %q:\n%s", name, cause, dbEntriesText(entries, name))
		}
		dbWantBackoff(d.t, entries, name)
	}
	if d.t.Failed() {
		d.t.FailNow()
	}
	return seen
}

// wantRecovered waits until every job in jobs ran without error again:
// no failure in a row in `status --json` nor in /metrics.
func (d *dbOutageDaemon) wantRecovered(jobs ...string) {
	d.t.Helper()
	dbPoll(d.t, strings.Join(jobs, ", ")+" to run without error again", 250*time.Millisecond, time.Minute, d.logs, func() bool {
		d.alive("after the outage")
		st, err := dbReadStatus(d.site)
		if err != nil {
			return false
		}
		for _, name := range jobs {
			if j := st.job(name); j.Failures != 0 || j.LastSuccess == nil {
				return false
			}
		}
		return true
	})
	for _, name := range jobs {
		if v, ok := d.metric(`pointsync_job_consecutive_failures{job="` + name + `"}`); !ok || v != 0 {
			d.t.Fatalf("/metrics after the outage: %s consecutive failures %v (present %v); want 0", name, v, ok)
		}
	}
}

// dbPoll is waitUntil polling every every for up to within: the
// conditions that run a command or parse the log are polled less often,
// so as not to load the machine the daemon runs on.
func dbPoll(t *testing.T, what string, every, within time.Duration, logs *logBuffer, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(every) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; the daemon's log:\n%s", within, what, logs.String())
		}
	}
}

// dbFeeder writes a workload item by item while the daemon runs, as the
// shop's checkout or the ERP's users do. An outage takes its gate, so the
// feeder waits for the database, as they would, and no write is in
// flight when it goes down.
type dbFeeder struct {
	gate    sync.RWMutex
	written atomic.Int64
	done    chan error
}

// dbFeed writes items 0 to n-1 with write, pausing pace after every chunk.
func dbFeed(n, chunk int, pace time.Duration, write func(i int) error) *dbFeeder {
	f := &dbFeeder{done: make(chan error, 1)}
	go func() {
		for i := range n {
			f.gate.RLock()
			err := write(i)
			for try := 0; err != nil && try < 3; try++ {
				// a pooled connection the outage broke
				time.Sleep(200 * time.Millisecond)
				err = write(i)
			}
			f.gate.RUnlock()
			if err != nil {
				f.done <- fmt.Errorf("feeding item %d: %w", i, err)
				return
			}
			f.written.Add(1)
			if (i+1)%chunk == 0 {
				time.Sleep(pace)
			}
		}
		f.done <- nil
	}()
	return f
}

// wait waits for the feeder to write everything.
func (f *dbFeeder) wait(t *testing.T, logs *logBuffer) {
	t.Helper()
	select {
	case err := <-f.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the feeder did not finish (%d written); the daemon's log:\n%s", f.written.Load(), logs.String())
	}
}

// dbShopLoad is a seeded workload of the shop and the ERP: registered
// customers, their web orders, and for each order not cancelled the ERP's
// order and its invoice. Times are days before now, one order every two
// seconds, so the shop's cursor (the update time) grows with the orders.
type dbShopLoad struct {
	users     []int64
	orders    []wcdb.Order
	erpOrders []ntsdb.Order
	invoices  []ntsdb.Document
}

func newDBShopLoad(seed uint64, users, orders int) *dbShopLoad {
	rnd := rand.New(rand.NewPCG(seed, seed))
	base := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	l := &dbShopLoad{}
	for i := range users {
		l.users = append(l.users, int64(2001+i))
	}
	for i := range orders {
		user := l.users[rnd.IntN(len(l.users))]
		status := "wc-processing"
		switch k := rnd.IntN(10); {
		case k == 0:
			status = "wc-cancelled"
		case k < 3:
			status = "wc-completed"
		}
		o := wcdb.Order{ID: int64(80001 + i), Customer: user, Email: fmt.Sprintf("u%d@example.com", user), Status: status,
			Created: base.Add(time.Duration(2*i) * time.Second)}
		key := ntsdb.OrderKey{Year: base.Year(), Series: "W", Number: i + 1}
		erp := ntsdb.Order{Key: key, Account: int(user), Date: o.Created.Add(time.Hour), Web: strconv.FormatInt(o.ID, 10)}
		inv := ntsdb.Document{Type: "A", Year: base.Year(), Series: "A", Number: i + 1, Account: int(user), Date: o.Created.Add(24 * time.Hour)}
		for k := range 1 + rnd.IntN(3) {
			cents := 500 + rnd.IntN(20000)
			amount := fmt.Sprintf("%d.%02d", cents/100, cents%100)
			qty := 1 + rnd.IntN(3)
			product := int64(1 + rnd.IntN(50))
			o.Items = append(o.Items, wcdb.Item{Product: product, Name: fmt.Sprintf("P%d", product), Quantity: qty, Subtotal: amount, Total: amount})
			erp.Lines = append(erp.Lines, ntsdb.Line{Row: k + 1, Product: fmt.Sprintf("P%d", product), Quantity: strconv.Itoa(qty), Net: amount})
			inv.Lines = append(inv.Lines, ntsdb.Line{Row: k + 1, Product: fmt.Sprintf("P%d", product), Quantity: strconv.Itoa(qty), Gross: amount,
				Order: &erp.Key, OrderRow: k + 1})
		}
		l.orders = append(l.orders, o)
		if status != "wc-cancelled" {
			l.erpOrders = append(l.erpOrders, erp)
			l.invoices = append(l.invoices, inv)
		}
	}
	return l
}

// addUsers registers the workload's customers in the shop.
func (l *dbShopLoad) addUsers(t *testing.T, shop *sql.DB) {
	t.Helper()
	at := time.Now().UTC().Add(-96 * time.Hour)
	for _, u := range l.users {
		if err := wcdb.AddUser(context.Background(), shop, u, fmt.Sprintf("u%d@example.com", u), at); err != nil {
			t.Fatal(err)
		}
	}
}

// dbFastConfig edits the example configuration for an outage test:
// every job every second or two, three retries after 200 ms, 400 ms and
// 800 ms.
func dbFastConfig(c string) string {
	for _, every := range []string{"1m", "5m"} {
		c = strings.ReplaceAll(c, `schedule: "@every `+every+`"`, `schedule: "@every 1s"`)
	}
	for _, every := range []string{"10m", "15m"} {
		c = strings.ReplaceAll(c, `schedule: "@every `+every+`"`, `schedule: "@every 2s"`)
	}
	return strings.Replace(c, "daemon:\n  batch_size: 500\n", "daemon:\n  batch_size: 500\n  retries: 3\n  backoff: 200ms\n  max_backoff: 1s\n", 1)
}

// dbShopTable lists the shop's balance table, without the time of writing.
func dbShopTable(t *testing.T, shop *sql.DB) []string {
	t.Helper()
	rows, err := shop.Query(`SELECT customer_id, program, earned, provisional, spent, expired, COALESCE(CAST(expiring_date AS CHAR), '-'),
		COALESCE(expiring_points, 0) FROM wp_pointsync_balances ORDER BY customer_id, program`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c, p, date string
		var e, pr, sp, ex, pts int64
		if err := rows.Scan(&c, &p, &e, &pr, &sp, &ex, &date, &pts); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %d %d %d %d %s %d", c, p, e, pr, sp, ex, date, pts))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dbOutcome is what a run of a workload left: the balances as `export`
// writes them, per program, the set of movements and the shop's balance
// table.
type dbOutcome struct {
	exports   map[string]string
	movements []string
	shop      []string
}

func dbCollect(t *testing.T, s *site, shop *sql.DB, programs ...string) dbOutcome {
	t.Helper()
	o := dbOutcome{exports: map[string]string{}, movements: movementSet(t, s)}
	for _, p := range programs {
		code, out, errs := s.run("export", "--program", p, "-")
		if code != 0 {
			t.Fatalf("export --program %s: exit %d\n%s", p, code, errs)
		}
		o.exports[p] = out
	}
	if shop != nil {
		o.shop = dbShopTable(t, shop)
	}
	return o
}

// dbWantSame compares a run after an outage with the uninterrupted one and
// returns how many movements and balances matched.
func dbWantSame(t *testing.T, got, want dbOutcome) (movements, balances int) {
	t.Helper()
	for p, w := range want.exports {
		if g := got.exports[p]; g != w {
			t.Errorf("the %s balances differ from the uninterrupted run (%d and %d lines):\n%s", p, strings.Count(g, "\n"), strings.Count(w, "\n"), dbLineDiff(g, w))
		}
		balances += strings.Count(w, "\n") - 1
	}
	if !slices.Equal(got.movements, want.movements) {
		t.Errorf("the movements differ from the uninterrupted run (%d and %d):\n%s", len(got.movements), len(want.movements),
			dbLineDiff(strings.Join(got.movements, "\n"), strings.Join(want.movements, "\n")))
	}
	if !slices.Equal(got.shop, want.shop) {
		t.Errorf("the shop's balance table differs from the uninterrupted run's (%d and %d rows):\n%s", len(got.shop), len(want.shop),
			dbLineDiff(strings.Join(got.shop, "\n"), strings.Join(want.shop, "\n")))
	}
	if t.Failed() {
		t.FailNow()
	}
	return len(want.movements), balances
}

// dbLineDiff shows up to ten lines found in only one of two texts.
func dbLineDiff(got, want string) string {
	count := map[string]int{}
	for l := range strings.Lines(want) {
		count[strings.TrimSuffix(l, "\n")]++
	}
	for l := range strings.Lines(got) {
		count[strings.TrimSuffix(l, "\n")]--
	}
	var out []string
	for l, n := range count {
		switch {
		case n > 0:
			out = append(out, "missing: "+l)
		case n < 0:
			out = append(out, "extra:   "+l)
		}
	}
	slices.Sort(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... and %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}

// dbSteps returns a function that logs a step of a test with the time
// since the test began, so a slow run shows where its time went.
func dbSteps(t *testing.T) func(what string) {
	start := time.Now()
	return func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }
}

// dbWaitForStatement waits until another connection of a MariaDB server
// runs a statement like pattern (SQL LIKE): the daemon's, stuck on a row
// the test holds.
func dbWaitForStatement(t *testing.T, what string, db *sql.DB, pattern string, logs *logBuffer) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		err := db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND info LIKE ?", pattern).Scan(&n)
		if err != nil {
			t.Fatalf("list the server's statements: %v", err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			var list []string
			if rows, err := db.Query("SELECT CONCAT(command, ' ', COALESCE(state, ''), ': ', COALESCE(info, '')) FROM information_schema.processlist"); err == nil {
				for rows.Next() {
					var l string
					if rows.Scan(&l) == nil {
						list = append(list, l)
					}
				}
				rows.Close()
			}
			t.Fatalf("timed out waiting for %s (a statement like %s); the server runs:\n%s\nthe daemon's log:\n%s", what, pattern,
				strings.Join(list, "\n"), logs.String())
		}
	}
}

// TestOutageShopMariaDB: the shop's MariaDB (a private server) is stopped
// with SIGTERM while the daemon reads the shop's new orders and writes
// the balance table (its write is waiting on a row lock at that moment,
// so it is cut in the middle), stays down for several seconds while the
// shop's orders wait, and starts again.
func TestOutageShopMariaDB(t *testing.T) {
	if testing.Short() {
		t.Skip("stops a private MariaDB server under the daemon for several seconds; skipped with -short")
	}
	seed := testflags.Seed(t, 13)
	step := dbSteps(t)
	load := newDBShopLoad(seed, testflags.Pick(40, 300), testflags.Pick(240, 3000))
	maria := testdb.NewMariaDB(t)
	t.Setenv(testdb.Env, maria.DSN(""))
	// The shop databases are dropped at the end: the server must be up
	// then, even when the test stopped while it was down.
	defer func() {
		if err := maria.Start(); err != nil {
			t.Error(err)
		}
	}()

	// The reference: the same workload, uninterrupted.
	ref := newSQLSite(t, dbFastConfig)
	load.addUsers(t, ref.shop)
	ref.sync()
	for _, o := range load.orders {
		ref.must(wcdb.AddOrder(context.Background(), ref.shop, o))
	}
	ref.sync()
	want := dbCollect(t, ref.site, ref.shop, "shop")
	step("the uninterrupted run")

	s := newSQLSite(t, dbFastConfig)
	addr := dbWithServer(t, s.site)
	load.addUsers(t, s.shop)
	s.sync()
	d := startDBOutageDaemon(t, s.site, addr)
	step("the daemon started")
	f := dbFeed(len(load.orders), 10, 100*time.Millisecond, func(i int) error {
		return wcdb.AddOrder(context.Background(), s.shop, load.orders[i])
	})

	// Both the orders and the balance table are at work; then a
	// transaction of the shop's holds the balance rows, the next write of
	// the export waits on it, and the server is stopped under it.
	dbPoll(t, "the shop's orders and balance table to be at work", 100*time.Millisecond, time.Minute, d.logs, func() bool {
		var orders, balances bool
		for _, e := range d.entries() {
			orders = orders || (e.Job == "shop-orders" && e.Msg == "job done" && e.Rows > 0)
			balances = balances || (e.Job == "shop-balances" && e.Msg == "job done" && e.Rows > 0)
		}
		return orders && balances && f.written.Load() > 0
	})
	lock, err := s.shop.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec("SELECT COUNT(*) FROM wp_pointsync_balances FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	step("the shop's balance rows locked")
	dbWaitForStatement(t, "the balance export to wait on the shop's lock", s.shop, "INSERT INTO `wp_pointsync_balances`%", d.logs)
	step("the balance export waits")
	f.gate.Lock()
	step("the feeder waits")
	written := f.written.Load()
	if err := maria.Stop(); err != nil {
		t.Fatal(err)
	}
	_ = lock.Rollback() // its connection is gone with the server
	downAt := time.Now()
	step("the shop's server stopped")

	seen := d.wantFailing("connection refused", "shop-orders", "shop-balances")
	cut := d.cutMidStatement("shop-balances")
	if cut == "" {
		t.Fatalf("the balance write waiting on the lock was not cut by the stop; the log:\n%s", dbEntriesText(d.entries(), "shop-balances"))
	}
	time.Sleep(time.Until(downAt.Add(dbOutageDown())))
	if err := maria.Start(); err != nil {
		t.Fatal(err)
	}
	down := time.Since(downAt)
	step("the shop's server started again")
	f.gate.Unlock()
	if written == int64(len(load.orders)) {
		t.Fatal("every order was written before the outage: make the workload larger")
	}
	d.alive("after the outage")
	f.wait(t, d.logs)
	d.wantRecovered("shop-orders", "shop-balances")
	dbPoll(t, "the shop's balance table to catch up", 200*time.Millisecond, 2*time.Minute, d.logs, func() bool {
		return slices.Equal(dbShopTable(t, s.shop), want.shop)
	})
	step("caught up")
	d.stop()
	entries := d.entries()
	runs, attempts := dbFailures(entries, "shop-orders", "")
	bruns, battempts := dbFailures(entries, "shop-balances", "")
	moves, balances := dbWantSame(t, dbCollect(t, s.site, s.shop, "shop"), want)
	t.Logf("SUMMARY fault: the shop's MariaDB stopped (SIGTERM) under a waiting balance write (cut: %q), %d of %d orders written before; down %s; "+
		"failures: shop-orders %d run(s)/%d attempt(s) (status showed %d in a row), shop-balances %d/%d (status %d); "+
		"caught up: %d orders, %d movements, %d balances and %d shop table rows equal to the uninterrupted run",
		cut, written, len(load.orders), down.Round(100*time.Millisecond), runs, attempts, seen["shop-orders"], bruns, battempts, seen["shop-balances"],
		len(load.orders), moves, balances, len(want.shop))
}

// cutMidStatement returns the cause of job's first failed attempt when it
// was cut in the middle of a statement rather than refused a connection.
func (d *dbOutageDaemon) cutMidStatement(job string) string {
	for _, e := range d.entries() {
		if e.Job == job && strings.HasPrefix(e.Msg, "job failed") {
			if strings.Contains(e.Error, "connection refused") {
				return ""
			}
			cause, _, _ := strings.Cut(e.Error, " (check") // the advice that follows is long
			return cause
		}
	}
	return ""
}

// dbStoresFile is a till file of rows receipts on cards 0420000000 on, from
// receipt first on; every seventh spends 0.50.
func dbStoresFile(seed uint64, first, rows, cards int) string {
	var b strings.Builder
	b.WriteString("store;till;receipt;line;at;card;gross;discount;spent\n")
	rnd := rand.New(rand.NewPCG(seed, seed))
	for i := first; i < first+rows; i++ {
		spent := "0"
		if i%7 == 3 {
			spent = "0,50"
		}
		fmt.Fprintf(&b, "S%02d;%d;%d;1;12/07/2026 %02d:%02d;0420%06d;%d,%02d;0;%s\n", i%5, i%3, i, 8+i%10, i%60, rnd.IntN(cards), 1+rnd.IntN(200), rnd.IntN(100), spent)
	}
	return b.String()
}

// TestOutageLedgerMariaDB: the ledger's MariaDB (a private server) is
// killed with SIGKILL while the daemon commits a till file's batch (the
// batch is waiting on a row lock at that moment), stays down for longer
// than the lease's TTL, and starts again. The daemon loses its lease,
// stops every job and writes nothing until it holds the lease again;
// meanwhile it does not exit and its web server says it is not active;
// when the server is back it takes the lease itself and finishes, and the
// ledger equals an uninterrupted run's.
func TestOutageLedgerMariaDB(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a private MariaDB server under the daemon's ledger for several seconds; skipped with -short")
	}
	seed := testflags.Seed(t, 17)
	step := dbSteps(t)
	rows := testflags.Pick(1000, 20000)
	const later = 200 // receipts dropped while the ledger is down
	first := dbStoresFile(seed, 0, rows, 500)
	second := dbStoresFile(seed+1, rows, later, 500)
	maria := testdb.NewMariaDB(t)
	dsn, err := maria.CreateDatabase("ledger")
	if err != nil {
		t.Fatal(err)
	}

	ref := newSite(t, 20)
	ref.drop("stores", "a.csv", first)
	ref.drop("stores", "b.csv", second)
	ref.sync()
	want := dbCollect(t, ref, nil, "card")
	step("the uninterrupted run")

	const ttl = 3 * time.Second
	s := newSite(t, 20)
	s.useMySQL(dsn, ttl)
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(data), "log: {level: info}", "log: {level: info, format: json}", 1)
	cfg = strings.Replace(cfg, "retries: 1, backoff: 100ms", "retries: 3, backoff: 200ms", 1)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := dbWithServer(t, s)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	d := startDBOutageDaemon(t, s, addr)
	waitUntil(t, "the daemon to take the lease", d.logs, func() bool { return d.logs.has("took the ledger's lease") })
	step("the daemon took the lease")
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	holder := host + ":" + strconv.Itoa(d.cmd.Process.Pid) + "/"
	s.drop("stores", "a.csv", first)
	waitUntil(t, "the first batches of the file to commit", d.logs, func() bool {
		var c string
		err := db.QueryRow("SELECT cursor_value FROM cursors WHERE source = 'stores'").Scan(&c)
		return err == nil && c != ""
	})
	// Holding every movement (and the gaps between them) makes the next
	// batch wait at its first movement, its transaction open, when the
	// server dies.
	lock, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec("SELECT COUNT(*) FROM movements FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	dbWaitForStatement(t, "a batch to wait on the movements' lock", db, "INSERT INTO movements%", d.logs)
	if err := maria.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = lock.Rollback()
	downAt := time.Now()
	step("the ledger's server killed")
	processing := filepath.Join(s.dir, "drops/stores/processing/a.csv")
	if _, err := os.Stat(processing); err != nil {
		t.Fatalf("the file was finished before the kill; make it larger (%v)", err)
	}
	s.drop("stores", "b.csv", second)

	// The lease runs out: every job stops; the web server answers and
	// says this daemon is not active; status cannot read the ledger and
	// says so.
	waitUntil(t, "the daemon to lose its lease", d.logs, func() bool { return d.logs.has("LEASE LOST") })
	lostAt := time.Now()
	step("the lease lost")
	d.alive("after losing the lease")
	if code, body := d.get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz without the ledger: %d %s; want 503", code, body)
	}
	if v, ok := d.metric("pointsync_active"); !ok || v != 0 {
		t.Errorf("/metrics pointsync_active %v (present %v) after the lease was lost; want 0", v, ok)
	}
	if v, ok := d.metric("pointsync_ledger_scrape_errors"); !ok || v != 1 {
		t.Errorf("/metrics pointsync_ledger_scrape_errors %v (present %v) without the ledger; want 1", v, ok)
	}
	if v, ok := d.metric(`pointsync_job_duration_seconds_count{job="stores",outcome="error"}`); !ok || v < 1 {
		t.Errorf("/metrics: the stores job's failed runs %v (present %v); want at least 1", v, ok)
	}
	if _, err := dbReadStatus(s); err == nil || !strings.Contains(err.Error(), maria.Addr()) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("status without the ledger: %v; want an error naming %s and connection refused", err, maria.Addr())
	}
	if t.Failed() {
		t.FailNow()
	}
	waitUntil(t, "the standby to fail to reach the ledger", d.logs, func() bool {
		return d.logs.has("standby: cannot try to take the ledger's lease")
	})
	time.Sleep(time.Until(downAt.Add(max(dbOutageDown(), 2*ttl))))
	d.alive("while the ledger was down")
	if err := maria.Start(); err != nil {
		t.Fatal(err)
	}
	down := time.Since(downAt)
	step("the ledger's server started again")
	dbPoll(t, "both files to be applied", 100*time.Millisecond, 2*time.Minute, d.logs, func() bool {
		d.alive("after the ledger came back")
		_, err := os.Stat(processing)
		return os.IsNotExist(err) && len(s.files("drops/stores/archive")) == 2
	})
	step("caught up")
	d.wantRecovered("stores")
	if v, ok := d.metric("pointsync_active"); !ok || v != 1 {
		t.Fatalf("/metrics pointsync_active %v (present %v) after the ledger came back; want 1", v, ok)
	}
	d.stop()

	// Nothing was written between the loss of the lease and its taking
	// again; the lease was taken again by the same daemon, fence 2.
	entries := d.entries()
	lost, retaken := -1, -1
	for i, e := range entries {
		switch {
		case lost < 0 && strings.HasPrefix(e.Msg, "LEASE LOST"):
			lost = i
		case lost >= 0 && strings.HasPrefix(e.Msg, "took the ledger's lease"):
			retaken = i
		}
		if retaken >= 0 {
			break
		}
		if lost >= 0 && e.Msg == "job done" && e.Rows > 0 {
			t.Fatalf("job %s applied %d row(s) after losing the lease, before taking it again:\n%s", e.Job, e.Rows, dbEntriesText(entries, ""))
		}
	}
	if lost < 0 || retaken < 0 {
		t.Fatalf("the log does not show the lease lost and taken again:\n%s", dbEntriesText(entries, ""))
	}
	if !strings.Contains(entries[lost].Error, "connection refused") && !strings.Contains(entries[lost].Error, "could not be renewed") {
		t.Errorf("the lease loss does not say why: %q", entries[lost].Error)
	}
	// The ledger agrees: no movement recorded (by the daemon's clock, as
	// its log) between the loss and the taking again, some after.
	var between, after int
	if err := db.QueryRow("SELECT COUNT(CASE WHEN recorded_at < ? THEN 1 END), COUNT(CASE WHEN recorded_at >= ? THEN 1 END) FROM movements WHERE recorded_at > ?",
		entries[retaken].Time.UnixMicro(), entries[retaken].Time.UnixMicro(), entries[lost].Time.UnixMicro()).Scan(&between, &after); err != nil {
		t.Fatal(err)
	}
	if between != 0 || after == 0 {
		t.Fatalf("movements recorded between the loss of the lease (%s) and its taking again (%s): %d, after: %d; want none, then some",
			entries[lost].Time.Format("15:04:05.000"), entries[retaken].Time.Format("15:04:05.000"), between, after)
	}
	st, err := dbReadStatus(s)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lease == nil || st.Lease.Held || !strings.HasPrefix(st.Lease.Holder, holder) || st.Lease.Fence != 2 {
		t.Fatalf("the lease after the outage and SIGTERM: %+v; want free, last held by %s with fence 2", st.Lease, holder)
	}
	runs, attempts := dbFailures(entries, "stores", "")
	var retries []float64
	if attempts > 1 {
		retries = dbWantBackoff(t, entries, "stores")
	}
	standby := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Msg, "standby: cannot try to take the ledger's lease") {
			standby++
		}
	}
	moves, balances := dbWantSame(t, dbCollect(t, s, nil, "card"), want)
	t.Logf("SUMMARY fault: the ledger's MariaDB killed (SIGKILL) under a batch in flight, lease_ttl %s; down %s, lease lost %s after the kill; "+
		"failures: stores %d run(s)/%d attempt(s) (waits %v s), %d standby attempt(s) to take the lease; lease taken again (fence 2) by the same daemon; "+
		"caught up: %d receipts in 2 files, %d movements and %d balances equal to the uninterrupted run",
		ttl, down.Round(100*time.Millisecond), lostAt.Sub(downAt).Round(100*time.Millisecond), runs, attempts, retries, standby,
		rows+later, moves, balances)
}

// useOutageERP points the site's ERP at a loopback TDS server of its
// own, with the ERP's tables, and returns it: the outage test cuts its
// connections and pauses it. (newSQLSite's ERP may be a real SQL Server.)
func (s *sqlSite) useOutageERP(t *testing.T) *tdstest.Server {
	t.Helper()
	// Without a trace: the daemon's queries every second would bury the
	// test's own log.
	srv, err := tdstest.Start(tdstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close the loopback SQL Server: %v", err)
		}
	})
	erp, err := sql.Open("sqlserver", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { erp.Close() })
	if err := ntsdb.Create(context.Background(), erp); err != nil {
		t.Fatal(err)
	}
	s.erp = erp
	t.Setenv("POINTSYNC_ERP_DSN", srv.DSN())
	return srv
}

// TestOutageERP: the ERP's SQL Server (the loopback TDS server) loses
// the connection in the middle of the invoices' result set, several times
// in a row, then refuses connections for several seconds while the ERP's
// users go on invoicing the shop's orders.
func TestOutageERP(t *testing.T) {
	if testing.Short() {
		t.Skip("cuts and pauses the ERP's server under the daemon for several seconds; skipped with -short")
	}
	seed := testflags.Seed(t, 19)
	step := dbSteps(t)
	load := newDBShopLoad(seed, testflags.Pick(30, 300), testflags.Pick(100, 2000))
	ctx := context.Background()
	setup := func(s *sqlSite) {
		load.addUsers(t, s.shop)
		for _, o := range load.orders {
			s.must(wcdb.AddOrder(ctx, s.shop, o))
		}
		for _, o := range load.erpOrders {
			s.must(ntsdb.AddOrder(ctx, s.erp, o))
		}
		s.sync()
	}

	ref := newSQLSite(t, dbFastConfig)
	ref.useOutageERP(t)
	setup(ref)
	for _, doc := range load.invoices {
		ref.must(ntsdb.AddDocument(ctx, ref.erp, doc))
	}
	ref.sync()
	want := dbCollect(t, ref.site, ref.shop, "shop")
	step("the uninterrupted run")

	s := newSQLSite(t, dbFastConfig)
	srv := s.useOutageERP(t)
	addr := dbWithServer(t, s.site)
	setup(s)
	// A third of the invoices is there when the daemon starts; every read
	// of them (up to 500 rows) loses its connection after 40 rows until
	// status, the metrics and the log have shown the job failing.
	third := len(load.invoices) / 3
	for _, doc := range load.invoices[:third] {
		s.must(ntsdb.AddDocument(ctx, s.erp, doc))
	}
	const cutRows = 40
	srv.CutResults(cutRows, math.MaxInt)
	d := startDBOutageDaemon(t, s.site, addr)
	step("the daemon started, cuts armed")
	cutSeen := d.wantFailing("Invalid TDS stream", "erp-documents")
	srv.CutResults(0, 0)
	cuts := srv.Cuts()
	cutErr := ""
	for _, e := range d.entries() {
		if e.Job == "erp-documents" && strings.HasPrefix(e.Msg, "job failed") {
			cutErr, _, _ = strings.Cut(e.Error, " (check") // the advice that follows is long
			break
		}
	}
	d.wantRecovered("erp-documents")
	step("recovered from the cuts")

	// The rest is invoiced while the daemon runs; the server refuses
	// connections for a while in the middle.
	rest := load.invoices[third:]
	f := dbFeed(len(rest), 10, 100*time.Millisecond, func(i int) error {
		return ntsdb.AddDocument(ctx, s.erp, rest[i])
	})
	waitUntil(t, "some of the invoices to be written", d.logs, func() bool { return f.written.Load() >= int64(len(rest)/3) })
	f.gate.Lock()
	written := f.written.Load()
	srv.Pause()
	downAt := time.Now()
	step("the ERP's server paused")
	refused := d.wantFailing("connection refused", "erp-documents", "erp-cancellations")
	time.Sleep(time.Until(downAt.Add(dbOutageDown())))
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	down := time.Since(downAt)
	step("the ERP's server resumed")
	f.gate.Unlock()
	f.wait(t, d.logs)
	d.wantRecovered("erp-documents", "erp-cancellations")
	if got := srv.Cuts(); got != cuts {
		t.Fatalf("%d result set(s) cut after the cuts were disarmed", got-cuts)
	}
	dbPoll(t, "the shop's balance table to catch up", 200*time.Millisecond, 2*time.Minute, d.logs, func() bool {
		return slices.Equal(dbShopTable(t, s.shop), want.shop)
	})
	step("caught up")
	d.stop()
	entries := d.entries()
	runs, attempts := dbFailures(entries, "erp-documents", "")
	moves, balances := dbWantSame(t, dbCollect(t, s.site, s.shop, "shop"), want)
	t.Logf("SUMMARY fault: the ERP's TDS connection cut after %d rows of the invoices' result set %d times (%q), then the server refusing connections "+
		"with %d of %d invoices written; down %s; failures: erp-documents %d run(s)/%d attempt(s) (status showed %d in a row while cut, %d while refused); "+
		"caught up: %d invoices, %d movements, %d balances and %d shop table rows equal to the uninterrupted run",
		cutRows, cuts, cutErr, third+int(written), len(load.invoices), down.Round(100*time.Millisecond), runs, attempts,
		cutSeen["erp-documents"], refused["erp-documents"], len(load.invoices), moves, balances, len(want.shop))
}
