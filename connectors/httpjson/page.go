package httpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pointsync/pointsync/mapping"
)

// ErrBadPage marks a response that is not a page: not JSON, not an
// object, items not an array. Nothing of it is applied; the daemon asks
// again, and skipping it would lose its items.
var ErrBadPage = errors.New("malformed page")

// maxItemInMessage keeps a rejected item readable in the report.
const maxItemInMessage = 200

// decoder turns one response body into items.
type decoder struct {
	itemsField string
	nextField  string
	records    bool
	program    string // facts without one get it
	spec       mapping.Spec
	byKey      map[string][]string // records: JSON key -> logical fields read from it
}

// page is a decoded response.
type page struct {
	items []mapping.Item
	next  string
}

// decode reads body, the page at origin. A body that is not a page is an
// error; an item that is not a fact is an Err item and the others stand.
func (d *decoder) decode(body []byte, origin string) (page, error) {
	bad := func(format string, args ...any) (page, error) {
		return page{}, fmt.Errorf("%s: %w: %s", origin, ErrBadPage, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return bad("the response is empty; a JSON object with %q is expected", d.itemsField)
		case errors.As(err, &te):
			return bad("the response is %s, not a JSON object with %q", article(te.Value), d.itemsField)
		}
		return bad("the response is not JSON (%v): check that the url is the webservice's JSON endpoint", err)
	}
	if top == nil {
		return bad("the response is null, not a JSON object with %q", d.itemsField)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("more data after the JSON object")
	}
	if k, dup := duplicateKeyAt(body, false, 1); dup {
		return bad("%q appears twice in the response: which one holds the page cannot be told", k)
	}
	raw, ok := top[d.itemsField]
	if !ok {
		return bad("the response has no %q field: check the url and items field (keys: %s)", d.itemsField, keys(top))
	}
	var raws []json.RawMessage
	switch k := kind(raw); k {
	case "null":
		// A server written in Go sends an empty list as null.
	case "an array":
		if err := json.Unmarshal(raw, &raws); err != nil {
			return bad("%q: %v", d.itemsField, err)
		}
	default:
		return bad("%q is %s, not an array", d.itemsField, k)
	}
	var p page
	if raw, ok := top[d.nextField]; ok {
		switch k := kind(raw); k {
		case "null":
		case "a string":
			if err := json.Unmarshal(raw, &p.next); err != nil {
				return bad("%q: %v", d.nextField, err)
			}
		case "a number":
			// An id used as the cursor: its literal text.
			p.next = string(bytes.TrimSpace(raw))
		default:
			return bad("%q is %s, not a cursor (a string or a number)", d.nextField, k)
		}
	}
	if d.records {
		p.items = d.recordItems(raws, origin)
	} else {
		p.items = make([]mapping.Item, len(raws))
		for i, r := range raws {
			p.items[i] = d.factItem(r, i+1, origin)
		}
	}
	return p, nil
}

// factItem decodes item n, a fact in its JSON form. Unknown keys are
// refused: a misspelt "points_spent" must not read as 0.
func (d *decoder) factItem(raw json.RawMessage, n int, origin string) mapping.Item {
	it := mapping.Item{Seq: int64(n), Origin: origin}
	reject := func(column, value, reason string) mapping.Item {
		it.Err = &mapping.RowError{Origin: origin, Column: column, Value: value, Reason: fmt.Sprintf("item %d: %s", n, reason)}
		return it
	}
	if k := kind(raw); k != "an object" {
		return reject("", shortJSON(raw), fmt.Sprintf("%s, not a fact (a JSON object)", k))
	}
	if k, dup := duplicateKey(raw, true); dup {
		return reject(k, "", fmt.Sprintf("key %q appears twice in the item (keys are matched ignoring case): keep one", k))
	}
	var f mapping.Fact
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return reject(describe(err))
	}
	if f.Program == "" && f.Type != mapping.TypeLink {
		f.Program = d.program
	}
	if err := f.Validate(); err != nil {
		return reject("", "", err.Error())
	}
	it.Fact = &f
	return it
}

