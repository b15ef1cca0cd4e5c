package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pointsync/pointsync/daemon"
	"github.com/pointsync/pointsync/internal/mask"
	"github.com/pointsync/pointsync/ledger"
)

// runStatus shows each job's last run, last success, last error, rows,
// lag and next run, as the daemon stored them in the ledger, on a MySQL
// ledger shared by several daemons who holds the lease (the active
// daemon), and the notification events waiting in the outbox (the webhook
// delivery is not a job: a receiver that is down shows there).
//
// --check is a health check of the ledger's jobs, not of the process it
// runs beside: every daemon sharing a ledger reports the same health, and
// a standby is healthy (waiting is its job). --require-active adds, on a
// MySQL ledger, that some daemon must hold the lease: for a monitor that
// watches the whole installation rather than one container.
func runStatus(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, `print one JSON object: {"lease": ..., "jobs": [...], "outbox": {...}}`)
	check := fs.Bool("check", false, "health check: exit 1 when a job has failed --max-failures times in a row")
	maxFailures := fs.Int64("max-failures", 3, "with --check: consecutive failures that make a job unhealthy")
	requireActive := fs.Bool("require-active", false, "with --check, on a MySQL ledger: exit 1 also when no daemon holds the lease (none is active)")
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
	// An error may quote a card number: status shows its last four, as
	// the API and the admin UI do.
	for i := range jobs {
		jobs[i].LastError = mask.Text(jobs[i].LastError)
	}
	// The webhook delivery is not a job: its backlog is the outbox's.
	outbox, err := e.ledger.OutboxStats(ctx)
	if err != nil {
		return err
	}
	var lease *ledger.LeaseInfo
	if daemon.Leased(e.ledger) {
		info, err := e.ledger.LeaseInfo(ctx, daemon.LeaseName)
		if err != nil {
			return err
		}
		lease = &info
	}
	if *check {
		var sick []string
		for _, j := range jobs {
			if j.Failures >= *maxFailures {
				sick = append(sick, fmt.Sprintf("%s failed %d times in a row: %s", j.Name, j.Failures, j.LastError))
			}
		}
		if *requireActive && lease != nil && !lease.Held() {
			sick = append(sick, "no daemon holds the ledger's lease, so none is active ("+leaseLine(*lease)+")")
		}
		if len(sick) > 0 {
			return fmt.Errorf("unhealthy: %s", strings.Join(sick, "; "))
		}
		if lease != nil {
			fmt.Fprintf(a.stdout, "healthy (%s)\n", leaseLine(*lease))
			return nil
		}
		fmt.Fprintln(a.stdout, "healthy")
		return nil
	}
	if *asJSON {
		return writeStatusJSON(a.stdout, lease, jobs, outbox, time.Now())
	}
	if lease != nil {
		fmt.Fprintln(a.stdout, "lease: "+leaseLine(*lease))
	}
	if outbox.Pending > 0 {
		fmt.Fprintln(a.stdout, "notifications: "+outboxLine(outbox, time.Now()))
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

// leaseLine says who holds the lease and until when, in local time; the
// time left is by the database's clock.
func leaseLine(i ledger.LeaseInfo) string {
	at := func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }
	switch {
	case i.Held():
		return fmt.Sprintf("held by %s since %s (fence %d), renewed %s, expires %s (in %s)",
			i.Holder, at(i.AcquiredAt), i.Fence, at(i.RenewedAt), at(i.ExpiresAt), i.Remaining().Round(100*time.Millisecond))
	case i.Holder != "":
		return fmt.Sprintf("free since %s (last held by %s, fence %d)", at(i.ExpiresAt), i.Holder, i.Fence)
	default:
		return "free (never taken: no daemon has run on this ledger)"
	}
}

// outboxLine says how many notification events wait, how many of them
// failed to be delivered, and since when the oldest waits.
func outboxLine(s ledger.OutboxStats, now time.Time) string {
	line := fmt.Sprintf("%d event(s) not delivered yet", s.Pending)
	if s.Failing > 0 {
		line += fmt.Sprintf(", %d failing (retried with backoff; see the log for the receiver's answer)", s.Failing)
	}
	if !s.Oldest.IsZero() {
		line += fmt.Sprintf(", the oldest from %s (%s ago)", s.Oldest.Local().Format("2006-01-02 15:04:05"), max(now.Sub(s.Oldest), 0).Round(time.Second))
	}
	return line
}

// writeStatusJSON prints the status as one JSON object; "lease" is null
// on a SQLite ledger, which has no lease; "outbox" counts the notification
// events not delivered yet.
func writeStatusJSON(w io.Writer, lease *ledger.LeaseInfo, jobs []ledger.Job, outbox ledger.OutboxStats, now time.Time) error {
	type leaseJSON struct {
		Name             string  `json:"name"`
		Held             bool    `json:"held"`
		Holder           string  `json:"holder"`
		Fence            int64   `json:"fence"`
		AcquiredAt       *string `json:"acquired_at"`
		RenewedAt        *string `json:"renewed_at"`
		ExpiresAt        *string `json:"expires_at"`
		RemainingSeconds float64 `json:"remaining_seconds"`
	}
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
	type outboxJSON struct {
		Pending          int64   `json:"pending"`
		Failing          int64   `json:"failing"`
		Oldest           *string `json:"oldest"`
		OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	}
	out := struct {
		Lease  *leaseJSON `json:"lease"`
		Jobs   []row      `json:"jobs"`
		Outbox outboxJSON `json:"outbox"`
	}{Jobs: []row{}, Outbox: outboxJSON{Pending: outbox.Pending, Failing: outbox.Failing, Oldest: ts(outbox.Oldest)}}
	if !outbox.Oldest.IsZero() {
		out.Outbox.OldestAgeSeconds = max(now.Sub(outbox.Oldest).Seconds(), 0)
	}
	if lease != nil {
		out.Lease = &leaseJSON{Name: lease.Name, Held: lease.Held(), Holder: lease.Holder, Fence: lease.Fence,
			AcquiredAt: ts(lease.AcquiredAt), RenewedAt: ts(lease.RenewedAt), ExpiresAt: ts(lease.ExpiresAt),
			RemainingSeconds: lease.Remaining().Seconds()}
	}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, row{Job: j.Name, Running: j.Running, Holder: j.Holder, LastRun: ts(j.LastRun), LastSuccess: ts(j.LastSuccess),
			LastError: j.LastError, LastErrorAt: ts(j.LastErrorAt), Failures: j.Failures, Runs: j.Runs, Rows: j.Rows,
			Rejected: j.Rejected, LagSeconds: j.Lag.Seconds(), NextRun: ts(j.NextRun)})
	}
	return writeJSON(w, out)
}
