// Package csvdrop reads the CSV files stores' tills drop in a folder. A
// file moves inbox/ -> processing/ -> archive/YYYY/MM/DD/ (or rejected/,
// with NAME.errors.csv beside it), one file at a time, and is known by the
// sha256 of its content: the same file dropped twice under two names
// credits once (SPEC E13). The cursor names the content and the rows of it
// already applied, so a crash anywhere resumes where the ledger stands.
package csvdrop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

const (
	defaultPattern = "*.csv"
	defaultMinAge  = 5 * time.Second
	// maxListed bounds the rejects of a file refused as a whole
	// (RejectFile): past it the operator needs the first errors, not all.
	maxListed = 10000
)

// Folder names under Options.Dir.
const (
	dirInbox      = "inbox"
	dirProcessing = "processing"
	dirArchive    = "archive"
	dirRejected   = "rejected"
)

// Options configure a drop folder.
type Options struct {
	Name string // source name, in messages and logs
	// Dir is the root; inbox/, processing/, archive/ and rejected/ are
	// created under it. They must be on one filesystem: files move by
	// rename, which is atomic only there.
	Dir string
	// Pattern is the glob a file's base name must match, case-insensitively;
	// default "*.csv".
	Pattern string
	// MinAge is how long a file must have been left unmodified before it
	// is taken: a till may still be writing it. Zero means 5s; negative is
	// an error. Ignored with Marker.
	MinAge time.Duration
	// Marker, when set (e.g. ".ok"), is the suffix of the file a till
	// writes once NAME is complete: NAME is taken only when NAME+Marker
	// exists and is not older than NAME. The marker is removed when the
	// file is taken.
	Marker  string
	Dialect csvio.Dialect
	// Headers maps a logical field to the header text the files use for
	// it. An override replaces the built-in names of that field (as in
	// the bulk import): a header the operator named is the only one meant.
	Headers map[string]string
	Mapping mapping.Spec
	// RejectFile refuses a whole file when any row of it is bad, applying
	// nothing of it; by default a bad row is quarantined (reported) and
	// the rest applied.
	RejectFile bool
	// Seen reports whether a unit (a file content key) was applied
	// before; required.
	Seen   func(ctx context.Context, key string) (bool, error)
	Clock  func() time.Time // default time.Now
	Logger *zap.Logger      // nil logs nothing
}

// Source is a drop folder. Fetch, Ack and Close may be called from
// different goroutines; Lag only reads the folders.
type Source struct {
	o          Options
	inbox      string
	processing string
	archive    string
	rejected   string
	cols       csvio.Columns
	grouped    bool // records of one receipt, order or document form one fact
	log        *zap.Logger
	// keysDir holds the temporary files of the keys of the receipts and
	// documents met in a large file: processing/, written by the daemon
	// and on disk, where the hidden names (.keyset-*) are never taken
	// for drop files.
	keysDir string

	mu     sync.Mutex
	cur    *file // the file being read; nil when none is open
	warned map[string]bool

	// restatHook runs between the scan of the inbox and the re-stat of a
	// candidate; tests use it to grow a file at that very moment.
	restatHook func(path string)
}

var (
	_ connectors.Source = (*Source)(nil)
	_ connectors.Acker  = (*Source)(nil)
	_ connectors.Lagger = (*Source)(nil)
	_ connectors.Prober = (*Source)(nil)
	_ connectors.Closer = (*Source)(nil)
)

