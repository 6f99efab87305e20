-- Drafts (issue 20): what the rep has typed in a chat's composer and not sent, with the message
-- it answers. Local state like `outbox` and `attachment_files`: never in the log, so `rebuild`
-- keeps it; a reply queued from the chat clears it in the same transaction.
CREATE TABLE drafts (
    chat_id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    reply_to TEXT,                 -- the message id the reply quotes, if any
    updated_at INTEGER NOT NULL    -- ms
) WITHOUT ROWID;

-- Files the rep attached to a reply (issue 20): kept in the data folder's attachment store by
-- SHA-256 before the reply is queued, so they survive a crash like the reply does. Local state;
-- each also has an `attachment_files` row under its upload id, so the thread shows the local copy.
CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
