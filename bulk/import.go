package bulk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// MaxErrors is how many row errors an ImportResult lists; the report
// (ImportOptions.Report) has every one.
const MaxErrors = 1000

// ErrRejected is wrapped by the error of an import that bad rows stopped
// (SkipInvalid off): nothing was applied.
var ErrRejected = errors.New("bad rows: nothing applied")

// RejectedError is the error of an import stopped by bad rows: nothing was
// applied. The rows themselves are in ImportResult.Errors and the report.
type RejectedError struct {
	Name string // the input, as ImportOptions.Name
	Rows int    // rows rejected
	// ByLedger says every row read well but the ledger refused Rows of
	// them: unknown customer, not enough points, expiry already past.
	ByLedger bool
}

func (e *RejectedError) Error() string {
	if e.ByLedger {
		return fmt.Sprintf("import %s: nothing applied: %d row(s) refused by the ledger; fix them, or import again skipping the invalid rows", e.Name, e.Rows)
	}
	return fmt.Sprintf("import %s: nothing applied: %d bad row(s); fix them, or import again skipping the invalid rows to apply the good ones", e.Name, e.Rows)
}

// Unwrap makes errors.Is(err, ErrRejected) hold.
func (e *RejectedError) Unwrap() error { return ErrRejected }

// ImportOptions say how to read an adjustment file and what to do with it.
type ImportOptions struct {
	// Program receives the adjustments. Its unit says whether the points
	// column holds points or money (read as cents); its location is the
	// zone in which an expiry date ends. ID and Location are required.
	Program rules.Program
	// Dialect is how the file is written (delimiter, decimal separator,
	// encoding, date formats): the configuration's import section.
	Dialect csvio.Dialect
	// Columns are the accepted header names; nil means the defaults of
	// csvio.AdjustmentColumns(nil).
	Columns csvio.Columns
	// Name names the input in messages and row errors (a file name, "-"
	// for standard input); "" means "input". It is not part of the rows'
	// keys: the same content under another name is a replay.
	Name string
	// SkipInvalid applies the good rows and reports the bad ones; without
	// it a bad row stops the whole file and nothing is applied.
	SkipInvalid bool
	// CreateCustomers creates customers whose identifier is not known yet;
	// without it such rows are refused.
	CreateCustomers bool
	// DryRun applies in a transaction that is rolled back: the result says
	// what would happen and nothing is saved.
	DryRun bool
	// Actor is who imports, for the audit columns (e.g. cli:ann, api:shop).
	Actor string
	// Report, when set, receives the error report of the bad rows: a CSV
	// (UTF-8 with BOM, ';') with the header line;column;value;reason, as
	// the drop folders write. Nothing is written when no row is bad, so a
	// writer that creates its file on the first Write leaves no empty
	// report. The header is written at the first bad row, the rows at the
	// end of the import.
	Report io.Writer
}

