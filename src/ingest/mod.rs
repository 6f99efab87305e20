//! Ingest: a bounded queue into the one writer thread, group commit, and the change feed.
//!
//! Every delivery's answer waits for the commit of the batch it rode in, so a `200` always
//! means "on disk". Batches form naturally: while one commit is syncing, the next deliveries
//! queue up and go together in the next transaction, so throughput rises with load without a
//! timer adding latency when the app is idle.

mod checkpoint;
mod priority;
mod projector;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{oneshot, watch};

use crate::store::{NewEvent, Rejection, Store, StoreError};

/// Deliveries waiting for the writer before the listener answers 503.
pub const QUEUE_CAPACITY: usize = 8192;
/// The most jobs one transaction carries.
pub const MAX_BATCH: usize = 1024;

/// What happened to a delivery once its batch committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    Stored { seq: i64 },
    Duplicate { seq: i64 },
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    #[error("the ingest queue is full; retry shortly")]
    QueueFull,
    #[error("the inbox is catching up with its log; retry shortly")]
    Lagging,
    #[error("the database could not store the delivery: {0}")]
    Store(String),
    #[error("the app is shutting down")]
    Closed,
}

/// Why a local write ([`Ingest::run`]) did not happen. The first three are the machine's state,
/// not the request's fault: the UI API answers them 503 with `Retry-After`, as the webhook
/// listener does for deliveries.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the inbox is busy writing; try again in a moment")]
    QueueFull,
    /// The batch could not commit because of the disk (full, I/O error, read-only); the store's
    /// health says so too (the disk banner). The text is the writer's one sentence.
    #[error("{0}")]
    Disk(String),
    #[error("the app is shutting down")]
    Closed,
    /// The batch could not commit for another reason; details in the app's log.
    #[error("the database could not save the change: {0}")]
    Commit(String),
    /// The task itself refused or failed (e.g. an invalid setting); nothing of it was kept.
    #[error(transparent)]
    Task(StoreError),
}

/// Why the writer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not start the writer thread: {0}")]
    Thread(std::io::Error),
}

type Task = Box<dyn FnOnce(&Connection) -> Result<serde_json::Value, StoreError> + Send>;

pub(crate) enum Job {
    Event {
        event: NewEvent,
        reply: oneshot::Sender<Result<Ack, IngestError>>,
    },
    Reject(Rejection),
    Task {
        task: Task,
        reply: oneshot::Sender<Result<serde_json::Value, WriteError>>,
    },
}

/// How many webhook deliveries the writer has acknowledged since it started. The projector
/// yields the CPU only while these arrive (the listener is busy), not while a catch-up pass or
/// the rep's own writes grow the log: those rows are shown sooner at full speed.
#[derive(Debug, Clone, Default)]
struct Delivered(Arc<AtomicU64>);

