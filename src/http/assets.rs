//! The web UI's static files (`ui/dist`), embedded in the binary in every build (rust-embed's
//! `debug-embed`; rebuild after `make ui-build`, which the Makefile's targets do in that order).

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "ui/dist"]
#[allow_missing = true]
struct Dist;

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Linq Inbox</title>\
<h1>The Linq Inbox UI has not been built yet</h1>\
<p>Run <code>make run</code> (or <code>make ui-build</code>) and reload. The engine is running: \
webhooks are being received and stored.</p>";

pub async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    // An `/api/` path no route took is an endpoint that does not exist, not a page of the app.
    if path.starts_with("api/") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "no such endpoint"})),
        )
            .into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(file) = Dist::get(path) {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        return (
            [(header::CONTENT_TYPE, mime.as_ref().to_string())],
            file.data.into_owned(),
        )
            .into_response();
    }
    // Unknown paths without an extension are client-side routes: serve the app.
    if !path.contains('.') {
        if let Some(index) = Dist::get("index.html") {
            return (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8".to_string())],
                index.data.into_owned(),
            )
                .into_response();
        }
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response();
    }
    (StatusCode::NOT_FOUND, "not found").into_response()
}
