//! "Send test delivery": a signed synthetic event posted to the public URL, as Linq would post
//! it, then looked for in the store. Either it came back through the tunnel to this app's
//! listener and was committed, or the answer says at which step it failed: DNS, TLS, timeout,
//! nothing listening, 401 (secret mismatch), 404 (wrong path), another status, or a 200 from
//! something that is not this app.

use std::error::Error as _;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use super::client::describe_transport;
use crate::linq::{signature, Secret};

/// The event type of test deliveries: unknown to the projections, so it is kept in the raw
/// log (visible on the Events screen) and changes nothing in the inbox.
pub const TEST_EVENT_TYPE: &str = "linq_inbox.test_delivery";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the path ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Through the tunnel, verified and committed by this app.
    Delivered,
    Dns,
    Tls,
    Timeout,
    /// Nothing accepted the connection.
    Connect,
    /// 401: the listener behind the URL holds another secret.
    Signature,
    /// 404: the path does not reach the webhook route.
    Path,
    /// 502/503/504: the tunnel runs but cannot reach the listener.
    Tunnel,
    /// Any other status.
    Status,
    /// A 200 from something that did not store the event.
    NotStored,
}

impl Stage {
    /// A short heading for the stage, as the CLI prints it.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Delivered => "delivered",
            Stage::Dns => "DNS lookup failed",
            Stage::Tls => "TLS handshake failed",
            Stage::Timeout => "timed out",
            Stage::Connect => "nothing is listening",
            Stage::Signature => "secret mismatch (401)",
            Stage::Path => "wrong path (404)",
            Stage::Tunnel => "the tunnel cannot reach the app",
            Stage::Status => "unexpected answer",
            Stage::NotStored => "reached another server",
        }
    }
}

/// The outcome of a test delivery, as the UI and `--json` show it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    pub ok: bool,
    pub stage: Stage,
    pub message: String,
    pub url: String,
    pub event_id: String,
    pub status: Option<u16>,
    pub elapsed_ms: u64,
}

/// The answer to the post: its status when one came, and the failing stage if any.
pub struct Sent {
    pub status: Option<u16>,
    pub failure: Option<(Stage, String)>,
    pub elapsed: Duration,
}

/// A new synthetic envelope: (event id, body).
pub fn test_envelope() -> (String, String) {
    let event_id = format!("test-{}", crate::config::random_token());
    let body = json!({
        "api_version": "v2",
        "created_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {"note": "Test delivery from Linq Inbox; safe to ignore."},
        "event_id": event_id,
        "event_type": TEST_EVENT_TYPE,
    })
    .to_string();
    (event_id, body)
}

/// Posts `body` to `url` signed with `secret`, and classifies what happened.
pub async fn post(url: &str, body: &str, secret: &Secret, timeout: Duration) -> Sent {
    let start = Instant::now();
    let done = |status: Option<u16>, failure: Option<(Stage, String)>| Sent {
        status,
        failure,
        elapsed: start.elapsed(),
    };
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(_) => return done(None, Some((Stage::Connect, format!("{url} is not a URL")))),
    };
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    // Resolve first, so a DNS failure is named as one rather than as a connection error.
    if host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') {
        let lookup = tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port)));
        match lookup.await {
            Err(_) => {
                return done(
                    None,
                    Some((Stage::Dns, format!("looking up {host} took longer than {} seconds; check the network", timeout.as_secs().max(1)))),
                )
            }
            Ok(Err(_)) => {
                return done(
                    None,
                    Some((Stage::Dns, format!("{host} does not resolve (DNS): is the tunnel running, and is the public URL spelled as the tunnel printed it?"))),
                )
            }
            Ok(Ok(_)) => {}
        }
    }
    let client = match reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return done(
                None,
                Some((
                    Stage::Connect,
                    format!("the HTTP client could not start ({e})"),
                )),
            )
        }
    };
    let response = client
        .post(parsed)
        .header("Content-Type", "application/json")
        .header(
            "X-Webhook-Signature",
            signature::sign(secret.expose(), body.as_bytes()),
        )
        .body(body.to_string())
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return done(None, Some(classify_transport(&e, &host, timeout))),
    };
    let status = response.status().as_u16();
    let snippet = response.text().await.unwrap_or_default();
    let failure = match status {
        200..=299 => None,
        401 => Some((Stage::Signature, "the listener behind the public URL refused the signature (401): it holds a different webhook secret than this app, so the tunnel may point at another Linq Inbox or data folder".to_string())),
        404 => Some((Stage::Path, "the public URL answered 404: the path does not reach the webhook listener; the tunnel must forward to the listener port unchanged, and the URL must end with the webhook path".to_string())),
        502..=504 => Some((Stage::Tunnel, format!("the tunnel answered {status}: it is running but cannot reach the webhook listener; point it at this app's listener port (or the listener is overloaded)"))),
        _ => Some((Stage::Status, format!("the public URL answered HTTP {status}{}", brief(&snippet)))),
    };
    done(Some(status), failure)
}

fn brief(body: &str) -> String {
    let text = super::client::message_of(body).unwrap_or_default();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

fn classify_transport(e: &reqwest::Error, host: &str, timeout: Duration) -> (Stage, String) {
    if e.is_timeout() {
        return (
            Stage::Timeout,
            format!(
                "{host} accepted the connection but did not answer within {} seconds; the tunnel or the listener is stuck",
                timeout.as_secs().max(1)
            ),
        );
    }
    let detail = describe_transport(e);
    if is_tls(e) {
        return (
            Stage::Tls,
            format!("the TLS handshake with {host} failed ({detail}); use the https URL the tunnel printed, and check that it has a valid certificate"),
        );
    }
    (
        Stage::Connect,
        format!("could not connect to {host} ({detail}); is the tunnel running?"),
    )
}

fn is_tls(e: &reqwest::Error) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string().to_ascii_lowercase();
        if [
            "tls",
            "certificate",
            "handshake",
            "ssl",
            "invalidcontenttype",
            "corrupt message",
        ]
        .iter()
        .any(|k| text.contains(k))
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// Builds the report once the store was asked whether the event arrived.
pub fn report(url: &str, event_id: String, sent: Sent, stored: bool) -> DeliveryReport {
    let elapsed_ms = u64::try_from(sent.elapsed.as_millis()).unwrap_or(u64::MAX);
    let (ok, stage, message) = match sent.failure {
        Some((stage, message)) => (false, stage, message),
        None if stored => (
            true,
            Stage::Delivered,
            format!("the test delivery came back through the tunnel and was stored ({elapsed_ms} ms)"),
        ),
        None => (
            false,
            Stage::NotStored,
            "something at the public URL answered 200 but this app never received the event: the tunnel points at another server".to_string(),
        ),
    };
    DeliveryReport {
        ok,
        stage,
        message,
        url: url.to_string(),
        event_id,
        status: sent.status,
        elapsed_ms,
    }
}
