//! The downloader's loop: its own task on the engine's runtime, apart from ingest.
//!
//! It follows the projected sequence (every source, webhook, import or catch-up, reaches the
//! inbox through the projector), finds the attachments of messages it has not looked at yet
//! by message rowid, queues them, and downloads a few at a time. Its reads use a reader
//! connection of its own; its writes are small tasks on the writer's queue (like the UI's
//! local writes), so it never holds a write lock of its own, and a full queue only postpones
//! it. Passing failures are tried again with a doubling
//! backoff; limits and refused addresses wait for the next start (or the rep's "Try again").

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{watch, Notify};
use tokio::task::{self, JoinSet};

use super::fetch::{Fetcher, FreshUrl, Outcome};
use crate::feed::{FeedData, LiveState, StreamEvent};
use crate::ingest::Ingest;
use crate::store::attachment_files as files;
use crate::store::{messages, now_millis, uploads, Store, StoreError};

/// Downloads at once: a slow or huge file never holds up the others.
pub const PARALLEL: usize = 3;
/// Tries of a passing failure before it waits for the next start.
pub const MAX_ATTEMPTS: i64 = 6;
/// Messages read per discovery query.
const DISCOVER_PAGE: i64 = 500;
/// The loop looks again at least this often with nothing to wake it.
const IDLE: Duration = Duration::from_secs(30);
/// The longest wait between two tries of one file.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How often files the rep kept but never sent are looked for ([`uploads::forget_unsent`]).
const SWEEP_EVERY: Duration = Duration::from_secs(6 * 3600);

/// The wait before try `attempts + 1`: `base`, doubled per failure, at most an hour.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    base.saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_BACKOFF)
}

pub(super) struct Worker {
    pub store: Store,
    pub ingest: Ingest,
    pub live: LiveState,
    pub fetcher: Arc<Fetcher>,
    pub wake: Arc<Notify>,
    pub retry_base: Duration,
    /// Where an expired address is renewed (a v3 account), if anywhere.
    pub fresh: Option<Arc<dyn FreshUrl>>,
    /// The folder the files are kept in.
    pub dir: PathBuf,
}

type Done = (String, i64, Outcome);

