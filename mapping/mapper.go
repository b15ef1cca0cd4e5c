// Package mapping turns what sources read into canonical facts: the
// records of a CSV drop, a SQL query or a JSON webservice, each a map of
// logical fields to text in the source's notation, become web orders, ERP
// documents, till receipts, customer actions and identifier links, or
// row errors that say where and why. It owns the fact types, the logical
// fields each type reads, and the status and document-kind maps.
package mapping

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/internal/keyset"
	"github.com/pointsync/pointsync/internal/mask"
	"github.com/pointsync/pointsync/rules"
)

// Spec says how the records of one source become facts.
type Spec struct {
	Type    Type   // the fact every group makes: TypeTillReceipt, TypeWebOrder, TypeERPDocument, TypeAction, TypeLink
	Program string // program of every fact; a record's "program" field overrides it
	// Amount: the program's unit is amount, so points fields (earned,
	// spent, points_spent) are money, parsed to cents; else whole points.
	Amount bool
	// Decimal is how numbers are written (csvio.DecimalComma,
	// csvio.DecimalPoint); thousands separators are accepted as
	// csvio.ParseCents accepts them.
	Decimal csvio.Decimal
	// DateFormats are Go layouts for dates and date-times, tried in
	// order; nil means DefaultDateFormats.
	DateFormats []string
	Location    *time.Location // zone of values written without one; nil = UTC
	// Statuses maps source status text to Status, matched trimmed and
	// case-insensitively; the canonical names (placed, paid, ...) are
	// always accepted too.
	Statuses map[string]Status
	// DocKinds maps ERP document type text to DocKind, matched as
	// Statuses; the canonical names are always accepted.
	DocKinds map[string]DocKind
	// IdentKind is the identifier kind given to customer values written
	// bare ("42" -> "web:42"): "web", "erp", "card" or "email"; "" leaves
	// bare values as they are, and they are refused with the reason.
	IdentKind string
}

// DefaultDateFormats are the layouts tried when a Spec names none: ISO
// with and without a zone, and the day-first forms Italian staff write.
var DefaultDateFormats = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "02/01/2006 15:04:05", "02/01/2006 15:04", "2006-01-02", "02/01/2006"}

// maxGroupRows bounds the memory of one open group: no real receipt,
// order or document has this many lines, while a file sorted wrongly (or
// with the key column mapped to a constant) could make one group of all
// its rows.
const maxGroupRows = 100_000

// valueKind is how a group-level field's text is read.
type valueKind int

const (
	vText valueKind = iota
	vIdent
	vTime
	vMoney
	vPoints
	vStatus
	vDocKind
	vAction
	vKeys
)

// groupField is a field whose value belongs to the whole group (or to the
// one record of an action or a link).
type groupField struct {
	name      string
	kind      valueKind
	required  bool
	identKind string // for vIdent: the kind of bare values; "" takes Spec.IdentKind
	help      string
}

// groupFieldsOf lists the group-level fields of each type, in the order a
// record's fields are checked. Key fields are not here: a record's key
// decides its group.
var groupFieldsOf = map[Type][]groupField{
	TypeTillReceipt: {
		{name: fieldAt, kind: vTime, required: true},
		{name: fieldCard, kind: vText, required: true},
		{name: fieldCardType, kind: vText},
		{name: fieldPrize, kind: vText},
		{name: fieldProgram, kind: vText},
	},
	TypeWebOrder: {
		{name: fieldCustomer, kind: vIdent, required: true},
		{name: fieldPlacedAt, kind: vTime, required: true},
		{name: fieldStatus, kind: vStatus, required: true},
		{name: fieldStatusAt, kind: vTime},
		{name: fieldDocDiscount, kind: vMoney},
		{name: fieldShipping, kind: vMoney},
		{name: fieldFidelityDiscount, kind: vMoney},
		{name: fieldPointsSpent, kind: vPoints},
		{name: fieldProgram, kind: vText},
	},
	TypeERPDocument: {
		{name: fieldKind, kind: vDocKind},
		{name: fieldOrder, kind: vText, required: true},
		{name: fieldDate, kind: vTime, required: true},
		{name: fieldDocDiscount, kind: vMoney},
		{name: fieldShipping, kind: vMoney},
		{name: fieldSupersedes, kind: vKeys},
		{name: fieldProgram, kind: vText},
	},
	TypeAction: {
		{name: fieldCustomer, kind: vIdent, required: true},
		{name: fieldKind, kind: vAction, required: true},
		{name: fieldReviewID, kind: vText},
		{name: fieldAt, kind: vTime, required: true},
		{name: fieldProgram, kind: vText},
	},
	TypeLink: {
		{name: fieldKnown, kind: vIdent},
		{name: fieldOther, kind: vIdent},
		{name: fieldWeb, kind: vIdent, identKind: "web"},
		{name: fieldERP, kind: vIdent, identKind: "erp"},
		{name: fieldCard, kind: vIdent, identKind: "card"},
		{name: fieldEmail, kind: vIdent, identKind: "email"},
		{name: fieldProgram, kind: vText},
	},
}

