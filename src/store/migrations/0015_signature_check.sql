-- The log's CHECK on `signature` was an IN list of seven values. SQLite codes an IN list longer
-- than two as a temporary b-tree, and built it again for every row the writer inserted: about 6%
-- of the closed loop's ack rate (docs/BENCHMARKS.md, "The log's CHECK, built for every row").
-- The same rule written as comparisons joined by OR costs nothing.
--
-- SQLite's documented way to change a CHECK constraint in place (lang_altertable.html, "Making
-- Other Kinds Of Table Schema Changes"): edit the table's text in the schema; this migration's
-- hook (`schema.rs`) then bumps the schema cookie, so every other connection reads the schema
-- again, turns `writable_schema` off and has this connection read it again too. The rows are not
-- touched: the rule is the same. A later migration that rebuilds the log keeps the OR form.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
   SET sql = replace(sql,
       'CHECK (signature IN (''raw'', ''canonical'', ''unsigned'', ''standard'', ''legacy'', ''fetched'', ''local''))',
       'CHECK (signature = ''raw'' OR signature = ''canonical'' OR signature = ''unsigned'' OR signature = ''standard'' OR signature = ''legacy'' OR signature = ''fetched'' OR signature = ''local'')')
 WHERE type = 'table' AND name = 'events';
