package testdb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The programs a private server needs; the test is skipped without them.
const (
	mariadbd       = "/usr/sbin/mariadbd"
	mariadbInstall = "mariadb-install-db"
)

// startTimeout bounds how long a starting server may take to answer, and
// stopTimeout how long a stopping one may take to exit (then it is
// killed). Both are generous: CI machines are loaded.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 60 * time.Second
)

// MariaDB is a private MariaDB server for one test: a data directory, a
// port, a socket and a pid file of its own, so the test may stop, kill and
// restart it (an outage) without touching the server other tests share.
// Its only user is root with no password, over TCP on 127.0.0.1.
type MariaDB struct {
	dir  string // data/, the socket, the pid file and the error log
	port int

	mu   sync.Mutex
	proc *process // nil while the server is not running
}

// process is one run of mariadbd.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	err    error         // cmd's exit status, set before exited is closed
	out    bytes.Buffer  // what it wrote before its error log was open
}

// NewMariaDB creates a data directory with mariadb-install-db in a
// temporary directory and starts /usr/sbin/mariadbd on a free port of
// 127.0.0.1; t.Cleanup calls Cleanup. The test is skipped when mariadbd or
// mariadb-install-db is not installed (Debian and Ubuntu: apt-get install
// mariadb-server).
func NewMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	if _, err := os.Stat(mariadbd); err != nil {
		t.Skipf("%s is not installed: the private MariaDB server for outage tests is skipped (apt-get install mariadb-server)", mariadbd)
	}
	if _, err := exec.LookPath(mariadbInstall); err != nil {
		t.Skipf("%s is not installed: the private MariaDB server for outage tests is skipped (apt-get install mariadb-server)", mariadbInstall)
	}
	m, err := StartMariaDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Cleanup)
	return m
}

// StartMariaDB is NewMariaDB outside a test: the caller calls Cleanup.
func StartMariaDB() (*MariaDB, error) {
	// The socket's path must fit in 108 bytes: a short directory of its
	// own rather than t.TempDir, which holds the test's name.
	dir, err := os.MkdirTemp("", "mariadbd-")
	if err != nil {
		return nil, fmt.Errorf("mariadbd: create its directory: %w", err)
	}
	m := &MariaDB{dir: dir}
	fail := func(err error) (*MariaDB, error) {
		m.Cleanup()
		return nil, err
	}
	install := append([]string{"--no-defaults", "--datadir=" + m.data(), "--auth-root-authentication-method=normal",
		"--skip-test-db"}, m.tuning()...)
	if os.Geteuid() == 0 {
		install = append(install, "--user=root")
	}
	if out, err := exec.Command(mariadbInstall, install...).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("mariadbd: %s in %s: %v\n%s", mariadbInstall, m.data(), err, out))
	}
	if m.port, err = freePort(); err != nil {
		return fail(err)
	}
	if err := m.Start(); err != nil {
		return fail(err)
	}
	return m, nil
}

// tuning are the options of both the installation and the server: a
// small footprint (8 MB redo log, 32 MB buffer pool instead of 96 and
// 128) and the character set Debian's configuration gives a server.
func (m *MariaDB) tuning() []string {
	return []string{"--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"}
}

func (m *MariaDB) data() string { return filepath.Join(m.dir, "data") }

// ErrorLog is the path of the server's error log.
func (m *MariaDB) ErrorLog() string { return filepath.Join(m.dir, "error.log") }

// Addr is the host:port the server listens on: the same after a restart.
func (m *MariaDB) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// DSN is a go-sql-driver DSN of database on the server, as root; with
// database "" it names none (as POINTSYNC_TEST_MYSQL_DSN does).
func (m *MariaDB) DSN(database string) string {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = m.Addr()
	cfg.DBName = database
	return cfg.FormatDSN()
}

// CreateDatabase creates the database pointsync_test_NAME and returns its
// DSN. It goes with the server's directory at Cleanup.
func (m *MariaDB) CreateDatabase(name string) (string, error) {
	name = "pointsync_test_" + name
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4"); err != nil {
		return "", fmt.Errorf("mariadbd on %s: create database %s: %w", m.Addr(), name, err)
	}
	return m.DSN(name), nil
}

// Start starts the server on its data directory and port and returns once
// it answers queries. A server already running is left as it is.
func (m *MariaDB) Start() error {
	m.mu.Lock()
	if m.proc != nil {
		m.mu.Unlock()
		return nil
	}
	args := append([]string{"--no-defaults", "--datadir=" + m.data(), "--port=" + strconv.Itoa(m.port),
		"--bind-address=127.0.0.1", "--socket=" + filepath.Join(m.dir, "mariadbd.sock"),
		"--pid-file=" + filepath.Join(m.dir, "mariadbd.pid"), "--log-error=" + m.ErrorLog(),
		"--tmpdir=" + m.dir}, m.tuning()...)
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	p := &process{cmd: exec.Command(mariadbd, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		m.mu.Unlock()
		return fmt.Errorf("mariadbd: start %s: %w", mariadbd, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	m.proc = p
	m.mu.Unlock()

	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	for deadline := time.Now().Add(startTimeout); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			m.forget(p)
			return fmt.Errorf("mariadbd on %s exited while starting (%v): %s%s", m.Addr(), p.err, p.out.String(), m.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.Kill()
			return fmt.Errorf("mariadbd on %s does not answer %s after its start: %v%s", m.Addr(), startTimeout, err, m.logTail())
		}
	}
}

// forget clears the running process p, once it has exited.
func (m *MariaDB) forget(p *process) {
	m.mu.Lock()
	if m.proc == p {
		m.proc = nil
	}
	m.mu.Unlock()
}

// Stop shuts the server down with SIGTERM, as a service manager does, and
// waits until it has exited (killing it after a minute). Its clients' open
// transactions are rolled back, committed ones stay.
func (m *MariaDB) Stop() error {
	err := m.signal(syscall.SIGTERM)
	if errors.Is(err, errStopTimeout) {
		m.Kill()
	}
	return err
}

// Kill kills the server with SIGKILL, as a crash or the OOM killer does,
// and waits until it is gone; Start then runs InnoDB's crash recovery.
func (m *MariaDB) Kill() error {
	return m.signal(syscall.SIGKILL)
}

var errStopTimeout = errors.New("mariadbd did not exit")

// signal sends sig to the server, if it runs, and waits for its exit.
func (m *MariaDB) signal(sig syscall.Signal) error {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("mariadbd on %s: %v: %w", m.Addr(), sig, err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		return fmt.Errorf("mariadbd on %s: %w %s after %v%s", m.Addr(), errStopTimeout, stopTimeout, sig, m.logTail())
	}
	m.forget(p)
	return nil
}

// Running reports whether the server process runs (it may not answer yet,
// or any more).
func (m *MariaDB) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc != nil
}

// Cleanup kills the server and removes its directory. It may be called
// more than once.
func (m *MariaDB) Cleanup() {
	m.Kill()
	os.RemoveAll(m.dir)
}

// logTail is the end of the error log, for failure messages.
func (m *MariaDB) logTail() string {
	data, err := os.ReadFile(m.ErrorLog())
	if err != nil || len(data) == 0 {
		return ""
	}
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return "\n" + m.ErrorLog() + ":\n" + string(data)
}

// freePort is a port of 127.0.0.1 nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("mariadbd: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