const maxGroupFields = 10

func init() {
	// The help of a group field is the one Fields gives: one text for the
	// reference and for the messages.
	for t, gfs := range groupFieldsOf {
		fs, _ := Fields(t)
		for i := range gfs {
			for _, f := range fs {
				if f.Name == gfs[i].name {
					gfs[i].help = f.Help
				}
			}
		}
	}
}

// value is a group-level field read into canonical form, comparable
// whatever notation each record wrote it in.
type value struct {
	s string
	n int64
	t time.Time
}

func (a value) equal(b value) bool { return a.s == b.s && a.n == b.n && a.t.Equal(b.t) }

// slot holds a group-level field once a record of the group wrote it.
type slot struct {
	set  bool
	raw  string
	line int
	seq  int64
	val  value
}

// lineID is a line's id within its group and where it was read.
type lineID struct {
	id   string
	line int
	seq  int64
}

// group is the open group: the records read so far of one receipt, order
// or document (or the one record of an action or a link).
type group struct {
	key      [4]string // till: store, till, receipt; order: id; document: key, or doc_type, year, series, number
	hasKey   bool
	composed bool // a document key made of its parts

	origin              string
	firstLine, lastLine int
	firstSeq, lastSeq   int64
	rows                int
	err                 *RowError // the first error; later rows are only counted

	slots     [maxGroupFields]slot
	lines     []rules.Line
	ids       []lineID
	idIndex   map[string]int // ids by id, once a group has many lines
	earned    int64
	hasEarned bool
	spent     int64
}

// Lines above which a group's line ids are looked up in a map rather
// than scanned.
const idScanLimit = 32

// reset makes g ready for a new group, keeping the buffers of ordinary
// groups and dropping those a huge one left behind.
func (g *group) reset() {
	lines, ids := g.lines[:0], g.ids[:0]
	if cap(lines) > 1024 {
		lines, ids = nil, nil
	}
	*g = group{lines: lines, ids: ids}
}

// Mapper turns the records of one source, in the order read, into items:
// one fact per group of adjacent records with the same key (the lines of
// one receipt, order or document; each record alone for actions and
// links), or the error that stopped the group. A receipt or document
// whose rows appear again after other rows of the same input is refused,
// since its second part would otherwise replace the first: the Mapper
// remembers a hash of every receipt and document key until Flush, in
// memory unless SpillTo is called. A Mapper is not safe for concurrent
// use.
type Mapper struct {
	spec   Spec
	v      values
	fields []groupField
	g      group
	open   bool
	// seen holds a hash of every receipt and document key met in the
	// current input, to find the rows of one that are not adjacent; made
	// at the first.
	seen     *keyset.Set
	spillDir string
	memKeys  int   // keys seen holds in memory; math.MaxInt: all
	err      error // seen's, when it could not answer
}

