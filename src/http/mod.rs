//! The two HTTP servers: the webhook listener (the one port a tunnel exposes) and the loopback
//! UI server (API, live stream, static UI).

pub mod api;
pub mod assets;
pub mod auth;
pub mod connect;
pub mod sse;
pub mod webhook;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

pub use api::{ApiState, StatusInfo};
pub use auth::Auth;

/// The UI server's routes, all behind the auth guard.
pub fn ui_router(api: Arc<ApiState>, auth: Arc<Auth>, linq: Arc<connect::ConnectState>) -> Router {
    Router::new()
        .route("/login", get(auth::login).with_state(auth.clone()))
        .merge(api::router(api))
        .merge(connect::router(linq))
        .fallback(assets::static_file)
        .layer(axum::middleware::from_fn_with_state(auth, auth::guard))
}
