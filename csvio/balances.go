package csvio

import (
	"fmt"
	"io"
	"strings"
)

// balanceHeader is the header of the balance export; scripts read these
// exact names.
var balanceHeader = []string{"customer", "identifiers", "earned", "provisional", "spent", "expired", "expiring"}

// BalanceHeader returns the column names of the balance export, in order.
func BalanceHeader() []string { return append([]string(nil), balanceHeader...) }

// Expiring is a quantity of points (or cents) that expires at the end of a day.
type Expiring struct {
	Date   Date
	Points int64
}

// BalanceRow is one customer's balance in the export.
type BalanceRow struct {
	Customer    string
	Identifiers []string // written joined by a space
	Earned      int64
	Provisional int64
	Spent       int64
	Expired     int64
	Expiring    []Expiring // written as DATE=N|DATE=N
}

// BalanceWriter writes the balance export.
type BalanceWriter struct {
	w      *Writer
	dec    Decimal
	layout string
	amount bool
}

// NewBalanceWriter writes the header of a balance export. amount says the
// program counts money: figures are written as euros with the dialect's
// decimal separator, else as whole points.
func NewBalanceWriter(w io.Writer, d Dialect, amount bool) (*BalanceWriter, error) {
	wr, err := NewWriter(w, d, balanceHeader)
	if err != nil {
		return nil, err
	}
	return &BalanceWriter{w: wr, dec: d.Decimal, layout: d.dateFormat(), amount: amount}, nil
}

// Write adds one customer's balance. An error names the customer; the row
// is then not written and the caller may go on with the next one.
func (b *BalanceWriter) Write(r BalanceRow) error {
	fail := func(err error) error { return fmt.Errorf("customer %q: %w", r.Customer, err) }
	if r.Customer == "" {
		return fmt.Errorf("balance row without a customer")
	}
	for _, id := range r.Identifiers {
		// The identifiers field is split on spaces by whoever reads it.
		if id == "" || strings.ContainsFunc(id, isSpace) {
			return fail(fmt.Errorf("identifier %q is empty or holds a space", id))
		}
	}
	exp := make([]string, len(r.Expiring))
	for i, e := range r.Expiring {
		if e.Date.IsZero() {
			return fail(fmt.Errorf("expiring points without a date"))
		}
		exp[i] = e.Date.Format(b.layout) + "=" + b.figure(e.Points)
	}
	rec := []string{
		r.Customer,
		strings.Join(r.Identifiers, " "),
		b.figure(r.Earned),
		b.figure(r.Provisional),
		b.figure(r.Spent),
		b.figure(r.Expired),
		strings.Join(exp, "|"),
	}
	if err := b.w.Write(rec); err != nil {
		return fail(err)
	}
	return nil
}

// Flush writes out what is buffered; call it once at the end.
func (b *BalanceWriter) Flush() error { return b.w.Flush() }

func (b *BalanceWriter) figure(n int64) string {
	if b.amount {
		return FormatCents(n, b.dec)
	}
	return FormatInt(n)
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }
