package configs

import "embed"

// Examples holds the example configurations (demo.yaml, minimal.yaml,
// mysql-ledger.yaml) so the binary can print them; a test keeps each one
// valid.
//
//go:embed *.yaml
var Examples embed.FS
