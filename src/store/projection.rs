//! The projector's cursor: which log rows have been folded into the inbox, and folding the next
//! batch. Every source reaches the inbox this way (webhook deliveries, `import`, `rebuild`, and
//! whatever else appends to the log): the log first, then the projection, in sequence order.
//!
//! A batch and the cursor that says it is done commit together, so after a crash (or a commit
//! the disk lost) the batch is simply projected again. A row that cannot be projected stays in
//! the log, is marked with its reason (`projection_failures`), and never holds back the rows
//! after it.

use std::time::Instant;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{fts, log, now_millis, project, StoreError, StoredEvent};
use crate::linq::{parse_envelope, Envelope, EventError};

/// The last log row projected (0: none).
pub fn cursor(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq FROM projector WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

fn set_cursor(conn: &Connection, seq: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO projector (id, seq) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
    )?
    .execute(params![seq])?;
    Ok(())
}

/// Replaces every projection with an empty one and moves the cursor back to the start of the
/// log, so the next batches re-derive the inbox (`rebuild`, or new projection rules). `conn`'s
/// main file is the inbox ([`super::Store::projector`]); dropping its tables is much cheaper than
/// deleting a million rows (and their search-index entries) one by one.
pub fn reset(conn: &Connection) -> Result<(), StoreError> {
    super::schema::recreate_inbox(conn)
}

/// In an inbox made empty (a new file beside an existing log, or emptied for new rules), records
/// the log's last row as history to derive again; an inbox with its history recorded, or one
/// the projector has written, is left as it is.
pub fn mark_history(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE projector SET history_through = (SELECT coalesce(max(seq), 0) FROM events)
         WHERE id = 1 AND seq = 0 AND history_through IS NULL",
        [],
    )?;
    Ok(())
}

/// The log's last row when the inbox was made again (0: it was made with the log): the rows
/// up to it are history the projector derives again, not news.
pub fn history_through(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT history_through FROM projector WHERE id = 1")?
        .query_row([], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .unwrap_or(0))
}

/// Records the projection rules ([`super::rules::RULES_VERSION`]) the inbox is made by.
pub fn set_rules(conn: &Connection, rules: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE projector SET rules = ?1 WHERE id = 1",
        params![rules],
    )?;
    Ok(())
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    /// Log rows read (projected or marked failed).
    pub rows: usize,
    /// Of those, rows that could not be projected.
    pub failed: usize,
    /// The cursor after the batch.
    pub cursor: i64,
}

/// How a batch writes its search entries. FTS5 writes out what it holds as a new index segment
/// at every statement journal, and most of a projection's upserts open one: written as they
/// fold, a batch's entries make a segment a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entries {
    /// Held in memory and written at the batch's end, as one segment: a bulk batch (`import`,
    /// `rebuild`) and the live projector's catch-up batches, whose thousand rows cost 1.7 times
    /// the CPU a row written as they fold (docs/BENCHMARKS.md, "The live catch-up, staged").
    Staged,
    /// Written as each row folds, so a steady batch's time bound holds for its index writes
    /// too: a few rows, each shown within milliseconds.
    AsFolded,
}

/// Projects up to `limit` log rows after the cursor, with the cursor, inside a transaction the
/// caller commits (an empty batch, nothing new, writes nothing). With a `deadline` it stops
/// taking rows then (after at least one): the live projector's batch commits, and the stream
/// sees its rows, soon whatever its rows cost.
pub fn project_until(
    tx: &Transaction<'_>,
    limit: i64,
    deadline: Option<Instant>,
    entries: Entries,
) -> Result<Batch, StoreError> {
    let from = cursor(tx)?;
    // Each body is parsed when its row is folded: rows the deadline leaves for the next batch
    // cost nothing here.
    let rows = log::events_after(tx, from, limit)?
        .into_iter()
        .map(Row::unparsed)
        .collect();
    fold_batch(tx, from, rows, deadline, entries)
}

