package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// outsideAPI are the routes registered without s.api that the document
// describes all the same.
var outsideAPI = map[string]Scope{"GET /healthz": scopeNone, "GET /metrics": ScopeRead}

// openAPIDoc fetches the served document.
func openAPIDoc(t *testing.T, ts *testServer) map[string]any {
	t.Helper()
	r := ts.do("GET", "/api/v1/openapi.json", tokRead, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", r.Status, r.Body)
	}
	var doc map[string]any
	r.JSON(t, &doc)
	return doc
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	ts := newTestServer(t)
	doc := openAPIDoc(t, ts)
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Fatalf("openapi is %q, want 3.1.x", v)
	}
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("the document has no paths")
	}
	registered := map[string]Scope{}
	for k, sc := range outsideAPI {
		registered[k] = sc
	}
	for _, rt := range ts.srv.routes {
		registered[rt.Method+" "+rt.Pattern] = rt.Scope
	}
	// Every registered route is described.
	for key := range registered {
		method, pattern, _ := strings.Cut(key, " ")
		item, _ := paths[pattern].(map[string]any)
		if _, ok := item[strings.ToLower(method)].(map[string]any); !ok {
			t.Errorf("route %s is not in the OpenAPI document", key)
		}
	}
	// Every described operation is a route, with its path parameters,
	// security and scope.
	methods := []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}
	for p, v := range paths {
		item, _ := v.(map[string]any)
		for m, ov := range item {
			if m == "parameters" || m == "summary" || m == "description" {
				continue
			}
			if !slices.Contains(methods, m) {
				t.Errorf("path %s: %q is not an HTTP method", p, m)
				continue
			}
			key := strings.ToUpper(m) + " " + p
			scope, ok := registered[key]
			if !ok {
				t.Errorf("the document describes %s, which is not a route", key)
				continue
			}
			op, _ := ov.(map[string]any)
			checkOperation(t, doc, key, p, item, op, scope)
		}
	}
}

// checkOperation checks one operation of the document against its route.
func checkOperation(t *testing.T, doc map[string]any, key, pattern string, item, op map[string]any, scope Scope) {
	t.Helper()
	var want []string
	for _, m := range pathParam.FindAllStringSubmatch(pattern, -1) {
		want = append(want, m[1])
	}
	var got []string
	params, _ := item["parameters"].([]any)
	ops, _ := op["parameters"].([]any)
	for _, pv := range append(slices.Clone(params), ops...) {
		prm, err := oaResolve(doc, pv)
		if err != nil {
			t.Errorf("%s: parameter: %v", key, err)
			continue
		}
		if prm["in"] != "path" {
			continue
		}
		name, _ := prm["name"].(string)
		got = append(got, name)
		if prm["required"] != true {
			t.Errorf("%s: path parameter %s is not required", key, name)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(want, got) {
		t.Errorf("%s: path parameters in the document %v, in the pattern %v", key, got, want)
	}
	responses, _ := op["responses"].(map[string]any)
	ok2xx := false
	for code := range responses {
		if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 {
			ok2xx = true
		}
		if _, err := oaResolve(doc, responses[code]); err != nil {
			t.Errorf("%s: response %s: %v", key, code, err)
		}
	}
	if !ok2xx {
		t.Errorf("%s: no success response", key)
	}
	if pattern == "/healthz" {
		return
	}
	sec, _ := op["security"].([]any)
	hasBearer := false
	for _, s := range sec {
		if m, _ := s.(map[string]any); m != nil {
			if _, ok := m["bearerAuth"]; ok {
				hasBearer = true
			}
		}
	}
	if !hasBearer {
		t.Errorf("%s: the operation does not declare security bearerAuth", key)
	}
	if _, ok := responses["401"]; !ok {
		t.Errorf("%s: no 401 response", key)
	}
	// The scope: x-scope when given must be the route's; otherwise the
	// description must name it.
	if xs, ok := op["x-scope"]; ok {
		if xs != scope.String() {
			t.Errorf("%s: x-scope %v, the route needs %s", key, xs, scope)
		}
	} else if d, _ := op["description"].(string); !strings.Contains(d, scope.String()) {
		t.Errorf("%s: neither x-scope nor the description names the scope %s", key, scope)
	}
	if b, ok := op["requestBody"]; ok {
		if _, err := oaResolve(doc, b); err != nil {
			t.Errorf("%s: requestBody: %v", key, err)
		}
	}
}

// oaResolve follows a local $ref ("#/components/...").
func oaResolve(doc map[string]any, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%v is not an object", v)
	}
	for range 10 {
		r, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		target, err := oaPointer(doc, r)
		if err != nil {
			return nil, err
		}
		if m, ok = target.(map[string]any); !ok {
			return nil, fmt.Errorf("$ref %s is not an object", r)
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// oaPointer follows a local JSON pointer.
func oaPointer(doc map[string]any, ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local (#/...)", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(p, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, _ := cur.(map[string]any)
		next, ok := m[part]
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve (no %q)", ref, part)
		}
		cur = next
	}
	return cur, nil
}

func TestOpenAPIRefsResolve(t *testing.T) {
	raw, err := openAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the merged document is not JSON: %v", err)
	}
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				if _, err := oaPointer(doc, r); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, c := range x {
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range x {
				walk(at+"/"+strconv.Itoa(i), c)
			}
		}
	}
	walk("#", doc)
	errSchema, err := oaResolve(doc, map[string]any{"$ref": "#/components/schemas/Error"})
	if err != nil {
		t.Fatal(err)
	}
	detail, err := oaResolve(doc, errSchema["properties"].(map[string]any)["error"])
	if err != nil {
		t.Fatal(err)
	}
	props, _ := detail["properties"].(map[string]any)
	for _, f := range []string{"code", "message", "field"} {
		if _, ok := props[f]; !ok {
			t.Errorf("the error schema has no %s", f)
		}
	}
}

func TestMergeOpenAPI(t *testing.T) {
	const base = `{"openapi":"3.1.0","paths":{"/healthz":{"get":{}}},"components":{"schemas":{"Error":{"type":"object"}}}}`
	tests := []struct {
		name  string
		files map[string]string
		err   string // part of the error; "" for none
	}{
		{"base only", map[string]string{}, ""},
		{"fragments merged", map[string]string{
			"a.json": `{"paths":{"/a":{"get":{}}},"components":{"schemas":{"A":{"type":"string"}}}}`,
			"b.json": `{"paths":{"/b":{"post":{}}}}`}, ""},
		{"same schema twice, identical", map[string]string{
			"a.json": `{"components":{"schemas":{"Error":{"type":"object"}}}}`}, ""},
		{"path twice", map[string]string{
			"a.json": `{"paths":{"/a":{"get":{}}}}`,
			"b.json": `{"paths":{"/a":{"post":{}}}}`}, "path /a is already described in openapi/a.json"},
		{"path of the base", map[string]string{
			"a.json": `{"paths":{"/healthz":{"get":{}}}}`}, "path /healthz is already described in openapi/base.json"},
		{"schema twice, different", map[string]string{
			"a.json": `{"components":{"schemas":{"Error":{"type":"string"}}}}`}, "schema Error is already defined, differently, in openapi/base.json"},
		{"unknown key", map[string]string{
			"a.json": `{"paths":{},"info":{}}`}, `unknown field "info"`},
		{"not JSON", map[string]string{"a.json": `{"paths":`}, "openapi/a.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"openapi/base.json": {Data: []byte(base)}}
			for n, d := range tt.files {
				fsys["openapi/"+n] = &fstest.MapFile{Data: []byte(d)}
			}
			out, err := mergeOpenAPI(fsys, "openapi")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Paths      map[string]map[string]any
				Components struct{ Schemas map[string]any }
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.files {
				var frag struct {
					Paths      map[string]map[string]any
					Components struct{ Schemas map[string]any }
				}
				_ = json.Unmarshal([]byte(f), &frag)
				for p := range frag.Paths {
					if doc.Paths[p] == nil {
						t.Errorf("path %s missing from the merge", p)
					}
				}
				for n := range frag.Components.Schemas {
					if doc.Components.Schemas[n] == nil {
						t.Errorf("schema %s missing from the merge", n)
					}
				}
			}
			if doc.Paths["/healthz"] == nil || doc.Components.Schemas["Error"] == nil {
				t.Errorf("the base's path or schema is missing: %s", out)
			}
		})
	}
}

