//! Schema migrations, embedded in the binary. A database written by a newer version of the app
//! (a higher `user_version` than this build knows) is refused rather than touched.

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

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
];

/// The schema version this build writes.
pub const LATEST: usize = MIGRATIONS.len();

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// Refuses a database written by a newer build. Runs before anything writes to the file (even
/// switching the journal mode rewrites its header), so a refused database stays byte for byte.
pub fn refuse_newer(conn: &Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > LATEST as i64 {
        return Err(StoreError::TooNew {
            found,
            known: LATEST as i64,
        });
    }
    Ok(())
}

/// Brings `conn` to the latest schema, or refuses a database from the future.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    refuse_newer(conn)?;
    migrations()
        .to_latest(conn)
        .map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(
            migrations().validate().is_ok(),
            "every migration applies to an empty database"
        );
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
        migrate(&mut conn).expect("to the latest version");
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
        let kept: Vec<String> = conn
            .prepare("SELECT event_id FROM events ORDER BY seq")
            .expect("query")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("ids");
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
