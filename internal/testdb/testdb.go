// Package testdb gives tests a MySQL/MariaDB database of their own: one
// database per test process (creating and migrating one costs seconds of
// DDL), emptied for each test. The server comes from
// POINTSYNC_TEST_MYSQL_DSN; without it the test is skipped with a message.
package testdb

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Env names the variable with the server's DSN, without database:
// root@tcp(127.0.0.1:3306)/
const Env = "POINTSYNC_TEST_MYSQL_DSN"

var shared struct {
	once sync.Once
	cfg  *mysql.Config
	err  error
}

// MySQL returns the DSN of the process's test database, emptied of rows
// (its tables, once a ledger has migrated it, are kept). Call Drop from
// TestMain after the tests.
func MySQL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		t.Skipf("%s is not set: MySQL variant skipped (example: %s='root@tcp(127.0.0.1:3306)/')", Env, Env)
	}
	shared.once.Do(func() {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			shared.err = fmt.Errorf("%s: %w", Env, err)
			return
		}
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			shared.err = err
			return
		}
		defer db.Close()
		b := make([]byte, 6)
		rand.Read(b)
		cfg.DBName = "pointsync_test_" + hex.EncodeToString(b)
		if _, err := db.Exec("CREATE DATABASE " + cfg.DBName + " CHARACTER SET utf8mb4"); err != nil {
			shared.err = fmt.Errorf("create test database on %s: %w", cfg.Addr, err)
			return
		}
		shared.cfg = cfg
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	if err := empty(shared.cfg); err != nil {
		t.Fatal(err)
	}
	return shared.cfg.FormatDSN()
}

// empty deletes the rows of every table but the migrations record, so a
// table added by a new migration is emptied too.
func empty(cfg *mysql.Config) error {
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // FOREIGN_KEY_CHECKS is per connection
	rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> 'schema_migrations'")
	if err != nil {
		return fmt.Errorf("list test tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if _, err := db.Exec("SET FOREIGN_KEY_CHECKS = 0"); err != nil {
		return err
	}
	for _, table := range tables {
		if _, err := db.Exec("DELETE FROM `" + table + "`"); err != nil {
			return fmt.Errorf("empty %s: %w", table, err)
		}
	}
	_, err = db.Exec("SET FOREIGN_KEY_CHECKS = 1")
	return err
}

// Drop removes the process's test database, if one was made.
func Drop() {
	if shared.cfg == nil {
		return
	}
	cfg := *shared.cfg
	name := cfg.DBName
	cfg.DBName = ""
	if db, err := sql.Open("mysql", cfg.FormatDSN()); err == nil {
		db.Exec("DROP DATABASE " + name)
		db.Close()
	}
}