// schemaChecker checks answers against the document's schemas: the
// types, required properties, enums and, where the schema closes it,
// that no property is undocumented. It knows the subset of JSON Schema
// the document uses.
type schemaChecker struct {
	doc map[string]any
}

// responseSchema is the schema of the answer with status to method
// pattern.
func (c schemaChecker) responseSchema(method, pattern string, status int) (map[string]any, error) {
	paths, _ := c.doc["paths"].(map[string]any)
	item, _ := paths[pattern].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		return nil, fmt.Errorf("%s %s is not in the document", method, pattern)
	}
	responses, _ := op["responses"].(map[string]any)
	rv, ok := responses[strconv.Itoa(status)]
	if !ok {
		return nil, fmt.Errorf("%s %s: status %d is not documented", method, pattern, status)
	}
	resp, err := oaResolve(c.doc, rv)
	if err != nil {
		return nil, err
	}
	content, _ := resp["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	if media == nil {
		return nil, fmt.Errorf("%s %s: status %d has no application/json content", method, pattern, status)
	}
	return oaResolve(c.doc, media["schema"])
}

// check reports where v departs from schema.
func (c schemaChecker) check(at string, schema map[string]any, v any) []string {
	schema, err := oaResolve(c.doc, schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	var bad []string
	if types := oaTypes(schema["type"]); len(types) > 0 && !slices.Contains(types, oaJSONType(v)) &&
		(oaJSONType(v) != "integer" || !slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", at, oaJSONType(v), types)}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		bad = append(bad, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	if cv, ok := schema["const"]; ok && cv != v {
		bad = append(bad, fmt.Sprintf("%s: %v, want %v", at, v, cv))
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range oaStrings(schema["required"]) {
			if _, ok := x[r]; !ok {
				bad = append(bad, fmt.Sprintf("%s: required %s is missing", at, r))
			}
		}
		for k, fv := range x {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					bad = append(bad, fmt.Sprintf("%s: %s is not documented", at, k))
				}
				continue
			}
			bad = append(bad, c.check(at+"."+k, ps, fv)...)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				bad = append(bad, c.check(fmt.Sprintf("%s[%d]", at, i), items, e)...)
			}
		}
	}
	return bad
}

func oaTypes(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		return oaStrings(x)
	}
	return nil
}

func oaStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func oaJSONType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// conforms checks that the answer r to method pattern is what the
// document says for its status.
func conforms(t *testing.T, method, pattern string, r response) {
	t.Helper()
	raw, err := openAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var c schemaChecker
	if err := json.Unmarshal(raw, &c.doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.responseSchema(method, pattern, r.Status)
	if err != nil {
		t.Errorf("answer %d: %v", r.Status, err)
		return
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Errorf("answer %d is not JSON: %v", r.Status, err)
		return
	}
	for _, b := range c.check("body", schema, v) {
		t.Errorf("%s %s answer %d departs from the document: %s\n%s", method, pattern, r.Status, b, r.Body)
	}
}
