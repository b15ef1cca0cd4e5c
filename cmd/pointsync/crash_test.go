package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pointsync/pointsync/internal/ntsdb"
	"github.com/pointsync/pointsync/internal/testflags"
	"github.com/pointsync/pointsync/internal/wcdb"
	"github.com/pointsync/pointsync/ledger"
)

// The crash-safety harness: the example site (configs/nts-woocommerce.yaml:
// the ERP over the loopback TDS server, the shop on MariaDB, the stores'
// drop folder) is fed a workload in steps while its daemon is killed with
// SIGKILL at random moments and restarted; at the end its ledger must equal
// an uninterrupted run of the same steps, each followed by `sync --once`.

// crashSize is how large a run is.
type crashSize struct {
	steps     int // steps of the workload, at least crashStages
	customers int // shop customers (some of them guests), each living through crashStages steps
	files     int // till files dropped per step
	fileRows  int // receipt lines per till file
	cards     int // store cards the receipts are drawn from
	minKills  int // kills that must land while a step is not yet fully applied
}

// crashBatchSize is daemon.batch_size: small, so that every source reads many
// batches and the kills land between and inside them.
const crashBatchSize = 7

// crashStages is how many consecutive steps one customer's story spans.
const crashStages = 8

// TestCrashSafety runs the workload once without interruption (the
// reference), then once per ledger backend with the daemon killed at least
// minKills times while a step was still being applied, and compares every
// balance, every movement, the shop's balance table, the tills' balance
// file, what stays parked and the drop folders with the reference.
//
// Each step writes drops, ERP rows and shop rows. One customer's facts of
// one step come from one source only (the registration excepted: one row of
// wp_users is both a link and an action), so that the outcome of a step does
// not depend on which connector the daemon happens to run first: an order is
// placed in one step and converted by the ERP in a later one, and a step is
// fully applied (every connector read everything, then both exports ran)
// before the next is fed.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the daemon dozens of times on MariaDB and the loopback SQL Server; skipped with -short")
	}
	seed := testflags.Seed(t, 7)
	size := testflags.Pick(
		crashSize{steps: 10, customers: 48, files: 3, fileRows: 40, cards: 150, minKills: 20},
		crashSize{steps: 40, customers: 260, files: 4, fileRows: 120, cards: 1200, minKills: 200})
	w := newCrashWorkload(seed, size, time.Now())

	began := time.Now()
	ref := newCrashSite(t, "")
	for k := range w.steps {
		w.feed(t, ref, k)
		ref.sync()
	}
	want := collectCrash(t, ref)
	t.Logf("reference: %d steps applied by sync --once in %s: %d movements, %d balances, %d shop rows, %d parked",
		len(w.steps), time.Since(began).Round(time.Second), len(want.movements), len(want.balances), len(want.shop), len(want.parked))
	if len(want.movements) < 1000 || len(want.shop) < size.customers/2 || len(want.reports) == 0 {
		t.Fatalf("the reference run is too small to prove anything: %d movements, %d shop rows, %d error reports",
			len(want.movements), len(want.shop), len(want.reports))
	}
	if dup := duplicateKeys(want.movements); len(dup) > 0 {
		t.Fatalf("the uninterrupted run wrote a movement key more than once: %v", dup)
	}

	t.Run("sqlite", func(t *testing.T) { runCrash(t, w, want, size, rand.New(rand.NewPCG(seed, 1)), "") })
	t.Run("mysql", func(t *testing.T) { runCrash(t, w, want, size, rand.New(rand.NewPCG(seed, 2)), failoverDatabase(t)) })
}

