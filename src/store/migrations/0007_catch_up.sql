-- Catch-up through Linq's REST API (issue 19). Records a pass fetches enter the log as their own
-- source: signature 'fetched' (never a signed delivery). The pass's own bookkeeping is local
-- state, not a projection: `rebuild` keeps it, like settings and local reads.

-- SQLite cannot change a CHECK constraint in place: rebuild the log with the same rows and seq.
CREATE TABLE events_0007 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    api_version TEXT,
    created_at INTEGER,
    created_at_original TEXT,
    received_at INTEGER NOT NULL,
    signature TEXT NOT NULL CHECK (signature IN ('raw', 'canonical', 'unsigned', 'standard', 'legacy', 'fetched')),
    payload TEXT NOT NULL,
    webhook_id TEXT,
    UNIQUE (event_id, event_type)
);
INSERT INTO events_0007 (seq, event_id, event_type, api_version, created_at, created_at_original,
                         received_at, signature, payload, webhook_id)
    SELECT seq, event_id, event_type, api_version, created_at, created_at_original,
           received_at, signature, payload, webhook_id FROM events;
DELETE FROM sqlite_sequence WHERE name = 'events_0007';
INSERT INTO sqlite_sequence (name, seq) SELECT 'events_0007', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_0007 RENAME TO events;
CREATE INDEX events_type ON events (event_type, seq);
CREATE INDEX events_received ON events (received_at);
CREATE UNIQUE INDEX events_webhook_id ON events (webhook_id) WHERE webhook_id IS NOT NULL;

-- One row per catch-up pass. A pass still 'running' when the app starts was killed: the next
-- pass resumes it (the chats it finished are not walked again).
CREATE TABLE sync_passes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,                   -- start, wake, listener, demand
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    chats_total INTEGER,
    chats_done INTEGER NOT NULL DEFAULT 0,
    fetched INTEGER NOT NULL DEFAULT 0,      -- message records read from Linq
    new INTEGER NOT NULL DEFAULT 0,          -- messages the store did not hold before
    away INTEGER NOT NULL DEFAULT 0,         -- of those, inbound and unread
    error TEXT
);

-- Per chat: how far a complete walk of its messages reached, and what the current pass did.
CREATE TABLE sync_chats (
    chat_id TEXT PRIMARY KEY,
    line TEXT,                               -- the rep's number the chat is on, when known
    watermark INTEGER,                       -- newest message time seen by a complete walk
    done_pass INTEGER,                       -- the last pass that finished this chat
    away_pass INTEGER,                       -- the pass `away` counts for
    away INTEGER NOT NULL DEFAULT 0          -- inbound unread messages that pass found new here
) WITHOUT ROWID;
