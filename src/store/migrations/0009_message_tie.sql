-- The order of messages with the same time (issue 24). v2 times have one-second resolution and
-- ids are integers sent as text ("10" < "9") or UUIDs, so `(sent_at, id)` put a customer's quick
-- messages out of order. `tie` orders them: Linq's finer time in microseconds where a report
-- carries one (at least 10^15 for any date since 2001), else the log sequence of the row that
-- first told the message (always far smaller). Existing rows are given theirs when the new
-- projection rules (RULES_VERSION 2) re-project the log at the first open.
ALTER TABLE messages ADD COLUMN tie INTEGER NOT NULL DEFAULT 0;
-- The projections were made without it: whatever rules they say they were made by, project the
-- log again at the first open (store/replay.rs).
DELETE FROM meta WHERE key = 'projection_rules';
DROP INDEX messages_thread;
CREATE INDEX messages_thread ON messages (chat_id, sent_at, tie, id);
