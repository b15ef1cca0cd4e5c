package httpjson

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

var update = flag.Bool("update", false, "rewrite the expected files of testdata/pages")

// goldenOrigin is the page every golden case is read as.
const goldenOrigin = "https://shop.example.com/pointsync/facts#c1"

// caseOptions is a case's options.json: the PullOptions that matter to
// decoding, in a form a JSON file can hold.
type caseOptions struct {
	Format     string            `json:"format"`
	Program    string            `json:"program"`
	ItemsField string            `json:"items_field"`
	NextField  string            `json:"next_field"`
	Fields     map[string]string `json:"fields"`
	// For records.
	Type        mapping.Type      `json:"type"`
	Decimal     string            `json:"decimal"`
	Amount      bool              `json:"amount"`
	IdentKind   string            `json:"ident_kind"`
	Zone        string            `json:"zone"`
	DateFormats []string          `json:"date_formats"`
	Statuses    map[string]string `json:"statuses"`
	DocKinds    map[string]string `json:"doc_kinds"`
}

func (c caseOptions) pull(t *testing.T) PullOptions {
	o := PullOptions{
		URL: "https://shop.example.com/pointsync/facts", Format: c.Format, Program: c.Program,
		ItemsField: c.ItemsField, NextField: c.NextField, Fields: c.Fields,
	}
	if c.Format != FormatRecords {
		return o
	}
	o.Mapping = mapping.Spec{Type: c.Type, Amount: c.Amount, IdentKind: c.IdentKind, DateFormats: c.DateFormats}
	if c.Decimal != "" {
		d, err := csvio.ParseDecimal(c.Decimal)
		if err != nil {
			t.Fatal(err)
		}
		o.Mapping.Decimal = d
	}
	if c.Zone != "" {
		loc, err := time.LoadLocation(c.Zone)
		if err != nil {
			t.Fatal(err)
		}
		o.Mapping.Location = loc
	}
	if c.Statuses != nil {
		o.Mapping.Statuses = map[string]mapping.Status{}
		for k, v := range c.Statuses {
			o.Mapping.Statuses[k] = mapping.Status(v)
		}
	}
	if c.DocKinds != nil {
		o.Mapping.DocKinds = map[string]mapping.DocKind{}
		for k, v := range c.DocKinds {
			o.Mapping.DocKinds[k] = mapping.DocKind(v)
		}
	}
	return o
}

// TestGoldenPages decodes testdata/pages/<case>/page.json with the
// case's options.json (facts format when absent) and compares with
// expected.out (the items) or expected.err (a page refused). Adding a
// case is adding a folder; -update writes the expected files.
func TestGoldenPages(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "pages", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, "page.json"))
			if err != nil {
				t.Fatal(err)
			}
			var co caseOptions
			if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				dec := json.NewDecoder(strings.NewReader(string(b)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&co); err != nil {
					t.Fatalf("options.json: %v", err)
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			s, err := NewSource(co.pull(t))
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.dec.decode(body, goldenOrigin)
			var got, file string
			if err != nil {
				if !errors.Is(err, ErrBadPage) {
					t.Errorf("error %v is not ErrBadPage", err)
				}
				got, file = err.Error()+"\n", "expected.err"
			} else {
				got, file = render(t, p), "expected.out"
			}
			path := filepath.Join(dir, file)
			if *update {
				for _, f := range []string{"expected.out", "expected.err"} {
					_ = os.Remove(filepath.Join(dir, f))
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (got:\n%s)", err, got)
			}
			if got != string(want) {
				t.Errorf("%s differs\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

// render writes a page one item a line, the facts in their JSON form.
func render(t *testing.T, p page) string {
	var b strings.Builder
	fmt.Fprintf(&b, "next %q\n", p.next)
	for _, it := range p.items {
		if (it.Fact == nil) == (it.Err == nil) {
			t.Errorf("item %d: exactly one of Fact and Err must be set", it.Seq)
		}
		if it.Origin != goldenOrigin {
			t.Errorf("item %d: origin %q", it.Seq, it.Origin)
		}
		switch {
		case it.Fact != nil:
			j, err := json.Marshal(it.Fact)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%d fact %s\n", it.Seq, j)
		case it.Err != nil:
			e := it.Err
			if e.Origin != goldenOrigin {
				t.Errorf("item %d: error origin %q", it.Seq, e.Origin)
			}
			fmt.Fprintf(&b, "%d error column=%q value=%q reason=%q\n", it.Seq, e.Column, e.Value, e.Reason)
		}
	}
	return b.String()
}
