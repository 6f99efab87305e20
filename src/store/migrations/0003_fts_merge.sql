-- FTS5's automatic merge ran inside commits in bursts (every 64 leaf pages written it merged
-- 64 pages per index level), adding tens of milliseconds to one commit in many. The writers now
-- merge a little in every transaction instead (store::fts); this turns the burst off.
INSERT INTO search (search, rank) VALUES ('automerge', 0);