// NewMapper checks s and returns a Mapper for it. Errors name the setting
// at fault as the configuration writes it.
func NewMapper(s Spec) (*Mapper, error) {
	fields, ok := groupFieldsOf[s.Type]
	if !ok {
		return nil, fmt.Errorf("facts: unknown fact type %q; use %s", s.Type, typeNames())
	}
	if strings.TrimSpace(s.Program) == "" {
		return nil, fmt.Errorf("program: empty; every fact needs the program it belongs to")
	}
	if s.Decimal != csvio.DecimalComma && s.Decimal != csvio.DecimalPoint {
		return nil, fmt.Errorf("decimal: unknown value %d; use comma (1.234,56) or point (1,234.56)", int(s.Decimal))
	}
	if len(s.DateFormats) == 0 {
		s.DateFormats = slices.Clone(DefaultDateFormats)
	} else {
		s.DateFormats = slices.Clone(s.DateFormats)
	}
	for i, l := range s.DateFormats {
		if err := checkLayout(l); err != nil {
			return nil, fmt.Errorf("date_formats[%d]: %w", i, err)
		}
	}
	if s.Location == nil {
		s.Location = time.UTC
	}
	if s.IdentKind != "" && !isIdentKind(s.IdentKind) {
		return nil, fmt.Errorf("ident_kind: unknown kind %q; use web, erp, card or email (or leave it empty when every value is written as web:42)", s.IdentKind)
	}
	statuses, statusNames, err := textMap("statuses", s.Statuses,
		[]Status{StatusPlaced, StatusPaymentUnconfirmed, StatusPaid, StatusCompleted, StatusCancelled})
	if err != nil {
		return nil, err
	}
	kinds, kindNames, err := textMap("document_kinds", s.DocKinds,
		[]DocKind{DocDeliveryNote, DocInvoice, DocCreditNote, DocCancellation})
	if err != nil {
		return nil, err
	}
	s.Statuses, s.DocKinds = maps.Clone(s.Statuses), maps.Clone(s.DocKinds)
	m := &Mapper{spec: s, fields: fields, memKeys: math.MaxInt}
	m.v = values{
		dec: s.Decimal, amount: s.Amount, loc: s.Location,
		statuses: statuses, docKinds: kinds, identKind: s.IdentKind,
		statusNames: statusNames, docKindNames: kindNames,
		timeExamples: timeExamples(s.DateFormats, s.Location),
		moneyExample: "1.234,56", pointExample: "1.500", qtyExample: "1 or 0,250",
	}
	for _, l := range s.DateFormats {
		m.v.layouts = append(m.v.layouts, newLayout(l))
	}
	if s.Decimal == csvio.DecimalPoint {
		m.v.moneyExample, m.v.pointExample, m.v.qtyExample = "1,234.56", "1,500", "1 or 0.250"
	}
	return m, nil
}

// SpillTo bounds the memory the Mapper uses to remember the receipts and
// documents it met, for a source that streams inputs of any size: past
// memKeys keys (0 for keyset.DefaultMemKeys, 2 MiB of them) they go to a
// temporary file in dir, and memory stays under 6 MiB however many keys
// (see package keyset). Call it
// before the first Add. The file can fail: check Err after Add and
// Flush, and Close the Mapper when done.
func (m *Mapper) SpillTo(dir string, memKeys int) {
	if memKeys <= 0 {
		memKeys = keyset.DefaultMemKeys
	}
	m.spillDir, m.memKeys = dir, memKeys
}

// Err returns the error that kept the Mapper from telling whether a
// receipt or document appeared earlier in the input (an I/O error of the
// file of SpillTo), or nil. The items returned since it happened cannot
// be trusted: drop them and map the input again with a new Mapper. A
// Mapper that failed stays failed. Without SpillTo, Err is always nil.
func (m *Mapper) Err() error { return m.err }

// Close removes the file of SpillTo and forgets the keys met, as Flush
// does: call it when done with the input. Without SpillTo there is
// nothing to close. On Unix the file has no name from its creation on,
// so nothing is left behind even without Close.
func (m *Mapper) Close() error {
	if m.seen == nil {
		return nil
	}
	err := m.seen.Close()
	m.seen = nil
	return err
}

// Spec returns the Mapper's Spec with its defaults filled in (date
// formats, location).
func (m *Mapper) Spec() Spec {
	s := m.spec
	s.DateFormats = slices.Clone(s.DateFormats)
	s.Statuses, s.DocKinds = maps.Clone(s.Statuses), maps.Clone(s.DocKinds)
	return s
}

// checkLayout catches a layout that would never read a date back, such
// as one written in the operator's notation ("dd/mm/yyyy") instead of
// Go's, or one that loses the afternoon ("03:04" without "PM").
func checkLayout(l string) error {
	ref := time.Date(2026, 12, 31, 13, 45, 56, 0, time.UTC)
	got, err := time.Parse(l, ref.Format(l))
	if err == nil {
		day := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
		for _, want := range []time.Time{ref, ref.Truncate(time.Minute), ref.Truncate(time.Hour), day} {
			if got.Equal(want) {
				return nil
			}
		}
	}
	return fmt.Errorf("layout %q does not write and read back a date; write it as Go layouts do, e.g. \"02/01/2006 15:04\" for 31/12/2026 13:45", l)
}

