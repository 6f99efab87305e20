//! The client against a local fake of Linq's API (an axum server on a free port) that records
//! every request and answers what each test scripts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::*;

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    token: Option<String>,
    body: Option<Value>,
}

#[derive(Clone)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<dyn Fn(&Seen) -> Response + Send + Sync>,
}

async fn record(
    axum::extract::State(fake): axum::extract::State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        token: headers
            .get("x-linq-integration-token")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        body: serde_json::from_slice(&body).ok(),
    };
    let answer = (fake.answer)(&seen);
    if let Ok(mut all) = fake.seen.lock() {
        all.push(seen);
    }
    answer
}

/// Starts a fake answering with `answer`; returns its base URL and the recorded requests.
async fn fake(
    answer: impl Fn(&Seen) -> Response + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Fake {
        seen: seen.clone(),
        answer: Arc::new(answer),
    };
    let app = axum::Router::new().fallback(record).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake");
    let addr = listener.local_addr().expect("fake address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn client(base: &str, timeout: Duration) -> LinqClient {
    LinqClient::new(
        base,
        Token::parse("lq_test_token_0123456789").expect("token"),
        timeout,
    )
    .expect("client")
}

fn subscription_json(id: Value) -> Value {
    json!({"id": id, "webhook_url": "https://t.example/webhooks/linq",
           "events": ["message.received"], "active": true, "secret_configured": true,
           "last_delivered_at": null, "delivery_attempts": 0})
}

fn with_status(status: u16, body: Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

#[tokio::test]
async fn create_sends_the_wrapped_body_with_the_token_header() {
    let (base, seen) = fake(|_| with_status(201, subscription_json(json!(77)))).await;
    let request = SubscriptionRequest::all_events("https://t.example/webhooks/linq", "s3cret");
    let created = client(&base, DEFAULT_TIMEOUT)
        .create(&request)
        .await
        .expect("201 is a success");
    assert_eq!(created.id, "77", "a numeric id is kept as text");
    assert!(created.active && created.secret_configured);
    let seen = seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/api/partner/v2/webhook_subscriptions");
    assert_eq!(seen[0].token.as_deref(), Some("lq_test_token_0123456789"));
    let body = seen[0].body.clone().expect("a JSON body");
    let inner = &body["webhook_subscription"];
    assert_eq!(inner["webhook_url"], "https://t.example/webhooks/linq");
    assert_eq!(inner["version"], 2);
    assert_eq!(inner["secret"], "s3cret");
    assert_eq!(inner["active"], true);
    assert_eq!(
        inner["events"].as_array().map(Vec::len),
        Some(crate::linq_api::SUBSCRIBED_EVENTS.len()),
        "every event type the app understands is asked for"
    );
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only the wrapper at the top"
    );
}

#[tokio::test]
async fn list_update_and_delete_use_their_paths() {
    let (base, seen) = fake(|s| match s.method.as_str() {
        "GET" => with_status(
            200,
            json!({"webhook_subscriptions": [subscription_json(json!("a1")), subscription_json(json!(2))]}),
        ),
        "PUT" => with_status(200, json!({"webhook_subscription": subscription_json(json!("a1"))})),
        _ => StatusCode::NO_CONTENT.into_response(),
    })
    .await;
    let c = client(&base, DEFAULT_TIMEOUT);
    let list = c.list().await.expect("list");
    assert_eq!(
        list.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec!["a1", "2"]
    );
    let updated = c
        .update(
            "a1",
            &SubscriptionRequest::all_events("https://t.example/webhooks/linq", "n"),
        )
        .await
        .expect("a wrapped answer is unwrapped");
    assert_eq!(updated.id, "a1");
    c.delete("a1").await.expect("204 is a success");
    let seen = seen.lock().expect("seen").clone();
    let calls: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("GET".into(), "/api/partner/v2/webhook_subscriptions".into()),
            (
                "PUT".into(),
                "/api/partner/v2/webhook_subscriptions/a1".into()
            ),
            (
                "DELETE".into(),
                "/api/partner/v2/webhook_subscriptions/a1".into()
            ),
        ]
    );
    assert_eq!(
        seen[1]
            .body
            .as_ref()
            .map(|b| b["webhook_subscription"]["secret"].clone()),
        Some(json!("n"))
    );
    assert!(
        seen.iter().all(|s| s.token.is_some()),
        "every call carries the token"
    );
}

