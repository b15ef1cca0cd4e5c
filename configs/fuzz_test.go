package configs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary files to the loader: it must never panic, a
// failure must be Errors whose every entry says something, and a file that
// loads must print (Redacted) to a file that loads to the same print.
func FuzzParse(f *testing.F) {
	examples, _ := fs.Glob(Examples, "*.yaml")
	for _, name := range examples {
		data, err := fs.ReadFile(Examples, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	cases, _ := filepath.Glob(filepath.Join("testdata", "cases", "*", "config.yaml"))
	for _, path := range cases {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Secrets are not read: a fuzzed dsn_file could name any file.
	l := Loader{SkipSecrets: true, LookupEnv: envMap(map[string]string{"SET": "value", "EMPTY": "", "DAYS": "30"})}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := l.Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("a Config came back with an error")
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %q (%T) is not a non-empty Errors", err, err)
			}
			for _, e := range es {
				if e.Msg == "" {
					t.Fatalf("empty message in %q", err)
				}
			}
			return
		}
		out := c.Redacted()
		c2, err := l.Parse("fuzz.yaml", []byte(out))
		if err != nil {
			t.Fatalf("printed configuration does not load: %v\n%s", err, out)
		}
		if out2 := c2.Redacted(); out2 != out {
			t.Fatalf("printed twice differently:\n%s\n---\n%s", out, out2)
		}
		if _, err := c.RulesPrograms(); err != nil {
			t.Fatalf("valid configuration, programs fail: %v", err)
		}
	})
}
