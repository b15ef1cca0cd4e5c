package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
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

	"github.com/pointsync/pointsync/internal/testflags"
	"github.com/pointsync/pointsync/internal/wcdb"
)

// TestLeaseLossMySQL: two daemons share a MariaDB ledger and export the
// card balances to the shop's balance table and the tills' balance file,
// both due every second. In each round a drop file is being applied when
// the active daemon is frozen with SIGSTOP; the standby takes over within
// lease_ttl and a margin and makes progress (batches and exports). Then
// the new active daemon is frozen for a moment, so that only the old one
// can write, and the old one is thawed with SIGCONT: it must log the loss
// of its lease, stop its jobs and stand by again without writing anything
// to the ledger, the shop's table or the till file (each compared before
// and after), and status names the new holder. The roles swap each round;
// the freeze lands at a seeded random moment of the file. At the end the
// ledger (balances and movements), the shop's table and the till file
// equal an uninterrupted run's, no movement key is applied twice and
// every cursor only ever moved forward.
func TestLeaseLossMySQL(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes and thaws two daemons on MariaDB for about forty seconds (four rounds); skipped with -short")
	}
	seed := testflags.Seed(t, 7)
	rounds := testflags.Pick(4, 12)
	rnd := rand.New(rand.NewPCG(seed, seed))
	dsn := failoverDatabase(t)
	shopDSN, shop := wcdb.Open(t)
	for _, table := range []string{"card_balances", "card_balances_ref"} {
		if _, err := shop.Exec(strings.ReplaceAll(leaseCardTable, "TABLE_NAME", table)); err != nil {
			t.Fatalf("create the shop's %s: %v", table, err)
		}
	}

	// One file per round; the active daemon is frozen after a random
	// number of its rows committed, with at least four batches left.
	const rows, batch = 400, 50
	files := make([]string, rounds)
	for r := range files {
		var b strings.Builder
		b.WriteString("store;till;receipt;line;at;card;gross;discount;spent\n")
		for i := range rows {
			spent := "0"
			if i%7 == 3 {
				spent = "0,50"
			}
			fmt.Fprintf(&b, "S%02d;%d;%d;1;%02d/07/2026 %02d:%02d;0420%06d;%d,%02d;0;%s\n",
				i%5, r, i, 1+r%28, 8+i%10, i%60, rnd.IntN(200), 1+rnd.IntN(200), rnd.IntN(100), spent)
		}
		files[r] = b.String()
	}

	// The reference: one uninterrupted run of every file, on a SQLite
	// ledger of its own, exporting to a table of its own.
	ref := newSite(t, batch)
	ref.withLeaseExports(shopDSN, "card_balances_ref")
	for r, f := range files {
		ref.drop("stores", fmt.Sprintf("round%02d.csv", r), f)
	}
	ref.sync()

	s := newSite(t, batch)
	s.useMySQL(dsn, failoverTTL)
	s.withLeaseExports(shopDSN, "card_balances")
	ledgerDB, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer ledgerDB.Close()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}

	var ds [2]*leaseDaemon
	for i := range ds {
		cmd, logs := s.daemon()
		ds[i] = &leaseDaemon{name: string(rune('A' + i)), cmd: cmd, logs: logs, holder: host + ":" + strconv.Itoa(cmd.Process.Pid) + "/"}
		if i == 0 {
			waitUntil(t, "the first daemon to take the lease", logs, func() bool { return logs.has("took the ledger's lease") })
		}
	}
	waitUntil(t, "the second daemon to stand by", ds[1].logs, func() bool { return ds[1].logs.has("standby: another daemon is active") })
	active, standby := ds[0], ds[1]

	watch := watchLeaseCursors(t, ledgerDB)
	var (
		takeovers []time.Duration
		refused   int // ledger writes refused (ErrLeaseLost) after the thaw
		fenced    int // export writes refused by the lease check after the thaw
		inTx      int // freezes that caught the daemon inside a ledger transaction
		inTxKnown = true
	)
	till := filepath.Join(s.dir, "drops/stores/out/balances.csv")
	for r := range rounds {
		name := fmt.Sprintf("round%02d.csv", r)
		sum := sha256.Sum256([]byte(files[r]))
		key := "sha256:" + hex.EncodeToString(sum[:]) + ":"
		s.drop("stores", name, files[r])
		freezeAt := 2*batch + rnd.IntN(rows-6*batch)
		waitUntil(t, fmt.Sprintf("%d rows of %s to commit", freezeAt, name), active.logs, func() bool {
			row, ok := strings.CutPrefix(watch.last("stores"), key)
			n, err := strconv.Atoi(row)
			return ok && err == nil && n >= freezeAt
		})
		time.Sleep(time.Duration(rnd.IntN(150)) * time.Millisecond)
		took := standby.count("took the ledger's lease")
		active.signal(t, syscall.SIGSTOP)
		frozen := time.Now()
		time.Sleep(100 * time.Millisecond)
		open := idleInTx(t, ledgerDB)
		caught := open > 0
		if caught {
			inTx++
		}
		inTxKnown = inTxKnown && open >= 0

		waitUntil(t, fmt.Sprintf("the standby to take over (the frozen daemon inside a ledger transaction: %v)", caught), standby.logs, func() bool { return standby.count("took the ledger's lease") > took })
		takeover := time.Since(frozen)
		takeovers = append(takeovers, takeover)
		if takeover > failoverTTL+1500*time.Millisecond {
			t.Fatalf("round %d: %s took over %s after %s was frozen, more than lease_ttl %s and a margin", r, standby.name, takeover, active.name, failoverTTL)
		}
		// The new active daemon makes progress: a batch and both exports.
		cursor := watch.last("stores")
		exported := leaseExportState(t, shop, till)
		waitUntil(t, "the new active daemon to make progress", standby.logs, func() bool {
			now := leaseExportState(t, shop, till)
			return watch.last("stores") != cursor && now.shop != exported.shop && now.till != exported.till
		})

		// Only the frozen daemon may write now: freeze the new active
		// one (for well under its lease's two thirds left), let what it
		// sent settle, and thaw the old one.
		standby.signal(t, syscall.SIGSTOP)
		time.Sleep(200 * time.Millisecond)
		before, beforeLedger := leaseExportState(t, shop, till), leaseLedgerState(t, ledgerDB)
		lost, stopped := active.count("LEASE LOST"), active.count("this daemon is a standby again")
		mark := len(active.logs.String())
		active.signal(t, syscall.SIGCONT)
		thawed := time.Now()
		for active.count("this daemon is a standby again") == stopped && time.Since(thawed) < 1500*time.Millisecond {
			time.Sleep(10 * time.Millisecond)
		}
		noticed := time.Since(thawed)
		time.Sleep(200 * time.Millisecond)
		after, afterLedger := leaseExportState(t, shop, till), leaseLedgerState(t, ledgerDB)
		standby.signal(t, syscall.SIGCONT)
		tail := active.logs.String()[mark:]
		if active.count("LEASE LOST") == lost || active.count("this daemon is a standby again") == stopped {
			t.Fatalf("round %d: %s, thawed after losing its lease, did not log the loss and stand by within 1.5s:\n%s", r, active.name, tail)
		}
		if after != before {
			t.Fatalf("round %d: %s wrote to the exports after losing its lease:\nbefore %+v\nafter  %+v\n%s", r, active.name, before, after, tail)
		}
		if changed := leaseDiff(beforeLedger, afterLedger); len(changed) > 0 {
			t.Fatalf("round %d: %s wrote to the ledger after losing its lease (tables %v changed):\n%s", r, active.name, changed, tail)
		}
		for _, line := range strings.Split(tail, "\n") {
			if strings.Contains(line, "lease lost") && !strings.Contains(line, "LEASE LOST") {
				refused++
			}
			if strings.Contains(line, "nothing written") {
				fenced++
			}
		}
		t.Logf("round %d: %s took over %s after %s was frozen; %s noticed the loss %s after the thaw",
			r, standby.name, takeover.Round(time.Millisecond), active.name, active.name, noticed.Round(time.Millisecond))

		code, out, errs := s.run("status")
		if code != 0 || !strings.Contains(out, "lease: held by "+standby.holder) {
			t.Fatalf("round %d: status after %s took over: exit %d, want the lease held by %s (did its lease run out while it was frozen for the check?)\n%s%s",
				r, standby.name, code, standby.holder, out, errs)
		}
		active, standby = standby, active
	}

	// The active daemon finishes every file; the exports catch up.
	waitUntil(t, "the active daemon to finish every file", active.logs, func() bool {
		return len(s.files("drops/stores/archive")) == rounds && len(s.files("drops/stores/processing")) == 0
	})
	refTill, err := os.ReadFile(filepath.Join(ref.dir, "drops/stores/out/balances.csv"))
	if err != nil {
		t.Fatal(err)
	}
	refShop := leaseShopRows(t, shop, "card_balances_ref")
	waitUntil(t, "the exports to catch up", active.logs, func() bool {
		got, err := os.ReadFile(till)
		return err == nil && string(got) == string(refTill) && slices.Equal(leaseShopRows(t, shop, "card_balances"), refShop)
	})
	for _, d := range ds {
		d.signal(t, syscall.SIGTERM)
		if err := d.cmd.Wait(); err != nil {
			t.Fatalf("%s after SIGTERM: %v\n%s", d.name, err, d.logs.String())
		}
	}
	watch.stop()

	// Same balances, same movements, no key twice, cursors forward only.
	_, want, _ := ref.run("export", "--program", "card", "-")
	_, got, _ := s.run("export", "--program", "card", "-")
	if got != want || strings.Count(got, "\n") < 100 {
		t.Fatalf("balances differ from the uninterrupted run (%d and %d lines)", strings.Count(got, "\n"), strings.Count(want, "\n"))
	}
	if g, w := movementSet(t, s), movementSet(t, ref); !slices.Equal(g, w) {
		t.Fatalf("movements differ from the uninterrupted run: %d and %d", len(g), len(w))
	}
	if dup := duplicateKeys(movementSet(t, s)); len(dup) > 0 {
		t.Fatalf("movement keys applied more than once: %v", dup)
	}
	if err := watch.check(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(takeovers)
	caughtInTx := fmt.Sprint(inTx)
	if !inTxKnown {
		caughtInTx = "unknown (no PROCESS privilege to read them)"
	}
	t.Logf("lease loss: %d rounds (seed %d), %s frozen inside a ledger transaction; takeover %s to %s after the freeze (lease_ttl %s); after the thaw %d ledger write(s) refused with ErrLeaseLost and %d export write(s) refused by the lease check, nothing written to the ledger or the exports by a daemon that lost its lease; %d cursor values seen, all forward; no movement key twice",
		rounds, seed, caughtInTx, takeovers[0].Round(time.Millisecond), takeovers[len(takeovers)-1].Round(time.Millisecond), failoverTTL, refused, fenced, watch.seen())
}

