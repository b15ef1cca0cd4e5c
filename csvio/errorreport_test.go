package csvio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrorReportBytes(t *testing.T) {
	type row struct {
		line                  int
		column, value, reason string
	}
	tests := []struct {
		name string
		rows []row
		want string
	}{
		{"header only", nil, "\ufeffline;column;value;reason\r\n"},
		{"plain row", []row{{12, "gross", "12,3x", "not a number"}},
			"\ufeffline;column;value;reason\r\n12;gross;12,3x;not a number\r\n"},
		{"whole record and line 0", []row{{0, "", "", "the whole file is rejected"}},
			"\ufeffline;column;value;reason\r\n;;;the whole file is rejected\r\n"},
		// Windows line ends inside values too, as Excel writes them.
		{"delimiter, quotes and line breaks are quoted", []row{{3, "note", "a;b \"c\"\nd", "città; \"x\""}},
			"\ufeffline;column;value;reason\r\n3;note;\"a;b \"\"c\"\"\r\nd\";\"città; \"\"x\"\"\"\r\n"},
		{"invalid UTF-8 is replaced, not refused", []row{{7, "card", "caf\xe9", "bad \xff byte"}},
			"\ufeffline;column;value;reason\r\n7;card;caf\ufffd;bad \ufffd byte\r\n"},
		{"several rows keep their order", []row{{2, "a", "1", "r1"}, {9, "b", "2", "r2"}},
			"\ufeffline;column;value;reason\r\n2;a;1;r1\r\n9;b;2;r2\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			r, err := NewErrorReport(&buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range tt.rows {
				if err := r.Write(x.line, x.column, x.value, x.reason); err != nil {
					t.Fatalf("Write(%+v): %v", x, err)
				}
			}
			if err := r.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// The report is a CSV file like any other: the reader of this package
// must read back what was written, value for value.
func TestErrorReportReadsBack(t *testing.T) {
	var buf bytes.Buffer
	r, err := NewErrorReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", maxReportCell+10)
	rows := [][4]string{
		{"4", "points", " 12 ", "spaces inside quotes survive"},
		{"5", "", "x\r\ny", "a value across lines"},
		{"6", "card", long, "too long for a cell"},
	}
	for _, x := range rows {
		line := 0
		for _, c := range x[0] {
			line = line*10 + int(c-'0')
		}
		if err := r.Write(line, x[1], x[2], x[3]); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	cols := Columns{
		{Name: "line", Headers: []string{"line"}}, {Name: "column", Headers: []string{"column"}},
		{Name: "value", Headers: []string{"value"}}, {Name: "reason", Headers: []string{"reason"}},
	}
	rd, err := NewReader(bytes.NewReader(buf.Bytes()), "report.csv", Dialect{}, cols)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Delimiter() != ';' || rd.Encoding() != EncodingUTF8 {
		t.Errorf("read as %q %v, want ';' utf-8", rd.Delimiter(), rd.Encoding())
	}
	for i, want := range rows {
		got, err := rd.Next()
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if want[2] == long {
			v := got.Value("value")
			if n := utf8.RuneCountInString(v); n != maxReportCell || !strings.HasSuffix(v, "...") {
				t.Errorf("long value: %d runes ending %q, want %d ending ...", n, v[len(v)-6:], maxReportCell)
			}
			want[2] = v
		}
		// encoding/csv turns a quoted \r\n into \n, as Excel does.
		want[2] = strings.ReplaceAll(want[2], "\r\n", "\n")
		for j, name := range []string{"line", "column", "value", "reason"} {
			if got.Value(name) != want[j] {
				t.Errorf("row %d %s: got %q, want %q", i, name, got.Value(name), want[j])
			}
		}
	}
	if _, err := rd.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the rows: %v, want EOF", err)
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestErrorReportWriteFailure(t *testing.T) {
	r, err := NewErrorReport(&failWriter{})
	if err != nil {
		t.Fatal(err) // buffered: nothing reached the writer yet
	}
	if err := r.Write(1, "a", "b", "c"); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush on a failing writer: %v, want disk full", err)
	}
	if err := r.Write(2, "a", "b", "c"); err == nil {
		t.Error("Write after a failed flush succeeded")
	}
}

// FuzzErrorReport: whatever a bad row held, its report line is written
// and reads back as one record of four fields.
func FuzzErrorReport(f *testing.F) {
	f.Add(12, "gross", "12,3x", "not a number")
	f.Add(0, "", "a;b\r\n\"c", "caf\xe9")
	f.Fuzz(func(t *testing.T, line int, column, value, reason string) {
		var buf bytes.Buffer
		r, err := NewErrorReport(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Write(line, column, value, reason); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := r.Flush(); err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(buf.Bytes()) {
			t.Fatal("the report is not UTF-8")
		}
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), utf8BOM)))
		cr.Comma = ';'
		recs, err := cr.ReadAll()
		if err != nil || len(recs) != 2 || len(recs[1]) != 4 {
			t.Fatalf("read back: %q, %v", recs, err)
		}
		if line > 0 && recs[1][0] != strconv.Itoa(line) || line <= 0 && recs[1][0] != "" {
			t.Fatalf("line %d written as %q", line, recs[1][0])
		}
	})
}
