//! The typed client for Linq's v2 webhook subscriptions.
//!
//! Requests carry `X-LINQ-INTEGRATION-TOKEN`; bodies are wrapped as
//! `{"webhook_subscription": {...}}`. Every failure becomes a `LinqApiError` whose `Display` is
//! one sentence a rep can act on; the token and the webhook secret never appear in one.

use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use super::error::{describe_transport, message_of, LinqApiError};
use super::rest::{subscription_path, Rest};
use super::{Token, SUBSCRIPTIONS_PATH};
use crate::config::linq::ApiVersion;
use crate::linq::value::id_field;

/// How long one call to Linq may take before it is given up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A subscription as Linq describes it. Linq never returns the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub webhook_url: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub secret_configured: bool,
    #[serde(default)]
    pub last_delivered_at: Option<String>,
    #[serde(default)]
    pub delivery_attempts: Option<u64>,
    /// The lines a v3 subscription is limited to (`None`: every line; v2 has no filter).
    #[serde(default)]
    pub phone_numbers: Option<Vec<String>>,
}

/// The body of a create or update, before wrapping.
#[derive(Clone, Serialize)]
pub struct SubscriptionRequest {
    pub webhook_url: String,
    pub version: u8,
    pub secret: String,
    pub active: bool,
    pub events: Vec<String>,
}

impl std::fmt::Debug for SubscriptionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionRequest")
            .field("webhook_url", &self.webhook_url)
            .field("version", &self.version)
            .field("secret", &"<redacted>")
            .field("active", &self.active)
            .field("events", &self.events)
            .finish()
    }
}

