package csvdrop

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pointsync/pointsync/mapping"
)

// TestUnreadableRowNeighbours: an unreadable row may be a line of the
// group before it or after it; the one it names (at the header's
// positions) is not applied, and one it does not show is not trusted.
func TestUnreadableRowNeighbours(t *testing.T) {
	const till = "negozio;cassa;scontrino;data_ora;tessera;importo\r\n"
	row := func(receipt, gross string) string {
		return "S1;T1;" + receipt + ";15/01/2026 10:00;0420001111;" + gross + "\r\n"
	}
	const order = "ordine;cliente;data_ordine;stato;importo\r\n"
	orow := func(id, gross string) string { return id + ";web:1;2026-01-15;paid;" + gross + "\r\n" }
	const doc = "tipo_documento;anno;numero;natura;ordine;data;importo\r\n"
	drow := func(num, gross string) string { return "FT;2026;" + num + ";invoice;W1;2026-01-15;" + gross + "\r\n" }
	tests := []struct {
		name    string
		typ     mapping.Type
		content string
		applied []string
		refused []string // "line: start of the reason"
	}{
		{"first line of the next receipt",
			mapping.TypeTillReceipt, till + row("1", "1,00") + "S1;T1;2;15/01/2026 10:00\r\n" + row("2", "2,00") + row("3", "3,00"),
			[]string{"receipt S1/T1/1", "receipt S1/T1/3"},
			[]string{"3: the row has 4 fields", "4: receipt S1/T1/2 is not applied: the unreadable row at line 3 names it too"}},
		{"at the top of the file",
			mapping.TypeTillReceipt, till + "S1;T1;1;\"15/01\"x;0420001111;1,00\r\n" + row("1", "1,00") + row("2", "2,00"),
			[]string{"receipt S1/T1/2"},
			[]string{"2: a quote", "3: receipt S1/T1/1 is not applied: the unreadable row at line 2 names it too"}},
		{"a receipt of its own",
			mapping.TypeTillReceipt, till + row("1", "1,00") + "S1;T1;2;1\r\n" + row("3", "3,00"),
			[]string{"receipt S1/T1/1", "receipt S1/T1/3"},
			[]string{"3: the row has 4 fields"}},
		{"a row that shows no key",
			mapping.TypeTillReceipt, till + row("1", "1,00") + "rubbish\r\n" + row("3", "3,00") + row("4", "4,00"),
			[]string{"receipt S1/T1/4"},
			[]string{"2: receipt S1/T1/1 is not applied: the unreadable row at line 3 beside it does not show which receipt",
				"3: the row has 1 fields", "4: receipt S1/T1/3 is not applied: the unreadable row at line 3 beside it does not show"}},
		{"a row shifted by a delimiter in a value",
			mapping.TypeTillReceipt, till + row("1", "1,00") + "S1;T1;9;15/01/2026 10:00;0420001111;1;00\r\n" + row("3", "3,00"),
			nil,
			[]string{"2: receipt S1/T1/1 is not applied", "3: the row has 7 fields", "4: receipt S1/T1/3 is not applied"}},
		{"two unreadable rows in a row",
			mapping.TypeTillReceipt, till + row("1", "1,00") + "S1;T1;7\r\n" + "S1;T1;2\r\n" + row("2", "2,00") + row("3", "3,00"),
			[]string{"receipt S1/T1/1", "receipt S1/T1/3"},
			[]string{"3: the row has 3 fields", "4: the row has 3 fields", "5: receipt S1/T1/2 is not applied: the unreadable row at line 4 names it too"}},
		{"web order",
			mapping.TypeWebOrder, order + orow("W1", "1,00") + orow("W2", "2,00") + "W2;web:1\r\n" + orow("W3", "3,00"),
			[]string{"order W1", "order W3"},
			[]string{"3: order W2 is not applied: the unreadable row at line 4 names it too", "4: the row has 2 fields"}},
		{"ERP document by its parts",
			mapping.TypeERPDocument, doc + drow("1", "1,00") + drow("2", "2,00") + "FT;2026;2;invoice\r\n" + drow("3", "3,00"),
			[]string{"document FT/2026//1", "document FT/2026//3"},
			[]string{"3: document FT/2026//2 is not applied: the unreadable row at line 4 names it too", "4: the row has 4 fields"}},
		{"actions are one row each",
			mapping.TypeAction, "cliente;azione;data_ora\r\nweb:1;registration;2026-01-15\r\nweb:1;newsletter\r\nweb:2;registration;2026-01-15\r\n",
			[]string{"registration of web:1", "registration of web:2"},
			[]string{"3: the row has 2 fields"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(t, func(o *Options) { o.Mapping.Type = tt.typ })
			d.drop("f.csv", tt.content, time.Minute)
			d.run(1)
			var applied []string
			for _, f := range d.facts() {
				applied = append(applied, f.Subject())
			}
			if !reflect.DeepEqual(applied, tt.applied) {
				t.Errorf("applied %q, want %q", applied, tt.applied)
			}
			u, _ := d.unitByName("f.csv")
			var refused []string
			for _, r := range d.rejects[u.Key] {
				refused = append(refused, fmt.Sprintf("%d: %s", r.Line, r.Reason))
			}
			ok := len(refused) == len(tt.refused)
			for i := 0; ok && i < len(refused); i++ {
				ok = strings.HasPrefix(refused[i], tt.refused[i])
			}
			if !ok {
				t.Errorf("refused\n%s\nwant\n%s", strings.Join(refused, "\n"), strings.Join(tt.refused, "\n"))
			}
		})
	}
}

func TestLineTracker(t *testing.T) {
	var b strings.Builder
	b.WriteString("\ufeffsep=;\r\n\r\nh1;h2\r\n")
	for i := 4; i <= trackLines+10; i++ {
		fmt.Fprintf(&b, "%d;%s\r\n", i, strings.Repeat("v", i%3*300))
	}
	b.WriteString("last;no newline")
	lt := &lineTracker{r: strings.NewReader(b.String()), n: 1}
	buf := make([]byte, 777)
	for {
		if _, err := lt.Read(buf); err != nil {
			break
		}
	}
	if got := string(lt.header); got != "h1;h2\r" {
		t.Errorf("header %q", got)
	}
	if _, ok := lt.raw(4); ok {
		t.Error("line 4 still kept after more than trackLines lines")
	}
	if u := lt.unreadable(4, ';'); u.fields != nil {
		t.Errorf("line 4 gone, but fields %q", u.fields)
	}
	last := trackLines + 11
	if u := lt.unreadable(last, ';'); !reflect.DeepEqual(u.fields, []string{"last", "no newline"}) || u.cut {
		t.Errorf("last line %+v", u)
	}
	// 2*300 bytes: kept only up to trackBytes, the cut value dropped.
	n := trackLines + 10
	for n%3 != 2 {
		n--
	}
	if u := lt.unreadable(n, ';'); !u.cut || !reflect.DeepEqual(u.fields, []string{fmt.Sprint(n)}) {
		t.Errorf("line %d: %+v", n, u)
	}
}
