package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/testflags"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/server"
)

// The local outages of issue 7, each against the real daemon: the webhook
// receiver down for minutes, and the drop folders' disk full or
// read-only. In each the daemon must keep running, log the fault, retry
// with backoff, report it in `pointsync status` and /metrics, and catch up
// when the fault ends with nothing lost or doubled.

// outageToken is the admin token the outage tests read /metrics with.
const outageToken = "outage-admin-token-0123456789abcdef"

// outageSite is a site whose daemon serves /metrics on a free port, tries
// a failing run four times (waits 100, 200 and 400 ms: the backoff
// doubles and stops at max_backoff), writes the tills' balance file every
// 2 s as well as after each sync, and has extra appended to its
// configuration. It returns the web server's address.
func outageSite(t *testing.T, batch int, extra string) (*site, string) {
	t.Helper()
	s := newSite(t, batch)
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	for _, r := range [][2]string{
		{"retries: 1, backoff: 100ms, max_backoff: 1s}", "retries: 3, backoff: 100ms, max_backoff: 400ms}"},
		{"    path: drops/stores/out/balances.csv\n", "    path: drops/stores/out/balances.csv\n    schedule: \"@every 2s\"\n"},
	} {
		if !strings.Contains(cfg, r[0]) {
			t.Fatalf("the site configuration changed; outageSite cannot find %q in it:\n%s", r[0], cfg)
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	addr := freeAddr(t)
	cfg += fmt.Sprintf("server:\n  listen: %s\n  tokens:\n    - {name: office, scopes: [admin], sha256: %s}\n", addr, server.HashToken(outageToken))
	cfg += extra
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, addr
}

// scrapeMetrics reads /metrics into series ("name{labels}") and values.
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+outageToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if line == "" || line[0] == '#' || i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	return out
}

// ready reports whether the daemon's /readyz answers 200: it runs and
// holds its ledger.
func ready(addr string) bool {
	req, err := http.NewRequest("GET", "http://"+addr+"/readyz", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+outageToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// outageStatus is what the tests read of `pointsync status --json`.
type outageStatus struct {
	Jobs []struct {
		Job      string  `json:"job"`
		Failures int64   `json:"consecutive_failures"`
		Runs     int64   `json:"runs"`
		Error    string  `json:"last_error"`
		Lag      float64 `json:"lag_seconds"`
	} `json:"jobs"`
	Outbox struct {
		Pending   int64   `json:"pending"`
		Failing   int64   `json:"failing"`
		OldestAge float64 `json:"oldest_age_seconds"`
	} `json:"outbox"`
}

func (s *site) status() outageStatus {
	s.t.Helper()
	code, out, errs := s.run("status", "--json")
	var st outageStatus
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil {
		s.t.Fatalf("status --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	return st
}

// job is the status of one job; a job not listed fails the test.
func (st outageStatus) job(t *testing.T, name string) (failures, runs int64, lastError string, lag float64) {
	t.Helper()
	for _, j := range st.Jobs {
		if j.Job == name {
			return j.Failures, j.Runs, j.Error, j.Lag
		}
	}
	t.Fatalf("status lists no job %s: %+v", name, st.Jobs)
	return 0, 0, "", 0
}

// receipts is a stores drop file of n receipts numbered from first on,
// each of 1 to 9 whole euros on one of 40 cards (5 cents per euro: SPEC
// E1's program); the bad-th row (1-based, 0 for none) has an amount that
// cannot be read. want adds the cents each card earns.
func receipts(first, n, bad int, want map[string]int64) string {
	var b strings.Builder
	b.WriteString("store;till;receipt;line;at;card;gross;discount;spent\n")
	for i := first; i < first+n; i++ {
		card := fmt.Sprintf("0420%06d", i%40)
		euros := 1 + i%9
		gross := strconv.Itoa(euros) + ",00"
		if i-first+1 == bad {
			gross = "nove"
		} else {
			want["card:"+card] += int64(5 * euros)
		}
		fmt.Fprintf(&b, "S07;1;%d;1;10/07/2026 09:00;%s;%s;0;0\n", i, card, gross)
	}
	return b.String()
}

// cardCredits reads the card program's credit movements from the ledger:
// the cents credited by customer, how many movements each source key has,
// and the points_earned events the outbox owes (one per posted credit) with
// the points each announces.
func cardCredits(t *testing.T, s *site) (byCustomer map[string]int64, keys map[string]int, events map[string]int64) {
	t.Helper()
	e, err := (&common{config: s.config}).open(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	byCustomer, keys, events = map[string]int64{}, map[string]int{}, map[string]int64{}
	var after int64
	for {
		ms, err := e.ledger.MovementsAfter(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			return byCustomer, keys, events
		}
		for _, m := range ms {
			if m.Program != "card" || m.Kind != ledger.KindCredit {
				continue
			}
			byCustomer[string(m.Customer)] += m.Amount
			keys[m.Source+" "+m.Key]++
			if m.State == ledger.StatePosted {
				events[fmt.Sprintf("earned:%d", m.ID)] = m.Amount
			}
		}
		after = ms[len(ms)-1].ID
	}
}

// wantCredits checks that the ledger credited each card exactly what its
// rows earn, one movement per row.
func wantCredits(t *testing.T, s *site, want map[string]int64, rows int) {
	t.Helper()
	got, keys, _ := cardCredits(t, s)
	if !maps.Equal(got, want) {
		t.Fatalf("the cards' credits differ from the rows dropped:\n got %v\nwant %v", got, want)
	}
	for k, n := range keys {
		if n != 1 {
			t.Fatalf("%d credits with source and key %s: a row was applied twice", n, k)
		}
	}
	if len(keys) != rows {
		t.Fatalf("%d credit movements; want one per good row, %d", len(keys), rows)
	}
}

// hookTarget is a webhook receiver that can answer 503 or be down (its
// listener closed: connections refused) and records every POST.
type hookTarget struct {
	t      *testing.T
	addr   string
	secret string

	mu       sync.Mutex
	srv      *http.Server
	unavail  bool                  // answer 503
	attempts map[string][]hookCall // by event id, every POST that arrived
	accepted map[string]int        // by event id, the 2xx answers given
	events   map[string]map[string]any
	badSig   int
}

type hookCall struct {
	at      time.Time
	unavail bool // answered 503
}

func (h *hookTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write(body)
	if !hmac.Equal([]byte(r.Header.Get("X-Pointsync-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
		h.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("X-Pointsync-Event-Id")
	h.attempts[id] = append(h.attempts[id], hookCall{at: now, unavail: h.unavail})
	if h.unavail {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil || ev["id"] != id {
		http.Error(w, fmt.Sprintf("body %q does not carry the event id %q", body, id), http.StatusBadRequest)
		return
	}
	h.accepted[id]++
	h.events[id] = ev
}

// up listens on the receiver's address (the same one each time).
func (h *hookTarget) up() {
	h.t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ln, err = net.Listen("tcp", h.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		h.t.Fatalf("the webhook receiver cannot listen on %s again: %v", h.addr, err)
	}
	srv := &http.Server{Handler: h}
	h.mu.Lock()
	h.srv = srv
	h.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the listener and the connections: the daemon's POSTs are
// refused.
func (h *hookTarget) down() {
	h.mu.Lock()
	srv := h.srv
	h.srv = nil
	h.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (h *hookTarget) setUnavailable(v bool) {
	h.mu.Lock()
	h.unavail = v
	h.mu.Unlock()
}

// delivered lists the ids accepted so far.
func (h *hookTarget) delivered() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.accepted)
}

// TestOutageWebhookDown: the webhook receiver answers 503, then is down
// (connections refused), for a long stretch while the stores keep
// dropping receipts. The daemon keeps applying every file; the outbox's
// backlog shows in /metrics and in status, its oldest age growing; the
// retries of each event wait longer and longer up to max_backoff; when
// the receiver is back every event the ledger owes arrives exactly once,
// signed.
func TestOutageWebhookDown(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps a webhook receiver down for about 25 s; skipped with -short")
	}
	var (
		backoff    = testflags.Pick(200*time.Millisecond, time.Second)
		maxBackoff = testflags.Pick(1600*time.Millisecond, 16*time.Second)
		unavail    = testflags.Pick(10*time.Second, 90*time.Second)  // answering 503
		refused    = testflags.Pick(12*time.Second, 100*time.Second) // listener closed
	)
	const poll = 100 * time.Millisecond
	hook := &hookTarget{t: t, addr: freeAddr(t), secret: "whsec-outage-0123456789abcdef",
		attempts: map[string][]hookCall{}, accepted: map[string]int{}, events: map[string]map[string]any{}}
	hook.up()
	t.Cleanup(hook.down)
	s, addr := outageSite(t, 100, fmt.Sprintf(`notifications:
  events: [points_earned]
  webhook: {url: "http://%s/events", secret: %s, backoff: %s, max_backoff: %s, poll: %s, timeout: 2s}
`, hook.addr, hook.secret, backoff, maxBackoff, poll))
	want := map[string]int64{}
	rows, files := 0, 0
	dropNext := func(n int) {
		t.Helper()
		s.drop("stores", fmt.Sprintf("r%04d.csv", files), receipts(rows, n, 0, want))
		rows += n
		files++
	}
	archived := func() bool {
		return len(s.present("drops/stores/archive")) == files && len(s.present("drops/stores/processing")) == 0
	}
	d, logs := s.daemon()
	waitUntil(t, "the daemon's web server", logs, func() bool { return ready(addr) })

	// The receiver is up: the first receipts' events are delivered.
	dropNext(5)
	waitUntil(t, "the first five events", logs, func() bool { return len(hook.delivered()) == 5 })

	// The outage: 503 answers, then no receiver at all, while a file of
	// three receipts is dropped every second.
	start := time.Now()
	hook.setUnavailable(true)
	var agePrev, ageMid, pendingMid float64
	for phase, until := range []time.Duration{unavail, unavail + refused} {
		if phase == 1 {
			hook.down()
			m := scrapeMetrics(t, addr)
			ageMid, pendingMid = m["pointsync_outbox_oldest_age_seconds"], m["pointsync_outbox_pending"]
		}
		for time.Since(start) < until {
			dropNext(3)
			time.Sleep(time.Second)
			m := scrapeMetrics(t, addr)
			if age := m["pointsync_outbox_oldest_age_seconds"]; age < agePrev {
				t.Fatalf("the outbox's oldest age went down from %.1f s to %.1f s while nothing could be delivered", agePrev, age)
			} else {
				agePrev = age
			}
		}
	}
	// Every file was applied while the receiver was down.
	waitUntil(t, "every file applied while the receiver is down", logs, archived)
	downtime := time.Since(start)
	m := scrapeMetrics(t, addr)
	pending, failing, age := m["pointsync_outbox_pending"], m["pointsync_outbox_failing"], m["pointsync_outbox_oldest_age_seconds"]
	if pending != float64(rows-5) || pendingMid == 0 || pendingMid >= pending || failing == 0 || failing > pending {
		t.Fatalf("metrics after %s down: outbox pending %v (want %d, one per receipt dropped since; %v when the listener closed), failing %v",
			downtime.Round(time.Second), pending, rows-5, pendingMid, failing)
	}
	if age < ageMid+refused.Seconds()-3 || age < downtime.Seconds()-4 {
		t.Fatalf("the outbox's oldest age is %.1f s after %s down (%.1f s when the listener closed): it does not grow with the outage", age, downtime.Round(time.Second), ageMid)
	}
	st := s.status()
	if f, _, lastErr, _ := st.job(t, "stores"); f != 0 || st.Outbox.Pending != int64(rows-5) || st.Outbox.Failing == 0 || st.Outbox.OldestAge < downtime.Seconds()-4 {
		t.Fatalf("status during the outage: stores failures %d (%s), outbox %+v; want the stores running and %d events pending, failing, %s old",
			f, lastErr, st.Outbox, rows-5, downtime.Round(time.Second))
	}
	if code, out, _ := s.run("status"); code != 0 || !regexp.MustCompile(fmt.Sprintf(`notifications: %d event\(s\) not delivered yet, \d+ failing`, rows-5)).MatchString(out) {
		t.Fatalf("the status table does not report the undelivered events:\n%s", out)
	}
	for _, msg := range []string{"event not delivered; will retry", "the receiver answered HTTP 503: maintenance", "connection refused"} {
		if !logs.has(msg) {
			t.Fatalf("the log does not say %q:\n%s", msg, logs.String())
		}
	}
	if !ready(addr) {
		t.Fatalf("the daemon does not answer /readyz during the outage:\n%s", logs.String())
	}

	// The receiver is back: everything the ledger owes arrives, once.
	back := time.Now()
	hook.setUnavailable(false)
	hook.up()
	waitUntil(t, "the outbox to empty", logs, func() bool {
		m := scrapeMetrics(t, addr)
		return m["pointsync_outbox_pending"] == 0 && m["pointsync_outbox_failing"] == 0 && m["pointsync_outbox_oldest_age_seconds"] == 0
	})
	catchUp := time.Since(back)
	if catchUp > maxBackoff*11/10+5*time.Second {
		t.Fatalf("the backlog took %s to clear after the receiver came back; max_backoff is %s", catchUp, maxBackoff)
	}
	stopDaemon(t, d, logs)

	_, _, owed := cardCredits(t, s)
	got := hook.delivered()
	if len(owed) != rows {
		t.Fatalf("the ledger owes %d points_earned events; want one per receipt, %d", len(owed), rows)
	}
	for id := range owed {
		if got[id] != 1 {
			t.Errorf("event %s was accepted %d times; want exactly once", id, got[id])
		}
	}
	for id := range got {
		if _, ok := owed[id]; !ok {
			t.Errorf("event %s was delivered but the ledger owes no such event", id)
		}
	}
	hook.mu.Lock()
	bad, calls, events := hook.badSig, hook.attempts, hook.events
	hook.mu.Unlock()
	if bad != 0 {
		t.Errorf("%d deliveries with a bad signature", bad)
	}
	for id, ev := range events {
		data, _ := ev["data"].(map[string]any)
		movement, _ := data["movement"].(float64)
		if ev["type"] != "points_earned" || fmt.Sprintf("earned:%.0f", movement) != id || data["points"] != float64(owed[id]) || data["source"] != "pos" {
			t.Errorf("event %s: %v; want points_earned for that movement, its %d points, from the tills (source pos)", id, ev, owed[id])
		}
	}
	wantCredits(t, s, want, rows)

	// The 503 answers show the backoff: each wait doubles from backoff up
	// to max_backoff (±10%), plus at most a poll and some scheduling.
	slack := testflags.Pick(time.Second, 2*time.Second)
	capped, answered503, badGaps := 0, 0, 0
	for id, cs := range calls {
		for j := 0; j+1 < len(cs) && cs[j+1].unavail; j++ {
			wait := backoff
			for k := 0; k < j && wait < maxBackoff; k++ {
				wait *= 2
			}
			wait = min(wait, maxBackoff)
			gap := cs[j+1].at.Sub(cs[j].at)
			if gap < wait*9/10-50*time.Millisecond || gap > wait*11/10+poll+slack {
				if badGaps++; badGaps <= 5 {
					t.Errorf("event %s: attempt %d came %s after attempt %d; want %s ±10%% (backoff %s doubled, at most %s)",
						id, j+2, gap.Round(time.Millisecond), j+1, wait, backoff, maxBackoff)
				}
			}
			if wait == maxBackoff {
				capped++
			}
		}
		for _, c := range cs {
			if c.unavail {
				answered503++
			}
		}
	}
	if badGaps > 5 {
		t.Errorf("%d retries in all came too early or too late", badGaps)
	}
	if capped == 0 {
		t.Errorf("no event was retried long enough to reach max_backoff %s during the %s of 503 answers", maxBackoff, unavail)
	}
	failures := strings.Count(logs.String(), "event not delivered; will retry")
	once := 0
	for id := range owed {
		if got[id] == 1 {
			once++
		}
	}
	t.Logf("outage summary: webhook receiver down %s (%s answering 503, %s refusing connections): %d failed deliveries logged (%d answered 503), %d waits at max_backoff %s; %d files (%d rows) applied meanwhile; %d events caught up in %s; %d of the %d events owed delivered exactly once",
		downtime.Round(time.Second), unavail, refused, failures, answered503, capped, maxBackoff, files, rows, len(owed)-5, catchUp.Round(100*time.Millisecond), once, len(owed))
}

// stopDaemon stops the daemon with SIGTERM and wants exit 0.
func stopDaemon(t *testing.T, d *exec.Cmd, logs *logBuffer) {
	t.Helper()
	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("the daemon is gone: %v\n%s", err, logs.String())
	}
	done := make(chan error, 1)
	go func() { done <- d.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the daemon exited with %v after SIGTERM:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the daemon did not stop within 30 s of SIGTERM:\n%s", logs.String())
	}
}

// fsDrops mounts a small tmpfs (size, e.g. "4m", and at most 2,000
// inodes) at tills and binds it as the site's drop folders, so that the
// daemon's view can be made read-only while the tills keep writing
// through theirs. Both are unmounted when the test ends, failed or not;
// register it before starting the daemon, which must have stopped by
// then. Without the right to mount (not root) the test is skipped.
func fsDrops(t *testing.T, s *site, size string) (tills string) {
	t.Helper()
	tills = filepath.Join(t.TempDir(), "tills")
	drops := filepath.Join(s.dir, "drops")
	for _, d := range []string{tills, drops} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",nr_inodes=2000,mode=0755", "pointsync-test", tills).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs is not permitted here (%v: %s): the drop folder's disk full and read-only faults are skipped", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { unmount(t, tills) })
	if out, err := exec.Command("mount", "--bind", tills, drops).CombinedOutput(); err != nil {
		t.Fatalf("mount --bind %s %s: %v: %s", tills, drops, err, out)
	}
	t.Cleanup(func() { unmount(t, drops) })
	return tills
}

// remount makes the daemon's view of the drop folders read-only or
// writable again.
func remount(t *testing.T, s *site, mode string) {
	t.Helper()
	drops := filepath.Join(s.dir, "drops")
	if out, err := exec.Command("mount", "-o", "remount,bind,"+mode, drops).CombinedOutput(); err != nil {
		t.Fatalf("mount -o remount,bind,%s %s: %v: %s", mode, drops, err, out)
	}
}

func unmount(t *testing.T, dir string) {
	t.Helper()
	var out []byte
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if out, err = exec.Command("umount", dir).CombinedOutput(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	t.Errorf("umount %s: %v: %s; detaching it", dir, err, out)
	if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
		t.Errorf("umount -l %s: %v: %s", dir, err, out)
	}
}

// fillDisk fills the file system of dir under dir/filler: its blocks,
// and with inodes its inodes too (no file can be created; without, files
// are created but cannot be written); it returns that folder, to remove
// when the fault ends.
func fillDisk(t *testing.T, dir string, inodes bool) string {
	t.Helper()
	filler := filepath.Join(dir, "filler")
	if err := os.Mkdir(filler, 0o755); err != nil {
		t.Fatal(err)
	}
	full := func(err error) bool { return errors.Is(err, syscall.ENOSPC) }
	f, err := os.Create(filepath.Join(filler, "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); full(err) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for i := 0; inodes; i++ {
		f, err := os.Create(filepath.Join(filler, fmt.Sprintf("inode-%05d", i)))
		if full(err) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// The disk is full: a till could not write a byte.
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, []byte("x"), 0o644); !full(err) {
		t.Fatalf("writing on the filled tmpfs: %v; want no space left on device", err)
	}
	if err := os.Remove(probe); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return filler
}

// present is files for a folder the daemon may not have created yet.
func (s *site) present(dir string) []string {
	s.t.Helper()
	if _, err := os.Stat(filepath.Join(s.dir, dir)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return s.files(dir)
}

// leftovers lists, under dir, the files the daemon writes under a
// temporary name (balance files, error reports): none may stay.
// A temporary exists for the few milliseconds of a write in progress: only
// those still there half a second later, by the same name, are left over.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	first := tempFiles(t, dir)
	if len(first) == 0 {
		return nil
	}
	time.Sleep(500 * time.Millisecond)
	var out []string
	for _, p := range tempFiles(t, dir) {
		if slices.Contains(first, p) {
			out = append(out, p)
		}
	}
	return out
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(d.Name(), ".tmp") || strings.HasPrefix(d.Name(), ".")) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// retryWait finds the waits, in seconds, the runner logged before
// retrying a job.
var retryWait = regexp.MustCompile(`job failed, retrying\s.*"job": "([a-z]+)".*"wait": ([0-9.]+)`)

// TestOutageDropFolder runs the daemon with its drop folders on a small
// tmpfs and makes it full (no block and no inode left, then no block
// only: the error report of a file with a bad row, written before the
// file moves to the archive, and the tills' balance file cannot be
// written; a rename needs no space, so a file without a report would
// still be archived), or read-only to the daemon while the tills still
// drop files (no file can leave the inbox). The daemon keeps running, logs the fault, retries each run with
// a capped backoff and no faster than its schedule, reports the jobs
// failing in status and /metrics with the files waiting as lag, leaves no
// half-written file and the last whole balance file in place, and when
// the fault ends catches up: every row applied once, the bad row rejected
// once, every file archived once.
func TestOutageDropFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("fills and freezes a tmpfs under the real daemon; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root: the drop folder's disk full and read-only faults are skipped")
	}
	down := testflags.Pick(6*time.Second, 60*time.Second)
	for _, tc := range []struct {
		fault string
		// start begins the fault and returns the function that ends it;
		// tills is the tmpfs as the tills see it.
		start func(t *testing.T, s *site, tills string) (end func())
		// errText is what the daemon's errors say.
		errText string
	}{
		{"disk full", func(t *testing.T, s *site, tills string) func() {
			filler := fillDisk(t, tills, true)
			return func() {
				if err := os.RemoveAll(filler); err != nil {
					t.Fatal(err)
				}
			}
		}, "no space left on device"},
		{"disk full blocks only", func(t *testing.T, s *site, tills string) func() {
			filler := fillDisk(t, tills, false)
			return func() {
				if err := os.RemoveAll(filler); err != nil {
					t.Fatal(err)
				}
			}
		}, "no space left on device"},
		{"read-only", func(t *testing.T, s *site, tills string) func() {
			remount(t, s, "ro")
			return func() { remount(t, s, "rw") }
		}, "read-only file system"},
	} {
		t.Run(strings.ReplaceAll(tc.fault, " ", "-"), func(t *testing.T) {
			s, addr := outageSite(t, 100, "")
			tills := fsDrops(t, s, "4m")
			d, logs := s.daemon()
			want := map[string]int64{}
			s.drop("stores", "f0.csv", receipts(0, 20, 0, want))
			balances := filepath.Join(s.dir, "drops/stores/out/balances.csv")
			waitUntil(t, "the first file archived and its balances written", logs, func() bool {
				data, err := os.ReadFile(balances)
				return len(s.present("drops/stores/archive")) == 1 && err == nil && strings.Count(string(data), "\n") == 1+20
			})
			before, err := os.ReadFile(balances)
			if err != nil {
				t.Fatal(err)
			}
			// The files of the outage: one with a bad row (its error
			// report must be written), two good ones. They are written
			// before the fault beside the inbox and moved in during it,
			// as a till that wrote them before the disk filled up.
			staging := filepath.Join(tills, "staging")
			if err := os.Mkdir(staging, 0o755); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Minute)
			for i, name := range []string{"f1.csv", "f2.csv", "f3.csv"} {
				bad := 0
				if i == 0 {
					bad = 7
				}
				p := filepath.Join(staging, name)
				if err := os.WriteFile(p, []byte(receipts(100*(i+1), 30, bad, want)), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			_, runs0, _, _ := s.status().job(t, "stores")

			start := time.Now()
			end := tc.start(t, s, tills)
			for _, name := range []string{"f1.csv", "f2.csv", "f3.csv"} {
				if err := os.Rename(filepath.Join(staging, name), filepath.Join(tills, "stores/inbox", name)); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, "the stores and tills jobs reported failing", logs, func() bool {
				st := s.status()
				sf, _, serr, _ := st.job(t, "stores")
				tf, _, terr, _ := st.job(t, "tills")
				return sf >= 2 && tf >= 1 && strings.Contains(serr, tc.errText) && strings.Contains(terr, tc.errText)
			})
			time.Sleep(time.Until(start.Add(down)))
			// Still failing, still running; nothing lost, nothing
			// half-written, the tills' last whole file kept.
			st := s.status()
			failures, runs, _, lag := st.job(t, "stores")
			downtime := time.Since(start)
			if failures < 2 || lag < 60 {
				t.Fatalf("stores after %s of %s: %d failures in a row, lag %.0f s; want failing, with the files waiting a minute old", downtime.Round(time.Second), tc.fault, failures, lag)
			}
			m := scrapeMetrics(t, addr)
			for series, low := range map[string]float64{
				`pointsync_job_consecutive_failures{job="stores"}`: 2,
				`pointsync_job_consecutive_failures{job="tills"}`:  1,
				`pointsync_job_lag_seconds{job="stores"}`:          60,
			} {
				if m[series] < low {
					t.Fatalf("metrics after %s of %s: %s = %v; want at least %v", downtime.Round(time.Second), tc.fault, series, m[series], low)
				}
			}
			if !ready(addr) {
				t.Fatalf("the daemon does not answer /readyz during the fault:\n%s", logs.String())
			}
			if now, err := os.ReadFile(balances); err != nil || string(now) != string(before) {
				t.Fatalf("the tills' balance file changed during the fault (%v): a half-written file?\n%s", err, now)
			}
			if l := leftovers(t, filepath.Join(s.dir, "drops/stores")); len(l) > 0 {
				t.Fatalf("temporary files left during the fault: %v", l)
			}
			if waiting := len(s.present("drops/stores/inbox")) + len(s.present("drops/stores/processing")); waiting != 3 {
				t.Fatalf("%d of the 3 files dropped are in the inbox or in processing during the fault: %v %v", waiting,
					s.present("drops/stores/inbox"), s.present("drops/stores/processing"))
			}
			// The runs keep to the schedule (every 1 s, each tried four
			// times over 0.7 s): a fault does not make the daemon spin.
			if n := runs - runs0; n > int64(downtime/time.Second)+2 {
				t.Fatalf("%d runs of stores in %s of %s: faster than its schedule of one a second", n, downtime.Round(time.Second), tc.fault)
			}
			var waits []string
			for _, w := range retryWait.FindAllStringSubmatch(logs.String(), -1) {
				if w[1] == "stores" {
					waits = append(waits, w[2])
				}
			}
			// Each failing run waits 0.1, 0.2 then 0.4 s (backoff 100ms
			// doubled, at most 400ms); the last run may still be going.
			next := map[string]string{"0.1": "0.2", "0.2": "0.4", "0.4": "0.4"}
			full := 0
			for i, w := range waits {
				if w == "0.4" {
					full++
				}
				if w != "0.1" && (i == 0 || next[waits[i-1]] != w) {
					t.Fatalf("the stores' retries waited %v s; want 0.1, 0.2, 0.4 in each failing run (backoff 100ms doubled, at most 400ms)", waits)
				}
			}
			if full < 2 {
				t.Fatalf("the stores' retries waited %v s: fewer than two failing runs reached max_backoff", waits)
			}
			if !logs.has(tc.errText) || !logs.has(`"job": "stores"`) {
				t.Fatalf("the log does not name the fault (%s):\n%s", tc.errText, logs.String())
			}

			// The fault ends: everything catches up.
			end()
			ended := time.Now()
			waitUntil(t, "the files of the fault archived and the balances written", logs, func() bool {
				data, err := os.ReadFile(balances)
				st := s.status()
				sf, _, _, _ := st.job(t, "stores")
				tf, _, _, _ := st.job(t, "tills")
				return len(s.present("drops/stores/archive")) == 5 && len(s.present("drops/stores/inbox"))+len(s.present("drops/stores/processing")) == 0 &&
					err == nil && strings.Count(string(data), "\n") == 1+40 && sf == 0 && tf == 0
			})
			catchUp := time.Since(ended)
			stopDaemon(t, d, logs)

			wantCredits(t, s, want, 20+29+30+30)
			archive := s.present("drops/stores/archive")
			var names []string
			for _, p := range archive {
				names = append(names, filepath.Base(p))
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"f0.csv", "f1.csv", "f1.csv.errors.csv", "f2.csv", "f3.csv"}) {
				t.Fatalf("archive after the fault: %v; want each file once and f1's error report", names)
			}
			report := s.read(archive, "f1.csv.errors.csv")
			if strings.Count(report, ";gross;nove;") != 1 || strings.Count(report, "\n") != 2 {
				t.Fatalf("f1's error report does not name its bad row once:\n%s", report)
			}
			if l := leftovers(t, filepath.Join(s.dir, "drops")); len(l) > 0 {
				t.Fatalf("temporary files left after the fault: %v", l)
			}
			t.Logf("outage summary: drop folder %s for %s: stores failed %d runs in a row (%d retries logged, waits capped at 400ms), tills failed too; 3 files (90 rows, 1 bad) caught up in %s, each row applied once",
				tc.fault, downtime.Round(time.Second), failures, len(waits), catchUp.Round(100*time.Millisecond))
		})
	}
}
