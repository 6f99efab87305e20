-- The log's secondary indexes leave the acknowledged commit: every row the writer appended paid
-- an entry in each, and a closed loop acknowledged about 8% more without them
-- (docs/BENCHMARKS.md, "The log's secondary indexes, off the acknowledged commit").
--
-- `events_type (event_type, seq)` served one statement: the writer's prune of typing indicators
-- past retention (the Events screen's type filter reads the log by seq). The prune reads a
-- partial index instead, which holds the typing indicators alone, so a message pays nothing for
-- it. Its condition is written as comparisons joined by OR, not an IN list, which SQLite would
-- build as a temporary b-tree for every row inserted (migration 0015); the prune states it the
-- same way (`log::IS_TYPING`), or SQLite would not use the index.
DROP INDEX events_type;
CREATE INDEX events_typing ON events (received_at)
 WHERE event_type = 'typing_indicator.received' OR event_type = 'typing_indicator.removed'
    OR event_type = 'chat.typing_indicator.started' OR event_type = 'chat.typing_indicator.stopped';

-- `events_received (received_at)` served one read: when the last delivery arrived (the status
-- screen's "Last delivery"). The writer now notes it in `meta` once per commit that stored a
-- delivery; here it starts from the log's newest delivery (not a record a catch-up pass fetched,
-- nor one of the app's own outbox rows, which the old read counted by mistake).
INSERT OR REPLACE INTO meta (key, value)
SELECT 'last_delivery_at', received_at FROM events INDEXED BY events_received
 WHERE signature != 'fetched' AND signature != 'local'
 ORDER BY received_at DESC LIMIT 1;
DROP INDEX events_received;