impl Worker {
    pub async fn run(self, mut projected: watch::Receiver<i64>) {
        let reader = match self.store.reader() {
            Ok(conn) => Arc::new(Mutex::new(conn)),
            Err(e) => {
                tracing::error!(error = %e, "the attachment downloader could not open the database");
                return;
            }
        };
        if read(&reader, files::has_requeueable).await == Some(true) {
            self.write(|c, now| files::requeue(c, None, now)).await;
        }
        let mut watermark = 0;
        // The key each running download is for, by task: a download that panicked is still
        // taken off the list (and tried again from the queue).
        let mut in_flight: HashMap<task::Id, String> = HashMap::new();
        let mut downloads: JoinSet<Done> = JoinSet::new();
        let mut watching = true;
        let mut swept: Option<Instant> = None;
        loop {
            if swept.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
                self.forget_unsent(&reader).await;
                swept = Some(Instant::now());
            }
            watermark = self.discover(&reader, watermark).await;
            self.start_due(&reader, &mut in_flight, &mut downloads)
                .await;
            let wait = self.next_wait(&reader).await;
            tokio::select! {
                Some(done) = downloads.join_next_with_id() => match done {
                    Ok((id, (key, attempts, outcome))) => {
                        in_flight.remove(&id);
                        self.record(&reader, &key, attempts, outcome).await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "an attachment download stopped unexpectedly");
                        in_flight.remove(&e.id());
                    }
                },
                changed = projected.changed(), if watching => watching = changed.is_ok(),
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Queues the attachments of messages past `watermark`; the new watermark.
    async fn discover(&self, reader: &Arc<Mutex<Connection>>, mut watermark: i64) -> i64 {
        loop {
            let page = read(reader, move |c| {
                files::undiscovered(c, watermark, DISCOVER_PAGE)
            })
            .await;
            let Some((wanted, Some(last))) = page else {
                return watermark;
            };
            if !wanted.is_empty()
                && !self
                    .write(move |c, now| files::enqueue(c, &wanted, now))
                    .await
            {
                return watermark;
            }
            watermark = last;
        }
    }

    async fn start_due(
        &self,
        reader: &Arc<Mutex<Connection>>,
        in_flight: &mut HashMap<task::Id, String>,
        downloads: &mut JoinSet<Done>,
    ) {
        let free = PARALLEL.saturating_sub(in_flight.len());
        if free == 0 {
            return;
        }
        let skip: Vec<String> = in_flight.values().cloned().collect();
        let due = read(reader, move |c| {
            files::due(c, now_millis(), &skip, free as i64)
        })
        .await
        .unwrap_or_default();
        for d in due {
            let key = d.key.clone();
            let fetcher = self.fetcher.clone();
            let fresh = self.fresh.clone();
            let handle = downloads.spawn(async move {
                // A key is Linq's attachment id unless Linq gave none (`message:position`).
                let renew = fresh
                    .as_deref()
                    .filter(|_| !d.key.contains(':'))
                    .map(|source| (source, d.key.as_str()));
                let outcome = fetcher.fetch(&d.url, renew).await;
                (d.key, d.attempts, outcome)
            });
            in_flight.insert(handle.id(), key);
        }
    }

    /// Until the next retry is due, at most [`IDLE`].
    async fn next_wait(&self, reader: &Arc<Mutex<Connection>>) -> Duration {
        let next = read(reader, files::next_retry).await.flatten();
        next.map_or(IDLE, |at| {
            Duration::from_millis((at - now_millis()).clamp(50, IDLE.as_millis() as i64) as u64)
        })
    }

    async fn record(
        &self,
        reader: &Arc<Mutex<Connection>>,
        key: &str,
        attempts: i64,
        outcome: Outcome,
    ) {
        let owned = key.to_string();
        let written = match outcome {
            Outcome::Kept(kept) => {
                self.write(move |c, now| files::downloaded(c, &owned, &kept, now))
                    .await
            }
            Outcome::Failed { reason, retry } => {
                let tries = attempts + 1;
                let base = self.retry_base;
                self.write(move |c, now| {
                    let failure = failure(reason, retry, tries, base, now);
                    if failure.retry_at.is_none() {
                        tracing::info!(reason = %failure.reason, "an attachment could not be kept");
                    }
                    files::failed(c, &owned, &failure, now)
                })
                .await
            }
        };
        if written {
            self.publish(reader, key).await;
        }
    }

    /// Tells the open threads what changed: every message carrying the attachment, as the
    /// thread shows it now (`event: attachment`, no sequence number: nothing new in the log).
    async fn publish(&self, reader: &Arc<Mutex<Connection>>, key: &str) {
        let key = key.to_string();
        let messages = read(reader, move |c| messages::carrying(c, &key))
            .await
            .unwrap_or_default();
        for message in messages {
            let data = FeedData {
                chat_id: Some(message.chat_id.clone()),
                message: Some(message),
                ..FeedData::default()
            };
            self.live
                .publish(StreamEvent::new(None, "attachment", data));
        }
    }

    /// Forgets the files kept a day ago or more that no reply names, then deletes those nothing
    /// else keeps (a stop in between leaves a file no row names, never a row without its file).
    /// The writer is asked only when a read found some. A file put in place again since (the same
    /// bytes uploaded, or downloaded, anew) is younger than the cutoff and stays.
    async fn forget_unsent(&self, reader: &Arc<Mutex<Connection>>) {
        let kept = std::env::var(super::TEST_UNSENT_KEPT_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(uploads::UNSENT_KEPT_MS);
        let cutoff = now_millis() - kept;
        if read(reader, move |c| uploads::has_unsent(c, cutoff)).await != Some(true) {
            return;
        }
        let forgotten = self
            .ingest
            .run(move |c| Ok(serde_json::json!(uploads::forget_unsent(c, cutoff)?)))
            .await
            .map_err(|e| e.to_string())
            .and_then(|v| {
                serde_json::from_value::<Vec<uploads::Unkept>>(v).map_err(|e| e.to_string())
            });
        let files = match forgotten {
            Ok(files) => files,
            Err(e) => {
                tracing::debug!(error = %e, "unsent files not forgotten; tried again later");
                return;
            }
        };
        let since = std::time::UNIX_EPOCH + Duration::from_millis(cutoff.max(0) as u64);
        for uploads::Unkept { sha256, size } in files {
            // Only names the store gave: a file name is a SHA-256, never a path.
            if !super::is_sha256(&sha256) {
                continue;
            }
            let path = self.dir.join(&sha256);
            let put_back = tokio::fs::metadata(&path)
                .await
                .and_then(|m| m.modified())
                .is_ok_and(|at| at >= since);
            if put_back {
                continue;
            }
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {
                    self.fetcher.give_back(size.max(0) as u64);
                    tracing::info!(file = %sha256, "a file kept for a reply never sent was removed");
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(file = %sha256, error = %e, "could not remove a file kept for a reply never sent")
                }
            }
        }
    }

    /// Runs a small write on the writer's queue; false when it did not happen (logged).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, i64) -> Result<T, StoreError> + Send + 'static,
    ) -> bool {
        let result = self
            .ingest
            .run(move |c| f(c, now_millis()).map(|_| serde_json::Value::Null))
            .await;
        if let Err(e) = &result {
            tracing::debug!(error = %e, "attachment state not written; tried again later");
        }
        result.is_ok()
    }
}

