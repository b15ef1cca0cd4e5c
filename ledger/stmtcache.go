package ledger

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedReads bounds the read statements kept prepared. The reads'
// statements are fixed texts, a few dozen; a query built with a varying
// number of placeholders past the bound runs as text instead of filling
// the cache.
const maxCachedReads = 256

// stmtCache keeps the SQLite read pool's prepared statements. SQLite
// parsed the statements of a balance read on every request, a fifth of
// its cost; a *sql.Stmt of the pool is prepared once per connection
// and reused (database/sql keeps one per connection it ran on).
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) get(query string) (s *sql.Stmt, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query], len(c.stmts) >= maxCachedReads
}

// prepare adds query to the cache. The caller must hold none of db's
// connections. A statement that does not prepare is left out: its text
// runs and reports the error.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, query string) {
	if s, full := c.get(query); s != nil || full {
		return
	}
	s, err := db.PrepareContext(ctx, query)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.stmts[query]; ok || len(c.stmts) >= maxCachedReads {
		s.Close()
		return
	}
	if c.stmts == nil {
		c.stmts = make(map[string]*sql.Stmt)
	}
	c.stmts[query] = s
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		s.Close()
	}
	c.stmts = nil
}

// cachedReader runs reads through the statement cache: a read
// transaction's queries (tx), or single statements on the pool (tx nil),
// each its own snapshot. The queries it found missing are prepared by
// prepareMissed.
type cachedReader struct {
	db     *sql.DB
	tx     *sql.Tx
	cache  *stmtCache
	missed []string
}

func (r *cachedReader) stmt(ctx context.Context, query string) *sql.Stmt {
	s, full := r.cache.get(query)
	if s == nil {
		if !full {
			r.missed = append(r.missed, query)
		}
		return nil
	}
	if r.tx != nil {
		return r.tx.StmtContext(ctx, s)
	}
	return s
}

func (r *cachedReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := r.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryContext(ctx, query, args...)
	}
	return r.db.QueryContext(ctx, query, args...)
}

func (r *cachedReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := r.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryRowContext(ctx, query, args...)
	}
	return r.db.QueryRowContext(ctx, query, args...)
}

// prepareMissed prepares on the pool the queries that were missing. The
// caller must hold none of its connections (its transaction ended, its
// rows closed): preparing while holding one could wait for ever on a pool
// whose connections are all held by reads doing the same.
func (r *cachedReader) prepareMissed(ctx context.Context) {
	for _, q := range r.missed {
		r.cache.prepare(ctx, r.db, q)
	}
}
