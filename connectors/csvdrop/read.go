package csvdrop

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/internal/keyset"
	"github.com/pointsync/pointsync/mapping"
)

// mode is what Fetch does with the open file.
type mode int

const (
	modeUndecided mode = iota
	modeRead           // its rows are read and applied
	modeDuplicate      // its content was applied before, under another name
)

// file is the file in processing/ being read. Its hash is taken once,
// when it is opened; every pass reads exactly the bytes hashed.
type file struct {
	name  string
	f     *os.File
	size  int64
	mtime time.Time
	hex   string
	fresh bool // moved from the inbox by this process
	mode  mode

	checked bool           // RejectFile: the whole file was checked
	bad     []mapping.Item // RejectFile: the rejects of a file refused as a whole

	p   *pass // reading position kept between batches
	pos int64 // Seq of the last item p returned

	finished bool   // a batch with Done was returned
	rows     int64  // records read, once finished
	whole    string // why the file is rejected as a whole; "" when it is not
	line     int    // where, for the report
}

func (c *file) key() string { return "sha256:" + c.hex }

func (c *file) close() error {
	err := c.dropPass()
	if c.f == nil {
		return err
	}
	if ferr := c.f.Close(); err == nil {
		err = ferr
	}
	c.f = nil
	return err
}

// dropPass closes the pass kept between batches, if any.
func (c *file) dropPass() error {
	if c.p == nil {
		return nil
	}
	err := c.p.close()
	c.p = nil
	return err
}

// changed reports whether the file is no longer what was hashed: a till
// that kept it open has written on.
func (c *file) changed() (bool, error) {
	if c.f == nil {
		return false, errors.New("file closed")
	}
	info, err := c.f.Stat()
	if err != nil {
		return false, err
	}
	return info.Size() != c.size || !info.ModTime().Equal(c.mtime), nil
}

// cursorOf is the cursor once the items of file hex up to Seq seq are
// applied.
func cursorOf(hex string, seq int64) connectors.Cursor {
	return connectors.Cursor("sha256:" + hex + ":" + strconv.FormatInt(seq, 10))
}

// parseCursor reads "sha256:<hex>:<seq>"; the empty cursor gives "", -1.
func parseCursor(c connectors.Cursor) (string, int64, error) {
	if c == "" {
		return "", -1, nil
	}
	bad := fmt.Errorf("cursor %q is not a drop folder's (sha256:<hex>:<row>): was the connector's kind changed? reset its cursor", truncate(string(c)))
	rest, ok := strings.CutPrefix(string(c), "sha256:")
	if !ok {
		return "", 0, bad
	}
	h, n, ok := strings.Cut(rest, ":")
	if !ok || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return "", 0, bad
	}
	seq, err := strconv.ParseInt(n, 10, 64)
	if err != nil || seq < 0 || strconv.FormatInt(seq, 10) != n {
		return "", 0, bad
	}
	return h, seq, nil
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// pass reads a file from its first row and turns records into items, in
// Seq order. A pass resumed after a cursor reads and maps the rows before
// it too and drops their items: the items after the cursor are then those
// of an uninterrupted run, whatever the Mapper carries from group to group.
type pass struct {
	name    string
	rd      *csvio.Reader // nil when the header failed
	m       *mapping.Mapper
	cols    csvio.Columns
	grouped bool
	skip    int64 // items up to this Seq were applied before
	seq     int64 // records read
	last    int64 // Seq of the last item queued
	queue   []mapping.Item
	ready   int   // queue[:ready] may be returned; the rest waits on held
	held    *held // a group read just before an unreadable row
	end     bool  // the input is exhausted and the Mapper flushed
	fatal   *csvio.FileError
	whole   string // fatal's reason as reported
	// subjects are hashes of the receipts and documents met so far.
	subjects *keyset.Set
	lines    *lineTracker
	typ      mapping.Type
	keyIdx   map[string]int // header position of the fields of a group's key
	hdrLen   int
}

// held is the group read just before one or more unreadable rows, kept
// back until the group after them is read: an unreadable row may be a line
// of either, and a receipt missing a line must not count.
type held struct {
	idx  int // in queue; -1 when no group came just before
	rows []unreadable
}

// spillKeys is how many keys of receipts and documents each of a pass's
// two sets keeps in memory before it spills them to a file; 0 for
// keyset.DefaultMemKeys. Tests make it tiny.
var spillKeys = 0