/// What a failed try (the `tries`-th) records: a passing failure is tried again after its
/// backoff until [`MAX_ATTEMPTS`], then waits for the next start (or the rep).
fn failure(reason: String, passing: bool, tries: i64, base: Duration, now: i64) -> files::Failure {
    let retry_at =
        (passing && tries < MAX_ATTEMPTS).then(|| now + backoff(base, tries).as_millis() as i64);
    let reason = if passing && retry_at.is_none() {
        format!("{reason} Gave up after {tries} tries; the app tries again when it next starts.")
    } else {
        reason
    };
    files::Failure {
        reason,
        retry_at,
        can_retry: passing,
    }
}

/// Runs a read on the downloader's own connection off the async threads; `None` on failure
/// (logged).
async fn read<T: Send + 'static>(
    reader: &Arc<Mutex<Connection>>,
    f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
) -> Option<T> {
    let reader = reader.clone();
    let result = tokio::task::spawn_blocking(move || {
        let conn = reader.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn)
    })
    .await;
    match result {
        Ok(Ok(value)) => Some(value),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "attachment downloader read failed");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_failure_is_retried_until_its_tries_are_used_up() {
        let base = Duration::from_secs(30);
        let first = failure("Down.".into(), true, 1, base, 1_000);
        assert_eq!(first.retry_at, Some(31_000), "after the base wait");
        assert!(first.can_retry, "the rep may try again too");
        let last = failure("Down.".into(), true, MAX_ATTEMPTS, base, 1_000);
        assert_eq!(last.retry_at, None, "no more tries by itself");
        assert!(
            last.reason.starts_with("Down. Gave up after 6 tries"),
            "says so: {}",
            last.reason
        );
        let limit = failure("Too big.".into(), false, 1, base, 1_000);
        assert_eq!(
            (limit.retry_at, limit.can_retry, limit.reason.as_str()),
            (None, false, "Too big."),
            "a limit is neither retried nor offered to retry"
        );
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), base, "the first retry waits the base");
        assert_eq!(backoff(base, 3), base * 4, "doubling per failure");
        assert_eq!(backoff(base, 60), MAX_BACKOFF, "never more than an hour");
    }
}
