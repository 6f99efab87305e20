//! The webhook listener: the only port a tunnel exposes. `POST {webhook-path}` and `GET /healthz`;
//! every answer exactly as the contract in DESIGN.md says, and a 200 only after commit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::ingest::{Ack, Ingest, IngestError};
use crate::linq::json::check_unique;
use crate::linq::standard_webhooks::{self, DeliveryHeaders, Verified};
use crate::linq::{parse_envelope, Secret, SignatureForm};
use crate::store::{now_millis, NewEvent, Rejection};

/// Largest body accepted (the contract's 1 MiB).
pub const MAX_BODY: usize = 1 << 20;
/// A body must arrive within this long (a trickling client gets 408).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct WebhookState {
    pub ingest: Ingest,
    pub secrets: Arc<std::sync::RwLock<Vec<Secret>>>,
    pub allow_unsigned: bool,
}

pub fn router(path: &str, state: Arc<WebhookState>) -> Router {
    Router::new()
        .route(path, post(receive))
        .route("/healthz", get(healthz))
        .fallback(|| async { (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))) })
        .with_state(state)
}

async fn healthz(State(state): State<Arc<WebhookState>>) -> Response {
    match state.ingest.health().error() {
        None => Json(json!({"ok": true})).into_response(),
        Some(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ok": false, "error": "storage unavailable"})),
        )
            .into_response(),
    }
}

/// A refusal: status and one sentence.
struct Refusal {
    status: StatusCode,
    reason: String,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
        }
    }

    /// Whether the delivery itself was refused, and so is kept for the Events screen. A 503
    /// is the inbox's own state (a full disk, a full queue, a long lag), which the status
    /// screen shows; Linq retries the delivery and it is stored then. Recording it would also
    /// write to the disk that is full, or to the writer that is saturated, and a record that
    /// fit would pass for the store being healthy again.
    fn is_kept(&self) -> bool {
        self.status != StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn receive(
    State(state): State<Arc<WebhookState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let mut body_bytes = axum::body::Bytes::new();
    let outcome = async {
        check_content_type(&headers)?;
        if let Some(len) = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        {
            if len > MAX_BODY as u64 {
                return Err(Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body is over 1 MiB",
                ));
            }
        }
        let bytes =
            match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
                Err(_) => {
                    return Err(Refusal::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "body did not arrive in time",
                    ))
                }
                Ok(Err(e)) if is_length_limit(&e) => {
                    return Err(Refusal::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body is over 1 MiB",
                    ))
                }
                Ok(Err(_)) => {
                    return Err(Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "body could not be read",
                    ))
                }
                Ok(Ok(b)) => b,
            };
        // Kept for a refusal's record; the body is copied once, into the log row.
        body_bytes = bytes;
        accept(&state, &headers, &body_bytes).await
    }
    .await;
    match outcome {
        Ok(ack) => {
            let (seq, duplicate) = match ack {
                Ack::Stored { seq } => (seq, false),
                Ack::Duplicate { seq } => (seq, true),
            };
            (
                StatusCode::OK,
                Json(Acknowledged {
                    ok: true,
                    seq,
                    duplicate,
                }),
            )
                .into_response()
        }
        Err(refusal) => {
            if refusal.is_kept() {
                state.ingest.reject(Rejection {
                    received_at: now_millis(),
                    status: refusal.status.as_u16(),
                    reason: refusal.reason.clone(),
                    remote_addr: Some(peer.to_string()),
                    headers: headers.keys().map(|k| k.as_str().to_string()).collect(),
                    size: body_bytes.len(),
                    body_prefix: String::from_utf8_lossy(&body_bytes[..body_bytes.len().min(512)])
                        .into_owned(),
                });
            }
            refusal_response(refusal)
        }
    }
}

/// The 200's body. Typed rather than built as a `json!` value: it is written once per delivery.
#[derive(serde::Serialize)]
struct Acknowledged {
    ok: bool,
    seq: i64,
    duplicate: bool,
}

fn refusal_response(r: Refusal) -> Response {
    let mut response = (r.status, Json(json!({"error": r.reason}))).into_response();
    if r.status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    response
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.to_string().contains("length limit") {
            return true;
        }
        source = err.source();
    }
    false
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ))
    }
}

async fn accept(state: &WebhookState, headers: &HeaderMap, raw: &[u8]) -> Result<Ack, Refusal> {
    // The signature decides first, whatever the body.
    let verified = verify(state, headers, raw)?;
    let text = std::str::from_utf8(raw)
        .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "body is not UTF-8"))?;
    check_unique(text).map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let envelope =
        parse_envelope(text).map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let payload = text.to_owned();
    let mut event = NewEvent::from_envelope(envelope, payload, verified.form, now_millis());
    event.webhook_id = verified.webhook_id;
    state.ingest.submit(event).await.map_err(|e| match e {
        IngestError::Lagging => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the inbox is catching up; retry shortly",
        ),
        IngestError::QueueFull => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the inbox is busy; retry shortly",
        ),
        IngestError::Store(_) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the inbox could not store the delivery; retry later",
        ),
        IngestError::Closed => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the inbox is shutting down",
        ),
    })
}

/// Checks the delivery's signature under whichever scheme its headers carry (v2, or v3's
/// Standard Webhooks and legacy forms), against our clock.
fn verify(state: &WebhookState, headers: &HeaderMap, raw: &[u8]) -> Result<Verified, Refusal> {
    // A header that is not visible ASCII cannot match; NUL keeps it "present" so it is refused.
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let delivery = DeliveryHeaders {
        webhook_id: text("webhook-id"),
        webhook_timestamp: text("webhook-timestamp"),
        webhook_signature: text("webhook-signature"),
        x_signature: text("x-webhook-signature"),
        x_timestamp: text("x-webhook-timestamp"),
    };
    if state.allow_unsigned && delivery.unsigned() {
        return Ok(Verified {
            form: SignatureForm::Unsigned,
            webhook_id: None,
        });
    }
    // Read in place, not cloned per delivery; a poisoned lock matches nothing.
    let secrets = state.secrets.read();
    let secrets = secrets.as_ref().map_or(&[][..], |s| s.as_slice());
    let now = chrono::Utc::now().timestamp();
    standard_webhooks::verify_delivery(secrets, &delivery, raw, now)
        .map_err(|reason| Refusal::new(StatusCode::UNAUTHORIZED, reason))
}
