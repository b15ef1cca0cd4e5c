package httpjson

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

// setRecords checks the mapping of records and indexes Fields by JSON key.
func (d *decoder) setRecords(o PullOptions) error {
	d.records = true
	d.spec = o.Mapping
	if d.spec.Program == "" {
		d.spec.Program = o.Program
	}
	if _, err := mapping.NewMapper(d.spec); err != nil {
		return fmt.Errorf("mapping: %w", err)
	}
	fields, err := mapping.Fields(d.spec.Type)
	if err != nil {
		return fmt.Errorf("mapping: %w", err)
	}
	known := map[string]bool{}
	names := make([]string, len(fields))
	for i, f := range fields {
		known[f.Name] = true
		names[i] = f.Name
	}
	for _, logical := range slices.Sorted(maps.Keys(o.Fields)) {
		if !known[logical] {
			return fmt.Errorf("fields: %q is not a field of %s (%s)", logical, d.spec.Type, strings.Join(names, ", "))
		}
		if o.Fields[logical] == "" {
			return fmt.Errorf("fields: %q: the JSON key is empty", logical)
		}
	}
	d.byKey = map[string][]string{}
	for _, f := range fields {
		key := f.Name
		if k, ok := o.Fields[f.Name]; ok {
			key = k
		}
		d.byKey[key] = append(d.byKey[key], f.Name)
	}
	return nil
}

// unread is an item that could not be made into a record, with the
// group key its plain values give, if any.
type unread struct {
	pos int
	key string
}

// recordItems maps the page's flat objects to facts with a Mapper of its
// own: a group (the lines of one order) must lie within one page.
func (d *decoder) recordItems(raws []json.RawMessage, origin string) []mapping.Item {
	m, err := mapping.NewMapper(d.spec)
	if err != nil {
		// NewSource built one from the same spec: this cannot fail.
		panic(fmt.Sprintf("httpjson: the mapping checked at start is refused now: %v", err))
	}
	var (
		items []mapping.Item
		fed   []unread // the records given to the Mapper, with their keys
		bad   []unread
	)
	for i, raw := range raws {
		rec, rerr := d.record(raw, i+1, origin)
		if rerr != nil {
			items = append(items, mapping.Item{Err: rerr, Seq: int64(i + 1), Origin: origin})
			bad = append(bad, unread{pos: i + 1, key: d.groupKey(rec.Values)})
			continue
		}
		fed = append(fed, unread{pos: i + 1, key: d.groupKey(rec.Values)})
		items = append(items, m.Add(rec)...)
	}
	items = append(items, m.Flush()...)
	refuseBroken(items, fed, bad, d.noun())
	// A rejected object comes out at once, the group around it when it
	// closes: reading order is what the report shows.
	slices.SortStableFunc(items, func(a, b mapping.Item) int { return cmp.Compare(a.Seq, b.Seq) })
	return items
}

// refuseBroken turns into errors the facts of groups one of whose
// records could not be read: applied without it, an order would earn on
// part of its lines. The Mapper saw the group's other records as
// adjacent, so the group is the run of fed records with the unread
// item's key right before or after it; its item carries the run's last
// position as Seq. An unread item without a key (not an object, or its
// key a nested value) is taken as a line of the group around it when the
// records on both sides share a key; between two groups it cannot be
// told which one it belonged to, and both stand.
func refuseBroken(items []mapping.Item, fed, bad []unread, noun string) {
	if len(bad) == 0 {
		return
	}
	// runEnd[i] is the position of the last record of fed[i]'s run.
	runEnd := make([]int, len(fed))
	for i := len(fed) - 1; i >= 0; i-- {
		runEnd[i] = fed[i].pos
		if i+1 < len(fed) && fed[i+1].key == fed[i].key {
			runEnd[i] = runEnd[i+1]
		}
	}
	broken := map[int64]int{} // Seq of a group's item -> the unread item
	for _, b := range bad {
		next, _ := slices.BinarySearchFunc(fed, b.pos, func(u unread, pos int) int { return cmp.Compare(u.pos, pos) })
		key := b.key
		if key == "" {
			if next == 0 || next == len(fed) || fed[next-1].key != fed[next].key {
				continue
			}
			key = fed[next].key
		}
		if key == "" {
			continue
		}
		for _, at := range []int{next - 1, next} {
			if at < 0 || at >= len(fed) || fed[at].key != key {
				continue
			}
			broken[int64(runEnd[at])] = b.pos
		}
	}
	for i, it := range items {
		pos, ok := broken[it.Seq]
		if !ok || it.Fact == nil {
			continue
		}
		items[i].Fact = nil
		items[i].Err = &mapping.RowError{Origin: it.Origin, Line: it.Line,
			Reason: fmt.Sprintf("%s %s is not applied: item %d, one of its records, could not be read (see its error)", noun, subjectKey(it.Fact), pos)}
	}
}

