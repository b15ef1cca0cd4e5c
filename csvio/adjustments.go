package csvio

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Logical columns of the bulk adjustment file.
const (
	ColCustomer = "customer"
	ColPoints   = "points"
	ColExpiry   = "expiry"
	ColNote     = "note"
)

// MaxNoteRunes bounds an adjustment note; longer text is a pasted document,
// not a note an admin will read in the history.
const MaxNoteRunes = 500

// AdjustmentColumns returns the columns of the bulk adjustment file with
// their Italian and English header names. overrides maps a logical column
// (customer, points, expiry, note) to the one header name that replaces its
// defaults, as set in configuration.
func AdjustmentColumns(overrides map[string]string) (Columns, error) {
	cols := Columns{
		{Name: ColCustomer, Required: true, Headers: []string{"customer", "cliente", "codice", "card", "tessera"}},
		{Name: ColPoints, Required: true, Headers: []string{"points", "punti", "amount", "importo"}},
		{Name: ColExpiry, Headers: []string{"expiry", "scadenza", "expires"}},
		{Name: ColNote, Headers: []string{"note", "nota", "notes", "descrizione"}},
	}
	return withOverrides(cols, overrides)
}

func withOverrides(cols Columns, overrides map[string]string) (Columns, error) {
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first unknown key reported is the same every run
	for _, k := range keys {
		h := strings.TrimSpace(overrides[k])
		found := false
		for i := range cols {
			if cols[i].Name == k {
				found = true
				if h == "" {
					return nil, fmt.Errorf("columns: %s: empty header name", k)
				}
				cols[i].Headers = []string{h}
			}
		}
		if !found {
			names := make([]string, len(cols))
			for i, c := range cols {
				names[i] = c.Name
			}
			return nil, fmt.Errorf("columns: unknown column %q; the columns are %s", k, strings.Join(names, ", "))
		}
	}
	if err := cols.validate(); err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	return cols, nil
}

// Adjustment is one row of a bulk adjustment file.
type Adjustment struct {
	Line      int
	Customer  string // as written; the caller resolves it to a customer
	Points    int64  // cents for amount programs, else whole points
	Expiry    Date
	HasExpiry bool
	Note      string
}

// AdjustmentReader reads a bulk adjustment file one row at a time.
type AdjustmentReader struct {
	r      *Reader
	dec    Decimal
	dates  []string
	amount bool
	name   string
}

// NewAdjustmentReader reads the header of a bulk adjustment file. cols comes
// from AdjustmentColumns (nil means its defaults); amount says the program
// counts money, so points are read as cents.
func NewAdjustmentReader(r io.Reader, name string, d Dialect, cols Columns, amount bool) (*AdjustmentReader, error) {
	if cols == nil {
		var err error
		if cols, err = AdjustmentColumns(nil); err != nil {
			return nil, err
		}
	}
	for _, need := range []string{ColCustomer, ColPoints} {
		found := false
		for _, c := range cols {
			found = found || (c.Name == need && c.Required)
		}
		if !found {
			return nil, fmt.Errorf("columns: the adjustment file needs a required %s column", need)
		}
	}
	rd, err := NewReader(r, name, d, cols)
	if err != nil {
		return nil, err
	}
	return &AdjustmentReader{r: rd, dec: d.Decimal, dates: d.dateFormats(), amount: amount, name: name}, nil
}

// Reader gives the underlying reader, for its detected delimiter and
// encoding.
func (a *AdjustmentReader) Reader() *Reader { return a.r }

// Next returns the next adjustment. A *RowError concerns that row only;
// io.EOF ends the file; any other error is fatal.
func (a *AdjustmentReader) Next() (Adjustment, error) {
	row, err := a.r.Next()
	if err != nil {
		return Adjustment{}, err
	}
	bad := func(col, value, why string) (Adjustment, error) {
		return Adjustment{}, &RowError{File: a.name, Line: row.LineOf(col), Column: col, Value: value, Reason: why}
	}
	adj := Adjustment{Line: row.Line, Customer: row.Value(ColCustomer), Note: row.Value(ColNote)}
	if adj.Customer == "" {
		return bad(ColCustomer, "", "empty: every row needs the customer")
	}
	p := row.Value(ColPoints)
	if a.amount {
		adj.Points, err = ParseCents(p, a.dec)
	} else {
		adj.Points, err = ParseInt(p, a.dec)
	}
	if err != nil {
		return bad(ColPoints, p, reason(err))
	}
	if adj.Points == 0 {
		return bad(ColPoints, p, "0 changes nothing; remove the row")
	}
	if e := row.Value(ColExpiry); e != "" {
		adj.Expiry, err = ParseDate(e, a.dates)
		if err != nil {
			return bad(ColExpiry, e, reason(err))
		}
		adj.HasExpiry = true
	}
	if n := utf8.RuneCountInString(adj.Note); n > MaxNoteRunes {
		return bad(ColNote, adj.Note, fmt.Sprintf("the note has %d characters, at most %d are allowed; shorten it", n, MaxNoteRunes))
	}
	return adj, nil
}
