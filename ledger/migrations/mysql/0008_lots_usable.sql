-- The usable points of each account, readable from the index alone: a
-- customer list sorted or filtered by earned points sums the lots of every
-- account of a program, and one index search per account without reading
-- the lots themselves keeps a page of 100,000 customers well under a
-- second. Balance reads (their lots grouped by expiry) use it too.
-- MySQL commits the CREATE on its own, so a migration cut short runs again
-- over the index it made; MySQL (unlike MariaDB) has no CREATE INDEX IF
-- NOT EXISTS, hence the look in information_schema first.
SET @pointsync_ddl = (SELECT IF(COUNT(*) = 0, 'CREATE INDEX lots_usable ON lots (account_id, expires_at, remaining)', 'DO 0')
    FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'lots' AND index_name = 'lots_usable');
PREPARE pointsync_ddl FROM @pointsync_ddl;
EXECUTE pointsync_ddl;
DEALLOCATE PREPARE pointsync_ddl;
