//! The two HTTP servers: the webhook listener (the one port a tunnel exposes) and the loopback
//! UI server (API, live stream, static UI).

pub mod api;
pub mod assets;
pub mod attachments;
pub mod auth;
pub mod connect;
pub mod demo;
pub mod drafts;
pub mod error;
pub mod login_item;
pub mod outbox;
pub mod path_watch;
pub mod sse;
pub mod state;
#[cfg(test)]
mod ts_types;
pub mod tunnel;
pub mod typing;
pub mod uploads;
pub mod webhook;

use std::sync::Arc;

use axum::routing::get;
use axum::serve::{ListenerExt, TapIo};
use axum::Router;
use tokio::net::{TcpListener, TcpStream};

pub use auth::Auth;
pub use error::ApiError;
pub use state::{ApiState, StatusInfo};

/// The UI server's routes, all behind the auth guard.
pub fn ui_router(
    api: Arc<ApiState>,
    auth: Arc<Auth>,
    linq: Arc<connect::ConnectState>,
    demo: Arc<demo::Demo>,
    login_item: Option<Arc<dyn login_item::LoginItem>>,
) -> Router {
    Router::new()
        .route("/login", get(auth::login).with_state(auth.clone()))
        .merge(attachments::router(api.clone()))
        .merge(outbox::router(api.clone()))
        .merge(drafts::router(api.clone()))
        .merge(typing::router(api.clone()))
        .merge(uploads::router(api.clone()))
        .merge(api::router(api))
        .merge(connect::router(linq))
        .merge(demo::router(demo))
        .merge(login_item::router(login_item))
        .fallback(assets::static_file)
        .layer(axum::middleware::from_fn_with_state(auth, auth::guard))
}

/// A listener whose connections send every write at once (`TCP_NODELAY`), for both servers.
///
/// With Nagle's algorithm on, a small write waits until the peer acknowledges the one before,
/// and the peer delays that acknowledgement by up to 40 ms. Stream events and webhook answers
/// are all small writes: at 1,000 deliveries a second, one stream event in a hundred reached
/// the UI 25 ms or more after its delivery was acknowledged (docs/BENCHMARKS.md).
pub fn without_nagle(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(send_at_once)
}

fn send_at_once(tcp: &mut TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "could not turn off Nagle's algorithm on a connection");
    }
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_without_waiting() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut listener = without_nagle(listener);
        let client = TcpStream::connect(addr).await.expect("connect");
        let (accepted, _) = listener.accept().await;
        assert!(
            accepted.nodelay().expect("read TCP_NODELAY"),
            "the server's side of the connection has Nagle's algorithm off"
        );
        drop(client);
    }
}
