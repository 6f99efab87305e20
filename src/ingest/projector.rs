//! The projector thread: follows the log's committed sequence number and folds new rows into
//! the inbox in sequence order, in batches, each committed with its cursor
//! (`store::projection`). The listener's acknowledgements never wait for it; the change feed,
//! the stream and the notifications follow what it has projected.
//!
//! It writes the inbox file only (`Store::projector`: the log attached read-only), so its write
//! lock is not the writer's: a batch, however long, never delays an acknowledgement. The inbox
//! commits with `synchronous=NORMAL`: a projection is derived from the log, and its cursor
//! lives in the same transaction, so a commit the disk loses in a power cut is simply projected
//! again; the log file never depends on the inbox file.

use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::watch;

use super::{disk_sentence, Health};
use crate::store::{projection, StoreError};

/// The most log rows per projection transaction: enough that commits and index segments stay
/// few when rows are cheap.
const BATCH: i64 = 128;

/// How long one projection transaction keeps taking rows: the stream and the UI's reads see a
/// batch's rows when it commits, so a batch stays short whatever its rows cost (search-index
/// merges grow with the inbox).
const BUDGET: Duration = Duration::from_millis(2);

/// Behind the log by more than this many rows (a burst, a restart after a long sleep), the
/// projector takes [`CATCH_UP_BATCH`] rows for up to [`CATCH_UP_BUDGET`] at a time: the rows it
/// shows late are late because of the backlog, not because of its batch, and each small
/// transaction cost more than its rows (a commit, a search-index segment and its merge). After a
/// closed loop of 6 s it caught up in 39–42 s instead of 55–56 s, and the stream's first run
/// after it, slowed by the small segments' merges, had p99 12–52 ms instead of 118–144 ms
/// (docs/BENCHMARKS.md, "Catching up in bigger batches").
const CATCH_UP_LAG: i64 = YIELD_LAG;
const CATCH_UP_BATCH: i64 = 1024;
const CATCH_UP_BUDGET: Duration = Duration::from_millis(40);

/// Lag (rows) past which the projector yields the CPU to a busy listener: about two seconds of
/// steady traffic, which it never reaches while it keeps up.
const YIELD_LAG: i64 = 2_000;

/// While it yields, the projector works one part in [`YIELD_SHARE`] of the time (it pauses for
/// the rest, never while holding the write lock), so the listener's acknowledgements win a
/// two-core machine during a burst. It goes back to full speed the moment the log stops
/// growing, and `MAX_LAG` bounds what it owes.
const YIELD_SHARE: u32 = 8;

/// The test hook `abort-mid-batch` ends the process in the first batch that reaches this log
/// sequence number.
const ABORT_AFTER_SEQ: i64 = 5;

/// Bytes of WAL the inbox file keeps after a checkpoint restarts it (64 MiB).
const INBOX_WAL_KEEP: i64 = 64 * 1024 * 1024;

/// After a failed batch (the disk, usually), the pause before trying again.
const RETRY: Duration = Duration::from_millis(200);

/// A test hook (`LINQ_INBOX_TEST_PROJECTOR`): `stall` projects nothing, `abort-mid-batch` ends
/// the process with a batch folded but not committed (the first past [`ABORT_AFTER_SEQ`]).
/// Never set outside tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hook {
    None,
    Stall,
    AbortMidBatch,
}

impl Hook {
    fn from_env() -> Hook {
        match std::env::var("LINQ_INBOX_TEST_PROJECTOR").as_deref() {
            Ok("stall") => Hook::Stall,
            Ok("abort-mid-batch") => Hook::AbortMidBatch,
            _ => Hook::None,
        }
    }
}

/// What one step of the projector did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Nothing was left to project.
    Idle,
    Progress,
    /// The batch failed (and was rolled back); tried again after a pause.
    Failed,
}

pub(super) struct Projector {
    conn: Connection,
    committed: watch::Receiver<i64>,
    projected: watch::Sender<i64>,
    health: Health,
    runtime: tokio::runtime::Handle,
    hook: Hook,
}

impl Projector {
    pub(super) fn new(
        conn: Connection,
        committed: watch::Receiver<i64>,
        projected: watch::Sender<i64>,
        health: Health,
        runtime: tokio::runtime::Handle,
    ) -> Result<Projector, StoreError> {
        // The inbox's own WAL is copied back by SQLite's automatic checkpoint, in this thread:
        // nothing else waits for it. After a burst the file is cut back to this size.
        conn.pragma_update(None, "journal_size_limit", INBOX_WAL_KEEP)?;
        Ok(Projector {
            conn,
            committed,
            projected,
            health,
            runtime,
            hook: Hook::from_env(),
        })
    }

