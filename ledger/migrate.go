package ledger

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations of a backend in order. Files
// are named NNNN_name.sql.
func migrations(backend string) ([]migration, error) {
	dir := path.Join("migrations", backend)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("ledger: no migrations for %s: %w", backend, err)
	}
	var out []migration
	for _, e := range entries {
		num, rest, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(rest, ".sql") {
			return nil, fmt.Errorf("ledger: migration file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: strings.TrimSuffix(rest, ".sql"), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("ledger: migrations of %s are not numbered 1, 2, 3...: found %d at position %d", backend, m.version, i+1)
		}
	}
	return out, nil
}

// statements splits a migration into statements at lines ending with ';'
// (our migrations hold no ';' inside strings), dropping comments.
func statements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// SchemaVersion is the newest schema version this binary knows for backend.
func SchemaVersion(backend string) int {
	ms, err := migrations(backend)
	if err != nil {
		return 0
	}
	return len(ms)
}

func (l *Ledger) migrate(ctx context.Context) error {
	ms, err := migrations(l.backend)
	if err != nil {
		return err
	}
	if l.backend == BackendMySQL {
		// Several daemons may start together on a shared ledger.
		conn, err := l.w.Conn(ctx)
		if err != nil {
			return fmt.Errorf("ledger: migrate: %w", err)
		}
		defer conn.Close()
		var got int
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('pointsync_migrate', 60)").Scan(&got); err != nil {
			return fmt.Errorf("ledger: migrate: take the migration lock: %w", err)
		}
		if got != 1 {
			return errors.New("ledger: migrate: another pointsync has held the migration lock for 60 s; wait for it to finish, then start again")
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK('pointsync_migrate')")
	}
	if _, err := l.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY, name VARCHAR(191) NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	var current int
	if err := l.w.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("ledger: migrate: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("%w: the database is at schema version %d but this pointsync knows up to %d; upgrade pointsync (never run an older one on a newer ledger)",
			ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[current:] {
		if err := l.applyMigration(ctx, m); err != nil {
			return err
		}
		l.log.Info("ledger migrated", zap.Int("version", m.version), zap.String("name", m.name))
	}
	return nil
}

func (l *Ledger) applyMigration(ctx context.Context, m migration) error {
	// SQLite runs DDL in the transaction; MySQL commits each DDL statement
	// on its own, so a failure there leaves a partial step that the
	// message names.
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: migration %d: %w", m.version, err)
	}
	defer tx.Rollback()
	for i, stmt := range statements(m.sql) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("ledger: migration %04d_%s, statement %d: %w", m.version, m.name, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, micros(l.clock())); err != nil {
		return fmt.Errorf("ledger: migration %d: record version: %w", m.version, err)
	}
	return tx.Commit()
}
