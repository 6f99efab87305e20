//! The one way this app calls Linq's REST API: the base URL, the auth header of the account's
//! API version (v3 `Authorization: Bearer`, v2 `X-LINQ-INTEGRATION-TOKEN`), pacing, retries that
//! honour `429 Retry-After`, and every failure as one sentence ([`LinqApiError`]).
//!
//! Each feature keeps its own calls in a module of its own on top of [`Rest`] (`client.rs`: the
//! webhook subscriptions; `listing.rs`: chats and messages for the catch-up pass); sending the
//! outbox and v3 subscriptions add theirs the same way.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::{describe_transport, for_status, LinqApiError};
use super::Token;
use crate::config::linq::ApiVersion;

/// How often, and how long, a failed call is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The longest `Retry-After` waited for; a longer one ends the call with the rate limit.
    pub max_wait: Duration,
    /// The wait before the second try after a 5xx or a network failure; doubled each time.
    pub backoff: Duration,
}

impl Retry {
    /// One try: for calls that change something at Linq without an idempotency key.
    pub const ONCE: Retry = Retry {
        attempts: 1,
        max_wait: Duration::ZERO,
        backoff: Duration::ZERO,
    };
    /// Reads: safe to repeat, so 429, 5xx and network failures are tried again.
    pub const READS: Retry = Retry {
        attempts: 6,
        max_wait: Duration::from_secs(120),
        backoff: Duration::from_millis(500),
    };
}

/// Spaces calls at least `interval` apart, across every caller of one [`Rest`]; a `429` holds
/// them all until its `Retry-After` has passed.
#[derive(Debug)]
struct Pace {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pace {
    async fn wait(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = Instant::now().max(*next) + self.interval;
    }

    async fn hold_until(&self, until: Instant) {
        let mut next = self.next.lock().await;
        *next = (*next).max(until);
    }
}

/// A client of Linq's REST API for one token, base and API version.
#[derive(Debug)]
pub struct Rest {
    http: reqwest::Client,
    base: String,
    token: Token,
    version: ApiVersion,
    timeout: Duration,
    pace: Pace,
    retry: Retry,
}

/// What a call sends: JSON (v3, and v2's other calls), or a form of text fields (v2's send).
#[derive(Clone, Copy)]
enum Body<'a> {
    Json(&'a Value),
    Multipart(&'a [(&'a str, String)]),
    /// A form with files (v2's send with attachments).
    MultipartFiles(&'a [(&'a str, String)], &'a [FilePart]),
}

