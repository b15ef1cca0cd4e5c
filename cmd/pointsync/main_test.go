package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// cli runs pointsync commands in-process against a configuration of its
// own (an SQLite ledger in a temporary folder).
type cli struct {
	t      *testing.T
	dir    string
	config string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	cfg := `ledger:
  path: ledger.db
programs:
  - id: shop
    unit: points
    expiry: {policy: days, days: 365}
    accrual: {base: value, mode: steps, points: 1, every: "1.00"}
  - id: card
    unit: amount
import:
  delimiter: auto
  decimal: comma
export:
  delimiter: ";"
  decimal: comma
`
	path := filepath.Join(dir, "pointsync.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, dir: dir, config: path}
}

// run returns exit code, stdout and stderr.
func (c *cli) run(args ...string) (int, string, string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{args[0], "--config", c.config}, args[1:]...)
	if args[0] == "help" {
		full = args
	}
	code := run(context.Background(), &app{stdout: &out, stderr: &errb}, full)
	return code, out.String(), errb.String()
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(args...)
	if code != 0 {
		c.t.Fatalf("pointsync %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func (c *cli) file(name, content string) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

type balanceJSON struct {
	Program     string `json:"program"`
	Customer    string `json:"customer"`
	Earned      int64  `json:"earned"`
	Provisional int64  `json:"provisional"`
	Spent       int64  `json:"spent"`
	Expired     int64  `json:"expired"`
	Expiring    []struct {
		Date   string `json:"date"`
		Points int64  `json:"points"`
	} `json:"expiring"`
}

func (c *cli) balance(program, customer string) balanceJSON {
	c.t.Helper()
	out := c.ok("balance", "--program", program, "--customer", customer, "--json")
	var b balanceJSON
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		c.t.Fatalf("balance JSON %q: %v", out, err)
	}
	return b
}

// TestBalanceFixedForm checks the exact JSON form of SPEC 5.
func TestBalanceFixedForm(t *testing.T) {
	c := newCLI(t)
	c.ok("adjust", "--program", "shop", "--customer", "web:42", "--points", "150", "--expiry", "2099-12-31", "--create-customer")
	c.ok("adjust", "--program", "shop", "--customer", "web:42", "--points", "10")
	out := c.ok("balance", "--program", "shop", "--customer", "web:42", "--json")
	want := `{"program":"shop","customer":"web:42","earned":160,"provisional":0,"spent":0,"expired":0,"expiring":[{"date":"2099-12-31","points":150}]}` + "\n"
	if out != want {
		t.Fatalf("balance --json =\n%s\nwant\n%s", out, want)
	}
	prev := c.ok("adjust", "--program", "card", "--customer", "web:new", "--points", "5", "--create-customer", "--preview")
	if !strings.Contains(prev, "0.00 -> 0.05") {
		t.Fatalf("preview for a customer the adjustment would create: %q", prev)
	}
	c.ok("adjust", "--program", "card", "--customer", "web:42", "--points", "1273")
	if b := c.balance("card", "web:42"); b.Earned != 1273 || len(b.Expiring) != 0 {
		t.Fatalf("amount program balance in cents: %+v", b)
	}
}

func TestExitCodes(t *testing.T) {
	c := newCLI(t)
	c.ok("adjust", "--program", "shop", "--customer", "web:1", "--points", "100", "--create-customer")
	bad := c.file("bad.yaml", "programs:\n  - id: a\n    unit: kilos\n")
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"check-config"}, 0, "ok"},
		{[]string{"nosuch"}, 2, `unknown command "nosuch"`},
		{[]string{"balance", "--program", "shop"}, 2, "--customer is required"},
		{[]string{"balance", "--program", "shop", "--customer", "42"}, 2, "has no kind"},
		{[]string{"balance", "--program", "gold", "--customer", "web:1"}, 2, `program "gold" is not in`},
		{[]string{"balance", "--program", "shop", "--customer", "web:2"}, 1, "unknown customer web:2"},
		{[]string{"adjust", "--program", "shop", "--customer", "web:1", "--points", "-101"}, 1, "101 points asked but only 100 usable"},
		{[]string{"adjust", "--program", "shop", "--customer", "web:1", "--points", "x"}, 2, "--points must be a whole number"},
		{[]string{"adjust", "--program", "shop", "--customer", "web:1", "--points", "5", "--expiry", "31/12/2030"}, 2, "YYYY-MM-DD"},
		{[]string{"adjust", "--program", "shop", "--customer", "web:1", "--points", "5", "--expiry", "2020-01-01"}, 1, "not in the future"},
		{[]string{"reset", "--program", "shop", "--all"}, 2, "add --yes"},
		{[]string{"expiry", "--program", "shop"}, 2, "--date YYYY-MM-DD or --clear"},
		{[]string{"export", "--program", "shop"}, 2, "expected 1 argument"},
		{[]string{"import", "--program", "shop", "in.csv", "--skip-invalid"}, 2, "comes after the arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := c.run(tt.args...)
			if code != tt.code || !strings.Contains(out+errs, tt.msg) {
				t.Fatalf("exit %d, output %q%q; want exit %d with %q", code, out, errs, tt.code, tt.msg)
			}
		})
	}
	code, _, errs := run2(t, "check-config", "--config", bad)
	if code != 2 || !strings.Contains(errs, "bad.yaml:3: programs[0].unit") {
		t.Fatalf("check-config on a bad file: exit %d, %q", code, errs)
	}
}