#[tokio::test]
async fn each_error_is_one_sentence() {
    let (base, _) = fake(|s| match s.path.rsplit('/').next().unwrap_or_default() {
        "bad-token" => with_status(401, json!({"error": "Unauthorized"})),
        "invalid" => with_status(422, json!({"errors": {"webhook_url": ["must be HTTPS"]}})),
        "limited" => {
            let mut r = with_status(429, json!({"error": "slow down"}));
            r.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("17"));
            r
        }
        "broken" => with_status(503, json!({"error": "maintenance"})),
        "gone" => with_status(404, json!({"error": "not found"})),
        _ => with_status(418, json!({"message": "teapot"})),
    })
    .await;
    let c = client(&base, DEFAULT_TIMEOUT);
    let err = |id: &'static str| {
        let c = &c;
        async move { c.delete(id).await.expect_err("scripted failure") }
    };
    let bad = err("bad-token").await;
    assert_eq!(bad, LinqApiError::BadToken { status: 401 });
    assert!(bad.to_string().contains("integration token"), "{bad}");
    let invalid = err("invalid").await;
    assert_eq!(
        invalid.to_string(),
        "Linq refused the request: webhook_url must be HTTPS",
        "the 422 message is passed on"
    );
    assert_eq!(
        err("limited").await,
        LinqApiError::RateLimited { retry_after: 17 }
    );
    let server = err("broken").await;
    assert_eq!(server, LinqApiError::Server { status: 503 });
    assert!(server.to_string().contains("try again"), "{server}");
    assert!(matches!(
        err("gone").await,
        LinqApiError::NoSuchSubscription { .. }
    ));
    assert!(err("other").await.to_string().contains("418"));
    for e in [bad, invalid, server] {
        let text = e.to_string();
        assert!(
            !text.contains('\n') && !text.contains("lq_test_token"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_422_message_in_its_other_shapes() {
    assert_eq!(
        message_of(r#"{"error":"webhook_url is invalid"}"#).as_deref(),
        Some("webhook_url is invalid")
    );
    assert_eq!(
        message_of(r#"{"errors":["a","b"]}"#).as_deref(),
        Some("a; b")
    );
    assert_eq!(
        message_of(r#"{"message":"line1\nline2"}"#).as_deref(),
        Some("line1 line2")
    );
    assert_eq!(message_of("<html>oops</html>"), None);
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    let (base, _) = fake(|_| with_status(200, json!({}))).await;
    // A listener that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = silent.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    drop(base);
    let err = client(&format!("http://{addr}"), Duration::from_millis(300))
        .list()
        .await
        .expect_err("no answer");
    assert!(matches!(err, LinqApiError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer"), "{err}");
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let err = client(&format!("http://127.0.0.1:{port}"), DEFAULT_TIMEOUT)
        .list()
        .await
        .expect_err("refused");
    assert!(matches!(err, LinqApiError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("could not reach Linq"), "{err}");
}

#[tokio::test]
async fn an_odd_id_never_reaches_the_path() {
    let (base, seen) = fake(|_| StatusCode::NO_CONTENT.into_response()).await;
    let err = client(&base, DEFAULT_TIMEOUT)
        .delete("../../admin")
        .await
        .expect_err("refused locally");
    assert!(matches!(err, LinqApiError::BadId(_)));
    assert!(seen.lock().expect("seen").is_empty(), "no request was sent");
}
