//! What a call to Linq's REST API can end in, each as one sentence a rep can act on: a refused
//! token, no network, Linq down, a rate limit. The token never appears in one.

use std::error::Error as _;

use serde_json::Value;

/// What a Linq call can end in, each as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinqApiError {
    #[error("Linq refused the integration token (HTTP {status}); copy it again from Linq's dashboard and enter it in Settings (or LINQ_INTEGRATION_TOKEN)")]
    BadToken { status: u16 },
    #[error("Linq refused the request: {message}")]
    Rejected { message: String },
    #[error("the recipient has opted out of messages from this number (Linq code 2024); they must text in again first")]
    OptedOut,
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

/// The innermost cause of a transport failure, in words: "connection refused".
pub fn describe_transport(e: &reqwest::Error) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused: nothing is listening there".into()
                }
                std::io::ErrorKind::ConnectionReset => "the connection was reset".into(),
                _ => io.to_string(),
            };
        }
        last = s.to_string();
        source = s.source();
    }
    last
}

/// The sentence for a non-success answer (`retry_after` from the `Retry-After` header).
pub fn for_status(code: u16, body: &str, retry_after: Option<u64>) -> LinqApiError {
    match code {
        403 if linq_code(body) == Some(2024) => LinqApiError::OptedOut,
        401 | 403 => LinqApiError::BadToken { status: code },
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

/// Linq's own error code (`error.code`, or a flat `code`), when the body has one.
pub fn linq_code(body: &str) -> Option<i64> {
    let value: Value = serde_json::from_str(body).ok()?;
    value
        .pointer("/error/code")
        .or_else(|| value.get("code"))
        .and_then(Value::as_i64)
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
