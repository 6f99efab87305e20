//! WAL checkpoints beside the writer instead of inside its commits.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold: the batch
//! riding in that commit waited while pages were copied back into the database file and that
//! file was fsynced, which was most of the ack and stream latency tail. Here a thread with its
//! own connection runs passive checkpoints (they never block the writer or readers). SQLite
//! restarts the log only after a checkpoint caught up completely, which a background pass
//! racing a steady stream of commits rarely does; when the log passes the restart threshold
//! (`WriterOptions::wal_restart_frames`) the writer is asked to run one itself between batches,
//! after its acknowledgements have gone out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::watch;

use crate::store::StoreError;

/// How often the background pass looks for committed frames to copy while the log grows: often,
/// so each pass (and the database file's fsync, which the writer's log fsyncs queue behind)
/// stays small. At 1,000 deliveries a second on a grown database (docs/BENCHMARKS.md) the
/// stream's p99 was 21.5-23.9 ms in four runs of this rule, against 26.6-38.1 ms with a pass
/// every 50 ms in runs interleaved with them, and 64-72 ms every 500 ms; 5 ms was no better.
/// Over all 17 runs of this rule, 12 were under 25 ms: disk stalls make the rest.
const BUSY: Duration = Duration::from_millis(10);

/// The pause after a pass that found the log as the previous one left it: an idle app need not
/// wake a hundred times a second.
const IDLE: Duration = Duration::from_millis(50);

/// What the background pass tells the writer.
#[derive(Clone, Default)]
pub(super) struct RestartWanted(Arc<AtomicBool>);

