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

use super::{disk_sentence, Delivered, Health};
use crate::store::projection::{self, Entries};
use crate::store::StoreError;

/// The most log rows per projection transaction: enough that commits and index segments stay
/// few when rows are cheap.
const BATCH: i64 = 128;

/// How long one projection transaction keeps taking rows: the stream and the UI's reads see a
/// batch's rows when it commits, so a batch stays short whatever its rows cost (search-index
/// merges grow with the inbox).
const BUDGET: Duration = Duration::from_millis(2);

/// Behind the log by more than this many rows (a burst, a restart after a long sleep), the
/// projector takes [`CATCH_UP_BATCH`] rows for up to [`CATCH_UP_BUDGET`] at a time, their
/// search entries staged and written at the batch's end as one index segment: the rows it
/// shows late are late because of the backlog, not because of its batch, and each small
/// transaction cost more than its rows (a commit, a search-index segment and its merge).
/// Bigger batches caught up after a 6 s closed loop in 39–42 s instead of 55–56 s; staging
/// their entries, in 18–19 s instead of 30–32 s, at 66 µs of CPU a row instead of 116–121. The
/// budget is half what it was unstaged, so a batch with its index writes still lasts about
/// what it did (docs/BENCHMARKS.md, "Catching up in bigger batches" and "The live catch-up,
/// staged").
const CATCH_UP_LAG: i64 = YIELD_LAG;
const CATCH_UP_BATCH: i64 = 1024;
const CATCH_UP_BUDGET: Duration = Duration::from_millis(20);

/// Lag (rows) past which the projector yields the CPU to a busy listener: about two seconds of
/// steady traffic, which it never reaches while it keeps up.
const YIELD_LAG: i64 = 2_000;

/// While it yields, the projector works one part in [`YIELD_SHARE`] of the time (it pauses for
/// the rest, never while holding the write lock), so the listener's acknowledgements win a
/// two-core machine during a flood of deliveries. It goes back to full speed the moment they
/// stop coming, and `MAX_LAG` bounds what it owes. One part in 32 rather than 8: its catch-up
/// batches, staged, fold a row in 40% less CPU, and the closed loop acknowledged a median 1.045
/// times as much at 16 as at 8 and 1.03 times as much at 32 as at 16, in alternated rounds
/// (docs/BENCHMARKS.md, "The log's secondary indexes, off the acknowledged commit"). Only a
/// flood pays for it, with a projection further behind until the flood ends.
const YIELD_SHARE: u32 = 32;

/// How often the search index's merge runs while rows keep coming: one step for the merge work
/// of every batch since the last step (four pages a row, as before). A step after each batch
/// paid FTS5's seek into every input segment for a few pages at a time: at 1,000 rows a second
/// the merges took 180–230 ms of every second, and 650–800 ms while a grown level was being
/// merged, so the projection fell up to 1.8 s behind the log. One step every 50 ms took 20–70
/// and 260–390 ms (docs/BENCHMARKS.md, "The stream's stalls: the search index's merge steps").
const MERGE_EVERY: Duration = Duration::from_millis(50);

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
    delivered: Delivered,
    runtime: tokio::runtime::Handle,
    hook: Hook,
    merges: MergeClock,
}