// runCrash feeds the workload to a site of its own on the given ledger
// (SQLite without ledgerDSN) while killing its daemon at moments drawn from
// rnd, and compares the outcome with want.
func runCrash(t *testing.T, w *crashWorkload, want crashResult, size crashSize, rnd *rand.Rand, ledgerDSN string) {
	began := time.Now()
	s := newCrashSite(t, ledgerDSN)
	h := newCrashHarness(t, s, rnd)
	// Kills are spread over the steps so that about a fifth more than
	// minKills land while a step is being applied.
	target := size.minKills + size.minKills/5
	for k := range w.steps {
		// Half the steps are fed while the daemon runs, half while it is
		// down: it finds them partly written, or whole at its start.
		if h.life == nil && h.rnd.IntN(2) == 0 {
			h.start()
		}
		w.feed(t, s, k)
		left := len(w.steps) - k
		h.settle(k, time.Now(), max(1, (target-h.pending+left-1)/left))
	}
	h.stop()

	if h.pending < size.minKills {
		t.Errorf("only %d kill(s) landed while a step was being applied (%d in all); want at least %d: make the workload larger",
			h.pending, h.kills, size.minKills)
	}
	got := collectCrash(t, s)
	compareCrash(t, want, got)
	if dup := duplicateKeys(got.movements); len(dup) > 0 {
		t.Errorf("a movement key was written more than once: %v", dup)
	}
	for _, dir := range []string{"inbox", "processing", "rejected"} {
		if _, err := os.Stat(filepath.Join(s.dir, "drops/stores", dir)); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if left := s.files(filepath.Join("drops/stores", dir)); len(left) > 0 {
			t.Errorf("drops/stores/%s holds %v; want it empty", dir, left)
		}
	}
	// The tills' file is replaced whole: a kill leaves no temporary behind
	// for good (the next write removes it).
	if out := s.files("drops/stores/out"); len(out) != 1 || filepath.Base(out[0]) != "balances.csv" {
		t.Errorf("drops/stores/out holds %v; want balances.csv alone", out)
	}
	// A file archived twice would be there a second time as NAME-2.csv.
	var archived []string
	for _, p := range s.files("drops/stores/archive") {
		if !strings.HasSuffix(p, ".errors.csv") {
			archived = append(archived, filepath.Base(p))
		}
	}
	slices.Sort(archived)
	if d := diffSorted(slices.Sorted(slices.Values(w.files)), archived); d != "" {
		t.Errorf("the archive does not hold every drop file exactly once:\n%s", d)
	}
	if code, out, errs := s.run("status", "--check"); code != 0 || !strings.Contains(out, "healthy") {
		t.Errorf("status --check after the kills: exit %d\n%s%s", code, out, errs)
	}
	backend, verdict := "SQLite", "equal to"
	if ledgerDSN != "" {
		backend = "MySQL"
	}
	if t.Failed() {
		verdict = "NOT all equal to (see above)"
	}
	t.Logf("crash safety (%s ledger): %d SIGKILLs survived, %d of them while a step was being applied (%s); fed %d steps: stores %d rows in %d files, ERP %d rows, shop %d rows; %d movements, %d balances, %d shop table rows %s the uninterrupted run; %s",
		backend, h.kills, h.pending, h.byPlan(), len(w.steps), w.rows["stores"], len(w.files), w.rows["erp"], w.rows["shop"],
		len(got.movements), len(got.balances), len(got.shop), verdict, time.Since(began).Round(time.Second))
}

// everySchedule matches every schedule of the example configuration.
var everySchedule = regexp.MustCompile(`schedule: "@every [0-9]+[smh]"`)

