package mapping

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/rules"
)

// Dates outside this range are typing mistakes or empty cells read as a
// date ("01/01/1900", "0001-01-01"), not anything a till or a shop meant.
const (
	minYear = 2000
	maxYear = 2200
)

// values reads the text of a source into canonical values, in the
// source's notation. Every method returns an error whose text is the
// reason an operator reads next to the column and the value: what was
// expected, with an example.
type values struct {
	dec       csvio.Decimal
	amount    bool
	layouts   []layout
	loc       *time.Location
	statuses  map[string]Status  // lower-cased trimmed text -> status
	docKinds  map[string]DocKind // lower-cased trimmed text -> kind
	identKind string

	statusNames  string // for messages: what the status may be
	docKindNames string
	timeExamples string
	moneyExample string
	pointExample string
	qtyExample   string
}

// reason is the part of a csvio error worth showing next to the value.
func reason(err error) string {
	var ve *csvio.ValueError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return err.Error()
}

func (v *values) money(s string) (int64, error) {
	c, err := csvio.ParseCents(s, v.dec)
	if err != nil {
		return 0, fmt.Errorf("%s; expected an amount such as %s", reason(err), v.moneyExample)
	}
	return c, nil
}

// points reads points, or cents for a program whose unit is amount.
func (v *values) points(s string) (int64, error) {
	if v.amount {
		c, err := csvio.ParseCents(s, v.dec)
		if err != nil {
			return 0, fmt.Errorf("%s; expected an amount such as %s (the program's unit is amount)", reason(err), v.moneyExample)
		}
		return c, nil
	}
	n, err := csvio.ParseInt(s, v.dec)
	if err != nil {
		return 0, fmt.Errorf("%s; expected whole points such as %s", reason(err), v.pointExample)
	}
	return n, nil
}

func (v *values) quantity(s string) (int64, error) {
	q, err := csvio.ParseThousandths(s, v.dec)
	if err != nil {
		return 0, fmt.Errorf("%s; expected a quantity such as %s", reason(err), v.qtyExample)
	}
	return q, nil
}

// parseBool reads the ways spreadsheets, ERPs and shops write a flag,
// Italian ones included (sì/no, S/N, VERO/FALSO).
func parseBool(s string) (bool, error) {
	for _, t := range []string{"1", "true", "yes", "y", "si", "sì", "s", "x", "vero"} {
		if strings.EqualFold(s, t) {
			return true, nil
		}
	}
	for _, f := range []string{"", "0", "false", "no", "n", "falso"} {
		if strings.EqualFold(s, f) {
			return false, nil
		}
	}
	return false, errors.New("expected yes or no: 1/0, true/false, yes/no, si/no, x or empty")
}

// layout is a Go layout and the fixed start every value it parses
// shares, so that a value can skip the layouts it cannot fit without the
// cost of a failed time.Parse (a 1,000,000-row file in the fifth of the
// default layouts would pay four of them per row).
type layout struct {
	text   string
	prefix string // a NUL stands for a digit, any other byte for itself
}

func newLayout(l string) layout { return layout{text: l, prefix: layoutPrefix(l)} }

// layoutPrefix reads the start of l up to its first element of variable
// width, following time.Parse: "2006", "01", "02" and "04" take exactly
// that many digits and other text (but a space, which matches any run of
// spaces) must be there as written. Anything that might start another
// element ends the prefix, so the prefix never refuses a value
// time.Parse would read.
func layoutPrefix(l string) string {
	var b []byte
	for i := 0; i < len(l); {
		rest := l[i:]
		switch {
		case strings.HasPrefix(rest, "2006"):
			b = append(b, 0, 0, 0, 0)
			i += 4
		case strings.HasPrefix(rest, "01"), strings.HasPrefix(rest, "02"), strings.HasPrefix(rest, "04"):
			b = append(b, 0, 0)
			i += 2
		case rest[0] == '-' && !strings.HasPrefix(rest, "-07"),
			(rest[0] == '.' || rest[0] == ',') && !fraction(rest):
			b = append(b, rest[0])
			i++
		case strings.IndexByte("JMPpZ_-.,0123456789 \x00", rest[0]) >= 0:
			return string(b)
		default:
			b = append(b, rest[0])
			i++
		}
	}
	return string(b)
}

