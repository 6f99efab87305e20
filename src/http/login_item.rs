//! `GET/PUT /api/start-at-login`: whether the desktop app starts when the rep logs in, switched
//! in Settings.
//!
//! Only the desktop shell knows how its platform starts an app at login (an XDG autostart
//! entry, a macOS login item, a Windows Run key), so it hands the engine a [`LoginItem`];
//! `linq-inbox serve` has none, and the endpoint says the setting is not available there.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;

/// The platform's start-at-login switch, implemented by the desktop shell.
pub trait LoginItem: Send + Sync {
    fn is_enabled(&self) -> Result<bool, SwitchError>;
    fn set_enabled(&self, enabled: bool) -> Result<(), SwitchError>;
}

/// Why the platform's switch could not be read or changed: one sentence for the rep.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SwitchError(pub String);

/// The switch the shell gave the engine, if any.
type Item = Option<Arc<dyn LoginItem>>;

pub fn router(item: Item) -> Router {
    Router::new()
        .route("/api/start-at-login", get(read).put(switch))
        .with_state(item)
}

#[derive(Deserialize)]
pub struct Switch {
    enabled: bool,
}

/// `{"available", "enabled"}`.
async fn read(State(item): State<Item>) -> Result<Json<Value>, ApiError> {
    let Some(item) = item else {
        return Ok(Json(json!({"available": false, "enabled": false})));
    };
    let enabled = on_blocking_thread(move || item.is_enabled()).await?;
    Ok(Json(json!({"available": true, "enabled": enabled})))
}

/// Switches it; answers like `read`. 409 when the engine runs without the desktop app.
async fn switch(
    State(item): State<Item>,
    Json(switch): Json<Switch>,
) -> Result<Json<Value>, ApiError> {
    let item = item.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "start at login belongs to the desktop app (linq-inbox-desktop); linq-inbox serve has none",
        )
    })?;
    let enabled = on_blocking_thread(move || {
        item.set_enabled(switch.enabled)?;
        item.is_enabled()
    })
    .await?;
    Ok(Json(json!({"available": true, "enabled": enabled})))
}

/// The switch writes files (or talks to the OS): off the UI server's one async worker.
async fn on_blocking_thread(
    f: impl FnOnce() -> Result<bool, SwitchError> + Send + 'static,
) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the start-at-login switch was interrupted",
            )
        })?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}