// groupKey is the key the Mapper groups a record by, as text: the
// order id, the receipt's store/till/receipt, the document key or its
// parts. It is "" for records that make a fact alone (actions, links)
// and when the key is missing or malformed, which the Mapper reports as
// a record of its own.
func (d *decoder) groupKey(v map[string]string) string {
	get := func(name string) string { return strings.TrimSpace(v[name]) }
	switch d.spec.Type {
	case mapping.TypeWebOrder:
		return get("order")
	case mapping.TypeTillReceipt:
		parts := []string{get("store"), get("till"), get("receipt")}
		if parts[0] == "" || parts[1] == "" || parts[2] == "" || strings.Contains(parts[0]+parts[1], "/") {
			return ""
		}
		return strings.Join(parts, "/")
	case mapping.TypeERPDocument:
		if k := get("key"); k != "" {
			return "key:" + k
		}
		parts := []string{get("doc_type"), get("year"), get("series"), get("number")}
		if parts[0] == "" || parts[3] == "" || strings.Contains(parts[0]+parts[1]+parts[2], "/") {
			return ""
		}
		return "parts:" + strings.Join(parts, "/")
	}
	return ""
}

func (d *decoder) noun() string {
	switch d.spec.Type {
	case mapping.TypeWebOrder:
		return "order"
	case mapping.TypeTillReceipt:
		return "receipt"
	}
	return "document"
}

func subjectKey(f *mapping.Fact) string {
	switch {
	case f.Order != nil:
		return f.Order.ID
	case f.Receipt != nil:
		return f.Receipt.Key()
	case f.Document != nil:
		return f.Document.Key
	}
	return ""
}

// record makes item n, a flat JSON object, into a Record: strings as
// they are, numbers as their literal text in the mapping's notation,
// booleans "true"/"false", null absent. Keys that name no field are the
// source's own and are not read. On error the Record still holds the
// plain values read, so the item's group can be found.
func (d *decoder) record(raw json.RawMessage, n int, origin string) (mapping.Record, *mapping.RowError) {
	rec := mapping.Record{Seq: int64(n), Origin: origin, Values: map[string]string{}}
	reject := func(column, value, reason string) *mapping.RowError {
		return &mapping.RowError{Origin: origin, Column: column, Value: value, Reason: fmt.Sprintf("item %d: %s", n, reason)}
	}
	if k := kind(raw); k != "an object" {
		return rec, reject("", shortJSON(raw), fmt.Sprintf("%s, not a record (a JSON object)", k))
	}
	if k, dup := duplicateKey(raw, false); dup {
		return rec, reject(k, "", fmt.Sprintf("key %q appears twice in the item: keep one", k))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return rec, reject("", shortJSON(raw), err.Error())
	}
	var first *mapping.RowError
	// Sorted keys: with two bad values, the same one is reported every time.
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		fields, ok := d.byKey[key]
		if !ok {
			continue
		}
		v := obj[key]
		var text string
		switch k := kind(v); k {
		case "null":
			continue
		case "a string":
			if err := json.Unmarshal(v, &text); err != nil {
				return rec, reject(key, shortJSON(v), err.Error())
			}
		case "a number":
			text = d.number(strings.TrimSpace(string(v)))
		case "true", "false":
			text = k
		default:
			if first == nil {
				first = reject(key, shortJSON(v), fmt.Sprintf("%s: a record's values must be text, numbers, true/false or null", k))
			}
			continue
		}
		for _, f := range fields {
			rec.Values[f] = text
		}
	}
	return rec, first
}

// number writes a JSON number in the notation the mapping reads. JSON
// numbers have no thousands separators, so with decimal comma the point
// becomes a comma: 1.250 must never read as one thousand two hundred
// and fifty.
func (d *decoder) number(lit string) string {
	if d.spec.Decimal == csvio.DecimalComma {
		return strings.ReplaceAll(lit, ".", ",")
	}
	return lit
}
