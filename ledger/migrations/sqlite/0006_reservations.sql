-- Reservations of points for a checkout (SPEC 3.3): a pending spend
-- (movement_id) held for one order of the shop until the checkout
-- commits it (it becomes the order's redemption), releases it, or lets
-- it expire (expires_at). One row per (program, order_ref): reserving
-- again an order whose reservation was released or expired writes a new
-- spend under the next generation (gen) over the same row. customer is
-- the identifier the reservation was asked with, customer_id whom it
-- names. finished_at is when it left the held state, 0 while held.
-- IF NOT EXISTS as in the MySQL migration.

CREATE TABLE IF NOT EXISTS reservations (
    program     TEXT    NOT NULL,
    order_ref   TEXT    NOT NULL,
    customer    TEXT    NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    movement_id INTEGER NOT NULL REFERENCES movements(id),
    points      INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    gen         INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (program, order_ref)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reservations_due ON reservations(state, expires_at);
CREATE INDEX IF NOT EXISTS reservations_account ON reservations(account_id, state, expires_at);
