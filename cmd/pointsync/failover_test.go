package main

import (
	"bytes"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pointsync/pointsync/internal/testdb"
)

// failoverTTL is the lease_ttl of the failover test's daemons.
const failoverTTL = 3 * time.Second

// TestFailoverMySQL: two daemons with the same configuration share a
// MariaDB ledger. The first is active and the second stands by (status
// names the first as the lease's holder); a large drop file is being
// applied when the active one is killed with SIGKILL in the middle of a
// batch. The standby takes over within lease_ttl and a small margin,
// finishes the file, and the ledger (every balance and the set of
// movements) equals an uninterrupted run of the same file. SIGTERM then
// stops it with exit 0, and it releases the lease.
func TestFailoverMySQL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two daemons on MariaDB for about twenty seconds; skipped with -short")
	}
	dsn := failoverDatabase(t)
	const rows = 2000
	var b strings.Builder
	b.WriteString("store;till;receipt;line;at;card;gross;discount;spent\n")
	rnd := rand.New(rand.NewPCG(11, 11))
	for i := range rows {
		spent := "0"
		if i%7 == 3 {
			spent = "0,50"
		}
		fmt.Fprintf(&b, "S%02d;%d;%d;1;12/07/2026 %02d:%02d;0420%06d;%d,%02d;0;%s\n", i%5, i%3, i, 8+i%10, i%60, rnd.IntN(1000), 1+rnd.IntN(200), rnd.IntN(100), spent)
	}
	file := b.String()

	// The reference: one uninterrupted run, on a SQLite ledger of its own.
	ref := newSite(t, 200)
	ref.drop("stores", "big.csv", file)
	ref.sync()

	s := newSite(t, 200)
	s.useMySQL(dsn, failoverTTL)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}

	a, alogs := s.daemon()
	// A holder is host:pid/tag, the tag random per process.
	holderA := host + ":" + strconv.Itoa(a.Process.Pid) + "/"
	waitUntil(t, "the first daemon to take the lease", alogs, func() bool { return alogs.has("took the ledger's lease") })
	bd, blogs := s.daemon()
	holderB := host + ":" + strconv.Itoa(bd.Process.Pid) + "/"
	waitUntil(t, "the second daemon to stand by", blogs, func() bool { return blogs.has("standby: another daemon is active") })
	if code, out, errs := s.run("status"); code != 0 || !strings.Contains(out, "lease: held by "+holderA) {
		t.Fatalf("status while %s is active: exit %d\n%s%s", holderA, code, out, errs)
	}
	if code, out, errs := s.run("status", "--check", "--require-active"); code != 0 || !strings.Contains(out, "healthy (held by "+holderA) {
		t.Fatalf("status --check beside a standby: exit %d\n%s%s", code, out, errs)
	}

	// The file goes in; once a batch of it has committed, the active
	// daemon is killed while it applies the next.
	s.drop("stores", "big.csv", file)
	waitUntil(t, "the first batches of the file to commit", alogs, func() bool {
		var c string
		err := db.QueryRow("SELECT cursor_value FROM cursors WHERE source = 'stores'").Scan(&c)
		return err == nil && c != ""
	})
	_ = a.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	_ = a.Wait()
	processing := filepath.Join(s.dir, "drops/stores/processing/big.csv")
	if _, err := os.Stat(processing); err != nil {
		t.Fatalf("the file was finished before the kill; make it larger (%v)", err)
	}

	waitUntil(t, "the standby to take over", blogs, func() bool { return blogs.has("took the ledger's lease") })
	took := time.Since(killed)
	t.Logf("the standby took over %s after the active daemon was killed (lease_ttl %s)", took.Round(time.Millisecond), failoverTTL)
	if took > failoverTTL+1500*time.Millisecond {
		t.Fatalf("the standby took over %s after the kill, more than lease_ttl %s and a margin", took, failoverTTL)
	}
	if took < failoverTTL/2 {
		t.Fatalf("the standby took over %s after the kill: before the killed daemon's lease could have run out", took)
	}
	// sync --once is refused while a daemon is active.
	if code, _, errs := s.run("sync", "--once"); code != 1 || !strings.Contains(errs, "another pointsync daemon is running on this ledger ("+holderB) {
		t.Fatalf("sync --once beside the active daemon: exit %d\n%s", code, errs)
	}

	waitUntil(t, "the standby to finish the file", blogs, func() bool {
		_, err := os.Stat(processing)
		return os.IsNotExist(err) && len(s.files("drops/stores/archive")) == 1
	})
	_ = bd.Process.Signal(syscall.SIGTERM)
	if err := bd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, blogs.String())
	}
	if !blogs.has("released the ledger's lease") {
		t.Fatalf("the daemon stopped by SIGTERM did not release the lease:\n%s", blogs.String())
	}
	code, out, errs := s.run("status", "--json")
	var status struct {
		Lease struct {
			Held   bool   `json:"held"`
			Holder string `json:"holder"`
			Fence  int64  `json:"fence"`
		} `json:"lease"`
	}
	if err := json.Unmarshal([]byte(out), &status); code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if status.Lease.Held || !strings.HasPrefix(status.Lease.Holder, holderB) || status.Lease.Fence != 2 {
		t.Fatalf("the lease after SIGTERM: %+v; want free, last held by %s with fence 2", status.Lease, holderB)
	}

	// Same balances, same movements.
	_, want, _ := ref.run("export", "--program", "card", "-")
	_, got, _ := s.run("export", "--program", "card", "-")
	if got != want || strings.Count(got, "\n") < 500 {
		t.Fatalf("balances differ from the uninterrupted run (%d and %d lines)", strings.Count(got, "\n"), strings.Count(want, "\n"))
	}
	if g, w := movementSet(t, s), movementSet(t, ref); !slices.Equal(g, w) {
		t.Fatalf("movements differ from the uninterrupted run: %d and %d", len(g), len(w))
	}
}

