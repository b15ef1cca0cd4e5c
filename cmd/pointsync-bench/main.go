// Command pointsync-bench measures pointsync against the limits of the
// storage it runs on, in the same run on the same machine (issue 8): it
// generates a synthetic workload of the chosen size, runs it through the
// product's real paths and prints a table of each figure, the limit it is
// compared with, their ratio, the peak memory of the process that did the
// work and whether the target holds.
//
//	go run ./cmd/pointsync-bench -rows 20000 -orders 5000 -customers 20000 -movements 200000
//
// The measures (-only picks some):
//
//	ingest     a store drop file through the csv_drop connector as
//	           `pointsync sync --once` reads it; limit: sqlite3 .import (or
//	           MySQL's LOAD DATA) of the same file into a table with the
//	           same unique key
//	reconcile  web orders and the ERP's documents through drop folders and
//	           the reconcile engine; limit: the storage's import of the same
//	           files
//	reads      balance reads through the HTTP API on a ledger of -customers
//	           and -movements; limit: the same queries straight on the
//	           storage
//	reserve    checkout reservations (reserve then commit) through the API
//	           with -clients clients; limit: single-row durable commits
//
// See BENCHMARKS.md for the figures and what dominates each cost.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// mysqlEnv is the variable the tests take the MySQL server from; the
// bench takes it too when -mysql-dsn is not given.
const mysqlEnv = "POINTSYNC_TEST_MYSQL_DSN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var code int
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		code = childMain(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	} else {
		code = benchMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	os.Exit(code)
}

// Measures, in the order they run.
var measures = []string{"ingest", "reconcile", "reads", "reserve"}

// options are the command line.
type options struct {
	rows       int
	orders     int
	rounds     int
	customers  int
	movements  int
	clients    int
	duration   time.Duration
	warmup     time.Duration
	backends   []string
	mysqlDSN   string
	only       []string
	cpuprofile string
	memprofile string
	rssX10     bool
	dir        string
	keep       bool
	seed       uint64
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pointsync-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rows, "rows", 1_000_000, "data rows of the till drop file (ingest)")
	fs.IntVar(&o.orders, "orders", 200_000, "web orders, with their ERP documents (reconcile)")
	fs.IntVar(&o.rounds, "rounds", 4, "syncs the orders and documents arrive over (reconcile)")
	fs.IntVar(&o.customers, "customers", 1_000_000, "customers of the ledger (reads, reserve)")
	fs.IntVar(&o.movements, "movements", 10_000_000, "movements of the ledger (reads, reserve)")
	fs.IntVar(&o.clients, "clients", 32, "concurrent connections of the load generator (reads) and checkout clients (reserve)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each timed load runs (reads, reserve, and their limits)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before each timed load, not counted")
	backend := fs.String("backend", backendSQLite, "ledger backend: sqlite, mysql or both")
	fs.StringVar(&o.mysqlDSN, "mysql-dsn", os.Getenv(mysqlEnv), "MySQL/MariaDB server DSN without database, e.g. root@tcp(127.0.0.1:3306)/ (default $"+mysqlEnv+"); the bench creates and drops pointsync_test_bench_* databases")
	only := fs.String("only", strings.Join(measures, ","), "measures to run, comma-separated: "+strings.Join(measures, ", "))
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "folder to write one CPU profile per measure into (the process doing the product's work)")
	fs.StringVar(&o.memprofile, "memprofile", "", "folder to write, per measure, a heap profile at the peak resident set and a timeline of memory (NAME.heap.pprof, NAME.heap.pprof.txt)")
	fs.BoolVar(&o.rssX10, "rss-x10", false, "also ingest a file ten times larger (-rows x 10) and report its peak memory (long)")
	fs.StringVar(&o.dir, "dir", "", "work folder (default: a new temporary folder, removed at the end unless -keep)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work folder and the MySQL databases")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the workload generators: the same seed gives the same workload")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	switch *backend {
	case backendSQLite, backendMySQL:
		o.backends = []string{*backend}
	case "both":
		o.backends = []string{backendSQLite, backendMySQL}
	default:
		return o, fmt.Errorf("-backend %q: use sqlite, mysql or both", *backend)
	}
	if slices.Contains(o.backends, backendMySQL) && o.mysqlDSN == "" {
		return o, fmt.Errorf("-backend %s needs a MySQL server: -mysql-dsn or %s", *backend, mysqlEnv)
	}
	for _, m := range strings.Split(*only, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(measures, m) {
			return o, fmt.Errorf("-only: unknown measure %q (use %s)", m, strings.Join(measures, ", "))
		}
		o.only = append(o.only, m)
	}
	for name, n := range map[string]int{"-rows": o.rows, "-orders": o.orders, "-rounds": o.rounds, "-customers": o.customers, "-movements": o.movements, "-clients": o.clients} {
		if n <= 0 {
			return o, fmt.Errorf("%s must be greater than 0", name)
		}
	}
	if o.duration <= 0 || o.warmup < 0 {
		return o, errors.New("-duration must be greater than 0 and -warmup not negative")
	}
	return o, nil
}

