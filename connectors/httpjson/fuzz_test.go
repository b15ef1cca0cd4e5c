package httpjson

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/mapping"
)

// FuzzDecodePage: whatever a server answers, the decoder does not panic,
// and either refuses the page or returns items that are each exactly a
// fact or an error, numbered from 1. The seeds are the golden pages.
func FuzzDecodePage(f *testing.F) {
	pages, err := filepath.Glob(filepath.Join("testdata", "pages", "*", "page.json"))
	if err != nil || len(pages) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var decoders []*Source
	for _, o := range []PullOptions{
		{URL: "https://shop.example.com/facts", Program: "shop"},
		{URL: "https://shop.example.com/orders", Format: FormatRecords, Program: "shop",
			Mapping: mapping.Spec{Type: mapping.TypeWebOrder, IdentKind: "web"}, Fields: map[string]string{"gross": "line_total"}},
		{URL: "https://shop.example.com/receipts", Format: FormatRecords, Program: "card",
			Mapping: mapping.Spec{Type: mapping.TypeTillReceipt, Decimal: csvio.DecimalPoint, Amount: true}},
		{URL: "https://shop.example.com/links", Format: FormatRecords, Program: "shop",
			Mapping: mapping.Spec{Type: mapping.TypeLink}},
	} {
		s, err := NewSource(o)
		if err != nil {
			f.Fatal(err)
		}
		decoders = append(decoders, s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, s := range decoders {
			p, err := s.dec.decode(body, "origin")
			if err != nil {
				if !errors.Is(err, ErrBadPage) {
					t.Fatalf("error %v is not ErrBadPage", err)
				}
				continue
			}
			for i, it := range p.items {
				if (it.Fact == nil) == (it.Err == nil) {
					t.Fatalf("item %d: Fact %v, Err %v: exactly one must be set", i, it.Fact, it.Err)
				}
				if it.Seq < 1 {
					t.Fatalf("item %d: Seq %d", i, it.Seq)
				}
				if i > 0 && it.Seq < p.items[i-1].Seq {
					t.Fatalf("item %d: Seq %d after %d", i, it.Seq, p.items[i-1].Seq)
				}
				if it.Fact != nil {
					if err := it.Fact.Validate(); err != nil {
						t.Fatalf("item %d: an invalid fact passed: %v", i, err)
					}
				}
			}
		}
	})
}

// FuzzRetryAfter: any header value gives no wait (-1) or one within the
// cap. Seeds are in testdata/fuzz/FuzzRetryAfter.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := retryAfter(v, now)
		if d != -1 && (d < 0 || d > maxWait) {
			t.Fatalf("retryAfter(%q) = %s", v, d)
		}
	})
}
