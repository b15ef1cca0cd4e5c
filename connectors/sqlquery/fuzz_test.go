package sqlquery

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that a parsed query's
// rewrites keep every byte outside the placeholders: putting ":name" back
// in place of each @name (SQL Server) or each ? in turn (MySQL) gives the
// query again, and the names are the distinct placeholders.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT TOP (:limit) * FROM docs WHERE rv > :last_rv ORDER BY rv",
		"WHERE (u > :last_u OR (u = :last_u AND id > :last_id)) LIMIT :limit",
		"SELECT 'a :x', N'b :y', 'it''s', \"q:\"\"\", [b:]]], `c:```",
		"SELECT 1 -- :c\n/* :d */ :e::int, @v := :f",
		":a:b",
		"'",
		"/*",
		"SELECT 'è' + :é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			return
		}
		names := q.Names()
		if len(names) == 0 && len(q.parts) != 1 {
			t.Fatalf("no names but parts %q", q.parts)
		}
		text, args, err := q.For(DriverSQLServer)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(args, names) {
			t.Fatalf("sqlserver args %q, names %q", args, names)
		}
		if !strings.Contains(s, "@") {
			back := strings.ReplaceAll(text, "@", ":")
			if back != s {
				t.Fatalf("sqlserver rewrite %q does not give back %q", text, s)
			}
		}
		text, args, err = q.For(DriverMySQL)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, "?") {
			var b strings.Builder
			rest := text
			for _, a := range args {
				i := strings.IndexByte(rest, '?')
				if i < 0 {
					t.Fatalf("mysql rewrite %q has fewer ? than args %q", text, args)
				}
				b.WriteString(rest[:i] + ":" + a)
				rest = rest[i+1:]
			}
			if strings.IndexByte(rest, '?') >= 0 {
				t.Fatalf("mysql rewrite %q has more ? than args %q", text, args)
			}
			b.WriteString(rest)
			if b.String() != s {
				t.Fatalf("mysql rewrite %q with args %q does not give back %q", text, args, s)
			}
		}
		distinct := slices.Clone(args)
		slices.Sort(distinct)
		distinct = slices.Compact(distinct)
		if len(distinct) != len(names) {
			t.Fatalf("mysql args %q are not the names %q", args, names)
		}
	})
}
