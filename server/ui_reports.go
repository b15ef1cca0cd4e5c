package server

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// uiReportDays bounds the period of a report page (the daily chart reads
// every day of it).
const uiReportDays = 3660

// uiReportsPage is the reports page's data.
type uiReportsPage struct {
	// From and To are the period's days as typed, both included.
	From, To string
	By       string
	Report   ledger.Report
	// Liability is the outstanding balance's money value in cents; Valued
	// is false when the program has no redemption rate to value it.
	Liability int64
	Valued    bool
	Chart     template.HTML
	Days      []ledger.DayFigures
}

// uiReportGroupings are the By values the form offers, "" (total only)
// first.
var uiReportGroupings = []string{"", ledger.ReportByDay, ledger.ReportByMonth, ledger.ReportBySource, ledger.ReportByReason, ledger.ReportByCustomer}

// Groupings lists the report's By values for the form.
func (p uiReportsPage) Groupings() []string { return uiReportGroupings }

// reports shows a program's figures over a period, its liability, and the
// daily chart.
func (u *ui) reports(w http.ResponseWriter, r *http.Request, v *uiView) error {
	loc := v.zone()
	today := rules.DateOf(u.s.clock().In(loc))
	pg := uiReportsPage{
		From: strings.TrimSpace(r.FormValue("from")), To: strings.TrimSpace(r.FormValue("to")),
		By: r.FormValue("by"),
	}
	if pg.To == "" {
		pg.To = today.String()
	}
	if pg.From == "" {
		pg.From = today.AddDays(-29).String()
	}
	from, err := rules.ParseDate(pg.From)
	if err != nil {
		return uiFormErr("err.bad_date", pg.From)
	}
	to, err := rules.ParseDate(pg.To)
	if err != nil {
		return uiFormErr("err.bad_date", pg.To)
	}
	start, end := from.Start(loc), to.AddDays(1).Start(loc)
	switch {
	case !start.Before(end):
		return uiFormErr("err.bad_period")
	case end.Sub(start).Hours() > 24*(uiReportDays+1):
		return uiFormErr("err.long_period", uiReportDays)
	}
	valid := false
	for _, g := range uiReportGroupings {
		valid = valid || g == pg.By
	}
	if !valid {
		return uiFormErr("err.bad_grouping", pg.By)
	}
	ctx := r.Context()
	rep, err := u.s.ledger.Report(ctx, ledger.ReportQuery{Program: v.Program.ID, From: start, To: end, By: pg.By, Limit: 1000})
	if err != nil {
		return err
	}
	pg.Report = rep
	pg.Liability, pg.Valued = uiLiability(v.Program, rep.Outstanding)
	days, err := u.s.ledger.Daily(ctx, v.Program.ID, start, end)
	if err != nil {
		return err
	}
	pg.Days = days
	cd := make([]uiChartDay, len(days))
	for i, d := range days {
		cd[i] = uiChartDay{Date: d.Date, Issued: d.Issued, Spent: d.Spent, Expired: d.Expired, Outstanding: d.Outstanding}
	}
	txt := uiChartText{}
	for _, m := range []struct {
		into *string
		key  string
		args []any
	}{
		{&txt.Title, "chart.title", []any{v.Program.Label()}},
		{&txt.Desc, "chart.desc", []any{v.Day(pg.From), v.Day(pg.To)}},
		{&txt.Empty, "chart.empty", nil},
		{&txt.Issued, "col.issued", nil},
		{&txt.Spent, "col.spent", nil},
		{&txt.Expired, "col.expired", nil},
		{&txt.Outstanding, "col.outstanding", nil},
		{&txt.FlowsAxis, "chart.flows_axis", nil},
		{&txt.OutstandingAxis, "chart.outstanding_axis", nil},
		{&txt.DateLabel, "col.date", nil},
	} {
		if *m.into, err = v.T(m.key, m.args...); err != nil {
			return err
		}
	}
	pg.Chart = uiDailyChart(cd, txt, v.Fig, v.Day)
	return u.render(w, v, http.StatusOK, "reports", pg)
}

// uiLiability values an outstanding balance in cents: an amount program's
// balance is money already; a points program's is worth its redemption
// rate (rounded down to the cent).
func uiLiability(p *uiProgram, outstanding int64) (int64, bool) {
	if p.Amount() {
		return outstanding, true
	}
	if !p.Redeems || p.Redemption.RatePoints <= 0 {
		return 0, false
	}
	return outstanding * p.Redemption.RateValue / p.Redemption.RatePoints, true
}
