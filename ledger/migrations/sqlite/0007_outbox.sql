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

CREATE TABLE IF NOT EXISTS outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    event_type   TEXT    NOT NULL,
    program      TEXT    NOT NULL,
    customer     TEXT    NOT NULL,
    event_at     INTEGER NOT NULL,
    data         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    last_error   TEXT    NOT NULL DEFAULT '',
    delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq, next_at) WHERE delivered_at IS NULL;
