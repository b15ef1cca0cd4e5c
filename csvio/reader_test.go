package csvio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestParseDialectWords(t *testing.T) {
	delims := map[string]rune{"auto": 0, ";": ';', ",": ',', "tab": '\t', "\t": '\t', "TAB": '\t', "semicolon": ';'}
	for in, want := range delims {
		got, err := ParseDelimiter(in)
		if err != nil || got != want {
			t.Errorf("ParseDelimiter(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"|", "colon", ";;", "x"} {
		if _, err := ParseDelimiter(in); err == nil || !strings.Contains(err.Error(), "use auto") {
			t.Errorf("ParseDelimiter(%q) error %v, want one listing the choices", in, err)
		}
	}
	decs := map[string]Decimal{"comma": DecimalComma, "point": DecimalPoint, "Point": DecimalPoint, ",": DecimalComma}
	for in, want := range decs {
		got, err := ParseDecimal(in)
		if err != nil || got != want {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseDecimal("virgola"); err == nil || !strings.Contains(err.Error(), "use comma") {
		t.Errorf("ParseDecimal(virgola) error %v", err)
	}
	encs := map[string]Encoding{"auto": EncodingAuto, "utf-8": EncodingUTF8, "UTF8": EncodingUTF8, "windows-1252": EncodingWindows1252, "cp1252": EncodingWindows1252}
	for in, want := range encs {
		got, err := ParseEncoding(in)
		if err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseEncoding("latin9"); err == nil || !strings.Contains(err.Error(), "windows-1252") {
		t.Errorf("ParseEncoding(latin9) error %v", err)
	}
}

func TestDialectValidate(t *testing.T) {
	bad := []struct {
		d    Dialect
		want string
	}{
		{Dialect{Delimiter: '"'}, "delimiter"},
		{Dialect{Delimiter: '\n'}, "delimiter"},
		{Dialect{DateFormats: []string{"dd/mm/yyyy"}}, `layout "dd/mm/yyyy"`},
		{Dialect{DateFormat: "01/2006"}, "date format"},
		{Dialect{Decimal: 7}, "decimal"},
		{Dialect{Encoding: 9}, "encoding"},
	}
	for _, tt := range bad {
		if err := tt.d.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want an error about %s", tt.d, err, tt.want)
		}
	}
	if err := (Dialect{DateFormats: []string{"02.01.2006"}, DateFormat: "2006-01-02"}).Validate(); err != nil {
		t.Errorf("good dialect: %v", err)
	}
}

func TestDetectDelimiter(t *testing.T) {
	tests := []struct {
		header string
		want   rune
	}{
		{"a;b;c", ';'},
		{"a,b,c", ','},
		{"a\tb\tc", '\t'},
		{`"a,b";c`, ';'},     // the comma is inside quotes
		{`"x;y;z",b,c`, ','}, // so are these semicolons
		{"nome, cognome;punti;note", ';'},
	}
	for _, tt := range tests {
		got, err := detectDelimiter([]byte(tt.header))
		if err != nil || got != tt.want {
			t.Errorf("detectDelimiter(%q) = %q, %v; want %q", tt.header, got, err, tt.want)
		}
	}
	for _, h := range []string{"a;b,c", "abc", `"a;b,c"`, ""} {
		if _, err := detectDelimiter([]byte(h)); !errors.Is(err, errNoDelimiter) {
			t.Errorf("detectDelimiter(%q) error %v, want errNoDelimiter", h, err)
		}
	}
}

var testCols = Columns{
	{Name: "id", Required: true, Headers: []string{"id", "codice"}},
	{Name: "text", Headers: []string{"text", "testo"}},
	{Name: "extra", Headers: []string{"extra"}},
}

func readAll(t *testing.T, r *Reader) (rows []Row, errs []error) {
	t.Helper()
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, errs
		}
		if err != nil {
			errs = append(errs, err)
			var re *RowError
			if !errors.As(err, &re) {
				return rows, errs
			}
			continue
		}
		rows = append(rows, row)
	}
}

func TestRowAccess(t *testing.T) {
	in := "Codice;TESTO\r\n 7 ;\"two\r\nlines\"\r\n8;\" spaced \"\r\n"
	r, err := NewReader(strings.NewReader(in), "f.csv", Dialect{}, testCols)
	if err != nil {
		t.Fatal(err)
	}
	if r.Delimiter() != ';' || r.Encoding() != EncodingUTF8 {
		t.Errorf("detected %q %v", r.Delimiter(), r.Encoding())
	}
	rows, errs := readAll(t, r)
	if len(errs) > 0 || len(rows) != 2 {
		t.Fatalf("rows %v errors %v", rows, errs)
	}
	r0, r1 := rows[0], rows[1]
	if r0.Line != 2 || r0.Value("id") != "7" || r0.Value("text") != "two\nlines" || !r0.Has("text") {
		t.Errorf("row 0: line %d id %q text %q", r0.Line, r0.Value("id"), r0.Value("text"))
	}
	if r0.Has("extra") || r0.Value("extra") != "" || r0.Has("nope") || r0.Value("nope") != "" {
		t.Errorf("absent columns: Has(extra)=%v Has(nope)=%v", r0.Has("extra"), r0.Has("nope"))
	}
	if r1.Line != 4 || r1.Value("text") != " spaced " || r1.LineOf("text") != 4 {
		t.Errorf("row 1: line %d text %q", r1.Line, r1.Value("text"))
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the end: %v, want io.EOF", err)
	}
}

// TestTrimOnlyUnquoted checks every position a quoted value can take,
// since the reader infers quoting from field positions.
func TestTrimOnlyUnquoted(t *testing.T) {
	in := "id;text;extra\n" +
		" a ; b ; c \n" +
		"\" a \";\" b \";\" c \"\n" +
		"\" a \"; b ;\" c \"\r\n" +
		" a ;\" b \"; c \r\n" +
		"\"\";\" \";\"\"\n" +
		"x;\"\"\"q\"\"\"; \"\n" // a bare quote at the end: an error, not a trim
	r, err := NewReader(strings.NewReader(in), "f.csv", Dialect{}, testCols)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := readAll(t, r)
	want := [][3]string{{"a", "b", "c"}, {" a ", " b ", " c "}, {" a ", "b", " c "}, {"a", " b ", "c"}, {"", " ", ""}}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d (errors %v)", len(rows), len(want), errs)
	}
	for i, w := range want {
		got := [3]string{rows[i].Value("id"), rows[i].Value("text"), rows[i].Value("extra")}
		if got != w {
			t.Errorf("row %d = %q, want %q", i, got, w)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "f.csv:7: a quote inside a value") {
		t.Errorf("errors %v, want the bare quote on line 7", errs)
	}
}

func TestAutoEncodingPastSample(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("id;text\n")
	n := 1
	for b.Len() < sampleSize+1000 {
		n++
		fmt.Fprintf(&b, "%d;plain ascii text\n", n)
	}
	b.WriteString("late;caff\xe8\n")
	b.WriteString("after;ok\n")
	r, err := NewReader(&b, "big.csv", Dialect{}, testCols)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := readAll(t, r)
	if len(rows) != n {
		t.Errorf("%d rows, want %d", len(rows), n)
	}
	want := fmt.Sprintf(`big.csv:%d: column "text": value "caff`+"\uFFFD"+`": not valid UTF-8: from here on the file looks like Windows-1252; set its encoding to windows-1252`, n+1)
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors %v\nwant %s", errs, want)
	}
}

func TestAutoEncodingRuneCutBySample(t *testing.T) {
	for shift := 0; shift < 3; shift++ {
		var b bytes.Buffer
		b.WriteString("id;text\n1;")
		b.WriteString(strings.Repeat("a", sampleSize-b.Len()-1-shift))
		b.WriteString("è€è€\n") // a 2- and 3-byte rune straddle the sample's end
		r, err := NewReader(bytes.NewReader(b.Bytes()), "cut.csv", Dialect{}, testCols)
		if err != nil {
			t.Fatal(err)
		}
		if r.Encoding() != EncodingUTF8 {
			t.Errorf("shift %d: encoding %v, want utf-8", shift, r.Encoding())
		}
		rows, errs := readAll(t, r)
		if len(errs) > 0 || len(rows) != 1 || !strings.HasSuffix(rows[0].Value("text"), "aè€è€") {
			t.Errorf("shift %d: rows %d errors %v", shift, len(rows), errs)
		}
	}
}

func TestWindows1252Decoding(t *testing.T) {
	in := "id;text\n1;\x80 \xe0 \xe8 \x96 \x93ok\x94\n"
	for _, enc := range []Encoding{EncodingAuto, EncodingWindows1252} {
		r, err := NewReader(strings.NewReader(in), "w.csv", Dialect{Encoding: enc}, testCols)
		if err != nil {
			t.Fatal(err)
		}
		rows, errs := readAll(t, r)
		if len(errs) > 0 || len(rows) != 1 || rows[0].Value("text") != "€ à è – “ok”" {
			t.Errorf("%v: rows %v errors %v", enc, rows, errs)
		}
	}
}

func TestRecordTooLong(t *testing.T) {
	long := "id;text\n1;short\n2;" + strings.Repeat("x", MaxRecordBytes+readAhead+10) + "\n3;never read\n"
	unclosed := "id;text\n1;short\n2;\"open\n" + strings.Repeat("3;looks like a row\n", (MaxRecordBytes+readAhead)/18+10)
	blankBefore := "id;text\n1;x\n" + strings.Repeat("\n", 1000) + "2;y\n"
	for name, tt := range map[string]struct {
		in        string
		rows      int
		wantStart int
	}{
		"long line": {long, 1, 3},
		"unclosed":  {unclosed, 1, 3},
	} {
		r, err := NewReader(strings.NewReader(tt.in), "l.csv", Dialect{}, testCols)
		if err != nil {
			t.Fatal(err)
		}
		rows, errs := readAll(t, r)
		var fe *FileError
		if len(rows) != tt.rows || len(errs) != 1 || !errors.As(errs[0], &fe) || !errors.Is(errs[0], errRecordTooLong) {
			t.Fatalf("%s: rows %d errors %v", name, len(rows), errs)
		}
		if !strings.Contains(fe.Error(), fmt.Sprintf("since line %d", tt.wantStart)) || fe.Line < tt.wantStart {
			t.Errorf("%s: %v", name, fe)
		}
		if _, again := r.Next(); again != errs[0] {
			t.Errorf("%s: after a fatal error Next returned %v", name, again)
		}
	}
	r, err := NewReader(strings.NewReader(blankBefore), "b.csv", Dialect{}, testCols)
	if err != nil {
		t.Fatal(err)
	}
	if rows, errs := readAll(t, r); len(rows) != 2 || len(errs) > 0 || rows[1].Line != 1003 {
		t.Errorf("blank lines: rows %v errors %v", rows, errs)
	}
}

func TestLongRecordUnderCap(t *testing.T) {
	// A big record just under the cap, then many small ones: the cap is per
	// record, not per file.
	var b strings.Builder
	b.WriteString("id;text\n1;\"")
	b.WriteString(strings.Repeat("ab\n", (MaxRecordBytes-100)/3))
	b.WriteString("\"\n")
	for i := 0; i < 200_000; i++ {
		b.WriteString("9;small row\n")
	}
	r, err := NewReader(strings.NewReader(b.String()), "u.csv", Dialect{}, testCols)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := readAll(t, r)
	if len(errs) > 0 || len(rows) != 200_001 {
		t.Fatalf("rows %d errors %v", len(rows), errs)
	}
	if want := 2 + (MaxRecordBytes-100)/3 + 1; rows[1].Line != want {
		t.Errorf("first small row on line %d, want %d", rows[1].Line, want)
	}
}

type failingReader struct {
	data io.Reader
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.data.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestReadFailure(t *testing.T) {
	boom := errors.New("disk on fire")
	var b strings.Builder
	b.WriteString("id;text\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "%d;x\n", i)
	}
	r, err := NewReader(&failingReader{strings.NewReader(b.String()), boom}, "f.csv", Dialect{}, testCols)
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := readAll(t, r)
	var fe *FileError
	if len(errs) != 1 || !errors.Is(errs[0], boom) || !errors.As(errs[0], &fe) || fe.File != "f.csv" {
		t.Fatalf("rows %d errors %v", len(rows), errs)
	}
	if _, err := NewReader(&failingReader{strings.NewReader(""), boom}, "g.csv", Dialect{}, testCols); !errors.Is(err, boom) {
		t.Errorf("failure at the start: %v", err)
	}
}

func TestHeaderErrorsAreFileErrors(t *testing.T) {
	for _, in := range []string{"", "\n\n", "id;id", "nope;id", "text", "\"id;text\n1;x\n", "id;te\"xt\n"} {
		_, err := NewReader(strings.NewReader(in), "h.csv", Dialect{}, testCols)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Line < 1 || fe.File != "h.csv" {
			t.Errorf("header %q: %T %v, want a *FileError with a line", in, err, err)
		}
	}
}

func TestColumnsValidation(t *testing.T) {
	if _, err := AdjustmentColumns(map[string]string{"customer": "nota"}); err == nil || !strings.Contains(err.Error(), `"nota" is used for both`) {
		t.Errorf("conflicting override: %v", err)
	}
	if _, err := AdjustmentColumns(map[string]string{"punti": "x"}); err == nil || !strings.Contains(err.Error(), `unknown column "punti"`) {
		t.Errorf("unknown override key: %v", err)
	}
	if _, err := AdjustmentColumns(map[string]string{"note": " "}); err == nil {
		t.Error("empty override accepted")
	}
	cols, err := AdjustmentColumns(map[string]string{"points": "Saldo Punti"})
	if err != nil || len(cols[1].Headers) != 1 || cols[1].Headers[0] != "Saldo Punti" {
		t.Errorf("override: %v %v", cols, err)
	}
	// The defaults must not leak between calls.
	if cols, _ := AdjustmentColumns(nil); cols[1].Headers[0] != "points" {
		t.Errorf("defaults changed: %v", cols[1].Headers)
	}
	if _, err := NewAdjustmentReader(strings.NewReader("a;b\n"), "x.csv", Dialect{}, Columns{{Name: "customer", Required: true, Headers: []string{"a"}}}, false); err == nil {
		t.Error("adjustment columns without points accepted")
	}
}
