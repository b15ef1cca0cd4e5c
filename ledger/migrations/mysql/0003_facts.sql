-- Facts reconciliation has seen, and what it wrote for each subject (an
-- order, a receipt). A fact is kept once per content: a revision of the
-- same key is a new row; the newest by business time wins.
CREATE TABLE facts (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    program     VARCHAR(64) NOT NULL,
    kind        VARCHAR(32) NOT NULL,
    fkey        VARCHAR(191) NOT NULL,
    subject     VARCHAR(191) NOT NULL,
    hash        CHAR(64) NOT NULL,
    payload     MEDIUMTEXT NOT NULL,
    business_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    UNIQUE KEY facts_content (program, kind, fkey, hash),
    KEY facts_subject (program, subject, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE subjects (
    program     VARCHAR(64) NOT NULL,
    subject     VARCHAR(191) NOT NULL,
    state       MEDIUMTEXT NOT NULL,
    parked      VARCHAR(512) NOT NULL DEFAULT '',
    waiting     VARCHAR(191) NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (program, subject),
    KEY subjects_waiting (waiting, program, subject)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
