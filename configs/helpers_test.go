package configs

import (
	"errors"
	"testing"
)

// envMap is a LookupEnv over a fixed set of variables, so tests never
// depend on or change the process environment.
func envMap(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// parseString parses src as the file c.yaml in the current folder.
func parseString(t *testing.T, src string, vars map[string]string) (*Config, error) {
	t.Helper()
	return Loader{LookupEnv: envMap(vars)}.Parse("c.yaml", []byte(src))
}

// mustParse parses src and fails the test on any error.
func mustParse(t *testing.T, src string, vars map[string]string) *Config {
	t.Helper()
	c, err := parseString(t, src, vars)
	if err != nil {
		t.Fatalf("unexpected error:\n%v", err)
	}
	return c
}

// asErrors returns the Errors inside err, failing the test when there are
// none.
func asErrors(t *testing.T, err error) Errors {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v (%T) is not configs.Errors", err, err)
	}
	return es
}