/// A file in a `multipart/form-data` body: the field name, the file's name, type and bytes.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub field: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Rest {
    /// `base` is already validated (`crate::config::linq::validate_api_base`). Unpaced, one
    /// try per call until [`Rest::paced`] and [`Rest::retrying`] say otherwise.
    pub fn new(
        base: &str,
        token: Token,
        version: ApiVersion,
        timeout: Duration,
    ) -> Result<Rest, LinqApiError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("linq-inbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LinqApiError::Unreachable {
                base: base.to_string(),
                reason: format!("the HTTP client could not start ({e})"),
            })?;
        Ok(Rest {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            version,
            timeout,
            pace: Pace {
                interval: Duration::ZERO,
                next: Mutex::new(Instant::now()),
            },
            retry: Retry::ONCE,
        })
    }

    /// At most `per_second` calls a second (0: unpaced).
    pub fn paced(mut self, per_second: f64) -> Rest {
        self.pace.interval = if per_second > 0.0 {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::ZERO
        };
        self
    }

    pub fn retrying(mut self, retry: Retry) -> Rest {
        self.retry = retry;
        self
    }

    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// The path of `tail` under the partner API of this client's version:
    /// `/api/partner/v3/chats`.
    pub fn partner_path(&self, tail: &str) -> String {
        format!(
            "/api/partner/{}/{}",
            self.version.as_str(),
            tail.trim_start_matches('/')
        )
    }

    /// `GET path?query`, the JSON answer.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, LinqApiError> {
        self.request(Method::GET, path, query, None).await
    }

    /// `POST path` with a JSON body, the JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, LinqApiError> {
        self.request(Method::POST, path, &[], Some(body)).await
    }

    /// `POST path` with a `multipart/form-data` body of text `fields` (v2's send), the JSON
    /// answer.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, String)],
    ) -> Result<Value, LinqApiError> {
        self.call(Method::POST, path, &[], Some(Body::Multipart(fields)))
            .await
    }

    /// `POST path` with a `multipart/form-data` body of text `fields` and `files`, the JSON
    /// answer.
    pub async fn post_multipart_files(
        &self,
        path: &str,
        fields: &[(&str, String)],
        files: &[FilePart],
    ) -> Result<Value, LinqApiError> {
        self.call(
            Method::POST,
            path,
            &[],
            Some(Body::MultipartFiles(fields, files)),
        )
        .await
    }

    /// The HTTP client and its timeout, for a call outside the partner API (an upload URL).
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A transport failure as a sentence.
    pub(super) fn transport_error(&self, e: reqwest::Error) -> LinqApiError {
        self.transport(e)
    }

    /// One call about webhook subscriptions (v2's and v3's alike); a 404 naming subscription
    /// `id` says it no longer exists.
    pub async fn subscription_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        id: Option<&str>,
    ) -> Result<Value, LinqApiError> {
        self.request(method, path, &[], body.as_ref())
            .await
            .map_err(|e| match (e, id) {
                (LinqApiError::Unexpected { status: 404, .. }, Some(id)) => {
                    LinqApiError::NoSuchSubscription { id: id.to_string() }
                }
                (e, _) => e,
            })
    }

    /// One call, tried again as [`Retry`] allows. A success without a body is `Null`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, LinqApiError> {
        self.call(method, path, query, body.map(Body::Json)).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Body<'_>>,
    ) -> Result<Value, LinqApiError> {
        let mut attempt = 1;
        loop {
            self.pace.wait().await;
            let error = match self.once(method.clone(), path, query, body).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let Some(wait) = self.wait_before_retry(&error, attempt) else {
                return Err(error);
            };
            tracing::debug!(%error, ?wait, attempt, "Linq call failed; trying again");
            self.pace.hold_until(Instant::now() + wait).await;
            attempt += 1;
        }
    }

    /// How long to wait before trying `error`'s call again, or `None` to give up.
    fn wait_before_retry(&self, error: &LinqApiError, attempt: u32) -> Option<Duration> {
        if attempt >= self.retry.attempts {
            return None;
        }
        match error {
            LinqApiError::RateLimited { retry_after } => {
                let wait = Duration::from_secs(*retry_after);
                (wait <= self.retry.max_wait).then_some(wait)
            }
            LinqApiError::Server { .. }
            | LinqApiError::Timeout { .. }
            | LinqApiError::Unreachable { .. } => {
                Some(self.retry.backoff.saturating_mul(1 << (attempt - 1).min(6)))
            }
            _ => None,
        }
    }

    async fn once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Body<'_>>,
    ) -> Result<Value, LinqApiError> {
        let url = format!("{}{}", self.base, path);
        let mut request = self
            .http
            .request(method, &url)
            .query(query)
            .header(reqwest::header::ACCEPT, "application/json");
        request = match self.version {
            ApiVersion::V3 => request.bearer_auth(self.token.expose()),
            ApiVersion::V2 => request.header("X-LINQ-INTEGRATION-TOKEN", self.token.expose()),
        };
        request = match body {
            Some(Body::Json(body)) => request.json(body),
            // A form is consumed by its request: built afresh for every try.
            Some(Body::Multipart(fields)) => {
                let form = fields
                    .iter()
                    .fold(reqwest::multipart::Form::new(), |form, (name, value)| {
                        form.text(name.to_string(), value.clone())
                    });
                request.multipart(form)
            }
            Some(Body::MultipartFiles(fields, files)) => {
                let form = fields
                    .iter()
                    .fold(reqwest::multipart::Form::new(), |form, (name, value)| {
                        form.text(name.to_string(), value.clone())
                    });
                let form = files.iter().try_fold(form, |form, f| {
                    reqwest::multipart::Part::bytes(f.bytes.clone())
                        .file_name(f.filename.clone())
                        .mime_str(&f.content_type)
                        .map(|part| form.part(f.field.clone(), part))
                        .map_err(|e| LinqApiError::Rejected {
                            message: format!("the file {:?} cannot be sent ({e})", f.filename),
                        })
                })?;
                request.multipart(form)
            }
            None => request,
        };
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
        let text = response.text().await.map_err(|e| self.transport(e))?;
        if !status.is_success() {
            return Err(for_status(status.as_u16(), &text, retry_after));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| LinqApiError::BadAnswer {
            reason: format!("it is not JSON ({e})"),
        })
    }

    fn transport(&self, e: reqwest::Error) -> LinqApiError {
        if e.is_timeout() {
            return LinqApiError::Timeout {
                seconds: self.timeout.as_secs().max(1),
            };
        }
        LinqApiError::Unreachable {
            base: self.base.clone(),
            reason: describe_transport(&e),
        }
    }
}

/// `{collection}/{id}` for a subscription id Linq gave; refused when the id could leave its
/// path segment.
pub fn subscription_path(collection: &str, id: &str) -> Result<String, LinqApiError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(LinqApiError::BadId(id.chars().take(64).collect()));
    }
    Ok(format!("{collection}/{id}"))
}