// leaseCardTable is a shop's table for the card program's balances,
// amounts in exact decimals; TABLE_NAME is replaced.
const leaseCardTable = `CREATE TABLE TABLE_NAME (
	customer VARCHAR(64) NOT NULL,
	program VARCHAR(64) NOT NULL,
	earned DECIMAL(14,2) NOT NULL,
	provisional DECIMAL(14,2) NOT NULL,
	spent DECIMAL(14,2) NOT NULL,
	expired DECIMAL(14,2) NOT NULL,
	expiring_date DATE NULL,
	expiring_points DECIMAL(14,2) NULL,
	updated_at DATETIME(6) NOT NULL,
	PRIMARY KEY (customer, program))`

// withLeaseExports makes the site's till file due every second and adds
// a sql_table export of the card balances into table of the shop at
// shopDSN, due every second too (both also run after each sync).
func (s *site) withLeaseExports(shopDSN, table string) {
	s.t.Helper()
	data, err := os.ReadFile(s.config)
	if err != nil {
		s.t.Fatal(err)
	}
	old := "    path: drops/stores/out/balances.csv\n"
	cfg := strings.Replace(string(data), old, `    schedule: "@every 1s"
`+old+`  - name: shop-balances
    kind: sql_table
    program: card
    schedule: "@every 1s"
    sql: {dsn: `+strconv.Quote(shopDSN)+`, table: `+table+`, identifier: card, batch_size: 100}
`, 1)
	if !strings.HasSuffix(cfg, "batch_size: 100}\n") {
		s.t.Fatalf("the site configuration changed; withLeaseExports cannot edit it:\n%s", cfg)
	}
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// leaseDaemon is one of the daemons sharing the ledger.
type leaseDaemon struct {
	name   string
	cmd    *exec.Cmd
	logs   *logBuffer
	holder string // host:pid/, the lease holder's prefix
}

func (d *leaseDaemon) count(msg string) int { return strings.Count(d.logs.String(), msg) }

func (d *leaseDaemon) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to daemon %s: %v", sig, d.name, err)
	}
}

