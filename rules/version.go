package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// RulesVersion is a short, stable name for a rules value: the first 12 hex
// digits of the SHA-256 of its canonical JSON. Each movement records it
// (SPEC 3.5), so the version changes exactly when something that computes
// points changes, and a reversal can tell which rules awarded the points.
//
// The canonical form is built here rather than by encoding/json alone,
// because that would hash a *time.Location as {} (a program moved from
// Europe/Rome to UTC would keep its version) and would depend on the order
// fields are declared in. Struct fields become object members by name (a
// json tag renames or, with "-", drops them), object members are sorted,
// zones are their IANA name, instants are RFC 3339 in UTC, and types that
// marshal themselves to text or JSON are written that way. Floats, funcs and
// channels are refused: they have no place in the rules.
func RulesVersion(v any) (string, error) {
	tree, err := canonicalRules(reflect.ValueOf(v), 0)
	if err != nil {
		return "", fmt.Errorf("rules version: %w", err)
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return "", fmt.Errorf("rules version: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6]), nil
}

var (
	locationPtrType = reflect.TypeFor[*time.Location]()
	timeType        = reflect.TypeFor[time.Time]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
)

// canonicalRules turns v into values encoding/json writes deterministically:
// maps with string keys (sorted on output), slices, strings, bools and
// json.Number for integers.
func canonicalRules(v reflect.Value, depth int) (any, error) {
	if depth > 64 {
		return nil, fmt.Errorf("value nested more than 64 levels deep (a cycle?)")
	}
	if !v.IsValid() {
		return nil, nil
	}
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil, nil
		}
		return canonicalRules(v.Elem(), depth+1)
	}
	t := v.Type()
	switch {
	case t == locationPtrType:
		if v.IsNil() {
			return nil, nil
		}
		return v.Interface().(*time.Location).String(), nil
	case t == timeType:
		return v.Interface().(time.Time).UTC().Format(time.RFC3339Nano), nil
	case t.Implements(jsonMarshaler) && !(t.Kind() == reflect.Pointer && v.IsNil()):
		b, err := v.Interface().(json.Marshaler).MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		return decodeCanonical(b)
	case t.Implements(textMarshaler) && !(t.Kind() == reflect.Pointer && v.IsNil()):
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		return string(b), nil
	}
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return json.Number(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.String:
		return v.String(), nil
	case reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
		return canonicalRules(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			// nil and empty mean the same in every rule ("no card types").
			return []any{}, nil
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			e, err := canonicalRules(v.Index(i), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			k, err := canonicalKey(it.Key())
			if err != nil {
				return nil, err
			}
			e, err := canonicalRules(it.Value(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%s]: %w", k, err)
			}
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("two map keys both read %q", k)
			}
			out[k] = e
		}
		return out, nil
	case reflect.Struct:
		out := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				name = tag
			}
			e, err := canonicalRules(v.Field(i), depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("%s: two fields named %q", t, name)
			}
			out[name] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s cannot be part of a rules version (floating point, func or channel)", t)
}

func canonicalKey(k reflect.Value) (string, error) {
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	case reflect.Bool:
		return strconv.FormatBool(k.Bool()), nil
	}
	return "", fmt.Errorf("map key of type %s cannot be part of a rules version", k.Type())
}

// decodeCanonical reads JSON written by a json.Marshaler back into the
// canonical shapes, keeping numbers as written so none passes through a
// float.
func decodeCanonical(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}
