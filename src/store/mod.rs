//! The local SQLite file: the raw event log (source of truth), its projections (the inbox),
//! local state (settings, local reads), and the reads the UI API answers from.
//!
//! Sliced by concept, never by API version: each concept (messages, reactions, calls, chats,
//! contacts, numbers, the log) holds both its projection rules and its reads; `project.rs`
//! only dispatches a fact to them, and `fts.rs` holds the one search-index rowid scheme.
//!
//! One write connection belongs to the ingest writer; readers open their own WAL connections so
//! a long read never blocks a commit and a commit never blocks a read.

pub mod attachment_files;
pub mod calls;
pub mod chat_list;
pub mod chats;
pub mod contacts;
pub mod drafts;
pub mod fts;
pub mod log;
pub mod messages;
pub mod names;
pub mod numbers;
pub mod outbox;
pub mod project;
pub mod projection;
pub mod reactions;
pub mod replay;
pub mod rules;
pub mod schema;
pub mod search;
pub mod settings;
pub mod sync;
pub mod thread;
pub mod uploads;
pub mod views;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use log::{NewEvent, Rejection, StoredEvent};

/// The database file name inside the data folder.
pub const DB_FILE: &str = "linq-inbox.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database was written by a newer Linq Inbox (schema {found}, this build knows {known}); upgrade the app instead of opening it with this one")]
    TooNew { found: i64, known: i64 },
    #[error("could not migrate the database: {0}")]
    Migration(String),
    #[error("the disk is full: {0}")]
    DiskFull(String),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// True when the failure is the disk's (full, I/O error, read-only) and may pass by itself.
    pub fn is_disk(&self) -> bool {
        match self {
            StoreError::DiskFull(_) => true,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::ReadOnly
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }
}

/// Where the database lives, and how to open connections to it.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// Opens (creating and migrating if needed) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        schema::refuse_newer(&conn)?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        replay::reproject_if_stale(&mut conn)?;
        Ok(Store { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The one connection that writes: WAL, `synchronous=FULL`, so a commit survives power loss.
    pub fn writer(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&self.path)?;
        configure(&conn)?;
        Ok(conn)
    }

    /// A read-only connection for queries.
    pub fn reader(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "cache_size", -8000)?;
        Ok(conn)
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Invalid(format!(
            "the database could not switch to WAL mode (it reports {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "cache_size", -16000)?;
    Ok(())
}

/// A JSON array of strings, bound as one parameter and read with `json_each` so a page's worth
/// of keys is one query. Distinct, in first-seen order: the queries join from the list, and a
/// repeated key would repeat its rows.
pub(crate) fn json_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<&str> = items.into_iter().filter(|i| seen.insert(*i)).collect();
    serde_json::Value::from(distinct).to_string()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
pub(crate) mod tests;