// newCrashSite is the example site with every job every second, small
// batches, quick retries, and on ledgerDSN (a MySQL ledger with a lease of
// one second) when given. Its configuration names its databases and
// folders itself, so that two sites live side by side in one test.
func newCrashSite(t *testing.T, ledgerDSN string) *sqlSite {
	t.Helper()
	s := newSQLSite(t, func(c string) string {
		if n := len(everySchedule.FindAllString(c, -1)); n < 11 {
			t.Fatalf("the example configuration has %d schedules written @every; the crash test expects one per job (11)", n)
		}
		c = everySchedule.ReplaceAllString(c, `schedule: "@every 1s"`)
		daemon := fmt.Sprintf("daemon:\n  batch_size: %d\n  retries: 1\n  backoff: 100ms\n  max_backoff: 1s\n  housekeeping: \"@every 1s\"\n", crashBatchSize)
		ledgerBlock := "ledger:\n  driver: sqlite\n  path: ${POINTSYNC_DATA:./data}/pointsync.db\n"
		if ledgerDSN != "" {
			daemon += "  lease_ttl: 1s\n"
			c = replaceOnce(t, c, ledgerBlock, fmt.Sprintf("ledger:\n  driver: mysql\n  dsn: %q\n", ledgerDSN))
		}
		return replaceOnce(t, c, "daemon:\n  batch_size: 500\n", daemon)
	})
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	config := string(data)
	for _, v := range []struct {
		name  string
		value string
	}{
		{"POINTSYNC_DATA", s.dir},
		{"POINTSYNC_ERP_DSN", strconv.Quote(os.Getenv("POINTSYNC_ERP_DSN"))},
		{"POINTSYNC_SHOP_DSN", strconv.Quote(os.Getenv("POINTSYNC_SHOP_DSN"))},
	} {
		re := regexp.MustCompile(`\$\{` + v.name + `(:[^}]*)?\}`)
		config = re.ReplaceAllLiteralString(config, v.value)
	}
	if i := strings.Index(config, "${"); i >= 0 {
		t.Fatalf("the crash test's configuration still reads the environment: %s", config[i:min(len(config), i+60)])
	}
	if err := os.WriteFile(s.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func replaceOnce(t *testing.T, text, old, repl string) string {
	t.Helper()
	if strings.Count(text, old) != 1 {
		t.Fatalf("the example configuration changed: %q is not in it once; the crash test cannot edit it", old)
	}
	return strings.Replace(text, old, repl, 1)
}

// crashOp is one write of the workload.
type crashOp struct {
	what string
	do   func(ctx context.Context, s *sqlSite) error
}

// crashWorkload is the same for the reference and for every killed run.
type crashWorkload struct {
	steps [][]crashOp
	rows  map[string]int // rows written per side
	files []string       // names of the drop files
}

// feed writes step k to s.
func (w *crashWorkload) feed(t *testing.T, s *sqlSite, k int) {
	t.Helper()
	for _, op := range w.steps[k] {
		if err := op.do(context.Background(), s); err != nil {
			t.Fatalf("step %d: %s: %v", k, op.what, err)
		}
	}
}

// crashGen builds a workload from a seed.
type crashGen struct {
	w       *crashWorkload
	rnd     *rand.Rand
	base    time.Time // midnight before the first step, Europe/Rome
	slots   []int     // time slots taken per step
	docs    map[string]int
	receipt int
}

// crashSlot is how far apart the events of a step are: more than the two
// minutes the shop's queries read again before their cursor, so that what
// they read again is one event at most.
const crashSlot = 150 * time.Second

func newCrashWorkload(seed uint64, size crashSize, now time.Time) *crashWorkload {
	if size.steps < crashStages {
		panic(fmt.Sprintf("crash workload: %d steps; at least %d", size.steps, crashStages))
	}
	// Business days in the recent past, whenever the test runs: the points
	// earned stay valid (365 days) until the end of the test.
	day := now.In(rome).AddDate(0, 0, -size.steps-3)
	g := &crashGen{
		w:     &crashWorkload{steps: make([][]crashOp, size.steps), rows: map[string]int{}},
		rnd:   rand.New(rand.NewPCG(seed, 0x5eed)),
		base:  time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, rome),
		slots: make([]int, size.steps),
		docs:  map[string]int{},
	}
	for k := range size.steps {
		g.tills(k, size)
	}
	// The shop numbers its users as they register, and its queries read
	// users by that number: customer u registers u-th.
	starts := make([]int, size.customers)
	for u := range starts {
		starts[u] = g.rnd.IntN(size.steps - crashStages + 1)
	}
	slices.Sort(starts)
	for u, s := range starts {
		g.customer(u, s)
	}
	for k, n := range g.slots {
		if time.Duration(n)*crashSlot >= 24*time.Hour {
			panic(fmt.Sprintf("crash workload: step %d has %d events, more than a day holds", k, n))
		}
	}
	return g.w
}

// at is the business time of the next event of step k; the events of a
// step follow each other in the order they are written, and every step
// after every event of the step before.
func (g *crashGen) at(k int) time.Time {
	t := g.base.AddDate(0, 0, k).Add(time.Duration(g.slots[k]) * crashSlot)
	g.slots[k]++
	return t
}

func (g *crashGen) op(k int, side string, rows int, what string, do func(ctx context.Context, s *sqlSite) error) {
	g.w.steps[k] = append(g.w.steps[k], crashOp{what: what, do: do})
	g.w.rows[side] += rows
}

// tills drops the step's till files: receipts of one or two lines on cards
// of a pool, some paying with the card; one file of the step with a bad row,
// and now and then a file dropped again under another name.
func (g *crashGen) tills(k int, size crashSize) {
	day := g.base.AddDate(0, 0, k)
	var first string
	for f := range size.files {
		var b strings.Builder
		b.WriteString("store;till;receipt;line;at;card;gross;discount;spent\n")
		bad := -1
		if f == 1 {
			bad = g.rnd.IntN(size.fileRows)
		}
		for n := 0; n < size.fileRows; {
			g.receipt++
			store, till := 1+g.rnd.IntN(5), 1+g.rnd.IntN(3)
			card := fmt.Sprintf("0420%06d", g.rnd.IntN(size.cards))
			at := day.Add(9*time.Hour + time.Duration(g.receipt%600)*time.Minute).Format("02/01/2006 15:04")
			lines := 1 + g.rnd.IntN(2)
			for l := 1; l <= lines && n < size.fileRows; l++ {
				gross := fmt.Sprintf("%d,%02d", 1+g.rnd.IntN(150), g.rnd.IntN(100))
				if n == bad {
					gross = "dieci"
				}
				spent := "0"
				if l == 1 && g.rnd.IntN(6) == 0 {
					spent = fmt.Sprintf("%d,%02d", g.rnd.IntN(4), g.rnd.IntN(100))
				}
				fmt.Fprintf(&b, "S%02d;%d;%d;%d;%s;%s;%s;0;%s\n", store, till, g.receipt, l, at, card, gross, spent)
				n++
			}
		}
		content := b.String()
		if f == 0 {
			first = content
		}
		g.drop(k, fmt.Sprintf("s%03d-%d.csv", k, f), content, size.fileRows)
	}
	if g.rnd.IntN(3) == 0 {
		g.drop(k, fmt.Sprintf("s%03d-%d-again.csv", k, size.files), first, size.fileRows)
	}
}

func (g *crashGen) drop(k int, name, content string, rows int) {
	g.w.files = append(g.w.files, name)
	g.op(k, "stores", rows, "drop "+name, func(_ context.Context, s *sqlSite) error {
		s.drop("stores", name, content)
		return nil
	})
}

// crashLine is a line of a web order: the shop's item and the ERP's lines
// that carry it.
type crashLine struct {
	product  int64
	quantity int
	total    int64 // cents, after the shop's coupon
	subtotal int64 // cents, before it
}

func cents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

func (g *crashGen) lines(n int) []crashLine {
	out := make([]crashLine, n)
	for i := range out {
		l := crashLine{product: 1 + int64(g.rnd.IntN(60)), quantity: 1 + g.rnd.IntN(3), total: 500 + int64(g.rnd.IntN(12000))}
		l.subtotal = l.total
		if g.rnd.IntN(5) == 0 {
			l.subtotal += int64(100 + g.rnd.IntN(900))
		}
		out[i] = l
	}
	return out
}

func shopItems(ls []crashLine) []wcdb.Item {
	out := make([]wcdb.Item, len(ls))
	for i, l := range ls {
		out[i] = wcdb.Item{Product: l.product, Name: fmt.Sprintf("P%d", l.product), Quantity: l.quantity, Subtotal: cents(l.subtotal), Total: cents(l.total)}
	}
	return out
}

// erpOrder is the ERP's order imported from web order web.
func erpOrder(key ntsdb.OrderKey, account int, at time.Time, web int64, ls []crashLine) ntsdb.Order {
	o := ntsdb.Order{Key: key, Account: account, Date: at, Web: strconv.FormatInt(web, 10)}
	for i, l := range ls {
		o.Lines = append(o.Lines, ntsdb.Line{Row: i + 1, Product: fmt.Sprintf("P%d", l.product), Quantity: strconv.Itoa(l.quantity), Net: cents(l.total)})
	}
	return o
}

// document converts the given rows (1-based) of the order into a document
// of type typ.
func (g *crashGen) document(typ string, account int, at time.Time, key ntsdb.OrderKey, ls []crashLine, rows ...int) ntsdb.Document {
	g.docs[typ]++
	d := ntsdb.Document{Type: typ, Year: 2026, Series: "A", Number: g.docs[typ], Account: account, Date: at}
	for i, r := range rows {
		l := ls[r-1]
		d.Lines = append(d.Lines, ntsdb.Line{Row: i + 1, Product: fmt.Sprintf("P%d", l.product), Quantity: strconv.Itoa(l.quantity),
			Gross: cents(l.total), Order: &key, OrderRow: r})
	}
	return d
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// customer writes the story of customer u from step s on, one stage per
// step: registration; newsletter, review and the ERP's customer record;
// order A; its conversion by the ERP (invoice, delivery note, partial
// delivery, or cancellation; or, out of order, the ERP's invoice a step
// before the shop's order); order B spending points; B invoiced or
// cancelled by the ERP, or a credit note on A; B's status in the shop; the
// rest of a partial delivery invoiced, a credit note, or a credit note
// saved again. A guest (one customer in eight) only places A and has it
// converted: its orders stay parked, no customer having its address.
func (g *crashGen) customer(u, s int) {
	id, email, account := int64(101+u), fmt.Sprintf("c%04d@example.com", u), 5001+u
	guest := g.rnd.IntN(8) == 0
	if guest {
		id, email, account = 0, fmt.Sprintf("g%04d@example.net", u), 9000
	}
	a, b := int64(20001+10*u), int64(20002+10*u)
	keyA := ntsdb.OrderKey{Year: 2026, Series: "W", Number: int(a)}
	keyB := ntsdb.OrderKey{Year: 2026, Series: "W", Number: int(b)}
	linesA := g.lines(1 + g.rnd.IntN(3))
	linesB := g.lines(1 + g.rnd.IntN(2))

	if !guest {
		at := g.at(s)
		g.op(s, "shop", 1, fmt.Sprintf("user %d registers", id), func(ctx context.Context, x *sqlSite) error {
			return wcdb.AddUser(ctx, x.shop, id, email, at)
		})
		if g.rnd.IntN(5) < 3 {
			at := g.at(s + 1)
			g.op(s+1, "shop", 1, fmt.Sprintf("user %d subscribes", id), func(ctx context.Context, x *sqlSite) error {
				return wcdb.Subscribe(ctx, x.shop, id, email, at)
			})
		}
		if g.rnd.IntN(2) == 0 {
			at, product := g.at(s+1), 1+int64(g.rnd.IntN(60))
			g.op(s+1, "shop", 1, fmt.Sprintf("user %d reviews", id), func(ctx context.Context, x *sqlSite) error {
				_, err := wcdb.AddReview(ctx, x.shop, id, product, email, at)
				return err
			})
		}
		if g.rnd.IntN(2) == 0 {
			g.op(s+1, "erp", 1, fmt.Sprintf("ERP customer %d", account), func(ctx context.Context, x *sqlSite) error {
				return ntsdb.AddCustomer(ctx, x.erp, ntsdb.Customer{Account: account, Name: email, Email: email})
			})
		}
	}

	statusA := []string{"wc-processing", "wc-on-hold", "wc-pending"}[g.rnd.IntN(3)]
	placedA := g.at(s + 2)
	orderA := wcdb.Order{ID: a, Customer: id, Email: email, Status: statusA, Created: placedA, Items: shopItems(linesA)}
	converted, partial := true, false
	if g.rnd.IntN(6) == 0 {
		// Out of order (SPEC E7): the ERP invoices A a step before the
		// shop's order reaches pointsync; the shop saves the order again
		// then, so its update time is past the shop query's cursor.
		at := g.at(s + 2)
		inv := g.document("A", account, at, keyA, linesA, seq(1, len(linesA))...)
		g.op(s+2, "erp", 2+2*len(linesA), fmt.Sprintf("ERP invoices %d before the shop sends it", a), func(ctx context.Context, x *sqlSite) error {
			if err := ntsdb.AddOrder(ctx, x.erp, erpOrder(keyA, account, at, a, linesA)); err != nil {
				return err
			}
			return ntsdb.AddDocument(ctx, x.erp, inv)
		})
		saved := g.at(s + 3)
		g.op(s+3, "shop", 2+len(linesA), fmt.Sprintf("order %d reaches the shop query after its invoice", a), func(ctx context.Context, x *sqlSite) error {
			if err := wcdb.AddOrder(ctx, x.shop, orderA); err != nil {
				return err
			}
			return wcdb.SetStatus(ctx, x.shop, a, statusA, saved)
		})
	} else {
		g.op(s+2, "shop", 1+len(linesA), fmt.Sprintf("order %d placed", a), func(ctx context.Context, x *sqlSite) error {
			return wcdb.AddOrder(ctx, x.shop, orderA)
		})
		at := g.at(s + 3)
		order := erpOrder(keyA, account, at, a, linesA)
		var doc *ntsdb.Document
		what := "invoiced"
		switch r := g.rnd.IntN(20); {
		case r < 3:
			converted, what = false, "cancelled"
		case r < 7 && len(linesA) > 1:
			partial, what = true, "delivered in part"
			d := g.document("B", account, at, keyA, linesA, 1)
			doc = &d
		case r < 12:
			what = "delivered"
			d := g.document("B", account, at, keyA, linesA, seq(1, len(linesA))...)
			doc = &d
		default:
			d := g.document("A", account, at, keyA, linesA, seq(1, len(linesA))...)
			doc = &d
		}
		rows := 1 + len(linesA)
		if doc != nil {
			rows += 1 + len(doc.Lines)
		} else {
			rows++
		}
		g.op(s+3, "erp", rows, fmt.Sprintf("ERP order of %d %s", a, what), func(ctx context.Context, x *sqlSite) error {
			if err := ntsdb.AddOrder(ctx, x.erp, order); err != nil {
				return err
			}
			if doc == nil {
				return ntsdb.CancelOrder(ctx, x.erp, keyA, at)
			}
			return ntsdb.AddDocument(ctx, x.erp, *doc)
		})
	}
	if guest {
		return
	}

	// B spends points, and A may be completed in the shop meanwhile: both
	// from the shop's orders, in the order the shop saved them.
	if g.rnd.IntN(2) == 0 {
		at := g.at(s + 4)
		g.op(s+4, "shop", 1, fmt.Sprintf("order %d completed", a), func(ctx context.Context, x *sqlSite) error {
			return wcdb.SetStatus(ctx, x.shop, a, "wc-completed", at)
		})
	}
	orderB := wcdb.Order{ID: b, Customer: id, Email: email, Status: "wc-on-hold", Created: g.at(s + 4), Points: 20 + int64(g.rnd.IntN(230)), Items: shopItems(linesB)}
	g.op(s+4, "shop", 2+len(linesB), fmt.Sprintf("order %d spends %d points", b, orderB.Points), func(ctx context.Context, x *sqlSite) error {
		return wcdb.AddOrder(ctx, x.shop, orderB)
	})

	// The ERP: B invoiced or cancelled, or a credit note on A; never a
	// cancellation of B (giving points back) beside a credit note (taking
	// some back) of one customer in one step, as they come from two
	// connectors.
	credit := func(k int) {
		at := g.at(k)
		n := g.document("N", account, at, keyA, linesA, 1)
		n.Lines[0].Gross = cents(linesA[0].total / 2)
		g.op(k, "erp", 2, fmt.Sprintf("credit note %d on %d", n.Number, a), func(ctx context.Context, x *sqlSite) error {
			return ntsdb.AddDocument(ctx, x.erp, n)
		})
		g.op(crashStages-1+s, "erp", 1, fmt.Sprintf("credit note %d saved again", n.Number), func(ctx context.Context, x *sqlSite) error {
			return ntsdb.TouchDocument(ctx, x.erp, "N", 2026, "A", n.Number)
		})
	}
	at := g.at(s + 5)
	cancelledB := false
	switch r := g.rnd.IntN(20); {
	case r < 9:
		inv := g.document("A", account, at, keyB, linesB, seq(1, len(linesB))...)
		g.op(s+5, "erp", 2+2*len(linesB), fmt.Sprintf("ERP invoices %d", b), func(ctx context.Context, x *sqlSite) error {
			if err := ntsdb.AddOrder(ctx, x.erp, erpOrder(keyB, account, at, b, linesB)); err != nil {
				return err
			}
			return ntsdb.AddDocument(ctx, x.erp, inv)
		})
	case r < 13:
		cancelledB = true
		g.op(s+5, "erp", 2+len(linesB), fmt.Sprintf("ERP cancels %d", b), func(ctx context.Context, x *sqlSite) error {
			if err := ntsdb.AddOrder(ctx, x.erp, erpOrder(keyB, account, at, b, linesB)); err != nil {
				return err
			}
			return ntsdb.CancelOrder(ctx, x.erp, keyB, at)
		})
	}
	credited := false
	if !cancelledB && converted && g.rnd.IntN(5) < 2 {
		credit(s + 5)
		credited = true
	}

	statusB := []string{"wc-processing", "wc-processing", "wc-cancelled", "wc-completed"}[g.rnd.IntN(4)]
	if cancelledB {
		statusB = "wc-cancelled"
	}
	atB := g.at(s + 6)
	g.op(s+6, "shop", 1, fmt.Sprintf("order %d %s", b, statusB), func(ctx context.Context, x *sqlSite) error {
		return wcdb.SetStatus(ctx, x.shop, b, statusB, atB)
	})

	if partial {
		at := g.at(s + 7)
		inv := g.document("A", account, at, keyA, linesA, seq(2, len(linesA))...)
		g.op(s+7, "erp", 1+len(inv.Lines), fmt.Sprintf("ERP invoices the rest of %d", a), func(ctx context.Context, x *sqlSite) error {
			return ntsdb.AddDocument(ctx, x.erp, inv)
		})
	}
	if !credited && converted && g.rnd.IntN(5) < 2 {
		credit(s + 7)
	}
}

// crashResult is what a run leaves, in forms that do not depend on the
// order in which the daemon's connectors happened to run: a customer is
// named by all its identifiers (the first one known depends on which of
// the shop's user connectors ran first), rows are sorted.
type crashResult struct {
	balances  []string // every account's breakdown, every program
	movements []string // movementSet, customers named as above
	shop      []string // the shop's balance table
	tills     []string // the tills' balance file
	parked    []string // subjects parked, by program
	reports   map[string]string
}

func collectCrash(t *testing.T, s *sqlSite) crashResult {
	t.Helper()
	ctx := context.Background()
	e, err := (&common{config: s.config}).open(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var r crashResult
	who := map[string]string{} // any identifier -> all of its customer's
	for _, p := range e.cfg.Programs {
		err := e.ledger.EachBalance(ctx, p.ID, time.Time{}, func(cb ledger.CustomerBalance) error {
			ids := make([]string, len(cb.Identifiers))
			for i, id := range cb.Identifiers {
				ids[i] = string(id)
			}
			slices.Sort(ids)
			all := strings.Join(ids, "+")
			for _, id := range ids {
				who[id] = all
			}
			var exp []string
			for _, x := range cb.Expiring {
				exp = append(exp, fmt.Sprintf("%s=%d", x.Date, x.Points))
			}
			r.balances = append(r.balances, fmt.Sprintf("%s %s earned %d provisional %d spent %d expired %d expiring [%s]",
				p.ID, all, cb.Earned, cb.Provisional, cb.Spent, cb.Expired, strings.Join(exp, " ")))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		parked, err := e.ledger.Parked(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range parked {
			r.parked = append(r.parked, p.ID+" "+sub.Subject)
		}
	}
	for _, m := range movementSet(t, s.site) {
		f := strings.SplitN(m, " ", 3)
		if all, ok := who[f[1]]; ok {
			f[1] = all
		}
		r.movements = append(r.movements, strings.Join(f, " "))
	}
	rows, err := s.shop.QueryContext(ctx, `SELECT customer_id, program, earned, provisional, spent, expired,
		COALESCE(CAST(expiring_date AS CHAR), '-'), COALESCE(expiring_points, 0) FROM wp_pointsync_balances`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var customer, program, date string
		var earned, provisional, spent, expired, expiring int64
		if err := rows.Scan(&customer, &program, &earned, &provisional, &spent, &expired, &date, &expiring); err != nil {
			t.Fatal(err)
		}
		r.shop = append(r.shop, fmt.Sprintf("%s %s earned %d provisional %d spent %d expired %d expiring %s=%d",
			customer, program, earned, provisional, spent, expired, date, expiring))
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(s.dir, "drops/stores/out/balances.csv"))
	if err != nil {
		t.Fatal(err)
	}
	r.tills = strings.Split(strings.TrimSpace(string(data)), "\n")
	r.reports = map[string]string{}
	for _, p := range s.files("drops/stores/archive") {
		if strings.HasSuffix(p, ".errors.csv") {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			r.reports[filepath.Base(p)] = string(data)
		}
	}
	for _, l := range [][]string{r.balances, r.movements, r.shop, r.tills, r.parked} {
		slices.Sort(l)
	}
	return r
}

// compareCrash reports every part of got that differs from want.
func compareCrash(t *testing.T, want, got crashResult) {
	t.Helper()
	for _, c := range []struct {
		what      string
		want, got []string
	}{
		{"balances", want.balances, got.balances},
		{"movements", want.movements, got.movements},
		{"rows of the shop's balance table", want.shop, got.shop},
		{"lines of the tills' balance file", want.tills, got.tills},
		{"parked subjects", want.parked, got.parked},
	} {
		if d := diffSorted(c.want, c.got); d != "" {
			t.Errorf("%s differ from the uninterrupted run (%d there, %d here):\n%s", c.what, len(c.want), len(c.got), d)
		}
	}
	for name, report := range want.reports {
		if got.reports[name] != report {
			t.Errorf("error report %s differs from the uninterrupted run:\n got %q\nwant %q", name, got.reports[name], report)
		}
	}
	if len(got.reports) != len(want.reports) {
		t.Errorf("%d error reports archived; the uninterrupted run archived %d", len(got.reports), len(want.reports))
	}
}

// diffSorted lists, for two sorted lists, the first lines only one of them
// has; "" when they are equal.
func diffSorted(want, got []string) string {
	var b strings.Builder
	shown := 0
	i, j := 0, 0
	for (i < len(want) || j < len(got)) && shown < 12 {
		switch {
		case j >= len(got) || (i < len(want) && want[i] < got[j]):
			fmt.Fprintf(&b, "  missing: %s\n", want[i])
			i++
			shown++
		case i >= len(want) || got[j] < want[i]:
			fmt.Fprintf(&b, "  extra:   %s\n", got[j])
			j++
			shown++
		default:
			i++
			j++
		}
	}
	return b.String()
}

// duplicateKeys lists the (source, key) pairs of more than one movement.
func duplicateKeys(movements []string) []string {
	seen := map[string]int{}
	var dup []string
	for _, m := range movements {
		f := strings.SplitN(m, " ", 7)
		k := f[len(f)-2] + " " + f[len(f)-1]
		if seen[k]++; seen[k] == 2 {
			dup = append(dup, k)
		}
	}
	return dup
}

// crashHarness starts, watches and kills one site's daemon.
type crashHarness struct {
	t       *testing.T
	s       *sqlSite
	rnd     *rand.Rand
	ledger  *ledger.Ledger // the site's ledger, read beside the daemon
	cursors *sql.DB        // the same, for the cursor table in one query
	sources []string       // the connectors' jobs
	exports []string       // the exports' jobs
	life    *crashLife     // the daemon running now, if any
	kills   int
	pending int            // kills that landed while a step was being applied
	plans   map[string]int // pending kills by moment
}

// crashLife is one start of the daemon.
type crashLife struct {
	cmd     *exec.Cmd
	logs    *logBuffer
	started time.Time
	done    chan struct{}
	err     error
}

func newCrashHarness(t *testing.T, s *sqlSite, rnd *rand.Rand) *crashHarness {
	t.Helper()
	e, err := (&common{config: s.config}).open(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	var db *sql.DB
	if e.cfg.Ledger.Driver == "mysql" {
		db, err = sql.Open("mysql", e.cfg.Ledger.DSN.Reveal())
	} else {
		db, err = sql.Open("sqlite", "file:"+e.cfg.Ledger.Path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &crashHarness{t: t, s: s, rnd: rnd, ledger: e.ledger, cursors: db, plans: map[string]int{}}
	for _, c := range e.cfg.Connectors {
		h.sources = append(h.sources, c.Name)
	}
	for _, x := range e.cfg.Exports {
		h.exports = append(h.exports, x.Name)
	}
	return h
}

func (h *crashHarness) start() {
	h.t.Helper()
	life := &crashLife{cmd: h.s.cmd("run"), logs: &logBuffer{}, done: make(chan struct{})}
	life.cmd.Stderr = life.logs
	if err := life.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	life.started = time.Now()
	go func() {
		life.err = life.cmd.Wait()
		close(life.done)
	}()
	h.t.Cleanup(func() {
		_ = life.cmd.Process.Kill()
		<-life.done
	})
	h.life = life
}

// alive fails the test when the daemon ended on its own.
func (h *crashHarness) alive() {
	h.t.Helper()
	select {
	case <-h.life.done:
		h.t.Fatalf("the daemon exited on its own (%v); its log:\n%s", h.life.err, tail(h.life.logs.String()))
	default:
	}
}

// sleep waits d, or less if the daemon ends.
func (h *crashHarness) sleep(d time.Duration) {
	select {
	case <-h.life.done:
	case <-time.After(d):
	}
}

func (h *crashHarness) kill() {
	h.t.Helper()
	h.alive()
	_ = h.life.cmd.Process.Signal(syscall.SIGKILL)
	<-h.life.done
	h.life = nil
	h.kills++
}

// settle kills the daemon at random moments until step k, fed at fedAt,
// is applied, at most most times; then it lets the daemon finish the step.
func (h *crashHarness) settle(k int, fedAt time.Time, most int) {
	h.t.Helper()
	var sourcesDone time.Time
	for n := 0; ; n++ {
		if h.applied(fedAt, &sourcesDone) {
			return
		}
		if h.life == nil {
			h.start()
		}
		if n == most {
			break
		}
		plan := h.killMoment()
		h.kill()
		if !h.applied(fedAt, &sourcesDone) {
			h.pending++
			h.plans[plan]++
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); !h.applied(fedAt, &sourcesDone); time.Sleep(20 * time.Millisecond) {
		h.alive()
		if time.Now().After(deadline) {
			h.t.Fatalf("step %d was not applied within two minutes of the last restart; the daemon's log:\n%s", k, tail(h.life.logs.String()))
		}
	}
}

// killMoment waits for a moment to kill the running daemon and names it:
// during its start (lock or lease, connections, the first queries), right
// after a connector's batch committed, right after a page of the shop's
// balance table was written (its export's cursor moved), while an export
// runs, or at any time.
func (h *crashHarness) killMoment() string {
	h.t.Helper()
	switch r := h.rnd.IntN(100); {
	case r < 20:
		h.sleep(time.Until(h.life.started.Add(time.Duration(h.rnd.IntN(400)) * time.Millisecond)))
		return crashStartup
	case r < 45:
		h.cursorMoves(h.sources, 3*time.Millisecond)
		h.sleep(time.Duration(h.rnd.IntN(20)) * time.Millisecond)
		return crashBatch
	case r < 65:
		// At once: the page's next write follows its commit closely.
		h.cursorMoves(h.exports, time.Millisecond)
		return crashPage
	case r < 75:
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !h.exporting(); h.sleep(3 * time.Millisecond) {
		}
		h.sleep(time.Duration(h.rnd.IntN(10)) * time.Millisecond)
		return crashExporting
	default:
		h.sleep(time.Duration(50+h.rnd.IntN(1500)) * time.Millisecond)
		return crashRandom
	}
}

// The moments of killMoment.
const (
	crashStartup   = "at startup"
	crashBatch     = "after a batch"
	crashPage      = "after an export page"
	crashExporting = "while exporting"
	crashRandom    = "at random"
)

func (h *crashHarness) byPlan() string {
	var parts []string
	for _, p := range []string{crashStartup, crashBatch, crashPage, crashExporting, crashRandom} {
		parts = append(parts, fmt.Sprintf("%d %s", h.plans[p], p))
	}
	return strings.Join(parts, ", ")
}

// cursorMoves waits, three seconds at most, until the stored cursor of one
// of the jobs named moves, looking every poll. An export's cursor is named
// "export:" and the export's name.
func (h *crashHarness) cursorMoves(jobs []string, poll time.Duration) {
	h.t.Helper()
	read := func() map[string]string {
		all := h.cursorValues()
		out := map[string]string{}
		for _, j := range jobs {
			out[j], out["export:"+j] = all[j], all["export:"+j]
		}
		return out
	}
	before := read()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); h.sleep(poll) {
		if !maps.Equal(before, read()) {
			return
		}
	}
}

// cursorValues reads every stored cursor (connectors' and exports').
func (h *crashHarness) cursorValues() map[string]string {
	h.t.Helper()
	rows, err := h.cursors.Query("SELECT source, cursor_value FROM cursors")
	if err != nil {
		h.t.Fatalf("read the cursors: %v", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			h.t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// exporting reports whether an export of the running daemon is running.
func (h *crashHarness) exporting() bool {
	h.t.Helper()
	jobs, err := h.ledger.Jobs(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, j := range jobs {
		if slices.Contains(h.exports, j.Name) && j.Running && j.LastRun.After(h.life.started) {
			return true
		}
	}
	return false
}

// applied reports whether everything fed before fedAt is in the ledger
// and exported: every connector finished a run started after fedAt, and
// then (sourcesDone, kept across calls, is when that was first seen) every
// export finished a run started after that.
func (h *crashHarness) applied(fedAt time.Time, sourcesDone *time.Time) bool {
	h.t.Helper()
	jobs, err := h.ledger.Jobs(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	ran := func(name string, since time.Time) bool {
		for _, j := range jobs {
			if j.Name == name {
				return !j.Running && j.LastRun.After(since) && !j.LastSuccess.Before(j.LastRun)
			}
		}
		return false
	}
	if sourcesDone.IsZero() {
		for _, name := range h.sources {
			if !ran(name, fedAt) {
				return false
			}
		}
		*sourcesDone = time.Now()
		return false
	}
	for _, name := range h.exports {
		if !ran(name, *sourcesDone) {
			return false
		}
	}
	return true
}

// stop starts the daemon if it is down and, once it runs its jobs, stops it
// with SIGTERM: exit 0.
func (h *crashHarness) stop() {
	h.t.Helper()
	if h.life == nil {
		h.start()
	}
	for deadline := time.Now().Add(30 * time.Second); !h.life.logs.has("pointsync running"); time.Sleep(20 * time.Millisecond) {
		h.alive()
		if time.Now().After(deadline) {
			h.t.Fatalf("the daemon did not start its jobs within 30 s; its log:\n%s", tail(h.life.logs.String()))
		}
	}
	_ = h.life.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.life.done:
	case <-time.After(30 * time.Second):
		h.t.Fatalf("the daemon did not stop within 30 s of SIGTERM; its log:\n%s", tail(h.life.logs.String()))
	}
	if h.life.err != nil {
		h.t.Fatalf("the daemon stopped by SIGTERM: %v; its log:\n%s", h.life.err, tail(h.life.logs.String()))
	}
	h.life = nil
}

// tail is the end of a long log.
func tail(s string) string {
	const most = 12000
	if len(s) <= most {
		return s
	}
	return "...\n" + s[len(s)-most:]
}
