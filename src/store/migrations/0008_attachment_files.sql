-- Attachments kept in the data folder. Local state, like `local_reads`: the downloaded files are
-- not in the log, so `rebuild` keeps this table (and the files) as they are. One row per
-- attachment key: Linq's attachment id, or `{message_id}:{position}` for an attachment Linq gave
-- no id. The file itself lives at `attachments/{sha256}` in the data folder (named by its
-- content, never by Linq's filename).
CREATE TABLE attachment_files (
    key TEXT PRIMARY KEY,
    url TEXT,                          -- where it is fetched from (the first report's)
    state TEXT NOT NULL CHECK (state IN ('pending', 'downloaded', 'failed')),
    sha256 TEXT,                       -- set when downloaded
    size INTEGER,                      -- bytes on disk, when downloaded
    content_type TEXT,                 -- sniffed from the bytes, when downloaded
    error TEXT,                        -- one sentence, when failed (or retrying)
    attempts INTEGER NOT NULL DEFAULT 0,
    retry_at INTEGER,                  -- ms; a failure retried automatically after this
    can_retry INTEGER NOT NULL DEFAULT 0, -- the failure may pass (network, server): trying again may help
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX attachment_files_due ON attachment_files (state, retry_at);
-- `GET /api/attachments/{id}` finds an attachment's name by Linq's id.
CREATE INDEX attachments_id ON attachments (id) WHERE id IS NOT NULL;
