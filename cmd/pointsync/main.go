// Command pointsync keeps one loyalty-points ledger true across an ERP,
// store tills and a web shop. This binary is the daemon and the admin
// command line: one file per subcommand, each with its own flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes (SPEC 5).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2 // bad usage or bad configuration
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, app *app, args []string) error
}

var commands = []command{
	{"check-config", "validate a configuration file", runCheckConfig},
	{"balance", "show a customer's balance", runBalance},
	{"movements", "list a customer's movements", runMovements},
	{"adjust", "add, change or remove an admin adjustment", runAdjust},
	{"expiry", "set or clear the expiry date of points", runExpiry},
	{"reset", "reset a customer's or a whole program's points", runReset},
	{"import", "apply a CSV file of bulk adjustments", runImport},
	{"export", "write every customer's balance to CSV", runExport},
	{"report", "a program's figures by period, source, reason or customer, and its liability", runReport},
	{"sweep", "write the expiry of points that reached it", runSweep},
	{"unmatched", "list parked facts and why they wait", runUnmatched},
	{"prizes", "list the prizes a customer may redeem now, and why not the others", runPrizes},
	{"run", "run the daemon: connectors and exports on their schedules", runRun},
	{"status", "show each job's last run, success, error, rows, lag and next run", runStatus},
	{"sync", "run every connector and export once, and exit (--once)", runSync},
	{"demo", "fill a demo ledger and show it working", runDemo},
	{"token", "make a bearer token for the web server and print its sha256", runToken},
	{"version", "print the version", runVersion},
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app carries what every command shares: the output streams.
type app struct {
	stdout io.Writer
	stderr io.Writer
	in     io.Reader // standard input; nil is os.Stdin
}

// stdin is the command's standard input.
func (a *app) stdin() io.Reader {
	if a.in == nil {
		return os.Stdin
	}
	return a.in
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &app{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, a *app, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		a.usage()
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return a.exit(c.run(ctx, a, args[1:]))
		}
	}
	fmt.Fprintf(a.stderr, "pointsync: unknown command %q\nTry: pointsync help\n", args[0])
	return exitUsage
}

func (a *app) usage() {
	fmt.Fprintln(a.stdout, "pointsync keeps one loyalty-points ledger true across ERP, tills and web shop.")
	fmt.Fprintln(a.stdout, "\nUsage: pointsync <command> [flags]\n\nCommands:")
	cs := append([]command(nil), commands...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(a.stdout, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(a.stdout, "\nEvery command takes -h for its flags. Exit codes: 0 done, 1 failed, 2 bad usage or configuration.")
}

// usageError is a mistake in the command line: exit 2 with a hint.
type usageError struct {
	msg  string
	hint string
}

func (e *usageError) Error() string { return e.msg }

func usagef(hint, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), hint: hint}
}

// configError is a configuration that does not load: exit 2.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(a.stderr, "pointsync: %s\n", ue.msg)
		if ue.hint != "" {
			fmt.Fprintf(a.stderr, "Try: %s\n", ue.hint)
		}
		return exitUsage
	}
	var ce *configError
	if errors.As(err, &ce) {
		fmt.Fprintf(a.stderr, "%v\n", ce.err)
		return exitUsage
	}
	fmt.Fprintf(a.stderr, "pointsync: %v\n", err)
	return exitFailed
}

// parseFlags parses a command's flags and refuses flags written after the
// positional arguments, which the flag package would silently take as
// arguments.
func parseFlags(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.Usage()
			return nil, err
		}
		return nil, usagef("pointsync "+fs.Name()+" -h", "%s: %v", fs.Name(), err)
	}
	rest := fs.Args()
	for _, r := range rest {
		if len(r) > 1 && r[0] == '-' {
			return nil, usagef("pointsync "+fs.Name()+" -h", "%s: flag %s comes after the arguments; put flags first", fs.Name(), r)
		}
	}
	if positional >= 0 && len(rest) != positional {
		return nil, usagef("pointsync "+fs.Name()+" -h", "%s: expected %d argument(s), got %d", fs.Name(), positional, len(rest))
	}
	return rest, nil
}

func runVersion(_ context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if _, err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "pointsync %s\n", version)
	return nil
}
