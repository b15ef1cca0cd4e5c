package csvdrop

import (
	"context"
	"fmt"
	"sort"

	"go.uber.org/zap"

	"github.com/pointsync/pointsync/connectors"
	"github.com/pointsync/pointsync/mapping"
)

// Fetch returns up to limit items of the file being read, whole groups
// only, with the cursor after the last of them; the batch that finishes
// the file carries Done. The file is the one in processing/, else the
// next complete one of the inbox. A cursor that names the file's content
// resumes after its rows already applied; any other starts it from the
// top.
func (s *Source) Fetch(ctx context.Context, after connectors.Cursor, limit int) (connectors.Batch, error) {
	if limit < 1 {
		return connectors.Batch{}, fmt.Errorf("csv drop %s: limit %d: a batch holds at least one item", s.o.Name, limit)
	}
	hexAfter, seqAfter, err := parseCursor(after)
	if err != nil {
		return connectors.Batch{}, fmt.Errorf("csv drop %s: %w", s.o.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		c, err := s.take(ctx, hexAfter)
		if err != nil || c == nil {
			return connectors.Batch{Next: after}, err
		}
		s.cur = c
	}
	c := s.cur
	if c.mode == modeUndecided {
		if err := s.decide(ctx, c, hexAfter); err != nil {
			return connectors.Batch{}, err
		}
	}
	if c.mode == modeDuplicate {
		// Nothing of it is read: the cursor stays where it was, so a
		// refetch finds it a duplicate again.
		c.finished = true
		more, err := s.more()
		return connectors.Batch{Next: after, Unit: c.key(), Done: &connectors.Unit{Key: c.key(), Name: c.name}, More: more}, err
	}
	skip := int64(-1)
	if hexAfter == c.hex {
		skip = seqAfter
	}
	b, err := s.read(ctx, c, skip, limit)
	if err != nil {
		// The position is unknown now: the next Fetch starts again from
		// its cursor.
		c.dropPass()
		return connectors.Batch{}, err
	}
	return b, nil
}

// decide tells a duplicate from a file to read, once per file. A file
// just moved from the inbox whose content is known is a duplicate even
// when the cursor names that content: the earlier file was finished, or
// it would still be in processing/. A file found in processing/ whose
// content the cursor names is this stream's own, applied up to the
// cursor (a crash, maybe after its last batch was committed).
func (s *Source) decide(ctx context.Context, c *file, hexAfter string) error {
	if !c.fresh && hexAfter == c.hex {
		c.mode = modeRead
		return nil
	}
	seen, err := s.o.Seen(ctx, c.key())
	if err != nil {
		return fmt.Errorf("csv drop %s: checking whether %s (%s) was applied before: %w", s.o.Name, c.name, c.key(), err)
	}
	c.mode = modeRead
	if seen {
		c.mode = modeDuplicate
	}
	return nil
}

// read returns the next batch of a file to read.
func (s *Source) read(ctx context.Context, c *file, skip int64, limit int) (connectors.Batch, error) {
	if s.o.RejectFile && !c.checked {
		if err := s.check(ctx, c); err != nil {
			return connectors.Batch{}, err
		}
	}
	var items []mapping.Item
	var end bool
	var rows int64
	if c.checked && len(c.bad) > 0 {
		i := sort.Search(len(c.bad), func(i int) bool { return c.bad[i].Seq > skip })
		j := min(i+limit, len(c.bad))
		items = append(items, c.bad[i:j]...)
		end = j == len(c.bad)
		rows = c.rows
	} else {
		if c.p == nil || c.pos != skip {
			c.dropPass()
			p, err := s.newPass(c, skip)
			if err != nil {
				return connectors.Batch{}, err
			}
			c.p, c.pos = p, skip
		}
		p := c.p
		for len(items) < limit {
			n, err := p.head(ctx)
			if err != nil {
				return connectors.Batch{}, fmt.Errorf("csv drop %s: %w", s.o.Name, err)
			}
			// A group alone may pass the limit: it is never split.
			if n == 0 || (len(items) > 0 && len(items)+n > limit) {
				break
			}
			items = append(items, p.take(n)...)
		}
		// Read on to the next item, so that the last batch of a file
		// says Done instead of leaving an empty batch to say it.
		if err := p.fill(ctx); err != nil {
			return connectors.Batch{}, fmt.Errorf("csv drop %s: %w", s.o.Name, err)
		}
		if len(items) > 0 {
			c.pos = items[len(items)-1].Seq
		}
		end, rows = p.done(), p.seq
		if end && p.fatal != nil {
			c.whole, c.line = p.whole, p.fatal.Line
		}
	}
	next := max(skip, 0)
	if len(items) > 0 {
		next = items[len(items)-1].Seq
	}
	b := connectors.Batch{Items: items, Next: cursorOf(c.hex, next), Unit: c.key(), More: true}
	if !end {
		return b, nil
	}
	if changed, err := c.changed(); err != nil || changed {
		s.drop()
		if err == nil {
			err = fmt.Errorf("%s changed while it was read: a till is still writing it; it is read again from the top at the next run", c.name)
		}
		return connectors.Batch{}, fmt.Errorf("csv drop %s: %w", s.o.Name, err)
	}
	c.finished, c.rows = true, rows
	b.Done = &connectors.Unit{Key: c.key(), Name: c.name, Rows: int(rows)}
	more, err := s.more()
	if err != nil {
		return connectors.Batch{}, err
	}
	b.More = more
	return b, nil
}

// check reads the whole file before anything of it is applied
// (RejectFile): a file with a bad row is refused whole, its rejects
// listed up to maxListed.
func (s *Source) check(ctx context.Context, c *file) error {
	p, err := s.newPass(c, -1)
	if err != nil {
		return err
	}
	defer p.close()
	var listed []mapping.Item
	var more, first mapping.Item
	bad := 0
	for {
		n, err := p.head(ctx)
		if err != nil {
			return fmt.Errorf("csv drop %s: %w", s.o.Name, err)
		}
		if n == 0 {
			break
		}
		for _, it := range p.take(n) {
			if it.Err == nil {
				continue
			}
			bad++
			switch {
			case len(listed) < maxListed:
				listed = append(listed, it)
			case bad == maxListed+1:
				first, more = it, it
			default:
				more = it
			}
		}
	}
	c.checked, c.rows = true, p.seq
	if bad == 0 {
		return nil
	}
	if bad > len(listed) {
		listed = append(listed, mapping.Item{Seq: more.Seq, Origin: c.name, Line: first.Line,
			Err: &mapping.RowError{Origin: c.name, Line: first.Line,
				Reason: fmt.Sprintf("%d more bad rows from this line on are not listed: fix the %d above and check the file again", bad-len(listed), len(listed))}})
	}
	c.bad = listed
	c.whole = fmt.Sprintf("the whole file is rejected: it has %d bad row(s), and on_bad_row is reject_file; nothing of it was applied: fix the rows listed and drop it again", bad)
	c.line = 0
	s.log.Info("drop file has bad rows: nothing of it is applied", zap.String("file", c.name), zap.Int("bad_rows", bad), zap.Int("first_line", listed[0].Line))
	return nil
}