    pub(super) fn run(mut self) {
        if self.hook == Hook::Stall {
            tracing::warn!("projector stalled by LINQ_INBOX_TEST_PROJECTOR (a test hook)");
            return;
        }
        match crate::store::chats::project::recount_marked(&mut self.conn) {
            Ok(n) => tracing::debug!(chats = n, "unread counts checked against the read marks"),
            Err(e) => {
                tracing::warn!(error = %e, "unread counts not checked against the read marks")
            }
        }
        loop {
            let target = *self.committed.borrow_and_update();
            while *self.projected.borrow() < target {
                let log_before = *self.committed.borrow();
                let started = Instant::now();
                if self.step() == Step::Idle {
                    // Nothing left to read below the target: the rows up to it were pruned
                    // (old typing indicators), and there is nothing of them to wait for.
                    self.advance(target);
                    break;
                }
                self.yield_to_ingest(log_before, started.elapsed());
            }
            if self.runtime.block_on(self.committed.changed()).is_err() {
                // The writer is gone: fold what it committed, then stop.
                while self.step() == Step::Progress {}
                return;
            }
        }
    }

    /// Pauses after a batch that took `took` when the log grew during it (from `log_before`)
    /// and the projection is far behind: ingest is outrunning it, and wins the CPU for a while.
    fn yield_to_ingest(&self, log_before: i64, took: Duration) {
        let log_now = *self.committed.borrow();
        if log_now > log_before && log_now - *self.projected.borrow() > YIELD_LAG {
            std::thread::sleep(took * (YIELD_SHARE - 1));
        }
    }

    /// Projects one batch.
    fn step(&mut self) -> Step {
        let started = Instant::now();
        let result = self.batch();
        // The inbox file failing on the disk is the store's problem as much as the log's: the
        // log may still take deliveries while nothing new reaches the inbox.
        self.health.set_inbox(match &result {
            Err(e) if e.is_disk() => Some(describe(e)),
            _ => None,
        });
        match result {
            Ok(batch) if batch.rows == 0 => Step::Idle,
            Ok(batch) => {
                if batch.failed > 0 {
                    tracing::warn!(
                        failed = batch.failed,
                        "log rows could not be projected; see the Events screen"
                    );
                }
                tracing::trace!(rows = batch.rows, took = ?started.elapsed(), "projected");
                self.advance(batch.cursor);
                self.merge_index(batch.rows);
                Step::Progress
            }
            Err(e) => {
                tracing::error!(error = %e, "projection batch failed; retrying shortly");
                std::thread::sleep(RETRY);
                Step::Failed
            }
        }
    }

    /// The index's merge for a batch already committed and shown. A failed merge costs nothing
    /// but more segments for searches to read: the next batch's merge takes them up.
    fn merge_index(&mut self, rows: usize) {
        if let Err(e) = projection::merge_after(&mut self.conn, rows) {
            tracing::warn!(error = %e, "search index merge failed; the next batch merges again");
        }
    }

    /// Tells the feed and the readers the projection has reached `seq`.
    fn advance(&self, seq: i64) {
        self.projected.send_if_modified(|projected| {
            let moved = seq > *projected;
            *projected = (*projected).max(seq);
            moved
        });
    }

    fn batch(&mut self) -> Result<projection::Batch, StoreError> {
        // Immediate: the inbox's write lock (never the log's, attached read-only) is taken
        // before the log is read, so the batch sees every log row committed until then.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (limit, budget) = batch_shape(*self.committed.borrow() - *self.projected.borrow());
        let batch = projection::project_until(&tx, limit, Some(Instant::now() + budget))?;
        // Past the fifth log row: a test posting one delivery at a time has had the first
        // acknowledgements answered by then, so the crash lands between acknowledged rows.
        if self.hook == Hook::AbortMidBatch && batch.rows > 0 && batch.cursor >= ABORT_AFTER_SEQ {
            tracing::warn!("projector aborting mid-batch (LINQ_INBOX_TEST_PROJECTOR, a test hook)");
            std::process::abort();
        }
        if batch.rows > 0 {
            tx.commit()?;
        }
        Ok(batch)
    }
}

/// How many rows, and for how long, the next batch takes when the projection is `lag` rows
/// behind the log.
fn batch_shape(lag: i64) -> (i64, Duration) {
    if lag > CATCH_UP_LAG {
        (CATCH_UP_BATCH, CATCH_UP_BUDGET)
    } else {
        (BATCH, BUDGET)
    }
}

/// The status screen's sentence for a projection batch the disk refused.
fn describe(e: &StoreError) -> String {
    disk_sentence(
        e,
        "the inbox file",
        "new messages are kept, and shown once there is room",
    )
    .unwrap_or_else(|| format!("the inbox file could not be written: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projection_far_behind_takes_bigger_batches() {
        let steady = batch_shape(0);
        assert_eq!(
            batch_shape(CATCH_UP_LAG),
            steady,
            "up to the bound a batch stays small, so steady traffic is shown at once"
        );
        let (rows, budget) = batch_shape(CATCH_UP_LAG + 1);
        assert!(
            rows > steady.0 && budget > steady.1,
            "past the bound a batch takes more rows for longer: {rows} rows, {budget:?}"
        );
        assert!(
            budget <= Duration::from_millis(50),
            "a catch-up batch still commits several times a second, so the stream keeps moving"
        );
    }
}