// describe turns a decoding error into the JSON key at fault, when known,
// and a reason.
func describe(err error) (column, value, reason string) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		what := te.Field
		if what == "" {
			what = "value"
		}
		value := ""
		if n, ok := strings.CutPrefix(te.Value, "number "); ok {
			value, te.Value = n, "number"
		}
		return te.Field, value, fmt.Sprintf("%s: %s where %s is expected", what, article(te.Value), expected(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "", "", fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, err)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return "", strings.Trim(pe.Value, `"`), "a time is not RFC 3339 text such as 2026-03-02T09:00:00+01:00"
	}
	if strings.HasPrefix(err.Error(), "Time.UnmarshalJSON") {
		return "", "", "a time is not a JSON string: write it as RFC 3339 text such as \"2026-03-02T09:00:00+01:00\""
	}
	// encoding/json names an unknown key only in its message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if k, err := strconv.Unquote(name); err == nil {
			return k, "", fmt.Sprintf("unknown key %q: check its spelling against the facts format (README \"Facts files\")", k)
		}
	}
	return "", "", strings.TrimPrefix(err.Error(), "json: ")
}

func expected(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	if t == reflect.TypeFor[time.Time]() {
		return "a time (RFC 3339 text)"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number (cents, points or thousandths)"
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return expected(t.Elem())
	}
	return t.String()
}

// kind names the JSON type of raw for messages: "an object", "a string",
// "a number", "an array", "true", "false", "null".
func kind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't':
		return "true"
	case 'f':
		return "false"
	case 'n':
		return "null"
	}
	return "a number"
}

// article puts an article before encoding/json's description of a
// value ("number 1.5" -> "a number 1.5", "array" -> "an array").
func article(v string) string {
	if v == "" {
		return "a value"
	}
	if strings.ContainsRune("aeiou", rune(v[0])) {
		return "an " + v
	}
	return "a " + v
}

func shortJSON(raw json.RawMessage) string {
	s := strings.ToValidUTF8(string(bytes.TrimSpace(raw)), "\uFFFD")
	if len(s) <= maxItemInMessage {
		return s
	}
	cut := maxItemInMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func keys(m map[string]json.RawMessage) string {
	if len(m) == 0 {
		return "none"
	}
	ks := slices.Sorted(maps.Keys(m))
	for i, k := range ks {
		ks[i] = strconv.Quote(k)
	}
	if len(ks) > 10 {
		ks = append(ks[:10], "...")
	}
	return strings.Join(ks, ", ")
}

// duplicateKey finds a key written twice in one object of raw, which
// encoding/json would settle silently by keeping the last: with
// "points_spent" twice, which one the shop meant is not for pointsync
// to guess. With fold, keys differing only in case are the same, as
// they are when decoded into a struct. It returns the key's dotted path.
// Syntax errors are left to the decoder.
func duplicateKey(raw []byte, fold bool) (string, bool) {
	return duplicateKeyAt(raw, fold, 0)
}

// duplicateKeyAt is duplicateKey looking only at objects nested at most
// depth deep (the outermost is 1), or at every one when depth is 0.
func duplicateKeyAt(raw []byte, fold bool, depth int) (string, bool) {
	type frame struct {
		obj       bool
		expectKey bool
		key       string
		seen      map[string]bool
	}
	var stack []*frame
	path := func(k string) string {
		var parts []string
		for _, f := range stack[:len(stack)-1] {
			if f.obj {
				parts = append(parts, f.key)
			}
		}
		return strings.Join(append(parts, k), ".")
	}
	afterValue := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
			top := stack[n-1]
			k, ok := tok.(string)
			if !ok { // the closing brace
				stack = stack[:n-1]
				afterValue()
				continue
			}
			top.key, top.expectKey = k, false
			norm := k
			if fold {
				norm = strings.ToLower(k)
			}
			if top.seen[norm] {
				return path(k), true
			}
			top.seen[norm] = true
			if depth > 0 && n >= depth {
				// Deeper objects are not looked at: skip the value whole.
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return "", false
				}
				top.expectKey = true
			}
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, expectKey: true, seen: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			afterValue()
		default:
			afterValue()
		}
	}
}
