//! Whole-log operations: import a JSONL file, export the log, rebuild every projection.
//! Each file's part runs in one transaction: an import's log rows are stored entirely or not at
//! all (and then projected, like any delivery's); a rebuild's inbox is replaced entirely or not
//! at all.

use std::io::{BufRead, Write};

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::{fts, log, projection, rules, NewEvent, StoreError};
use crate::linq::json::check_unique;
use crate::linq::{parse_envelope, signature::canonical_json, SignatureForm};

/// Log rows `import` and `rebuild` fold per batch.
const BULK_BATCH: i64 = 4096;

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
    input: impl BufRead + Send,
) -> Result<ImportReport, StoreError> {
    let tx = log_conn.transaction()?;
    let mut report = ImportReport::default();
    // Lines are read and checked on a thread of their own while this one inserts the ones
    // before them: on two cores the parse no longer adds to the time the inserts take.
    std::thread::scope(|scope| {
        let (chunks, parsed) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
        scope.spawn(move || read_events(input, &chunks));
        for chunk in parsed {
            for event in chunk {
                match log::append(&tx, &event?)? {
                    Some(_) => report.stored += 1,
                    None => report.duplicates += 1,
                }
            }
        }
        Ok::<_, StoreError>(())
    })?;
    tx.commit()?;
    // The same path as every delivery: the projector folds the new rows in, in order.
    catch_up(inbox_conn)?;
    Ok(report)
}

/// Lines handed over at once: one wake-up of the inserting thread per chunk, not per line.
const CHUNK: usize = 512;
/// Chunks parsed ahead of the inserts (a few megabytes of bodies at most).
const CHUNKS_AHEAD: usize = 4;

type Chunk = Vec<Result<NewEvent, StoreError>>;

/// Sends the non-blank lines of `input` as log rows, in chunks, up to and including the first
/// bad line's error; stops early when the inserting side has gone (it failed).
fn read_events(input: impl BufRead, chunks: &std::sync::mpsc::SyncSender<Chunk>) {
    let mut chunk = Vec::with_capacity(CHUNK);
    for (index, line) in input.lines().enumerate() {
        let event = match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => event_of(line),
            Err(e) => Err(format!("could not read: {e}")),
        };
        let failed = event.is_err();
        chunk.push(event.map_err(|e| StoreError::Invalid(format!("line {}: {e}", index + 1))));
        if failed || chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if chunks.send(full).is_err() || failed {
                return;
            }
        }
    }
    let _ = chunks.send(chunk);
}

/// The log row for one line of an import; the reason (one sentence) when it is no envelope.
fn event_of(line: String) -> Result<NewEvent, String> {
    check_unique(&line).map_err(|e| e.to_string())?;
    let envelope = parse_envelope(&line).map_err(|e| e.to_string())?;
    Ok(NewEvent::from_envelope(
        envelope,
        line,
        SignatureForm::Unsigned,
        super::now_millis(),
    ))
}

/// Projects every log row the inbox has not, in one transaction, with the big page cache a
/// whole log's worth of index pages wants. Returns the rows projected.
fn catch_up(conn: &mut Connection) -> Result<usize, StoreError> {
    // One transaction of a whole backup touches every index page many times; with the
    // listener's small cache those pages spill to the WAL and are read back over and over.
    // A bigger cache for this one-off run keeps them in memory until the commit.
    conn.pragma_update(None, "cache_size", IMPORT_CACHE_KIB)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let count = projection::project_all(&tx, BULK_BATCH)?;
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
    let count = projection::project_all(&tx, BULK_BATCH)?;
    fts::tidy(&tx)?;
    tx.commit()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{generate, Scenario};
    use crate::store::Store;

    /// A file of `n` generated envelopes, one per line.
    fn lines(n: usize) -> Vec<String> {
        let mut bodies: Vec<String> = Vec::new();
        while bodies.len() < n {
            let now = chrono::Utc::now() - chrono::Duration::days(bodies.len() as i64);
            bodies.extend(
                generate(Scenario::Demo, 200, 8, now)
                    .into_iter()
                    .map(|d| d.body),
            );
        }
        bodies.truncate(n);
        bodies
    }

    /// A fresh data folder (kept while the test runs) and its writer and projector connections.
    fn opened() -> (tempfile::TempDir, Connection, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("open");
        let (log_conn, inbox) = (
            store.writer().expect("writer"),
            store.projector().expect("projector"),
        );
        (dir, log_conn, inbox)
    }

    #[test]
    fn a_bad_line_past_the_first_chunks_names_its_line_and_stores_nothing() {
        let (_dir, mut log_conn, mut inbox) = opened();
        let mut file = lines(3 * CHUNK);
        let bad = 2 * CHUNK + 7;
        file[bad - 1] = r#"{"event_type": "message.received"}"#.to_string();
        let err = import(
            &mut log_conn,
            &mut inbox,
            (file.join("\n") + "\n").as_bytes(),
        )
        .expect_err("a line without an event id is refused");
        assert!(
            err.to_string().contains(&format!("line {bad}: ")),
            "the error names line {bad}: {err}"
        );
        assert_eq!(
            log::max_seq(&log_conn).expect("max seq"),
            0,
            "a failed import stores nothing"
        );
    }

    #[test]
    fn a_file_of_many_chunks_is_stored_in_order_and_projected_once() {
        let (_dir, mut log_conn, mut inbox) = opened();
        let file = lines(2 * CHUNK + 3);
        let text = file.join("\n\n") + "\n";
        let report = import(&mut log_conn, &mut inbox, text.as_bytes()).expect("import");
        assert_eq!(
            report.stored + report.duplicates,
            file.len(),
            "every line is counted once"
        );
        let first: String = log_conn
            .query_row("SELECT payload FROM events ORDER BY seq LIMIT 1", [], |r| {
                r.get(0)
            })
            .expect("first row");
        assert_eq!(first, file[0], "the log keeps the file's order");
        assert_eq!(
            projection::cursor(&inbox).expect("cursor"),
            log::max_seq(&log_conn).expect("max seq"),
            "every stored row is projected"
        );
        let again = import(&mut log_conn, &mut inbox, text.as_bytes()).expect("import again");
        assert_eq!(
            again.stored, 0,
            "a second import of the same file stores nothing"
        );
    }
}
