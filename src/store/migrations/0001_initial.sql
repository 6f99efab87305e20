-- The raw event log is the source of truth; every table after it is a projection that
-- `linq-inbox rebuild` re-derives. Local state (settings, local reads) is not a projection.

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- AUTOINCREMENT: pruned typing rows never give their seq away
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    api_version TEXT,
    created_at INTEGER,                      -- ms since epoch, UTC
    created_at_original TEXT,
    received_at INTEGER NOT NULL,
    signature TEXT NOT NULL CHECK (signature IN ('raw', 'canonical', 'unsigned')),
    payload TEXT NOT NULL,                   -- the body exactly as received
    UNIQUE (event_id, event_type)
);
CREATE INDEX events_type ON events (event_type, seq);
CREATE INDEX events_received ON events (received_at);

CREATE TABLE rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    remote_addr TEXT,
    headers TEXT NOT NULL,                   -- JSON array of header names, never values
    size INTEGER NOT NULL,
    body_prefix TEXT NOT NULL
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE chats (
    chat_id TEXT PRIMARY KEY,
    display_name TEXT,
    is_group INTEGER NOT NULL DEFAULT 0,
    last_message_id TEXT,
    last_message_at INTEGER,
    last_activity_at INTEGER,
    unread_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chats_activity ON chats (last_activity_at DESC, chat_id);

CREATE TABLE chat_handles (
    chat_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    display_name TEXT,
    is_me INTEGER NOT NULL DEFAULT 0,
    seen_at INTEGER NOT NULL DEFAULT 0,      -- when display_name was last set: newest wins
    PRIMARY KEY (chat_id, identifier)
) WITHOUT ROWID;
CREATE INDEX chat_handles_identifier ON chat_handles (identifier);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL,
    text TEXT,
    sent_at INTEGER NOT NULL,
    sent_at_original TEXT,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    from_phone TEXT,
    service TEXT,
    is_read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_thread ON messages (chat_id, sent_at, id);
CREATE INDEX messages_unread ON messages (chat_id, direction, is_read, sent_at);

CREATE TABLE attachments (
    message_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    id TEXT,
    url TEXT,
    filename TEXT,
    mime_type TEXT,
    PRIMARY KEY (message_id, position)
) WITHOUT ROWID;

CREATE TABLE reactions (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    chat_id TEXT,
    reaction TEXT NOT NULL,
    from_identifier TEXT,
    is_from_me INTEGER NOT NULL,
    sent_at INTEGER,
    sent_at_original TEXT,
    message_text TEXT
);
CREATE INDEX reactions_message ON reactions (message_id);

-- Read receipts live apart from messages so one that arrives first waits for its message.
CREATE TABLE read_receipts (
    message_id TEXT PRIMARY KEY,
    chat_id TEXT,
    read_at INTEGER,
    read_at_original TEXT
);

CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    from_number TEXT,
    to_number TEXT,
    direction TEXT,
    status TEXT,
    start_time INTEGER,
    start_time_original TEXT,
    end_time INTEGER,
    end_time_original TEXT,
    duration INTEGER,
    call_type TEXT,
    forwarded_from TEXT,
    answered_by TEXT,
    voicemail INTEGER NOT NULL DEFAULT 0,
    has_recording INTEGER NOT NULL DEFAULT 0,
    recording_id TEXT,
    recording_url TEXT,
    recording_duration INTEGER,
    transcription TEXT,
    summary TEXT
);
CREATE INDEX calls_time ON calls (start_time DESC, id);

-- One row per contact id; a deletion is a tombstone so an older update cannot resurrect it.
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    first_name TEXT,
    last_name TEXT,
    full_name TEXT,
    email TEXT,
    phone_number TEXT,
    company TEXT,
    title TEXT,
    location TEXT,
    image_url TEXT,
    created_at INTEGER,
    created_at_original TEXT,
    updated_at INTEGER,
    updated_at_original TEXT,
    owner TEXT,                               -- JSON of contact_owner
    version INTEGER NOT NULL,                 -- updated_at (or event time) of the winning write
    version_key TEXT NOT NULL,                -- event_id: breaks ties the same way in any order
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX contacts_phone ON contacts (phone_number) WHERE deleted = 0;

CREATE TABLE memberships (
    event_id TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL,
    identifier TEXT NOT NULL,
    display_name TEXT,
    action TEXT NOT NULL CHECK (action IN ('added', 'removed')),
    at INTEGER NOT NULL,
    at_original TEXT
);
CREATE INDEX memberships_chat ON memberships (chat_id, at, event_id);

CREATE VIRTUAL TABLE search USING fts5 (
    body,
    kind UNINDEXED,
    ref_id UNINDEXED,
    chat_id UNINDEXED,
    at UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
-- search rowids: message rowid * 4, call rowid * 4 + 1, contact rowid * 4 + 2.

-- Local state: not derived from the event log, untouched by rebuild.
CREATE TABLE local_reads (
    chat_id TEXT PRIMARY KEY,
    read_through INTEGER NOT NULL             -- inbound messages sent at or before this are read
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
