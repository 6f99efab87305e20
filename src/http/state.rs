//! What every UI API handler shares: the store and its pool of reader connections, the writer,
//! the live state of the feed, the configuration the status screen shows, and the secrets.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use rusqlite::Connection;

use super::error::ApiError;
use crate::config::SecretSource;
use crate::feed::LiveState;
use crate::ingest::Ingest;
use crate::linq::Secret;
use crate::store::{Store, StoreError};

/// The UI API's state, one per UI server.
pub struct ApiState {
    pub store: Store,
    pub readers: Mutex<Vec<Connection>>,
    pub ingest: Ingest,
    /// What the feed keeps in memory: the broadcast, typing, preferences, presence.
    pub live: LiveState,
    pub info: StatusInfo,
    pub secrets: Arc<std::sync::RwLock<Vec<Secret>>>,
    /// Every read is counted, so the engine knows when the readers' caches went quiet.
    pub activity: crate::memory::Activity,
    /// The kept attachments' folder and limits, and the downloader's wake-up.
    pub attachments: crate::attachments::Attachments,
    /// Catching up through Linq's REST API: its status, and asking for a pass.
    pub catch_up: crate::linq_api::sync::CatchUp,
    /// The rep's replies: wake the sender when one was queued.
    pub outbox: crate::linq_api::outbox::Outbox,
    /// The rep's typing, forwarded to Linq (best effort).
    pub typing: crate::linq_api::typing::Typing,
}

/// What the status screen shows about the configuration.
#[derive(Clone)]
pub struct StatusInfo {
    pub listen: String,
    pub webhook_path: String,
    pub ui_listen: String,
    pub secret_source: SecretSource,
    pub allow_unsigned: bool,
    pub data_dir: std::path::PathBuf,
    pub typing_retention_hours: u64,
}

/// The longest a read waits for the projection to reach the log's end: the projector folds a
/// delivery in within a few milliseconds, and only a flood puts it further behind.
pub const READ_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

impl ApiState {
    /// Runs a read on a pooled reader connection off the async threads, once the inbox has
    /// caught up with every delivery acknowledged before the read began (or [`READ_WAIT`]
    /// passed): the rep, or a script, that reads after a `200` sees what it acknowledged.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.activity.touch();
        self.ingest.projected_to_now(READ_WAIT).await;
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match state.readers.lock().ok().and_then(|mut p| p.pop()) {
                Some(c) => c,
                None => state.store.reader()?,
            };
            let result = f(&conn);
            if let Ok(mut pool) = state.readers.lock() {
                if pool.len() < 8 {
                    pool.push(conn);
                }
            }
            result
        })
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the query was interrupted",
            )
        })?
        .map_err(ApiError::from)
    }

    /// `Ok` when the inbox has `chat_id`, else the 404 every chat endpoint answers.
    pub async fn known_chat(self: &Arc<Self>, chat_id: &str) -> Result<(), ApiError> {
        let id = chat_id.to_string();
        let exists = self
            .read(move |c| crate::store::chat_list::chat(c, &id).map(|x| x.is_some()))
            .await?;
        if exists {
            Ok(())
        } else {
            Err(ApiError::not_found("no such chat"))
        }
    }
}