// textMap checks a source-text map and returns it keyed by lower-cased
// trimmed text, canonical names included, with the accepted names for
// messages.
func textMap[T ~string](key string, given map[string]T, canonical []T) (map[string]T, string, error) {
	m := make(map[string]T, len(given)+len(canonical))
	valid := make([]string, len(canonical))
	for i, c := range canonical {
		valid[i] = string(c)
	}
	texts := slices.Sorted(maps.Keys(given))
	for _, text := range texts {
		target := given[text]
		k := strings.ToLower(strings.TrimSpace(text))
		switch {
		case k == "":
			return nil, "", fmt.Errorf("%s: an empty text is mapped to %q; remove it", key, target)
		case !slices.Contains(canonical, target):
			return nil, "", fmt.Errorf("%s: %q maps to unknown %q; use %s", key, text, target, strings.Join(valid, ", "))
		}
		if prev, dup := m[k]; dup && prev != target {
			return nil, "", fmt.Errorf("%s: %q is mapped to both %q and %q (texts are matched ignoring case and spaces); keep one", key, text, prev, target)
		}
		m[k] = target
	}
	for _, c := range canonical {
		if _, mapped := m[string(c)]; !mapped {
			m[string(c)] = c
		}
	}
	names := strings.Join(valid, ", ")
	if len(texts) > 0 {
		const most = 12
		shown := texts
		if len(shown) > most {
			shown = shown[:most]
		}
		names += " or " + strings.Join(shown, ", ")
		if len(texts) > most {
			names += fmt.Sprintf(" (and %d more configured)", len(texts)-most)
		}
	}
	return m, names, nil
}

// timeExamples shows a date written in each layout, for messages.
func timeExamples(layouts []string, loc *time.Location) string {
	ex := time.Date(2026, 1, 15, 10, 30, 0, 0, loc)
	var shown []string
	for _, l := range layouts {
		s := strconv.Quote(ex.Format(l))
		if !slices.Contains(shown, s) {
			shown = append(shown, s)
		}
	}
	return strings.Join(shown, ", ")
}

// Add takes the next record and returns the items it completed: normally
// the previous group, closed because this record starts another.
// Records of one group must be adjacent.
func (m *Mapper) Add(r Record) []Item {
	if !grouped(m.spec.Type) {
		m.start(r, [4]string{}, false, false)
		m.addRecord(r)
		return m.close(nil)
	}
	key, composed, kerr := m.keyOf(r)
	if kerr == nil && m.open && m.g.hasKey && m.g.composed == composed && m.g.key == key {
		m.addRecord(r)
		return nil
	}
	out := m.close(nil)
	if kerr != nil {
		// Without a key the record belongs to no group: it is an error
		// of its own, after the group it interrupted.
		m.start(r, key, false, false)
		m.count(r)
		m.g.err = kerr
		return m.close(out)
	}
	m.start(r, key, composed, true)
	m.addRecord(r)
	return out
}

// Flush closes the open group at the end of the input and returns its
// item (nil when none). The Mapper is then ready for a new input.
func (m *Mapper) Flush() []Item {
	out := m.close(nil)
	m.g.reset()
	if m.seen != nil {
		m.seen.Reset()
	}
	return out
}

// keyOf reads the key that decides a record's group.
func (m *Mapper) keyOf(r Record) (key [4]string, composed bool, _ *RowError) {
	get := func(name string) string { return strings.TrimSpace(r.Values[name]) }
	missing := func(name, why string) *RowError {
		return m.rowErr(r, name, "", "is missing: "+why)
	}
	switch m.spec.Type {
	case TypeTillReceipt:
		key = [4]string{get(fieldStore), get(fieldTill), get(fieldReceipt)}
		for i, name := range []string{fieldStore, fieldTill, fieldReceipt} {
			if key[i] == "" {
				return key, false, missing(name, "a receipt is identified by store, till and receipt, and every row needs all three")
			}
			if i < 2 && strings.IndexByte(key[i], '/') >= 0 {
				return key, false, m.rowErr(r, name, key[i], `contains "/", which separates store, till and receipt in the receipt's key; the till must write codes without it`)
			}
		}
	case TypeWebOrder:
		key[0] = get(fieldOrder)
		if key[0] == "" {
			return key, false, missing(fieldOrder, "every row of an order needs the order id")
		}
	case TypeERPDocument:
		if key[0] = get(fieldKey); key[0] != "" {
			return key, false, nil
		}
		key = [4]string{get(fieldDocType), get(fieldYear), get(fieldSeries), get(fieldNumber)}
		for _, i := range []int{0, 3} {
			if key[i] == "" {
				name := []string{fieldDocType, fieldYear, fieldSeries, fieldNumber}[i]
				return key, true, missing(name, "a document is identified by key, or by doc_type, year, series and number (doc_type and number at least)")
			}
		}
		for i, name := range []string{fieldDocType, fieldYear, fieldSeries} {
			if strings.IndexByte(key[i], '/') >= 0 {
				return key, true, m.rowErr(r, name, key[i], `contains "/", which separates doc_type, year, series and number in the document key; map a key column instead`)
			}
		}
		composed = true
	}
	return key, composed, nil
}

