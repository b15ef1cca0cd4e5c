package csvdrop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
)

// maxWarned bounds the names remembered so that an odd file in the inbox
// is reported once, not at every scan.
const maxWarned = 1000

// skippedSuffixes are files being written under a temporary name and the
// reports this package writes, which must never be read as drops.
var skippedSuffixes = []string{".tmp", ".part", ".errors.csv"}

// dataName reports whether a name can be a drop file at all: not hidden,
// not an editor's lock file ("~$x.csv", Excel), not a temporary name, not
// a marker or a report, and nothing that could lead out of the folder.
func (s *Source) dataName(name string) bool {
	if !safeName(name) || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") {
		return false
	}
	l := strings.ToLower(name)
	for _, suf := range skippedSuffixes {
		if strings.HasSuffix(l, suf) {
			return false
		}
	}
	return s.o.Marker == "" || !strings.HasSuffix(l, strings.ToLower(s.o.Marker))
}

// safeName refuses what could name another folder. os.ReadDir gives base
// names only, but a batch handed back to Ack is data from outside.
func safeName(name string) bool {
	return name != "" && !strings.ContainsAny(name, `/\`) && !strings.Contains(name, "..") && name != "."
}

func (s *Source) matches(name string) bool {
	ok, _ := filepath.Match(strings.ToLower(s.o.Pattern), strings.ToLower(name))
	return ok
}

// warnOnce reports a file left in the inbox for good, once per name.
func (s *Source) warnOnce(name, why string) {
	if s.warned[name] {
		return
	}
	if len(s.warned) >= maxWarned {
		clear(s.warned)
	}
	s.warned[name] = true
	s.log.Warn("file in the inbox is not taken: "+why, zap.String("file", name))
}

// candidate is an inbox file that looked complete at the scan.
type candidate struct {
	name   string
	marker string // the marker's name as written, "" without markers
	size   int64
	mtime  time.Time
}

// ready lists, in name order, the inbox files complete enough to take.
// Callers hold mu.
func (s *Source) ready(now time.Time) ([]candidate, error) {
	entries, err := os.ReadDir(s.inbox)
	if err != nil {
		return nil, fmt.Errorf("csv drop %s: reading the inbox: %w", s.o.Name, err)
	}
	// Tills on Windows shares write "X.CSV.OK" as readily as "x.csv.ok".
	markers := map[string]fs.DirEntry{}
	if s.o.Marker != "" {
		for _, e := range entries {
			if e.Type().IsRegular() {
				markers[strings.ToLower(e.Name())] = e
			}
		}
	}
	var out []candidate
	for _, e := range entries {
		name := e.Name()
		if !s.matches(name) {
			continue
		}
		if !s.dataName(name) {
			if !safeName(name) {
				s.warnOnce(name, "its name could lead outside the folder; rename it")
			}
			continue
		}
		if !e.Type().IsRegular() {
			s.warnOnce(name, "it is not a regular file (a folder or a link); drop the file itself")
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since the listing
		}
		c := candidate{name: name, size: info.Size(), mtime: info.ModTime()}
		if s.o.Marker != "" {
			m, ok := markers[strings.ToLower(name+s.o.Marker)]
			if !ok {
				continue
			}
			mi, err := m.Info()
			// A marker older than the file is left from an earlier file of
			// the same name: this one is still being written.
			if err != nil || mi.ModTime().Before(info.ModTime()) {
				continue
			}
			c.marker = m.Name()
		} else if now.Sub(info.ModTime()) < s.o.MinAge {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// leftovers are the files in processing/ by name: left by a crash, a
// failed commit or a failed Ack, to finish before any other.
func (s *Source) leftovers(except string) ([]string, error) {
	entries, err := os.ReadDir(s.processing)
	if err != nil {
		return nil, fmt.Errorf("csv drop %s: reading %s: %w", s.o.Name, s.processing, err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && s.dataName(e.Name()) && e.Name() != except {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// more reports whether another file is waiting besides the current one.
func (s *Source) more() (bool, error) {
	except := ""
	if s.cur != nil {
		except = s.cur.name
	}
	if names, err := s.leftovers(except); err != nil || len(names) > 0 {
		return len(names) > 0, err
	}
	c, err := s.ready(s.o.Clock())
	return len(c) > 0, err
}

// take opens the next file: a leftover in processing/, else the first
// complete file of the inbox, moved into processing/. nil when none.
// Callers hold mu.
func (s *Source) take(ctx context.Context, hexAfter string) (*file, error) {
	names, err := s.leftovers("")
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		return s.resume(ctx, names, hexAfter)
	}
	cands, err := s.ready(s.o.Clock())
	if err != nil {
		return nil, err
	}
	var first error
	for _, c := range cands {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src := filepath.Join(s.inbox, c.name)
		if s.restatHook != nil {
			s.restatHook(src)
		}
		info, err := os.Lstat(src)
		if err != nil {
			continue // gone since the scan
		}
		if !info.Mode().IsRegular() || info.Size() != c.size || !info.ModTime().Equal(c.mtime) {
			s.log.Debug("drop file changed since the scan: still being written, left for a later scan", zap.String("file", c.name))
			continue
		}
		if err := os.Rename(src, filepath.Join(s.processing, c.name)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			// A writer holding the file open on Windows refuses the move:
			// the other files need not wait for it.
			s.log.Warn("cannot move a drop file to processing", zap.String("file", c.name), zap.Error(err))
			if first == nil {
				first = fmt.Errorf("csv drop %s: cannot move %s into %s: %w; check the service user's rights on both folders", s.o.Name, src, s.processing, err)
			}
			continue
		}
		syncDir(s.processing)
		syncDir(s.inbox)
		if c.marker != "" {
			if err := os.Remove(filepath.Join(s.inbox, c.marker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("cannot remove the marker of a file taken", zap.String("file", c.marker), zap.Error(err))
			}
		}
		s.log.Info("drop file taken", zap.String("file", c.name), zap.Int64("bytes", c.size))
		return s.open(ctx, c.name, true)
	}
	return nil, first
}

// resume opens a leftover: the one the cursor is in the middle of, when
// something else was put in processing/ beside it, else the first by name.
func (s *Source) resume(ctx context.Context, names []string, hexAfter string) (*file, error) {
	pick := names[0]
	if len(names) > 1 && hexAfter != "" {
		for _, n := range names {
			c, err := s.open(ctx, n, false)
			if err != nil {
				return nil, err
			}
			if c.hex == hexAfter {
				s.log.Info("drop file resumed from processing", zap.String("file", n))
				return c, nil
			}
			c.close()
		}
	}
	s.log.Info("drop file resumed from processing", zap.String("file", pick))
	return s.open(ctx, pick, false)
}

// open hashes a file of processing/ and keeps it open for reading.
func (s *Source) open(ctx context.Context, name string, fresh bool) (*file, error) {
	path := filepath.Join(s.processing, name)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("csv drop %s: %w", s.o.Name, err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file; remove it from %s", name, s.processing)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("csv drop %s: %w", s.o.Name, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx: ctx, r: f})
	if err == nil && n != info.Size() {
		err = fmt.Errorf("%s changed while it was read (%d bytes, then %d): a till is still writing it; it is read again at the next run", name, info.Size(), n)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("csv drop %s: hashing %s: %w", s.o.Name, name, err)
	}
	return &file{name: name, f: f, size: n, mtime: info.ModTime(), hex: hex.EncodeToString(h.Sum(nil)), fresh: fresh}, nil
}

// syncDir makes a rename in dir durable. Some systems cannot sync a
// folder; the rename happened all the same, so failures are ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// uniqueName is name, or name-2, name-3... (before the extension) when
// dir already holds a file of that name.
func uniqueName(dir, name string) (string, error) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for n := 1; n < 100000; n++ {
		cand := name
		if n > 1 {
			cand = fmt.Sprintf("%s-%d%s", base, n, ext)
		}
		_, err := os.Lstat(filepath.Join(dir, cand))
		if errors.Is(err, fs.ErrNotExist) {
			return cand, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: too many files named like %s; clean up the folder", dir, name)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
