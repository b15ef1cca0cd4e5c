package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
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
	if out == "-" {
		n, err := writeBalances(ctx, e, p, d, a.stdout)
		if err == nil {
			fmt.Fprintf(a.stderr, "exported %d customers\n", n)
		}
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := writeBalances(ctx, e, p, d, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", out, err)
	}
	fmt.Fprintf(a.stdout, "exported %d customers of program %s to %s\n", n, p.ID, out)
	return nil
}

func exportDialect(e *env) (csvio.Dialect, error) {
	x := e.cfg.Export
	dec, err := csvio.ParseDecimal(x.Decimal)
	if err != nil {
		return csvio.Dialect{}, &configError{err: fmt.Errorf("%s: export.decimal: %w", e.cfg.File(), err)}
	}
	enc, err := csvio.ParseEncoding(x.Encoding)
	if err != nil {
		return csvio.Dialect{}, &configError{err: fmt.Errorf("%s: export.encoding: %w", e.cfg.File(), err)}
	}
	return csvio.Dialect{Delimiter: x.Comma(), Decimal: dec, Encoding: enc, DateFormat: x.DateFormat, BOM: x.BOM}, nil
}

func writeBalances(ctx context.Context, e *env, p rules.Program, d csvio.Dialect, w interface{ Write([]byte) (int, error) }) (int, error) {
	bw, err := csvio.NewBalanceWriter(w, d, p.Unit == rules.UnitAmount)
	if err != nil {
		return 0, err
	}
	n := 0
	err = e.ledger.EachBalance(ctx, p.ID, e.ledger.Now(), func(cb ledger.CustomerBalance) error {
		row := csvio.BalanceRow{Customer: string(cb.Customer), Earned: cb.Earned, Provisional: cb.Provisional, Spent: cb.Spent, Expired: cb.Expired}
		for _, id := range cb.Identifiers {
			row.Identifiers = append(row.Identifiers, string(id))
		}
		for _, x := range cb.Expiring {
			dt, err := rules.ParseDate(x.Date)
			if err != nil {
				return err
			}
			row.Expiring = append(row.Expiring, csvio.Expiring{Date: csvio.Date{Year: dt.Year, Month: dt.Month, Day: dt.Day}, Points: x.Points})
		}
		n++
		return bw.Write(row)
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}
