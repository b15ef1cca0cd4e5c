package configs

import (
	"errors"
	"io/fs"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Key: "ledger.path", Msg: "bad"}, "a.yaml:3: ledger.path: bad"},
		{Error{File: "a.yaml", Key: "programs", Msg: "missing"}, "a.yaml: programs: missing"},
		{Error{File: "a.yaml", Line: 7, Msg: "syntax"}, "a.yaml:7: syntax"},
		{Error{File: "a.yaml", Msg: "file is empty"}, "a.yaml: file is empty"},
		{Error{Key: "log.level", Msg: "bad"}, "log.level: bad"},
		{Error{Line: 2, Key: "log.level", Msg: "bad"}, "2: log.level: bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestErrorsSortedAndUnwrapped(t *testing.T) {
	es := Errors{
		{File: "f", Line: 9, Key: "b", Msg: "nine"},
		{File: "f", Line: 2, Key: "z", Msg: "two z"},
		{File: "f", Line: 2, Key: "a", Msg: "two a"},
		{File: "f", Line: 2, Key: "a", Msg: "two a"}, // repeat, dropped
		{File: "f", Msg: "whole file", Err: fs.ErrNotExist},
	}
	err := es.asError(0)
	want := "f: whole file\nf:2: a: two a\nf:2: z: two z\nf:9: b: nine"
	if err.Error() != want {
		t.Fatalf("got\n%s\nwant\n%s", err, want)
	}
	var first *Error
	if !errors.As(err, &first) || first.Msg != "whole file" {
		t.Fatalf("errors.As(*Error) = %v", first)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("errors.Is does not reach the cause")
	}
	if Errors(nil).asError(0) != nil {
		t.Fatal("no problems must give a nil error")
	}
}
