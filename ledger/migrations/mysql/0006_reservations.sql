-- Reservations of points for a checkout (SPEC 3.3): a pending spend
-- (movement_id) held for one order of the shop until the checkout
-- commits it (it becomes the order's redemption), releases it, or lets
-- it expire (expires_at). One row per (program, order_ref): reserving
-- again an order whose reservation was released or expired writes a new
-- spend under the next generation (gen) over the same row. customer is
-- the identifier the reservation was asked with, customer_id whom it
-- names. finished_at is when it left the held state, 0 while held.
-- IF NOT EXISTS: MySQL commits each CREATE on its own, so a migration cut
-- short there is run again over the tables it already made.

CREATE TABLE IF NOT EXISTS reservations (
    program     VARCHAR(64) NOT NULL,
    order_ref   VARCHAR(191) NOT NULL,
    customer    VARCHAR(191) NOT NULL,
    customer_id BIGINT NOT NULL,
    account_id  BIGINT NOT NULL,
    movement_id BIGINT NOT NULL,
    points      BIGINT NOT NULL,
    state       VARCHAR(16) NOT NULL,
    gen         BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (program, order_ref),
    KEY reservations_due (state, expires_at),
    KEY reservations_account (account_id, state, expires_at),
    CONSTRAINT reservations_customer_fk FOREIGN KEY (customer_id) REFERENCES customers(id),
    CONSTRAINT reservations_account_fk FOREIGN KEY (account_id) REFERENCES accounts(id),
    CONSTRAINT reservations_movement_fk FOREIGN KEY (movement_id) REFERENCES movements(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