func run2(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &app{stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

// TestE11ThroughCLI runs SPEC E11 through the commands an admin uses.
func TestE11ThroughCLI(t *testing.T) {
	c := newCLI(t)
	c.ok("adjust", "--program", "shop", "--customer", "erp:C1", "--points", "200", "--create-customer")
	before := c.balance("shop", "erp:C1")
	out := c.ok("adjust", "--program", "shop", "--customer", "erp:C1", "--points", "50", "--note", "gift", "--json")
	var res struct{ Movement int64 }
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Movement == 0 {
		t.Fatalf("adjust --json %q: %v", out, err)
	}
	id := fmt.Sprint(res.Movement)
	prev := c.ok("adjust", "--program", "shop", "--customer", "erp:C1", "--change", id, "--points", "40", "--preview")
	if !strings.Contains(prev, "250 -> 240") || !strings.Contains(prev, "nothing saved") {
		t.Fatalf("preview = %q", prev)
	}
	if b := c.balance("shop", "erp:C1"); b.Earned != 250 {
		t.Fatalf("preview saved something: %+v", b)
	}
	c.ok("adjust", "--program", "shop", "--customer", "web:other", "--points", "1", "--create-customer")
	if code, _, errs := c.run("adjust", "--program", "shop", "--customer", "web:other", "--change", id, "--points", "40"); code != 1 || !strings.Contains(errs, "belongs to another account") {
		t.Fatalf("changing another customer's adjustment: exit %d, %q", code, errs)
	}
	c.ok("adjust", "--program", "shop", "--customer", "erp:C1", "--change", id, "--points", "40")
	c.ok("adjust", "--program", "shop", "--customer", "erp:C1", "--remove", id)
	if b := c.balance("shop", "erp:C1"); b.Earned != before.Earned {
		t.Fatalf("after removal %+v, want %+v", b, before)
	}
	hist := c.ok("movements", "--program", "shop", "--customer", "erp:C1")
	for _, want := range []string{"adjustment_removal", "adjustment_change", "gift"} {
		if !strings.Contains(hist, want) {
			t.Fatalf("history lacks %q:\n%s", want, hist)
		}
	}
}

func TestImportAllOrNothing(t *testing.T) {
	c := newCLI(t)
	c.ok("adjust", "--program", "shop", "--customer", "web:1", "--points", "1", "--create-customer")
	c.ok("adjust", "--program", "shop", "--customer", "web:2", "--points", "1", "--create-customer")
	in := c.file("bonus.csv", "cliente;punti;scadenza;nota\nweb:1;1.000;31/12/2099;natale\nweb:2;12,5;;\nweb:2;20;;ok\n")
	code, _, errs := c.run("import", "--program", "shop", in)
	if code != 1 || !strings.Contains(errs, "bonus.csv:3") || !strings.Contains(errs, "nothing applied") {
		t.Fatalf("exit %d, %q", code, errs)
	}
	if b := c.balance("shop", "web:1"); b.Earned != 1 {
		t.Fatalf("a bad row let the others through: %+v", b)
	}
	out := c.ok("import", "--program", "shop", "--skip-invalid", in)
	if !strings.Contains(out, "applied 2 row(s), 0 already imported, 1 rejected") {
		t.Fatalf("import --skip-invalid: %q", out)
	}
	report, err := os.ReadFile(in + ".errors.csv")
	if err != nil || !regexp.MustCompile(`(?m)^3;points;12,5;`).Match(report) {
		t.Fatalf("error report %q (%v)", report, err)
	}
	if b := c.balance("shop", "web:1"); b.Earned != 1001 || len(b.Expiring) != 1 || b.Expiring[0].Date != "2099-12-31" {
		t.Fatalf("web:1 after import: %+v", b)
	}
	// The same content under another name changes nothing.
	again := c.file("bonus-copy.csv", "cliente;punti;scadenza;nota\nweb:1;1.000;31/12/2099;natale\nweb:2;12,5;;\nweb:2;20;;ok\n")
	out = c.ok("import", "--program", "shop", "--skip-invalid", again)
	if !strings.Contains(out, "applied 0 row(s), 2 already imported") {
		t.Fatalf("second import: %q", out)
	}
	if b := c.balance("shop", "web:2"); b.Earned != 21 {
		t.Fatalf("web:2 after two imports: %+v", b)
	}
}

// TestImportLedgerRefusals covers rows that parse but the ledger refuses:
// an unknown customer and a withdrawal beyond the balance.
func TestImportLedgerRefusals(t *testing.T) {
	c := newCLI(t)
	c.ok("adjust", "--program", "shop", "--customer", "web:1", "--points", "10", "--create-customer")
	in := c.file("in.csv", "customer,points\nweb:1,-50\nweb:77,5\nweb:1,5\n")
	code, _, errs := c.run("import", "--program", "shop", in)
	if code != 1 || !strings.Contains(errs, "in.csv:2") || !strings.Contains(errs, "in.csv:3") || !strings.Contains(errs, "refused by the ledger") {
		t.Fatalf("exit %d: %q", code, errs)
	}
	if b := c.balance("shop", "web:1"); b.Earned != 10 {
		t.Fatalf("partial import: %+v", b)
	}
	out := c.ok("import", "--program", "shop", "--create-customers", "--skip-invalid", in)
	if !strings.Contains(out, "applied 2 row(s)") || !strings.Contains(out, "1 rejected") {
		t.Fatalf("%q", out)
	}
	if b := c.balance("shop", "web:77"); b.Earned != 5 {
		t.Fatalf("web:77: %+v", b)
	}
	if b := c.balance("shop", "web:1"); b.Earned != 15 {
		t.Fatalf("web:1: %+v", b)
	}
}

func TestImportWindows1252AndDryRun(t *testing.T) {
	c := newCLI(t)
	c.ok("adjust", "--program", "card", "--customer", "card:9001", "--points", "100", "--create-customer")
	text := "tessera;importo;nota\ncard:9001;1.234,56;caffè omaggio €\n"
	enc, err := charmap.Windows1252.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	in := c.file("cp1252.csv", enc)
	out := c.ok("import", "--program", "card", "--dry-run", in)
	if !strings.Contains(out, "would apply (dry run, nothing saved) 1 row(s)") {
		t.Fatalf("dry run: %q", out)
	}
	if b := c.balance("card", "card:9001"); b.Earned != 100 {
		t.Fatalf("dry run saved: %+v", b)
	}
	c.ok("import", "--program", "card", in)
	if b := c.balance("card", "card:9001"); b.Earned != 100+123456 {
		t.Fatalf("after import: %+v", b)
	}
	hist := c.ok("movements", "--program", "card", "--customer", "card:9001")
	if !strings.Contains(hist, "caffè omaggio €") {
		t.Fatalf("note not decoded from Windows-1252:\n%s", hist)
	}
}

func TestUnmatchedEmpty(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("unmatched", "--program", "shop"); !strings.Contains(out, "nothing parked in program shop") {
		t.Fatalf("unmatched = %q", out)
	}
	if out := c.ok("unmatched", "--program", "shop", "--json"); out != "[]\n" {
		t.Fatalf("unmatched --json = %q", out)
	}
}

func TestExportResetExpiry(t *testing.T) {
	c := newCLI(t)
	c.ok("adjust", "--program", "shop", "--customer", "web:1", "--points", "100", "--expiry", "2099-01-31", "--create-customer")
	c.ok("adjust", "--program", "shop", "--customer", "web:2", "--points", "40", "--create-customer")
	out := c.ok("expiry", "--program", "shop", "--date", "2098-12-31", "--include-no-expiry")
	if !strings.Contains(out, "on 2 lots of 2 accounts") {
		t.Fatalf("expiry: %q", out)
	}
	path := filepath.Join(c.dir, "balances.csv")
	c.ok("export", "--program", "shop", path)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "customer;identifiers;earned;provisional;spent;expired;expiring\r\n" +
		"web:1;web:1;100;0;0;0;2098-12-31=100\r\n" +
		"web:2;web:2;40;0;0;0;2098-12-31=40\r\n"
	if string(got) != want {
		t.Fatalf("export =\n%q\nwant\n%q", got, want)
	}
	c.ok("reset", "--program", "shop", "--customer", "web:1")
	if b := c.balance("shop", "web:1"); b.Earned != 0 {
		t.Fatalf("after reset: %+v", b)
	}
	c.ok("reset", "--program", "shop", "--all", "--yes")
	if b := c.balance("shop", "web:2"); b.Earned != 0 {
		t.Fatalf("after program reset: %+v", b)
	}
}

// TestDemoIsIdempotent runs the README's main command twice: the daemon
// takes the story's drops, the balances move as SPEC E6 says, and the
// second run drops the same files, which change nothing.
func TestDemoIsIdempotent(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo runs the daemon for about twenty seconds; skipped with -short")
	}
	dir := t.TempDir()
	t.Setenv("POINTSYNC_DATA", dir)
	steps := []string{
		"shop  web:1001         earned 0, provisional 120, spent 0",
		"shop  web:1001         earned 120, provisional 0, spent 0",
		"shop  web:1001         earned 20, provisional 60, spent 100",
		"card  card:0420001234  earned 3.38, provisional 0.00, spent 5.00",
		"shop  web:1001         earned 120, provisional 0, spent 0",
	}
	code, out, errs := run2(t, "demo", "--config", "../../configs/demo.yaml", "--exit")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	at := 0
	for _, want := range steps {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Fatalf("%q missing after offset %d:\n%s", want, at, out)
		}
		at += i + len(want)
	}
	// Again: the same files, recognised; every step shows the end state.
	code, out, errs = run2(t, "demo", "--config", "../../configs/demo.yaml", "--exit")
	if code != 0 || !strings.Contains(out, "played before") || strings.Count(out, steps[4]) != 5 ||
		strings.Count(out, "card  card:0420001234  earned 3.38, provisional 0.00, spent 5.00") != 5 {
		t.Fatalf("second run: exit %d\n%s%s", code, out, errs)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "drops", "stores", "out", "S0?", "balances.csv")); len(files) != 2 {
		t.Fatalf("till balance files: %v", files)
	}
}

