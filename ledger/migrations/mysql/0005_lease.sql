-- The lease that keeps one daemon active among several sharing this
-- ledger. A row of leases is a named lease: who holds it, the fence of
-- its latest acquisition (raised by one at each, so a daemon that lost the
-- lease is told apart from the one that took it), and when it was taken,
-- renewed and runs out. Times are Unix microseconds read from the
-- database's own clock, so daemons on hosts whose clocks disagree judge
-- expiry alike. A released lease keeps its last holder and expires at the
-- release.
--
-- lease_fences repeats each lease's fence in a row of its own: every
-- write transaction of the active daemon share-locks it, and only an
-- acquisition changes it, so a daemon taking the lease over waits for
-- those transactions to end, while a renewal, which changes only the
-- leases row, never waits for them.
-- IF NOT EXISTS: MySQL commits each CREATE on its own, so a migration cut
-- short there is run again over the tables it already made.

CREATE TABLE IF NOT EXISTS leases (
    name        VARCHAR(191) NOT NULL PRIMARY KEY,
    holder      VARCHAR(191) NOT NULL DEFAULT '',
    fence       BIGINT NOT NULL DEFAULT 0,
    acquired_at BIGINT NOT NULL DEFAULT 0,
    renewed_at  BIGINT NOT NULL DEFAULT 0,
    expires_at  BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS lease_fences (
    name  VARCHAR(191) NOT NULL PRIMARY KEY,
    fence BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