impl Delivered {
    fn add(&self, deliveries: u64) {
        self.0.fetch_add(deliveries, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether the store is accepting writes, and if not, why: shown on the status screen.
#[derive(Debug, Clone, Default)]
pub struct Health {
    inner: Arc<Mutex<Slots>>,
    changes: Option<watch::Sender<Option<String>>>,
}

/// What each file's writer last found: the log's (the writer) and the inbox's (the projector).
/// Either failing is the store's problem; the log's sentence comes first, since it is the one
/// that refuses deliveries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Slots {
    log: Option<String>,
    inbox: Option<String>,
}

impl Slots {
    fn error(&self) -> Option<String> {
        self.log.clone().or_else(|| self.inbox.clone())
    }
}

impl Health {
    pub fn error(&self) -> Option<String> {
        self.inner.lock().map(|g| g.error()).unwrap_or(None)
    }

    /// The writer's last commit: failed with this sentence, or went through.
    fn set(&self, error: Option<String>) {
        self.update(|slots| slots.log = error);
    }

    /// The projector's last batch: failed on the disk with this sentence, or went through.
    fn set_inbox(&self, error: Option<String>) {
        self.update(|slots| slots.inbox = error);
    }

    fn update(&self, change: impl FnOnce(&mut Slots)) {
        let changed = match self.inner.lock() {
            Ok(mut g) => {
                let before = g.error();
                change(&mut g);
                let after = g.error();
                (before != after).then_some(after)
            }
            Err(_) => None,
        };
        if let (Some(error), Some(tx)) = (changed, &self.changes) {
            let _ = tx.send(error);
        }
    }
}

/// The status screen's sentence when the disk itself refused a write to `file`: full (with
/// `when_full`, what that means for the rep) or an I/O error; `None` for any other failure.
fn disk_sentence(e: &StoreError, file: &str, when_full: &str) -> Option<String> {
    let code = match e {
        StoreError::DiskFull(_) => rusqlite::ErrorCode::DiskFull,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => f.code,
        _ => return None,
    };
    match code {
        rusqlite::ErrorCode::DiskFull => {
            Some(format!("the disk is full; free some space ({when_full})"))
        }
        rusqlite::ErrorCode::SystemIoFailure => Some(format!(
            "the disk reported an I/O error while writing {file}"
        )),
        _ => None,
    }
}

/// The most log rows the projection may lag behind before the listener answers 503 with
/// `Retry-After`: about half a minute of projecting on this machine (a 10 s flood of 318,000–
/// 328,000 rows was folded in 31.5–32.2 s; docs/BENCHMARKS.md). Real traffic never comes near
/// it; a flood past it is slowed down rather than shown late.
pub const MAX_LAG: i64 = 300_000;

/// Lag (rows) past which a UI read does not wait for the projection: a few times what the
/// projector folds in [`Ingest::projected_to_now`]'s usual quarter second.
const READ_WAIT_MAX_LAG: i64 = 20_000;

/// The handle the listener and the UI API use to write.
#[derive(Clone)]
pub struct Ingest {
    tx: SyncSender<Job>,
    committed: watch::Receiver<i64>,
    projected: watch::Receiver<i64>,
    health: Health,
    health_changes: watch::Receiver<Option<String>>,
    /// Refusal records not queued because the writer was saturated, since the engine started.
    refusals_dropped: Arc<AtomicU64>,
}

/// Options for the writer.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Typing-indicator events older than this are pruned from the log.
    pub typing_retention: Duration,
    /// Log length (4 KiB pages) past which the writer finishes a checkpoint itself so the log
    /// restarts ([`WAL_RESTART_FRAMES`] unless a test wants it small).
    pub wal_restart_frames: i64,
}

/// About 62 MiB of log: each restart stalls the writer for a checkpoint (about 10 ms here), so
/// restarts are kept a few seconds apart at 1,000 deliveries a second. The log file keeps this
/// size once grown (a log that is cut back and grows again pays for it in every fsync).
pub const WAL_RESTART_FRAMES: i64 = 16_000;

impl Ingest {
    /// Starts the writer (on the log file) and the projector (on the inbox file), each on its
    /// own connection and its own file's write lock, so neither waits for the other's commits.
    /// The projector waits on the writer's commits through `runtime`.
    pub fn start(
        store: &Store,
        options: WriterOptions,
        runtime: tokio::runtime::Handle,
    ) -> Result<Ingest, StartError> {
        let conn = store.writer()?;
        checkpoint::configure_writer(&conn)?;
        let start_seq = crate::store::log::max_seq(&conn)?;
        let (tx, rx) = sync_channel(QUEUE_CAPACITY);
        let (committed_tx, committed) = watch::channel(start_seq);
        let projector_conn = store.projector()?;
        let (projected_tx, projected) =
            watch::channel(crate::store::projection::cursor(&projector_conn)?);
        let (health_tx, health_changes) = watch::channel(None);
        let health = Health {
            inner: Arc::default(),
            changes: Some(health_tx),
        };
        let restart = checkpoint::start(
            store.writer()?,
            committed.clone(),
            options.wal_restart_frames,
        )?;
        let delivered = Delivered::default();
        let projector = projector::Projector::new(
            projector_conn,
            committed.clone(),
            projected_tx,
            health.clone(),
            delivered.clone(),
            runtime,
        )?;
        let writer = writer::Writer::new(
            conn,
            rx,
            writer::Signals {
                committed: committed_tx,
                delivered,
            },
            health.clone(),
            options,
            restart,
        );
        std::thread::Builder::new()
            .name("linq-writer".into())
            .spawn(move || writer.run())
            .map_err(StartError::Thread)?;
        std::thread::Builder::new()
            .name("linq-projector".into())
            .spawn(move || {
                priority::behind_the_listener();
                projector.run()
            })
            .map_err(StartError::Thread)?;
        Ok(Ingest {
            tx,
            committed,
            projected,
            health,
            health_changes,
            refusals_dropped: Arc::default(),
        })
    }

