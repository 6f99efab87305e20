//! The sender: posts deliveries over keep-alive HTTP(S), paced and with bounded concurrency,
//! retrying 503s as `Retry-After` asks. It never interprets answers beyond their status;
//! `report` does that.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::delivery::Delivery;
use super::SimulateError;
use crate::linq::standard_webhooks;
use crate::linq::Secret;

/// How fast and how hard to send.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Deliveries started per second; `None` sends as fast as `concurrency` allows.
    pub rate: Option<f64>,
    /// Requests in flight at once. 1 keeps the story's order exactly.
    pub concurrency: usize,
    /// How many times one delivery is retried after a 503.
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; longer requests are shortened to this.
    pub max_retry_wait: Duration,
    /// Per request, connecting included.
    pub timeout: Duration,
    /// Which signature headers to send.
    pub api_version: ApiVersion,
}

/// The Linq API a simulation imitates, which decides how deliveries are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    /// `X-Webhook-Signature: sha256=<hex>` over the body.
    #[default]
    V2,
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) plus the
    /// legacy `X-Webhook-Signature` over `{X-Webhook-Timestamp}.{body}`, as Linq v3 sends both.
    V3,
}

impl Default for SendOptions {
    fn default() -> SendOptions {
        SendOptions {
            rate: None,
            concurrency: 8,
            max_retries: 3,
            max_retry_wait: Duration::from_secs(30),
            timeout: Duration::from_secs(15),
            api_version: ApiVersion::V2,
        }
    }
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered; `latency` is that last request's round trip, retries excluded.
    Answered {
        status: u16,
        latency: Duration,
        retries: u32,
    },
    /// No answer at all (connection reset, timeout); `reason` is one line.
    Failed { reason: String, retries: u32 },
}

/// Everything one request needs, shared by the tasks.
struct Post {
    client: Client,
    url: Url,
    options: SendOptions,
}

/// Checks that `to` is an http(s) URL with a host. Credentials in it are kept for the request
/// but never shown: see `display_url`.
pub fn parse_url(to: &str) -> Result<Url, SimulateError> {
    let bad = |reason: &str| SimulateError::BadUrl {
        url: to.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(to.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http:// and https:// are supported"));
    }
    match url.host_str() {
        Some(host) if !host.is_empty() => {}
        _ => return Err(bad("it names no host")),
    }
    Ok(url)
}

/// The URL without any user name or password, for messages and reports.
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Posts every delivery and returns one outcome per delivery, in the same order. The first
/// delivery goes alone: if nothing answers it, the run stops with a clear error instead of
/// counting a thousand identical failures.
pub async fn send_all(
    url: &Url,
    secret: &Secret,
    deliveries: &[Delivery],
    options: &SendOptions,
) -> Result<Vec<Outcome>, SimulateError> {
    let post = Arc::new(Post {
        client: client(options)?,
        url: url.clone(),
        options: options.clone(),
    });
    let signed = sign_all(secret, deliveries, options.api_version);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; deliveries.len()];
    let Some((first_body, first_signature)) = signed.first().cloned() else {
        return Ok(Vec::new());
    };
    let first = post_one(&post, first_body, first_signature).await;
    if let Err(error) = &first {
        return Err(unreachable_error(url, error));
    }
    outcomes[0] = Some(settle(first));

    send_rest(&post, signed, &mut outcomes).await;
    Ok(outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| Outcome::Failed {
                reason: "the send task stopped".into(),
                retries: 0,
            })
        })
        .collect())
}

