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

	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/mapping"
	"github.com/pointsync/pointsync/reconcile"
)

// syncBatch is how many facts commit together.
const syncBatch = 500

// runSync reads facts and reconciles them once. Until the connectors exist
// (drop folders, SQL, webservices), the facts come from JSON Lines files
// named on the command line; see README "Facts files".
func runSync(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	var c common
	c.register(fs)
	once := fs.Bool("once", false, "read every source once, reconcile, and exit")
	files, err := parseFlags(fs, args, -1)
	if err != nil {
		return err
	}
	if !*once {
		return usagef("pointsync sync --once --config FILE FACTS.jsonl...", "sync runs once (--once); the daemon is pointsync run")
	}
	e, err := c.open(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	eng, err := e.engine()
	if err != nil {
		return err
	}
	failed := 0
	for _, name := range files {
		applied, rejected, err := syncFile(ctx, e, eng, name, a.stderr)
		if err != nil {
			failed++
			e.log.Error("facts file failed", zap.String("file", name), zap.Error(err))
			fmt.Fprintf(a.stderr, "pointsync: %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(a.stdout, "%s: %d fact(s) applied, %d rejected\n", name, applied, rejected)
	}
	// Periodic gifts fall due on their own schedule: award what is due.
	for _, cp := range e.cfg.Programs {
		var n int
		if err := e.ledger.Update(ctx, func(tx *ledger.Tx) error {
			var err error
			n, err = eng.Gifts(tx, cp.ID)
			return err
		}); err != nil {
			failed++
			fmt.Fprintf(a.stderr, "pointsync: gifts of program %s: %v\n", cp.ID, err)
			continue
		}
		if n > 0 {
			fmt.Fprintf(a.stdout, "program %s: %d gift award(s)\n", cp.ID, n)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d source(s) failed; the others were applied", failed)
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
