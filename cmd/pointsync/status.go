package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// runStatus shows each job's last run, last success, last error, rows,
// lag and next run, as the daemon stored them in the ledger.
func runStatus(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print a JSON array")
	check := fs.Bool("check", false, "health check: exit 1 when a job has failed --max-failures times in a row")
	maxFailures := fs.Int64("max-failures", 3, "with --check: consecutive failures that make a job unhealthy")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	e, err := c.open(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	jobs, err := e.ledger.Jobs(ctx)
	if err != nil {
		return err
	}
	if *check {
		var sick []string
		for _, j := range jobs {
			if j.Failures >= *maxFailures {
				sick = append(sick, fmt.Sprintf("%s failed %d times in a row: %s", j.Name, j.Failures, j.LastError))
			}
		}
		if len(sick) > 0 {
			return fmt.Errorf("unhealthy: %s", strings.Join(sick, "; "))
		}
		fmt.Fprintln(a.stdout, "healthy")
		return nil
	}
	if *asJSON {
		type row struct {
			Job         string  `json:"job"`
			Running     bool    `json:"running"`
			Holder      string  `json:"holder,omitempty"`
			LastRun     *string `json:"last_run"`
			LastSuccess *string `json:"last_success"`
			LastError   string  `json:"last_error,omitempty"`
			LastErrorAt *string `json:"last_error_at"`
			Failures    int64   `json:"consecutive_failures"`
			Runs        int64   `json:"runs"`
			Rows        int64   `json:"rows"`
			Rejected    int64   `json:"rejected"`
			LagSeconds  float64 `json:"lag_seconds"`
			NextRun     *string `json:"next_run"`
		}
		ts := func(t time.Time) *string {
			if t.IsZero() {
				return nil
			}
			s := t.UTC().Format(time.RFC3339)
			return &s
		}
		out := []row{}
		for _, j := range jobs {
			out = append(out, row{Job: j.Name, Running: j.Running, Holder: j.Holder, LastRun: ts(j.LastRun), LastSuccess: ts(j.LastSuccess),
				LastError: j.LastError, LastErrorAt: ts(j.LastErrorAt), Failures: j.Failures, Runs: j.Runs, Rows: j.Rows,
				Rejected: j.Rejected, LagSeconds: j.Lag.Seconds(), NextRun: ts(j.NextRun)})
		}
		return writeJSON(a.stdout, out)
	}
	if len(jobs) == 0 {
		fmt.Fprintln(a.stdout, "no job has run on this ledger yet (start the daemon: pointsync run)")
		return nil
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTATE\tLAST RUN\tLAST SUCCESS\tROWS\tREJECTED\tLAG\tNEXT RUN\tLAST ERROR")
	for _, j := range jobs {
		state := "ok"
		switch {
		case j.Running:
			state = "running"
		case j.Failures > 0:
			state = fmt.Sprintf("failing (%d)", j.Failures)
		case j.LastRun.IsZero():
			state = "never run"
		}
		lastErr := "-"
		if j.LastError != "" {
			lastErr = ts(j.LastErrorAt) + " " + j.LastError
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", j.Name, state, ts(j.LastRun), ts(j.LastSuccess), j.Rows, j.Rejected,
			j.Lag.Round(time.Second), ts(j.NextRun), lastErr)
	}
	return tw.Flush()
}