// newPass starts reading c. Its memory of the receipts and documents met
// is bounded whatever the file's size: past a few MiB, the keys go to
// hidden temporary files in keysDir, unlinked at once. Close the pass
// when done.
func (s *Source) newPass(c *file, skip int64) (*pass, error) {
	m, err := mapping.NewMapper(s.o.Mapping)
	if err != nil {
		return nil, fmt.Errorf("csv drop %s: %w", s.o.Name, err)
	}
	m.SpillTo(s.keysDir, spillKeys)
	subjects := keyset.New(s.keysDir)
	if spillKeys > 0 {
		subjects = keyset.NewSize(s.keysDir, spillKeys)
	}
	p := &pass{name: c.name, m: m, cols: s.cols, grouped: s.grouped, skip: skip, last: -1, subjects: subjects, typ: s.o.Mapping.Type}
	p.lines = &lineTracker{r: io.NewSectionReader(c.f, 0, c.size), n: 1}
	rd, err := csvio.NewReader(p.lines, c.name, s.o.Dialect, s.cols)
	if err != nil {
		var fe *csvio.FileError
		if !errors.As(err, &fe) || p.lines.err != nil {
			p.close()
			return nil, fmt.Errorf("csv drop %s: %s: %w", s.o.Name, c.name, errors.Join(p.lines.err, err))
		}
		if err := p.fail(fe); err != nil {
			p.close()
			return nil, err
		}
		return p, nil
	}
	p.rd = rd
	return p, nil
}

// close removes the pass's temporary files.
func (p *pass) close() error {
	return errors.Join(p.m.Close(), p.subjects.Close())
}

// mapped returns what the Mapper completed, or the error that makes it
// unsure: the batch fails, and the next Fetch reads the file again.
func (p *pass) mapped(items []mapping.Item) ([]mapping.Item, error) {
	if err := p.m.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	return items, nil
}

// head returns how many items at the head of the queue share one Seq
// (a group can make several facts: a link row names several identifiers),
// reading on as needed; 0 at the end. A batch takes them all or none: the
// cursor after a Seq skips every item of it.
func (p *pass) head(ctx context.Context) (int, error) {
	if err := p.fill(ctx); err != nil {
		return 0, err
	}
	if p.ready == 0 {
		return 0, nil
	}
	n := 1
	for n < p.ready && p.queue[n].Seq == p.queue[0].Seq {
		n++
	}
	return n, nil
}

// take returns the first n items of the queue.
func (p *pass) take(n int) []mapping.Item {
	out := make([]mapping.Item, n)
	for i := range out {
		out[i] = p.pop()
	}
	return out
}

