package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pointsync/pointsync/bulk"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/daemon"
)

// runExport writes every customer's balance breakdown of a program to CSV,
// in the configured export dialect. The file appears complete or not at
// all: it is written under a temporary name and renamed.
func runExport(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	rest, err := parseFlags(fs, args, 1)
	if err != nil {
		return err
	}
	out := rest[0]
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	d, err := exportDialect(e)
	if err != nil {
		return err
	}
	o := bulk.ExportOptions{Program: p, Dialect: d}
	if out == "-" {
		n, err := bulk.Export(ctx, e.ledger, a.stdout, o)
		if err == nil {
			fmt.Fprintf(a.stderr, "exported %d customers\n", n)
		}
		return err
	}
	var n int
	err = daemon.WriteFileAtomic(out, func(w io.Writer) error {
		var err error
		n, err = bulk.Export(ctx, e.ledger, w, o)
		return err
	})
	if err != nil {
		return fmt.Errorf("export to %s: %w", out, err)
	}
	fmt.Fprintf(a.stdout, "exported %d customers of program %s to %s\n", n, p.ID, out)
	return nil
}

func exportDialect(e *env) (csvio.Dialect, error) {
	d, err := e.cfg.Export.Dialect()
	if err != nil {
		return d, &configError{err: fmt.Errorf("%s: %w", e.cfg.File(), err)}
	}
	return d, nil
}
