package bulk

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// TestExport writes the balance export in several dialects and forms.
func TestExport(t *testing.T) {
	l := openSQLite(t)
	seed(t, l)
	// A customer with a card and a web account, points expiring, and a
	// customer without a card.
	in := "customer;points;expiry;note\ncard:4000123412341234;50;31/03/2026;\nweb:2;4;;\n"
	if _, err := Import(context.Background(), l, strings.NewReader(in), ImportOptions{Program: shop, CreateCustomers: true, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(context.Background(), l, strings.NewReader("tessera;importo\ncard:9001;12,34\n"), ImportOptions{Program: card, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Update(context.Background(), func(tx *ledger.Tx) error {
		return tx.Link(ledger.Ident("card:4000123412341234"), ledger.Ident("web:7"))
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    ExportOptions
		rows int
		want string
	}{
		{"points", ExportOptions{Program: shop}, 3,
			"customer;identifiers;earned;provisional;spent;expired;expiring\r\n" +
				"web:1;web:1;10;0;0;0;\r\n" +
				"web:2;web:2;5;0;0;0;\r\n" +
				"card:4000123412341234;card:4000123412341234 web:7;50;0;0;0;31/03/2026=50\r\n"},
		{"cards only", ExportOptions{Program: shop, CardsOnly: true}, 1,
			"customer;identifiers;earned;provisional;spent;expired;expiring\r\n" +
				"card:4000123412341234;card:4000123412341234 web:7;50;0;0;0;31/03/2026=50\r\n"},
		{"amount, point, BOM, ISO dates", ExportOptions{Program: card, Dialect: csvio.Dialect{Delimiter: ',', Decimal: csvio.DecimalPoint, BOM: true, DateFormat: "2006-01-02"}}, 1,
			"\ufeffcustomer,identifiers,earned,provisional,spent,expired,expiring\r\n" +
				"card:9001,card:9001,13.34,0.00,0.00,0.00,\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			n, err := Export(context.Background(), l, &b, tc.o)
			if err != nil || n != tc.rows {
				t.Fatalf("%d rows, %v; want %d", n, err, tc.rows)
			}
			if b.String() != tc.want {
				t.Fatalf("export\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}

// TestExportWindows1252 writes a note-free export in Windows-1252 and
// refuses a BOM with it, as the configuration check does.
func TestExportWindows1252(t *testing.T) {
	l := openSQLite(t)
	seed(t, l)
	var b bytes.Buffer
	if _, err := Export(context.Background(), l, &b, ExportOptions{Program: card, Dialect: csvio.Dialect{Encoding: csvio.EncodingWindows1252}}); err != nil {
		t.Fatal(err)
	}
	text, err := charmap.Windows1252.NewDecoder().String(b.String())
	if err != nil || !strings.Contains(text, "card:9001;card:9001;1,00;") {
		t.Fatalf("%q, %v", text, err)
	}
	_, err = Export(context.Background(), l, &b, ExportOptions{Program: card, Dialect: csvio.Dialect{Encoding: csvio.EncodingWindows1252, BOM: true}})
	if err == nil || !strings.Contains(err.Error(), "bom") {
		t.Fatalf("BOM with Windows-1252: %v", err)
	}
}

// TestExportStops covers options that cannot work.
func TestExportStops(t *testing.T) {
	l := openSQLite(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		l    *ledger.Ledger
		o    ExportOptions
		want string
	}{
		{"no ledger", context.Background(), nil, ExportOptions{Program: shop}, "no ledger"},
		{"no program", context.Background(), l, ExportOptions{}, "set ExportOptions.Program"},
		{"unknown program", context.Background(), l, ExportOptions{Program: rules.Program{ID: "nope"}}, "nope"},
		{"canceled", canceled, l, ExportOptions{Program: shop}, "canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if _, err := Export(tc.ctx, tc.l, &b, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}
