package configs

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// The strict decoder walks the YAML tree beside the Go type it fills, using
// the yaml struct tags. yaml.Node.Decode would do the filling but silently
// drops unknown keys and reports type errors without the key; walking the
// tree ourselves lets every problem carry its line and full key path, and
// lets us collect all of them instead of stopping at the first.

// defaulter is implemented by list elements (programs, and later
// connectors) that have defaults of their own: each new element is filled
// before its keys are decoded over it.
type defaulter interface{ setDefaults() }

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode fills v from n; path is the key path of v ("" for the root).
func (s *state) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if n == nil || s.badNodes[n] || !s.step(n, 1) {
		return
	}
	// A key written with no value (or ~, null) keeps its default, so
	// "expiry:" alone is the same as leaving it out.
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if isLeaf(v.Type()) {
		s.decodeScalar(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		s.decodeStruct(n, v, path)
	case reflect.Slice:
		s.decodeSlice(n, v, path)
	case reflect.Map:
		s.decodeMap(n, v, path)
	default:
		// Only reachable if a schema field of an unsupported kind is added.
		panic(fmt.Sprintf("configs: field %s has unsupported type %s", path, v.Type()))
	}
}

func isLeaf(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return true
	}
	return false
}

func (s *state) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if !s.expectKind(n, yaml.MappingNode, path) {
		return
	}
	fields := yamlFields(v.Type())
	for _, p := range s.pairs(n, path) {
		key := joinKey(path, p.name)
		i, ok := fields[p.name]
		if !ok {
			s.unknownIn[path] = true
			if len(s.errs) < maxStoredErrors { // the message costs a search
				s.add(p.key.Line, key, unknownKeyMsg(p.name, fields), nil)
			} else {
				s.dropped++
			}
			continue
		}
		s.lines[key] = p.key.Line
		s.decode(p.value, v.Field(i), key)
	}
}

func (s *state) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if !s.expectKind(n, yaml.SequenceNode, path) {
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		key := joinIndex(path, i)
		elem := reflect.New(v.Type().Elem())
		if d, ok := elem.Interface().(defaulter); ok {
			d.setDefaults()
		}
		s.lines[key] = item.Line
		s.decode(item, elem.Elem(), key)
		out = reflect.Append(out, elem.Elem())
	}
	v.Set(out)
}

// decodeMap merges the written keys into the map (which may hold
// defaults), the way yaml.v3 treats maps, so import.columns can rename one
// column and keep the others.
func (s *state) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if !s.expectKind(n, yaml.MappingNode, path) {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	} else {
		// Never write into a map shared with the value we decode over.
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), it.Value())
		}
		v.Set(m)
	}
	for _, p := range s.pairs(n, path) {
		key := joinKey(path, p.name)
		s.lines[key] = p.key.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		s.decode(p.value, elem, key)
		v.SetMapIndex(reflect.ValueOf(p.name).Convert(v.Type().Key()), elem)
	}
}

func (s *state) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		s.fail(n.Line, path, fmt.Sprintf("expected a single value, got %s", kindName(n)))
		return
	}
	t := v.Type()
	tag := n.ShortTag()
	// yaml.v3 would truncate 1.5 into an int; a fractional count of days
	// is a mistake worth reporting.
	intKind := t.Kind() == reflect.Int || t.Kind() == reflect.Int64
	textKind := reflect.PointerTo(t).Implements(textUnmarshalerType)
	if intKind && !textKind && t != durationType && tag == "!!float" {
		s.fail(n.Line, path, fmt.Sprintf("expected a whole number, got %q", n.Value))
		return
	}
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return
	}
	switch {
	case textKind:
		// The type's own message says what form it wants.
		s.fail(n.Line, path, err.Error())
	case t == durationType:
		// Quotes are not the problem here: a duration needs its unit.
		s.fail(n.Line, path, fmt.Sprintf("expected a duration such as 10s, 500ms or 1m30s, got %q", n.Value))
	case t.Kind() == reflect.Bool:
		s.fail(n.Line, path, fmt.Sprintf("expected true or false, got %s", describe(n)))
	case intKind:
		s.fail(n.Line, path, fmt.Sprintf("expected a whole number, got %s", describe(n)))
	default:
		s.fail(n.Line, path, fmt.Sprintf("cannot read %s as %s", describe(n), t))
	}
}

// describe quotes a scalar and says when quoting made it a string, the
// usual reason a number or boolean is refused.
func describe(n *yaml.Node) string {
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil || n.Value == "true" || n.Value == "false" {
			return fmt.Sprintf("the quoted string %q (remove the quotes)", n.Value)
		}
	}
	return strconv.Quote(n.Value)
}

