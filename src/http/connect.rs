//! `/api/linq/*`: Settings → Connect to Linq. The token, the subscription, the test delivery
//! and the secret rotation, over the operations in `crate::linq_api::connection`. Linq's own
//! failures answer 502 with Linq's sentence (never 401, which the UI reads as "signed out").

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::state::ApiState;
use crate::linq::Secret;
use crate::linq_api::connection::refresh_secrets;
use crate::linq_api::delivery::{self, DeliveryReport, TEST_EVENT_TYPE};
use crate::linq_api::{ConnectError, ConnectSettings};
use crate::store::log;

pub struct ConnectState {
    pub connection: ConnectSettings,
    pub secrets: Arc<RwLock<Vec<Secret>>>,
    pub api: Arc<ApiState>,
    /// The last test delivery through the public address (`path` in `GET /api/linq`).
    pub path: RwLock<Option<DeliveryReport>>,
    /// The tunnel the app runs for the rep ("Start a tunnel for me").
    pub tunnel: super::tunnel::Tunnel,
    /// The webhook listener's address, which the tunnel forwards to.
    pub listener: std::net::SocketAddr,
}

pub fn router(state: Arc<ConnectState>) -> Router {
    Router::new()
        .route("/api/linq", get(status))
        .route("/api/linq/token", put(save_token).delete(forget_token))
        .route("/api/linq/connect", post(connect))
        .route("/api/linq/subscriptions", get(list))
        .route("/api/linq/lines", get(lines))
        .route("/api/linq/tunnel", post(start_tunnel).delete(stop_tunnel))
        .route("/api/linq/subscriptions/{id}", delete(disconnect))
        .route("/api/linq/test-delivery", post(test_delivery))
        .route("/api/linq/rotate", post(rotate))
        .route("/api/linq/sync", post(sync))
        .with_state(state)
}