// TestSyncOnceFromFacts feeds SPEC E6 and E7 through a facts file: W1
// provisional then earned, W3 spending and cancelled, the invoice of W9
// before W9 itself; one bad line is reported with its number and the rest
// applied. A second run changes nothing.
func TestSyncOnceFromFacts(t *testing.T) {
	c := newCLI(t)
	for run := range 2 {
		code, out, errs := c.run("sync", "--once", "testdata/facts/e6-e7.jsonl")
		if code != 0 || !strings.Contains(out, "8 fact(s) applied, 1 rejected") || !strings.Contains(errs, "e6-e7.jsonl:8: invalid fact: unknown type \"refund\"") {
			t.Fatalf("run %d: exit %d\n%s%s", run, code, out, errs)
		}
		got := c.ok("balance", "--program", "shop", "--customer", "email:anna@example.com", "--json")
		want := `{"program":"shop","customer":"email:anna@example.com","earned":120,"provisional":0,"spent":0,"expired":0,"expiring":[{"date":"2027-03-03","points":120}]}` + "\n"
		if got != want {
			t.Fatalf("run %d: anna = %s want %s", run, got, want)
		}
		if b := c.balance("shop", "web:bea"); b.Earned != 80 || b.Provisional != 0 {
			t.Fatalf("run %d: bea = %+v (E7: earned at once when W9 arrives)", run, b)
		}
	}
	if out := c.ok("unmatched", "--program", "shop"); !strings.Contains(out, "nothing parked") {
		t.Fatalf("unmatched = %q", out)
	}
	// A link naming the new identifier first still joins the known customer.
	bad := c.file("more.jsonl", `{"type":"link","known":"card:4242","other":"web:anna"}`+"\n"+`{"type":"action","program":"shop","action":{"customer":"nokind","kind":"newsletter","at":"2026-03-02T09:00:00Z"}}`+"\n")
	code, out, errs := c.run("sync", "--once", bad)
	if code != 0 || !strings.Contains(out, "1 fact(s) applied, 1 rejected") || !strings.Contains(errs, "more.jsonl:2: invalid fact") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if b := c.balance("shop", "card:4242"); b.Earned != 120 {
		t.Fatalf("card:4242 is not anna's: %+v", b)
	}
	if code, _, errs := c.run("sync", "--once", "testdata/facts/missing.jsonl"); code != 1 || !strings.Contains(errs, "missing.jsonl") {
		t.Fatalf("a missing source: exit %d, %q", code, errs)
	}
}
