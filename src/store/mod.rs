//! The local SQLite files and the reads the UI API answers from. Two files, each with its own
//! WAL and write lock, so the writer's log commits never wait on the projector:
//! - the log file ([`DB_FILE`], `synchronous=FULL`): the raw event log (source of truth),
//!   refusals, meta, settings and local state (local reads, catch-up passes, attachment files,
//!   the outbox queue): everything that cannot be derived;
//! - the inbox file ([`INBOX_FILE`], `synchronous=NORMAL`): every projection, the search index
//!   and the projector's cursor, all derived from the log and re-derivable from sequence 0.
//!
//! Every connection sees both: its main file plus the other attached (as `inbox` or `log`), and
//! no table name is in both files, so queries name tables without a schema.
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

/// The log file's name inside the data folder (the database DESIGN.md names).
pub const DB_FILE: &str = "linq-inbox.db";

/// The inbox file's name inside the data folder: the projections, beside the log.
pub const INBOX_FILE: &str = "inbox.sqlite";

/// Page cache (negative: KiB) for the file a connection only glances at: the inbox on the
/// writer's, the log on the projector's and on readers'. The file a connection works on keeps the
/// larger cache it had when both were one file.
const SIDE_CACHE_KIB: i64 = -2000;

/// The files SQLite keeps beside a database in WAL mode.
const SIDE_FILES: [&str; 2] = ["-wal", "-shm"];

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

/// Where the two files live, and how to open connections to them.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    inbox: PathBuf,
}

impl Store {
    /// Opens (creating and migrating if needed) the log and inbox files in `data_dir`. An inbox
    /// made by other projection rules, or by a newer build, is emptied: the projector derives it
    /// again from the log, in the background (`projected_seq` catching up with `log_seq`).
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        schema::refuse_newer(&conn)?;
        configure(&conn, "main", "FULL")?;
        schema::migrate(&mut conn)?;
        drop(conn);
        let store = Store {
            path,
            inbox: data_dir.join(INBOX_FILE),
        };
        store.open_inbox()?;
        let projector = &mut store.projector()?;
        replay::reset_if_stale(projector)?;
        projection::mark_history(projector)?;
        Ok(store)
    }

    /// Creates or migrates the inbox file; one from a newer build is replaced.
    fn open_inbox(&self) -> Result<(), StoreError> {
        let mut conn = Connection::open(&self.inbox)?;
        if schema::inbox_is_newer(&conn)? {
            drop(conn);
            tracing::warn!("the inbox file was written by a newer build; projecting it again");
            self.remove_inbox()?;
            conn = Connection::open(&self.inbox)?;
        }
        configure(&conn, "main", "NORMAL")?;
        schema::migrate_inbox(&mut conn)
    }

    fn remove_inbox(&self) -> Result<(), StoreError> {
        for file in with_side_files(&self.inbox) {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError::Invalid(format!(
                        "could not remove the inbox file {}: {e}",
                        file.display()
                    )))
                }
            }
        }
        Ok(())
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Both files' bytes on disk, their WALs included.
    pub fn disk_bytes(&self) -> u64 {
        [&self.path, &self.inbox]
            .into_iter()
            .flat_map(|p| with_side_files(p))
            .map(|file| std::fs::metadata(file).map_or(0, |m| m.len()))
            .sum()
    }

    /// The writer's connection: the log file (`synchronous=FULL`, so a commit survives power
    /// loss), with the inbox attached for the reads a local task makes. It never writes the
    /// inbox: its transactions take the log's write lock only.
    pub fn writer(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&self.path)?;
        configure(&conn, "main", "FULL")?;
        attach(&conn, &self.inbox, "inbox", false)?;
        configure(&conn, "inbox", "NORMAL")?;
        // Only a local task's small reads touch the inbox here.
        conn.execute_batch(&format!("PRAGMA inbox.cache_size = {SIDE_CACHE_KIB}"))?;
        Ok(conn)
    }

    /// The projector's connection: the inbox file (`synchronous=NORMAL`: all of it derived from
    /// the log), with the log attached read-only, so even `BEGIN IMMEDIATE` takes the inbox's
    /// write lock only and never the log's.
    pub fn projector(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&self.inbox)?;
        configure(&conn, "main", "NORMAL")?;
        attach(&conn, &self.path, "log", true)?;
        // The log is read in sequence order, each row once.
        conn.execute_batch(&format!("PRAGMA log.cache_size = {SIDE_CACHE_KIB}"))?;
        Ok(conn)
    }

    /// A read-only connection for queries, to both files.
    pub fn reader(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        attach(&conn, &self.inbox, "inbox", true)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.execute_batch(&format!(
            "PRAGMA main.cache_size = {SIDE_CACHE_KIB}; PRAGMA inbox.cache_size = -8000"
        ))?;
        Ok(conn)
    }
}

/// The database file at `path` and the files SQLite keeps beside it in WAL mode.
fn with_side_files(path: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    std::iter::once("").chain(SIDE_FILES).map(move |suffix| {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        PathBuf::from(file)
    })
}

/// Attaches the database at `path` to `conn` as `name` (read-only when `read_only`).
fn attach(conn: &Connection, path: &Path, name: &str, read_only: bool) -> Result<(), StoreError> {
    let mode = if read_only { "ro" } else { "rw" };
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS {name}"),
        [format!("{}?mode={mode}", file_uri(path))],
    )?;
    Ok(())
}

/// `path` as an SQLite `file:` URI (the characters a URI gives a meaning to escaped).
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri
}

/// WAL, the given durability, and a page cache, for the `schema` of `conn`.
fn configure(conn: &Connection, schema: &str, synchronous: &str) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row(&format!("PRAGMA {schema}.journal_mode = wal"), [], |r| {
        r.get(0)
    })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Invalid(format!(
            "the database could not switch to WAL mode (it reports {mode})"
        )));
    }
    conn.execute_batch(&format!(
        "PRAGMA {schema}.synchronous = {synchronous}; PRAGMA {schema}.cache_size = -16000"
    ))?;
    conn.pragma_update(None, "foreign_keys", true)?;
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
