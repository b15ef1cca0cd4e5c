package bulk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/rules"
)

// TestImportOneBadRow puts one bad row first, in the middle and last among
// good ones: without SkipInvalid nothing is applied and the error names
// the count; with it the good rows are applied. The bad row is found by
// the checks (a decimal in points) or by the ledger (unknown customer).
func TestImportOneBadRow(t *testing.T) {
	good := []string{"web:1;5", "web:2;7", "web:1;-3"}
	for _, bad := range []struct {
		name, row, column string
		byLedger          bool
	}{
		{"checks", "web:2;1,5", "points", false},
		{"ledger", "web:99;4", "customer", true},
	} {
		for pos := 0; pos <= len(good); pos++ {
			for _, skip := range []bool{false, true} {
				t.Run(bad.name+"/at"+strconv.Itoa(pos)+"/skip="+strconv.FormatBool(skip), func(t *testing.T) {
					l := openSQLite(t)
					seed(t, l)
					rows := append(append(append([]string{}, good[:pos]...), bad.row), good[pos:]...)
					in := "customer;points\n" + strings.Join(rows, "\n") + "\n"
					res, err := Import(context.Background(), l, strings.NewReader(in), ImportOptions{Program: shop, Name: "f.csv", SkipInvalid: skip, Actor: "test"})
					wantLine := pos + 2
					if res.Rejected != 1 || len(res.Errors) != 1 || res.Errors[0].Line != wantLine || res.Errors[0].Column != bad.column {
						t.Fatalf("rejected %d, errors %+v; want 1 at line %d column %s", res.Rejected, res.Errors, wantLine, bad.column)
					}
					w1, w2 := int64(10), int64(1)
					if skip {
						if err != nil || res.Applied != 3 {
							t.Fatalf("skip: applied %d, err %v; want 3 and nil", res.Applied, err)
						}
						w1, w2 = 10+5-3, 1+7
					} else {
						var rej *RejectedError
						if !errors.Is(err, ErrRejected) || !errors.As(err, &rej) || rej.Rows != 1 || rej.ByLedger != bad.byLedger || rej.Name != "f.csv" {
							t.Fatalf("err %v (%+v); want a RejectedError of 1 row, by ledger %v", err, rej, bad.byLedger)
						}
						if res.Applied != 0 || res.Replayed != 0 {
							t.Fatalf("nothing applied but the result says %+v", res)
						}
					}
					if g1, g2 := earned(t, l, "shop", "web:1"), earned(t, l, "shop", "web:2"); g1 != w1 || g2 != w2 {
						t.Fatalf("balances web:1 %d web:2 %d, want %d and %d", g1, g2, w1, w2)
					}
				})
			}
		}
	}
}

// TestImportDryRun checks that a dry run says what the real import then
// does, and saves nothing.
func TestImportDryRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(testing.TB) *ledger.Ledger) {
		l := open(t)
		seed(t, l)
		in := "customer;points;expiry\nweb:1;5;31/12/2099\nweb:1;-20;\nweb:3;2;\n"
		o := ImportOptions{Program: shop, Name: "f.csv", SkipInvalid: true, CreateCustomers: true, DryRun: true, Actor: "test"}
		dry, err := Import(context.Background(), l, strings.NewReader(in), o)
		if err != nil || !dry.DryRun || dry.Applied != 2 || dry.Rejected != 1 {
			t.Fatalf("dry run: %+v, %v", dry, err)
		}
		if e1, e3 := earned(t, l, "shop", "web:1"), earned(t, l, "shop", "web:3"); e1 != 10 || e3 != -1 {
			t.Fatalf("the dry run saved: web:1 %d, web:3 %d", e1, e3)
		}
		o.DryRun = false
		real, err := Import(context.Background(), l, strings.NewReader(in), o)
		if err != nil || real.DryRun || real.Applied != dry.Applied || real.Rejected != dry.Rejected || real.Replayed != 0 {
			t.Fatalf("import after the dry run: %+v, %v; the dry run said %+v", real, err, dry)
		}
		if e1, e3 := earned(t, l, "shop", "web:1"), earned(t, l, "shop", "web:3"); e1 != 15 || e3 != 2 {
			t.Fatalf("after the import: web:1 %d, web:3 %d", e1, e3)
		}
	})
}

