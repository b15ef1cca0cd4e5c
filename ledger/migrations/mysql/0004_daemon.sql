-- What the daemon keeps beside the movements, written in the same
-- transaction as the batch it belongs to: where each source stands, the
-- whole inputs already applied, the rows that were not, and job status.
-- Column names avoid words MySQL reserves (cursor, rows).
-- IF NOT EXISTS: MySQL commits each CREATE on its own, so a migration cut
-- short there is run again over the tables it already made.

CREATE TABLE IF NOT EXISTS cursors (
    source       VARCHAR(191) NOT NULL PRIMARY KEY,
    cursor_value MEDIUMTEXT NOT NULL,
    updated_at   BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS units (
    source      VARCHAR(191) NOT NULL,
    ukey        VARCHAR(191) NOT NULL,
    name        VARCHAR(512) NOT NULL DEFAULT '',
    rows_read   BIGINT NOT NULL DEFAULT 0,
    rejected    BIGINT NOT NULL DEFAULT 0,
    done_at     BIGINT NOT NULL,
    PRIMARY KEY (source, ukey)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS rejects (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    source      VARCHAR(191) NOT NULL,
    unit        VARCHAR(191) NOT NULL DEFAULT '',
    origin      VARCHAR(512) NOT NULL DEFAULT '',
    line        BIGINT NOT NULL DEFAULT 0,
    col         VARCHAR(191) NOT NULL DEFAULT '',
    value       VARCHAR(512) NOT NULL DEFAULT '',
    reason      VARCHAR(1024) NOT NULL DEFAULT '',
    recorded_at BIGINT NOT NULL,
    KEY rejects_unit (source, unit)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS jobs (
    name          VARCHAR(191) NOT NULL PRIMARY KEY,
    last_run      BIGINT NULL,
    last_success  BIGINT NULL,
    last_error    TEXT NOT NULL,
    last_error_at BIGINT NULL,
    runs          BIGINT NOT NULL DEFAULT 0,
    failures      BIGINT NOT NULL DEFAULT 0,
    rows_read     BIGINT NOT NULL DEFAULT 0,
    rejected      BIGINT NOT NULL DEFAULT 0,
    lag_micros    BIGINT NOT NULL DEFAULT 0,
    next_run      BIGINT NULL,
    running       TINYINT NOT NULL DEFAULT 0,
    holder        VARCHAR(191) NOT NULL DEFAULT '',
    updated_at    BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
