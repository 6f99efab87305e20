-- Drafts (issue 20): what the rep has typed in a chat's composer and not sent, with the message
-- it answers. Local state like `outbox` and `attachment_files`: never in the log, so `rebuild`
-- keeps it; a reply queued from the chat clears it in the same transaction.
CREATE TABLE drafts (
    chat_id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    reply_to TEXT,                 -- the message id the reply quotes, if any
    updated_at INTEGER NOT NULL    -- ms
) WITHOUT ROWID;
