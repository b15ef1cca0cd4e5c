package server

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"reflect"
	"sort"
	"sync"
)

// The API's OpenAPI 3.1 document is kept in pieces, one per group of
// routes, so each file describes the routes of one api_*.go: base.json
// holds the document's frame (info, security schemes, shared parameters,
// responses and the error schema) and every other fragment adds "paths"
// and "components.schemas". They are merged once, when the first server
// is made; a path or schema defined twice (differently) fails New.

//go:embed openapi/*.json
var openAPIFiles embed.FS

// openAPIBase is the fragment the others are merged into.
const openAPIBase = "base.json"

// openAPIDocument is the merged document, as served.
var openAPIDocument = sync.OnceValues(func() ([]byte, error) {
	return mergeOpenAPI(openAPIFiles, "openapi")
})

// mergeOpenAPI merges the fragments of dir in fsys into its base.json.
func mergeOpenAPI(fsys fs.FS, dir string) ([]byte, error) {
	var doc map[string]any
	if err := readJSONFile(fsys, path.Join(dir, openAPIBase), &doc); err != nil {
		return nil, err
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi/%s: \"paths\" must be an object", openAPIBase)
	}
	comps, _ := doc["components"].(map[string]any)
	schemas, ok := comps["schemas"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi/%s: \"components.schemas\" must be an object", openAPIBase)
	}
	// Where each path and schema came from, for the message about a
	// duplicate.
	from := map[string]string{}
	for p := range paths {
		from["path "+p] = openAPIBase
	}
	for n := range schemas {
		from["schema "+n] = openAPIBase
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		if base == openAPIBase {
			continue
		}
		var frag struct {
			Paths      map[string]any `json:"paths"`
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := readJSONFile(fsys, name, &frag); err != nil {
			return nil, err
		}
		for p, item := range frag.Paths {
			if was, dup := from["path "+p]; dup {
				return nil, fmt.Errorf("openapi/%s: path %s is already described in openapi/%s: describe each path in one fragment", base, p, was)
			}
			from["path "+p] = base
			paths[p] = item
		}
		for n, sc := range frag.Components.Schemas {
			if was, dup := from["schema "+n]; dup && !reflect.DeepEqual(schemas[n], sc) {
				return nil, fmt.Errorf("openapi/%s: schema %s is already defined, differently, in openapi/%s: rename one or reference the other", base, n, was)
			} else if !dup {
				from["schema "+n] = base
			}
			schemas[n] = sc
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

// readJSONFile decodes one fragment, refusing keys a fragment may not
// hold (they would be dropped silently by the merge).
func readJSONFile(fsys fs.FS, name string, v any) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if path.Base(name) != openAPIBase {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w (a fragment holds only \"paths\" and \"components.schemas\")", name, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: more than one JSON value", name)
	}
	return nil
}

// openAPI serves the merged document.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	doc, err := openAPIDocument()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(doc) // the client went away; nothing to tell it
	return nil
}