func (s *state) expectKind(n *yaml.Node, want yaml.Kind, path string) bool {
	if n.Kind == want {
		return true
	}
	what := "a mapping (key: value lines)"
	switch {
	case path == "":
		what = "a mapping of sections (ledger:, log:, programs:, ...)"
	case want == yaml.SequenceNode:
		what = "a list (lines starting with -)"
	}
	s.fail(n.Line, path, fmt.Sprintf("expected %s, got %s", what, kindName(n)))
	return false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("the value %q", n.Value)
	}
}

// pair is one key of a mapping with its value, after merges.
type pair struct {
	name       string
	key, value *yaml.Node
}

// pairs lists the keys of mapping n in file order, reporting duplicates
// (both lines; the first one wins) and non-scalar keys. Keys merged with
// <<: come after, unless written in n itself, as YAML says.
func (s *state) pairs(n *yaml.Node, path string) []pair {
	var (
		out    []pair
		seen   = map[string]*yaml.Node{}
		merges []*yaml.Node
	)
	if !s.step(n, len(n.Content)/2) {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			s.add(n.Content[i].Line, path, "a key must be a single word, not a list or mapping", nil)
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			s.fail(n.Content[i].Line, joinKey(path, k.Value),
				fmt.Sprintf("duplicate key (first at line %d); keep one", first.Line))
			continue
		}
		seen[k.Value] = n.Content[i]
		out = append(out, pair{k.Value, n.Content[i], val})
	}
	visited := map[*yaml.Node]bool{n: true}
	for _, m := range merges {
		s.merge(m, path, seen, visited, &out)
	}
	return out
}

// merge adds the keys of a <<: value not already present. Each mapping is
// visited once, which keeps crafted chains of merges linear.
func (s *state) merge(m *yaml.Node, path string, seen map[string]*yaml.Node, visited map[*yaml.Node]bool, out *[]pair) {
	line := m.Line
	m = resolveAlias(m)
	switch {
	case m == nil || visited[m]:
		return
	case m.Kind == yaml.SequenceNode:
		visited[m] = true
		for _, c := range m.Content {
			if resolveAlias(c) != nil && resolveAlias(c).Kind != yaml.MappingNode {
				s.add(c.Line, path, "<< needs a mapping or a list of mappings", nil)
				continue
			}
			s.merge(c, path, seen, visited, out)
		}
		return
	case m.Kind != yaml.MappingNode:
		s.add(line, path, "<< needs a mapping or a list of mappings", nil)
		return
	}
	visited[m] = true
	var nested []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := resolveAlias(m.Content[i])
		switch {
		case k == nil || k.Kind != yaml.ScalarNode:
			continue // reported where the mapping is decoded, if it is
		case k.ShortTag() == "!!merge":
			nested = append(nested, m.Content[i+1])
		case seen[k.Value] == nil:
			seen[k.Value] = m.Content[i]
			*out = append(*out, pair{k.Value, m.Content[i], m.Content[i+1]})
		}
	}
	for _, nm := range nested {
		s.merge(nm, path, seen, visited, out)
	}
}

// maxDecodeSteps bounds the work of decoding. A hand-written file needs a
// few thousand steps; aliases to large blocks, each used many times, could
// otherwise make a small file expand without end (the "billion laughs").
const maxDecodeSteps = 200_000

// step counts n units of decoding work and reports whether to go on.
func (s *state) step(at *yaml.Node, n int) bool {
	s.steps += n
	if s.steps <= maxDecodeSteps {
		return true
	}
	if s.tooBig == nil {
		s.tooBig = &Error{File: s.file, Line: at.Line, Msg: "the file expands to too many values (aliases used too often?); decoding stopped here"}
	}
	return false
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	// The parser refuses an alias to an anchor not yet complete, so the
	// chain always ends; the bound is only a guard.
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 1000; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// yamlFields maps the yaml key of each field of struct type t to its index.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = i
	}
	return out
}

func unknownKeyMsg(name string, fields map[string]int) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	if s := suggest(name, known); s != "" {
		return fmt.Sprintf("unknown key (did you mean %s?)", s)
	}
	return fmt.Sprintf("unknown key (known keys here: %s)", strings.Join(known, ", "))
}

// suggest returns the candidate closest to name when it is close enough to
// be a typo: a letter or two off, another case, or camelCase / dashes for
// snake_case.
func suggest(name string, candidates []string) string {
	best, bestDist, n := "", 0, normKey(name)
	for _, c := range candidates {
		d := editDistance(n, normKey(c))
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 1
	if len(name) > 4 {
		limit = 2
	}
	// A one-letter key is as close to every short key: no suggestion.
	if best == "" || bestDist > limit || bestDist >= len(n) {
		return ""
	}
	return best
}

// normKey lowercases a key and drops _, - and spaces, so time_zone,
// timeZone and Time-Zone compare equal.
func normKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r != '_' && r != '-' && r != ' ' {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of adjacent letters each count one.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	if len(x) > 64 || len(y) > 64 {
		// Keys that long are not typos of ours; skip the quadratic work.
		return max(len(x), len(y))
	}
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