impl RestartWanted {
    /// True once (the flag clears) when the log has grown past the restart threshold.
    pub(super) fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// Turns off the automatic checkpoint on the writer's connection, and the cutting back of the
/// log file at its first commit after a restart: after a burst that file is hundreds of
/// megabytes, and cutting it back took one commit 190 ms (the acknowledgements riding in it
/// waited). The background pass cuts it back once the app is idle ([`shrink_when_idle`]).
pub(super) fn configure_writer(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", -1)?;
    Ok(())
}

/// Passes in a row that must find the log standing still (a second: [`IDLE`] apart) before a
/// grown log file is cut back: not between two deliveries of a burst.
const SHRINK_AFTER_STILL_PASSES: u32 = 20;

/// When the log has stood still for a while (`idle`), everything in it is copied
/// and its file is larger than the restart threshold (a burst grew it): checkpoints it to the
/// end and truncates it to nothing, so the file a burst grew does not stay on disk. Nothing is
/// waiting on the writer when the log stands still; a delivery arriving meanwhile waits for the
/// truncation (the busy timeout) once.
fn shrink_when_idle(conn: &Connection, idle: bool, (log, copied): (i64, i64), restart_frames: i64) {
    let Some(db) = conn.path().filter(|p| !p.is_empty()) else {
        return;
    };
    let size = std::fs::metadata(format!("{db}-wal")).map_or(0, |m| m.len());
    if !idle || log != copied || size <= restart_frames.saturating_mul(4096).max(0) as u64 {
        return;
    }
    let t = std::time::Instant::now();
    match conn.query_row("PRAGMA main.wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => tracing::debug!(size, took = ?t.elapsed(), "idle: the grown log was cut back"),
        Err(e) => tracing::warn!(error = %e, "could not cut back the log file"),
    }
}

/// Runs a passive checkpoint: (frames in the log, frames copied into the database file).
pub(super) fn passive(conn: &Connection) -> Result<(i64, i64), StoreError> {
    let (_busy, log, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA main.wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok((log, copied))
}

/// Starts the background pass on `conn`; it ends when the writer (the `committed` sender) does.
pub(super) fn start(
    conn: Connection,
    committed: watch::Receiver<i64>,
    restart_frames: i64,
) -> Result<RestartWanted, StoreError> {
    let wanted = RestartWanted::default();
    let flag = wanted.clone();
    std::thread::Builder::new()
        .name("linq-checkpoint".into())
        .spawn(move || run(conn, committed, flag, restart_frames))
        .map_err(|e| StoreError::Invalid(format!("could not start the checkpoint thread: {e}")))?;
    Ok(wanted)
}

fn run(
    conn: Connection,
    committed: watch::Receiver<i64>,
    wanted: RestartWanted,
    restart_frames: i64,
) {
    let mut last = None;
    let mut wait = IDLE;
    // Passes in a row that found the log as the previous one left it.
    let mut still = 0;
    loop {
        std::thread::sleep(wait);
        // The writer holds the sender: gone means the app is closing. A pass with nothing new
        // to copy only reads the log's index, so the pass runs whether or not events arrived
        // (local writes such as settings change the log too).
        if committed.has_changed().is_err() {
            return;
        }
        match passive(&conn) {
            Ok(state @ (log, copied)) => {
                if restart_due(log, copied, restart_frames) {
                    wanted.0.store(true, Ordering::Release);
                }
                still = if last == Some(state) { still + 1 } else { 0 };
                shrink_when_idle(
                    &conn,
                    still == SHRINK_AFTER_STILL_PASSES,
                    state,
                    restart_frames,
                );
                wait = next_wait(last, state);
                last = Some(state);
            }
            Err(e) => {
                tracing::warn!(error = %e, "background checkpoint failed; will retry");
                wait = IDLE;
            }
        }
    }
}

/// Frames the background pass may leave uncopied when it asks the writer to restart the log:
/// the writer's own checkpoint copies them (and whatever was committed since) between its
/// batches, so they are what the next batch waits for: about 4 MiB, a few milliseconds.
const RESTART_BACKLOG: i64 = 1024;

/// Whether the writer should finish a checkpoint and restart the log: the log has passed the
/// threshold and the background pass has copied nearly all of it. After a burst the projection
/// leaves hundreds of megabytes in the log; while the background pass copies them, the log may
/// grow past the threshold rather than stall the writer (and every acknowledgement) for the
/// whole copy, hundreds of milliseconds.
fn restart_due(log: i64, copied: i64, restart_frames: i64) -> bool {
    log >= restart_frames && log - copied <= RESTART_BACKLOG
}

/// The pause before the next pass: short while the log moves (frames written or copied since
/// the previous pass, or the log restarted), longer once it stands still.
fn next_wait(previous: Option<(i64, i64)>, now: (i64, i64)) -> Duration {
    if previous == Some(now) {
        IDLE
    } else {
        BUSY
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::ingest::{Ingest, WriterOptions};
    use crate::store::{Store, DB_FILE};

    fn size(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    async fn write(ingest: &Ingest, sql: &'static str) {
        ingest
            .run(move |c| {
                c.execute_batch(sql)?;
                Ok(serde_json::Value::Null)
            })
            .await
            .expect("write");
    }

    #[test]
    fn passes_come_often_while_the_log_moves_and_slow_down_when_it_stands() {
        assert_eq!(
            super::next_wait(None, (10, 0)),
            super::BUSY,
            "the first pass counts as busy"
        );
        assert_eq!(
            super::next_wait(Some((10, 0)), (14, 10)),
            super::BUSY,
            "a log that grew is busy"
        );
        assert_eq!(
            super::next_wait(Some((14, 10)), (14, 14)),
            super::BUSY,
            "frames copied since the last pass is movement"
        );
        assert_eq!(
            super::next_wait(Some((14, 14)), (14, 14)),
            super::IDLE,
            "a log exactly as the last pass left it is idle"
        );
        assert_eq!(
            super::next_wait(Some((14, 14)), (3, 3)),
            super::BUSY,
            "a restarted log is movement too"
        );
    }

    #[test]
    fn the_writer_restarts_the_log_only_once_little_is_left_to_copy() {
        assert!(
            !super::restart_due(900, 900, 1000),
            "a log under the threshold is left to grow"
        );
        assert!(
            super::restart_due(5000, 4500, 1000),
            "past the threshold with a small backlog: the writer finishes the copy"
        );
        assert!(
            !super::restart_due(150_000, 20_000, 1000),
            "a burst's backlog is copied by the background pass first, not inside the writer"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_log_grown_by_a_burst_is_cut_back_once_the_app_is_idle() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let ingest = start_ingest(&store);
        write(&ingest, "CREATE TABLE bulk (b BLOB)").await;
        // One commit of 16 MiB: the log file grows to four times the threshold at once.
        write(
            &ingest,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 256)
             INSERT INTO bulk SELECT randomblob(65536) FROM n",
        )
        .await;
        let wal = dir.path().join(format!("{DB_FILE}-wal"));
        let grown = size(&wal);
        assert!(
            grown > 16 << 20,
            "the burst grew the log file to {grown} bytes"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size(&wal) > RESTART as u64 * 4096 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let after = size(&wal);
        assert!(
            after <= RESTART as u64 * 4096,
            "idle, the log file was cut back from {grown} to {after} bytes"
        );
    }

    /// 4 MiB: small enough that the test's 48 MiB pass it many times.
    const RESTART: i64 = 1024;

    /// The writer on `store`, restarting its log past [`RESTART`] frames.
    fn start_ingest(store: &Store) -> Ingest {
        Ingest::start(
            store,
            WriterOptions {
                typing_retention: Duration::from_secs(3600),
                wal_restart_frames: RESTART,
            },
            tokio::runtime::Handle::current(),
        )
        .expect("ingest")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_a_steady_stream_the_log_is_copied_aside_and_stays_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store");
        let ingest = start_ingest(&store);
        write(&ingest, "CREATE TABLE bulk (b BLOB)").await;
        let db = dir.path().join(DB_FILE);
        let wal = dir.path().join(format!("{DB_FILE}-wal"));
        // 48 MiB through the writer one commit after another, never idle: twelve times the
        // restart threshold. Without the background pass and the writer's restart the log
        // would hold all of it.
        let mut largest = 0;
        for _ in 0..768 {
            write(&ingest, "INSERT INTO bulk VALUES (randomblob(65536))").await;
            largest = largest.max(size(&wal));
        }
        // Generous: the background pass may be starved for a while when the suite runs in parallel.
        let limit = 4 * RESTART as u64 * 4096;
        assert!(
            largest < limit,
            "the log peaked at {largest} bytes (bound {limit})"
        );
        assert!(
            size(&db) > 32 << 20,
            "the pages were copied into the database file"
        );
    }
}
