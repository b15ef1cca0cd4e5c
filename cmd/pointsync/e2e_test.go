package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests run the real binary, built once per test process,
// against real drop folders.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func pointsyncBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "pointsync-e2e-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "pointsync")
		// Without -race even under go test -race: the kill test moves
		// 20,000 rows through several restarts, ten times slower with
		// it. The daemon's goroutines run under -race in-process in the
		// demo and daemon tests.
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// site is a configuration with drop folders for the shop's customers and
// orders, the ERP's documents and the stores' tills.
type site struct {
	t      *testing.T
	dir    string
	config string
	bin    string
}

const siteConfig = `ledger: {path: ledger.db}
log: {level: info}
daemon: {batch_size: %d, retries: 1, backoff: 100ms, max_backoff: 1s}
programs:
  - id: shop
    expiry: {policy: days, days: 365}
    accrual: {base: value, mode: steps, points: 1, every: "1.00"}
  - id: card
    unit: amount
    create_card_customers: true
    accrual: {mode: proportional, points: 5, every: "1.00"}
connectors:
  - name: customers
    kind: csv_drop
    schedule: "@every 1s"
    program: shop
    facts: link
    drop: {dir: drops/customers, min_age: 1s}
  - name: orders
    kind: csv_drop
    schedule: "@every 1s"
    program: shop
    facts: web_order
    ident_kind: web
    drop: {dir: drops/orders, min_age: 1s}
    csv: {delimiter: ",", decimal: point}
    statuses: {wc-processing: paid, wc-on-hold: payment_unconfirmed, wc-cancelled: cancelled}
  - name: erp
    kind: csv_drop
    schedule: "@every 1s"
    program: shop
    facts: erp_document
    drop: {dir: drops/erp, min_age: 1s}
    csv: {delimiter: ";", decimal: comma, encoding: windows-1252}
    date_formats: ["02/01/2006 15:04"]
    columns: {doc_type: tipo, year: anno, series: serie, number: numero, order: ordine, date: data, gross: importo}
    document_kinds: {F: invoice, X: cancellation, N: credit_note}
  - name: stores
    kind: csv_drop
    schedule: "@every 1s"
    program: card
    facts: till_receipt
    drop: {dir: drops/stores, min_age: 1s}
    date_formats: ["02/01/2006 15:04"]
exports:
  - name: tills
    kind: till_files
    program: card
    path: drops/stores/out/balances.csv
`