// useMySQL points the site's configuration at the MySQL ledger dsn,
// shared by its daemons through a lease of ttl.
func (s *site) useMySQL(dsn string, ttl time.Duration) {
	s.t.Helper()
	data, err := os.ReadFile(s.config)
	if err != nil {
		s.t.Fatal(err)
	}
	cfg := strings.Replace(string(data), "ledger: {path: ledger.db}", fmt.Sprintf("ledger: {driver: mysql, dsn: %q}", dsn), 1)
	cfg = strings.Replace(cfg, "max_backoff: 1s}", fmt.Sprintf("max_backoff: 1s, lease_ttl: %s}", ttl), 1)
	if !strings.Contains(cfg, "driver: mysql") || !strings.Contains(cfg, "lease_ttl") {
		s.t.Fatalf("the site configuration changed; useMySQL cannot edit it:\n%s", cfg)
	}
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// daemon starts `pointsync run`, killed at the end of the test if still
// running; its log can be read while it runs.
func (s *site) daemon() (*exec.Cmd, *logBuffer) {
	s.t.Helper()
	d := s.cmd("run")
	logs := &logBuffer{}
	d.Stderr = logs
	if err := d.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		_ = d.Process.Kill()
		_, _ = d.Process.Wait()
	})
	return d, logs
}

// logBuffer is a daemon's standard error, safe to read while it writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) has(msg string) bool { return strings.Contains(b.String(), msg) }

// waitUntil polls cond every 20 ms for up to 30 seconds; logs are shown
// when it never holds.
func waitUntil(t *testing.T, what string, logs *logBuffer, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; the daemon's log:\n%s", what, logs.String())
		}
	}
}

// failoverDatabase creates a database of the test's own on the MariaDB of
// POINTSYNC_TEST_MYSQL_DSN, dropped at the end of the test, and returns
// its DSN; without the variable the test is skipped.
func failoverDatabase(t *testing.T) string {
	t.Helper()
	server := os.Getenv(testdb.Env)
	if server == "" {
		t.Skipf("%s is not set: the failover of daemons sharing a MySQL ledger is skipped (example: %s='root@tcp(127.0.0.1:3306)/')", testdb.Env, testdb.Env)
	}
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		t.Fatalf("%s: %v", testdb.Env, err)
	}
	var b [6]byte
	if _, err := crand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "pointsync_test_failover_" + hex.EncodeToString(b[:])
	cfg.DBName = ""
	admin := cfg.FormatDSN()
	run := func(q string) error {
		db, err := sql.Open("mysql", admin)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(q)
		return err
	}
	if err := run("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create the test database on %s: %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		if err := run("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Errorf("drop the test database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}
