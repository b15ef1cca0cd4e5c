-- Facts reconciliation has seen, and what it wrote for each subject (an
-- order, a receipt). A fact is kept once per content: a revision of the
-- same key is a new row; the newest by business time wins.
CREATE TABLE facts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    program     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    fkey        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    business_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX facts_content ON facts(program, kind, fkey, hash);
CREATE INDEX facts_subject ON facts(program, subject, id);

CREATE TABLE subjects (
    program     TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    parked      TEXT    NOT NULL DEFAULT '',
    waiting     TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (program, subject)
) WITHOUT ROWID;
CREATE INDEX subjects_waiting ON subjects(waiting, program, subject);
