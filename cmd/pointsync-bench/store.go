package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // the driver the ledger uses, for the bulk setup and the limits

	"github.com/pointsync/pointsync/ledger"
)

// Backends of the ledger.
const (
	backendSQLite = "sqlite"
	backendMySQL  = "mysql"
)

// store is the ledger storage of one measure on one backend: a SQLite file
// in the measure's folder, or a database of its own on the MySQL server
// (named pointsync_test_bench_*, the prefix CI's user may create).
type store struct {
	backend string
	dir     string // the measure's folder
	path    string // SQLite: the ledger file
	dsn     string // MySQL: the ledger's DSN, database included
	dbName  string // MySQL: the database
	server  *mysql.Config
}

// newStore makes the measure's folder and, on MySQL, its database.
func (b *bench) newStore(ctx context.Context, measure, backend string) (*store, error) {
	s := &store{backend: backend, dir: filepath.Join(b.work, measure+"-"+backend)}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	if backend == backendSQLite {
		s.path = filepath.Join(s.dir, "ledger.db")
		return s, nil
	}
	cfg, err := mysql.ParseDSN(b.o.mysqlDSN)
	if err != nil {
		return nil, fmt.Errorf("-mysql-dsn: %w", err)
	}
	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	s.dbName = "pointsync_test_bench_" + strings.ReplaceAll(measure, "-", "_") + "_" + hex.EncodeToString(tag)
	s.server = cfg.Clone()
	s.server.DBName = ""
	db, err := sql.Open("mysql", s.server.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+s.dbName+" CHARACTER SET utf8mb4"); err != nil {
		return nil, fmt.Errorf("create database %s on %s: %w", s.dbName, cfg.Addr, err)
	}
	db2 := cfg.Clone()
	db2.DBName = s.dbName
	s.dsn = db2.FormatDSN()
	return s, nil
}

// drop removes the MySQL database (the folder goes with the work folder).
func (s *store) drop(ctx context.Context) error {
	if s.backend != backendMySQL {
		return nil
	}
	db, err := sql.Open("mysql", s.server.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+s.dbName)
	return err
}

// ledgerYAML is the configuration's ledger section. The MySQL DSN goes
// to a file beside the configuration (dsn_file), as a deployment keeps it.
func (s *store) ledgerYAML() (string, error) {
	if s.backend == backendSQLite {
		return fmt.Sprintf("ledger: {path: %q, synchronous: full}\n", s.path), nil
	}
	file := filepath.Join(s.dir, "ledger.dsn")
	if err := os.WriteFile(file, []byte(s.dsn+"\n"), 0o600); err != nil {
		return "", err
	}
	return fmt.Sprintf("ledger: {driver: mysql, dsn_file: %q}\n", file), nil
}

// migrate opens the ledger once through the product, which creates the
// schema, and closes it.
func (s *store) migrate(ctx context.Context, programs ...string) error {
	var ps []ledger.Program
	for _, p := range programs {
		ps = append(ps, ledger.Program{ID: p, Location: time.UTC})
	}
	l, err := ledger.Open(ctx, ledger.Options{Backend: s.backend, Path: s.path, DSN: s.dsn, Programs: ps})
	if err != nil {
		return err
	}
	return l.Close()
}

// open is a plain database handle on the ledger's storage, for the bulk
// setup and the limits. fast trades durability for speed (the bulk setup
// only); otherwise SQLite runs in WAL with synchronous=FULL, as the ledger
// sets it, and MySQL with the server's own flush settings.
func (s *store) open(fast bool) (*sql.DB, error) {
	if s.backend == backendMySQL {
		cfg, err := mysql.ParseDSN(s.dsn)
		if err != nil {
			return nil, err
		}
		cfg.InterpolateParams = true
		return sql.Open("mysql", cfg.FormatDSN())
	}
	return openSQLite(s.path, fast, false)
}

// openSQLite opens a SQLite file with the ledger's settings: WAL,
// synchronous FULL (OFF when fast), a busy timeout, write transactions
// taking the lock at BEGIN; readOnly opens it as the ledger's read pool
// does.
func openSQLite(path string, fast, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		if fast {
			q.Add("_pragma", "synchronous(OFF)")
		} else {
			q.Add("_pragma", "synchronous(FULL)")
		}
		q.Add("_txlock", "immediate")
	}
	return sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
}

// size is how much storage the ledger takes: the SQLite file and its WAL,
// or MySQL's data and indexes.
func (s *store) size(ctx context.Context) (int64, error) {
	if s.backend == backendSQLite {
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(s.path + suffix); err == nil {
				n += fi.Size()
			}
		}
		return n, nil
	}
	db, err := s.open(false)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	// InnoDB's table statistics lag behind a bulk load until analysed.
	tables, err := mysqlTables(ctx, db)
	if err != nil {
		return 0, err
	}
	if len(tables) > 0 {
		if _, err := db.ExecContext(ctx, "ANALYZE TABLE "+strings.Join(tables, ", ")); err != nil {
			return 0, err
		}
	}
	var n sql.NullInt64
	err = db.QueryRowContext(ctx, "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = DATABASE()").Scan(&n)
	return n.Int64, err
}

// settle waits for the bulk setup's writes to reach the disk, so that the
// timed loads do not pay for them: SQLite's file is synced (the setup
// wrote it with synchronous=OFF, leaving the kernel's dirty pages to
// write back); MySQL's ledger tables are flushed (FLUSH TABLES ... FOR
// EXPORT writes their dirty pages from the buffer pool, which an idle
// server may otherwise keep for ever; a user without the RELOAD privilege
// cannot, and the loads run all the same). It says what it did.
func (s *store) settle(ctx context.Context) (string, error) {
	start := time.Now()
	if s.backend == backendSQLite {
		for _, suffix := range []string{"", "-wal"} {
			f, err := os.OpenFile(s.path+suffix, os.O_RDWR, 0)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return "", err
			}
			err = f.Sync()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", fmt.Errorf("sync %s: %w", s.path+suffix, err)
			}
		}
		return fmt.Sprintf("file synced in %s", time.Since(start).Round(time.Millisecond)), nil
	}
	db, err := s.open(false)
	if err != nil {
		return "", err
	}
	defer db.Close()
	tables, err := mysqlTables(ctx, db)
	if err != nil {
		return "", err
	}
	if len(tables) == 0 {
		return "", errors.New("the ledger's database has no tables")
	}
	// The tables stay locked until UNLOCK TABLES on the same connection.
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "FLUSH TABLES "+strings.Join(tables, ", ")+" FOR EXPORT"); err != nil {
		// A user without the RELOAD privilege may not flush; the bench
		// still runs, and the note says the loads may share the disk.
		return fmt.Sprintf("its tables not flushed to disk (FLUSH TABLES ... FOR EXPORT: %v), so the server may still be writing them back during the timed loads", err), nil
	}
	if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		return "", fmt.Errorf("unlock the ledger's tables: %w", err)
	}
	return fmt.Sprintf("its %d tables flushed to disk (FLUSH TABLES ... FOR EXPORT) in %s", len(tables), time.Since(start).Round(time.Millisecond)), nil
}

// mysqlTables lists the tables of db's database, each quoted for a
// statement.
func mysqlTables(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
	if err != nil {
		return nil, fmt.Errorf("list the ledger's tables: %w", err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		tables = append(tables, "`"+t+"`")
	}
	return tables, rows.Err()
}