// New checks the options and creates the folders.
func New(o Options) (*Source, error) {
	if strings.TrimSpace(o.Name) == "" {
		return nil, errors.New("csv drop: the source has no name")
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("csv drop %s: "+format, append([]any{o.Name}, args...)...)
	}
	if strings.TrimSpace(o.Dir) == "" {
		return nil, fail("dir is empty: set the folder the tills drop their files in")
	}
	if o.Seen == nil {
		return nil, fail("no Seen function: without it a file dropped twice would be credited twice")
	}
	if o.Pattern == "" {
		o.Pattern = defaultPattern
	}
	if strings.ContainsAny(o.Pattern, `/\`) {
		return nil, fail("pattern %q: a pattern matches file names in the inbox, without folders", o.Pattern)
	}
	if _, err := filepath.Match(o.Pattern, ""); err != nil {
		return nil, fail("pattern %q: %v", o.Pattern, err)
	}
	switch {
	case o.MinAge < 0:
		return nil, fail("min age %v is negative", o.MinAge)
	case o.MinAge == 0:
		o.MinAge = defaultMinAge
	}
	if o.Marker != "" {
		if strings.ContainsAny(o.Marker, `/\`) || strings.Contains(o.Marker, "..") || strings.TrimSpace(o.Marker) != o.Marker || o.Marker == "." {
			return nil, fail("marker %q: use a plain suffix such as \".ok\"", o.Marker)
		}
	}
	if err := o.Dialect.Validate(); err != nil {
		return nil, fail("csv: %w", err)
	}
	cols, grouped, err := columns(o.Mapping.Type, o.Headers)
	if err != nil {
		return nil, fail("%w", err)
	}
	if _, err := mapping.NewMapper(o.Mapping); err != nil {
		return nil, fail("%w", err)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Source{
		o:          o,
		inbox:      filepath.Join(o.Dir, dirInbox),
		processing: filepath.Join(o.Dir, dirProcessing),
		archive:    filepath.Join(o.Dir, dirArchive),
		rejected:   filepath.Join(o.Dir, dirRejected),
		cols:       cols,
		grouped:    grouped,
		log:        log.With(zap.String("source", o.Name)),
		warned:     map[string]bool{},
	}
	s.keysDir = s.processing
	for _, d := range s.dirs() {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fail("cannot create %s: %w; create it or give the service user write access to %s", d, err, o.Dir)
		}
	}
	return s, nil
}

func (s *Source) dirs() []string {
	return []string{s.inbox, s.processing, s.archive, s.rejected}
}

// columns builds the CSV columns of a fact type: each field is found under
// its name or its built-in headers, or only under the configured header.
func columns(t mapping.Type, overrides map[string]string) (csvio.Columns, bool, error) {
	fields, err := mapping.Fields(t)
	if err != nil {
		return nil, false, fmt.Errorf("facts: %w", err)
	}
	known := map[string]bool{}
	grouped := false
	cols := make(csvio.Columns, len(fields))
	for i, f := range fields {
		known[f.Name] = true
		grouped = grouped || f.Line
		cols[i] = csvio.Column{Name: f.Name, Required: f.Required, Headers: append([]string{f.Name}, f.Headers...)}
		if h, ok := overrides[f.Name]; ok {
			if strings.TrimSpace(h) == "" {
				return nil, false, fmt.Errorf("columns: %s: empty header name", f.Name)
			}
			cols[i].Headers = []string{strings.TrimSpace(h)}
		}
	}
	owner := map[string]string{}
	for _, c := range cols {
		for _, h := range c.Headers {
			k := strings.ToLower(strings.TrimSpace(h))
			if o, ok := owner[k]; ok && o != c.Name {
				return nil, false, fmt.Errorf("columns: header %q is used for both %s and %s; map one of them to another header", h, o, c.Name)
			}
			owner[k] = c.Name
		}
	}
	for k := range overrides {
		if !known[k] {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = f.Name
			}
			return nil, false, fmt.Errorf("columns: unknown field %q for %s facts; the fields are %s", k, t, strings.Join(names, ", "))
		}
	}
	return cols, grouped, nil
}

// Close closes the file being read; the next Fetch opens it again.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drop()
}

// drop forgets the file being read. Callers hold mu.
func (s *Source) drop() error {
	if s.cur == nil {
		return nil
	}
	err := s.cur.close()
	s.cur = nil
	return err
}

// Probe checks that the four folders exist (or can be created), can be
// written and are on one filesystem, without touching any drop file.
func (s *Source) Probe(ctx context.Context) error {
	var tmp []string
	defer func() {
		for _, p := range tmp {
			_ = os.Remove(p)
		}
	}()
	prev := ""
	for _, d := range s.dirs() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("csv drop %s: cannot create %s: %w; create it or give the service user write access", s.o.Name, d, err)
		}
		f, err := os.CreateTemp(d, ".probe-*")
		if err != nil {
			return fmt.Errorf("csv drop %s: %s is not writable: %w; give the service user write access", s.o.Name, d, err)
		}
		tmp = append(tmp, f.Name())
		if err := f.Close(); err != nil {
			return fmt.Errorf("csv drop %s: %s: %w", s.o.Name, d, err)
		}
		if prev != "" {
			to := filepath.Join(d, filepath.Base(prev)+"-moved")
			if err := os.Rename(prev, to); err != nil {
				return fmt.Errorf("csv drop %s: cannot move a file from %s to %s: %w; the folders under %s must be on one filesystem", s.o.Name, filepath.Dir(prev), d, err, s.o.Dir)
			}
			tmp = append(tmp, to)
		}
		prev = f.Name()
	}
	return nil
}

// Lag is the age of the oldest file waiting in processing/ or inbox/, by
// its modification time; 0 when there is none.
func (s *Source) Lag(ctx context.Context, now time.Time) (time.Duration, error) {
	var oldest time.Time
	for _, d := range []string{s.processing, s.inbox} {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			return 0, fmt.Errorf("csv drop %s: %w", s.o.Name, err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !s.dataName(e.Name()) || (d == s.inbox && !s.matches(e.Name())) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // gone since the listing
			}
			if oldest.IsZero() || info.ModTime().Before(oldest) {
				oldest = info.ModTime()
			}
		}
	}
	if oldest.IsZero() || !now.After(oldest) {
		return 0, nil
	}
	return now.Sub(oldest), nil
}
