-- What the daemon keeps beside the movements, written in the same
-- transaction as the batch it belongs to: where each source stands, the
-- whole inputs already applied, the rows that were not, and job status.
-- Column names avoid words MySQL reserves (cursor, rows) so both backends
-- share them.
-- IF NOT EXISTS as in the MySQL migration, where each CREATE commits on
-- its own and a migration cut short is run again over what it made.

-- The opaque position each source stands at; a source without a row
-- starts from the beginning.
CREATE TABLE IF NOT EXISTS cursors (
    source       TEXT    PRIMARY KEY,
    cursor_value TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- Whole inputs (a drop file, by the hash of its content) already applied:
-- the same content under another name is recognised and not applied again.
CREATE TABLE IF NOT EXISTS units (
    source      TEXT    NOT NULL,
    ukey        TEXT    NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    rows_read   INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    done_at     INTEGER NOT NULL,
    PRIMARY KEY (source, ukey)
) WITHOUT ROWID;

-- Rows a source brought that were not applied, with where they came from
-- and why; unit is '' for sources that read no whole inputs. The id keeps
-- recording order.
CREATE TABLE IF NOT EXISTS rejects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    unit        TEXT    NOT NULL DEFAULT '',
    origin      TEXT    NOT NULL DEFAULT '',
    line        INTEGER NOT NULL DEFAULT 0,
    col         TEXT    NOT NULL DEFAULT '',
    value       TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rejects_unit ON rejects(source, unit);

-- Status of each scheduled job, for health checks and the admin UI. NULL
-- times are "never".
CREATE TABLE IF NOT EXISTS jobs (
    name          TEXT    PRIMARY KEY,
    last_run      INTEGER,
    last_success  INTEGER,
    last_error    TEXT    NOT NULL DEFAULT '',
    last_error_at INTEGER,
    runs          INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    rows_read     INTEGER NOT NULL DEFAULT 0,
    rejected      INTEGER NOT NULL DEFAULT 0,
    lag_micros    INTEGER NOT NULL DEFAULT 0,
    next_run      INTEGER,
    running       INTEGER NOT NULL DEFAULT 0,
    holder        TEXT    NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
