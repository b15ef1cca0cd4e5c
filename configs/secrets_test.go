package configs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secretValue = "pointsync:hunter2@tcp(db:3306)/ledger"

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mysqlConfig(dsnLines string) string {
	return "ledger:\n  driver: mysql\n" + dsnLines + "programs:\n  - id: shop\n"
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dsn"), "\n  "+secretValue+"\r\n")
	path := filepath.Join(dir, "c.yaml")
	writeFile(t, path, mysqlConfig("  dsn_file: dsn\n")) // relative to the config's folder
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Ledger.DSN.Reveal() != secretValue {
		t.Fatalf("dsn = %q", c.Ledger.DSN.Reveal())
	}
	assertNoSecret(t, c)
	if out := c.Redacted(); !strings.Contains(out, "dsn_file: dsn") || strings.Contains(out, "dsn: ") {
		t.Errorf("redacted output should show dsn_file and leave out the dsn read from it:\n%s", out)
	}
	// The printed configuration loads again, in the same folder.
	writeFile(t, path, c.Redacted())
	if _, err := Load(path); err != nil {
		t.Fatalf("printed configuration does not load: %v", err)
	}
}

func TestSecretInline(t *testing.T) {
	c := mustParse(t, mysqlConfig("  dsn: ${DSN}\n"), map[string]string{"DSN": secretValue})
	if c.Ledger.DSN.Reveal() != secretValue {
		t.Fatalf("dsn = %q", c.Ledger.DSN.Reveal())
	}
	assertNoSecret(t, c)
	if !strings.Contains(c.Redacted(), `dsn: '***'`) && !strings.Contains(c.Redacted(), `dsn: "***"`) {
		t.Errorf("redacted output should show dsn as ***:\n%s", c.Redacted())
	}
}

// assertNoSecret checks every way a Config is commonly printed.
func assertNoSecret(t *testing.T, c *Config) {
	t.Helper()
	js, _ := json.Marshal(c.Ledger)
	for _, out := range []string{
		c.Redacted(), c.String(),
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%v", *c), fmt.Sprintf("%#v", c.Ledger),
		fmt.Sprintf("%s %q %x", c.Ledger.DSN, c.Ledger.DSN, c.Ledger.DSN), string(js),
	} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret printed:\n%s", out)
		}
	}
}

func TestSecretErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty"), " \n")
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "big"), strings.Repeat("x", maxSecretSize+1))
	tests := []struct {
		file, want string
		is         error
	}{
		{"missing", "c.yaml:3: ledger.dsn_file: cannot read the secret: open " + filepath.Join(dir, "missing") + ": no such file or directory", fs.ErrNotExist},
		{"empty", "c.yaml:3: ledger.dsn_file: cannot read the secret: " + filepath.Join(dir, "empty") + " is empty", nil},
		{"folder", "c.yaml:3: ledger.dsn_file: cannot read the secret: read " + filepath.Join(dir, "folder") + ": is a directory", nil},
		{"big", "c.yaml:3: ledger.dsn_file: cannot read the secret: " + filepath.Join(dir, "big") + " is larger than 64 KiB; is it the right file?", nil},
	}
	for _, tt := range tests {
		_, err := Parse(filepath.Join(dir, "sub", "..", "c.yaml"), []byte(mysqlConfig("  dsn_file: "+tt.file+"\n")))
		if err == nil {
			t.Errorf("%s: no error", tt.file)
			continue
		}
		got := strings.ReplaceAll(err.Error(), filepath.Join(dir, "sub", "..", "c.yaml"), "c.yaml")
		if got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.file, got, tt.want)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%s: errors.Is(%v) is false", tt.file, tt.is)
		}
	}
}

// Both forms given: the message names both keys but never the value.
func TestSecretBothSet(t *testing.T) {
	_, err := parseString(t, mysqlConfig("  dsn: "+secretValue+"\n  dsn_file: /run/secrets/dsn\n"), nil)
	want := "c.yaml:4: ledger.dsn_file: both dsn (line 3) and dsn_file are set; keep one"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestSkipSecrets(t *testing.T) {
	src := mysqlConfig("  dsn_file: /nonexistent/pointsync-dsn\n")
	c, err := Loader{SkipSecrets: true}.Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ledger.DSN != "" || c.Ledger.DSNFile != "/nonexistent/pointsync-dsn" {
		t.Fatalf("ledger = %+v", c.Ledger)
	}
	if _, err := (Loader{}).Parse("c.yaml", []byte(src)); err == nil {
		t.Fatal("the secret file was not read without SkipSecrets")
	}
}

// Redacted output is itself a valid configuration that loads to the same
// printed form; a literal ${ survives the trip.
func TestRedactedRoundTrip(t *testing.T) {
	c := mustParse(t, `
ledger:
  busy_timeout: 1m30s
programs:
  - id: shop
    name: "costs $${PRICE} and $5"
    expiry: {policy: fixed_date, date: 2026-12-31}
import:
  delimiter: tab
  columns: {note: "Note $${x}"}
export:
  delimiter: "\t"
  bom: true
`, nil)
	out := c.Redacted()
	c2, err := Parse("c.yaml", []byte(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if c2.Programs[0].Name != "costs ${PRICE} and $5" || c2.Import.Columns["note"] != "Note ${x}" {
		t.Fatalf("values changed: %q %q", c2.Programs[0].Name, c2.Import.Columns["note"])
	}
	if out2 := c2.Redacted(); out2 != out {
		t.Fatalf("second print differs:\n%s\n---\n%s", out, out2)
	}
}
