package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/reconcile"
	"github.com/pointsync/pointsync/rules"
)

const fullCard = "card:0420001234567"

func TestAdminParked(t *testing.T) {
	ts := newTestServer(t)
	err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		return ts.srv.engine.Action(tx, "loyalty", reconcile.Action{Customer: fullCard, Kind: rules.ActionNewsletter, At: ts.now})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := ts.do("GET", apiPath("programs", "loyalty", "parked"), tokAdmin, nil)
	var rows []struct {
		Subject, Reason, Waiting string
		Updated                  time.Time
	}
	r.JSON(t, &rows)
	if r.Status != 200 || len(rows) != 1 {
		t.Fatalf("parked: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "0420001234567") || rows[0].Waiting != "card:*********4567" ||
		rows[0].Subject != "actions:card:*********4567" || !rows[0].Updated.Equal(ts.now) || rows[0].Reason == "" {
		t.Fatalf("parked row not masked or incomplete: %s", r.Body)
	}
	r = ts.do("GET", apiPath("programs", "e4-redemption-limits", "parked"), tokAdmin, nil)
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != "[]" {
		t.Fatalf("nothing parked: %d %s", r.Status, r.Body)
	}
}

func TestLiability(t *testing.T) {
	prog := func(unit rules.Unit, rate configs.Rate) adminProgram {
		return adminProgram{Program: rules.Program{ID: "p", Unit: unit}, conf: configs.Program{ID: "p", Unit: unit, Redemption: configs.Redemption{Rate: rate}}}
	}
	tests := []struct {
		name        string
		p           adminProgram
		outstanding int64
		value       int64
		text        string // "": no value
	}{
		{"100 points = 1.00", prog(rules.UnitPoints, configs.Rate{Points: 100, Value: 100}), 1234, 1234, "12.34"},
		{"rounds down", prog(rules.UnitPoints, configs.Rate{Points: 3, Value: 1}), 10, 3, "0.03"},
		{"10 points = 0.50", prog(rules.UnitPoints, configs.Rate{Points: 10, Value: 50}), 2501, 12505, "125.05"},
		{"no rate", prog(rules.UnitPoints, configs.Rate{}), 500, 0, ""},
		{"amount program", prog(rules.UnitAmount, configs.Rate{}), 735, 735, "7.35"},
		{"negative", prog(rules.UnitPoints, configs.Rate{Points: 1, Value: 1}), -5, -5, "-0.05"},
		{"huge", prog(rules.UnitPoints, configs.Rate{Points: 1, Value: 100000}), 1 << 60, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := liabilityOf(tt.p, tt.outstanding)
			if err != nil {
				t.Fatal(err)
			}
			if tt.text == "" {
				if l.Value != nil || l.ValueText != "" {
					t.Fatalf("value %v %q, want none", *l.Value, l.ValueText)
				}
				return
			}
			if l.Points != tt.outstanding || l.Value == nil || *l.Value != tt.value || l.ValueText != tt.text {
				t.Fatalf("got %+v, want value %d %q", l, tt.value, tt.text)
			}
		})
	}
}

func TestCentsText(t *testing.T) {
	for c, want := range map[int64]string{0: "0.00", 5: "0.05", 99: "0.99", 100: "1.00", 123456: "1234.56", -1: "-0.01", -100: "-1.00",
		-9223372036854775808: "-92233720368547758.08"} {
		if got := centsText(c); got != want {
			t.Errorf("centsText(%d) = %q, want %q", c, got, want)
		}
	}
}

func TestAdminReports(t *testing.T) {
	ts := newTestServer(t) // now: 2026-03-10 12:00 UTC
	ts.now = time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	ts.credit("loyalty", "web:1", 300)
	ts.now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	ts.credit("loyalty", "web:2", 100)
	if err := ts.ledger.Update(context.Background(), func(tx *ledger.Tx) error {
		_, err := tx.Spend(ledger.SpendRequest{Account: ledger.Account{Program: "loyalty", Customer: "web:1"},
			Meta: ledger.Meta{Source: ledger.SourceWeb, Key: "order:W5:spend", Reason: "redemption", Document: "W5"}, Amount: 150})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	var rep struct {
		From, To, By string
		Rows         []reportRow
		Total        reportRow
		Outstanding  int64
		Customers    int64
		Liability    liability
	}
	r := ts.do("GET", apiPath("programs", "loyalty", "reports")+"?from=2026-03-01&to=2026-03-31&by=source", tokAdmin, nil)
	r.JSON(t, &rep)
	if r.Status != 200 || rep.From != "2026-03-01" || rep.To != "2026-03-31" || rep.By != "source" {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Key != "admin" || rep.Rows[0].Issued != 400 || rep.Rows[1].Key != "web" || rep.Rows[1].Spent != 150 {
		t.Fatalf("rows by source: %s", r.Body)
	}
	if rep.Total.Movements != 3 || rep.Outstanding != 250 || rep.Customers != 2 {
		t.Fatalf("totals: %s", r.Body)
	}
	if rep.Liability.Points != 250 || rep.Liability.Value == nil || *rep.Liability.Value != 250 || rep.Liability.ValueText != "2.50" {
		t.Fatalf("liability at 100 points = 1.00: %s", r.Body)
	}
	// One day only: the 9th has the first credit.
	r = ts.do("GET", apiPath("programs", "loyalty", "reports")+"?from=2026-03-09&to=2026-03-09&by=day", tokAdmin, nil)
	rep.Rows = nil
	r.JSON(t, &rep)
	if r.Status != 200 || len(rep.Rows) != 1 || rep.Rows[0].Key != "2026-03-09" || rep.Rows[0].Issued != 300 || rep.Total.Movements != 1 {
		t.Fatalf("report of the 9th: %d %s", r.Status, r.Body)
	}
	// Defaults: this month up to today.
	r = ts.do("GET", apiPath("programs", "loyalty", "reports"), tokAdmin, nil)
	r.JSON(t, &rep)
	if r.Status != 200 || rep.From != "2026-03-01" || rep.To != "2026-03-10" || rep.Total.Movements != 3 {
		t.Fatalf("default period: %d %s", r.Status, r.Body)
	}
	// A program without a redemption rate has no money value.
	r = ts.do("GET", apiPath("programs", "e12-catalog", "reports"), tokAdmin, nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"liability":{"points":0}`) {
		t.Fatalf("no rate: %d %s", r.Status, r.Body)
	}

	var daily struct {
		Days []struct {
			Date                                string
			Issued, Spent, Expired, Outstanding int64
		}
	}
	r = ts.do("GET", apiPath("programs", "loyalty", "reports", "daily")+"?from=2026-03-08&to=2026-03-10", tokAdmin, nil)
	r.JSON(t, &daily)
	if r.Status != 200 || len(daily.Days) != 3 {
		t.Fatalf("daily: %d %s", r.Status, r.Body)
	}
	got := ""
	for _, d := range daily.Days {
		got += fmt.Sprintf("%s:%d/%d/%d ", d.Date, d.Issued, d.Spent, d.Outstanding)
	}
	if want := "2026-03-08:0/0/0 2026-03-09:300/0/300 2026-03-10:100/150/250 "; got != want {
		t.Fatalf("daily figures %s, want %s", got, want)
	}

	for _, tt := range []struct{ path, field string }{
		{"reports?by=week", "by"},
		{"reports?from=2026-3-1", "from"},
		{"reports?to=yesterday", "to"},
		{"reports?from=2026-03-10&to=2026-03-01", "from"},
		{"reports?limit=0", "limit"},
		{"reports?group=day", "group"},
		{"reports/daily?from=2010-01-01&to=2026-03-10", "from"},
		{"reports/daily?by=day", "by"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			r := ts.do("GET", apiPath("programs", "loyalty")+"/"+tt.path, tokAdmin, nil)
			var e errorBody
			r.JSON(t, &e)
			if r.Status != 400 || e.Error.Code != CodeBadRequest || e.Error.Field != tt.field {
				t.Fatalf("got %d %s, want 400 field %s", r.Status, r.Body, tt.field)
			}
		})
	}
	for _, p := range []string{"reports", "reports/daily", "parked"} {
		if r := ts.do("GET", apiPath("programs", "nope")+"/"+p, tokAdmin, nil); r.Status != 404 || r.ErrorCode() != CodeUnknownProgram {
			t.Errorf("%s of an unknown program: %d %s", p, r.Status, r.Body)
		}
	}
}

func TestAdminJobs(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do("GET", apiPath("jobs"), tokAdmin, nil)
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"jobs":[]}` {
		t.Fatalf("no jobs: %d %s", r.Status, r.Body)
	}
	last := time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)
	if err := ts.ledger.SaveJob(context.Background(), ledger.Job{Name: "connector:erp", LastRun: last, LastErrorAt: last,
		LastError: "receipt of " + fullCard + ": unknown card", Runs: 7, Failures: 2, Rows: 3, Lag: 90 * time.Second,
		NextRun: last.Add(5 * time.Minute), Holder: "host:42"}); err != nil {
		t.Fatal(err)
	}
	r = ts.do("GET", apiPath("jobs"), tokAdmin, nil)
	var out struct {
		Jobs []struct {
			Job         string     `json:"job"`
			Holder      string     `json:"holder"`
			LastRun     *time.Time `json:"last_run"`
			LastSuccess *time.Time `json:"last_success"`
			LastError   string     `json:"last_error"`
			Failures    int64      `json:"consecutive_failures"`
			Runs        int64      `json:"runs"`
			LagSeconds  float64    `json:"lag_seconds"`
			NextRun     *time.Time `json:"next_run"`
		}
	}
	r.JSON(t, &out)
	if r.Status != 200 || len(out.Jobs) != 1 {
		t.Fatalf("jobs: %d %s", r.Status, r.Body)
	}
	j := out.Jobs[0]
	if j.Job != "connector:erp" || j.Holder != "host:42" || j.LastRun == nil || !j.LastRun.Equal(last) || j.LastSuccess != nil ||
		j.Failures != 2 || j.Runs != 7 || j.LagSeconds != 90 || j.NextRun == nil || !strings.Contains(j.LastError, "card:*********4567") ||
		strings.Contains(string(r.Body), "0420001234567") {
		t.Fatalf("job: %s", r.Body)
	}
	if r := ts.do("GET", apiPath("jobs")+"?all=1", tokAdmin, nil); r.Status != 400 || r.ErrorCode() != CodeBadRequest {
		t.Fatalf("unknown parameter: %d %s", r.Status, r.Body)
	}
}