// start opens a group with r as its first record.
func (m *Mapper) start(r Record, key [4]string, composed, hasKey bool) {
	m.g.reset()
	g := &m.g
	g.key, g.composed, g.hasKey = key, composed, hasKey
	g.origin, g.firstLine, g.firstSeq = r.Origin, r.Line, r.Seq
	m.open = true
	if !hasKey || m.spec.Type == TypeWebOrder {
		// An order may legitimately appear again in one input, as the
		// next snapshot of its status.
		return
	}
	if m.seen == nil {
		m.seen = keyset.NewSize(m.spillDir, m.memKeys)
	}
	noun, by := "receipt", "store, till and receipt"
	if m.spec.Type == TypeERPDocument {
		noun, by = "document", "document key"
	}
	added, err := m.seen.Add(m.keyHash())
	switch {
	case err != nil:
		// The group is mapped as a new one; Err tells the caller that
		// this is not known.
		if m.err == nil {
			m.err = fmt.Errorf("remembering the %ss met in this input: %w", noun, err)
		}
	case !added:
		g.err = m.rowErr(r, "", "", fmt.Sprintf("%s %s appeared earlier in this input, apart from these rows: the rows of one %s must be adjacent; sort them by %s",
			noun, m.keyText(), noun, by))
	}
}

// keyHash is the FNV-1a hash of the group's key as text, so that a
// document keyed "B/2026//17" and one made of those parts are the same.
// It is deterministic: the same input gives the same items on every run.
func (m *Mapper) keyHash() uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	n := 4
	if !m.g.composed {
		n = 1
		if m.spec.Type == TypeTillReceipt {
			n = 3
		}
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			h = (h ^ '/') * prime
		}
		s := m.g.key[i]
		for j := 0; j < len(s); j++ {
			h = (h ^ uint64(s[j])) * prime
		}
	}
	return h
}

// keyText is the group's key as messages and facts write it.
func (m *Mapper) keyText() string {
	k := m.g.key
	switch {
	case m.spec.Type == TypeTillReceipt:
		return k[0] + "/" + k[1] + "/" + k[2]
	case m.g.composed:
		return k[0] + "/" + k[1] + "/" + k[2] + "/" + k[3]
	}
	return k[0]
}

// count records r as a row of the open group.
func (m *Mapper) count(r Record) {
	m.g.rows++
	m.g.lastLine, m.g.lastSeq = r.Line, r.Seq
}

// addRecord reads r into the open group. After the group's first error
// its rows are only counted, so the error can say how many were dropped.
func (m *Mapper) addRecord(r Record) {
	m.count(r)
	g := &m.g
	if g.err != nil {
		return
	}
	if g.rows > maxGroupRows {
		g.err = m.rowErr(r, "", "", fmt.Sprintf("%s %s has more than %d rows: no real one is this large; check that the rows are sorted and the key columns mapped right",
			m.noun(), m.keyText(), maxGroupRows))
		return
	}
	for i := range m.fields {
		f := &m.fields[i]
		col := f.name
		s := strings.TrimSpace(r.Values[col])
		if s == "" && f.kind == vDocKind {
			// Without a kind, the ERP's own document type says it.
			col = fieldDocType
			s = strings.TrimSpace(r.Values[col])
		}
		if s == "" {
			continue
		}
		if !m.set(i, col, s, r) {
			return
		}
	}
	if grouped(m.spec.Type) {
		m.addLine(r)
	}
}

// set stores a group-level value, or checks it against the one an earlier
// row of the group wrote.
func (m *Mapper) set(i int, col, s string, r Record) bool {
	sl := &m.g.slots[i]
	if sl.set && sl.raw == s {
		return true
	}
	val, err := m.parse(&m.fields[i], s)
	if err != nil {
		m.g.err = m.rowErr(r, col, s, err.Error())
		return false
	}
	if !sl.set {
		*sl = slot{set: true, raw: s, line: r.Line, seq: r.Seq, val: val}
		return true
	}
	if val.equal(sl.val) {
		return true
	}
	noun := m.noun()
	m.g.err = m.rowErr(r, col, s, fmt.Sprintf("differs from %s of the same %s, which has %q; the rows of one %s must agree on it",
		where(sl.line, sl.seq), noun, m.mask(col, sl.raw), noun))
	return false
}