// bench is one run.
type bench struct {
	o       options
	work    string
	log     io.Writer // progress
	sqlite3 string    // Debian's sqlite3, "" when not installed
	results []result
	notes   []string
	// files generated once and shared by the backends
	till      string
	tillSt    tillStats
	tillX10   string
	tillX10St tillStats
	stage     string
	ordersSt  orderStats
	// the ledger of the reads, kept for the reservations, per backend
	ledgers map[string]*readLedger
	stores  []*store
	// rawTables numbers the tables of the raw commit limits
	rawTables int
}

func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "pointsync-bench: %v\n", err)
		return 2
	}
	b, err := newBench(o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "pointsync-bench: %v\n", err)
		return 1
	}
	err = b.run(ctx)
	b.cleanup(context.WithoutCancel(ctx))
	b.print(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "pointsync-bench: %v\n", err)
		return 1
	}
	return 0
}

func newBench(o options, log io.Writer) (*bench, error) {
	b := &bench{o: o, log: log, ledgers: map[string]*readLedger{}}
	if o.dir != "" {
		b.work = o.dir
		if err := os.MkdirAll(b.work, 0o755); err != nil {
			return nil, err
		}
	} else {
		dir, err := os.MkdirTemp("", "pointsync-bench-")
		if err != nil {
			return nil, err
		}
		b.work = dir
	}
	for _, dir := range []string{o.cpuprofile, o.memprofile} {
		if dir == "" {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if p, err := exec.LookPath("sqlite3"); err == nil {
		b.sqlite3 = p
	}
	return b, nil
}

func (b *bench) run(ctx context.Context) error {
	fmt.Fprintf(b.log, "pointsync-bench: work folder %s\n", b.work)
	for _, be := range b.o.backends {
		for _, m := range measures {
			if !slices.Contains(b.o.only, m) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			fmt.Fprintf(b.log, "== %s on %s\n", m, be)
			start := time.Now()
			var err error
			switch m {
			case "ingest":
				err = b.ingest(ctx, be)
			case "reconcile":
				err = b.reconcile(ctx, be)
			case "reads":
				err = b.reads(ctx, be)
			case "reserve":
				err = b.reserve(ctx, be)
			}
			if err != nil {
				return fmt.Errorf("%s on %s: %w", m, be, err)
			}
			fmt.Fprintf(b.log, "   %s on %s done in %s\n", m, be, time.Since(start).Round(100*time.Millisecond))
		}
	}
	return nil
}

// cleanup drops the MySQL databases and removes the work folder, unless
// -keep.
func (b *bench) cleanup(ctx context.Context) {
	if b.o.keep {
		fmt.Fprintf(b.log, "pointsync-bench: kept %s\n", b.work)
		return
	}
	for _, s := range b.stores {
		if err := s.drop(ctx); err != nil {
			fmt.Fprintf(b.log, "pointsync-bench: drop %s: %v\n", s.dbName, err)
		}
	}
	if b.o.dir == "" {
		os.RemoveAll(b.work)
	}
}

// store makes a measure's store and remembers it for the cleanup.
func (b *bench) store(ctx context.Context, measure, backend string) (*store, error) {
	s, err := b.newStore(ctx, measure, backend)
	if err != nil {
		return nil, err
	}
	b.stores = append(b.stores, s)
	return s, nil
}

// profile is the CPU profile file of a measure, "" without -cpuprofile.
func (b *bench) profile(name string) string {
	if b.o.cpuprofile == "" {
		return ""
	}
	return filepath.Join(b.o.cpuprofile, name+".pprof")
}

// profileArgs are the child's flags for a measure's profiles.
func (b *bench) profileArgs(name string) []string {
	var args []string
	if p := b.profile(name); p != "" {
		args = append(args, "-cpuprofile", p)
	}
	if b.o.memprofile != "" {
		args = append(args, "-memprofile", filepath.Join(b.o.memprofile, name+".heap.pprof"))
	}
	return args
}

func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}
