package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/pointsync/pointsync/configs"
	"github.com/pointsync/pointsync/daemon"
	"github.com/pointsync/pointsync/ledger"
	"github.com/pointsync/pointsync/server"
)

// The product's work runs in a child process, the bench binary run again
// with the hidden command "child", so that its peak memory is its own
// (the kernel's maximum resident set size of the process) and not mixed
// with the generator's or the load generator's:
//
//	child sync  -config FILE -stage DIR [-cpuprofile FILE] [-memprofile FILE]
//	child serve -config FILE [-cpuprofile FILE] [-memprofile FILE]
//
// sync does what `pointsync sync --once` does (lock, lease, every
// connector until it has nothing more, the housekeeping), once per round
// folder of the stage after moving the round's files into the connectors'
// inboxes, and prints the rounds' figures as JSON. serve answers the web
// server's API as `pointsync run` with server.listen does, prints
// "listening ADDRESS" and stops when its standard input closes.
const childCommand = "child"

// roundResult is what the sync child did in one round.
type roundResult struct {
	Round    string  `json:"round"`
	Seconds  float64 `json:"seconds"`
	Applied  int64   `json:"applied"`
	Rejected int64   `json:"rejected"`
	Errors   []string
}

func childMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "child: sync or serve")
		return 2
	}
	fs := flag.NewFlagSet("child "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "configuration file")
	stage := fs.String("stage", "", "sync: the folder of round folders")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile at the peak resident set to this file, and a timeline of memory to FILE.txt")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *memprofile != "" {
		w, err := startMemWatch(*memprofile, time.Second)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer func() {
			if err := w.Stop(); err != nil {
				fmt.Fprintln(stderr, "memprofile:", err)
			}
		}()
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	switch args[0] {
	case "sync":
		err = childSync(ctx, *config, *stage, stdout, stderr)
	case "serve":
		err = childServe(ctx, *config, stdin, stdout, stderr)
	default:
		err = fmt.Errorf("unknown child command %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "child %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// childEnv is the configuration and ledger a child opens, as the
// pointsync command opens them.
type childEnv struct {
	cfg    *configs.Config
	ledger *ledger.Ledger
	log    *zap.Logger
}

func openChild(ctx context.Context, config string, stderr io.Writer) (*childEnv, error) {
	cfg, err := configs.Load(config)
	if err != nil {
		return nil, err
	}
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		return nil, err
	}
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(zapcore.AddSync(stderr)), lvl))
	progs, err := cfg.RulesPrograms()
	if err != nil {
		return nil, err
	}
	var lp []ledger.Program
	for _, p := range progs {
		lp = append(lp, ledger.Program{ID: p.ID, Location: p.Location})
	}
	l, err := ledger.Open(ctx, ledger.Options{Backend: cfg.Ledger.Driver, Path: cfg.Ledger.Path, DSN: cfg.Ledger.DSN.Reveal(),
		Synchronous: cfg.Ledger.Synchronous, BusyTimeout: cfg.Ledger.BusyTimeout, CacheMiB: cfg.Ledger.CacheMiB, Programs: lp, Logger: log})
	if err != nil {
		return nil, err
	}
	return &childEnv{cfg: cfg, ledger: l, log: log}, nil
}

func childSync(ctx context.Context, config, stage string, stdout, stderr io.Writer) error {
	e, err := openChild(ctx, config, stderr)
	if err != nil {
		return err
	}
	defer e.ledger.Close()
	if e.ledger.Backend() == backendSQLite {
		lock, err := daemon.AcquireLock(e.cfg.Ledger.Path + ".lock")
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	// As pointsync run and sync do.
	daemon.SetMemoryLimit(e.cfg.Daemon)
	eng, err := daemon.Engine(e.cfg)
	if err != nil {
		return err
	}
	d, err := daemon.New(ctx, daemon.Options{Config: e.cfg, Ledger: e.ledger, Engine: eng, Logger: e.log})
	if err != nil {
		return err
	}
	defer d.Close()
	inboxes := map[string]string{}
	for _, cc := range e.cfg.Connectors {
		inboxes[cc.Name] = filepath.Join(cc.Drop.Dir, "inbox")
	}
	rounds, err := os.ReadDir(stage)
	if err != nil {
		return err
	}
	var out []roundResult
	for _, r := range rounds {
		if err := moveRound(filepath.Join(stage, r.Name()), r.Name(), inboxes); err != nil {
			return err
		}
		res := roundResult{Round: r.Name()}
		start := time.Now()
		var reports []daemon.Report
		err := d.WithLease(ctx, ctx, func(stop, abort context.Context) error {
			var err error
			reports, err = d.Once(stop, abort)
			return err
		})
		res.Seconds = time.Since(start).Seconds()
		for _, rep := range reports {
			if rep.Err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", rep.Job, rep.Err))
			}
			if rep.Kind == "connector" {
				res.Applied += rep.Rows
				res.Rejected += rep.Rejected
			}
		}
		if err != nil && len(res.Errors) == 0 {
			res.Errors = append(res.Errors, err.Error())
		}
		out = append(out, res)
	}
	return json.NewEncoder(stdout).Encode(out)
}

