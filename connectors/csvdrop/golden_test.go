package csvdrop

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

var update = flag.Bool("update", false, "rewrite the expected files of golden tests")

// caseOptions is options.json of a golden case; every key is optional.
type caseOptions struct {
	Type        mapping.Type      `json:"type"`
	Amount      bool              `json:"amount"`
	Delimiter   string            `json:"delimiter"`
	Decimal     string            `json:"decimal"`
	Encoding    string            `json:"encoding"`
	DateFormats []string          `json:"date_formats"`
	Location    string            `json:"location"`
	IdentKind   string            `json:"ident_kind"`
	Headers     map[string]string `json:"headers"`
	RejectFile  bool              `json:"reject_file"`
	Marker      string            `json:"marker"`
	Limit       int               `json:"limit"`
}

func (c caseOptions) apply(t testing.TB, o *Options) {
	t.Helper()
	var err error
	if c.Type != "" {
		o.Mapping.Type = c.Type
	}
	o.Mapping.Amount = c.Amount
	o.Mapping.IdentKind = c.IdentKind
	if c.Delimiter != "" {
		if o.Dialect.Delimiter, err = csvio.ParseDelimiter(c.Delimiter); err != nil {
			t.Fatal(err)
		}
	}
	if c.Decimal != "" {
		if o.Dialect.Decimal, err = csvio.ParseDecimal(c.Decimal); err != nil {
			t.Fatal(err)
		}
		o.Mapping.Decimal = o.Dialect.Decimal
	}
	if c.Encoding != "" {
		if o.Dialect.Encoding, err = csvio.ParseEncoding(c.Encoding); err != nil {
			t.Fatal(err)
		}
	}
	o.Mapping.DateFormats = c.DateFormats
	if c.Location != "" {
		if o.Mapping.Location, err = time.LoadLocation(c.Location); err != nil {
			t.Fatal(err)
		}
	}
	o.Headers = c.Headers
	o.RejectFile = c.RejectFile
	o.Marker = c.Marker
}

// goldenResult is expected.json: every file finished, in order, with
// the items its batches brought, then the folder as it is left and the
// content of each error report.
type goldenResult struct {
	Files   []goldenFile        `json:"files"`
	Tree    []string            `json:"tree"`
	Reports map[string][]string `json:"reports,omitempty"`
}

type goldenFile struct {
	Name  string       `json:"name"`
	Rows  int          `json:"rows"`
	Items []goldenItem `json:"items"`
}

type goldenItem struct {
	Seq   int64             `json:"seq"`
	Line  int               `json:"line"`
	Fact  *mapping.Fact     `json:"fact,omitempty"`
	Error *mapping.RowError `json:"error,omitempty"`
}

// TestGolden runs each folder of testdata/cases: the files of its inbox/
// dropped at once, read to the end by a daemon loop with the case's
// options (limit 3 unless set, so that files span batches).
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var co caseOptions
			if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&co); err != nil {
					t.Fatalf("options.json: %v", err)
				}
			}
			d := newDaemon(t, func(o *Options) { co.apply(t, o) })
			inputs, err := os.ReadDir(filepath.Join(dir, "inbox"))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range inputs {
				b, err := os.ReadFile(filepath.Join(dir, "inbox", e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				d.drop(e.Name(), string(b), time.Minute)
			}
			limit := co.Limit
			if limit == 0 {
				limit = 3
			}
			d.run(limit)
			got, err := json.MarshalIndent(d.result(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join(dir, "expected.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func (d *daemon) result() goldenResult {
	var r goldenResult
	items := []goldenItem{}
	for _, b := range d.batches {
		for _, it := range b.Items {
			items = append(items, goldenItem{Seq: it.Seq, Line: it.Line, Fact: it.Fact, Error: it.Err})
		}
		if b.Done != nil {
			r.Files = append(r.Files, goldenFile{Name: b.Done.Name, Rows: b.Done.Rows, Items: items})
			items = []goldenItem{}
		}
	}
	r.Tree = d.tree()
	for _, p := range r.Tree {
		if strings.HasSuffix(p, ".errors.csv") && !strings.HasPrefix(p, "inbox/") {
			if r.Reports == nil {
				r.Reports = map[string][]string{}
			}
			text := strings.TrimPrefix(d.read(p), "\ufeff")
			r.Reports[p] = strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n")
		}
	}
	return r
}
