package bulk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/csvio"
	"github.com/pointsync/pointsync/ledger"
)

var update = flag.Bool("update", false, "rewrite the expected files of golden tests")

// goldenCase is a folder of testdata/import: in.csv, an optional
// options.txt of key=value lines, expected.out (result, error, balances
// after) and expected.report.csv (absent when no report may be written).
// Every case starts from the seed customers.
type goldenCase struct {
	dir     string
	options ImportOptions
}

func loadGoldenCase(t testing.TB, dir string) goldenCase {
	t.Helper()
	c := goldenCase{dir: dir, options: ImportOptions{Program: shop, Name: "in.csv", Actor: "test"}}
	f, err := os.Open(filepath.Join(dir, "options.txt"))
	if errors.Is(err, os.ErrNotExist) {
		return c
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	columns := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s/options.txt:%d: want key=value", dir, n)
		}
		o := &c.options
		switch {
		case k == "program":
			o.Program = programByID(t, v)
		case k == "name":
			o.Name = v
		case k == "skip_invalid":
			o.SkipInvalid, err = strconv.ParseBool(v)
		case k == "create_customers":
			o.CreateCustomers, err = strconv.ParseBool(v)
		case k == "dry_run":
			o.DryRun, err = strconv.ParseBool(v)
		case k == "delimiter":
			o.Dialect.Delimiter, err = csvio.ParseDelimiter(v)
		case k == "decimal":
			o.Dialect.Decimal, err = csvio.ParseDecimal(v)
		case k == "encoding":
			o.Dialect.Encoding, err = csvio.ParseEncoding(v)
		case k == "dates":
			o.Dialect.DateFormats = strings.Split(v, "|")
		case strings.HasPrefix(k, "column."):
			columns[strings.TrimPrefix(k, "column.")] = v
		default:
			t.Fatalf("%s/options.txt:%d: unknown key %q", dir, n, k)
		}
		if err != nil {
			t.Fatalf("%s/options.txt:%d: %v", dir, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(columns) > 0 {
		if c.options.Columns, err = csvio.AdjustmentColumns(columns); err != nil {
			t.Fatalf("%s/options.txt: %v", dir, err)
		}
	}
	return c
}

// run imports the case into a seeded ledger and renders what came out.
func (c goldenCase) run(t *testing.T, l *ledger.Ledger) (out, report []byte) {
	t.Helper()
	seed(t, l)
	f, err := os.Open(filepath.Join(c.dir, "in.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rep bytes.Buffer
	o := c.options
	o.Report = &rep
	res, err := Import(context.Background(), l, f, o)
	var b bytes.Buffer
	js, jerr := json.MarshalIndent(res, "", "  ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	fmt.Fprintf(&b, "== result\n%s\n== error\n", js)
	if err != nil {
		fmt.Fprintf(&b, "%v\nrejected: %v\n", err, errors.Is(err, ErrRejected))
	}
	// The balances after, as the export writes them.
	for _, p := range []string{"shop", "card"} {
		fmt.Fprintf(&b, "== export %s\n", p)
		if _, err := Export(context.Background(), l, &b, ExportOptions{Program: programByID(t, p), Dialect: csvio.Dialect{Delimiter: ';', Encoding: csvio.EncodingUTF8}}); err != nil {
			t.Fatalf("export %s: %v", p, err)
		}
	}
	return bytes.ReplaceAll(b.Bytes(), []byte("\r\n"), []byte("\n")), rep.Bytes()
}

// TestImportGolden runs every folder of testdata/import on each backend.
// Run with -update to rewrite the expected files, then read the diff.
func TestImportGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "import", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases (%v)", err)
	}
	forEachBackend(t, func(t *testing.T, open func(testing.TB) *ledger.Ledger) {
		for _, dir := range dirs {
			t.Run(filepath.Base(dir), func(t *testing.T) {
				c := loadGoldenCase(t, dir)
				out, report := c.run(t, open(t))
				compareGolden(t, filepath.Join(dir, "expected.out"), out)
				compareGolden(t, filepath.Join(dir, "expected.report.csv"), report)
			})
		}
	})
}

// compareGolden checks got against the file at path; an empty got means
// the file must not exist.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		want, err = nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test ./bulk -run Golden -update, then review the diff)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