func (m *Mapper) parse(f *groupField, s string) (value, error) {
	switch f.kind {
	case vIdent:
		kind := f.identKind
		if kind == "" {
			kind = m.spec.IdentKind
		}
		id, err := ident(s, kind)
		return value{s: id}, err
	case vTime:
		t, err := m.v.time(s)
		return value{t: t}, err
	case vMoney:
		n, err := m.v.money(s)
		return value{n: n}, err
	case vPoints:
		n, err := m.v.points(s)
		return value{n: n}, err
	case vStatus:
		st, err := m.v.status(s)
		return value{s: string(st)}, err
	case vDocKind:
		k, err := m.v.docKind(s)
		return value{s: string(k)}, err
	case vAction:
		k, err := actionKind(s)
		return value{s: string(k)}, err
	case vKeys:
		return value{s: strings.Join(splitKeys(s), " ")}, nil
	}
	return value{s: s}, nil
}

// addLine reads r as one line of the open receipt, order or document.
func (m *Mapper) addLine(r Record) {
	g := &m.g
	get := func(name string) string { return strings.TrimSpace(r.Values[name]) }
	fail := func(col, s string, err error) {
		g.err = m.rowErr(r, col, s, err.Error())
	}
	id, explicit := get(fieldLine), true
	if id == "" {
		id, explicit = strconv.Itoa(g.rows), false
	}
	grossText := get(fieldGross)
	if grossText == "" {
		if m.spec.Type == TypeERPDocument && m.g.slots[m.slotOf(fieldKind)].val.s == string(DocCancellation) &&
			!explicit && get(fieldProduct) == "" && get(fieldQuantity) == "" && get(fieldDiscount) == "" {
			// A cancellation voids the order whatever its lines: the
			// ERP may send it without any.
			return
		}
		g.err = m.rowErr(r, fieldGross, "", fmt.Sprintf("is missing: every row is a line of the %s and needs its gross amount, such as %s", m.noun(), m.v.moneyExample))
		return
	}
	if prev, dup := g.lineSeen(id); dup {
		col := fieldLine
		if !explicit {
			col = ""
		}
		both := fmt.Sprintf("lines %d and %d of the file", prev.line, r.Line)
		if prev.line <= 0 || r.Line <= 0 {
			both = fmt.Sprintf("records %d and %d of the input", prev.seq, r.Seq)
		}
		g.err = m.rowErr(r, col, id, fmt.Sprintf("line %s of %s %s appears twice: %s", id, m.noun(), m.keyText(), both))
		return
	}
	line := rules.Line{Product: get(fieldProduct), Quantity: 1000}
	var err error
	if s := get(fieldQuantity); s != "" {
		if line.Quantity, err = m.v.quantity(s); err != nil {
			fail(fieldQuantity, s, err)
			return
		}
	}
	if line.Gross, err = m.v.money(grossText); err != nil {
		fail(fieldGross, grossText, err)
		return
	}
	if s := get(fieldDiscount); s != "" {
		if line.Discount, err = m.v.money(s); err != nil {
			fail(fieldDiscount, s, err)
			return
		}
	}
	if s := get(fieldDiscounted); s != "" {
		if line.Discounted, err = parseBool(s); err != nil {
			fail(fieldDiscounted, s, err)
			return
		}
	}
	if m.spec.Type == TypeTillReceipt {
		if s := get(fieldEarned); s != "" {
			n, err := m.v.points(s)
			if err == nil {
				g.earned, err = addChecked(g.earned, n)
			}
			if err != nil {
				fail(fieldEarned, s, err)
				return
			}
			g.hasEarned = true
		}
		if s := get(fieldSpent); s != "" {
			n, err := m.v.points(s)
			if err == nil {
				g.spent, err = addChecked(g.spent, n)
			}
			if err != nil {
				fail(fieldSpent, s, err)
				return
			}
		}
	}
	g.addID(lineID{id: id, line: r.Line, seq: r.Seq})
	g.lines = append(g.lines, line)
}

func addChecked(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, fmt.Errorf("the receipt's total is too large to add up")
	}
	return s, nil
}

func (g *group) lineSeen(id string) (lineID, bool) {
	if g.idIndex != nil {
		i, ok := g.idIndex[id]
		if !ok {
			return lineID{}, false
		}
		return g.ids[i], true
	}
	for _, x := range g.ids {
		if x.id == id {
			return x, true
		}
	}
	return lineID{}, false
}

func (g *group) addID(x lineID) {
	g.ids = append(g.ids, x)
	switch {
	case g.idIndex != nil:
		g.idIndex[x.id] = len(g.ids) - 1
	case len(g.ids) > idScanLimit:
		g.idIndex = make(map[string]int, 2*len(g.ids))
		for i, y := range g.ids {
			g.idIndex[y.id] = i
		}
	}
}