/// The search index's merge work for `rows` rows projected live, in a transaction of its own
/// after their batches' (the projector runs one step for the batches of the last 50 ms). While
/// a level of a grown index is being merged, a step takes tens of milliseconds for a few
/// seconds; inside a batch it held the batch's rows back from the stream (docs/BENCHMARKS.md,
/// "The index merge after the batch"). Four pages a row, as the automatic merge averaged, so
/// the index keeps up with what the batches add: more rows than one step's pages cover (a
/// catch-up's batches) take more steps, each its own transaction, until nothing is left to
/// merge. True when it merged anything.
pub fn merge_after(conn: &mut Connection, rows: usize) -> Result<bool, StoreError> {
    let mut merged = false;
    let mut left = rows;
    loop {
        let step = left.min(fts::ROWS_PER_MERGE_STEP);
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let more = fts::merge(&tx, fts::pages_per_row(step))?;
        tx.commit()?;
        merged |= more;
        left -= step;
        if !more || left == 0 {
            return Ok(merged);
        }
    }
}

/// [`project_until`] without a deadline: the tests' one batch.
#[cfg(test)]
pub(crate) fn project_in(tx: &Transaction<'_>, limit: i64) -> Result<Batch, StoreError> {
    project_until(tx, limit, None, Entries::Staged)
}

/// Projects every log row after the cursor, `limit` at a time, inside the caller's transaction
/// (import, rebuild). While one batch is folded the next one's bodies are parsed on a second
/// thread: on two cores the parse no longer adds to the time. Returns the rows projected.
pub fn project_all(tx: &Transaction<'_>, limit: i64) -> Result<usize, StoreError> {
    let mut from = cursor(tx)?;
    let mut rows = parsed(log::events_after(tx, from, limit)?);
    let mut count = 0;
    while let Some(last) = rows.last() {
        let next = log::events_after(tx, last.event.seq, limit)?;
        let (batch, next) = std::thread::scope(|scope| {
            let parsing = scope.spawn(move || parsed(next));
            (
                fold_batch(tx, from, rows, None, Entries::Staged),
                parsing.join(),
            )
        });
        let batch = batch?;
        count += batch.rows;
        from = batch.cursor;
        rows = next.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    }
    Ok(count)
}

/// A log row and its body read as an envelope, once parsed.
struct Row {
    event: StoredEvent,
    /// `None` until parsed; the error is the reason the row cannot be projected.
    envelope: Option<Result<Envelope, String>>,
}

impl Row {
    fn unparsed(event: StoredEvent) -> Row {
        Row {
            event,
            envelope: None,
        }
    }
}

fn parsed(events: Vec<StoredEvent>) -> Vec<Row> {
    events
        .into_iter()
        .map(|event| Row {
            envelope: Some(read_envelope(&event.payload)),
            event,
        })
        .collect()
}

fn read_envelope(payload: &str) -> Result<Envelope, String> {
    parse_envelope(payload).map_err(|err| match err {
        EventError::NotJson(err) => format!("the stored body is not JSON: {err}"),
        err => format!("the stored body is not an envelope: {err}"),
    })
}

/// Folds `rows`, the log rows that follow the cursor `from`, and moves the cursor past the ones
/// it took.
fn fold_batch(
    tx: &Transaction<'_>,
    from: i64,
    mut rows: Vec<Row>,
    deadline: Option<Instant>,
    entries: Entries,
) -> Result<Batch, StoreError> {
    if rows.is_empty() {
        return Ok(Batch {
            cursor: from,
            ..Batch::default()
        });
    }
    // The common case folds the whole batch without a savepoint per row: FTS5 flushes its
    // pending index at every savepoint, which made each row its own index segment. Only when
    // something fails is the batch redone row by row (the same rows), so the failing row can be
    // set aside.
    //
    // Search entries are staged or written as the rows fold, as the caller says ([`Entries`]).
    let stage = fts::Stage::open(entries == Entries::Staged);
    tx.execute_batch("SAVEPOINT batch")?;
    let folded = fold(tx, &rows, deadline);
    let failed = match folded {
        Ok(taken) => {
            rows.truncate(taken);
            tx.execute_batch("RELEASE batch")?;
            0
        }
        Err(e) if e.is_disk() => return Err(e),
        Err(_) => {
            tx.execute_batch("ROLLBACK TO batch; RELEASE batch")?;
            stage.rollback_to(0);
            row_by_row(tx, &rows, &stage)?
        }
    };
    stage.flush(tx)?;
    let last = rows.last().map_or(from, |r| r.event.seq);
    set_cursor(tx, last)?;
    // A timed batch (the live projector's) leaves the index's merge to [`merge_after`], once
    // the batch is committed and its rows are on the stream.
    if deadline.is_none() {
        fts::merge(tx, fts::pages_for(rows.len()))?;
    }
    Ok(Batch {
        rows: rows.len(),
        failed,
        cursor: last,
    })
}

