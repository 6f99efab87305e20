-- One model for every dialect: a reaction's identity is who reacted how to which part of which
-- message (the same for v2 and v3, so a removal names what an addition added), and the
-- vendor's own id, which only v2 sends, is kept beside it for the API to show.
-- `linq-inbox` re-derives every projection from the log on the first open after this change
-- (projection rules version 1), so reactions stored under their v2 ids are re-keyed.
ALTER TABLE reactions ADD COLUMN linq_id TEXT;
