package sqlquery

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// A configured query is one statement: what follows a ';' outside strings,
// quoted identifiers and comments must be nothing but spaces, comments or
// more ';'. SQL Server runs a batch of statements whole, so a second one
// could write where the connector only reads.
func TestParseOneStatement(t *testing.T) {
	refused := []struct {
		name, query  string
		line, column int
	}{
		{"two selects", "SELECT 1; SELECT 2", 1, 11},
		{"a write after the select", "SELECT * FROM t WHERE id > :last_id;\nDELETE FROM t", 2, 1},
		{"after a comment", "SELECT 1; /* more */ DROP TABLE t", 1, 22},
		{"after a line comment", "SELECT 1; -- more\nEXEC xp_cmdshell 'dir'", 2, 1},
		{"a placeholder starts it", "SELECT 1;\n:limit", 2, 1},
		{"a string starts it", "SELECT 1; 'x'", 1, 11},
		{"a bracketed name starts it", "SELECT 1;[t]", 1, 10},
		{"leading semicolons do not hide it", ";SELECT 1;;SELECT 2", 1, 12},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query)
			var se *SeveralError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, %v; want a *SeveralError", tt.query, q, err)
			}
			if se.Line != tt.line || se.Column != tt.column {
				t.Errorf("second statement at %d:%d, want %d:%d (%v)", se.Line, se.Column, tt.line, tt.column, err)
			}
		})
	}
	accepted := []struct {
		name, query string
		names       []string
	}{
		{"a ';' at the end", "SELECT * FROM t WHERE id > :last_id LIMIT :limit;", []string{"last_id", "limit"}},
		{"';' then spaces and comments", "SELECT :limit; \n -- done\n /* really */ ;; ", []string{"limit"}},
		{"a leading ';WITH'", ";WITH u AS (SELECT 1 AS id) SELECT id FROM u WHERE id > :last_id", []string{"last_id"}},
		{"';' in a string", "SELECT 'a;b' FROM t WHERE id > :last_id", []string{"last_id"}},
		{"';' in a national string", "SELECT N'a; DROP TABLE t' FROM t", nil},
		{"';' in quoted identifiers", "SELECT \"a;b\", [c;d], `e;f` FROM t", nil},
		{"';' in comments", "SELECT 1 /* ; DROP */ -- ; DELETE\n FROM t", nil},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.query, err)
			}
			if got := q.Names(); !slices.Equal(got, tt.names) {
				t.Errorf("names %v, want %v", got, tt.names)
			}
			want := strings.NewReplacer(":last_id", "?", ":limit", "?").Replace(tt.query)
			if text, _, err := q.For(DriverMySQL); err != nil || text != want {
				t.Errorf("For(mysql) = %q, %v; want %q: the text around the placeholders is kept", text, err, want)
			}
		})
	}
}
