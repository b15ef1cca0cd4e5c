package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/pointsync/pointsync/configs"
)

// runCheckConfig validates a configuration without running anything
// (SPEC 5, fixed form): exit 0 when valid, exit 2 naming key and line when
// not.
func runCheckConfig(_ context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	var c common
	c.register(fs)
	print := fs.Bool("print", false, "print the configuration with defaults filled and secrets hidden")
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, err := loadConfig(c.config)
	if err != nil {
		return err
	}
	if *print {
		fmt.Fprint(a.stdout, cfg.Redacted())
		return nil
	}
	var ids []string
	for _, p := range cfg.Programs {
		ids = append(ids, p.ID)
	}
	where := cfg.Ledger.Path
	if cfg.Ledger.Driver == configs.DriverMySQL {
		where = "MySQL (DSN hidden)"
	}
	fmt.Fprintf(a.stdout, "%s: ok: ledger %s at %s; programs: %s\n", c.config, cfg.Ledger.Driver, where, strings.Join(ids, ", "))
	return nil
}