/// Everything after the first delivery: paced, at most `concurrency` in flight.
async fn send_rest(
    post: &Arc<Post>,
    signed: Vec<(Bytes, Signing)>,
    outcomes: &mut [Option<Outcome>],
) {
    let mut pacer = pacer(post.options.rate).await;
    let permits = Arc::new(Semaphore::new(post.options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (i, (body, signature)) in signed.into_iter().enumerate().skip(1) {
        if let Some(pacer) = pacer.as_mut() {
            pacer.tick().await;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let post = post.clone();
        tasks.spawn(async move {
            let outcome = settle(post_one(&post, body, signature).await);
            drop(permit);
            (i, outcome)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, outcome)) = joined {
            outcomes[i] = Some(outcome);
        }
    }
}

/// A ticker at `rate` per second whose first (immediate) tick is already spent, on the
/// delivery sent alone; `None` for no limit.
async fn pacer(rate: Option<f64>) -> Option<tokio::time::Interval> {
    let rate = rate.filter(|r| r.is_finite() && *r > 0.0)?;
    // A silly-small rate would overflow a Duration; an hour apart is slow enough.
    let period = Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::from_secs(3600));
    let mut interval = tokio::time::interval(period.max(Duration::from_micros(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    Some(interval)
}

fn client(options: &SendOptions) -> Result<Client, SimulateError> {
    Client::builder()
        .user_agent(concat!("linq-inbox-simulate/", env!("CARGO_PKG_VERSION")))
        .timeout(options.timeout)
        .connect_timeout(options.timeout.min(Duration::from_secs(5)))
        .pool_max_idle_per_host(options.concurrency.max(1))
        .build()
        .map_err(|e| SimulateError::Client(root_cause(&e)))
}

/// How one delivery is signed. v2 signatures are computed before sending so HMAC time stays
/// out of the latency figures; v3 ones sign the send time, so they are made per attempt.
#[derive(Clone)]
enum Signing {
    V2(String),
    V3 {
        webhook_id: String,
        key: Arc<Vec<u8>>,
        legacy_key: Arc<Vec<u8>>,
    },
}

impl Signing {
    fn headers(&self, body: &[u8]) -> Vec<(&'static str, String)> {
        match self {
            Signing::V2(signature) => vec![("X-Webhook-Signature", signature.clone())],
            Signing::V3 {
                webhook_id,
                key,
                legacy_key,
            } => {
                let now = chrono::Utc::now().timestamp();
                vec![
                    ("webhook-id", webhook_id.clone()),
                    ("webhook-timestamp", now.to_string()),
                    (
                        "webhook-signature",
                        standard_webhooks::sign(key, webhook_id, now, body),
                    ),
                    ("X-Webhook-Timestamp", now.to_string()),
                    (
                        "X-Webhook-Signature",
                        standard_webhooks::sign_legacy(legacy_key, now, body),
                    ),
                ]
            }
        }
    }
}

/// Bodies as cheap-to-clone bytes (retries resend them) with how to sign them. A tampered
/// delivery is signed with a key the server cannot have.
fn sign_all(secret: &Secret, deliveries: &[Delivery], api: ApiVersion) -> Vec<(Bytes, Signing)> {
    let key = Arc::new(standard_webhooks::signing_key(secret));
    let legacy = Arc::new(secret.expose().to_vec());
    let wrong = |k: &[u8]| {
        let mut w = b"not-".to_vec();
        w.extend_from_slice(k);
        Arc::new(w)
    };
    deliveries
        .iter()
        .map(|d| {
            let signing = match api {
                ApiVersion::V2 => Signing::V2(d.signature(secret.expose())),
                ApiVersion::V3 => Signing::V3 {
                    webhook_id: format!("msg_{}", d.event_id),
                    key: if d.tamper {
                        wrong(key.as_slice())
                    } else {
                        key.clone()
                    },
                    legacy_key: if d.tamper {
                        wrong(legacy.as_slice())
                    } else {
                        legacy.clone()
                    },
                },
            };
            (Bytes::from(d.body.clone()), signing)
        })
        .collect()
}

/// A transport failure after retries, carried until it is either an error (first delivery)
/// or an `Outcome::Failed`.
struct NoAnswer {
    error: reqwest::Error,
    retries: u32,
}

fn settle(result: Result<Outcome, NoAnswer>) -> Outcome {
    result.unwrap_or_else(|e| Outcome::Failed {
        reason: root_cause(&e.error),
        retries: e.retries,
    })
}

/// One delivery, retried on 503 up to `max_retries` times, waiting as `Retry-After` says.
async fn post_one(post: &Post, body: Bytes, signing: Signing) -> Result<Outcome, NoAnswer> {
    let mut retries = 0;
    loop {
        let headers = signing.headers(&body);
        let started = Instant::now();
        let mut request = post
            .client
            .post(post.url.clone())
            .header(CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .body(body.clone())
            .send()
            .await
            .map_err(|error| NoAnswer { error, retries })?;
        let status = response.status();
        let wait = retry_after(response.headers());
        // Reading the body to the end lets the connection go back to the pool (keep-alive).
        let _ = response.bytes().await;
        let latency = started.elapsed();
        if status == StatusCode::SERVICE_UNAVAILABLE && retries < post.options.max_retries {
            let backoff = Duration::from_millis(250 << retries.min(6));
            tokio::time::sleep(wait.unwrap_or(backoff).min(post.options.max_retry_wait)).await;
            retries += 1;
            continue;
        }
        return Ok(Outcome::Answered {
            status: status.as_u16(),
            latency,
            retries,
        });
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Turns a failure to reach the server at all into the sentence the user needs.
fn unreachable_error(url: &Url, failure: &NoAnswer) -> SimulateError {
    let shown = display_url(url);
    if refused(&failure.error) {
        return SimulateError::NothingListening { url: shown };
    }
    let reason = if failure.error.is_timeout() {
        "no answer within the timeout".to_string()
    } else {
        root_cause(&failure.error)
    };
    SimulateError::Unreachable { url: shown, reason }
}

/// Whether the connection was actively refused: nothing listens on that port.
fn refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        source = e.source();
    }
    false
}

/// The innermost cause of an error: usually the one sentence that explains it.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(
            parse_url("http://127.0.0.1:8787/webhooks/linq").is_ok(),
            "a local http listener is a valid target"
        );
        assert!(
            parse_url("https://abc.ngrok.app/webhooks/linq").is_ok(),
            "an https tunnel is a valid target"
        );
        for bad in [
            "ftp://example.com/x",
            "127.0.0.1:8787",
            "not a url",
            "http://",
        ] {
            assert!(
                matches!(parse_url(bad), Err(SimulateError::BadUrl { .. })),
                "{bad} is refused with a reason"
            );
        }
    }

    #[test]
    fn credentials_never_show() {
        let url = parse_url("https://user:hunter2@tunnel.example/webhooks/linq").expect("valid");
        assert_eq!(
            display_url(&url),
            "https://tunnel.example/webhooks/linq",
            "a URL's credentials never show"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "2".parse().expect("header value"));
        assert_eq!(
            retry_after(&headers),
            Some(Duration::from_secs(2)),
            "Retry-After in seconds is honoured"
        );
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT"
                .parse()
                .expect("header value"),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        headers.insert(RETRY_AFTER, "soon".parse().expect("header value"));
        assert_eq!(
            retry_after(&headers),
            None,
            "an unreadable Retry-After is ignored"
        );
    }
}
