-- The log first, the inbox behind it: deliveries are acknowledged once their raw rows commit,
-- and a projector turns the log into the inbox in sequence order. Its cursor (the last log row
-- projected) lives in the same transaction as what it projected, so a lost or crashed
-- projection is projected again from the log, never twice.
CREATE TABLE projector (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
-- Databases written before this change projected every row as it was stored.
INSERT INTO projector (id, seq) SELECT 1, coalesce(max(seq), 0) FROM events;

-- Log rows the projector could not fold in, with the reason (shown on the Events screen). The
-- row stays in the log; the rows after it are projected all the same.
CREATE TABLE projection_failures (
    seq INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
