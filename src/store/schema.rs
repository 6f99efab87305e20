//! Schema migrations, embedded in the binary, one list per file. The log file
//! (`migrations/*.sql`) holds what is not derivable; a log file written by a newer version of
//! the app (a higher `user_version` than this build knows) is refused rather than touched. The
//! inbox file (`migrations/inbox/*.sql`) holds the projections; being derivable, an inbox file
//! this build cannot read is replaced and projected again (`Store::open`).

use rusqlite::{Connection, Transaction};
use rusqlite_migration::{HookResult, Migrations, M};

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_v3.sql"),
    include_str!("migrations/0003_fts_merge.sql"),
    include_str!("migrations/0004_search_other.sql"),
    include_str!("migrations/0005_reaction_linq_id.sql"),
    include_str!("migrations/0006_projector.sql"),
    include_str!("migrations/0007_catch_up.sql"),
    include_str!("migrations/0008_attachment_files.sql"),
    include_str!("migrations/0009_message_tie.sql"),
    include_str!("migrations/0010_outbox.sql"),
    include_str!("migrations/0011_composer.sql"),
    include_str!("migrations/0012_outbox_reactions.sql"),
    include_str!("migrations/0013_attachment_due_order.sql"),
    include_str!("migrations/0014_projections_leave.sql"),
    include_str!("migrations/0015_signature_check.sql"),
    include_str!("migrations/0016_log_indexes.sql"),
];

/// The migration that edits the log's table text in place ([`reread_schema`] follows it).
const SIGNATURE_CHECK: usize = 14;

/// The inbox file's migrations: every projection, the search index and the projector's cursor.
const INBOX_MIGRATIONS: &[&str] = &[
    include_str!("migrations/inbox/0001_inbox.sql"),
    include_str!("migrations/inbox/0002_read_mark_error.sql"),
];

/// The log file's schema version this build writes.
pub const LATEST: usize = MIGRATIONS.len();

/// The inbox file's schema version this build writes.
pub const INBOX_LATEST: usize = INBOX_MIGRATIONS.len();

fn migrations() -> Migrations<'static> {
    Migrations::new(
        MIGRATIONS
            .iter()
            .enumerate()
            .map(|(n, sql)| match n {
                SIGNATURE_CHECK => M::up_with_hook(sql, reread_schema),
                _ => M::up(sql),
            })
            .collect(),
    )
}

/// After a migration edited a table's text in the schema (with `writable_schema` on): bumps the
/// schema cookie, so every other connection parses the schema again; `RESET` turns
/// `writable_schema` off and has this connection parse it again too. A schema that no longer
/// parses fails the statement after it, and the migration is rolled back.
fn reread_schema(tx: &Transaction<'_>) -> HookResult {
    let cookie: i64 = tx.pragma_query_value(None, "schema_version", |r| r.get(0))?;
    tx.pragma_update(None, "schema_version", cookie + 1)?;
    tx.execute_batch("PRAGMA writable_schema = RESET")?;
    tx.prepare("SELECT * FROM events LIMIT 0")?;
    Ok(())
}

fn list(sqls: &'static [&'static str]) -> Migrations<'static> {
    Migrations::new(sqls.iter().map(|sql| M::up(sql)).collect())
}

/// Refuses a database written by a newer build. Runs before anything writes to the file (even
/// switching the journal mode rewrites its header), so a refused database stays byte for byte.
pub fn refuse_newer(conn: &Connection) -> Result<(), StoreError> {
    let found = version(conn)?;
    if found > LATEST as i64 {
        return Err(StoreError::TooNew {
            found,
            known: LATEST as i64,
        });
    }
    Ok(())
}

/// Brings the log file on `conn` to the latest schema, or refuses one from the future.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    refuse_newer(conn)?;
    migrations()
        .to_latest(conn)
        .map_err(|e| StoreError::Migration(e.to_string()))
}

/// Whether the inbox file on `conn` was written by a build with a newer inbox schema (it is
/// then replaced, not read: everything in it is derived from the log).
pub fn inbox_is_newer(conn: &Connection) -> Result<bool, StoreError> {
    Ok(version(conn)? > INBOX_LATEST as i64)
}

