package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pointsync/pointsync/server"
)

// runToken makes a random bearer token for the web server, or hashes one
// read from standard input (--stdin), and prints the token and the
// sha256 to write in server.tokens. The token is printed once: only its
// hash belongs in the configuration.
func runToken(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	stdin := fs.Bool("stdin", false, "hash the token read from standard input instead of making one")
	asJSON := fs.Bool("json", false, "print {\"token\":...,\"sha256\":...}")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	var tok string
	if *stdin {
		data, err := io.ReadAll(io.LimitReader(a.stdin(), 4096))
		if err != nil {
			return err
		}
		tok = strings.TrimSpace(string(data))
		if len(tok) < 24 {
			return usagef("make one with `pointsync token`", "the token read from standard input is shorter than 24 characters")
		}
	} else {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		tok = "pst_" + base64.RawURLEncoding.EncodeToString(b[:])
	}
	sum := server.HashToken(tok)
	if *asJSON {
		out := map[string]string{"sha256": sum}
		if !*stdin {
			out["token"] = tok
		}
		enc := json.NewEncoder(a.stdout)
		return enc.Encode(out)
	}
	if !*stdin {
		fmt.Fprintf(a.stdout, "token:  %s\n", tok)
	}
	fmt.Fprintf(a.stdout, "sha256: %s\n", sum)
	if !*stdin {
		fmt.Fprintln(a.stdout, "\nGive the token to its caller; write only the sha256 in server.tokens, e.g.\n  - {name: shop, scopes: [read, redeem], sha256: "+sum+"}")
	}
	return nil
}