// TestImportReplay imports the same content under another name, through
// another kind of reader: nothing changes and every row is a replay. A
// content differing by one byte is a new file.
func TestImportReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(testing.TB) *ledger.Ledger) {
		l := open(t)
		seed(t, l)
		in := "customer;points;note\nweb:1;5;a\nweb:2;x;\nweb:2;7;b\n"
		o := ImportOptions{Program: shop, Name: "first.csv", SkipInvalid: true, Actor: "ann"}
		first, err := Import(context.Background(), l, strings.NewReader(in), o)
		if err != nil || first.Applied != 2 || first.Rejected != 1 {
			t.Fatalf("first import: %+v, %v", first, err)
		}
		o.Name, o.Actor = "renamed.csv", "bob"
		again, err := Import(context.Background(), l, iotest.OneByteReader(strings.NewReader(in)), o)
		if err != nil || again.Applied != 0 || again.Replayed != 2 || again.Rejected != 1 {
			t.Fatalf("same content under another name: %+v, %v; want 2 replayed", again, err)
		}
		if e1, e2 := earned(t, l, "shop", "web:1"), earned(t, l, "shop", "web:2"); e1 != 15 || e2 != 8 {
			t.Fatalf("balances after the replay: web:1 %d web:2 %d", e1, e2)
		}
		changed, err := Import(context.Background(), l, strings.NewReader(in+"\n"), o)
		if err != nil || changed.Applied != 2 || changed.Replayed != 0 {
			t.Fatalf("changed content: %+v, %v; want a new import", changed, err)
		}
	})
}

// plainReader hides every method but Read, as a request body does.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

// TestImportSources reads the same file from a plain reader (spooled to a
// temporary file, removed after), a pipe, a seekable reader positioned
// past a prefix and an *os.File: the results agree, and only the prefix
// case's bytes before the offset are ignored.
func TestImportSources(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	in := "customer;points\nweb:1;5\nweb:2;bad\nweb:2;7\n"
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		open func(t *testing.T) io.Reader
	}{
		{"plain", func(t *testing.T) io.Reader { return plainReader{strings.NewReader(in)} }},
		{"pipe", func(t *testing.T) io.Reader {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				io.WriteString(w, in)
				w.Close()
			}()
			t.Cleanup(func() { r.Close() })
			return r
		}},
		{"offset", func(t *testing.T) io.Reader {
			r := strings.NewReader("garbage before the file;\n" + in)
			if _, err := r.Seek(int64(len("garbage before the file;\n")), io.SeekStart); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"file", func(t *testing.T) io.Reader {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openSQLite(t)
			seed(t, l)
			var rep bytes.Buffer
			res, err := Import(context.Background(), l, tc.open(t), ImportOptions{Program: shop, Name: "in.csv", SkipInvalid: true, Actor: "test", Report: &rep})
			if err != nil || res.Applied != 2 || res.Rejected != 1 || res.Errors[0].Line != 3 {
				t.Fatalf("%+v, %v", res, err)
			}
			if !strings.Contains(rep.String(), "3;points;bad;") {
				t.Fatalf("report %q", rep.String())
			}
			// Every source has the same content, so the same keys.
			again, err := Import(context.Background(), l, strings.NewReader(in), ImportOptions{Program: shop, SkipInvalid: true, Actor: "test"})
			if err != nil || again.Replayed != 2 {
				t.Fatalf("the content hash differs from a plain read: %+v, %v", again, err)
			}
			left, err := filepath.Glob(filepath.Join(tmp, "pointsync-import-*"))
			if err != nil || len(left) != 0 {
				t.Fatalf("temporary files left behind: %v (%v)", left, err)
			}
		})
	}
}

// TestImportReport checks the report's form, that nothing is written to
// it when no row is bad, and that a report that cannot be written stops
// the import before anything is applied.
func TestImportReport(t *testing.T) {
	t.Run("form", func(t *testing.T) {
		l := openSQLite(t)
		seed(t, l)
		var rep bytes.Buffer
		in := "customer;points\nweb:1;x\nweb:1;1\nweb:404;2\n"
		if _, err := Import(context.Background(), l, strings.NewReader(in), ImportOptions{Program: shop, SkipInvalid: true, Report: &rep}); err != nil {
			t.Fatal(err)
		}
		want := "\ufeffline;column;value;reason\r\n2;points;x;is not a number\r\n" +
			"4;customer;2;\"unknown customer web:404: no customer has this identifier yet; add the customer first or import with --create-customers\"\r\n"
		if rep.String() != want {
			t.Fatalf("report\n%q\nwant\n%q", rep.String(), want)
		}
	})
	t.Run("clean", func(t *testing.T) {
		l := openSQLite(t)
		w := &countingWriter{}
		res, err := Import(context.Background(), l, strings.NewReader("customer;points\nweb:1;1\n"), ImportOptions{Program: shop, CreateCustomers: true, Report: w})
		if err != nil || res.Applied != 1 || w.writes != 0 {
			t.Fatalf("%+v, %v, %d writes to the report", res, err, w.writes)
		}
	})
	for _, in := range []string{"customer;points\nweb:1;x\nweb:1;1\n", "customer;points\nweb:404;2\nweb:1;1\n"} {
		t.Run("fails", func(t *testing.T) {
			l := openSQLite(t)
			seed(t, l)
			_, err := Import(context.Background(), l, strings.NewReader(in), ImportOptions{Program: shop, SkipInvalid: true, Report: failingWriter{}})
			if err == nil || !strings.Contains(err.Error(), "error report: disk full") {
				t.Fatalf("err %v, want the report's failure", err)
			}
			if e := earned(t, l, "shop", "web:1"); e != 10 {
				t.Fatalf("a failed report let rows through: web:1 %d", e)
			}
		})
	}
}

