-- Linq API v3: two more signature forms, the Standard Webhooks id (deduplicates like event_id),
-- and the projections v3 adds (deliveries, failures, edits, replies, removed reactions, group
-- name and icon changes, location sharing, number health, call stages).

-- SQLite cannot change a CHECK constraint in place: rebuild the log with the same rows and seq.
CREATE TABLE events_v3 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    api_version TEXT,
    created_at INTEGER,
    created_at_original TEXT,
    received_at INTEGER NOT NULL,
    signature TEXT NOT NULL CHECK (signature IN ('raw', 'canonical', 'unsigned', 'standard', 'legacy')),
    payload TEXT NOT NULL,
    webhook_id TEXT,                         -- Standard Webhooks `webhook-id`, when that scheme matched
    UNIQUE (event_id, event_type)
);
INSERT INTO events_v3 (seq, event_id, event_type, api_version, created_at, created_at_original,
                       received_at, signature, payload)
    SELECT seq, event_id, event_type, api_version, created_at, created_at_original,
           received_at, signature, payload FROM events;
-- Keep AUTOINCREMENT's high-water mark: pruned typing rows must never give their seq away.
DELETE FROM sqlite_sequence WHERE name = 'events_v3';
INSERT INTO sqlite_sequence (name, seq) SELECT 'events_v3', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE INDEX events_type ON events (event_type, seq);
CREATE INDEX events_received ON events (received_at);
CREATE UNIQUE INDEX events_webhook_id ON events (webhook_id) WHERE webhook_id IS NOT NULL;

ALTER TABLE messages ADD COLUMN reply_to_id TEXT;
ALTER TABLE messages ADD COLUMN reply_to_part INTEGER;
ALTER TABLE messages ADD COLUMN text_parts TEXT;        -- JSON [[part index, text], ...] (v3), for edits

-- Delivery receipts, like read receipts, wait apart for a message that arrives later.
CREATE TABLE deliveries (
    message_id TEXT PRIMARY KEY,
    chat_id TEXT,
    delivered_at INTEGER,                    -- the earliest report wins
    delivered_at_original TEXT
);

CREATE TABLE message_failures (
    message_id TEXT PRIMARY KEY,
    chat_id TEXT,
    code TEXT,
    detail_code TEXT,
    reason TEXT,
    failed_at INTEGER NOT NULL,
    failed_at_original TEXT,
    event_id TEXT NOT NULL                   -- (failed_at, event_id): newest wins in any order
);

CREATE TABLE message_edits (
    message_id TEXT NOT NULL,
    part_index INTEGER NOT NULL,
    text TEXT NOT NULL,
    edited_at INTEGER NOT NULL,
    edited_at_original TEXT,
    event_id TEXT NOT NULL,                  -- (edited_at, event_id): newest wins in any order
    PRIMARY KEY (message_id, part_index)
) WITHOUT ROWID;

ALTER TABLE reactions ADD COLUMN custom_emoji TEXT;
ALTER TABLE reactions ADD COLUMN sticker TEXT;          -- JSON of the sticker object
ALTER TABLE reactions ADD COLUMN removed_at INTEGER;    -- shown while sent_at > removed_at

-- System lines that are not membership changes: group name and icon, location sharing.
CREATE TABLE chat_events (
    key TEXT PRIMARY KEY,                    -- the event id
    chat_id TEXT NOT NULL,
    kind TEXT NOT NULL,                      -- group_name, group_icon, location_started, location_stopped
    actor TEXT,
    old_value TEXT,
    new_value TEXT,
    at INTEGER NOT NULL,
    at_original TEXT
);
CREATE INDEX chat_events_chat ON chat_events (chat_id, at, key);

ALTER TABLE chats ADD COLUMN name_changed_at INTEGER;    -- newest group_name_updated wins
ALTER TABLE chats ADD COLUMN name_changed_key TEXT;
ALTER TABLE chats ADD COLUMN icon_url TEXT;
ALTER TABLE chats ADD COLUMN icon_changed_at INTEGER;
ALTER TABLE chats ADD COLUMN icon_changed_key TEXT;

-- The health of the rep's own numbers (phone_number.status_updated), newest wins.
CREATE TABLE number_health (
    phone_number TEXT PRIMARY KEY,
    status TEXT,
    reputation TEXT,
    previous_status TEXT,
    previous_reputation TEXT,
    changed_at INTEGER NOT NULL,
    changed_at_original TEXT,
    event_id TEXT NOT NULL
);
