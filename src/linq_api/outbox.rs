//! The outbox's sender: one task that hands queued replies to Linq, in the order they were
//! queued, each with its client id as the idempotency key.
//!
//! A reply is committed (queue row and log row, one transaction) before anything is sent, so a
//! crash at any point leaves it queued; after a restart it is sent again with the same key and
//! Linq answers with the message it already has: reaching Linq once, whatever the crash.
//! Network failures, `5xx` and `429` are tried again later (the `Retry-After`, else a backoff
//! from one second doubling to five minutes), and at most 30 replies a minute go to one chat
//! (Linq's limit per sender and recipient). Any other refusal — an opted-out recipient, a chat
//! the line left, a bad request, a refused token — will not change by waiting: the reply is
//! `failed` with Linq's reason in one sentence until the rep retries or deletes it.
//!
//! The same task sends the rep's reactions and read marks after the replies due in each round
//! (`outbox/actions.rs`), and creates a new conversation with its first message
//! (`outbox/new_chat.rs`).

mod actions;
mod new_chat;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::error::LinqApiError;
use super::rest::Rest;
use super::ConnectSettings;
use crate::ingest::{Ingest, WriteError};
use crate::store::outbox::queue::{self, OutboxRow};

/// How the chat id of a conversation Linq has not named yet begins (`new:{client_id}`).
const NEW_CHAT_PREFIX: &str = "new:";
use crate::store::{now_millis, Store, StoreError};

/// Replies to one chat in any minute (Linq: 30 messages per 60 s per sender–recipient pair).
pub const PER_CHAT_PER_MINUTE: usize = 30;
/// The first wait after a passing failure; doubled per try up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long the sender sleeps with nothing due and nothing queued.
const IDLE: Duration = Duration::from_secs(60);

/// The engine's handle on the sender: wake it when something was queued. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Outbox {
    /// Starts the sender on the current tokio runtime; it sends whatever a previous run left.
    /// `kept` is the data folder's attachment store, where attached files wait.
    pub fn start(
        connection: ConnectSettings,
        ingest: Ingest,
        store: Store,
        kept: std::path::PathBuf,
    ) -> Outbox {
        Self::spawn(connection, ingest, store, kept, None)
    }

    /// A sender for the one reply `client_id` (`linq send`): the rest of the queue is the app's
    /// to send, so a script run beside the app never sends the app's replies a second time.
    pub fn start_for(
        connection: ConnectSettings,
        ingest: Ingest,
        store: Store,
        kept: std::path::PathBuf,
        client_id: String,
    ) -> Outbox {
        Self::spawn(connection, ingest, store, kept, Some(client_id))
    }

    fn spawn(
        connection: ConnectSettings,
        ingest: Ingest,
        store: Store,
        kept: std::path::PathBuf,
        only: Option<String>,
    ) -> Outbox {
        let wake = Arc::new(Notify::new());
        let sender = Sender {
            connection,
            ingest,
            store,
            wake: wake.clone(),
            recent: HashMap::new(),
            kept,
            only,
        };
        tokio::spawn(sender.run());
        Outbox { wake }
    }

    /// Something was queued or retried: look at the queue now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

struct Sender {
    connection: ConnectSettings,
    ingest: Ingest,
    store: Store,
    wake: Arc<Notify>,
    /// When replies went to each chat in the last minute.
    recent: HashMap<String, VecDeque<Instant>>,
    /// The attachment store the rep's files are read from.
    kept: std::path::PathBuf,
    /// The one reply this sender may send (`linq send`), or `None` for the whole queue.
    only: Option<String>,
}

/// What one try ended in.
enum Outcome {
    Sent(String),
    Later { error: String, wait: Duration },
    Failed(String),
}

