package server

import (
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ratOf reads decimal text exactly, as a cross-check of the parsers.
func ratOf(s string) (*big.Rat, bool) {
	if s == "" || strings.ContainsAny(s, "eE/+- _") {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// A money value that parses is the text's exact value in cents; one that
// does not is a 400 naming the field.
func FuzzDecimalMoney(f *testing.F) {
	for _, s := range []string{"12.50", "0", "5", "5.5", "0.01", "12,50", "-1", "1e3", "1.234", ".5", "5.", "9223372036854775807", "92233720368547758.07", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cents, err := decimalText(s).money("price", -1)
		if s == "" {
			if cents != -1 || err != nil {
				t.Fatalf("empty text is %d, %v; want the default", cents, err)
			}
			return
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Field != "price" {
				t.Fatalf("%q: error %#v, want a 400 naming price", s, err)
			}
			return
		}
		r, ok := ratOf(s)
		if !ok || cents < 0 {
			t.Fatalf("%q read as %d cents", s, cents)
		}
		if want := new(big.Rat).Mul(r, big.NewRat(100, 1)); !want.IsInt() || want.Num().Int64() != cents {
			t.Fatalf("%q read as %d cents, its value is %s", s, cents, want.FloatString(4))
		}
	})
}

// Any quote body either makes a document whose lines match the text
// exactly or is refused with a 400 naming the field; nothing panics.
func FuzzQuoteCart(f *testing.F) {
	for _, s := range []string{
		`{"cart":{"lines":[{"product":"A","price":"12.99","quantity":"0.250"}],"shipping":"5.00","discount":"1.00"}}`,
		`{"customer":"web:1","cart":{"date":"2026-03-01","lines":[{"product":"A","total":3.24,"discount":0.5,"discounted":true}]}}`,
		`{"cart":{"lines":[{"price":92233720368547758.07,"quantity":"1000000000"}]}}`,
		`{"cart":{"lines":[{"price":null,"quantity":null}]}}`,
		`{"cart":{"lines":[{"price":"1","quantity":-1}]}}`,
		`{"cart":{"date":"2026-03-01T10:00:00+01:00"}}`,
	} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		var req quoteRequest
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&req) != nil {
			return
		}
		doc, err := req.Cart.document(time.UTC, now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.HasPrefix(e.Field, "cart.") {
				t.Fatalf("%s: error %#v, want a 400 naming a cart field", body, err)
			}
			return
		}
		if doc.Shipping < 0 || doc.Discount < 0 || len(doc.Lines) != len(req.Cart.Lines) {
			t.Fatalf("%s: document %+v", body, doc)
		}
		for i, l := range doc.Lines {
			in := req.Cart.Lines[i]
			if l.Gross < 0 || l.Quantity < 0 || l.Discount < 0 || l.Product != in.Product {
				t.Fatalf("%s: line %d is %+v", body, i, l)
			}
			if in.Total != "" {
				continue
			}
			// price x quantity, rounded half up, computed again exactly.
			price, _ := ratOf(string(in.Price))
			qty := big.NewRat(1, 1)
			if in.Quantity != "" {
				qty, _ = ratOf(string(in.Quantity))
			}
			want := new(big.Rat).Mul(price, qty)
			want.Mul(want, big.NewRat(100, 1))
			want.Add(want, big.NewRat(1, 2))
			n := new(big.Int).Quo(want.Num(), want.Denom())
			if n.Int64() != l.Gross {
				t.Fatalf("%s: line %d gross %d, want %s", body, i, l.Gross, n)
			}
		}
	})
}
