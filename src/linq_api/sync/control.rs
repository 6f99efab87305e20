//! When a catch-up pass runs, and what the last one did.
//!
//! One runner task takes requests (at start, after a wake, when the listener is reachable
//! again, on demand) and runs one pass at a time; requests that arrive while a pass runs become
//! one more pass after it, never a pile of them. The status lives here for `GET /api/status`
//! and is handed to `on_change` (the engine publishes it on the stream) after every chat.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::pass::{run_pass, PassSettings};
use super::SyncError;
use crate::ingest::Ingest;
use crate::linq_api::rest::{Rest, Retry};
use crate::linq_api::ConnectSettings;
use crate::store::sync::{self as bookkeeping, PassRow, SyncStatus};
use crate::store::Store;

/// Calls a second to Linq during a pass unless `LINQ_INBOX_SYNC_RATE` says otherwise (tests and
/// the benchmark raise it against the local fake). Linq states no limit for reads; a `429`
/// slows the pass down further by its `Retry-After`.
pub const DEFAULT_RATE: f64 = 10.0;

/// What asked for a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Start,
    Wake,
    /// The listener was unreachable (the tunnel check failed) and is reachable again.
    Listener,
    Demand,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Wake => "wake",
            Trigger::Listener => "listener",
            Trigger::Demand => "demand",
        }
    }
}

type OnChange = Arc<dyn Fn(&SyncStatus) + Send + Sync>;

struct Inner {
    status: Mutex<SyncStatus>,
    requests: mpsc::Sender<Trigger>,
    listener_ok: Mutex<Option<bool>>,
    on_change: OnChange,
}

/// The engine's handle on catching up. Cheap to clone.
#[derive(Clone)]
pub struct CatchUp {
    inner: Arc<Inner>,
}

impl CatchUp {
    /// Starts the runner on the current tokio runtime. It waits for requests; none comes by
    /// itself (the engine asks for one at start).
    pub fn start(
        connection: ConnectSettings,
        ingest: Ingest,
        store: Store,
        on_change: OnChange,
    ) -> CatchUp {
        let last = store
            .reader()
            .ok()
            .and_then(|c| bookkeeping::last_pass(&c).ok().flatten());
        let (requests, rx) = mpsc::channel(4);
        let catch_up = CatchUp {
            inner: Arc::new(Inner {
                status: Mutex::new(last.as_ref().map_or_else(SyncStatus::idle, shown_at_start)),
                requests,
                listener_ok: Mutex::new(None),
                on_change,
            }),
        };
        let runner = Runner {
            catch_up: catch_up.clone(),
            connection,
            ingest,
            store,
        };
        tokio::spawn(runner.run(rx));
        catch_up
    }

    pub fn status(&self) -> SyncStatus {
        self.inner
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| SyncStatus::idle())
    }

    /// Asks for a pass. While one runs, the request waits and is served by one pass after it.
    pub fn request(&self, trigger: Trigger) {
        // A full queue already holds a pass to come: this request is served by it.
        let _ = self.inner.requests.try_send(trigger);
    }

    /// What the listener's reachability check found (the tunnel's test delivery). Reachable
    /// again after it was not: the webhooks Linq gave up on meanwhile are fetched.
    pub fn listener_reachable(&self, reachable: bool) {
        let was = self
            .inner
            .listener_ok
            .lock()
            .map(|mut ok| ok.replace(reachable))
            .unwrap_or(None);
        if reachable && was == Some(false) {
            self.request(Trigger::Listener);
        }
    }

    fn set(&self, status: SyncStatus) {
        if let Ok(mut s) = self.inner.status.lock() {
            *s = status.clone();
        }
        (self.inner.on_change)(&status);
    }
}

struct Runner {
    catch_up: CatchUp,
    connection: ConnectSettings,
    ingest: Ingest,
    store: Store,
}

impl Runner {
    async fn run(self, mut rx: mpsc::Receiver<Trigger>) {
        while let Some(trigger) = rx.recv().await {
            match self.pass(trigger).await {
                Ok(row) => tracing::info!(
                    trigger = trigger.as_str(),
                    fetched = row.fetched,
                    new = row.new,
                    "catch-up pass done"
                ),
                // Nothing to catch up with before a token is set: not a failure at start.
                Err(SyncError::NoToken) if trigger != Trigger::Demand => {}
                Err(SyncError::NoToken) => self.catch_up.set(SyncStatus {
                    state: "failed".into(),
                    trigger: Some(trigger.as_str().into()),
                    error: Some(SyncError::NoToken.to_string()),
                    ..SyncStatus::idle()
                }),
                Err(e) => tracing::warn!(error = %e, "catch-up pass failed"),
            }
        }
    }

    async fn pass(&self, trigger: Trigger) -> Result<PassRow, SyncError> {
        let rest = client(&self.connection).await?;
        let catch_up = self.catch_up.clone();
        let progress = move |row: &PassRow| catch_up.set(SyncStatus::from(row));
        run_pass(
            &rest,
            &PassSettings {
                ingest: &self.ingest,
                store: &self.store,
                trigger: trigger.as_str(),
                progress: &progress,
            },
        )
        .await
    }
}

/// The last pass as shown before any pass of this run: one a kill left `running` is not running
/// now; the next pass resumes it.
fn shown_at_start(last: &PassRow) -> SyncStatus {
    let mut status = SyncStatus::from(last);
    if status.state == "running" {
        status.state = "failed".into();
        status.error = Some(
            "the last catch-up was interrupted when the app stopped; the next one resumes it"
                .into(),
        );
    }
    status
}

/// The REST client a pass uses: the account's token and API version, paced, reads retried.
pub async fn client(connection: &ConnectSettings) -> Result<Rest, SyncError> {
    let (token, _) = connection.token().await;
    let token = token.ok_or(SyncError::NoToken)?;
    let rate = std::env::var("LINQ_INBOX_SYNC_RATE")
        .ok()
        .and_then(|r| r.parse::<f64>().ok())
        .unwrap_or(DEFAULT_RATE);
    Ok(Rest::new(
        &connection.api_base,
        token,
        connection.api_version,
        connection.timeout,
    )?
    .paced(rate)
    .retrying(Retry::READS))
}