type countingWriter struct{ writes int }

func (w *countingWriter) Write(b []byte) (int, error) { w.writes++; return len(b), nil }

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestImportManyErrors checks the cap on listed errors and that the report
// still has every row.
func TestImportManyErrors(t *testing.T) {
	l := openSQLite(t)
	seed(t, l)
	var b strings.Builder
	b.WriteString("customer;points\n")
	const bad = MaxErrors + 234
	for i := range bad {
		b.WriteString("web:1;x" + strconv.Itoa(i) + "\nweb:2;1\n")
	}
	var rep bytes.Buffer
	res, err := Import(context.Background(), l, strings.NewReader(b.String()), ImportOptions{Program: shop, Report: &rep})
	if !errors.Is(err, ErrRejected) || res.Rejected != bad || len(res.Errors) != MaxErrors {
		t.Fatalf("rejected %d, %d errors listed, err %v", res.Rejected, len(res.Errors), err)
	}
	if last := res.Errors[MaxErrors-1]; last.Line != 2*MaxErrors || last.Value != "x"+strconv.Itoa(MaxErrors-1) {
		t.Fatalf("last listed error %+v", last)
	}
	if n := strings.Count(rep.String(), "\r\n"); n != bad+1 {
		t.Fatalf("report has %d lines, want %d", n, bad+1)
	}
}

// TestImportRewind replays what a transaction run twice does to the
// rejections: the second run's refusals replace the first's.
func TestImportRewind(t *testing.T) {
	var rep bytes.Buffer
	im := &importer{o: ImportOptions{Name: "f.csv", Report: &rep}}
	if err := im.startReport(); err != nil {
		t.Fatal(err)
	}
	reject := func(line int) {
		t.Helper()
		if err := im.reject(&csvio.RowError{File: "f.csv", Line: line, Column: "points", Value: "v", Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	reject(2)
	m, err := im.mark()
	if err != nil {
		t.Fatal(err)
	}
	for _, attempt := range [][]int{{3, 4}, {4}} {
		if err := im.rewind(m); err != nil {
			t.Fatal(err)
		}
		for _, line := range attempt {
			reject(line)
		}
	}
	if err := im.finishReport(); err != nil {
		t.Fatal(err)
	}
	if im.bad != 2 || len(im.errs) != 2 || im.errs[1].Line != 4 {
		t.Fatalf("bad %d, errors %+v; want lines 2 and 4", im.bad, im.errs)
	}
	want := "\ufeffline;column;value;reason\r\n2;points;v;r\r\n4;points;v;r\r\n"
	if rep.String() != want {
		t.Fatalf("report %q, want %q", rep.String(), want)
	}
}

// TestImportStops covers what stops an import with an error that is not
// about rows: bad options, a wrong header, a canceled context.
func TestImportStops(t *testing.T) {
	l := openSQLite(t)
	seed(t, l)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	good := "customer;points\nweb:1;1\n"
	for _, tc := range []struct {
		name string
		ctx  context.Context
		l    *ledger.Ledger
		in   io.Reader
		o    ImportOptions
		want string
	}{
		{"no ledger", context.Background(), nil, strings.NewReader(good), ImportOptions{Program: shop}, "no ledger"},
		{"no input", context.Background(), l, nil, ImportOptions{Program: shop}, "no input"},
		{"no program", context.Background(), l, strings.NewReader(good), ImportOptions{}, "set ImportOptions.Program"},
		{"no zone", context.Background(), l, strings.NewReader(good), ImportOptions{Program: rules.Program{ID: "shop"}}, "no time zone"},
		{"unknown program", context.Background(), l, strings.NewReader(good), ImportOptions{Program: rules.Program{ID: "nope", Location: rome}}, "nope"},
		{"header", context.Background(), l, strings.NewReader("who;points\nweb:1;1\n"), ImportOptions{Program: shop, Name: "h.csv"}, `h.csv:1: header: unknown column "who"`},
		{"read error", context.Background(), l, iotest.ErrReader(errors.New("connection reset")), ImportOptions{Program: shop, Name: "r.csv"}, "import r.csv: copy to a temporary file: connection reset"},
		{"canceled", canceled, l, strings.NewReader(good), ImportOptions{Program: shop}, context.Canceled.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Import(tc.ctx, tc.l, tc.in, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrRejected) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	if e := earned(t, l, "shop", "web:1"); e != 10 {
		t.Fatalf("a stopped import wrote: web:1 %d", e)
	}
}