impl Sender {
    async fn run(mut self) {
        loop {
            let wait = match self.round().await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox could not read or write its queue");
                    Duration::from_secs(5)
                }
            };
            let _ = tokio::time::timeout(wait, self.wake.notified()).await;
        }
    }

    /// Sends what is due; how long to sleep before the next look.
    async fn round(&mut self) -> Result<Duration, StoreError> {
        let store = self.store.clone();
        let now = now_millis();
        let (due, next) = tokio::task::spawn_blocking(move || queue::due(&store.reader()?, now))
            .await
            .map_err(|e| StoreError::Invalid(format!("the outbox's read stopped: {e}")))??;
        let due: Vec<OutboxRow> = due
            .into_iter()
            .filter(|row| self.only.as_ref().is_none_or(|id| *id == row.client_id))
            .collect();
        let actions = match self.only {
            Some(_) => Vec::new(),
            None => self.due_actions().await?,
        };
        if !due.is_empty() || !actions.is_empty() {
            let rest = match super::sync::client(&self.connection).await {
                Ok(rest) => rest.retrying(super::rest::Retry::ONCE),
                Err(e) => {
                    tracing::debug!(error = %e, "the outbox waits for a Linq token");
                    return Ok(Duration::from_secs(30));
                }
            };
            for row in due {
                self.send(&rest, row).await?;
            }
            for row in actions {
                self.send_action(&rest, row).await?;
            }
            return Ok(Duration::ZERO);
        }
        Ok(next.map_or(IDLE, |at| {
            Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0))
        }))
    }

    async fn send(&mut self, rest: &Rest, mut row: OutboxRow) -> Result<(), StoreError> {
        if row.request.chat_id.starts_with(NEW_CHAT_PREFIX) {
            match self.new_chat_step(&row).await? {
                new_chat::Step::Create(chat) => return self.create_chat(rest, row, chat).await,
                new_chat::Step::Into(chat_id) => row.request.chat_id = chat_id,
                new_chat::Step::Wait(error) => {
                    let next_at = now_millis() + 1_000;
                    return self
                        .write(move |c| queue::reschedule(c, &row.client_id, &error, next_at))
                        .await;
                }
            }
        }
        if let Some(wait) = self.chat_is_full(&row.request.chat_id) {
            let next_at = now_millis() + wait.as_millis() as i64;
            let error = "30 replies went to this chat in the last minute".to_string();
            return self
                .write(move |c| queue::reschedule(c, &row.client_id, &error, next_at))
                .await;
        }
        test_hook("abort-before-send");
        let outcome = match rest
            .send_message(&row.request, &row.client_id, &self.kept)
            .await
        {
            Ok(id) => Outcome::Sent(id),
            Err(e) => classify(e, row.tries),
        };
        test_hook("abort-after-send");
        self.note_sent(&row.request.chat_id);
        self.record(row.client_id, outcome).await
    }

    /// Writes what one try of the outbox row `id` (a reply, a reaction, a read mark that will
    /// be tried again) ended in.
    async fn record(&self, id: String, outcome: Outcome) -> Result<(), StoreError> {
        match outcome {
            Outcome::Sent(linq_id) => {
                self.write(move |c| queue::record_sent(c, &id, &linq_id, now_millis()))
                    .await
            }
            Outcome::Later { error, wait } => {
                tracing::debug!(%error, ?wait, "an outbox row will be tried again");
                let next_at = now_millis() + wait.as_millis() as i64;
                self.write(move |c| queue::reschedule(c, &id, &error, next_at))
                    .await
            }
            Outcome::Failed(error) => {
                self.write(move |c| queue::record_failed(c, &id, &error, now_millis()))
                    .await
            }
        }
    }

    /// How long until another reply may go to `chat`, when 30 went in the last minute.
    fn chat_is_full(&mut self, chat: &str) -> Option<Duration> {
        let sent = self.recent.entry(chat.to_string()).or_default();
        let minute = Duration::from_secs(60);
        while sent.front().is_some_and(|t| t.elapsed() >= minute) {
            sent.pop_front();
        }
        (sent.len() >= PER_CHAT_PER_MINUTE).then(|| {
            sent.front()
                .map_or(minute, |t| minute.saturating_sub(t.elapsed()))
        })
    }

    fn note_sent(&mut self, chat: &str) {
        self.recent
            .entry(chat.to_string())
            .or_default()
            .push_back(Instant::now());
    }

    async fn write<F>(&self, task: F) -> Result<(), StoreError>
    where
        F: FnOnce(&rusqlite::Connection) -> Result<(), StoreError> + Send + 'static,
    {
        match self
            .ingest
            .run(move |c| task(c).map(|()| serde_json::Value::Null))
            .await
        {
            Ok(_) => Ok(()),
            Err(WriteError::Task(e)) => Err(e),
            Err(e) => Err(StoreError::Invalid(e.to_string())),
        }
    }
}

/// A failure that may pass is tried again after a wait; any other is the reply's end.
fn classify(error: LinqApiError, tries: i64) -> Outcome {
    match error {
        LinqApiError::RateLimited { retry_after } => Outcome::Later {
            wait: Duration::from_secs(retry_after.max(1)),
            error: error.to_string(),
        },
        LinqApiError::Server { .. }
        | LinqApiError::Timeout { .. }
        | LinqApiError::Unreachable { .. } => Outcome::Later {
            wait: backoff(tries),
            error: error.to_string(),
        },
        other => Outcome::Failed(other.to_string()),
    }
}

fn backoff(tries: i64) -> Duration {
    let doublings = u32::try_from(tries.clamp(0, 16)).unwrap_or(16);
    FIRST_BACKOFF
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF)
}

/// `LINQ_INBOX_TEST_OUTBOX=abort-before-send|abort-after-send`: the process dies at that point
/// as `kill -9` would, for the tests of exactly-once sending.
fn test_hook(point: &str) {
    if std::env::var("LINQ_INBOX_TEST_OUTBOX").as_deref() == Ok(point) {
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_failures_wait_and_lasting_ones_end_the_reply() {
        let later = classify(LinqApiError::RateLimited { retry_after: 7 }, 0);
        assert!(
            matches!(later, Outcome::Later { wait, .. } if wait == Duration::from_secs(7)),
            "a 429 waits its Retry-After"
        );
        let server = classify(LinqApiError::Server { status: 503 }, 2);
        assert!(
            matches!(server, Outcome::Later { wait, .. } if wait == Duration::from_secs(4)),
            "a 5xx backs off, doubling per try"
        );
        assert!(
            matches!(classify(LinqApiError::OptedOut, 0), Outcome::Failed(e) if e.contains("opted out")),
            "an opted-out recipient fails with its sentence"
        );
    }

    #[test]
    fn the_backoff_stops_growing_at_five_minutes() {
        assert_eq!(backoff(30), MAX_BACKOFF, "never more than five minutes");
    }
}
