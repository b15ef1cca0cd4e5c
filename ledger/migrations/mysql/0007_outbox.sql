-- The outbox of notification events (points earned, prize threshold
-- reached, points expiring). An event is written in the same transaction
-- as the movement it announces, so it exists exactly when the movement
-- does, and stays until the webhook accepted it: delivery survives
-- restarts. seq orders delivery; id is the event's own name, unique, which
-- receivers deduplicate on and which makes enqueueing the same event twice
-- a no-op. A failed delivery raises attempts and moves next_at (the
-- backoff); delivered_at is set once the receiver answered 2xx. Delivered
-- rows are kept: their ids keep a rescan from announcing again.
-- Times are Unix microseconds (UTC).
-- IF NOT EXISTS: MySQL commits each CREATE on its own, so a migration cut
-- short there is run again over the tables it already made.

CREATE TABLE IF NOT EXISTS outbox (
    seq          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id           VARCHAR(191) NOT NULL,
    event_type   VARCHAR(32) NOT NULL,
    program      VARCHAR(64) NOT NULL,
    customer     VARCHAR(191) NOT NULL,
    event_at     BIGINT NOT NULL,
    data         MEDIUMTEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    attempts     INT NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL,
    last_error   TEXT NOT NULL,
    delivered_at BIGINT NULL,
    UNIQUE KEY outbox_id (id),
    KEY outbox_pending (delivered_at, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
