-- Why Linq refused a chat's last read mark (one sentence), shown with the chat until a later
-- mark goes through. Projected from the outbox's `read_refused` and `read_taken` log rows.
ALTER TABLE chats ADD COLUMN read_mark_error TEXT;
