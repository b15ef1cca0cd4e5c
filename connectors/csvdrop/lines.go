package csvdrop

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/pointsync/pointsync/mapping"
)

// The last trackLines lines read are kept, each up to trackBytes: enough
// to reach back past what csvio reads ahead of the row it reports, and to
// hold the key fields of a row, at a bounded cost (4 MB at most).
const (
	trackLines = 8192
	trackBytes = 512
)

// lineTracker passes a file's bytes through to csvio and keeps the header
// and the last lines, raw, so that a row csvio cannot read can still be
// looked at for the receipt (order, document) it names.
type lineTracker struct {
	r      io.Reader
	n      int // number of the line being read, from 1
	cur    []byte
	cut    bool
	ring   []rawLine
	next   int // slot of ring to write
	eof    bool
	header []byte // the first line that is neither blank nor Excel's "sep="
	err    error  // a read error other than the end: the disk's, not the content's
}

type rawLine struct {
	n   int
	b   []byte
	cut bool
}

func (t *lineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			t.add(b)
			break
		}
		t.add(b[:i])
		t.end()
		b = b[i+1:]
	}
	if err != nil && !errors.Is(err, io.EOF) && t.err == nil {
		t.err = err
	}
	if errors.Is(err, io.EOF) && !t.eof {
		t.eof = true
		if len(t.cur) > 0 || t.cut {
			t.end()
		}
	}
	return n, err
}

func (t *lineTracker) add(b []byte) {
	if room := trackBytes - len(t.cur); len(b) > room {
		b, t.cut = b[:room], true
	}
	t.cur = append(t.cur, b...)
}

func (t *lineTracker) end() {
	if t.header == nil {
		l := bytes.TrimSpace(bytes.TrimPrefix(t.cur, []byte("\uFEFF")))
		if len(l) > 0 && !(len(l) == 5 && bytes.EqualFold(l[:4], []byte("sep="))) {
			t.header = slices.Clone(t.cur)
		}
	}
	if t.ring == nil {
		t.ring = make([]rawLine, trackLines)
	}
	l := &t.ring[t.next%len(t.ring)]
	l.n, l.b, l.cut = t.n, append(l.b[:0], t.cur...), t.cut
	t.next++
	t.n++
	t.cur, t.cut = t.cur[:0], false
}

// raw is a line kept: line n is in slot n-1, until a later line takes it.
func (t *lineTracker) raw(line int) (rawLine, bool) {
	if line < 1 || t.ring == nil {
		return rawLine{}, false
	}
	if l := t.ring[(line-1)%len(t.ring)]; l.n == line {
		return l, true
	}
	return rawLine{}, false
}

// unreadable is a row csvio could not read, split as well as it goes.
type unreadable struct {
	line   int
	fields []string // nil when its text is no longer at hand
	cut    bool     // only the start of the row was kept
}

// unreadable splits a line leniently (a bare quote is taken as text): the
// row is broken, and its leading values are what is looked for.
func (t *lineTracker) unreadable(line int, delim rune) unreadable {
	u := unreadable{line: line}
	l, ok := t.raw(line)
	if !ok {
		return u
	}
	u.fields, u.cut = splitLine(l.b, delim), l.cut
	if u.cut && len(u.fields) > 0 {
		u.fields = u.fields[:len(u.fields)-1] // the last one may be cut short
	}
	return u
}

func splitLine(b []byte, delim rune) []string {
	text := strings.TrimPrefix(string(bytes.TrimSuffix(b, []byte("\r"))), "\uFEFF")
	if !utf8.ValidString(text) {
		if d, err := charmap.Windows1252.NewDecoder().String(text); err == nil {
			text = d
		}
	}
	r := csv.NewReader(strings.NewReader(text))
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = delim, true, -1
	fields, err := r.Read()
	if err != nil {
		fields = strings.Split(text, string(delim))
	}
	for i, f := range fields {
		fields[i] = strings.TrimSpace(f)
	}
	return fields
}

// keyColumns finds where the header puts the fields that name a group,
// once: logical name -> position.
func (p *pass) keyColumns() map[string]int {
	if p.keyIdx != nil {
		return p.keyIdx
	}
	p.keyIdx = map[string]int{}
	if p.lines.header == nil || p.rd == nil {
		return p.keyIdx
	}
	for i, h := range splitLine(p.lines.header, p.rd.Delimiter()) {
		for _, c := range p.cols {
			if slices.ContainsFunc(c.Headers, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), h) }) {
				p.keyIdx[c.Name] = i
			}
		}
	}
	return p.keyIdx
}

// rowKey is the key an unreadable row names, read at the header's
// positions as the Mapper would read it; ok is false when the row does
// not show it.
func (p *pass) rowKey(u unreadable) (string, bool) {
	idx := p.keyColumns()
	get := func(name string) (string, bool) {
		i, ok := idx[name]
		if !ok || i >= len(u.fields) {
			return "", false
		}
		return u.fields[i], true
	}
	var names []string
	switch {
	case p.typ == mapping.TypeTillReceipt:
		names = []string{"store", "till", "receipt"}
	case p.typ == mapping.TypeWebOrder:
		names = []string{"order"}
	case p.typ == mapping.TypeERPDocument:
		if k, ok := get("key"); ok && k != "" {
			return k, true
		}
		names = []string{"doc_type", "year", "series", "number"}
	default:
		return "", false
	}
	parts := make([]string, len(names))
	for i, n := range names {
		v, ok := get(n)
		if !ok && !(n == "year" || n == "series") {
			return "", false
		}
		parts[i] = v
	}
	if slices.Contains(parts, "") && p.typ != mapping.TypeERPDocument {
		return "", false
	}
	return strings.Join(parts, "/"), true
}

// groupKey is the key a fact was grouped by, in rowKey's form.
func groupKey(f *mapping.Fact) string {
	switch {
	case f.Receipt != nil:
		return f.Receipt.Key()
	case f.Order != nil:
		return f.Order.ID
	case f.Document != nil:
		return f.Document.Key
	}
	return ""
}

// verdict says why a group beside unreadable rows is not applied, or ""
// when none of them can be one of its lines.
func (p *pass) verdict(h *held, f *mapping.Fact, split, after bool) string {
	subj := f.Subject()
	if split {
		if after {
			return fmt.Sprintf("%s began before the unreadable row at line %d: not applied, so that no part of it counts alone; fix that row and drop the file again", subj, h.rows[0].line)
		}
		return fmt.Sprintf("%s goes on after the unreadable row at line %d: not applied, so that no part of it counts alone; fix that row and drop the file again", subj, h.rows[0].line)
	}
	want := groupKey(f)
	for _, u := range h.rows {
		key, ok := p.rowKey(u)
		if len(u.fields) > p.headerLen() {
			// More values than columns: a delimiter inside a value has
			// shifted the row, and positions say nothing.
			ok = false
		}
		switch {
		case ok && key == want:
			return fmt.Sprintf("%s is not applied: the unreadable row at line %d names it too, so one of its lines is missing; fix that row and drop the file again", subj, u.line)
		case !ok:
			return fmt.Sprintf("%s is not applied: the unreadable row at line %d beside it does not show which %s it belongs to, and may be one of its lines; fix that row and drop the file again", subj, u.line, strings.Fields(subj)[0])
		}
	}
	return ""
}

func (p *pass) headerLen() int {
	if p.lines.header == nil || p.rd == nil {
		return 0
	}
	if p.hdrLen == 0 {
		p.hdrLen = len(splitLine(p.lines.header, p.rd.Delimiter()))
	}
	return p.hdrLen
}
