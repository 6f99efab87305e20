-- Reactions through the outbox (issue 20 §4): the state of the rep's newest reaction change per
-- reaction, beside the reaction itself (a projection of the outbox's log rows, cleared and
-- replayed by `rebuild`). `reaction_key` is the reaction's identity (`Reaction::key`: message,
-- part, "me", kind, emoji), so Linq's later `reaction.added`/`removed` webhook about the rep's
-- own reaction lands on the same reaction row and no second one appears.
CREATE TABLE outbox_reactions (
    reaction_key TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('add', 'remove')),
    state TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    error TEXT,
    at INTEGER NOT NULL                      -- ms: when the rep asked (the log row's time)
) WITHOUT ROWID;

-- At most one read mark waits per chat: the queue is looked up by kind and chat.
CREATE INDEX outbox_kind_chat ON outbox (kind, chat_id, state);

-- A new conversation (issue 20 §3): its first message waits in `outbox` (kind 'message') under
-- a provisional chat id `new:{client_id}` until Linq answers `POST /v3/chats` with the chat's
-- id. What the sender needs to create the chat (local state, kept by `rebuild`), and the id
-- Linq gave it: replies the rep queues in the provisional chat meanwhile go there.
CREATE TABLE outbox_new_chats (
    chat_id TEXT PRIMARY KEY,                -- the provisional id, `new:{client_id}`
    client_id TEXT NOT NULL UNIQUE,          -- the first message's
    from_line TEXT NOT NULL,
    to_handle TEXT NOT NULL,
    linq_chat_id TEXT                        -- what Linq named the chat
) WITHOUT ROWID;
