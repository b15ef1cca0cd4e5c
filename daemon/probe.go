package daemon

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/configs"
)

// ProbeResult is what checking one job against its system found.
type ProbeResult struct {
	Job  string
	Kind string
	// Checked is false for a job with nothing to check (a till file).
	Checked bool
	Err     error
	Took    time.Duration
}

// Probe checks every enabled connector and export against the system it
// talks to, changing nothing (check-config --connect): a SQL query runs
// for zero rows and its columns are checked, a drop folder is looked at,
// a webservice is asked. Each job gets at most timeout.
func (d *Daemon) Probe(ctx context.Context, timeout time.Duration) []ProbeResult {
	var out []ProbeResult
	for _, j := range append(append([]*job(nil), d.connectors...), d.exports...) {
		r := ProbeResult{Job: j.name, Kind: j.kind}
		if j.probe != nil {
			r.Checked = true
			pctx, cancel := context.WithTimeout(ctx, timeout)
			start := time.Now()
			r.Err = j.probe(pctx)
			r.Took = time.Since(start)
			cancel()
		}
		out = append(out, r)
	}
	return out
}

// ProbeConfig builds the connectors and exports of cfg without a ledger
// and probes them (check-config --connect, which must not need the ledger
// to be reachable or migrated). The error is a job that cannot be built.
func ProbeConfig(ctx context.Context, cfg *configs.Config, log *zap.Logger, timeout time.Duration) ([]ProbeResult, error) {
	if log == nil {
		log = zap.NewNop()
	}
	d := &Daemon{cfg: cfg, log: log}
	if err := d.build(builder{cfg: cfg, log: log, clock: time.Now}); err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Probe(ctx, timeout), nil
}
