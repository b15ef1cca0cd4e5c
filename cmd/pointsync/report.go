package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// runReport prints a program's figures for a period (issued, spent,
// withdrawn and expired points, movements and the average per movement;
// see ledger.ReportRow), optionally grouped, and its outstanding points
// with their money value: the liability.
func runReport(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	fromFlag := fs.String("from", "", "first day of the period, YYYY-MM-DD in the program's zone (default: the first movement)")
	toFlag := fs.String("to", "", "last day of the period, included, YYYY-MM-DD (default: no end)")
	by := fs.String("by", "", "group the figures by day, month, source, reason or customer (default: the total only)")
	limit := fs.Int("limit", 0, "print at most this many groups (0: all); the total covers every movement")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	switch *by {
	case "", ledger.ReportByDay, ledger.ReportByMonth, ledger.ReportBySource, ledger.ReportByReason, ledger.ReportByCustomer:
	default:
		return usagef("pointsync report -h", "--by %q: use day, month, source, reason or customer", *by)
	}
	if *limit < 0 {
		return usagef("", "--limit %d: give 0 (all) or more", *limit)
	}
	from, err := rules.ParseDate(*fromFlag)
	if err != nil {
		return usagef("", "--from: %v", err)
	}
	to, err := rules.ParseDate(*toFlag)
	if err != nil {
		return usagef("", "--to: %v", err)
	}
	if !from.IsZero() && !to.IsZero() && to.Start(time.UTC).Before(from.Start(time.UTC)) {
		return usagef("", "--to %s is before --from %s", to, from)
	}
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	rate, err := redemptionRate(e.cfg, p)
	if err != nil {
		return &configError{err: err}
	}
	q := ledger.ReportQuery{Program: p.ID, By: *by, Limit: *limit}
	if !from.IsZero() {
		q.From = from.Start(p.Location)
	}
	if !to.IsZero() {
		q.To = to.AddDays(1).Start(p.Location) // --to names the last day
	}
	rep, err := e.ledger.Report(ctx, q)
	if err != nil {
		return err
	}
	var value *int64
	if rate != nil {
		v, err := liabilityCents(rep.Outstanding, rate.RatePoints, rate.RateValue)
		if err != nil {
			return err
		}
		value = &v
	}
	if *asJSON {
		return writeJSON(a.stdout, reportOutput{Report: rep, Liability: value})
	}
	return printReport(a.stdout, p, rep, from, to, rate, value)
}

// reportOutput is the JSON form: the ledger's report and the money value
// of its outstanding points in cents (absent when the program has no
// redemption rate).
type reportOutput struct {
	ledger.Report
	Liability *int64 `json:"liability,omitempty"`
}

// redemptionRate is the program's rate of points to cents, or nil when
// points cannot be spent (no redemption section): their money value is
// then unknown. An amount program counts cents, one for one.
func redemptionRate(cfg *configs.Config, p rules.Program) (*rules.RedemptionRules, error) {
	if p.Unit == rules.UnitAmount {
		return &rules.RedemptionRules{RatePoints: 1, RateValue: 1}, nil
	}
	for _, cp := range cfg.Programs {
		if cp.ID != p.ID {
			continue
		}
		r, configured, err := cp.RedemptionRules()
		if err != nil || !configured {
			return nil, err
		}
		return &r, nil
	}
	return nil, nil
}

// liabilityCents is the money value of points at ratePoints points =
// rateValue cents, rounded to the nearest cent (halves away from zero).
func liabilityCents(points, ratePoints, rateValue int64) (int64, error) {
	if ratePoints <= 0 || rateValue <= 0 {
		return 0, fmt.Errorf("redemption rate %d points = %d cents cannot value points", ratePoints, rateValue)
	}
	num := new(big.Int).Mul(big.NewInt(points), big.NewInt(rateValue))
	den := big.NewInt(ratePoints)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() != 0 && new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(int64(num.Sign())))
	}
	if !q.IsInt64() {
		return 0, errors.New("the liability does not fit in 64-bit cents")
	}
	return q.Int64(), nil
}

// money formats cents with two decimals.
func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

func printReport(w io.Writer, p rules.Program, rep ledger.Report, from, to rules.Date, rate *rules.RedemptionRules, value *int64) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	period := "all movements"
	switch {
	case !from.IsZero() && !to.IsZero():
		period = from.String() + " to " + to.String()
	case !from.IsZero():
		period = "from " + from.String()
	case !to.IsZero():
		period = "up to " + to.String()
	}
	fmt.Fprintf(tw, "program\t%s\nperiod\t%s (%s)\n", rep.Program, period, p.Location)
	if rep.By != "" {
		fmt.Fprintf(tw, "by\t%s\n", rep.By)
	}
	fmt.Fprintln(tw)
	head := strings.ToUpper(rep.By)
	if head == "" {
		head = " "
	}
	fmt.Fprintf(tw, "%s\tMOVEMENTS\tISSUED\tSPENT\tWITHDRAWN\tEXPIRED\tAVERAGE\n", head)
	line := func(key string, r ledger.ReportRow) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", key, r.Movements,
			figure(p, r.Issued), figure(p, r.Spent), figure(p, r.Withdrawn), figure(p, r.Expired), figure(p, r.Average))
	}
	for _, r := range rep.Rows {
		key := r.Key
		if key == "" {
			key = "(none)"
		}
		line(key, r)
	}
	line("TOTAL", rep.Total)
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "customers\t%d\n", rep.Customers)
	fmt.Fprintf(tw, "outstanding now\t%s\n", figure(p, rep.Outstanding))
	switch {
	case value == nil:
		fmt.Fprintf(tw, "liability\tunknown: program %s has no redemption rate (programs[].redemption.rate)\n", p.ID)
	case p.Unit == rules.UnitAmount:
		fmt.Fprintf(tw, "liability\t%s\n", money(*value))
	default:
		fmt.Fprintf(tw, "liability\t%s (%d points = %s)\n", money(*value), rate.RatePoints, money(rate.RateValue))
	}
	fmt.Fprintf(tw, "provisional now\t%s\n", figure(p, rep.Provisional))
	return tw.Flush()
}
