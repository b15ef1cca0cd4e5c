package mapping

import (
	"os"
	"strings"
	"testing"
)

// fieldRows is README's table of a fact type's drop file fields.
func fieldRows(t Type) (string, error) {
	fs, err := Fields(t)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| field | also read from | |\n|---|---|---|\n")
	for _, f := range fs {
		req := ""
		if f.Required {
			req = " **(required)**"
		}
		h := make([]string, len(f.Headers))
		for i, x := range f.Headers {
			h[i] = "`" + x + "`"
		}
		b.WriteString("| `" + f.Name + "`" + req + " | " + strings.Join(h, ", ") + " | " + f.Help + " |\n")
	}
	return b.String(), nil
}

// TestREADMEListsFields keeps README's "Drop file fields" in step with
// Fields: an operator maps headers from that table.
func TestREADMEListsFields(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, ty := range Types() {
		rows, err := fieldRows(ty)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "#### "+string(ty)+"\n\n"+rows) {
			t.Errorf("README.md lacks the field table of %s, or it is out of date; it should read:\n#### %s\n\n%s", ty, ty, rows)
		}
	}
}
