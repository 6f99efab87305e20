//! Whole-log operations: import a JSONL file, export the log, rebuild every projection.
//! Each runs in one transaction: it happens entirely or not at all.

use std::io::{BufRead, Write};

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::{fts, log, projection, rules, NewEvent, StoreError};
use crate::linq::{parse_envelope, signature::canonical_json, SignatureForm};

/// Page cache for `import` and `rebuild` (negative: KiB), freed when the command ends.
const IMPORT_CACHE_KIB: i64 = -262_144;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub stored: usize,
    pub duplicates: usize,
}

/// Imports one envelope per line. A bad line aborts the import and names its line number.
pub fn import(conn: &mut Connection, input: impl BufRead) -> Result<ImportReport, StoreError> {
    // One transaction of a whole backup touches every index page many times; with the
    // listener's small cache those pages spill to the WAL and are read back over and over.
    // A bigger cache for this one-off run keeps them in memory until the commit.
    conn.pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
    let tx = conn.transaction()?;
    let mut report = ImportReport::default();
    for (index, line) in input.lines().enumerate() {
        let n = index + 1;
        let line =
            line.map_err(|e| StoreError::Invalid(format!("line {n}: could not read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line)
            .map_err(|e| StoreError::Invalid(format!("line {n}: not JSON: {e}")))?;
        crate::linq::json::check_unique_keys(line.as_bytes())
            .map_err(|e| StoreError::Invalid(format!("line {n}: {e}")))?;
        let envelope =
            parse_envelope(&value).map_err(|e| StoreError::Invalid(format!("line {n}: {e}")))?;
        let event = NewEvent::from_envelope(
            &envelope,
            line,
            SignatureForm::Unsigned,
            super::now_millis(),
        );
        match log::append(&tx, &event)? {
            Some(_) => report.stored += 1,
            None => report.duplicates += 1,
        }
    }
    // The same path as every delivery: the projector folds the new rows in, in order.
    project_all(&tx)?;
    fts::tidy(&tx)?;
    tx.commit()?;
    Ok(report)
}

/// Writes the log, oldest first, one compact envelope per line.
pub fn export(conn: &Connection, out: &mut impl Write) -> Result<usize, StoreError> {
    let mut count = 0;
    log::for_each_event(conn, |e| {
        let line = match serde_json::from_str::<Value>(&e.payload) {
            Ok(v) => canonical_json(&v),
            Err(_) => return Err(StoreError::Corrupt(format!("event {} is not JSON", e.seq))),
        };
        writeln!(out, "{line}")
            .map_err(|err| StoreError::Invalid(format!("could not write: {err}")))?;
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

/// Re-derives every projection when they were made by other projection rules than this
/// build's ([`rules::RULES_VERSION`]), e.g. before reactions had one identity for every
/// dialect; a database that has never projected anything only records the version. Returns
/// how many log rows were projected again.
pub fn reproject_if_stale(conn: &mut Connection) -> Result<usize, StoreError> {
    const KEY: &str = "projection_rules";
    let stored: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [KEY], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|v| v.parse().ok());
    if stored == Some(rules::RULES_VERSION) {
        return Ok(0);
    }
    let replayed = if log::max_seq(conn)? > 0 {
        tracing::info!(
            from = ?stored,
            to = rules::RULES_VERSION,
            "projection rules changed; rebuilding the inbox from the log"
        );
        rebuild(conn)?
    } else {
        0
    };
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![KEY, rules::RULES_VERSION.to_string()],
    )?;
    Ok(replayed)
}

/// Empties every projection and projects the whole log again, from its first row, the way the
/// projector folds new deliveries in. Returns the log rows projected.
pub fn rebuild(conn: &mut Connection) -> Result<usize, StoreError> {
    conn.pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
    let tx = conn.transaction()?;
    projection::reset(&tx)?;
    let count = project_all(&tx)?;
    fts::tidy(&tx)?;
    tx.commit()?;
    Ok(count)
}

/// Projects every log row after the cursor, within the caller's transaction.
fn project_all(tx: &rusqlite::Transaction<'_>) -> Result<usize, StoreError> {
    let mut count = 0;
    loop {
        let batch = projection::project_in(tx, 4096)?;
        if batch.rows == 0 {
            return Ok(count);
        }
        count += batch.rows;
    }
}
