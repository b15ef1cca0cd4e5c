package csvio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var sampleBalances = []BalanceRow{
	{Customer: "web:1001", Identifiers: []string{"web:1001", "card:0420001", "email:niccolò@example.it"},
		Earned: 123456, Provisional: 500, Spent: 2000, Expired: 0,
		Expiring: []Expiring{{Date{2026, time.March, 31}, 100}, {Date{2026, time.June, 30}, 1250}}},
	{Customer: "erp:C0002", Identifiers: []string{"erp:C0002"}, Earned: -5, Spent: 0},
	{Customer: "card:0420003", Earned: 0, Expired: 40, Expiring: nil},
}

func writeBalances(t *testing.T, d Dialect, amount bool, rows []BalanceRow) ([]byte, []error) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewBalanceWriter(&buf, d, amount)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			errs = append(errs, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), errs
}

func TestBalanceWriterGolden(t *testing.T) {
	tests := []struct {
		file    string
		dialect Dialect
		amount  bool
	}{
		{"balances_utf8_bom_points.csv", Dialect{BOM: true}, false},
		{"balances_utf8_amount_comma.csv", Dialect{Delimiter: ',', Encoding: EncodingUTF8}, true},
		{"balances_1252_amount.csv", Dialect{Encoding: EncodingWindows1252, DateFormat: "2006-01-02"}, true},
		{"balances_point_tab.csv", Dialect{Delimiter: '\t', Decimal: DecimalPoint, DateFormat: "01/02/2006"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, errs := writeBalances(t, tt.dialect, tt.amount, sampleBalances)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			path := filepath.Join("testdata", "writer", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestWriterBOMAndBytes(t *testing.T) {
	got, _ := writeBalances(t, Dialect{BOM: true}, false, sampleBalances[:1])
	if !bytes.HasPrefix(got, utf8BOM) || bytes.Count(got, utf8BOM) != 1 {
		t.Errorf("BOM missing or repeated: %q", got[:10])
	}
	got, _ = writeBalances(t, Dialect{}, false, sampleBalances[:1])
	if bytes.HasPrefix(got, utf8BOM) {
		t.Error("BOM written without being asked")
	}
	if !bytes.Contains(got, []byte("email:niccol\xc3\xb2@")) {
		t.Errorf("UTF-8 output lacks the UTF-8 'ò': %q", got)
	}
	got, _ = writeBalances(t, Dialect{Encoding: EncodingWindows1252}, false, sampleBalances[:1])
	if !bytes.Contains(got, []byte("email:niccol\xf2@")) {
		t.Errorf("Windows-1252 output lacks the 1252 'ò' (0xF2): %q", got)
	}
	if _, err := NewBalanceWriter(io.Discard, Dialect{Encoding: EncodingWindows1252, BOM: true}, false); err == nil {
		t.Error("BOM with windows-1252 accepted")
	}
}

func TestWriterUnencodable(t *testing.T) {
	rows := []BalanceRow{
		{Customer: "email:łukasz@example.pl", Earned: 1},
		{Customer: "card:1", Identifiers: []string{"card:1", "email:zoë@example.it"}, Earned: 2},
	}
	got, errs := writeBalances(t, Dialect{Encoding: EncodingWindows1252}, false, rows)
	if len(errs) != 1 {
		t.Fatalf("errors %v, want one", errs)
	}
	msg := errs[0].Error()
	for _, want := range []string{`customer "email:łukasz@example.pl"`, `'ł'`, "U+0142", "Windows-1252", "utf-8"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if bytes.Contains(got, []byte("ukasz")) || bytes.Contains(got, []byte("?")) {
		t.Errorf("the failed row left something behind: %q", got)
	}
	if !bytes.Contains(got, []byte("zo\xeb@")) {
		t.Errorf("the next row is missing: %q", got)
	}
}

func TestBalanceWriterRejects(t *testing.T) {
	for _, r := range []BalanceRow{
		{Customer: ""},
		{Customer: "c", Identifiers: []string{"two words"}},
		{Customer: "c", Identifiers: []string{""}},
		{Customer: "c", Expiring: []Expiring{{Points: 5}}},
	} {
		if _, errs := writeBalances(t, Dialect{}, false, []BalanceRow{r}); len(errs) != 1 {
			t.Errorf("%+v accepted", r)
		}
	}
	if _, errs := writeBalances(t, Dialect{}, false, []BalanceRow{{Customer: "bad\xff"}}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "not valid UTF-8") {
		t.Errorf("invalid UTF-8: %v", errs)
	}
}

func TestGenericWriter(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Dialect{}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]string{"only one"}); err == nil {
		t.Error("short row accepted")
	}
	if err := w.Write([]string{"x;y", `say "hi"`}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]string{" lead", "two\nlines"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "a;b\r\n\"x;y\";\"say \"\"hi\"\"\"\r\n\" lead\";\"two\r\nlines\"\r\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

var balanceCols = Columns{
	{Name: "customer", Required: true, Headers: []string{"customer"}},
	{Name: "identifiers", Required: true, Headers: []string{"identifiers"}},
	{Name: "earned", Required: true, Headers: []string{"earned"}},
	{Name: "provisional", Required: true, Headers: []string{"provisional"}},
	{Name: "spent", Required: true, Headers: []string{"spent"}},
	{Name: "expired", Required: true, Headers: []string{"expired"}},
	{Name: "expiring", Required: true, Headers: []string{"expiring"}},
}

// TestBalanceRoundTrip writes balances and reads them back with the generic
// reader in auto mode, as an operator's re-import would.
func TestBalanceRoundTrip(t *testing.T) {
	dialects := []Dialect{
		{BOM: true},
		{Encoding: EncodingWindows1252},
		{Delimiter: ',', Encoding: EncodingUTF8},
		{Delimiter: '\t', Decimal: DecimalPoint, DateFormat: "2006-01-02"},
	}
	for _, d := range dialects {
		for _, amount := range []bool{false, true} {
			data, errs := writeBalances(t, d, amount, sampleBalances)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			rd := d
			rd.Delimiter, rd.Encoding, rd.DateFormats = 0, EncodingAuto, []string{d.dateFormat()}
			r, err := NewReader(bytes.NewReader(data), "export.csv", rd, balanceCols)
			if err != nil {
				t.Fatalf("%+v: %v", d, err)
			}
			if r.Delimiter() != d.Delimiter && !(d.Delimiter == 0 && r.Delimiter() == ';') {
				t.Errorf("%+v: delimiter read back as %q", d, r.Delimiter())
			}
			for i, want := range sampleBalances {
				row, err := r.Next()
				if err != nil {
					t.Fatalf("%+v row %d: %v", d, i, err)
				}
				got := BalanceRow{Customer: row.Value("customer")}
				if ids := row.Value("identifiers"); ids != "" {
					got.Identifiers = strings.Split(ids, " ")
				}
				parse := func(s string) int64 {
					var n int64
					var err error
					if amount {
						n, err = ParseCents(s, d.Decimal)
					} else {
						n, err = ParseInt(s, d.Decimal)
					}
					if err != nil {
						t.Fatalf("%+v row %d: %v", d, i, err)
					}
					return n
				}
				got.Earned, got.Provisional = parse(row.Value("earned")), parse(row.Value("provisional"))
				got.Spent, got.Expired = parse(row.Value("spent")), parse(row.Value("expired"))
				if e := row.Value("expiring"); e != "" {
					for _, part := range strings.Split(e, "|") {
						ds, ns, _ := strings.Cut(part, "=")
						day, err := ParseDate(ds, rd.DateFormats)
						if err != nil {
							t.Fatal(err)
						}
						got.Expiring = append(got.Expiring, Expiring{day, parse(ns)})
					}
				}
				if !equalBalance(got, want) {
					t.Errorf("%+v amount=%v row %d:\n got %+v\nwant %+v", d, amount, i, got, want)
				}
			}
			if _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("%+v: trailing %v", d, err)
			}
		}
	}
}

func equalBalance(a, b BalanceRow) bool {
	if a.Customer != b.Customer || a.Earned != b.Earned || a.Provisional != b.Provisional ||
		a.Spent != b.Spent || a.Expired != b.Expired ||
		len(a.Identifiers) != len(b.Identifiers) || len(a.Expiring) != len(b.Expiring) {
		return false
	}
	for i := range a.Identifiers {
		if a.Identifiers[i] != b.Identifiers[i] {
			return false
		}
	}
	for i := range a.Expiring {
		if a.Expiring[i] != b.Expiring[i] {
			return false
		}
	}
	return true
}