/// Folds rows in order until they run out or the deadline passes; returns how many were folded.
fn fold(
    tx: &Transaction<'_>,
    rows: &[Row],
    deadline: Option<Instant>,
) -> Result<usize, StoreError> {
    for (folded, row) in rows.iter().enumerate() {
        if folded > 0 && deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(folded);
        }
        apply(tx, row)?;
    }
    Ok(rows.len())
}

/// Each row in its own savepoint; a row that fails is marked and left out. Returns how many
/// failed.
fn row_by_row(tx: &Transaction<'_>, rows: &[Row], stage: &fts::Stage) -> Result<usize, StoreError> {
    let mut failed = 0;
    for row in rows {
        let e = &row.event;
        let mark = stage.mark();
        tx.execute_batch("SAVEPOINT row")?;
        match apply(tx, row) {
            Ok(()) => tx.execute_batch("RELEASE row")?,
            Err(err) if err.is_disk() => return Err(err),
            Err(err) => {
                tx.execute_batch("ROLLBACK TO row; RELEASE row")?;
                stage.rollback_to(mark);
                tracing::warn!(seq = e.seq, event_type = %e.event_type, error = %err, "log row not projected");
                mark_failed(tx, e.seq, &err.to_string())?;
                failed += 1;
            }
        }
    }
    Ok(failed)
}

/// Folds one log row into the inbox.
fn apply(tx: &Transaction<'_>, row: &Row) -> Result<(), StoreError> {
    let fresh;
    let envelope = match &row.envelope {
        Some(envelope) => envelope,
        None => {
            fresh = read_envelope(&row.event.payload);
            &fresh
        }
    };
    let envelope = envelope
        .as_ref()
        .map_err(|reason| StoreError::Corrupt(reason.clone()))?;
    project::apply(tx, envelope, row.event.seq, row.event.received_at)
}

fn mark_failed(tx: &Transaction<'_>, seq: i64, reason: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO projection_failures (seq, reason, failed_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (seq) DO UPDATE SET reason = excluded.reason, failed_at = excluded.failed_at",
    )?
    .execute(params![seq, reason, now_millis()])?;
    Ok(())
}

