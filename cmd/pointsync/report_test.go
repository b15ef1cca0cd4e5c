package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/ledger"
)

// reportCLI is a configuration of three programs: shop (points, 100
// points = 1.00), card (an amount card) and plain (points, no redemption
// rate), with movements written straight into its ledger at fixed
// business times, none expiring, so the figures do not depend on today.
//
//	shop  web:1  2026-03-01 10:00  credit 150        erp  accrual
//	shop  web:1  2026-03-02 11:00  spend 50          web  redemption
//	shop  web:2  2026-03-02 12:00  credit 251        pos  accrual
//	shop  web:2  2026-03-03 09:00  credit 40 pending web  accrual
//	shop  web:3  2026-04-01 10:00  credit 10         erp  accrual
//	card  web:1  2026-03-05 10:00  credit 1273       pos  cashback
//	plain web:1  2026-03-05 10:00  credit 7          erp  accrual
func reportCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "ledger.db")
	cfg := `ledger:
  path: ` + db + `
programs:
  - id: shop
    unit: points
    accrual: {base: value, mode: steps, points: 1, every: "1.00"}
    redemption:
      rate: {points: 100, value: "1.00"}
  - id: card
    unit: amount
  - id: plain
    unit: points
`
	path := filepath.Join(dir, "pointsync.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	var now time.Time
	ctx := context.Background()
	l, err := ledger.Open(ctx, ledger.Options{Path: db, Clock: func() time.Time { return now },
		Programs: []ledger.Program{{ID: "shop", Location: rome}, {ID: "card", Location: rome}, {ID: "plain", Location: rome}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i, m := range []struct {
		program, customer string
		at                time.Time
		amount            int64
		spend, pending    bool
		source, reason    string
	}{
		{"shop", "web:1", time.Date(2026, 3, 1, 10, 0, 0, 0, rome), 150, false, false, "erp", "accrual"},
		{"shop", "web:1", time.Date(2026, 3, 2, 11, 0, 0, 0, rome), 50, true, false, "web", "redemption"},
		{"shop", "web:2", time.Date(2026, 3, 2, 12, 0, 0, 0, rome), 251, false, false, "pos", "accrual"},
		{"shop", "web:2", time.Date(2026, 3, 3, 9, 0, 0, 0, rome), 40, false, true, "web", "accrual"},
		{"shop", "web:3", time.Date(2026, 4, 1, 10, 0, 0, 0, rome), 10, false, false, "erp", "accrual"},
		{"card", "web:1", time.Date(2026, 3, 5, 10, 0, 0, 0, rome), 1273, false, false, "pos", "cashback"},
		{"plain", "web:1", time.Date(2026, 3, 5, 10, 0, 0, 0, rome), 7, false, false, "erp", "accrual"},
	} {
		now = m.at
		err := l.Update(ctx, func(tx *ledger.Tx) error {
			id := ledger.Ident(m.customer)
			if _, _, err := tx.EnsureCustomer(id); err != nil {
				return err
			}
			meta := ledger.Meta{Source: m.source, Key: "k" + string(rune('a'+i)), Reason: m.reason}
			acct := ledger.Account{Program: m.program, Customer: id}
			if m.spend {
				_, err := tx.Spend(ledger.SpendRequest{Account: acct, Meta: meta, Amount: m.amount})
				return err
			}
			_, err := tx.Credit(ledger.CreditRequest{Account: acct, Meta: meta, Amount: m.amount, Pending: m.pending})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return &cli{t: t, dir: dir, config: path}
}

func TestReportCommand(t *testing.T) {
	c := reportCLI(t)
	tests := []struct {
		name string
		args []string
		want []string // lines, each with its fields separated by single spaces
	}{
		{"march by day", []string{"--program", "shop", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "day"}, []string{
			"program shop",
			"period 2026-03-01 to 2026-03-31 (Europe/Rome)",
			"by day",
			"DAY MOVEMENTS ISSUED SPENT WITHDRAWN EXPIRED AVERAGE",
			"2026-03-01 1 150 0 0 0 150",
			"2026-03-02 2 251 50 0 0 150",
			"2026-03-03 1 0 0 0 0 0",
			"TOTAL 4 401 50 0 0 112",
			"customers 3",
			"outstanding now 361",
			"liability 3.61 (100 points = 1.00)",
			"provisional now 40",
		}},
		// --to names the last day, included.
		{"two days by source", []string{"--program", "shop", "--from", "2026-03-01", "--to", "2026-03-02", "--by", "source"}, []string{
			"period 2026-03-01 to 2026-03-02 (Europe/Rome)",
			"SOURCE MOVEMENTS ISSUED SPENT WITHDRAWN EXPIRED AVERAGE",
			"erp 1 150 0 0 0 150",
			"pos 1 251 0 0 0 251",
			"web 1 0 50 0 0 50",
			"TOTAL 3 401 50 0 0 150",
		}},
		{"all time by month", []string{"--program", "shop", "--by", "month"}, []string{
			"period all movements (Europe/Rome)",
			"2026-03 4 401 50 0 0 112",
			"2026-04 1 10 0 0 0 10",
			"TOTAL 5 411 50 0 0 92",
		}},
		{"by customer, limited", []string{"--program", "shop", "--by", "customer", "--limit", "1"}, []string{
			"web:2 2 251 0 0 0 125",
			"TOTAL 5 411 50 0 0 92",
		}},
		{"amount program in money", []string{"--program", "card", "--from", "2026-03-05"}, []string{
			"period from 2026-03-05 (Europe/Rome)",
			"TOTAL 1 12.73 0.00 0.00 0.00 12.73",
			"outstanding now 12.73",
			"liability 12.73",
		}},
		{"no redemption rate", []string{"--program", "plain", "--to", "2026-12-31"}, []string{
			"period up to 2026-12-31 (Europe/Rome)",
			"TOTAL 1 7 0 0 0 7",
			"liability unknown: program plain has no redemption rate (programs[].redemption.rate)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := c.ok(append([]string{"report"}, tt.args...)...)
			var lines []string
			for _, l := range strings.Split(out, "\n") {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
			}
			for _, want := range tt.want {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("no line %q in\n%s", want, out)
				}
			}
		})
	}
}

func TestReportCommandJSON(t *testing.T) {
	c := reportCLI(t)
	out := c.ok("report", "--program", "shop", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "reason", "--json")
	var got struct {
		Program     string           `json:"program"`
		From        time.Time        `json:"from"`
		To          time.Time        `json:"to"`
		By          string           `json:"by"`
		Rows        []map[string]any `json:"rows"`
		Total       map[string]any   `json:"total"`
		Outstanding int64            `json:"outstanding"`
		Provisional int64            `json:"provisional"`
		Customers   int64            `json:"customers"`
		Liability   *int64           `json:"liability"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("report --json %q: %v", out, err)
	}
	rome, _ := time.LoadLocation("Europe/Rome")
	if got.Program != "shop" || got.By != "reason" || !got.From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, rome)) || !got.To.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, rome)) {
		t.Errorf("header: %+v", got)
	}
	if got.Outstanding != 361 || got.Provisional != 40 || got.Customers != 3 || got.Liability == nil || *got.Liability != 361 {
		t.Errorf("balances: outstanding %d, provisional %d, customers %d, liability %v", got.Outstanding, got.Provisional, got.Customers, got.Liability)
	}
	wantRows := []map[string]any{
		{"key": "accrual", "movements": 3.0, "issued": 401.0, "spent": 0.0, "withdrawn": 0.0, "expired": 0.0, "average": 133.0},
		{"key": "redemption", "movements": 1.0, "issued": 0.0, "spent": 50.0, "withdrawn": 0.0, "expired": 0.0, "average": 50.0},
	}
	if len(got.Rows) != len(wantRows) {
		t.Fatalf("rows %v, want %v", got.Rows, wantRows)
	}
	for i := range wantRows {
		for k, v := range wantRows[i] {
			if got.Rows[i][k] != v {
				t.Errorf("row %d %s = %v, want %v", i, k, got.Rows[i][k], v)
			}
		}
	}
	if got.Total["movements"] != 4.0 || got.Total["average"] != 112.0 {
		t.Errorf("total %v", got.Total)
	}
	// Without a rate the liability is absent, not zero.
	out = c.ok("report", "--program", "plain", "--json")
	if strings.Contains(out, "liability") || !strings.Contains(out, `"outstanding":7`) {
		t.Errorf("plain --json = %s", out)
	}
}

func TestReportCommandExitCodes(t *testing.T) {
	c := reportCLI(t)
	broken := filepath.Join(c.dir, "broken.yaml")
	// A ledger path that is a folder: the configuration is valid, opening fails.
	if err := os.WriteFile(broken, []byte("ledger:\n  path: "+c.dir+"\nprograms:\n  - id: shop\n    unit: points\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"report", "--program", "shop"}, 0, "TOTAL"},
		{[]string{"report"}, 2, "--program is required"},
		{[]string{"report", "--program", "gold"}, 2, `program "gold" is not in`},
		{[]string{"report", "--program", "shop", "--by", "week"}, 2, `--by "week": use day, month, source, reason or customer`},
		{[]string{"report", "--program", "shop", "--from", "01/03/2026"}, 2, "--from: date \"01/03/2026\" is not of the form YYYY-MM-DD"},
		{[]string{"report", "--program", "shop", "--to", "2026-02-30"}, 2, "--to:"},
		{[]string{"report", "--program", "shop", "--from", "2026-03-02", "--to", "2026-03-01"}, 2, "--to 2026-03-01 is before --from 2026-03-02"},
		{[]string{"report", "--program", "shop", "--limit", "-1"}, 2, "--limit -1"},
		{[]string{"report", "--program", "shop", "extra"}, 2, "expected 0 argument(s)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := c.run(tt.args...)
			if code != tt.code || !strings.Contains(out+errs, tt.msg) {
				t.Fatalf("exit %d, output %q%q; want exit %d with %q", code, out, errs, tt.code, tt.msg)
			}
		})
	}
	code, _, errs := run2(t, "report", "--config", broken, "--program", "shop")
	if code != 1 || errs == "" {
		t.Fatalf("report on a ledger that does not open: exit %d, %q", code, errs)
	}
}

func TestLiabilityCents(t *testing.T) {
	tests := []struct {
		points, ratePoints, rateValue, want int64
	}{
		{361, 100, 100, 361},
		{0, 100, 100, 0},
		{5, 3, 2, 3},   // 3.33 cents
		{7, 3, 2, 5},   // 4.67 cents
		{1, 2, 1, 1},   // a half rounds away from zero
		{-1, 2, 1, -1}, // an overdrawn program
		{-7, 3, 2, -5},
		{1273, 1, 1, 1273},
		{math.MaxInt64, 2, 1, math.MaxInt64/2 + 1},
	}
	for _, tt := range tests {
		got, err := liabilityCents(tt.points, tt.ratePoints, tt.rateValue)
		if err != nil || got != tt.want {
			t.Errorf("liabilityCents(%d, %d, %d) = %d, %v; want %d", tt.points, tt.ratePoints, tt.rateValue, got, err, tt.want)
		}
	}
	if _, err := liabilityCents(math.MaxInt64, 1, 2); err == nil {
		t.Error("a liability beyond 64 bits gave no error")
	}
	if _, err := liabilityCents(1, 0, 1); err == nil {
		t.Error("a zero rate gave no error")
	}
}
