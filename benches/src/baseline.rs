//! The baseline: what this machine's HTTP stack (tokio, hyper, axum) and HMAC-SHA256 cost
//! with nothing stored. The app's listener is compared against it in the same run.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::serve::{ListenerExt, TapIo};
use axum::Router;

pub async fn serve(listen: &str, secret: String) -> anyhow::Result<()> {
    let secret: Arc<[u8]> = Arc::from(secret.into_bytes());
    let app = Router::new()
        .route("/webhooks/linq", post(receive))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(secret);
    let listener = without_nagle(tokio::net::TcpListener::bind(listen).await?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Connections with Nagle's algorithm off, as `linq-inbox serve` has them: the same HTTP stack.
pub fn without_nagle(
    listener: tokio::net::TcpListener,
) -> TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    listener.tap_io(|tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    })
}

async fn receive(State(secret): State<Arc<[u8]>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if signed(&secret, &headers, &body) {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// Whether the delivery's `X-Webhook-Signature` is the HMAC of its body: the check every bench
/// server makes before anything else.
pub fn signed(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> bool {
    let header = headers
        .get("x-webhook-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    super::payload::verify(secret, header, body)
}