// close turns the open group, if any, into its items, appended to out.
func (m *Mapper) close(out []Item) []Item {
	if !m.open {
		return out
	}
	m.open = false
	g := &m.g
	if g.err == nil {
		g.err = m.missing()
	}
	var facts []Fact
	if g.err == nil {
		facts, g.err = m.build()
	}
	item := Item{Seq: g.lastSeq, Origin: g.origin, Line: g.firstLine}
	if g.err == nil {
		for _, f := range facts {
			if err := f.Validate(); err != nil {
				g.err = &RowError{Origin: g.origin, Line: g.firstLine, Reason: MaskCards(err.Error(), &f)}
				break
			}
		}
	}
	if g.err != nil {
		g.err.Reason += m.notApplied()
		item.Err = g.err
		return append(out, item)
	}
	for i := range facts {
		item.Fact = &facts[i]
		out = append(out, item)
	}
	return out
}

// MaskCards hides in msg the card numbers of f that a message may quote,
// as a validation message quotes the customer of an action or a subject
// names it: it knows which of f's strings are cards (a receipt's card is
// a bare number), and masks each with internal/mask.
func MaskCards(msg string, f *Fact) string {
	cards := []string{f.Known, f.Other}
	if f.Action != nil {
		cards = append(cards, f.Action.Customer)
	}
	if f.Receipt != nil {
		cards = append(cards, f.Receipt.Card)
	}
	for _, c := range cards {
		if c == "" {
			continue
		}
		if (f.Receipt != nil && c == f.Receipt.Card) || (len(c) > 5 && strings.EqualFold(c[:5], "card:")) {
			msg = strings.ReplaceAll(msg, c, mask.Card(c))
		}
	}
	return msg
}

// missing reports a required group-level field no row of the group gave.
func (m *Mapper) missing() *RowError {
	g := &m.g
	for i, f := range m.fields {
		if g.slots[i].set {
			continue
		}
		switch {
		case f.kind == vDocKind:
			return &RowError{Origin: g.origin, Line: g.firstLine, Column: fieldKind,
				Reason: "is missing: write the document kind, or map the ERP's doc_type to one in the connector's document_kinds"}
		case !f.required:
			continue
		case grouped(m.spec.Type):
			return &RowError{Origin: g.origin, Line: g.firstLine, Column: f.name,
				Reason: fmt.Sprintf("is missing: at least one row of the %s must give it (%s)", m.noun(), f.help)}
		default:
			return &RowError{Origin: g.origin, Line: g.firstLine, Column: f.name,
				Reason: fmt.Sprintf("is missing: the row must give it (%s)", f.help)}
		}
	}
	return nil
}

// receiptFact holds a receipt's fact and its parts.
type receiptFact struct {
	fact    [1]Fact
	receipt TillReceipt
	earned  int64
	line    [1]rules.Line
}

// build makes the group's facts; the group has no error and every
// required field.
func (m *Mapper) build() ([]Fact, *RowError) {
	g := &m.g
	val := func(name string) value { return g.slots[m.slotOf(name)].val }
	program := m.spec.Program
	if sl := g.slots[m.slotOf(fieldProgram)]; sl.set {
		program = sl.val.s
	}
	f := Fact{Type: m.spec.Type, Program: program}
	var lines []rules.Line
	if len(g.lines) > 0 && (len(g.lines) > 1 || m.spec.Type != TypeTillReceipt) {
		lines = slices.Clone(g.lines)
	}
	switch m.spec.Type {
	case TypeTillReceipt:
		// Receipts come by the million, mostly of one line: the fact and
		// its parts are one allocation.
		box := new(receiptFact)
		if len(g.lines) == 1 {
			box.line[0] = g.lines[0]
			lines = box.line[:]
		}
		box.receipt = TillReceipt{Store: g.key[0], Till: g.key[1], Receipt: g.key[2],
			At: val(fieldAt).t, Card: val(fieldCard).s, CardType: val(fieldCardType).s, Prize: val(fieldPrize).s,
			Lines: lines, Spent: g.spent}
		if g.hasEarned {
			box.earned = g.earned
			box.receipt.Earned = &box.earned
		}
		f.Receipt = &box.receipt
		box.fact[0] = f
		return box.fact[:], nil
	case TypeWebOrder:
		o := &WebOrder{ID: g.key[0], Customer: val(fieldCustomer).s, PlacedAt: val(fieldPlacedAt).t,
			Status: Status(val(fieldStatus).s), StatusAt: val(fieldStatusAt).t, Lines: lines,
			Discount: val(fieldDocDiscount).n, Shipping: val(fieldShipping).n,
			FidelityDiscount: val(fieldFidelityDiscount).n, PointsSpent: val(fieldPointsSpent).n}
		if o.StatusAt.IsZero() {
			o.StatusAt = o.PlacedAt
		}
		f.Order = o
	case TypeERPDocument:
		d := &ERPDocument{Key: m.keyText(), Kind: DocKind(val(fieldKind).s), Order: val(fieldOrder).s,
			Date: val(fieldDate).t, Lines: lines, Discount: val(fieldDocDiscount).n, Shipping: val(fieldShipping).n}
		if s := val(fieldSupersedes).s; s != "" {
			d.Supersedes = strings.Split(s, " ")
		}
		f.Document = d
	case TypeAction:
		f.Action = &Action{Customer: val(fieldCustomer).s, Kind: rules.ActionKind(val(fieldKind).s),
			ReviewID: val(fieldReviewID).s, At: val(fieldAt).t}
	case TypeLink:
		return m.links(f)
	}
	return []Fact{f}, nil
}

