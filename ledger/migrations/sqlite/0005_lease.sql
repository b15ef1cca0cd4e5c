-- The lease that keeps one daemon active among several sharing a ledger
-- (MySQL; a SQLite ledger keeps a second daemon off with a lock file, but
-- the schemas stay parallel and the lease works here too). A row of
-- leases is a named lease: who holds it, the fence of its latest
-- acquisition (raised by one at each), and when it was taken, renewed and
-- runs out, in Unix microseconds. A released lease keeps its last holder
-- and expires at the release.
--
-- lease_fences repeats each lease's fence in a row of its own, which the
-- active daemon's write transactions lock on MySQL (see there); SQLite's
-- single writer needs no such lock, but the check reads it all the same.
-- IF NOT EXISTS as in the MySQL migration.

CREATE TABLE IF NOT EXISTS leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL DEFAULT '',
    fence       INTEGER NOT NULL DEFAULT 0,
    acquired_at INTEGER NOT NULL DEFAULT 0,
    renewed_at  INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS lease_fences (
    name  TEXT    PRIMARY KEY,
    fence INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