// leaseExports is what the exports wrote: the checksum of the shop's
// card_balances (every write sets updated_at) and the till file's
// identity and content.
type leaseExports struct {
	shop string
	till string
}

func leaseExportState(t *testing.T, shop *sql.DB, till string) leaseExports {
	t.Helper()
	var e leaseExports
	var table string
	var sum sql.NullInt64
	if err := shop.QueryRow("CHECKSUM TABLE card_balances").Scan(&table, &sum); err != nil {
		t.Fatal(err)
	}
	e.shop = strconv.FormatInt(sum.Int64, 10)
	fi, err := os.Stat(till)
	if err != nil {
		return e
	}
	data, err := os.ReadFile(till)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	e.till = fmt.Sprintf("inode %d, %d bytes, modified %s, sha256 %x", fi.Sys().(*syscall.Stat_t).Ino, fi.Size(), fi.ModTime().Format(time.RFC3339Nano), h[:8])
	return e
}

// leaseLedgerState checksums every table of the ledger but the lease's own,
// which standbys and renewals write by design.
func leaseLedgerState(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT IN ('leases', 'lease_fences')")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, "`"+n+"`")
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err = db.Query("CHECKSUM TABLE " + strings.Join(tables, ", "))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var n string
		var sum sql.NullInt64
		if err := rows.Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		out[n] = sum.Int64
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// idleInTx counts the connections to the ledger's database that sit in
// an open transaction waiting for their client: while the active daemon
// is frozen, its own, caught in the middle of a batch.
// It needs the PROCESS privilege (.ci/run grants it to its user); without
// it the count is -1, unknown, and only the summary line says less.
func idleInTx(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.innodb_trx x
		JOIN information_schema.processlist p ON p.id = x.trx_mysql_thread_id
		WHERE p.db = DATABASE() AND p.command = 'Sleep'`).Scan(&n)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1227 {
		return -1
	}
	if err != nil {
		t.Fatalf("read the open transactions: %v", err)
	}
	return n
}

// leaseDiff names the tables whose checksums differ.
func leaseDiff(a, b map[string]int64) []string {
	var out []string
	for n, v := range a {
		if b[n] != v {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// leaseShopRows lists a shop balance table's rows without updated_at.
func leaseShopRows(t *testing.T, shop *sql.DB, table string) []string {
	t.Helper()
	rows, err := shop.Query("SELECT customer, program, earned, provisional, spent, expired, COALESCE(expiring_date, ''), COALESCE(expiring_points, '') FROM " + table + " ORDER BY customer, program")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f [8]string
		if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(f[:], " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// leaseCursorWatch polls the ledger's cursors every 10 ms and keeps every
// value each took, in order.
type leaseCursorWatch struct {
	mu     sync.Mutex
	values map[string][]string
	err    error
	done   chan struct{}
	wg     sync.WaitGroup
}

func watchLeaseCursors(t *testing.T, db *sql.DB) *leaseCursorWatch {
	w := &leaseCursorWatch{values: map[string][]string{}, done: make(chan struct{})}
	w.wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			w.poll(db)
			select {
			case <-w.done:
				w.poll(db)
				return
			case <-tick.C:
			}
		}
	})
	t.Cleanup(w.stop)
	return w
}

func (w *leaseCursorWatch) poll(db *sql.DB) {
	rows, err := db.Query("SELECT source, cursor_value FROM cursors")
	if err != nil {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		return
	}
	defer rows.Close()
	for rows.Next() {
		var source, value string
		if err := rows.Scan(&source, &value); err != nil {
			return
		}
		w.mu.Lock()
		if vs := w.values[source]; len(vs) == 0 || vs[len(vs)-1] != value {
			w.values[source] = append(vs, value)
		}
		w.mu.Unlock()
	}
}

func (w *leaseCursorWatch) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
}

// last is the latest value seen of source's cursor.
func (w *leaseCursorWatch) last(source string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	vs := w.values[source]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// seen counts the values seen of every cursor.
func (w *leaseCursorWatch) seen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, vs := range w.values {
		n += len(vs)
	}
	return n
}

// check says whether a cursor ever moved back: a drop folder's
// (sha256:FILE:ROW) to an earlier row of its file or back to a file it
// had left, an export's (a movement id) to a lower id.
func (w *leaseCursorWatch) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return fmt.Errorf("watching the cursors: %w", w.err)
	}
	for source, vs := range w.values {
		left := map[string]bool{}
		for i := 1; i < len(vs); i++ {
			prev, cur := vs[i-1], vs[i]
			if p, err := strconv.ParseInt(prev, 10, 64); err == nil {
				if c, err := strconv.ParseInt(cur, 10, 64); err != nil || c < p {
					return fmt.Errorf("cursor %s moved back from %s to %s", source, prev, cur)
				}
				continue
			}
			pf, pr, _ := strings.Cut(strings.TrimPrefix(prev, "sha256:"), ":")
			cf, cr, _ := strings.Cut(strings.TrimPrefix(cur, "sha256:"), ":")
			if pf != cf {
				left[pf] = true
				if left[cf] {
					return fmt.Errorf("cursor %s went back to a file it had left: %s after %s", source, cur, prev)
				}
				continue
			}
			p, perr := strconv.ParseInt(pr, 10, 64)
			c, cerr := strconv.ParseInt(cr, 10, 64)
			if perr != nil || cerr != nil || c < p {
				return fmt.Errorf("cursor %s moved back from %s to %s", source, prev, cur)
			}
		}
	}
	return nil
}
