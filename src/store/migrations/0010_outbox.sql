-- The outbox (issue 20): the rep's replies, reactions and read marks, committed locally first and
-- sent to Linq's REST API with an idempotency key. What changes the inbox enters the log as rows
-- of its own source, signature 'local' (the app's own writes, never a delivery), and projects
-- through the one projector; the sender's queue is local state (`rebuild` keeps it).

-- SQLite cannot change a CHECK constraint in place: rebuild the log with the same rows and seq.
CREATE TABLE events_0011 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    api_version TEXT,
    created_at INTEGER,
    created_at_original TEXT,
    received_at INTEGER NOT NULL,
    signature TEXT NOT NULL CHECK (signature IN ('raw', 'canonical', 'unsigned', 'standard', 'legacy', 'fetched', 'local')),
    payload TEXT NOT NULL,
    webhook_id TEXT,
    UNIQUE (event_id, event_type)
);
INSERT INTO events_0011 (seq, event_id, event_type, api_version, created_at, created_at_original,
                         received_at, signature, payload, webhook_id)
    SELECT seq, event_id, event_type, api_version, created_at, created_at_original,
           received_at, signature, payload, webhook_id FROM events;
DELETE FROM sqlite_sequence WHERE name = 'events_0011';
INSERT INTO sqlite_sequence (name, seq) SELECT 'events_0011', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_0011 RENAME TO events;
CREATE INDEX events_type ON events (event_type, seq);
CREATE INDEX events_received ON events (received_at);
CREATE UNIQUE INDEX events_webhook_id ON events (webhook_id) WHERE webhook_id IS NOT NULL;

-- The sender's queue (local state): one row per reply, reaction or read mark, keyed by the
-- client's id, which is also the idempotency key Linq deduplicates by.
CREATE TABLE outbox (
    client_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'reaction', 'read')),
    chat_id TEXT,
    request TEXT NOT NULL,                   -- JSON: what to send
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    tries INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,                -- ms: not before
    error TEXT,                              -- the last failure, one sentence
    linq_id TEXT,                            -- what Linq answered
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox (state, next_at);

-- Projection: the rep's own messages the outbox holds, by the bubble's message id, with their
-- outbox state and the id Linq gave them (its webhooks about that id move the same bubble).
CREATE TABLE outbox_messages (
    message_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    linq_id TEXT UNIQUE,
    error TEXT
);