func newSite(t *testing.T, batch int) *site {
	t.Helper()
	s := &site{t: t, dir: t.TempDir(), bin: pointsyncBinary(t)}
	s.config = filepath.Join(s.dir, "pointsync.yaml")
	if err := os.WriteFile(s.config, []byte(fmt.Sprintf(siteConfig, batch)), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// drop puts a file into a connector's inbox, old enough to be taken.
func (s *site) drop(conn, name, content string) {
	s.t.Helper()
	inbox := filepath.Join(s.dir, "drops", conn, "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(inbox, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) cmd(args ...string) *exec.Cmd {
	full := append([]string{args[0], "--config", s.config}, args[1:]...)
	c := exec.Command(s.bin, full...)
	c.Env = append(os.Environ(), "POINTSYNC_CONFIG=")
	return c
}

// run runs a command to its end.
func (s *site) run(args ...string) (int, string, string) {
	s.t.Helper()
	c := s.cmd(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func (s *site) sync() string {
	s.t.Helper()
	code, out, errs := s.run("sync", "--once")
	if code != 0 {
		s.t.Fatalf("sync --once: exit %d\n%s%s", code, out, errs)
	}
	return out
}

// balance reads a balance through the fixed JSON form (SPEC 5).
func (s *site) balance(program, customer string) string {
	s.t.Helper()
	code, out, errs := s.run("balance", "--program", program, "--customer", customer, "--json")
	if code != 0 {
		s.t.Fatalf("balance %s %s: exit %d\n%s%s", program, customer, code, out, errs)
	}
	return strings.TrimSpace(out)
}

func (s *site) wantBalance(program, customer string, earned, provisional, spent int64) {
	s.t.Helper()
	var b struct{ Earned, Provisional, Spent, Expired int64 }
	got := s.balance(program, customer)
	if err := json.Unmarshal([]byte(got), &b); err != nil {
		s.t.Fatal(err)
	}
	if b.Earned != earned || b.Provisional != provisional || b.Spent != spent {
		s.t.Fatalf("%s %s = %s; want earned %d, provisional %d, spent %d", program, customer, got, earned, provisional, spent)
	}
}

// TestDropsE6E7 feeds SPEC E6 and E7 through the shop's and the ERP's drop
// folders and reads balances back through the CLI's fixed JSON form.
func TestDropsE6E7(t *testing.T) {
	s := newSite(t, 100)
	s.drop("customers", "anna.csv", "web;email\nanna;anna@example.com\nbea;bea@example.com\n")
	// E6: W1 placed, 120.00 EUR: 120 provisional.
	s.drop("orders", "w1.csv", "order,customer,placed_at,status,product,quantity,gross\n"+
		"W1,anna,2026-03-02 09:00:00,wc-processing,A,1,80.00\nW1,anna,2026-03-02 09:00:00,wc-processing,B,2,40.00\n")
	s.sync()
	want := `{"program":"shop","customer":"web:anna","earned":0,"provisional":120,"spent":0,"expired":0,"expiring":[]}`
	if got := s.balance("shop", "web:anna"); got != want {
		t.Fatalf("after W1 placed:\n got %s\nwant %s", got, want)
	}
	// W2, placed before W1 is converted, wants W1's points: parked.
	s.drop("orders", "w2.csv", "order,customer,placed_at,status,points_spent,product,quantity,gross\n"+
		"W2,anna,2026-03-02 12:00:00,wc-on-hold,50,C,1,30.00\n")
	// The ERP converts W1 into an invoice: 120 earned.
	s.drop("erp", "ft118.csv", "tipo;anno;serie;numero;ordine;data;importo\nF;2026;A;118;W1;03/03/2026 10:00;120,00\n")
	s.sync()
	s.wantBalance("shop", "web:anna", 120, 30, 0)
	if code, out, _ := s.run("unmatched", "--program", "shop", "--json"); code != 0 || !strings.Contains(out, "earned before") {
		t.Fatalf("W2's spend of points earned after it was placed is not parked: %s", out)
	}
	// W3 spends 100 with payment not confirmed: earned 20, spent 100.
	// A customer written with its kind is read as it is.
	s.drop("orders", "w3.csv", "order,customer,placed_at,status,points_spent,product,quantity,gross\n"+
		"W3,email:anna@example.com,2026-03-04 11:00:00,wc-on-hold,100,D,1,50.00\n"+
		"W4,anna,2026-03-04 12:00:00,wc-bogus,0,D,1,50.00\n")
	s.sync()
	s.wantBalance("shop", "web:anna", 20, 80, 100)
	// W3 cancelled in the ERP: earned 120, spent 0, W3's accrual void.
	s.drop("erp", "x3.csv", "tipo;anno;serie;numero;ordine;data;importo\nX;2026;A;3;W3;05/03/2026 09:00;0,00\n")
	s.sync()
	s.wantBalance("shop", "web:anna", 120, 30, 0)

	// E7: the ERP's invoice for W9 arrives before web order W9.
	s.drop("erp", "ft119.csv", "tipo;anno;serie;numero;ordine;data;importo\nF;2026;A;119;W9;06/03/2026 10:00;80,00\n")
	s.sync()
	if code, out, _ := s.run("unmatched", "--program", "shop"); code != 0 || !strings.Contains(out, "W9") {
		t.Fatalf("the invoice of W9 is not kept waiting for W9: %s", out)
	}
	s.drop("orders", "w9.csv", "order,customer,placed_at,status,product,quantity,gross\nW9,bea,2026-03-05 18:00:00,wc-processing,E,1,80.00\n")
	s.sync()
	s.wantBalance("shop", "web:bea", 80, 0, 0)

	// Every file was archived; W4's unknown status is reported.
	archived := s.files("drops/orders/archive")
	if len(archived) != 4+1 { // four order files and one error report
		t.Fatalf("orders archive = %v", archived)
	}
	report := s.read(archived, "w3.csv.errors.csv")
	if !strings.Contains(report, "3;status;wc-bogus;") {
		t.Fatalf("the report of w3.csv does not name line 3, column status:\n%s", report)
	}
}

// TestDropsE13 drops the same store file twice under two names (one
// credit) and a 1,000-row file with one bad row (999 applied, the bad row
// reported with its line and reason).
func TestDropsE13(t *testing.T) {
	s := newSite(t, 100)
	s.drop("stores", "S01-0900.csv", "store;till;receipt;line;at;card;gross;discount;spent\nS01;1;1;1;10/07/2026 09:00;0420001234;100,00;0;0\n")
	s.sync()
	s.drop("stores", "S01-0900-again.csv", "store;till;receipt;line;at;card;gross;discount;spent\nS01;1;1;1;10/07/2026 09:00;0420001234;100,00;0;0\n")
	s.sync()
	s.wantBalance("card", "card:0420001234", 500, 0, 0)

	var b strings.Builder
	b.WriteString("store;till;receipt;line;at;card;gross;discount;spent\n")
	for i := range 1000 {
		gross := "10,00"
		if i == 499 {
			gross = "dieci" // line 501 of the file
		}
		fmt.Fprintf(&b, "S02;1;%d;1;11/07/2026 10:00;05200%05d;%s;0;0\n", i+1, i, gross)
	}
	s.drop("stores", "S02.csv", b.String())
	out := s.sync()
	if !strings.Contains(out, "stores: 999 fact(s) applied, 1 rejected") {
		t.Fatalf("sync: %s", out)
	}
	archived := s.files("drops/stores/archive")
	report := s.read(archived, "S02.csv.errors.csv")
	if !strings.Contains(report, "501;gross;dieci;") {
		t.Fatalf("the report does not name line 501, column gross:\n%s", report)
	}
	s.wantBalance("card", "card:0520000000", 50, 0, 0)
	// The tills' balance file lists every card.
	data, err := os.ReadFile(filepath.Join(s.dir, "drops/stores/out/balances.csv"))
	if err != nil || bytes.Count(data, []byte("\n")) != 1+1+999 {
		t.Fatalf("till balance file: %v, %d lines", err, bytes.Count(data, []byte("\n")))
	}
}

func (s *site) files(dir string) []string {
	s.t.Helper()
	var out []string
	root := filepath.Join(s.dir, dir)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

func (s *site) read(paths []string, base string) string {
	s.t.Helper()
	for _, p := range paths {
		if filepath.Base(p) == base {
			data, err := os.ReadFile(p)
			if err != nil {
				s.t.Fatal(err)
			}
			return string(data)
		}
	}
	s.t.Fatalf("%s not among %v", base, paths)
	return ""
}

// TestDaemonSurvivesSIGKILL kills the daemon with SIGKILL several times in
// the middle of a large drop, restarts it each time, and checks that the
// ledger ends equal to an uninterrupted run of the same file.
func TestDaemonSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the daemon several times; skipped with -short")
	}
	const rows = 20000
	var b strings.Builder
	b.WriteString("store;till;receipt;line;at;card;gross;discount;spent\n")
	rnd := rand.New(rand.NewPCG(7, 7))
	for i := range rows {
		spent := "0"
		if i%7 == 3 {
			spent = "0,50"
		}
		fmt.Fprintf(&b, "S%02d;%d;%d;1;12/07/2026 %02d:%02d;0420%06d;%d,%02d;0;%s\n", i%5, i%3, i, 8+i%10, i%60, rnd.IntN(3000), 1+rnd.IntN(200), rnd.IntN(100), spent)
	}
	file := b.String()

	// The reference: one uninterrupted run.
	ref := newSite(t, 200)
	ref.drop("stores", "big.csv", file)
	ref.sync()

	s := newSite(t, 200)
	s.drop("stores", "big.csv", file)
	processing := filepath.Join(s.dir, "drops/stores/processing/big.csv")
	kills := 0
	for attempt := 0; attempt < 20 && kills < 3; attempt++ {
		d := s.cmd("run")
		var logs bytes.Buffer
		d.Stderr = &logs
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it take the file and commit some batches, then kill it.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(processing); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(200+rnd.IntN(800)) * time.Millisecond)
		_ = d.Process.Signal(syscall.SIGKILL)
		_ = d.Wait()
		if _, err := os.Stat(processing); err != nil {
			break // it finished before the kill
		}
		kills++
	}
	if kills == 0 {
		t.Fatal("the daemon finished the file before any kill; make the file larger")
	}
	// The last start runs to the end; SIGTERM then stops it cleanly.
	d := s.cmd("run")
	var logs bytes.Buffer
	d.Stderr = &logs
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(processing); err != nil {
			if archived := s.files("drops/stores/archive"); len(archived) == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = d.Process.Kill()
			t.Fatalf("the restarted daemon did not finish the file:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = d.Process.Signal(syscall.SIGTERM)
	if err := d.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, logs.String())
	}
	t.Logf("%d kill(s) survived", kills)

	// Same balances, same movements.
	_, want, _ := ref.run("export", "--program", "card", "-")
	_, got, _ := s.run("export", "--program", "card", "-")
	if got != want || strings.Count(got, "\n") < 2000 {
		t.Fatalf("balances differ from the uninterrupted run (%d and %d lines)", strings.Count(got, "\n"), strings.Count(want, "\n"))
	}
	if g, w := movementSet(t, s), movementSet(t, ref); !slices.Equal(g, w) {
		t.Fatalf("movements differ from the uninterrupted run: %d and %d", len(g), len(w))
	}
}

// movementSet lists a site's movements without their ids and times; the
// ledger is the one the site's configuration names.
func movementSet(t *testing.T, s *site) []string {
	t.Helper()
	e, err := (&common{config: s.config}).open(context.Background(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	l := e.ledger
	var out []string
	var after int64
	for {
		ms, err := l.MovementsAfter(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s %s %s %d %s %s %s", m.Program, m.Customer, m.Kind, m.Amount, m.State, m.Source, m.Key))
		}
		after = ms[len(ms)-1].ID
	}
	slices.Sort(out)
	return out
}

// TestSecondDaemonRefused: one daemon per SQLite ledger.
func TestSecondDaemonRefused(t *testing.T) {
	s := newSite(t, 100)
	d := s.cmd("run")
	var logs bytes.Buffer
	d.Stderr = &logs
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = d.Process.Signal(syscall.SIGTERM)
		_ = d.Wait()
	}()
	lock := filepath.Join(s.dir, "ledger.db.lock")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if data, err := os.ReadFile(lock); err == nil && len(data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not take its lock:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, _, errs := s.run("run")
	if code != 1 || !strings.Contains(errs, "another pointsync daemon is running on this ledger") {
		t.Fatalf("second daemon: exit %d, %s", code, errs)
	}
	code, _, errs = s.run("sync", "--once")
	if code != 1 || !strings.Contains(errs, "another pointsync daemon is running") {
		t.Fatalf("sync --once beside a daemon: exit %d, %s", code, errs)
	}
}

// TestFailingConnectorDoesNotStopOthers: a webservice that refuses
// connections fails its job (exit 1, SPEC 5) while the drop folder beside
// it is applied; status shows both, and the health check turns unhealthy
// after three failures in a row.
func TestFailingConnectorDoesNotStopOthers(t *testing.T) {
	s := newSite(t, 100)
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte(`  - name: shop-api
    kind: http_pull
    program: shop
    http: {url: "http://127.0.0.1:1/orders", retries: 0, timeout: 2s}
`)...)
	// The exports section must stay last in the file: move it after.
	text := string(cfg)
	i := strings.Index(text, "exports:")
	j := strings.Index(text, "  - name: shop-api")
	text = text[:i] + text[j:] + text[i:j]
	if err := os.WriteFile(s.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s.drop("stores", "a.csv", "store;till;receipt;line;at;card;gross;discount;spent\nS01;1;1;1;10/07/2026 09:00;0420001234;100,00;0;0\n")
	for run := range 3 {
		code, out, errs := s.run("sync", "--once")
		if code != 1 || !strings.Contains(errs, "shop-api") || !strings.Contains(errs, "1 job(s) failed") {
			t.Fatalf("run %d: exit %d\n%s%s", run, code, out, errs)
		}
		if run == 0 && !strings.Contains(out, "stores: 1 fact(s) applied, 0 rejected") {
			t.Fatalf("the drop folder did not run beside the failing connector:\n%s", out)
		}
	}
	s.wantBalance("card", "card:0420001234", 500, 0, 0)
	code, out, _ := s.run("status", "--json")
	var status struct {
		Lease *struct{} `json:"lease"`
		Jobs  []struct {
			Job      string  `json:"job"`
			Failures int64   `json:"consecutive_failures"`
			Runs     int64   `json:"runs"`
			Error    string  `json:"last_error"`
			Success  *string `json:"last_success"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &status); code != 0 || err != nil || status.Lease != nil {
		t.Fatalf("status: exit %d, %v\n%s", code, err, out)
	}
	seen := map[string]bool{}
	for _, j := range status.Jobs {
		seen[j.Job] = true
		switch j.Job {
		case "shop-api":
			if j.Failures != 3 || j.Runs != 3 || !strings.Contains(j.Error, "127.0.0.1:1") || j.Success != nil {
				t.Fatalf("shop-api status %+v", j)
			}
		case "stores":
			if j.Failures != 0 || j.Runs != 3 || j.Success == nil {
				t.Fatalf("stores status %+v", j)
			}
		}
	}
	if !seen["housekeeping"] || !seen["tills"] || !seen["orders"] {
		t.Fatalf("status lists %v", seen)
	}
	if code, out, errs := s.run("status", "--check"); code != 1 || !strings.Contains(errs, "shop-api failed 3 times in a row") {
		t.Fatalf("status --check: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := s.run("status", "--check", "--max-failures", "4"); code != 0 || !strings.Contains(out, "healthy") {
		t.Fatalf("status --check --max-failures 4: exit %d %s", code, out)
	}
	if code, out, _ := s.run("status"); code != 0 || !strings.Contains(out, "failing (3)") {
		t.Fatalf("status table:\n%s", out)
	}
}
