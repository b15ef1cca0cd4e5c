package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"
)

// reserveTargetRatio is issue 8's target: reservations (each a reserve
// and a commit, two durable commits) per second against single-row
// durable commits per second on the same storage.
const reserveTargetRatio = 0.5

// reservePoints is what each checkout reserves; reserveMinUsable is the
// usable balance a customer needs to be picked, so that no reservation of
// the run is refused for want of points.
const (
	reservePoints    = 5
	reserveMinUsable = 200
	reservePool      = 20_000
)

// reserve is measure 4: checkout reservations through the API.
func (b *bench) reserve(ctx context.Context, backend string) error {
	rl, err := b.readLedger(ctx, backend)
	if err != nil {
		return err
	}
	pool := rl.plan.spenders(reserveMinUsable, reservePool)
	if len(pool) == 0 {
		return fmt.Errorf("no customer of the ledger has %d usable points: raise -movements", reserveMinUsable)
	}
	many, err := b.rawCommits(ctx, rl.store, b.o.clients)
	if err != nil {
		return err
	}
	one, err := b.rawCommits(ctx, rl.store, 1)
	if err != nil {
		return err
	}
	srv, api, err := b.serve(ctx, rl, "reserve")
	if err != nil {
		return err
	}
	run := time.Now().UnixNano()
	load := runLoad(ctx, b.o.clients, b.o.warmup, b.o.duration, b.o.seed, func(ctx context.Context, w, n int, rng *rand.Rand) error {
		order := fmt.Sprintf("B%d-%d-%d", run, w, n)
		body := fmt.Sprintf(`{"order":%q,"customer":%q,"points":%d}`, order, rl.plan.ident(pool[rng.IntN(len(pool))]), reservePoints)
		if err := api.call(ctx, w, "POST", "/api/v1/programs/"+benchProgram+"/reservations", body, 201); err != nil {
			return err
		}
		return api.call(ctx, w, "POST", "/api/v1/programs/"+benchProgram+"/reservations/"+order+"/commit", "", 200)
	})
	api.close()
	rss, err := srv.stop()
	if err != nil {
		return err
	}
	if load.errs > 0 {
		return fmt.Errorf("%d reservations failed; the first: %s", load.errs, load.firstErr)
	}
	ratio := load.perSecond() / many.perSecond()
	b.add(result{measure: "reservations", backend: backend, figure: rate(load.perSecond(), "reservations"),
		limit: rate(many.perSecond(), "commits") + fmt.Sprintf(" (%d writers)", b.o.clients), ratio: ratio, peakRSS: rss,
		target: fmt.Sprintf(">= %.1f x limit", reserveTargetRatio), met: yes(ratio >= reserveTargetRatio)})
	b.add(result{measure: "raw durable commits, 1 writer", backend: backend, figure: rate(one.perSecond(), "commits")})
	b.note("reservations on %s: %d clients for %s after %s of warm-up, each a reserve of %d points then its commit (two durable transactions), %s done, p50 %s, p99 %s for the pair, on %s customers with at least %d usable points; the limit inserts one row per transaction (%s)",
		backend, b.o.clients, b.o.duration, b.o.warmup, reservePoints, thousands(int64(load.done)), ms(load.percentile(50)), ms(load.percentile(99)),
		thousands(int64(len(pool))), reserveMinUsable, rawCommitsHow(backend))
	return nil
}

func rawCommitsHow(backend string) string {
	if backend == backendSQLite {
		return "a SQLite file beside the ledger in WAL with synchronous=FULL as the ledger sets it; the writers queue on one connection as the ledger's do"
	}
	return "a table of the bench's MySQL database, one connection per writer, with the server's innodb_flush_log_at_trx_commit"
}

// rawCommits is the limit of the reservations: writers goroutines each
// committing one single-row INSERT per transaction, durably.
func (b *bench) rawCommits(ctx context.Context, s *store, writers int) (loadResult, error) {
	var db *sql.DB
	var err error
	if s.backend == backendSQLite {
		db, err = openSQLite(filepath.Join(s.dir, "raw-commits.db"), false, false)
		if err == nil {
			db.SetMaxOpenConns(1)
		}
	} else {
		db, err = s.open(false)
		if err == nil {
			db.SetMaxOpenConns(writers)
			db.SetMaxIdleConns(writers)
		}
	}
	if err != nil {
		return loadResult{}, err
	}
	defer db.Close()
	b.rawTables++
	table := fmt.Sprintf("raw_commits_%d", b.rawTables)
	ddl := "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL UNIQUE, v INTEGER NOT NULL)"
	if s.backend == backendMySQL {
		ddl = "CREATE TABLE " + table + " (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL UNIQUE, v BIGINT NOT NULL) ENGINE=InnoDB"
	}
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return loadResult{}, err
	}
	res := runLoad(ctx, writers, b.o.warmup, b.o.duration, b.o.seed, func(ctx context.Context, w, n int, rng *rand.Rand) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" (k, v) VALUES (?, ?)", fmt.Sprintf("%d-%d", w, n), rng.Int64()); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	if res.errs > 0 {
		return res, fmt.Errorf("%d raw commits failed; the first: %s", res.errs, res.firstErr)
	}
	return res, nil
}

// spenders lists up to n customers (by index) with at least atLeast points
// usable at the plan's clock.
func (p ledgerPlan) spenders(atLeast int64, n int) []int {
	var out []int
	now := p.Now.UnixMicro()
	for i := 0; i < p.Customers && len(out) < n; i++ {
		ops := p.ops(i)
		var usable int64
		for k, op := range ops {
			if !op.Spend && (op.Expires == nil || op.Expires.UnixMicro() > now) {
				usable += remaining(ops, k)
			}
		}
		if usable >= atLeast {
			out = append(out, i)
		}
	}
	return out
}
