//! Whole-log operations: import a JSONL file, export the log, rebuild every projection.
//! Each file's part runs in one transaction: an import's log rows are stored entirely or not at
//! all (and then projected, like any delivery's); a rebuild's inbox is replaced entirely or not
//! at all.

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

/// Imports one envelope per line into the log (`log_conn`: [`super::Store::writer`]), then
/// projects what the inbox has not (`inbox_conn`: [`super::Store::projector`]). A bad line
/// aborts the import, naming its line number, before anything is stored.
pub fn import(
    log_conn: &mut Connection,
    inbox_conn: &mut Connection,
    input: impl BufRead,
) -> Result<ImportReport, StoreError> {
    let tx = log_conn.transaction()?;
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
    tx.commit()?;
    // The same path as every delivery: the projector folds the new rows in, in order.
    catch_up(inbox_conn)?;
    Ok(report)
}

/// Projects every log row the inbox has not, in one transaction, with the big page cache a
/// whole log's worth of index pages wants. Returns the rows projected.
fn catch_up(conn: &mut Connection) -> Result<usize, StoreError> {
    // One transaction of a whole backup touches every index page many times; with the
    // listener's small cache those pages spill to the WAL and are read back over and over.
    // A bigger cache for this one-off run keeps them in memory until the commit.
    conn.pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let count = project_all(&tx)?;
    fts::tidy(&tx)?;
    tx.commit()?;
    Ok(count)
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

/// Empties the inbox when it was made by other projection rules than this build's
/// ([`rules::RULES_VERSION`]), e.g. before reactions had one identity for every dialect; the
/// projector then derives it again from the log's first row (`conn`: [`super::Store::projector`]).
/// An inbox that has projected nothing only records the version. Returns whether it was emptied.
pub fn reset_if_stale(conn: &mut Connection) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let stored: Option<i64> = tx
        .query_row("SELECT rules FROM projector WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .flatten();
    if stored == Some(rules::RULES_VERSION) {
        return Ok(false);
    }
    let emptied = projection::cursor(&tx)? > 0;
    if emptied {
        tracing::info!(
            from = ?stored,
            to = rules::RULES_VERSION,
            "projection rules changed; the inbox is projected again from the log"
        );
        projection::reset(&tx)?;
    }
    projection::set_rules(&tx, rules::RULES_VERSION)?;
    tx.commit()?;
    Ok(emptied)
}

/// Replaces the inbox with an empty one and projects the whole log again, from its first row,
/// the way the projector folds new deliveries in (`conn`: [`super::Store::projector`]). One
/// transaction: a reader sees the old inbox or the new one. Returns the log rows projected.
pub fn rebuild(conn: &mut Connection) -> Result<usize, StoreError> {
    conn.pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    projection::reset(&tx)?;
    projection::set_rules(&tx, rules::RULES_VERSION)?;
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
