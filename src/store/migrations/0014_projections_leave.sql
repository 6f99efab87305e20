-- The projections leave this file for the inbox file beside it (`inbox.sqlite`, its own
-- migrations in `inbox/`), so the writer's log commits never wait on the projector's write
-- lock. This file keeps what is not derivable: the raw log, refusals, meta, settings and the
-- local state (local reads, catch-up passes, attachment files, the outbox queue and its new
-- conversations, drafts, uploads). The tables
-- below are all derived from the log: the projector rebuilds them in the inbox file from
-- sequence 0, as `rebuild` would.
DROP TABLE chats;
DROP TABLE chat_handles;
DROP TABLE messages;
DROP TABLE attachments;
DROP TABLE reactions;
DROP TABLE read_receipts;
DROP TABLE calls;
DROP TABLE contacts;
DROP TABLE memberships;
DROP TABLE search;
DROP TABLE search_other;
DROP TABLE deliveries;
DROP TABLE message_failures;
DROP TABLE message_edits;
DROP TABLE chat_events;
DROP TABLE number_health;
DROP TABLE outbox_messages;
DROP TABLE outbox_reactions;
DROP TABLE projector;
DROP TABLE projection_failures;
-- The version of the projection rules is the inbox file's now (`projector.rules`).
DELETE FROM meta WHERE key = 'projection_rules';
