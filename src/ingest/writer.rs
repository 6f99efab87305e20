//! The writer thread: owns the log's write connection, commits jobs in batches (group commit,
//! `synchronous=FULL`), reports the result of each job only after its batch is durable. It
//! writes log rows, refusals and local tasks only; the projector folds the log into the inbox.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::watch;

use super::checkpoint::{self, RestartWanted};
use super::{
    disk_sentence, Ack, Delivered, Health, IngestError, Job, WriteError, WriterOptions, MAX_BATCH,
};
use crate::store::{log, now_millis, StoreError};

/// How often the writer looks for typing indicators to prune.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

pub(super) struct Writer {
    conn: Connection,
    rx: Receiver<Job>,
    signals: Signals,
    health: Health,
    options: WriterOptions,
    restart: RestartWanted,
}

/// What the writer tells the rest of ingest after each commit.
pub(super) struct Signals {
    /// The log's last committed sequence number: the projector and the feed follow it.
    pub(super) committed: watch::Sender<i64>,
    /// Deliveries acknowledged: the projector yields only while these arrive.
    pub(super) delivered: Delivered,
}

/// A job's outcome, held until the commit decides whether it stands.
enum Outcome {
    Event(tokio::sync::oneshot::Sender<Result<Ack, IngestError>>, Ack),
    Task(
        tokio::sync::oneshot::Sender<Result<serde_json::Value, WriteError>>,
        Result<serde_json::Value, StoreError>,
    ),
    None,
}

impl Writer {
    pub(super) fn new(
        conn: Connection,
        rx: Receiver<Job>,
        signals: Signals,
        health: Health,
        options: WriterOptions,
        restart: RestartWanted,
    ) -> Writer {
        Writer {
            conn,
            rx,
            signals,
            health,
            options,
            restart,
        }
    }

    pub(super) fn run(mut self) {
        if std::env::var("LINQ_INBOX_TEST_WRITER").as_deref() == Ok("stall") {
            self.stall();
        }
        let mut last_prune = Instant::now() - PRUNE_EVERY;
        loop {
            if last_prune.elapsed() >= PRUNE_EVERY {
                self.prune();
                last_prune = Instant::now();
            }
            let first = match self.rx.recv_timeout(PRUNE_EVERY) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
            if self.restart.take() {
                self.restart_log();
            }
        }
    }

    /// A test hook (`LINQ_INBOX_TEST_WRITER=stall`, never set outside tests): the writer holds
    /// its queue and takes nothing from it, so the queue fills as under a flood the disk cannot
    /// keep up with.
    fn stall(&self) -> ! {
        tracing::warn!("writer stalled by LINQ_INBOX_TEST_WRITER (a test hook)");
        loop {
            std::thread::park();
        }
    }

    fn commit_batch(&mut self, batch: Vec<Job>) {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut waiting = Vec::new();
        let result = self.write(batch, &mut outcomes, &mut waiting);
        match result {
            Ok(max_seq) => {
                self.committed(max_seq);
                let mut deliveries = 0;
                for outcome in outcomes {
                    match outcome {
                        Outcome::Event(reply, ack) => {
                            deliveries += 1;
                            let _ = reply.send(Ok(ack));
                        }
                        Outcome::Task(reply, result) => {
                            let _ = reply.send(result.map_err(WriteError::Task));
                        }
                        Outcome::None => {}
                    }
                }
                self.signals.delivered.add(deliveries);
            }
            Err(e) => {
                let text = describe(&e);
                tracing::error!(error = %text, "batch not committed; deliveries answered 503");
                let disk = e.is_disk();
                if disk {
                    self.health.set(Some(text.clone()));
                }
                for outcome in outcomes {
                    match outcome {
                        Outcome::Event(reply, _) => {
                            let _ = reply.send(Err(IngestError::Store(text.clone())));
                        }
                        Outcome::Task(reply, _) => {
                            let _ = reply.send(Err(if disk {
                                WriteError::Disk(text.clone())
                            } else {
                                WriteError::Commit(text.clone())
                            }));
                        }
                        Outcome::None => {}
                    }
                }
                for reply in waiting {
                    let _ = reply.send(Err(IngestError::Store(text.clone())));
                }
            }
        }
    }

    /// A commit went through: the store is healthy and the feed may read up to `max_seq`.
    fn committed(&self, max_seq: Option<i64>) {
        self.health.set(None);
        if let Some(seq) = max_seq {
            self.signals.committed.send_if_modified(|current| {
                let moved = seq > *current;
                *current = (*current).max(seq);
                moved
            });
        }
    }