/// How many log rows could not be projected.
pub fn failures(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM projection_failures", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linq::SignatureForm;
    use crate::simulate::{generate, Scenario};
    use crate::store::tests::convergence::memory_db;
    use crate::store::NewEvent;

    /// Appends `bodies` to the log, unprojected, the one at `broken` (if any) with a body that is
    /// not JSON; returns how many rows it added.
    fn log_bodies(conn: &Connection, bodies: &[String], broken: Option<usize>) -> usize {
        let mut added = 0;
        for (n, body) in bodies.iter().enumerate() {
            let env = parse_envelope(body).expect("generated body is an envelope");
            let mut event = NewEvent::from_envelope(env, body.clone(), SignatureForm::Unsigned, 0);
            if broken == Some(n) {
                event.payload = "{not json".to_string();
            }
            if log::append(conn, &event).expect("append").is_some() {
                added += 1;
            }
        }
        added
    }

    fn demo_bodies(count: usize, seed: u64) -> Vec<String> {
        generate(Scenario::Demo, count, seed, chrono::Utc::now())
            .into_iter()
            .map(|d| d.body)
            .collect()
    }

    #[test]
    fn a_batch_told_to_end_folds_one_row_and_the_next_batch_goes_on_from_it() {
        let mut conn = memory_db();
        let added = log_bodies(&conn, &demo_bodies(20, 3), None);
        assert!(added > 2, "the conversation logged {added} rows");
        let tx = conn.transaction().expect("transaction");
        let first =
            project_until(&tx, 128, Some(Instant::now()), Entries::AsFolded).expect("first batch");
        assert_eq!(
            first.rows, 1,
            "a batch told to end at once still folds one row"
        );
        assert_eq!(
            cursor(&tx).expect("cursor"),
            first.cursor,
            "the cursor stops at the row folded, not at the rows read"
        );
        let rest = project_until(&tx, 128, None, Entries::Staged).expect("the rest");
        assert_eq!(
            rest.cursor,
            log::max_seq(&tx).expect("max seq"),
            "the next batch goes on to the log's end"
        );
        assert_eq!(
            first.rows + rest.rows,
            added,
            "every logged row is folded exactly once"
        );
        assert_eq!(first.failed + rest.failed, 0, "the conversation projects");
    }

    #[test]
    fn a_live_batch_leaves_the_index_merge_to_after_its_commit() {
        let mut conn = memory_db();
        let added = log_bodies(&conn, &demo_bodies(40, 5), None);
        // One row a committed batch, as the live projector at a trickle: each commit leaves a
        // segment of the index behind it.
        for _ in 0..added {
            let tx = conn.transaction().expect("transaction");
            project_until(&tx, 128, Some(Instant::now()), Entries::AsFolded).expect("live batch");
            tx.commit().expect("commit");
        }
        let messages: i64 = conn
            .query_row("SELECT count(*) FROM search", [], |r| r.get(0))
            .expect("count");
        assert!(messages >= 8, "{messages} messages were indexed");
        assert!(
            merge_after(&mut conn, 1).expect("merge"),
            "the live batches merged nothing themselves: their segments are still there"
        );
        while merge_after(&mut conn, 1).expect("merge") {}
        let tx = conn.transaction().expect("transaction");
        assert!(
            !fts::merge(&tx, 4096).expect("merge"),
            "merging after the batches left nothing to merge"
        );
        let found: i64 = tx
            .query_row("SELECT count(*) FROM search", [], |r| r.get(0))
            .expect("count");
        assert_eq!(found, messages, "merging keeps every entry");
    }

    fn inbox_dump(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT 'm ' || id || ' ' || chat_id || ' ' || coalesce(text, '') FROM messages
                 UNION ALL SELECT 'c ' || chat_id || ' ' || unread_count || ' '
                                  || coalesce(last_message_id, '') FROM chats
                 UNION ALL SELECT 'f ' || seq FROM projection_failures ORDER BY 1",
            )
            .expect("dump query");
        let rows = stmt.query_map([], |r| r.get(0)).expect("dump");
        rows.collect::<Result<_, _>>().expect("dump rows")
    }

    #[test]
    fn the_bulk_fold_in_small_batches_ends_as_one_batch_does() {
        let bodies = demo_bodies(40, 4);
        let broken = Some(bodies.len() / 2);
        let mut bulk = memory_db();
        log_bodies(&bulk, &bodies, broken);
        let tx = bulk.transaction().expect("transaction");
        // Batches of 3: many parsed ahead on the second thread while the one before is folded.
        let folded = project_all(&tx, 3).expect("bulk fold");
        let max_seq = log::max_seq(&tx).expect("max seq");
        assert_eq!(
            cursor(&tx).expect("cursor"),
            max_seq,
            "the bulk fold reaches the log's end"
        );
        tx.commit().expect("commit");

        let mut single = memory_db();
        log_bodies(&single, &bodies, broken);
        let tx = single.transaction().expect("transaction");
        let batch = project_in(&tx, 100_000).expect("one batch");
        tx.commit().expect("commit");

        assert_eq!(folded, batch.rows, "both fold every logged row once");
        assert_eq!(batch.failed, 1, "the unparseable row is set aside");
        assert_eq!(
            failures(&bulk).expect("failures"),
            1,
            "the bulk fold sets it aside too"
        );
        let dump = inbox_dump(&bulk);
        assert!(
            dump.iter().any(|l| l.starts_with("m ")),
            "the conversation's messages are shown"
        );
        assert_eq!(
            dump,
            inbox_dump(&single),
            "batch size and parsing ahead change nothing"
        );
    }
}
