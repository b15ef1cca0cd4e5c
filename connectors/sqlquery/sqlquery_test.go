package sqlquery

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		names  []string
		server string // For("sqlserver")
		mysql  string // For("mysql")
		args   []string
	}{
		{
			name:   "cursor and limit",
			query:  "SELECT TOP (:limit) * FROM docs WHERE rv > :last_rv ORDER BY rv",
			names:  []string{"limit", "last_rv"},
			server: "SELECT TOP (@limit) * FROM docs WHERE rv > @last_rv ORDER BY rv",
			mysql:  "SELECT TOP (?) * FROM docs WHERE rv > ? ORDER BY rv",
			args:   []string{"limit", "last_rv"},
		},
		{
			name:   "repeated name",
			query:  "WHERE (u > :last_u OR (u = :last_u AND id > :last_id)) LIMIT :limit",
			names:  []string{"last_u", "last_id", "limit"},
			server: "WHERE (u > @last_u OR (u = @last_u AND id > @last_id)) LIMIT @limit",
			mysql:  "WHERE (u > ? OR (u = ? AND id > ?)) LIMIT ?",
			args:   []string{"last_u", "last_u", "last_id", "limit"},
		},
		{
			name:   "strings",
			query:  "SELECT 'a :x', N'b :y', 'it''s :z', :w",
			names:  []string{"w"},
			server: "SELECT 'a :x', N'b :y', 'it''s :z', @w",
			mysql:  "SELECT 'a :x', N'b :y', 'it''s :z', ?",
			args:   []string{"w"},
		},
		{
			name:   "quoted identifiers",
			query:  "SELECT \"a:b\", [c:d]]e], `f:g``h`, :v FROM t",
			names:  []string{"v"},
			server: "SELECT \"a:b\", [c:d]]e], `f:g``h`, @v FROM t",
			mysql:  "SELECT \"a:b\", [c:d]]e], `f:g``h`, ? FROM t",
			args:   []string{"v"},
		},
		{
			name:   "comments",
			query:  "SELECT 1 -- :not\n/* :nor\n :this */ FROM t WHERE x = :yes -- tail",
			names:  []string{"yes"},
			server: "SELECT 1 -- :not\n/* :nor\n :this */ FROM t WHERE x = @yes -- tail",
			mysql:  "SELECT 1 -- :not\n/* :nor\n :this */ FROM t WHERE x = ? -- tail",
			args:   []string{"yes"},
		},
		{
			name:   "casts and assignments",
			query:  "SELECT geography::Point(1, 2, 4326), @n := :n, x::int",
			names:  []string{"n"},
			server: "SELECT geography::Point(1, 2, 4326), @n := @n, x::int",
			mysql:  "SELECT geography::Point(1, 2, 4326), @n := ?, x::int",
			args:   []string{"n"},
		},
		{
			name:   "adjacent and at the ends",
			query:  ":a:b",
			names:  []string{"a", "b"},
			server: "@a@b",
			mysql:  "??",
			args:   []string{"a", "b"},
		},
		{
			name:   "lone colon and digits",
			query:  "SELECT ':' + x, y : z, :1",
			names:  []string{"1"},
			server: "SELECT ':' + x, y : z, @1",
			mysql:  "SELECT ':' + x, y : z, ?",
			args:   []string{"1"},
		},
		{
			name:   "name ends at a non-name character",
			query:  "x=:last_id+1, :café",
			names:  []string{"last_id", "caf"},
			server: "x=@last_id+1, @café",
			mysql:  "x=?+1, ?é",
			args:   []string{"last_id", "caf"},
		},
		{
			name:   "no placeholders",
			query:  "SELECT 1",
			names:  nil,
			server: "SELECT 1",
			mysql:  "SELECT 1",
		},
		{
			name:   "minus and slash alone",
			query:  "SELECT a - :b / c - -d",
			names:  []string{"b"},
			server: "SELECT a - @b / c - -d",
			mysql:  "SELECT a - ? / c - -d",
			args:   []string{"b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := q.Names(); !slices.Equal(got, tt.names) {
				t.Errorf("Names() = %q, want %q", got, tt.names)
			}
			text, args, err := q.For("sqlserver")
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.server || !slices.Equal(args, tt.names) {
				t.Errorf("For(sqlserver) = %q %q, want %q %q", text, args, tt.server, tt.names)
			}
			text, args, err = q.For("mysql")
			if err != nil {
				t.Fatal(err)
			}
			if text != tt.mysql || !slices.Equal(args, tt.args) {
				t.Errorf("For(mysql) = %q %q, want %q %q", text, args, tt.mysql, tt.args)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  string // the error's text
	}{
		{"empty", "", ErrEmpty.Error()},
		{"spaces", " \n\t ", ErrEmpty.Error()},
		{"only comments", "-- nothing\n/* here */", ErrEmpty.Error()},
		{"string", "SELECT 1\nWHERE a = 'x", "line 2:11: unterminated string: close it with ' (a ' inside it is written twice: '')"},
		{"national string", "SELECT N'abc", "line 1:9: unterminated string: close it with ' (a ' inside it is written twice: '')"},
		{"doubled quote at the end", "SELECT 'it''", "line 1:8: unterminated string: close it with ' (a ' inside it is written twice: '')"},
		{"double quotes", "SELECT \"a", "line 1:8: unterminated quoted identifier: close it with \" (a \" inside it is written twice: \"\")"},
		{"brackets", "SELECT [a", "line 1:8: unterminated bracketed identifier: close it with ] (a ] inside it is written twice: ]])"},
		{"backticks", "SELECT `a", "line 1:8: unterminated quoted identifier: close it with ` (a ` inside it is written twice: ``)"},
		{"comment", "SELECT 1 /* never", "line 1:10: unterminated comment: close it with */"},
		{"columns count characters", "SELECT 'è', 'à", "line 1:13: unterminated string: close it with ' (a ' inside it is written twice: '')"},
		{"comment marker inside a string is text", "SELECT '/*' /*", "line 1:13: unterminated comment: close it with */"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.query)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.query, q.Names())
			}
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			var se *SyntaxError
			if errors.Is(err, ErrEmpty) == errors.As(err, &se) {
				t.Errorf("error %v is neither ErrEmpty nor a *SyntaxError, or both", err)
			}
		})
	}
}

func TestForUnknownDriver(t *testing.T) {
	q, err := Parse("SELECT :a")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"", "postgres", "MySQL"} {
		if _, _, err := q.For(d); err == nil || !strings.Contains(err.Error(), "sqlserver or mysql") {
			t.Errorf("For(%q): error %v, want one naming the drivers", d, err)
		}
	}
}

func TestNamesIsACopy(t *testing.T) {
	q, err := Parse("SELECT :a, :b")
	if err != nil {
		t.Fatal(err)
	}
	q.Names()[0] = "changed"
	if got := q.Names(); got[0] != "a" {
		t.Errorf("Names() after editing a returned slice = %q", got)
	}
}
