package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/daemon"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/mapping"
	"github.com/pointsync/pointsync/reconcile"
)

// syncBatch is how many facts commit together.
const syncBatch = 500

// runSync runs every configured connector once until it has nothing
// more, then the housekeeping and every export, and exits (SPEC 5: exit 1
// when a job failed; the others still ran). Facts files (JSON Lines, see
// README "Facts files") named on the command line are applied first. On
// a MySQL ledger shared by several daemons it holds the ledger's lease
// for the whole run, and refuses (exit 1) while a live daemon holds it.
func runSync(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	var c common
	c.register(fs)
	once := fs.Bool("once", false, "run every connector, the housekeeping and every export once, and exit")
	files, err := parseFlags(fs, args, -1)
	if err != nil {
		return err
	}
	if !*once {
		return usagef("pointsync sync --once --config FILE [FACTS.jsonl...]", "sync runs once (--once); the daemon is pointsync run")
	}
	d, e, release, err := c.startDaemon(ctx, a)
	if err != nil {
		return err
	}
	defer release()
	abort, cancel := abortOnSecondSignal(ctx, e.log)
	defer cancel()
	failed := 0
	var reports []daemon.Report
	err = d.WithLease(ctx, abort, func(stop, abort context.Context) error {
		if len(files) > 0 {
			eng, err := e.engine()
			if err != nil {
				return err
			}
			for _, name := range files {
				applied, rejected, err := syncFile(abort, e, eng, name, a.stderr)
				if err != nil {
					failed++
					e.log.Error("facts file failed", zap.String("file", name), zap.Error(err))
					fmt.Fprintf(a.stderr, "pointsync: %s: %v\n", name, err)
					continue
				}
				fmt.Fprintf(a.stdout, "%s: %d fact(s) applied, %d rejected\n", name, applied, rejected)
			}
		}
		var err error
		reports, err = d.Once(stop, abort)
		return err
	})
	for _, r := range reports {
		switch {
		case r.Err != nil:
			fmt.Fprintf(a.stderr, "pointsync: %s: %v\n", r.Job, r.Err)
		case r.Kind == "export":
			fmt.Fprintf(a.stdout, "%s: %d row(s) written\n", r.Job, r.Rows)
		case r.Kind == "housekeeping":
			if r.Rows > 0 {
				fmt.Fprintf(a.stdout, "%s: %d expiry or gift movement(s)\n", r.Job, r.Rows)
			}
		default:
			fmt.Fprintf(a.stdout, "%s: %d fact(s) applied, %d rejected\n", r.Job, r.Rows, r.Rejected)
		}
	}
	if err != nil && failed == 0 {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d facts file(s) failed; the others were applied", failed)
	}
	return nil
}

// syncFile applies a facts file in batches; a fact that cannot be applied
// is reported with its line and the rest go on.
func syncFile(ctx context.Context, e *env, eng *reconcile.Engine, name string, stderr io.Writer) (applied, rejected int, err error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	type numbered struct {
		line int
		fact mapping.Fact
	}
	var batch []numbered
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var ok int
		var refused []string
		err := e.ledger.Update(ctx, func(tx *ledger.Tx) error {
			// A transaction that lost a race runs again: count afresh.
			ok, refused = 0, refused[:0]
			for _, n := range batch {
				if err := tx.Try(func() error { return eng.Apply(tx, n.fact) }); err != nil {
					if !reconcile.Refused(err) {
						return err
					}
					refused = append(refused, fmt.Sprintf("%s:%d: %v", name, n.line, err))
					continue
				}
				ok++
			}
			return nil
		})
		batch = batch[:0]
		if err != nil {
			return err
		}
		for _, r := range refused {
			fmt.Fprintln(stderr, r)
		}
		applied, rejected = applied+ok, rejected+len(refused)
		return nil
	}
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var fl mapping.Fact
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fl); err != nil {
			rejected++
			fmt.Fprintf(stderr, "%s:%d: not a fact: %v\n", name, line, err)
			continue
		}
		batch = append(batch, numbered{line, fl})
		if len(batch) == syncBatch {
			if err := flush(); err != nil {
				return applied, rejected, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return applied, rejected, fmt.Errorf("line %d: %w", line+1, err)
	}
	return applied, rejected, flush()
}
