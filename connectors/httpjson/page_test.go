package httpjson

import "testing"

func TestDuplicateKey(t *testing.T) {
	tests := []struct {
		json  string
		fold  bool
		depth int
		want  string // "" for none
	}{
		{`{"a":1,"b":2}`, true, 0, ""},
		{`{"a":1,"a":2}`, false, 0, "a"},
		{`{"a":1,"A":2}`, false, 0, ""},
		{`{"a":1,"A":2}`, true, 0, "A"},
		{`{"o":{"x":1,"y":{"x":2}},"x":3}`, true, 0, ""},
		{`{"o":{"lines":[{"p":1},{"p":2}],"z":{"q":1,"q":2}}}`, true, 0, "o.z.q"},
		{`{"l":[{"p":1,"p":2}]}`, true, 0, "l.p"},
		{`[{"a":1},{"a":1}]`, true, 0, ""},
		{`[{"a":1,"a":1}]`, true, 0, "a"},
		{`{"items":[{"a":1,"a":2}],"next":"x"}`, false, 1, ""},
		{`{"items":[],"next":"x","items":[1]}`, false, 1, "items"},
		{`{"items":{"k":{"k":1}},"next":"x","next":"y"}`, false, 1, "next"},
		{`{"a":1,`, true, 0, ""},
		{`"a"`, true, 0, ""},
	}
	for _, tt := range tests {
		got, dup := duplicateKeyAt([]byte(tt.json), tt.fold, tt.depth)
		if dup != (tt.want != "") || got != tt.want {
			t.Errorf("duplicateKeyAt(%s, %v, %d) = %q %v, want %q", tt.json, tt.fold, tt.depth, got, dup, tt.want)
		}
	}
}
