package csvdrop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/internal/atomicfile"
	"github.com/pointsync/pointsync/internal/mask"
)

// Ack moves a finished file out of processing/: to
// archive/YYYY/MM/DD/ (the Clock's local date), or to rejected/ when it
// was refused as a whole, with NAME.errors.csv beside it when rows were
// rejected. The report is written before the file moves, so a crash in
// between writes it again. A file already moved is not an error.
func (s *Source) Ack(ctx context.Context, b connectors.Batch, rejects []connectors.Reject) error {
	if b.Done == nil {
		return nil
	}
	name := b.Done.Name
	if !safeName(name) {
		return fmt.Errorf("csv drop %s: ack of %q: not a file name of this folder", s.o.Name, name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := filepath.Join(s.processing, name)
	c := s.cur
	if c == nil || c.key() != b.Done.Key || c.name != name || !c.finished {
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return fmt.Errorf("csv drop %s: %w", s.o.Name, err)
		}
		return fmt.Errorf("csv drop %s: ack of %s: it is not the file this source finished reading; fetch again", s.o.Name, name)
	}
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		// Moved by hand since it was read.
		return s.drop()
	}
	if changed, err := c.changed(); err != nil || changed {
		s.drop()
		if err == nil {
			err = fmt.Errorf("%s changed after it was read: a till is still writing it; it is read again from the top at the next run", name)
		}
		return fmt.Errorf("csv drop %s: %w", s.o.Name, err)
	}
	// Windows cannot move an open file; from here on, a failure leaves
	// the file in processing/ for the next Fetch to finish again.
	s.drop()

	dir := filepath.Join(s.archive, filepath.FromSlash(s.o.Clock().Local().Format("2006/01/02")))
	if c.mode != modeDuplicate && c.whole != "" {
		dir = s.rejected
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("csv drop %s: %w; give the service user write access to %s", s.o.Name, err, s.o.Dir)
	}
	dest, err := uniqueName(dir, name)
	if err != nil {
		return fmt.Errorf("csv drop %s: %w", s.o.Name, err)
	}
	report := reportRows(rejects)
	if c.mode == modeDuplicate {
		// Its rows were not read: the report of the earlier file stands.
		report = nil
	} else if c.whole != "" && (len(report) == 0 || c.bad != nil) {
		// The rows alone would not say that nothing else was applied.
		report = append([]connectors.Reject{{Line: c.line, Reason: c.whole}}, report...)
	}
	if len(report) > 0 {
		if err := writeReport(filepath.Join(dir, dest+".errors.csv"), report); err != nil {
			return fmt.Errorf("csv drop %s: error report of %s: %w", s.o.Name, name, err)
		}
	}
	to := filepath.Join(dir, dest)
	if err := os.Rename(src, to); err != nil {
		return fmt.Errorf("csv drop %s: cannot move %s to %s: %w; check the service user's rights", s.o.Name, src, to, err)
	}
	syncDir(dir)
	syncDir(s.processing)
	s.removeMarker(name)

	rel, _ := filepath.Rel(s.o.Dir, to)
	switch {
	case c.mode == modeDuplicate:
		s.log.Info("drop file is a duplicate: the same content was applied before, nothing of it is applied again",
			zap.String("file", name), zap.String("key", c.key()), zap.String("to", rel))
	case c.whole != "":
		s.log.Info("drop file rejected", zap.String("file", name), zap.Int("line", c.line), zap.String("reason", mask.Digits(c.whole)),
			zap.Int("rejected", len(report)), zap.String("to", rel))
	default:
		s.log.Info("drop file finished", zap.String("file", name), zap.Int64("rows", c.rows), zap.Int("rejected", len(rejects)), zap.String("to", rel))
	}
	return nil
}

// reportRows keeps the rejects that name something to report.
func reportRows(rejects []connectors.Reject) []connectors.Reject {
	out := make([]connectors.Reject, 0, len(rejects))
	for _, r := range rejects {
		if r.Reason != "" || r.Line > 0 {
			out = append(out, r)
		}
	}
	return out
}

// writeReport writes the report whole or not at all; the temporaries a
// process killed before its rename left are removed first (atomicfile).
func writeReport(path string, rejects []connectors.Reject) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		r, err := csvio.NewErrorReport(w)
		if err != nil {
			return err
		}
		for _, x := range rejects {
			if err := r.Write(x.Line, x.Column, x.Value, x.Reason); err != nil {
				return err
			}
		}
		return r.Flush()
	}, nil)
}

// removeMarker removes the marker of a file taken, left behind when the
// process stopped between the move and the removal. A marker beside a new
// file of the same name belongs to that file and stays.
func (s *Source) removeMarker(name string) {
	if s.o.Marker == "" {
		return
	}
	if _, err := os.Lstat(filepath.Join(s.inbox, name)); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err := os.Remove(filepath.Join(s.inbox, name+s.o.Marker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("cannot remove the marker of a finished file", zap.String("file", name+s.o.Marker), zap.Error(err))
	}
}
