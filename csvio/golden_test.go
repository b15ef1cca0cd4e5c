package csvio

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected files of golden tests")

// goldenCase is a folder of testdata/adjustments: input.csv, an optional
// dialect.txt of key=value lines, and expected.out / expected.err.
type goldenCase struct {
	dir     string
	dialect Dialect
	amount  bool
	columns map[string]string
}

func loadGoldenCase(t testing.TB, dir string) goldenCase {
	t.Helper()
	c := goldenCase{dir: dir, columns: map[string]string{}}
	f, err := os.Open(filepath.Join(dir, "dialect.txt"))
	if errors.Is(err, os.ErrNotExist) {
		return c
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s/dialect.txt:%d: want key=value", dir, n)
		}
		switch {
		case k == "delimiter":
			c.dialect.Delimiter, err = ParseDelimiter(v)
		case k == "decimal":
			c.dialect.Decimal, err = ParseDecimal(v)
		case k == "encoding":
			c.dialect.Encoding, err = ParseEncoding(v)
		case k == "dates":
			c.dialect.DateFormats = strings.Split(v, "|")
		case k == "amount":
			c.amount = v == "true"
		case strings.HasPrefix(k, "column."):
			c.columns[strings.TrimPrefix(k, "column.")] = v
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			t.Fatalf("%s/dialect.txt:%d: %v", dir, n, err)
		}
	}
	return c
}

// run reads the case's input and renders the rows and the errors, one per
// line, as the expected files hold them.
func (c goldenCase) run(t testing.TB) (out, errs string) {
	t.Helper()
	f, err := os.Open(filepath.Join(c.dir, "input.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var o, e strings.Builder
	cols, err := AdjustmentColumns(c.columns)
	if err != nil {
		t.Fatal(err)
	}
	ar, err := NewAdjustmentReader(f, "input.csv", c.dialect, cols, c.amount)
	if err != nil {
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("header error of type %T, want *FileError: %v", err, err)
		}
		return "", err.Error() + "\n"
	}
	for {
		a, err := ar.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(&e, err)
			var re *RowError
			if !errors.As(err, &re) {
				break
			}
			continue
		}
		fmt.Fprintln(&o, formatAdjustment(a, c.amount, c.dialect.Decimal))
	}
	return o.String(), e.String()
}

func formatAdjustment(a Adjustment, amount bool, dec Decimal) string {
	points := FormatInt(a.Points)
	if amount {
		points = FormatCents(a.Points, dec) + " EUR"
	}
	exp := "-"
	if a.HasExpiry {
		exp = a.Expiry.String()
	}
	return fmt.Sprintf("%d customer=%q points=%s expiry=%s note=%q", a.Line, a.Customer, points, exp, a.Note)
}

func TestAdjustmentGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "adjustments", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 12 {
		t.Fatalf("found %d golden cases, want at least 12", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := loadGoldenCase(t, dir)
			out, errs := c.run(t)
			checkGolden(t, filepath.Join(dir, "expected.out"), out)
			checkGolden(t, filepath.Join(dir, "expected.err"), errs)
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got\n%s--- want\n%s", path, got, want)
	}
}
