package configs

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/cases")

// TestCases loads testdata/cases/<case>/config.yaml and compares the error
// with expected.err (empty: the file is valid) and, for a valid file, the
// printed configuration with expected.yaml. An optional env file holds
// NAME=value lines for ${...} expansion. Adding a case is adding a folder;
// go test -run TestCases -update writes the expected files.
func TestCases(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 12 {
		t.Fatalf("only %d cases found", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			l := Loader{LookupEnv: envMap(readEnvFile(t, filepath.Join(dir, "env")))}
			c, err := l.Load(filepath.Join(dir, "config.yaml"))
			// Messages and paths relative to the case folder, so the
			// golden files do not depend on where the case lives.
			rel := func(s string) string { return strings.ReplaceAll(s, dir+string(filepath.Separator), "") }
			gotErr := ""
			if err != nil {
				gotErr = rel(err.Error()) + "\n"
			}
			golden(t, filepath.Join(dir, "expected.err"), gotErr)
			yamlFile := filepath.Join(dir, "expected.yaml")
			if err == nil {
				golden(t, yamlFile, rel(c.Redacted()))
			} else if _, statErr := os.Stat(yamlFile); statErr == nil {
				t.Errorf("%s exists but the case fails", yamlFile)
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestCases -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=value", path, line)
		}
		vars[name] = value
	}
	return vars
}
