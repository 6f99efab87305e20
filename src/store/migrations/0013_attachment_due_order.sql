-- The downloader asks for the next few downloads each time one ends: waiting ones first, then
-- failures whose retry time has come, each oldest first. With the index on (state, retry_at)
-- alone, a year of history being fetched for the first time (tens of thousands waiting) was
-- sorted whole for every answer of three. Ordered by the same columns the query orders by, the
-- index hands them out in order and the query stops after the first few.
DROP INDEX attachment_files_due;
CREATE INDEX attachment_files_due ON attachment_files (state, retry_at, updated_at);