// RowError is one rejected row of an import.
type RowError struct {
	Line   int    `json:"line"`             // line of the file, 1-based (the header is line 1)
	Column string `json:"column,omitempty"` // logical column: customer, points, expiry, note
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// ImportResult is what an import did, or with DryRun would do.
type ImportResult struct {
	Applied  int `json:"applied"`  // rows written
	Replayed int `json:"replayed"` // rows already imported before (same content), unchanged
	Rejected int `json:"rejected"` // bad rows
	// Errors are the first MaxErrors bad rows, in the order of the report:
	// the rows that do not read well, then those the ledger refused.
	Errors []RowError `json:"errors"`
	DryRun bool       `json:"dry_run"`
}

// errRollbackDryRun undoes a dry run's transaction.
var errRollbackDryRun = errors.New("dry run: roll back")

// Import applies the adjustment file read from in to program o.Program.
//
// The whole file is read and checked first; then it is applied in one
// transaction where rows the ledger refuses (unknown customer, not enough
// points) are errors too. Without o.SkipInvalid any bad row stops it and
// the error wraps ErrRejected (a *RejectedError); with it the good rows are
// applied. Each row's idempotency key is the content's hash and the row's
// line, so the same content imported again, under any name, changes
// nothing: those rows count as Replayed.
//
// in is read twice: an io.ReadSeeker is read from its current offset, any
// other reader (a request body, a pipe) is first copied to a temporary file,
// removed before Import returns.
//
// A file that cannot be read as an adjustment file (empty, a header without
// the required columns, a record too long) stops the import with a
// *csvio.FileError naming the line; nothing is applied. The result is
// filled as far as the import went, with any error.
func Import(ctx context.Context, l *ledger.Ledger, in io.Reader, o ImportOptions) (res ImportResult, err error) {
	res = ImportResult{Errors: []RowError{}, DryRun: o.DryRun}
	if err := o.check(l, in); err != nil {
		return res, err
	}
	if o.Name == "" {
		o.Name = "input"
	}
	src, err := newSource(in, o.Name)
	if err != nil {
		return res, err
	}
	defer src.close()
	im := &importer{o: o, src: src}
	defer func() {
		res.Rejected, res.Errors = im.bad, append(res.Errors, im.errs...)
		if rerr := im.finishReport(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	if o.Report != nil {
		if err := im.startReport(); err != nil {
			return res, err
		}
	}

	// Pass 1: every row read and checked before anything is written.
	if err := im.scan(ctx, nil); err != nil {
		return res, err
	}
	if im.bad > 0 && !o.SkipInvalid {
		return res, &RejectedError{Name: o.Name, Rows: im.bad}
	}
	// Pass 2: apply in one transaction, each row in a savepoint.
	checked := im.bad
	mark, err := im.mark()
	if err != nil {
		return res, err
	}
	err = l.Update(ctx, func(tx *ledger.Tx) error {
		// A transaction that lost a race runs again: its refusals must
		// not be counted or reported twice.
		if err := im.rewind(mark); err != nil {
			return err
		}
		im.applied, im.replayed = 0, 0
		if err := im.scan(ctx, tx); err != nil {
			return err
		}
		if im.bad > checked && !o.SkipInvalid {
			return &RejectedError{Name: o.Name, Rows: im.bad - checked, ByLedger: true}
		}
		if o.DryRun {
			return errRollbackDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRollbackDryRun) {
		return res, err
	}
	res.Applied, res.Replayed = im.applied, im.replayed
	return res, nil
}

func (o ImportOptions) check(l *ledger.Ledger, in io.Reader) error {
	switch {
	case l == nil:
		return errors.New("bulk: import: no ledger given")
	case in == nil:
		return errors.New("bulk: import: no input given")
	case o.Program.ID == "":
		return errors.New("bulk: import: no program given: set ImportOptions.Program")
	case o.Program.Location == nil:
		return fmt.Errorf("bulk: import: program %s has no time zone (Location): expiry dates cannot be placed", o.Program.ID)
	}
	return nil
}

// source is the input, readable from its start as many times as needed.
type source struct {
	rs    io.ReadSeeker
	start int64
	hash  string   // of the content: the rows' keys stand for it
	spool *os.File // temporary copy of a reader that cannot seek
}

func newSource(in io.Reader, name string) (*source, error) {
	h := sha256.New()
	if rs, ok := in.(io.ReadSeeker); ok {
		// A pipe is an *os.File too, but cannot seek: it is spooled.
		if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
			if _, err := io.Copy(h, rs); err != nil {
				return nil, fmt.Errorf("import: read %s: %w", name, err)
			}
			return &source{rs: rs, start: start, hash: sum(h.Sum(nil))}, nil
		}
	}
	tmp, err := os.CreateTemp("", "pointsync-import-*.csv")
	if err != nil {
		return nil, fmt.Errorf("import %s: copy to a temporary file: %w", name, err)
	}
	s := &source{rs: tmp, spool: tmp}
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		s.close()
		return nil, fmt.Errorf("import %s: copy to a temporary file: %w", name, err)
	}
	s.hash = sum(h.Sum(nil))
	return s, nil
}

// sum is the short form of a content hash used in the rows' keys; it must
// never change, or files imported before would apply again.
func sum(b []byte) string { return hex.EncodeToString(b)[:32] }

// open rewinds the input to its start.
func (s *source) open() (io.Reader, error) {
	if _, err := s.rs.Seek(s.start, io.SeekStart); err != nil {
		return nil, fmt.Errorf("import: rewind the input: %w", err)
	}
	return s.rs, nil
}

func (s *source) close() {
	if s.spool != nil {
		s.spool.Close()
		os.Remove(s.spool.Name())
	}
}

// importer holds one import's state across its two passes.
type importer struct {
	o   ImportOptions
	src *source

	applied, replayed, bad int
	errs                   []RowError

	// The report's rows go to a temporary file first, so a transaction run
	// again can cut them back; the header goes to o.Report at the first bad
	// row, so a report that cannot be written fails the import before
	// anything is applied.
	rows     *os.File
	rowsCSV  *csvio.ErrorReport
	rowsFrom int64 // where the rows start in the temporary file
	opened   bool  // the header was written to o.Report
}

// scan reads the input; with tx nil it only checks rows, with tx it applies
// them, each in a savepoint so a refused row leaves nothing behind.
func (im *importer) scan(ctx context.Context, tx *ledger.Tx) error {
	in, err := im.src.open()
	if err != nil {
		return err
	}
	r, err := csvio.NewAdjustmentReader(in, im.o.Name, im.o.Dialect, im.o.Columns, im.o.Program.Unit == rules.UnitAmount)
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
		if err := im.apply(tx, row, req); err != nil {
			return err
		}
	}
}

// apply writes one row; a refusal by the ledger rejects the row, any other
// error stops the import.
func (im *importer) apply(tx *ledger.Tx, row csvio.Adjustment, req ledger.AdjustRequest) error {
	var res ledger.Result
	err := tx.Try(func() error {
		if im.o.CreateCustomers {
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
		return im.reject(&csvio.RowError{File: im.o.Name, Line: row.Line, Column: col, Value: strconv.FormatInt(row.Points, 10), Reason: err.Error()})
	default:
		return err
	}
	return nil
}

// request turns a read row into an adjustment, or a row error.
func (im *importer) request(row csvio.Adjustment) (ledger.AdjustRequest, *csvio.RowError) {
	id, err := ledger.ParseIdent(row.Customer)
	if err != nil {
		return ledger.AdjustRequest{}, &csvio.RowError{File: im.o.Name, Line: row.Line, Column: csvio.ColCustomer, Value: row.Customer, Reason: err.Error()}
	}
	// The document is left empty: the key stands for the content, so the
	// same content under another name is the same request.
	req := ledger.AdjustRequest{
		Account: ledger.Account{Program: im.o.Program.ID, Customer: id},
		Meta: ledger.Meta{Source: ledger.SourceImport, Key: fmt.Sprintf("import:%s:%d", im.src.hash, row.Line),
			Actor: im.o.Actor, Note: row.Note},
		Points: row.Points,
	}
	if row.HasExpiry {
		if row.Points < 0 {
			return req, &csvio.RowError{File: im.o.Name, Line: row.Line, Column: csvio.ColExpiry, Value: row.Expiry.String(),
				Reason: "only added points can carry an expiry; leave it empty for a negative row"}
		}
		// A date already past is refused by the ledger after the replay
		// lookup: the same file imported again later is "already imported".
		t := rules.Date{Year: row.Expiry.Year, Month: row.Expiry.Month, Day: row.Expiry.Day}.EndOfDay(im.o.Program.Location)
		req.Expires = &t
	}
	return req, nil
}

// reject counts a bad row, lists it among the first MaxErrors and writes it
// to the report.
func (im *importer) reject(re *csvio.RowError) error {
	im.bad++
	if len(im.errs) < MaxErrors {
		im.errs = append(im.errs, RowError{Line: re.Line, Column: re.Column, Value: re.Value, Reason: re.Reason})
	}
	if im.rowsCSV == nil {
		return nil
	}
	if !im.opened {
		h, err := csvio.NewErrorReport(im.o.Report)
		if err == nil {
			err = h.Flush()
		}
		if err != nil {
			return fmt.Errorf("import: error report: %w", err)
		}
		im.opened = true
	}
	if err := im.rowsCSV.Write(re.Line, re.Column, re.Value, re.Reason); err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	return nil
}

// startReport opens the temporary file of the report's rows.
func (im *importer) startReport() error {
	f, err := os.CreateTemp("", "pointsync-import-errors-*.csv")
	if err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	im.rows = f
	if im.rowsCSV, err = csvio.NewErrorReport(f); err == nil {
		im.rowsFrom, err = im.flushRows()
	}
	if err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	return nil
}

// flushRows writes out the buffered report rows and says where they end.
func (im *importer) flushRows() (int64, error) {
	if err := im.rowsCSV.Flush(); err != nil {
		return 0, err
	}
	return im.rows.Seek(0, io.SeekCurrent)
}

// mark is the state of the rejections after pass 1.
type mark struct {
	bad, errs int
	rowsEnd   int64
}

func (im *importer) mark() (mark, error) {
	m := mark{bad: im.bad, errs: len(im.errs)}
	if im.rowsCSV != nil {
		end, err := im.flushRows()
		if err != nil {
			return m, fmt.Errorf("import: error report: %w", err)
		}
		m.rowsEnd = end
	}
	return m, nil
}

// rewind drops the rejections counted after m.
func (im *importer) rewind(m mark) error {
	im.bad, im.errs = m.bad, im.errs[:m.errs]
	if im.rowsCSV == nil {
		return nil
	}
	if err := im.rowsCSV.Flush(); err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	if err := im.rows.Truncate(m.rowsEnd); err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	if _, err := im.rows.Seek(m.rowsEnd, io.SeekStart); err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	return nil
}

// finishReport copies the report's rows to o.Report and removes the
// temporary file.
func (im *importer) finishReport() error {
	if im.rows == nil {
		return nil
	}
	defer func() {
		im.rows.Close()
		os.Remove(im.rows.Name())
	}()
	if !im.opened || im.bad == 0 {
		return nil
	}
	end, err := im.flushRows()
	if err == nil {
		_, err = io.Copy(im.o.Report, io.NewSectionReader(im.rows, im.rowsFrom, end-im.rowsFrom))
	}
	if err != nil {
		return fmt.Errorf("import: error report: %w", err)
	}
	return nil
}