impl Projector {
    pub(super) fn new(
        conn: Connection,
        committed: watch::Receiver<i64>,
        projected: watch::Sender<i64>,
        health: Health,
        delivered: Delivered,
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
            delivered,
            runtime,
            hook: Hook::from_env(),
            merges: MergeClock::new(Instant::now()),
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
                let delivered_before = self.delivered.count();
                let started = Instant::now();
                if self.step() == Step::Idle {
                    // Nothing left to read below the target: the rows up to it were pruned
                    // (old typing indicators), and there is nothing of them to wait for.
                    self.advance(target);
                    break;
                }
                self.yield_to_ingest(delivered_before, started.elapsed());
            }
            if !self.wait_for_rows() {
                // The writer is gone: fold what it committed, then stop.
                while self.step() == Step::Progress {}
                return;
            }
        }
    }

    /// Pauses after a batch that took `took` when deliveries were acknowledged during it (from
    /// `delivered_before`) and the projection is far behind: the listener is outrunning it, and
    /// wins the CPU for a while.
    fn yield_to_ingest(&self, delivered_before: u64, took: Duration) {
        let delivering = self.delivered.count() > delivered_before;
        let lag = *self.committed.borrow() - *self.projected.borrow();
        if yields(delivering, lag) {
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

    /// Waits until the log grows past the projection; false when the writer is gone. A merge
    /// step that is due runs first, while no row waits for it. One that is not due yet waits
    /// for the next batch: no timer here, since this thread is not one of the runtime's and a
    /// timer polled while the runtime shuts down panics.
    fn wait_for_rows(&mut self) -> bool {
        if let Some(rows) = self.merges.step_if_due(Instant::now()) {
            self.merge(rows);
        }
        self.runtime.block_on(self.committed.changed()).is_ok()
    }

    /// Owes the index's merge for a batch already committed and shown; runs the step if due.
    fn merge_index(&mut self, rows: usize) {
        if let Some(rows) = self.merges.batch(rows, Instant::now()) {
            self.merge(rows);
        }
    }

    /// One merge step for `rows` rows. A failed merge costs nothing but more segments for
    /// searches to read: the next step takes them up.
    fn merge(&mut self, rows: usize) {
        if let Err(e) = projection::merge_after(&mut self.conn, rows) {
            tracing::warn!(error = %e, "search index merge failed; the next step merges again");
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
        let shape = batch_shape(*self.committed.borrow() - *self.projected.borrow());
        let batch = projection::project_until(
            &tx,
            shape.rows,
            Some(Instant::now() + shape.budget),
            shape.entries,
        )?;
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

/// When the search index's merge runs: every batch owes it work, paid in one step at most every
/// [`MERGE_EVERY`], after a batch or when the projector has caught up. What a last batch owes
/// before the log stands still waits for the next batch: a few small segments more for
/// searches to read meanwhile.
#[derive(Debug)]
struct MergeClock {
    /// Rows projected since the last step.
    owed: usize,
    last: Instant,
}

impl MergeClock {
    /// A clock whose first step is due at once.
    fn new(now: Instant) -> MergeClock {
        MergeClock {
            owed: 0,
            last: now.checked_sub(MERGE_EVERY).unwrap_or(now),
        }
    }

    /// A batch of `rows` rows was committed at `now`: the rows to merge now, if a step is due.
    fn batch(&mut self, rows: usize, now: Instant) -> Option<usize> {
        self.owed += rows;
        self.step_if_due(now)
    }

    /// When the step owed falls due; `None` when nothing is owed.
    fn due(&self) -> Option<Instant> {
        (self.owed > 0).then(|| self.last + MERGE_EVERY)
    }

    /// The rows to merge now, if a step is owed and due at `now`.
    fn step_if_due(&mut self, now: Instant) -> Option<usize> {
        let due = self.due()?;
        (now >= due).then(|| {
            self.last = now;
            std::mem::take(&mut self.owed)
        })
    }
}

/// Whether the projector pauses after a batch: only while the listener acknowledged deliveries
/// during it and the projection is more than [`YIELD_LAG`] rows behind. A catch-up pass's pages
/// and the rep's own writes grow the log too, but nothing waits on the CPU for them: their rows
/// are projected at full speed.
fn yields(delivering: bool, lag: i64) -> bool {
    delivering && lag > YIELD_LAG
}

/// What the next batch takes: how many rows, for how long, and how it writes their search
/// entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    rows: i64,
    budget: Duration,
    entries: Entries,
}

/// The next batch's shape when the projection is `lag` rows behind the log.
fn batch_shape(lag: i64) -> Shape {
    if lag > CATCH_UP_LAG {
        Shape {
            rows: CATCH_UP_BATCH,
            budget: CATCH_UP_BUDGET,
            entries: Entries::Staged,
        }
    } else {
        Shape {
            rows: BATCH,
            budget: BUDGET,
            entries: Entries::AsFolded,
        }
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
    fn the_index_merges_at_most_once_per_step_time_for_every_batch_since_the_last() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut clock = MergeClock::new(t0);
        assert_eq!(clock.due(), None, "nothing owed, nothing due");
        assert_eq!(
            clock.batch(3, t0),
            Some(3),
            "the first batch merges at once"
        );
        assert_eq!(clock.batch(2, ms(1)), None, "one step per step time");
        assert_eq!(clock.batch(5, ms(20)), None, "the work is owed");
        assert_eq!(
            clock.due(),
            Some(t0 + MERGE_EVERY),
            "the step owed falls due one step time after the last"
        );
        assert_eq!(clock.step_if_due(ms(49)), None, "not before it is due");
        assert_eq!(
            clock.step_if_due(t0 + MERGE_EVERY),
            Some(7),
            "when due (the projector caught up, or the next batch) the step merges every row owed"
        );
        assert_eq!(clock.due(), None, "then nothing is owed");
        let later = t0 + MERGE_EVERY + Duration::from_millis(10);
        assert_eq!(
            clock.batch(4, later),
            None,
            "and the next step waits its time"
        );
        assert_eq!(
            clock.batch(1, later + MERGE_EVERY),
            Some(5),
            "a batch at the step time merges itself with those before it"
        );
    }

    #[test]
    fn the_projector_yields_only_to_deliveries_while_far_behind() {
        assert!(
            yields(true, YIELD_LAG + 1),
            "a flood of deliveries far ahead of the projection gets the CPU"
        );
        assert!(
            !yields(true, YIELD_LAG),
            "steady traffic, never that far behind, is projected at once"
        );
        assert!(
            !yields(false, 100_000),
            "a catch-up pass growing the log without deliveries is projected at full speed"
        );
    }

    #[test]
    fn a_projection_far_behind_takes_bigger_staged_batches() {
        let steady = batch_shape(0);
        assert_eq!(
            batch_shape(CATCH_UP_LAG),
            steady,
            "up to the bound a batch stays small, so steady traffic is shown at once"
        );
        assert_eq!(
            steady.entries,
            Entries::AsFolded,
            "a steady batch writes its index entries as it folds, inside its time bound"
        );
        let catch_up = batch_shape(CATCH_UP_LAG + 1);
        assert!(
            catch_up.rows > steady.rows && catch_up.budget > steady.budget,
            "past the bound a batch takes more rows for longer: {catch_up:?}"
        );
        assert_eq!(
            catch_up.entries,
            Entries::Staged,
            "a catch-up batch writes its index entries as one segment"
        );
        assert!(
            catch_up.budget <= Duration::from_millis(50),
            "a catch-up batch still commits several times a second, so the stream keeps moving"
        );
    }
}
