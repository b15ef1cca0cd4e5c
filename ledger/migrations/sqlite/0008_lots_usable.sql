-- The usable points of each account, readable from the index alone: a
-- customer list sorted or filtered by earned points sums the lots of every
-- account of a program, and one index search per account without reading
-- the lots themselves keeps a page of 100,000 customers well under a
-- second. Balance reads (their lots grouped by expiry) use it too. Only
-- lots that still hold points are in it.
CREATE INDEX IF NOT EXISTS lots_usable ON lots(account_id, expires_at, remaining) WHERE remaining > 0;
