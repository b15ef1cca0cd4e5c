package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// errRollbackDryRun undoes a dry run's transaction.
var errRollbackDryRun = errors.New("dry run: roll back")

// runImport applies a CSV file of bulk adjustments (customer, points,
// optional expiry, note). The whole file is checked first and applied in
// one transaction: all or nothing, unless --skip-invalid applies the good
// rows and reports the bad ones. Each row's key is the file's content hash
// and the row's line, so importing the same file again, under any name,
// changes nothing.
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
	path, cleanup, err := importSource(in)
	if err != nil {
		return err
	}
	defer cleanup()
	sum, err := fileHash(path)
	if err != nil {
		return err
	}
	if *report == "" && in != "-" {
		*report = in + ".errors.csv"
	}
	im := &importer{
		e: e, p: p, d: d, cols: cols, path: path, name: in, hash: sum,
		create: *create, actor: actor(*who), stderr: a.stderr,
	}
	defer im.closeReport()
	im.reportPath = *report

	// Pass 1: every row parsed and checked before anything is written.
	if err := im.scan(ctx, nil); err != nil {
		return err
	}
	if im.bad > 0 && !*skip {
		return fmt.Errorf("import %s: nothing applied: %d bad row(s)%s; fix them, or run with --skip-invalid to apply the good rows", in, im.bad, im.reportNote())
	}
	// Pass 2: apply in one transaction; rows failing against the ledger
	// (unknown customer, not enough points) are errors too.
	checked := im.bad
	mark, err := im.reportMark()
	if err != nil {
		return err
	}
	err = e.ledger.Update(ctx, func(tx *ledger.Tx) error {
		// A transaction that lost a race runs again: its rejections must
		// not be reported twice.
		if err := im.rewindReport(mark); err != nil {
			return err
		}
		im.applied, im.replayed, im.bad = 0, 0, checked
		if err := im.scan(ctx, tx); err != nil {
			return err
		}
		if im.bad > checked && !*skip {
			return fmt.Errorf("import %s: nothing applied: %d row(s) refused by the ledger%s; fix them, or run with --skip-invalid", in, im.bad-checked, im.reportNote())
		}
		if *dryRun {
			return errRollbackDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRollbackDryRun) {
		return err
	}
	verb := "applied"
	if *dryRun {
		verb = "would apply (dry run, nothing saved)"
	}
	e.log.Info("import", zap.String("file", in), zap.String("program", p.ID), zap.Int("applied", im.applied),
		zap.Int("replayed", im.replayed), zap.Int("rejected", im.bad), zap.Bool("dry_run", *dryRun), zap.String("actor", im.actor))
	fmt.Fprintf(a.stdout, "import %s: %s %d row(s), %d already imported, %d rejected%s\n", in, verb, im.applied, im.replayed, im.bad, im.reportNote())
	return nil
}

func importDialect(e *env) (csvio.Dialect, csvio.Columns, error) {
	x := e.cfg.Import
	bad := func(key string, err error) error {
		return &configError{err: fmt.Errorf("%s: import.%s: %w", e.cfg.File(), key, err)}
	}
	dec, err := csvio.ParseDecimal(x.Decimal)
	if err != nil {
		return csvio.Dialect{}, nil, bad("decimal", err)
	}
	enc, err := csvio.ParseEncoding(x.Encoding)
	if err != nil {
		return csvio.Dialect{}, nil, bad("encoding", err)
	}
	cols, err := csvio.AdjustmentColumns(x.Columns)
	if err != nil {
		return csvio.Dialect{}, nil, bad("columns", err)
	}
	return csvio.Dialect{Delimiter: x.Comma(), Decimal: dec, Encoding: enc, DateFormats: x.DateFormats}, cols, nil
}

// importSource gives a file path to read twice; standard input is spooled
// to a temporary file first.
func importSource(in string) (string, func(), error) {
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return "", nil, fmt.Errorf("import: %w", err)
		}
		f.Close()
		return in, func() {}, nil
	}
	tmp, err := os.CreateTemp("", "pointsync-import-*.csv")
	if err != nil {
		return "", nil, fmt.Errorf("import: spool standard input: %w", err)
	}
	cleanup := func() { os.Remove(tmp.Name()) }
	_, err = io.Copy(tmp, os.Stdin)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("import: spool standard input: %w", err)
	}
	return tmp.Name(), cleanup, nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("import: read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// importer holds one import's state across its two passes.
type importer struct {
	e          *env
	p          rules.Program
	d          csvio.Dialect
	cols       csvio.Columns
	path, name string
	hash       string
	create     bool
	actor      string
	stderr     io.Writer

	reportPath string
	reportFile *os.File
	report     *csvio.Writer
	shown      int

	applied, replayed, bad int
}

// maxShown caps the bad rows echoed to the terminal; the report has all.
const maxShown = 20

// scan reads the file; with tx nil it only checks rows, with tx it applies
// them, each in a savepoint so a refused row leaves nothing behind.
func (im *importer) scan(ctx context.Context, tx *ledger.Tx) error {
	f, err := os.Open(im.path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	r, err := csvio.NewAdjustmentReader(f, im.name, im.d, im.cols, im.p.Unit == rules.UnitAmount)
	if err != nil {
		return err // the header is wrong: the message names file and line
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var re *csvio.RowError
		if errors.As(err, &re) {
			if tx == nil {
				if err := im.reject(re); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return err
		}
		req, rerr := im.request(row)
		if rerr != nil {
			if tx == nil {
				if err := im.reject(rerr); err != nil {
					return err
				}
			}
			continue
		}
		if tx == nil {
			continue
		}
		var res ledger.Result
		err = tx.Try(func() error {
			if im.create {
				if _, _, err := tx.EnsureCustomer(req.Customer); err != nil {
					return err
				}
			}
			var err error
			res, err = tx.Adjust(req)
			return err
		})
		switch {
		case err == nil && res.Replayed:
			im.replayed++
		case err == nil:
			im.applied++
		case errors.Is(err, ledger.ErrUnknownCustomer), errors.Is(err, ledger.ErrInsufficient),
			errors.Is(err, ledger.ErrInvalid), errors.Is(err, ledger.ErrIdempotency):
			col := csvio.ColPoints
			switch {
			case errors.Is(err, ledger.ErrUnknownCustomer):
				col = csvio.ColCustomer
				err = fmt.Errorf("%w; add the customer first or import with --create-customers", err)
			case strings.Contains(err.Error(), "expiry"):
				col = csvio.ColExpiry
			}
			if err := im.reject(&csvio.RowError{File: im.name, Line: row.Line, Column: col, Value: strconv.FormatInt(row.Points, 10), Reason: err.Error()}); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// request turns a parsed row into an adjustment, or a row error.
func (im *importer) request(row csvio.Adjustment) (ledger.AdjustRequest, *csvio.RowError) {
	id, err := ledger.ParseIdent(row.Customer)
	if err != nil {
		return ledger.AdjustRequest{}, &csvio.RowError{File: im.name, Line: row.Line, Column: csvio.ColCustomer, Value: row.Customer, Reason: err.Error()}
	}
	req := ledger.AdjustRequest{
		Account: ledger.Account{Program: im.p.ID, Customer: id},
		Meta: ledger.Meta{Source: ledger.SourceImport, Key: fmt.Sprintf("import:%s:%d", im.hash, row.Line),
			Actor: im.actor, Note: row.Note, Document: im.name},
		Points: row.Points,
	}
	if row.HasExpiry {
		if row.Points < 0 {
			return req, &csvio.RowError{File: im.name, Line: row.Line, Column: csvio.ColExpiry, Value: row.Expiry.String(),
				Reason: "only added points can carry an expiry; leave it empty for a negative row"}
		}
		// A date already past is refused by the ledger after the replay
		// lookup: the same file imported again later is "already imported".
		t := rules.Date{Year: row.Expiry.Year, Month: row.Expiry.Month, Day: row.Expiry.Day}.EndOfDay(im.p.Location)
		req.Expires = &t
	}
	// The document names the file for people; the key stands for the
	// content, so it is the same under any name.
	req.Document = ""
	return req, nil
}

// reject reports a bad row: on the terminal (the first few) and in the
// report file (all).
func (im *importer) reject(re *csvio.RowError) error {
	im.bad++
	if im.shown < maxShown {
		fmt.Fprintln(im.stderr, re.Error())
		im.shown++
	} else if im.shown == maxShown {
		if im.reportPath != "" {
			fmt.Fprintln(im.stderr, "... more bad rows in the report")
		} else {
			fmt.Fprintln(im.stderr, "... more bad rows not shown; pass --errors FILE for the full list")
		}
		im.shown++
	}
	if im.reportPath == "" {
		return nil
	}
	if im.report == nil {
		f, err := os.Create(im.reportPath)
		if err != nil {
			return fmt.Errorf("import: error report: %w", err)
		}
		w, err := csvio.NewWriter(f, csvio.Dialect{Delimiter: ';', Encoding: csvio.EncodingUTF8, BOM: true}, []string{"line", "column", "value", "reason"})
		if err != nil {
			f.Close()
			return err
		}
		im.reportFile, im.report = f, w
	}
	return im.report.Write([]string{strconv.Itoa(re.Line), re.Column, re.Value, re.Reason})
}

// reportMark is where the report ends now (flushed), for rewindReport.
func (im *importer) reportMark() (int64, error) {
	if im.report == nil {
		return 0, nil
	}
	if err := im.report.Flush(); err != nil {
		return 0, fmt.Errorf("import: error report: %w", err)
	}
	return im.reportFile.Seek(0, io.SeekCurrent)
}

// rewindReport cuts the report back to mark, dropping what a failed
// attempt wrote; a report that did not exist at mark is removed.
func (im *importer) rewindReport(mark int64) error {
	if im.report == nil {
		return nil
	}
	if mark == 0 {
		im.reportFile.Close()
		im.report, im.reportFile = nil, nil
		return os.Remove(im.reportPath)
	}
	if err := im.report.Flush(); err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	if err := im.reportFile.Truncate(mark); err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	_, err := im.reportFile.Seek(mark, io.SeekStart)
	return err
}

func (im *importer) closeReport() {
	if im.report != nil {
		if err := im.report.Flush(); err != nil {
			fmt.Fprintf(im.stderr, "pointsync: error report %s: %v\n", im.reportPath, err)
		}
		im.reportFile.Close()
	}
}

func (im *importer) reportNote() string {
	if im.bad == 0 || im.reportPath == "" {
		return ""
	}
	return " (report: " + im.reportPath + ")"
}
