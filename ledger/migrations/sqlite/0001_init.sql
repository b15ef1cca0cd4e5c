-- pointsync ledger schema, SQLite.
-- Times are Unix microseconds (UTC). A lot that never expires has
-- expires_at = 9223372036854775807 so that "usable at t" is one range test
-- and consumption order (earliest expiry first, none last) is one index.

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  INTEGER NOT NULL
);

-- Tables keyed by text are WITHOUT ROWID: one B-tree instead of a table
-- and an index, on the path of every write.
CREATE TABLE identifiers (
    ident       TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX identifiers_customer ON identifiers(customer_id);

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    program     TEXT    NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    provisional INTEGER NOT NULL DEFAULT 0,
    spent       INTEGER NOT NULL DEFAULT 0,
    expired     INTEGER NOT NULL DEFAULT 0,
    debt        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (program, customer_id)
);
CREATE INDEX accounts_program_id ON accounts(program, id);

CREATE TABLE movements (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    kind         TEXT    NOT NULL,
    phase        TEXT    NOT NULL DEFAULT '',
    amount       INTEGER NOT NULL,
    ref_id       INTEGER REFERENCES movements(id),
    overdraft    INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER,
    source       TEXT    NOT NULL,
    idem_key     TEXT    NOT NULL,
    reason       TEXT    NOT NULL DEFAULT '',
    document     TEXT    NOT NULL DEFAULT '',
    rule         TEXT    NOT NULL DEFAULT '',
    rule_version TEXT    NOT NULL DEFAULT '',
    actor        TEXT    NOT NULL DEFAULT '',
    note         TEXT    NOT NULL DEFAULT '',
    business_at  INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL
);
CREATE INDEX movements_account ON movements(account_id, id);
CREATE INDEX movements_ref ON movements(ref_id);

-- Projection: one row per posted credit (id = the movement that created it).
CREATE TABLE lots (
    id          INTEGER PRIMARY KEY REFERENCES movements(id),
    credit_id   INTEGER NOT NULL REFERENCES movements(id),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    expires_at  INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    remaining   INTEGER NOT NULL,
    closed      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lots_account ON lots(account_id, expires_at, id);
CREATE INDEX lots_credit ON lots(credit_id);
CREATE INDEX lots_expiry ON lots(expires_at) WHERE remaining > 0;

-- What each debit took from each lot; rows with a negative amount give
-- points back (void, refund, partial post). debit_id is the debit, and
-- movement_id the movement that wrote the row.
CREATE TABLE consumptions (
    debit_id    INTEGER NOT NULL REFERENCES movements(id),
    lot_id      INTEGER NOT NULL REFERENCES lots(id),
    movement_id INTEGER NOT NULL REFERENCES movements(id),
    amount      INTEGER NOT NULL
);
CREATE INDEX consumptions_debit ON consumptions(debit_id, lot_id);

-- Projection: the part of an overdraft spend no lot has covered yet, and
-- the part a reset forgave.
CREATE TABLE debts (
    debit_id    INTEGER PRIMARY KEY REFERENCES movements(id),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    remaining   INTEGER NOT NULL,
    forgiven    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX debts_account ON debts(account_id, debit_id);

CREATE TABLE idempotency (
    source      TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (source, idem_key)
) WITHOUT ROWID;

-- Admin operations on many accounts at once (program reset, bulk expiry),
-- and the old and new expiry of every lot a bulk expiry changed.
CREATE TABLE admin_ops (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    op          TEXT    NOT NULL,
    program     TEXT    NOT NULL,
    customer_id INTEGER,
    params      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    actor       TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT '',
    accounts    INTEGER NOT NULL DEFAULT 0,
    lots        INTEGER NOT NULL DEFAULT 0,
    recorded_at INTEGER NOT NULL
);

CREATE TABLE expiry_changes (
    op_id       INTEGER NOT NULL REFERENCES admin_ops(id),
    lot_id      INTEGER NOT NULL REFERENCES lots(id),
    old_expires INTEGER NOT NULL,
    new_expires INTEGER NOT NULL
);
CREATE INDEX expiry_changes_lot ON expiry_changes(lot_id);
