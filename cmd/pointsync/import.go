package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/bulk"
	"github.com/pointsync/pointsync/csvio"
)

// runImport applies a CSV file of bulk adjustments (customer, points,
// optional expiry, note). The whole file is checked first and applied in
// one transaction: all or nothing, unless --skip-invalid applies the good
// rows and reports the bad ones. Each row's key is the file's content hash
// and the row's line, so importing the same file again, under any name,
// changes nothing. The work is package bulk's, shared with the HTTP API.
func runImport(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerProgram(fs)
	skip := fs.Bool("skip-invalid", false, "apply the good rows and report the bad ones (default: a bad row stops the whole file)")
	report := fs.String("errors", "", "where to write the error report (default: IN.csv.errors.csv beside the input)")
	create := fs.Bool("create-customers", false, "create customers whose identifier is not known yet (default: such rows are errors)")
	dryRun := fs.Bool("dry-run", false, "check and apply in a transaction that is rolled back: report what would happen")
	who := fs.String("actor", "", "who imports (default: cli:<user>)")
	rest, err := parseFlags(fs, args, 1)
	if err != nil {
		return err
	}
	in := rest[0]
	e, p, err := c.openProgram(ctx, a.stderr)
	if err != nil {
		return err
	}
	defer e.Close()
	d, cols, err := importDialect(e)
	if err != nil {
		return err
	}
	// Standard input is spooled by bulk when it cannot seek (a pipe).
	var src io.Reader = os.Stdin
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		src = f
	}
	if *report == "" && in != "-" {
		*report = in + ".errors.csv"
	}
	o := bulk.ImportOptions{
		Program: p, Dialect: d, Columns: cols, Name: in,
		SkipInvalid: *skip, CreateCustomers: *create, DryRun: *dryRun, Actor: actor(*who),
	}
	var rf *reportFile
	if *report != "" {
		rf = &reportFile{path: *report}
		o.Report = rf
	}
	res, err := bulk.Import(ctx, e.ledger, src, o)
	if rf != nil {
		if cerr := rf.close(); cerr != nil {
			fmt.Fprintf(a.stderr, "pointsync: error report %s: %v\n", *report, cerr)
		}
	}
	showRejected(a.stderr, in, res, *report)
	note := reportNote(res.Rejected, *report)
	if rej, ok := err.(*bulk.RejectedError); ok {
		if rej.ByLedger {
			return fmt.Errorf("import %s: nothing applied: %d row(s) refused by the ledger%s; fix them, or run with --skip-invalid", in, rej.Rows, note)
		}
		return fmt.Errorf("import %s: nothing applied: %d bad row(s)%s; fix them, or run with --skip-invalid to apply the good rows", in, rej.Rows, note)
	}
	if err != nil {
		return err
	}
	verb := "applied"
	if *dryRun {
		verb = "would apply (dry run, nothing saved)"
	}
	e.log.Info("import", zap.String("file", in), zap.String("program", p.ID), zap.Int("applied", res.Applied),
		zap.Int("replayed", res.Replayed), zap.Int("rejected", res.Rejected), zap.Bool("dry_run", *dryRun), zap.String("actor", o.Actor))
	fmt.Fprintf(a.stdout, "import %s: %s %d row(s), %d already imported, %d rejected%s\n", in, verb, res.Applied, res.Replayed, res.Rejected, note)
	return nil
}

func importDialect(e *env) (csvio.Dialect, csvio.Columns, error) {
	d, cols, err := e.cfg.Import.Dialect()
	if err != nil {
		return d, nil, &configError{err: fmt.Errorf("%s: %w", e.cfg.File(), err)}
	}
	return d, cols, nil
}

// reportFile is the error report file, created at its first write so an
// import without bad rows leaves none behind.
type reportFile struct {
	path string
	f    *os.File
}

func (r *reportFile) Write(b []byte) (int, error) {
	if r.f == nil {
		f, err := os.Create(r.path)
		if err != nil {
			return 0, err
		}
		r.f = f
	}
	return r.f.Write(b)
}

func (r *reportFile) close() error {
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}

// maxShown caps the bad rows echoed to the terminal; the report has all.
const maxShown = 20

// showRejected echoes the first bad rows on the terminal.
func showRejected(w io.Writer, name string, res bulk.ImportResult, reportPath string) {
	for i, re := range res.Errors {
		if i == maxShown {
			break
		}
		fmt.Fprintln(w, (&csvio.RowError{File: name, Line: re.Line, Column: re.Column, Value: re.Value, Reason: re.Reason}).Error())
	}
	if res.Rejected > maxShown {
		if reportPath != "" {
			fmt.Fprintln(w, "... more bad rows in the report")
		} else {
			fmt.Fprintln(w, "... more bad rows not shown; pass --errors FILE for the full list")
		}
	}
}

func reportNote(bad int, reportPath string) string {
	if bad == 0 || reportPath == "" {
		return ""
	}
	return " (report: " + reportPath + ")"
}
