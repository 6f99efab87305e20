//! The UI router's guards in-process: `linq_inbox::engine::ui_router` built over a temp data
//! folder without a socket and driven with `tower::ServiceExt::oneshot`. The same rules are
//! checked against the real binary in `auth.rs` and `exposure.rs`; here each guard is one
//! request, so a regression names the guard.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use linq_inbox::config::{Settings, SettingsArgs};
use tower::ServiceExt;

const TOKEN: &str = "router-test-token";
/// The port the Host and Origin checks expect; nothing listens on it.
const UI: &str = "127.0.0.1:48788";

fn router(dir: &std::path::Path) -> Router {
    let settings = Settings::resolve(&SettingsArgs {
        data_dir: Some(dir.to_path_buf()),
        listen: Some("127.0.0.1:0".into()),
        ui_listen: Some(UI.into()),
        ui_token: Some(TOKEN.into()),
        ..SettingsArgs::default()
    })
    .expect("settings for a temp data folder");
    linq_inbox::engine::ui_router(&settings).expect("the UI router builds without a socket")
}

fn request(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, UI)
}

fn bearer(builder: axum::http::request::Builder) -> axum::http::request::Builder {
    builder.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
}

async fn answer(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers every request");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("the body is read");
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn an_api_request_without_credentials_is_401() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = router(dir.path());
    let (status, body) = answer(
        &app,
        request("GET", "/api/chats")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the API answers only a session cookie or the bearer UI token: {body}"
    );
    let (status, _) = answer(
        &app,
        bearer(request("GET", "/api/chats"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same request with the UI token is answered (the 401 was the guard's)"
    );
}

#[tokio::test]
async fn a_foreign_host_is_403_even_with_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = router(dir.path());
    let (status, body) = answer(
        &app,
        bearer(Request::builder().method("GET").uri("/api/chats"))
            .header(header::HOST, "evil.example:48788")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a page on another name that resolves to 127.0.0.1 (DNS rebinding) is refused: {body}"
    );
}

#[tokio::test]
async fn a_cross_origin_write_is_403() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = router(dir.path());
    let presence = r#"{"chat_id":null,"focused":true}"#;
    let (status, body) = answer(
        &app,
        bearer(request("POST", "/api/presence"))
            .header(header::ORIGIN, "http://evil.example")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, presence.len())
            .body(Body::from(presence))
            .expect("request"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "another site's page cannot change anything, even knowing the token: {body}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = router(dir.path());
    let (status, body) = answer(
        &app,
        bearer(request("PUT", "/api/settings"))
            .header(header::CONTENT_TYPE, "text/plain")
            .header(header::CONTENT_LENGTH, "2")
            .body(Body::from("{}"))
            .expect("request"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a form or text body (what a cross-site form can send without a preflight) is refused: {body}"
    );
}

#[tokio::test]
async fn an_unknown_api_route_is_404() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = router(dir.path());
    let (status, body) = answer(
        &app,
        bearer(request("GET", "/api/no-such-endpoint"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an endpoint that does not exist is not answered with the app's page: {body}"
    );
    assert!(
        body.contains("\"error\""),
        "the 404 is a JSON error like every other API refusal: {body}"
    );
}