// fill reads until an item can be returned or the input is exhausted.
func (p *pass) fill(ctx context.Context) error {
	for {
		for p.ready > 0 && p.queue[0].Seq <= p.skip {
			p.pop()
		}
		if p.ready > 0 || p.end {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.step(); err != nil {
			return err
		}
	}
}

// done reports that every item was returned.
func (p *pass) done() bool { return p.end && p.ready == 0 }

func (p *pass) pop() mapping.Item {
	it := p.queue[0]
	p.queue[0] = mapping.Item{}
	p.queue = p.queue[1:]
	p.ready--
	if p.held != nil && p.held.idx >= 0 {
		p.held.idx--
	}
	return it
}

// step reads one row.
func (p *pass) step() error {
	row, err := p.rd.Next()
	var re *csvio.RowError
	var fe *csvio.FileError
	switch {
	case err == nil:
		p.seq++
		items, err := p.mapped(p.m.Add(p.record(row)))
		if err != nil {
			return err
		}
		return p.push(items)
	case errors.Is(err, io.EOF):
		items, err := p.mapped(p.m.Flush())
		if err != nil {
			return err
		}
		if err := p.push(items); err != nil {
			return err
		}
		p.release()
		p.end = true
		return nil
	case errors.As(err, &re):
		p.seq++
		// The row cannot be read, so the group before it is closed here.
		flushed, err := p.mapped(p.m.Flush())
		if err != nil {
			return err
		}
		if err := p.push(flushed); err != nil {
			return err
		}
		p.unreadable(re.Line, len(flushed))
		return p.queueOne(mapping.Item{Seq: p.seq, Origin: p.name, Line: re.Line,
			Err: &mapping.RowError{Origin: p.name, Line: re.Line, Column: re.Column, Value: re.Value, Reason: re.Reason}})
	case errors.As(err, &fe):
		if p.lines.err != nil {
			// The disk failed, not the content: read it again later.
			return fmt.Errorf("%s: %w", p.name, p.lines.err)
		}
		return p.fail(fe)
	default:
		return fmt.Errorf("%s: %w", p.name, err)
	}
}

// fail ends the pass at a FileError: the rest of the file cannot be
// read, and the group read last is settled as next to an unreadable row.
func (p *pass) fail(fe *csvio.FileError) error {
	p.fatal = fe
	flushed, err := p.mapped(p.m.Flush())
	if err != nil {
		return err
	}
	if err := p.push(flushed); err != nil {
		return err
	}
	if p.seq > 0 {
		p.unreadable(fe.Line, len(flushed))
	}
	p.release()
	reason := fe.Reason
	if fe.Err != nil && !strings.Contains(reason, fe.Err.Error()) {
		if reason != "" {
			reason += ": "
		}
		reason += fe.Err.Error()
	}
	if p.seq == 0 {
		reason = "the whole file is rejected: " + reason
	} else {
		reason = "the file cannot be read past this line; the rows after it were not applied: " + reason
	}
	p.end, p.whole = true, reason
	return p.queueOne(mapping.Item{Seq: p.seq + 1, Origin: p.name, Line: fe.Line,
		Err: &mapping.RowError{Origin: p.name, Line: fe.Line, Reason: reason}})
}

// push queues what the Mapper completed, settling a held group with the
// first of them.
func (p *pass) push(items []mapping.Item) error {
	for _, it := range items {
		if p.held != nil {
			p.resolve(&it)
		}
		if err := p.queueOne(it); err != nil {
			return err
		}
	}
	return nil
}

func (p *pass) queueOne(it mapping.Item) error {
	// The cursor is the Seq of the last item applied: an item out of
	// order would have the one before it skipped after a restart.
	if it.Seq < p.last {
		return fmt.Errorf("%s:%d: item of row %d after row %d: the mapper returned items out of order", p.name, it.Line, it.Seq, p.last)
	}
	if it.Fact == nil && it.Err == nil {
		return fmt.Errorf("%s:%d: the mapper returned an item with neither a fact nor an error", p.name, it.Line)
	}
	if f := it.Fact; f != nil && (f.Receipt != nil || f.Document != nil) {
		// The Mapper refuses a receipt or document met again apart from
		// its first rows, but forgets them at each Flush, and an
		// unreadable row makes one: the pass remembers for the whole file.
		h := fnv.New64a()
		h.Write([]byte(f.Subject()))
		added, err := p.subjects.Add(h.Sum64())
		if err != nil {
			return fmt.Errorf("%s:%d: remembering the receipts and documents of this file: %w", p.name, it.Line, err)
		}
		if !added {
			it = refuse(it, fmt.Sprintf("%s appeared earlier in this file, apart from these rows: the rows of one %s must be adjacent; not applied", f.Subject(), strings.Fields(f.Subject())[0]))
		}
	}
	p.last = it.Seq
	p.queue = append(p.queue, it)
	if p.held == nil {
		p.ready = len(p.queue)
	}
	return nil
}

// unreadable notes a row that could not be read, after the Mapper was
// flushed of n items, holding back the group just before it.
func (p *pass) unreadable(line, n int) {
	if !p.grouped {
		return // each record is a fact of its own: no group can miss a line
	}
	if p.held == nil {
		p.held = &held{idx: -1}
		if last := len(p.queue) - 1; n > 0 && p.queue[last].Fact != nil {
			i := last
			for i > p.ready && p.queue[i-1].Seq == p.queue[last].Seq {
				i--
			}
			p.held.idx, p.ready = i, i
		}
	}
	p.held.rows = append(p.held.rows, p.lines.unreadable(line, p.rd.Delimiter()))
}

// resolve settles the held group and the one after the unreadable rows
// (nil at the end of the input), then lets the queue go.
func (p *pass) resolve(next *mapping.Item) {
	h := p.held
	p.held = nil
	var before *mapping.Item
	if h.idx >= 0 {
		before = &p.queue[h.idx]
	}
	split := before != nil && before.Fact != nil && next != nil && next.Fact != nil && before.Fact.Subject() == next.Fact.Subject()
	if before != nil && before.Fact != nil {
		if why := p.verdict(h, before.Fact, split, false); why != "" {
			*before = refuse(*before, why)
		}
	}
	if next != nil && next.Fact != nil {
		if why := p.verdict(h, next.Fact, split, true); why != "" {
			*next = refuse(*next, why)
		}
	}
	p.ready = len(p.queue)
}

// release lets a held group go at the end of the input: nothing follows.
func (p *pass) release() {
	if p.held != nil {
		p.resolve(nil)
	}
	p.ready = len(p.queue)
}

func refuse(it mapping.Item, reason string) mapping.Item {
	it.Fact = nil
	it.Err = &mapping.RowError{Origin: it.Origin, Line: it.Line, Reason: reason}
	return it
}

func (p *pass) record(row csvio.Row) mapping.Record {
	vals := make(map[string]string, len(p.cols))
	for _, c := range p.cols {
		if row.Has(c.Name) {
			vals[c.Name] = row.Value(c.Name)
		}
	}
	return mapping.Record{Seq: p.seq, Origin: p.name, Line: row.Line, Values: vals}
}
