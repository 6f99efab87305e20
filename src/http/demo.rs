//! `POST /api/demo`: demo traffic for a rep who has nothing yet, from a button on the
//! onboarding card instead of a `linq-inbox simulate` command.
//!
//! The story is `simulate`'s demo, signed with the app's own first secret and posted to its own
//! webhook listener over HTTP, so it takes the path a real delivery takes (signature check,
//! the log's commit, the one projector): nothing here writes to the inbox directly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::json;

use super::error::ApiError;
use crate::linq::standard_webhooks::{secret_kind, SecretKind};
use crate::linq::Secret;
use crate::simulate::{self, ApiVersion, Scenario, SendOptions};

/// Events in one demo: the whole story (every event type, a group chat) at a watchable pace.
const DEMO_EVENTS: usize = 40;
const DEMO_RATE_PER_SECOND: f64 = 20.0;

/// Where the demo goes, what signs it, and whether one is on its way.
pub struct Demo {
    /// The app's own listener, on loopback: `http://127.0.0.1:PORT/PATH`.
    url: String,
    /// The listener's own secrets (the first one signs).
    secrets: Arc<RwLock<Vec<Secret>>>,
    running: Arc<AtomicBool>,
}

impl Demo {
    pub fn new(url: String, secrets: Arc<RwLock<Vec<Secret>>>) -> Demo {
        Demo {
            url,
            secrets,
            running: Arc::default(),
        }
    }
}

pub fn router(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/api/demo", post(start))
        .with_state(demo)
}

/// Starts sending the demo and answers 202 with how many events it holds; 409 while one is
/// still on its way or when there is no secret to sign with (`--allow-unsigned` and none set).
async fn start(State(demo): State<Arc<Demo>>) -> Result<impl IntoResponse, ApiError> {
    let secret = demo
        .secrets
        .read()
        .ok()
        .and_then(|secrets| secrets.first().cloned())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no webhook secret is configured, so demo traffic cannot be signed; set one in Setup",
            )
        })?;
    let url = simulate::parse_url(&demo.url)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if demo.running.swap(true, Ordering::SeqCst) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "demo traffic is already on its way",
        ));
    }
    let api_version = match secret_kind(&secret) {
        SecretKind::StandardWebhooks => ApiVersion::V3,
        SecretKind::Shared | SecretKind::MalformedStandard => ApiVersion::V2,
    };
    let seed = rand::random::<u64>();
    let deliveries = match api_version {
        ApiVersion::V2 => simulate::generate(Scenario::Demo, DEMO_EVENTS, seed, Utc::now()),
        ApiVersion::V3 => simulate::generate_v3(Scenario::Demo, DEMO_EVENTS, seed, Utc::now()),
    };
    let count = deliveries.len();
    let options = SendOptions {
        rate: Some(DEMO_RATE_PER_SECOND),
        concurrency: 1,
        api_version,
        ..SendOptions::default()
    };
    let running = demo.running.clone();
    tokio::spawn(async move {
        match simulate::send_all(&url, &secret, &deliveries, &options).await {
            Ok(outcomes) => tracing::info!(sent = outcomes.len(), "demo traffic delivered"),
            Err(err) => tracing::warn!(%err, "demo traffic could not be sent"),
        }
        running.store(false, Ordering::SeqCst);
    });
    Ok((StatusCode::ACCEPTED, Json(json!({ "events": count }))))
}
