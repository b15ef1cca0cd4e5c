package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pointsync/pointsync/server"
)

func TestToken(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb}
	if code := run(context.Background(), a, []string{"token", "--json"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got["token"]) < 40 || got["sha256"] != server.HashToken(got["token"]) {
		t.Fatalf("token and hash do not match: %v", got)
	}
	// Two tokens are never the same.
	out.Reset()
	run(context.Background(), a, []string{"token", "--json"})
	var again map[string]string
	if err := json.Unmarshal(out.Bytes(), &again); err != nil || again["token"] == got["token"] {
		t.Fatalf("second token %v equals the first or is unreadable: %v", again, err)
	}

	out.Reset()
	a.in = strings.NewReader(got["token"] + "\n")
	if code := run(context.Background(), a, []string{"token", "--stdin"}); code != exitOK {
		t.Fatalf("--stdin exit %d: %s", code, errb.String())
	}
	if strings.TrimSpace(out.String()) != "sha256: "+got["sha256"] {
		t.Fatalf("--stdin printed %q", out.String())
	}
	a.in = strings.NewReader("short")
	if code := run(context.Background(), a, []string{"token", "--stdin"}); code != exitUsage {
		t.Fatalf("a short token: exit %d, want %d", code, exitUsage)
	}
}