fn error_response(e: ConnectError) -> ApiError {
    let status = match &e {
        ConnectError::Api(_) => StatusCode::BAD_GATEWAY,
        ConnectError::NotConnected
        | ConnectError::ExternalSecret(_)
        | ConnectError::SecretElsewhere(_) => StatusCode::CONFLICT,
        ConnectError::Config(_) => {
            tracing::error!(error = %e, "could not update the config file");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.to_string())
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid request: {e}")))
}

type Answer = Result<Json<Value>, ApiError>;

fn current_secret(s: &ConnectState) -> Option<Secret> {
    s.secrets.read().ok().and_then(|v| v.first().cloned())
}

async fn status(State(s): State<Arc<ConnectState>>) -> Answer {
    let status = s.connection.status().await.map_err(error_response)?;
    let mut answer = json!(status);
    answer["path"] = json!(s.path.read().ok().and_then(|p| p.clone()));
    answer["tunnel"] = json!(s.tunnel.status());
    Ok(Json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

async fn save_token(State(s): State<Arc<ConnectState>>, body: axum::body::Bytes) -> Answer {
    let b: TokenBody = parse(&body)?;
    s.connection
        .save_token(&b.token)
        .await
        .map_err(error_response)?;
    status(State(s)).await
}

async fn forget_token(State(s): State<Arc<ConnectState>>) -> Answer {
    s.connection.forget_token().await.map_err(error_response)?;
    status(State(s)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    public_url: String,
    /// v3: the lines to subscribe (none: every line).
    #[serde(default)]
    phone_numbers: Vec<String>,
}

async fn connect(State(s): State<Arc<ConnectState>>, body: axum::body::Bytes) -> Answer {
    let b: ConnectBody = parse(&body)?;
    let secret = current_secret(&s);
    let connected = s
        .connection
        .connect(&b.public_url, secret.as_ref(), Some(&b.phone_numbers))
        .await
        .map_err(error_response)?;
    // A v3 connect may have brought a new secret: accepted from this moment.
    refresh_secrets(&s.connection.data_dir, &s.secrets);
    // Connected is only half the answer: whether Linq's deliveries can reach the app.
    let report = check_path(&s, None, delivery::DEFAULT_TIMEOUT).await?;
    let mut answer = json!(connected);
    answer["report"] = json!(report);
    Ok(Json(answer))
}

/// A test delivery through the public URL (`None`: the saved one); its outcome tells the
/// catch-up pass whether the listener is reachable.
pub(crate) async fn check_path(
    s: &Arc<ConnectState>,
    public_url: Option<&str>,
    timeout: Duration,
) -> Result<DeliveryReport, ApiError> {
    let secret = current_secret(s);
    let api = s.api.clone();
    let report = s
        .connection
        .test_delivery(public_url, secret.as_ref(), timeout, |id| stored(api, id))
        .await
        .map_err(error_response)?;
    // The tunnel check is what tells the listener was unreachable; reachable again, the
    // webhooks Linq gave up on meanwhile are fetched.
    s.api.catch_up.listener_reachable(report.ok);
    if public_url.is_none() {
        // Only a check of the saved address says how the connection is doing.
        if let Ok(mut last) = s.path.write() {
            *last = Some(report.clone());
        }
    }
    Ok(report)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TunnelBody {
    /// `cloudflared` or `ngrok`; none: the first one installed.
    program: Option<String>,
    /// v3: the lines to subscribe; none: the lines the app's subscription has now.
    phone_numbers: Option<Vec<String>>,
}

/// `POST /api/linq/tunnel`: runs cloudflared or ngrok and connects through it (202); 409 with
/// how to install one when neither (or not the one asked for) is on `PATH`.
async fn start_tunnel(
    State(s): State<Arc<ConnectState>>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b: TunnelBody = if body.is_empty() {
        TunnelBody::default()
    } else {
        parse(&body)?
    };
    // The lines chosen now apply to the first address; every later one (the tunnel restarted)
    // keeps whatever the subscription has then.
    let chosen = Arc::new(std::sync::Mutex::new(b.phone_numbers));
    let state = s.clone();
    // Pointing runs on its own task, so the tunnel's supervisor keeps watching the program
    // while Linq is asked (and asked again).
    let on_address: super::tunnel::OnAddress = Arc::new(move |address| {
        let lines = chosen.lock().map(|mut c| c.take()).unwrap_or(None);
        tokio::spawn(point_at(state.clone(), address, lines));
        Box::pin(std::future::ready(()))
    });
    if s.tunnel
        .start(s.listener, b.program.as_deref(), on_address)
        .is_err()
    {
        let which = b
            .program
            .as_deref()
            .unwrap_or("neither cloudflared nor ngrok");
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{which} is not installed; install cloudflared or ngrok (Setup shows the command for your system) or run a tunnel yourself and enter its address"),
        ));
    }
    Ok((StatusCode::ACCEPTED, Json(json!(s.tunnel.status()))))
}

/// The waits before each new try of pointing the subscription at a tunnel address Linq did
/// not take (its server failed, the network was down): about a minute in all.
const REPOINT_WAITS: [Duration; 5] = [
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
    Duration::from_secs(32),
];

/// Points the subscription at the tunnel's new address (`lines`: none keeps the subscription's
/// lines), then checks the path. When Linq does not take the address, the check still runs
/// (the banner says the path is broken) and the address is tried again a few times, as long as
/// it is still the tunnel's.
async fn point_at(s: Arc<ConnectState>, address: String, lines: Option<Vec<String>>) {
    let waits = std::iter::once(Duration::ZERO).chain(REPOINT_WAITS);
    for wait in waits {
        tokio::time::sleep(wait).await;
        if s.tunnel.address().as_deref() != Some(address.as_str()) {
            return;
        }
        let secret = current_secret(&s);
        let pointed = s
            .connection
            .connect(&address, secret.as_ref(), lines.as_deref())
            .await;
        match &pointed {
            Ok(_) => refresh_secrets(&s.connection.data_dir, &s.secrets),
            Err(e) => tracing::warn!(error = %e, "could not point the subscription at the tunnel"),
        }
        let _ = check_path(&s, None, delivery::DEFAULT_TIMEOUT).await;
        if pointed.is_ok() {
            return;
        }
    }
}

async fn stop_tunnel(State(s): State<Arc<ConnectState>>) -> Answer {
    s.tunnel.stop().await;
    Ok(Json(json!(s.tunnel.status())))
}

/// `GET /api/linq/lines`: the account's lines (v3), to choose which ones to subscribe.
async fn lines(State(s): State<Arc<ConnectState>>) -> Answer {
    let lines = s.connection.lines().await.map_err(error_response)?;
    Ok(Json(json!({ "lines": lines })))
}

async fn list(State(s): State<Arc<ConnectState>>) -> Answer {
    let listing = s.connection.list().await.map_err(error_response)?;
    Ok(Json(json!(listing)))
}

async fn disconnect(State(s): State<Arc<ConnectState>>, Path(id): Path<String>) -> Answer {
    let deleted = s
        .connection
        .disconnect(Some(&id))
        .await
        .map_err(error_response)?;
    Ok(Json(json!({ "deleted": deleted })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TestBody {
    public_url: Option<String>,
    timeout_ms: Option<u64>,
}

async fn test_delivery(State(s): State<Arc<ConnectState>>, body: axum::body::Bytes) -> Answer {
    let b: TestBody = if body.is_empty() {
        TestBody::default()
    } else {
        parse(&body)?
    };
    let timeout = b
        .timeout_ms
        .map(|ms| Duration::from_millis(ms.clamp(100, 30_000)))
        .unwrap_or(delivery::DEFAULT_TIMEOUT);
    let report = check_path(&s, b.public_url.as_deref(), timeout).await?;
    Ok(Json(json!(report)))
}

/// `POST /api/linq/sync`: starts a catch-up pass (202); its progress is `sync` in
/// `GET /api/status` and on the stream. 409 without an integration token.
async fn sync(State(s): State<Arc<ConnectState>>) -> Result<(StatusCode, Json<Value>), ApiError> {
    if s.connection.token().await.0.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ConnectError::NoToken.to_string(),
        ));
    }
    s.api
        .catch_up
        .request(crate::linq_api::sync::Trigger::Demand);
    Ok((StatusCode::ACCEPTED, Json(json!(s.api.catch_up.status()))))
}

/// Whether the event reached the store. The listener answers 200 only after commit, so one
/// look is enough; a few more cover a reader that has not seen the commit yet.
async fn stored(api: Arc<ApiState>, event_id: String) -> bool {
    for _ in 0..10 {
        let id = event_id.clone();
        let found = api
            .read(move |c| log::seq_of(c, &id, TEST_EVENT_TYPE))
            .await
            .ok()
            .flatten();
        if found.is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn rotate(State(s): State<Arc<ConnectState>>) -> Answer {
    // The listener accepts the new secret at once, not at the keeper's next tick.
    let rotated = s
        .connection
        .rotate(
            || refresh_secrets(&s.connection.data_dir, &s.secrets),
            Duration::ZERO,
        )
        .await
        .map_err(error_response)?;
    let status = s.connection.status().await.map_err(error_response)?;
    Ok(Json(json!({ "rotated": rotated, "status": status })))
}