    /// Queues a verified delivery's log row and waits until it is committed (or refused). The
    /// projection follows on its own; only when it lags more than [`MAX_LAG`] rows is the
    /// delivery refused, so Linq retries it later.
    pub async fn submit(&self, event: NewEvent) -> Result<Ack, IngestError> {
        if self.lag() > MAX_LAG {
            return Err(IngestError::Lagging);
        }
        let (reply, answer) = oneshot::channel();
        let job = Job::Event { event, reply };
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(IngestError::QueueFull),
            Err(TrySendError::Disconnected(_)) => return Err(IngestError::Closed),
        }
        answer.await.unwrap_or(Err(IngestError::Closed))
    }

    /// Records a refused delivery; dropped (not queued, only counted) when the writer is
    /// saturated, so a flood of bad requests can never push out good ones.
    pub fn reject(&self, rejection: Rejection) {
        if self.tx.try_send(Job::Reject(rejection)).is_err() {
            self.refusals_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("refused-delivery record dropped: writer saturated");
        }
    }

    /// How many refused deliveries went unrecorded because the writer was saturated, since the
    /// engine started (`rejected_dropped` in `GET /api/status`).
    pub fn refusals_dropped(&self) -> u64 {
        self.refusals_dropped.load(Ordering::Relaxed)
    }

    /// Runs `task` on the writer's connection inside its transaction and returns its result
    /// once the transaction committed.
    ///
    /// Errors: [`WriteError::QueueFull`] without waiting when the writer's queue is full;
    /// [`WriteError::Disk`] or [`WriteError::Commit`] when the batch it rode in did not commit
    /// (a disk failure also raises the store's health error); [`WriteError::Task`] with the
    /// task's own error.
    pub async fn run<F>(&self, task: F) -> Result<serde_json::Value, WriteError>
    where
        F: FnOnce(&Connection) -> Result<serde_json::Value, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        match self.tx.try_send(Job::Task {
            task: Box::new(task),
            reply,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(WriteError::QueueFull),
            Err(TrySendError::Disconnected(_)) => return Err(WriteError::Closed),
        }
        answer.await.unwrap_or(Err(WriteError::Closed))
    }

    /// The highest committed sequence number, updated after every commit.
    pub fn committed(&self) -> watch::Receiver<i64> {
        self.committed.clone()
    }

    /// The last log row projected into the inbox, updated after every projection batch.
    pub fn projected(&self) -> watch::Receiver<i64> {
        self.projected.clone()
    }

    /// Waits until the projection reaches the log's end as it is now, for at most `timeout`:
    /// a read that starts after a delivery was acknowledged then sees it, while a projector
    /// far behind (a flood) delays a read by no more than `timeout`.
    pub async fn projected_to_now(&self, timeout: Duration) {
        let target = *self.committed.borrow();
        if target - *self.projected.borrow() > READ_WAIT_MAX_LAG {
            // Far more than the wait could project (a flood, or the inbox derived again from
            // the log): the read answers with what is there now.
            return;
        }
        let mut projected = self.projected.clone();
        let _ = tokio::time::timeout(timeout, projected.wait_for(|seq| *seq >= target)).await;
    }

    /// How far the projection is behind the log, in rows.
    pub fn lag(&self) -> i64 {
        (*self.committed.borrow() - *self.projected.borrow()).max(0)
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    pub fn health_changes(&self) -> watch::Receiver<Option<String>> {
        self.health_changes.clone()
    }
}

#[cfg(test)]
mod health_tests {
    use super::Health;

    #[test]
    fn the_inbox_s_disk_error_stays_until_the_projector_writes_whatever_the_log_does() {
        let (tx, mut changes) = tokio::sync::watch::channel(None);
        let health = Health {
            changes: Some(tx),
            ..Health::default()
        };
        health.set_inbox(Some("inbox full".into()));
        assert_eq!(
            changes.borrow_and_update().as_deref(),
            Some("inbox full"),
            "the inbox's failure is sent to the UI's stream"
        );
        health.set(None);
        assert_eq!(
            health.error().as_deref(),
            Some("inbox full"),
            "a log commit going through does not hide the inbox's failure"
        );
        assert!(!changes.has_changed().expect("open"), "nothing changed");
        health.set(Some("log full".into()));
        assert_eq!(
            health.error().as_deref(),
            Some("log full"),
            "the log's sentence comes first: it refuses deliveries"
        );
        health.set(None);
        health.set_inbox(None);
        assert_eq!(health.error(), None, "both writing again: healthy");
        assert_eq!(*changes.borrow_and_update(), None, "and the change is sent");
    }
}
