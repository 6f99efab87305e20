//! `GET/PUT /api/start-at-login`: whether the desktop app starts when the rep logs in, switched
//! in Settings.
//!
//! Only the desktop shell knows how its platform starts an app at login (an XDG autostart
//! entry, a macOS login item, a Windows Run key), so it hands the engine a [`LoginItem`];
//! `linq-inbox serve` has none, and the endpoint says the setting is not available there.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::state::ApiState;

/// The platform's start-at-login switch, implemented by the desktop shell. Errors are one
/// sentence for the rep.
pub trait LoginItem: Send + Sync {
    fn is_enabled(&self) -> Result<bool, String>;
    fn set_enabled(&self, enabled: bool) -> Result<(), String>;
}

#[derive(Deserialize)]
pub struct Switch {
    enabled: bool,
}

/// `{"available", "enabled"}`.
pub async fn get(State(s): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let Some(item) = s.login_item.clone() else {
        return Ok(Json(json!({"available": false, "enabled": false})));
    };
    let enabled = on_blocking_thread(move || item.is_enabled()).await?;
    Ok(Json(json!({"available": true, "enabled": enabled})))
}

/// Switches it; answers like `get`. 409 when the engine runs without the desktop app.
pub async fn put(
    State(s): State<Arc<ApiState>>,
    Json(switch): Json<Switch>,
) -> Result<Json<Value>, ApiError> {
    let item = s.login_item.clone().ok_or_else(|| {
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
    f: impl FnOnce() -> Result<bool, String> + Send + 'static,
) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the start-at-login switch was interrupted",
            )
        })?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))
}
