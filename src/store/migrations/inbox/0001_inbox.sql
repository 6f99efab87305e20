-- The inbox file (`inbox.sqlite` beside the log): every projection of the raw log, its search
-- index and the projector's cursor. Everything here is derived from the log file, so it commits
-- with `synchronous=NORMAL` and may be deleted and projected again from sequence 0 at any time
-- (`rebuild`, new projection rules, an upgrade from a single-file database). The shapes are
-- those the log file's migrations 0001-0010 had built when the two files were one.

CREATE TABLE chats (
    chat_id TEXT PRIMARY KEY,
    display_name TEXT,
    is_group INTEGER NOT NULL DEFAULT 0,
    last_message_id TEXT,
    last_message_at INTEGER,
    last_activity_at INTEGER,
    unread_count INTEGER NOT NULL DEFAULT 0,
    name_changed_at INTEGER,                 -- newest group_name_updated wins
    name_changed_key TEXT,
    icon_url TEXT,
    icon_changed_at INTEGER,
    icon_changed_key TEXT
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
    is_read INTEGER NOT NULL DEFAULT 0,
    reply_to_id TEXT,
    reply_to_part INTEGER,
    text_parts TEXT,                         -- JSON [[part index, text], ...] (v3), for edits
    tie INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_thread ON messages (chat_id, sent_at, tie, id);
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
CREATE INDEX attachments_id ON attachments (id) WHERE id IS NOT NULL;

CREATE TABLE reactions (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    chat_id TEXT,
    reaction TEXT NOT NULL,
    from_identifier TEXT,
    is_from_me INTEGER NOT NULL,
    sent_at INTEGER,
    sent_at_original TEXT,
    message_text TEXT,
    custom_emoji TEXT,
    sticker TEXT,                            -- JSON of the sticker object
    removed_at INTEGER,                      -- shown while sent_at > removed_at
    linq_id TEXT
);
CREATE INDEX reactions_message ON reactions (message_id);

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

-- Messages' words. Rowids: message rowid * 4 (store::fts); calls and contacts in search_other.
CREATE VIRTUAL TABLE search USING fts5 (
    body,
    kind UNINDEXED,
    ref_id UNINDEXED,
    chat_id UNINDEXED,
    at UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
-- The projector merges a little in every batch (store::fts) instead of FTS5's bursts.
INSERT INTO search (search, rank) VALUES ('automerge', 0);

CREATE VIRTUAL TABLE search_other USING fts5 (
    body,
    kind UNINDEXED,
    ref_id UNINDEXED,
    chat_id UNINDEXED,
    at UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

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

-- The rep's own messages the outbox holds, by the bubble's message id, with their outbox state
-- and the id Linq gave them (its webhooks about that id move the same bubble).
CREATE TABLE outbox_messages (
    message_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    linq_id TEXT UNIQUE,
    error TEXT
);

-- The state of the rep's newest reaction change per reaction, beside the reaction itself, by
-- the reaction's identity (`Reaction::key`), so Linq's later webhook about the rep's own
-- reaction lands on the same reaction row.
CREATE TABLE outbox_reactions (
    reaction_key TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('add', 'remove')),
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    error TEXT,
    at INTEGER NOT NULL                      -- ms: when the rep asked (the log row's time)
) WITHOUT ROWID;

-- The projector's cursor (the last log row projected), committed with what it projected, and
-- the projection rules that made this file (store::rules): other rules, and the file is
-- projected again from the start. `history_through`: the log's last row when this file was made
-- (empty) beside a log that already had rows: the projector derives those again, and they are
-- history, not news (the feed does not announce them; the UI shows the progress).
CREATE TABLE projector (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    rules INTEGER,
    history_through INTEGER
);
INSERT INTO projector (id, seq) VALUES (1, 0);

-- Log rows the projector could not fold in, with the reason (shown on the Events screen).
CREATE TABLE projection_failures (
    seq INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