impl SubscriptionRequest {
    /// A v2 subscription for every event type the app understands.
    pub fn all_events(webhook_url: &str, secret: &str) -> SubscriptionRequest {
        SubscriptionRequest {
            webhook_url: webhook_url.to_string(),
            version: 2,
            secret: secret.to_string(),
            active: true,
            events: super::SUBSCRIBED_EVENTS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    fn wrapped(&self) -> Value {
        json!({ "webhook_subscription": self })
    }
}

/// The v2 webhook subscriptions of the account (`linq-api.md` §16), on the shared [`Rest`] core.
pub struct LinqClient {
    rest: Rest,
}

impl LinqClient {
    /// `base` is already validated (`crate::config::linq::validate_api_base`).
    pub fn new(base: &str, token: Token, timeout: Duration) -> Result<LinqClient, LinqApiError> {
        // Subscriptions are v2 endpoints: they take v2's header whatever the account's version.
        Ok(LinqClient {
            rest: Rest::new(base, token, ApiVersion::V2, timeout)?,
        })
    }

    /// `POST /api/partner/v2/webhook_subscriptions` (answer 201).
    pub async fn create(&self, req: &SubscriptionRequest) -> Result<Subscription, LinqApiError> {
        let value = self
            .rest
            .subscription_call(Method::POST, SUBSCRIPTIONS_PATH, Some(req.wrapped()), None)
            .await?;
        parse_one(value)
    }

    /// `GET /api/partner/v2/webhook_subscriptions` → `{"webhook_subscriptions": [...]}`.
    pub async fn list(&self) -> Result<Vec<Subscription>, LinqApiError> {
        let value = self
            .rest
            .subscription_call(Method::GET, SUBSCRIPTIONS_PATH, None, None)
            .await?;
        let list = match value {
            Value::Object(mut o) => o.remove("webhook_subscriptions"),
            Value::Array(a) => Some(Value::Array(a)),
            _ => None,
        }
        .ok_or_else(|| LinqApiError::BadAnswer {
            reason: "it has no webhook_subscriptions list".into(),
        })?;
        match list {
            Value::Array(items) => items.into_iter().map(parse_subscription).collect(),
            _ => Err(LinqApiError::BadAnswer {
                reason: "webhook_subscriptions is not a list".into(),
            }),
        }
    }

    /// `PUT /api/partner/v2/webhook_subscriptions/{id}`.
    pub async fn update(
        &self,
        id: &str,
        req: &SubscriptionRequest,
    ) -> Result<Subscription, LinqApiError> {
        let path = subscription_path(SUBSCRIPTIONS_PATH, id)?;
        let value = self
            .rest
            .subscription_call(Method::PUT, &path, Some(req.wrapped()), Some(id))
            .await?;
        parse_one(value)
    }

    /// `DELETE /api/partner/v2/webhook_subscriptions/{id}` (answer 204).
    pub async fn delete(&self, id: &str) -> Result<(), LinqApiError> {
        let path = subscription_path(SUBSCRIPTIONS_PATH, id)?;
        self.rest
            .subscription_call(Method::DELETE, &path, None, Some(id))
            .await?;
        Ok(())
    }
}

/// One subscription, bare or wrapped in `webhook_subscription`.
fn parse_one(value: Value) -> Result<Subscription, LinqApiError> {
    let inner = match value {
        Value::Object(mut o) if o.contains_key("webhook_subscription") => {
            o.remove("webhook_subscription").unwrap_or(Value::Null)
        }
        other => other,
    };
    parse_subscription(inner)
}

fn parse_subscription(mut value: Value) -> Result<Subscription, LinqApiError> {
    // Ids arrive as strings or numbers; keep text.
    let id = id_field(&value, "id").ok_or_else(|| LinqApiError::BadAnswer {
        reason: "a subscription has no id".into(),
    })?;
    if let Some(o) = value.as_object_mut() {
        o.insert("id".into(), Value::String(id));
        if let Some(Value::Number(n)) = o.get("last_delivered_at") {
            let text = n.to_string();
            o.insert("last_delivered_at".into(), Value::String(text));
        }
    }
    serde_json::from_value(value).map_err(|e| LinqApiError::BadAnswer {
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    // The client against a local fake of Linq's API (an axum server on a free port) that records
    // every request and answers what each test scripts.

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
        assert!(
            created.active && created.secret_configured,
            "the created subscription is active and holds a secret"
        );
        let seen = seen.lock().expect("seen").clone();
        assert_eq!(seen.len(), 1, "create sends exactly one request");
        assert_eq!(
            seen[0].method, "POST",
            "a subscription is created with POST"
        );
        assert_eq!(
            seen[0].path, "/api/partner/v2/webhook_subscriptions",
            "create uses Linq's webhook subscriptions path"
        );
        assert_eq!(
            seen[0].token.as_deref(),
            Some("lq_test_token_0123456789"),
            "the integration token goes in its header"
        );
        let body = seen[0].body.clone().expect("a JSON body");
        let inner = &body["webhook_subscription"];
        assert_eq!(
            inner["webhook_url"], "https://t.example/webhooks/linq",
            "the body carries the URL Linq should deliver to"
        );
        assert_eq!(
            inner["version"], 2,
            "subscriptions are asked for in webhook version 2"
        );
        assert_eq!(
            inner["secret"], "s3cret",
            "the body carries this app's secret"
        );
        assert_eq!(
            inner["active"], true,
            "the new subscription is active at once"
        );
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
            vec!["a1", "2"],
            "list returns every subscription, numeric ids as text"
        );
        let updated = c
            .update(
                "a1",
                &SubscriptionRequest::all_events("https://t.example/webhooks/linq", "n"),
            )
            .await
            .expect("a wrapped answer is unwrapped");
        assert_eq!(
            updated.id, "a1",
            "update answers the subscription it changed"
        );
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
            ],
            "list, update and delete each use their own method and path"
        );
        assert_eq!(
            seen[1]
                .body
                .as_ref()
                .map(|b| b["webhook_subscription"]["secret"].clone()),
            Some(json!("n")),
            "update sends the new secret"
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
        assert_eq!(
            bad,
            LinqApiError::BadToken { status: 401 },
            "a 401 is a bad token"
        );
        assert!(bad.to_string().contains("integration token"), "{bad}");
        let invalid = err("invalid").await;
        assert_eq!(
            invalid.to_string(),
            "Linq refused the request: webhook_url must be HTTPS",
            "the 422 message is passed on"
        );
        assert_eq!(
            err("limited").await,
            LinqApiError::RateLimited { retry_after: 17 },
            "a 429 says when to retry, from Retry-After"
        );
        let server = err("broken").await;
        assert_eq!(
            server,
            LinqApiError::Server { status: 503 },
            "a 5xx is Linq's own trouble"
        );
        assert!(server.to_string().contains("try again"), "{server}");
        assert!(
            matches!(err("gone").await, LinqApiError::NoSuchSubscription { .. }),
            "a 404 on a subscription says it no longer exists"
        );
        assert!(
            err("other").await.to_string().contains("418"),
            "an unexpected status is named in the sentence"
        );
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
            Some("webhook_url is invalid"),
            "a single error string is passed on"
        );
        assert_eq!(
            message_of(r#"{"errors":["a","b"]}"#).as_deref(),
            Some("a; b"),
            "a list of errors is joined into one sentence"
        );
        assert_eq!(
            message_of(r#"{"message":"line1\nline2"}"#).as_deref(),
            Some("line1 line2"),
            "a multi-line message becomes one line"
        );
        assert_eq!(
            message_of("<html>oops</html>"),
            None,
            "a body that is not JSON gives no message to pass on"
        );
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
        assert!(
            matches!(err, LinqApiError::BadId(_)),
            "an id that would change the path is refused"
        );
        assert!(seen.lock().expect("seen").is_empty(), "no request was sent");
    }
}
