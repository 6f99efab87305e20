//! The typed client for Linq's v2 webhook subscriptions.
//!
//! Requests carry `X-LINQ-INTEGRATION-TOKEN`; bodies are wrapped as
//! `{"webhook_subscription": {...}}`. Every failure becomes a `LinqApiError` whose `Display` is
//! one sentence a rep can act on; the token and the webhook secret never appear in one.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Token, SUBSCRIPTIONS_PATH};
use crate::linq::value::id_field;

/// How long one call to Linq may take before it is given up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
const TOKEN_HEADER: &str = "X-LINQ-INTEGRATION-TOKEN";

/// What a Linq call can end in, each as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinqApiError {
    #[error("Linq refused the integration token (HTTP {status}); copy it again from Linq's dashboard and enter it in Settings (or LINQ_INTEGRATION_TOKEN)")]
    BadToken { status: u16 },
    #[error("Linq refused the request: {message}")]
    Rejected { message: String },
    #[error("Linq has no webhook subscription {id}; it may have been deleted already (run `linq-inbox linq list`)")]
    NoSuchSubscription { id: String },
    #[error("Linq is rate-limiting this token (HTTP 429); try again in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("Linq had a server error (HTTP {status}); nothing was changed, try again in a minute")]
    Server { status: u16 },
    #[error("Linq did not answer within {seconds} seconds; check the network and try again")]
    Timeout { seconds: u64 },
    #[error("could not reach Linq at {base}: {reason}")]
    Unreachable { base: String, reason: String },
    #[error("Linq answered HTTP {status}, which this app does not expect: {message}")]
    Unexpected { status: u16, message: String },
    #[error("Linq's answer could not be read: {reason}")]
    BadAnswer { reason: String },
    #[error("{0:?} is not a subscription id (letters, digits, - and _ only)")]
    BadId(String),
}

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

pub struct LinqClient {
    http: reqwest::Client,
    base: String,
    token: Token,
    timeout: Duration,
}

impl LinqClient {
    /// `base` is already validated (`super::validate_base`).
    pub fn new(base: &str, token: Token, timeout: Duration) -> Result<LinqClient, LinqApiError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("linq-inbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LinqApiError::Unreachable {
                base: base.to_string(),
                reason: format!("the HTTP client could not start ({e})"),
            })?;
        Ok(LinqClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            timeout,
        })
    }

    /// `POST /api/partner/v2/webhook_subscriptions` (answer 201).
    pub async fn create(&self, req: &SubscriptionRequest) -> Result<Subscription, LinqApiError> {
        let value = self
            .call(Method::POST, SUBSCRIPTIONS_PATH, Some(req.wrapped()), None)
            .await?;
        parse_one(value)
    }

    /// `GET /api/partner/v2/webhook_subscriptions` → `{"webhook_subscriptions": [...]}`.
    pub async fn list(&self) -> Result<Vec<Subscription>, LinqApiError> {
        let value = self
            .call(Method::GET, SUBSCRIPTIONS_PATH, None, None)
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
        let path = item_path(id)?;
        let value = self
            .call(Method::PUT, &path, Some(req.wrapped()), Some(id))
            .await?;
        parse_one(value)
    }

    /// `DELETE /api/partner/v2/webhook_subscriptions/{id}` (answer 204).
    pub async fn delete(&self, id: &str) -> Result<(), LinqApiError> {
        let path = item_path(id)?;
        self.call(Method::DELETE, &path, None, Some(id)).await?;
        Ok(())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        id: Option<&str>,
    ) -> Result<Value, LinqApiError> {
        let url = format!("{}{}", self.base, path);
        let mut request = self
            .http
            .request(method, &url)
            .header(TOKEN_HEADER, self.token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        let text = response.text().await.map_err(|e| self.transport(e))?;
        if status.is_success() {
            if status == StatusCode::NO_CONTENT || text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|e| LinqApiError::BadAnswer {
                reason: format!("it is not JSON ({e})"),
            });
        }
        Err(error_for(status, &text, retry_after, id))
    }

    fn transport(&self, e: reqwest::Error) -> LinqApiError {
        if e.is_timeout() {
            return LinqApiError::Timeout {
                seconds: self.timeout.as_secs().max(1),
            };
        }
        LinqApiError::Unreachable {
            base: self.base.clone(),
            reason: super::delivery::describe_transport(&e),
        }
    }
}

fn item_path(id: &str) -> Result<String, LinqApiError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(LinqApiError::BadId(id.chars().take(64).collect()));
    }
    Ok(format!("{SUBSCRIPTIONS_PATH}/{id}"))
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

/// The sentence for a non-success answer.
fn error_for(
    status: StatusCode,
    body: &str,
    retry_after: Option<u64>,
    id: Option<&str>,
) -> LinqApiError {
    let code = status.as_u16();
    match code {
        401 | 403 => LinqApiError::BadToken { status: code },
        404 if id.is_some() => LinqApiError::NoSuchSubscription {
            id: id.unwrap_or_default().to_string(),
        },
        400 | 409 | 422 => LinqApiError::Rejected {
            message: message_of(body).unwrap_or_else(|| format!("HTTP {code} without a reason")),
        },
        429 => LinqApiError::RateLimited {
            retry_after: retry_after.unwrap_or(60),
        },
        500..=599 => LinqApiError::Server { status: code },
        _ => LinqApiError::Unexpected {
            status: code,
            message: message_of(body).unwrap_or_else(|| "no reason given".into()),
        },
    }
}

/// The human part of an error body: `error`, `message`, `errors` (list, map of lists, or text).
pub fn message_of(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let mut parts = Vec::new();
    collect_messages(&value, None, &mut parts);
    if parts.is_empty() {
        return None;
    }
    Some(clean(&parts.join("; ")))
}

fn collect_messages(value: &Value, field: Option<&str>, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(match field {
            Some(f) if !s.starts_with(f) => format!("{f} {s}"),
            _ => s.clone(),
        }),
        Value::Array(items) => items.iter().for_each(|v| collect_messages(v, field, out)),
        Value::Object(o) => {
            for key in ["error", "message", "detail", "errors"] {
                if let Some(v) = o.get(key) {
                    collect_messages(v, None, out);
                    if !out.is_empty() {
                        return;
                    }
                }
            }
            // A map of field → messages (`{"webhook_url": ["is invalid"]}`).
            for (k, v) in o {
                if matches!(v, Value::String(_) | Value::Array(_)) {
                    collect_messages(v, Some(k.as_str()), out);
                }
            }
        }
        _ => {}
    }
}

/// One line of printable text, at most 300 characters.
fn clean(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() > 300 {
        let cut: String = trimmed.chars().take(300).collect();
        format!("{cut}…")
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests;
