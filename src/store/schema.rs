//! Schema migrations, embedded in the binary. A database written by a newer version of the app
//! (a higher `user_version` than this build knows) is refused rather than touched.

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

use super::StoreError;

const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_initial.sql")];

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
}