/// The schema version the file on `conn` (its main schema) was last migrated to.
fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Brings the inbox file on `conn` (its main schema) to the latest schema.
pub fn migrate_inbox(conn: &mut Connection) -> Result<(), StoreError> {
    list(INBOX_MIGRATIONS)
        .to_latest(conn)
        .map_err(|e| StoreError::Migration(e.to_string()))
}

/// Drops every table of the inbox file on `conn` (its main schema) and creates them again, empty,
/// through the inbox migrations; its schema version stays. Inside the caller's transaction.
pub fn recreate_inbox(conn: &Connection) -> Result<(), StoreError> {
    // Virtual tables first: each takes its shadow tables with it.
    for kind in ["virtual", "plain"] {
        let names: Vec<String> = conn
            .prepare(
                "SELECT name FROM main.sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%'
                 AND (sql LIKE 'CREATE VIRTUAL TABLE%') = (?1 = 'virtual')",
            )?
            .query_map([kind], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for name in names {
            conn.execute_batch(&format!("DROP TABLE main.\"{name}\""))?;
        }
    }
    for sql in INBOX_MIGRATIONS {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::log::event_ids;

    #[test]
    fn migrations_are_valid() {
        assert!(
            migrations().validate().is_ok(),
            "every log migration applies to an empty database"
        );
        assert!(
            list(INBOX_MIGRATIONS).validate().is_ok(),
            "every inbox migration applies to an empty database"
        );
    }

    /// Every table, index and column in `schema`, as comparable text (names and types only).
    fn shape(conn: &Connection, schema: &str) -> Vec<String> {
        let objects: Vec<(String, String)> = conn
            .prepare(&format!(
                "SELECT type, name FROM {schema}.sqlite_master
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
            ))
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("objects");
        let mut out = Vec::new();
        for (kind, name) in objects {
            let pragma = if kind == "index" {
                "index_xinfo"
            } else {
                "table_xinfo"
            };
            let cols: Vec<String> = conn
                .prepare(&format!("PRAGMA {schema}.{pragma}(\"{name}\")"))
                .expect("pragma")
                .query_map([], |r| {
                    Ok(format!("{:?} {:?}", r.get_ref(1)?, r.get_ref(2)?))
                })
                .expect("columns")
                .collect::<Result<_, _>>()
                .expect("column list");
            out.push(format!("{kind} {name}: {}", cols.join(", ")));
        }
        out
    }

    #[test]
    fn the_inbox_file_has_every_projection_the_single_file_had_with_the_same_columns() {
        // The single file as it stood before the split: migrations 1-13.
        let mut old = Connection::open_in_memory().expect("memory db");
        list(&MIGRATIONS[..13])
            .to_latest(&mut old)
            .expect("version 13");
        // The inbox as the split made it (its first migration; later ones have tests of their own).
        let mut inbox = Connection::open_in_memory().expect("memory db");
        list(&INBOX_MIGRATIONS[..1])
            .to_latest(&mut inbox)
            .expect("inbox 1");
        // The log as the split and 0015 left it (0016's indexes have a test of their own).
        let mut log = Connection::open_in_memory().expect("memory db");
        migrations()
            .to_version(&mut log, BEFORE_LOG_INDEXES)
            .expect("log");
        // The cursor's table also names the projection rules in the inbox file (they were a
        // row of `meta` in the one file); every other table is as it was.
        let not_cursor = |t: &String| !t.starts_with("table projector:");
        let inbox_shape: Vec<String> = shape(&inbox, "main")
            .into_iter()
            .filter(not_cursor)
            .collect();
        let log_shape = shape(&log, "main");
        let mut split: Vec<String> = inbox_shape.iter().chain(&log_shape).cloned().collect();
        split.sort();
        let mut single: Vec<String> = shape(&old, "main").into_iter().filter(not_cursor).collect();
        single.sort();
        assert_eq!(
            split, single,
            "the two files together hold exactly the tables, columns and indexes of the one"
        );
        let both: Vec<&String> = inbox_shape
            .iter()
            .filter(|t| log_shape.contains(t))
            .collect();
        assert!(both.is_empty(), "no table is in both files: {both:?}");
    }

    #[test]
    fn an_inbox_of_version_1_keeps_its_chats_and_shows_no_refused_read_mark() {
        let mut inbox = Connection::open_in_memory().expect("memory db");
        list(&INBOX_MIGRATIONS[..1])
            .to_latest(&mut inbox)
            .expect("inbox 1");
        inbox
            .execute(
                "INSERT INTO chats (chat_id, unread_count) VALUES ('c1', 3)",
                [],
            )
            .expect("a chat");
        migrate_inbox(&mut inbox).expect("to the latest");
        let (unread, error): (i64, Option<String>) = inbox
            .query_row(
                "SELECT unread_count, read_mark_error FROM chats WHERE chat_id = 'c1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the chat is still there");
        assert_eq!(
            (unread, error),
            (3, None),
            "the chat keeps its count and shows no refusal"
        );
    }

    /// The log's event ids in sequence order.
    /// What SQLite will run to insert one log row.
    fn insert_plan(conn: &Connection) -> Vec<String> {
        conn.prepare(
            "EXPLAIN INSERT INTO events (event_id, event_type, received_at, signature, payload)
             VALUES (?1, 'message.received', 0, ?2, '{}')",
        )
        .expect("explain")
        .query_map(["e", "raw"], |r| r.get::<_, String>(1))
        .expect("plan")
        .collect::<Result<_, _>>()
        .expect("opcodes")
    }

    #[test]
    fn the_log_checks_signatures_without_a_temporary_table_per_row() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        list(&MIGRATIONS[..SIGNATURE_CHECK])
            .to_latest(&mut conn)
            .expect("version 14");
        assert!(
            insert_plan(&conn).iter().any(|op| op == "OpenEphemeral"),
            "the IN list's check built a temporary table for every row"
        );
        conn.execute(
            "INSERT INTO events (event_id, event_type, received_at, signature, payload)
             VALUES ('kept', 'message.received', 5, 'standard', '{}')",
            [],
        )
        .expect("a row before the migration");

        migrate(&mut conn).expect("to the latest version");
        assert!(
            !insert_plan(&conn).iter().any(|op| op == "OpenEphemeral"),
            "the check is comparisons now: {:?}",
            insert_plan(&conn)
        );
        let insert = |signature: &str| {
            conn.execute(
                "INSERT INTO events (event_id, event_type, received_at, signature, payload)
                 VALUES (?1, 'message.received', 6, ?1, '{}')",
                [signature],
            )
        };
        for signature in [
            "raw",
            "canonical",
            "unsigned",
            "standard",
            "legacy",
            "fetched",
            "local",
        ] {
            insert(signature).unwrap_or_else(|e| panic!("{signature} is a signature form: {e}"));
        }
        let refused = insert("forged").expect_err("an unknown form is refused");
        assert!(
            refused.to_string().contains("CHECK constraint failed"),
            "by the check: {refused}"
        );
        let rows = event_ids(&conn);
        assert_eq!(
            rows.len(),
            8,
            "the row from before and the seven new ones: {rows:?}"
        );
        assert_eq!(rows[0], "kept", "the migration kept the log's rows");
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .expect("table text");
        assert!(
            !sql.contains("signature IN"),
            "the table's text changed: {sql}"
        );
    }

    /// The log file's version before migration 0016 took its type and time indexes away.
    const BEFORE_LOG_INDEXES: usize = 15;

    /// The log's indexes by name, the unique key's automatic one left out.
    fn log_indexes(conn: &Connection) -> Vec<String> {
        conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'
               AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name",
        )
        .expect("indexes")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("names")
    }

    #[test]
    fn the_log_keeps_no_index_a_message_pays_for_and_remembers_the_last_delivery() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrations()
            .to_version(&mut conn, BEFORE_LOG_INDEXES)
            .expect("version 15");
        for (id, received_at, signature) in [
            ("early", 100, "standard"),
            ("last delivery", 300, "raw"),
            ("fetched later", 900, "fetched"),
            ("outbox row later", 800, "local"),
        ] {
            conn.execute(
                "INSERT INTO events (event_id, event_type, received_at, signature, payload)
                 VALUES (?1, 'message.received', ?2, ?3, '{}')",
                rusqlite::params![id, received_at, signature],
            )
            .expect("a row before the migration");
        }

        migrate(&mut conn).expect("to the latest version");
        assert_eq!(
            log_indexes(&conn),
            ["events_typing", "events_webhook_id"],
            "the type and time indexes are gone; typing indicators and webhook ids keep theirs"
        );
        assert_eq!(
            super::super::log::last_delivery_at(&conn).expect("read"),
            Some(300),
            "the last delivery is the newest delivered row's, not a fetched or local one's"
        );
        assert_eq!(event_ids(&conn).len(), 4, "every row is kept");
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        conn.pragma_update(None, "user_version", 99)
            .expect("set version");
        let err = migrate(&mut conn).expect_err("newer schema must be refused");
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .expect("count");
        assert_eq!(tables, 0, "nothing was created in the refused database");
    }

    #[test]
    fn calls_and_contacts_move_to_their_own_index_and_stay_findable() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        Migrations::new(MIGRATIONS[..3].iter().map(|sql| M::up(sql)).collect())
            .to_latest(&mut conn)
            .expect("version 3");
        // Version 3 kept everything in one index: rowid * 4 + 0 message, + 1 call, + 2 contact.
        for (rowid, kind, body) in [
            (4, "message", "pricing sheet attached"),
            (9, "call", "pricing call transcript"),
            (14, "contact", "Pricing Desk"),
        ] {
            conn.execute(
                "INSERT INTO search (rowid, body, kind, ref_id) VALUES (?1, ?2, ?3, ?1)",
                rusqlite::params![rowid, body, kind],
            )
            .expect("old index row");
        }
        // Up to the last version whose file still held the index (0014 moves it out).
        list(&MIGRATIONS[..13])
            .to_latest(&mut conn)
            .expect("to version 13");
        let kinds = |table: &str| -> Vec<String> {
            conn.prepare(&format!(
                "SELECT kind FROM {table} WHERE {table} MATCH 'pric*' ORDER BY rowid"
            ))
            .expect("query")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("kinds")
        };
        assert_eq!(kinds("search"), ["message"], "only messages stay");
        assert_eq!(
            kinds("search_other"),
            ["call", "contact"],
            "moved, still matching"
        );
    }

    #[test]
    fn version_1_databases_migrate_keeping_every_event_and_the_sequence() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        Migrations::new(vec![M::up(MIGRATIONS[0])])
            .to_latest(&mut conn)
            .expect("version 1");
        for (seq, id) in [(1, "a"), (2, "b"), (3, "typing")] {
            conn.execute(
                "INSERT INTO events (seq, event_id, event_type, received_at, signature, payload)
                 VALUES (?1, ?2, 'message.received', 0, 'raw', '{}')",
                rusqlite::params![seq, id],
            )
            .expect("insert");
        }
        conn.execute("DELETE FROM events WHERE seq = 3", [])
            .expect("a pruned row");
        migrate(&mut conn).expect("migrates to the latest version");
        let kept = event_ids(&conn);
        assert_eq!(kept, vec!["a", "b"], "every stored event survives");
        conn.execute(
            "INSERT INTO events (event_id, event_type, received_at, signature, payload, webhook_id)
             VALUES ('c', 'message.received', 0, 'standard', '{}', 'msg_1')",
            [],
        )
        .expect("the new signature form is allowed");
        assert_eq!(
            conn.last_insert_rowid(),
            4,
            "a pruned row's seq is never given away, across the rebuild of the table"
        );
        let dup = conn.execute(
            "INSERT INTO events (event_id, event_type, received_at, signature, payload, webhook_id)
             VALUES ('d', 'message.received', 0, 'standard', '{}', 'msg_1') ON CONFLICT DO NOTHING",
            [],
        );
        assert_eq!(dup.ok(), Some(0), "a second webhook-id is a duplicate");
    }
}