    /// Writes the whole batch in one transaction: log rows and refusals as they come, each local
    /// task in a savepoint of its own, and the time of its last delivery (the status screen's
    /// "Last delivery", noted once a batch rather than indexed on every row). On error nothing
    /// of it is kept.
    fn write(
        &mut self,
        batch: Vec<Job>,
        outcomes: &mut Vec<Outcome>,
        waiting: &mut Vec<tokio::sync::oneshot::Sender<Result<Ack, IngestError>>>,
    ) -> Result<Option<i64>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut max_seq = None;
        let mut last_delivery = None;
        let mut jobs = batch.into_iter();
        while let Some(job) = jobs.next() {
            let step = match job {
                Job::Event { event, reply } => match append_event(&tx, &event) {
                    Ok(ack) => {
                        if let Ack::Stored { seq } = ack {
                            max_seq = Some(seq);
                            last_delivery = last_delivery.max(Some(event.received_at));
                        }
                        outcomes.push(Outcome::Event(reply, ack));
                        Ok(())
                    }
                    Err(e) => {
                        waiting.push(reply);
                        Err(e)
                    }
                },
                Job::Reject(r) => {
                    log::record_rejection(&tx, &r).map(|_| outcomes.push(Outcome::None))
                }
                Job::Task { task, reply } => run_task(&tx, task).and_then(|result| {
                    // A task may append log rows too (a catch-up pass's page): the projector
                    // must hear of them like of any delivery.
                    if result.is_ok() {
                        let seq = log::max_seq(&tx)?;
                        max_seq = Some(max_seq.map_or(seq, |m: i64| m.max(seq)));
                    }
                    outcomes.push(Outcome::Task(reply, result));
                    Ok(())
                }),
            };
            if let Err(e) = step {
                // The rest of the batch was never tried; its senders get the same answer.
                for rest in jobs {
                    if let Job::Event { reply, .. } = rest {
                        waiting.push(reply);
                    }
                }
                return Err(e);
            }
        }
        if let Some(received_at) = last_delivery {
            log::note_delivery(&tx, received_at)?;
        }
        tx.commit()?;
        Ok(max_seq)
    }

    /// Finishes a checkpoint between batches (their acknowledgements already sent) so SQLite
    /// restarts the log at the next commit instead of letting it grow.
    fn restart_log(&self) {
        let t = Instant::now();
        match checkpoint::passive(&self.conn) {
            Ok((log, copied)) => {
                tracing::debug!(log, copied, took = ?t.elapsed(), "log checkpointed by the writer")
            }
            Err(e) => tracing::warn!(error = %e, "checkpoint before restarting the log failed"),
        }
    }

    fn prune(&mut self) {
        let cutoff = now_millis() - self.options.typing_retention.as_millis() as i64;
        match log::prune_typing(&self.conn, cutoff) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                pruned = n,
                "typing indicators past retention removed from the log"
            ),
            Err(e) => tracing::warn!(error = %e, "could not prune typing indicators"),
        }
    }
}

/// Appends the raw event: stored with its new sequence number, or a duplicate (same id and
/// type, or same `webhook-id`) naming the stored event's number.
fn append_event(
    tx: &rusqlite::Transaction<'_>,
    event: &crate::store::NewEvent,
) -> Result<Ack, StoreError> {
    Ok(match log::append(tx, event)? {
        Some(seq) => Ack::Stored { seq },
        None => Ack::Duplicate {
            seq: log::duplicate_of(tx, event)?.unwrap_or(0),
        },
    })
}

/// Runs a local task in a savepoint so a failing one leaves no partial write behind. A disk
/// failure inside the task fails the batch as it is (not as text), so the store's health
/// reports it and the caller is told the disk failed, as a delivery would be.
fn run_task(
    tx: &rusqlite::Transaction<'_>,
    task: super::Task,
) -> Result<Result<serde_json::Value, StoreError>, StoreError> {
    tx.execute_batch("SAVEPOINT task")?;
    match task(tx) {
        Ok(value) => {
            tx.execute_batch("RELEASE task")?;
            Ok(Ok(value))
        }
        Err(e) if e.is_disk() => Err(e),
        Err(e) => {
            tx.execute_batch("ROLLBACK TO task; RELEASE task")?;
            Ok(Err(e))
        }
    }
}

fn describe(e: &StoreError) -> String {
    disk_sentence(
        e,
        "the database",
        "deliveries are refused with 503 and Linq retries them",
    )
    .unwrap_or_else(|| e.to_string())
}