// links makes a link from the record's first identifier to each other
// one.
func (m *Mapper) links(f Fact) ([]Fact, *RowError) {
	g := &m.g
	var ids []string
	for _, name := range []string{fieldKnown, fieldOther, fieldWeb, fieldERP, fieldCard, fieldEmail} {
		if sl := g.slots[m.slotOf(name)]; sl.set && !slices.Contains(ids, sl.val.s) {
			ids = append(ids, sl.val.s)
		}
	}
	if len(ids) < 2 {
		return nil, &RowError{Origin: g.origin, Line: g.firstLine,
			Reason: fmt.Sprintf("a link needs two different identifiers of the same customer (known and other, or two of web, erp, card and email); the row has %d", len(ids))}
	}
	facts := make([]Fact, 0, len(ids)-1)
	for _, other := range ids[1:] {
		l := f
		l.Known, l.Other = ids[0], other
		facts = append(facts, l)
	}
	return facts, nil
}

// slotOf is the slot of a group-level field of the Mapper's type; every
// name build asks for is in groupFieldsOf.
func (m *Mapper) slotOf(name string) int {
	for i := range m.fields {
		if m.fields[i].name == name {
			return i
		}
	}
	panic("mapping: no group field " + name + " for " + string(m.spec.Type))
}

// noun names what a group of the Mapper's type is, for messages.
func (m *Mapper) noun() string {
	switch m.spec.Type {
	case TypeTillReceipt:
		return "receipt"
	case TypeWebOrder:
		return "order"
	case TypeERPDocument:
		return "document"
	}
	return "row"
}

// notApplied tells, at the end of an error's reason, what was dropped
// with it.
func (m *Mapper) notApplied() string {
	g := &m.g
	if !g.hasKey {
		return "; the " + inputRow(g.firstLine) + " is not applied"
	}
	var rows string
	switch {
	case g.firstLine <= 0 && g.rows == 1:
		rows = "1 record"
	case g.firstLine <= 0:
		rows = fmt.Sprintf("%d records", g.rows)
	case g.rows == 1:
		rows = fmt.Sprintf("1 row, line %d", g.firstLine)
	default:
		rows = fmt.Sprintf("%d rows, lines %d-%d", g.rows, g.firstLine, g.lastLine)
	}
	return fmt.Sprintf("; %s %s (%s) not applied", m.noun(), m.keyText(), rows)
}

// where names a record for messages: its line in a file, else its
// position in the input.
func where(line int, seq int64) string {
	if line > 0 {
		return "line " + strconv.Itoa(line)
	}
	return "record " + strconv.FormatInt(seq, 10)
}

func inputRow(line int) string {
	if line > 0 {
		return "row"
	}
	return "record"
}

// rowErr is an error about r's value in col, with a card number masked.
func (m *Mapper) rowErr(r Record, col, s, why string) *RowError {
	return &RowError{Origin: r.Origin, Line: r.Line, Column: col, Value: m.mask(col, s), Reason: why}
}

// mask hides a card number in what a message shows of col's value: the
// column, or the identifier's kind, tells that it is one.
func (m *Mapper) mask(col, s string) string {
	switch {
	case col == fieldCard,
		(col == fieldCustomer || col == fieldKnown || col == fieldOther) && m.spec.IdentKind == "card",
		len(s) > 5 && strings.EqualFold(s[:5], "card:"):
		return mask.Card(s)
	}
	return s
}