// fraction tells whether rest, starting with '.' or ',', is fractional
// seconds to time.Parse: a run of '0' or '9' that ends the digits
// (".000", but not the ".01" of "02.01.2006").
func fraction(rest string) bool {
	if len(rest) < 2 || (rest[1] != '0' && rest[1] != '9') {
		return false
	}
	j := 1
	for j < len(rest) && rest[j] == rest[1] {
		j++
	}
	return j == len(rest) || rest[j] < '0' || rest[j] > '9'
}

// fits tells whether s can be read with l at all.
func (l *layout) fits(s string) bool {
	if len(s) < len(l.prefix) {
		return false
	}
	for i := 0; i < len(l.prefix); i++ {
		c := l.prefix[i]
		if c == 0 {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != c {
			return false
		}
	}
	return true
}

// time reads a date and time with the first layout that fits; a value
// without a zone is in the source's zone. The result is UTC, as facts are
// stored.
func (v *values) time(s string) (time.Time, error) {
	badDay := false
	for i := range v.layouts {
		l := &v.layouts[i]
		if !l.fits(s) {
			continue
		}
		t, err := time.ParseInLocation(l.text, s, v.loc)
		if err != nil {
			if pe, ok := err.(*time.ParseError); ok && strings.Contains(pe.Message, "out of range") {
				badDay = true
			}
			continue
		}
		if y := t.Year(); y < minYear || y > maxYear {
			return time.Time{}, fmt.Errorf("year %d is out of range (%d to %d); check the date", y, minYear, maxYear)
		}
		return t.UTC(), nil
	}
	if badDay {
		return time.Time{}, fmt.Errorf("no such day or time: a part is out of range; expected a date such as %s", v.timeExamples)
	}
	return time.Time{}, fmt.Errorf("not a date in the formats configured; expected a date such as %s", v.timeExamples)
}

// lookup finds s in a map of lower-cased keys without lower-casing the
// common case, text already written in lower case.
func lookup[T any](m map[string]T, s string) (T, bool) {
	if x, ok := m[s]; ok {
		return x, true
	}
	x, ok := m[strings.ToLower(s)]
	return x, ok
}

func (v *values) status(s string) (Status, error) {
	if st, ok := lookup(v.statuses, s); ok {
		return st, nil
	}
	return "", fmt.Errorf("unknown status: expected %s; map the shop's status in the connector's statuses", v.statusNames)
}

func (v *values) docKind(s string) (DocKind, error) {
	if k, ok := lookup(v.docKinds, s); ok {
		return k, nil
	}
	return "", fmt.Errorf("unknown document kind: expected %s; map the ERP's document type in the connector's document_kinds", v.docKindNames)
}

var actionKinds = map[string]rules.ActionKind{
	"registration": rules.ActionRegistration, "registrazione": rules.ActionRegistration,
	"newsletter": rules.ActionNewsletter,
	"review":     rules.ActionReview, "recensione": rules.ActionReview,
}

func actionKind(s string) (rules.ActionKind, error) {
	if k, ok := lookup(actionKinds, s); ok {
		return k, nil
	}
	return "", errors.New("unknown action: expected registration, newsletter or review (registrazione, newsletter, recensione)")
}

// identKinds are the kinds of customer identifiers (SPEC 2).
var identKinds = []string{"web", "erp", "card", "email"}

func isIdentKind(k string) bool {
	for _, x := range identKinds {
		if k == x {
			return true
		}
	}
	return false
}

// ident gives a customer identifier its kind: a value already written
// "kind:value" keeps its own, a bare one takes kind. With no kind a bare
// value is refused here, where the row is known, rather than parked as an
// unknown customer later.
func ident(s, kind string) (string, error) {
	if k, rest, ok := strings.Cut(s, ":"); ok {
		lk := strings.ToLower(strings.TrimSpace(k))
		if isIdentKind(lk) {
			rest = strings.TrimSpace(rest)
			if rest == "" {
				return "", fmt.Errorf("the %s identifier is empty after %q", lk, k+":")
			}
			if lk == k && len(rest) == len(s)-len(k)-1 {
				return s, nil
			}
			return lk + ":" + rest, nil
		}
	}
	if kind == "" {
		return "", errors.New("has no identifier kind: write it as web:42, erp:C0017, card:0420001234 or email:anna@example.com, or set the connector's ident_kind")
	}
	return kind + ":" + s, nil
}

// splitKeys reads a list of document keys separated by spaces, commas or
// semicolons.
func splitKeys(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
}
