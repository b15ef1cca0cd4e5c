-- pointsync ledger schema, MySQL/MariaDB (InnoDB, utf8mb4).
-- Times are Unix microseconds (UTC). A lot that never expires has
-- expires_at = 9223372036854775807 so that "usable at t" is one range test
-- and consumption order (earliest expiry first, none last) is one index.

CREATE TABLE customers (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    created_at  BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE identifiers (
    ident       VARCHAR(191) NOT NULL PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    KEY identifiers_customer (customer_id),
    CONSTRAINT identifiers_customer_fk FOREIGN KEY (customer_id) REFERENCES customers(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE accounts (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    program     VARCHAR(64) NOT NULL,
    customer_id BIGINT NOT NULL,
    provisional BIGINT NOT NULL DEFAULT 0,
    spent       BIGINT NOT NULL DEFAULT 0,
    expired     BIGINT NOT NULL DEFAULT 0,
    debt        BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE KEY accounts_program_customer (program, customer_id),
    KEY accounts_program_id (program, id),
    CONSTRAINT accounts_customer_fk FOREIGN KEY (customer_id) REFERENCES customers(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE movements (
    id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id   BIGINT NOT NULL,
    kind         VARCHAR(16) NOT NULL,
    phase        VARCHAR(16) NOT NULL DEFAULT '',
    amount       BIGINT NOT NULL,
    ref_id       BIGINT NULL,
    overdraft    BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NULL,
    source       VARCHAR(16) NOT NULL,
    idem_key     VARCHAR(191) NOT NULL,
    reason       VARCHAR(64) NOT NULL DEFAULT '',
    document     VARCHAR(191) NOT NULL DEFAULT '',
    rule         VARCHAR(64) NOT NULL DEFAULT '',
    rule_version VARCHAR(64) NOT NULL DEFAULT '',
    actor        VARCHAR(191) NOT NULL DEFAULT '',
    note         TEXT NOT NULL,
    business_at  BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    KEY movements_account (account_id, id),
    KEY movements_ref (ref_id),
    CONSTRAINT movements_account_fk FOREIGN KEY (account_id) REFERENCES accounts(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE lots (
    id          BIGINT NOT NULL PRIMARY KEY,
    credit_id   BIGINT NOT NULL,
    account_id  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    remaining   BIGINT NOT NULL,
    closed      TINYINT NOT NULL DEFAULT 0,
    KEY lots_account (account_id, expires_at, id),
    KEY lots_credit (credit_id),
    KEY lots_expiry (expires_at, remaining),
    CONSTRAINT lots_movement_fk FOREIGN KEY (id) REFERENCES movements(id)
) ENGINE=InnoDB;

CREATE TABLE consumptions (
    debit_id    BIGINT NOT NULL,
    lot_id      BIGINT NOT NULL,
    movement_id BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    KEY consumptions_debit (debit_id, lot_id)
) ENGINE=InnoDB;

CREATE TABLE debts (
    debit_id    BIGINT NOT NULL PRIMARY KEY,
    account_id  BIGINT NOT NULL,
    remaining   BIGINT NOT NULL,
    forgiven    BIGINT NOT NULL DEFAULT 0,
    KEY debts_account (account_id, debit_id)
) ENGINE=InnoDB;

CREATE TABLE idempotency (
    source      VARCHAR(16) NOT NULL,
    idem_key    VARCHAR(191) NOT NULL,
    hash        CHAR(64) NOT NULL,
    result      MEDIUMTEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (source, idem_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE admin_ops (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    op          VARCHAR(32) NOT NULL,
    program     VARCHAR(64) NOT NULL,
    customer_id BIGINT NULL,
    params      TEXT NOT NULL,
    source      VARCHAR(16) NOT NULL,
    idem_key    VARCHAR(191) NOT NULL,
    actor       VARCHAR(191) NOT NULL DEFAULT '',
    note        TEXT NOT NULL,
    accounts    BIGINT NOT NULL DEFAULT 0,
    lots        BIGINT NOT NULL DEFAULT 0,
    recorded_at BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE expiry_changes (
    op_id       BIGINT NOT NULL,
    lot_id      BIGINT NOT NULL,
    old_expires BIGINT NOT NULL,
    new_expires BIGINT NOT NULL,
    KEY expiry_changes_lot (lot_id)
) ENGINE=InnoDB;