// moveRound moves a round's files into the inboxes of the connectors
// named by its folders, old enough to be taken at once.
func moveRound(dir, round string, inboxes map[string]string) error {
	conns, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	old := time.Now().Add(-time.Hour)
	for _, c := range conns {
		inbox, ok := inboxes[c.Name()]
		if !ok {
			return fmt.Errorf("%s: no connector %q in the configuration", dir, c.Name())
		}
		if err := os.MkdirAll(inbox, 0o755); err != nil {
			return err
		}
		files, err := os.ReadDir(filepath.Join(dir, c.Name()))
		if err != nil {
			return err
		}
		for _, f := range files {
			to := filepath.Join(inbox, round+"-"+f.Name())
			if err := os.Rename(filepath.Join(dir, c.Name(), f.Name()), to); err != nil {
				return err
			}
			if err := os.Chtimes(to, old, old); err != nil {
				return err
			}
		}
	}
	return nil
}

func childServe(ctx context.Context, config string, stdin io.Reader, stdout, stderr io.Writer) error {
	e, err := openChild(ctx, config, stderr)
	if err != nil {
		return err
	}
	defer e.ledger.Close()
	daemon.SetMemoryLimit(e.cfg.Daemon)
	eng, err := daemon.Engine(e.cfg)
	if err != nil {
		return err
	}
	web, err := server.New(server.Options{Config: e.cfg, Ledger: e.ledger, Engine: eng, Logger: e.log})
	if err != nil {
		return err
	}
	e.ledger.OnCommit(web.ObserveCommit)
	ln, err := net.Listen("tcp", e.cfg.Server.Listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin) // the parent closes it to stop us
		cancel()
	}()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	if err := web.Serve(ctx, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// childResult is a finished child: its output, how long it ran and its
// peak resident memory.
type childResult struct {
	stdout []byte
	wall   time.Duration
	maxRSS int64 // bytes
}

// runChild runs the child to its end; its log goes to logFile.
func runChild(ctx context.Context, logFile string, args ...string) (childResult, error) {
	self, err := os.Executable()
	if err != nil {
		return childResult{}, err
	}
	logf, err := os.Create(logFile)
	if err != nil {
		return childResult{}, err
	}
	defer logf.Close()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, self, append([]string{childCommand}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, logf
	start := time.Now()
	err = cmd.Run()
	res := childResult{stdout: out.Bytes(), wall: time.Since(start), maxRSS: maxRSS(cmd.ProcessState)}
	if err != nil {
		return res, fmt.Errorf("child %s: %v (log: %s)", args[0], err, tail(logFile))
	}
	return res, nil
}

// maxRSS is a finished process's peak resident set size in bytes (Linux
// counts it in kilobytes).
func maxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return path
	}
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return path + ":\n" + string(data)
}

// serverChild is a running serve child.
type serverChild struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	addr    string
	logFile string
}

// startServer starts a serve child and waits for its address.
func startServer(ctx context.Context, logFile string, args ...string) (*serverChild, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, self, append([]string{childCommand, "serve"}, args...)...)
	cmd.Stderr = logf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &serverChild{cmd: cmd, stdin: stdin, logFile: logFile}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		_ = stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the server child did not start: %q %v (log: %s)", line, err, tail(logFile))
	}
	s.addr = addr
	return s, nil
}

// stop closes the child's input, waits for it and returns its peak
// resident memory.
func (s *serverChild) stop() (int64, error) {
	_ = s.stdin.Close()
	err := s.cmd.Wait()
	if err != nil {
		return maxRSS(s.cmd.ProcessState), fmt.Errorf("server child: %v (log: %s)", err, tail(s.logFile))
	}
	return maxRSS(s.cmd.ProcessState), nil
}

// linkTree copies the folder tree src to dst with hard links, so that a
// child may move the files of dst away and src stays whole for the next
// backend.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		return os.Link(p, to)
	})
}

// stageFiles lists the data files of a stage, in round order.
func stageFiles(stage string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(stage, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	slices.Sort(out)
	return out, err
}
