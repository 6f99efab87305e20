//! The UI API's one error type: a status and one sentence for the caller; the detail goes to
//! the app's log, never to the caller (no database text, no secrets).
//!
//! Failures are classified by whose they are. The request's own (a bad limit, an invalid
//! setting) answer 4xx. The machine's state (a full disk, a full writer queue, shutting down)
//! answers 503 with `Retry-After`, exactly as the webhook listener does for Linq, so the UI
//! can retry instead of showing a refusal. Anything else is 500.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::ingest::WriteError;
use crate::store::StoreError;

/// Seconds a 503 asks the caller to wait: the same as the webhook listener's `Retry-After`.
pub const RETRY_AFTER_SECS: &str = "5";

/// An API failure: the status and one sentence. `503` answers carry `Retry-After`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// The machine cannot take the write now; the caller may retry after `Retry-After`.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// A failure that is nobody's fault the caller can fix: logged, answered 500.
    pub fn internal(detail: &dyn std::fmt::Display, message: &str) -> ApiError {
        tracing::error!(error = %detail, "{message}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The sentence the caller would read (the desktop shell logs it when a notification's action
/// fails).
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status.as_u16())
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({"error": self.message}))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Invalid(m) => ApiError::bad_request(m),
            disk if disk.is_disk() => {
                tracing::error!(error = %disk, "UI API: the disk failed");
                ApiError::unavailable(
                    "the disk could not be used (it may be full); free some space and try again",
                )
            }
            other => ApiError::internal(&other, "the database could not answer; see the app's log"),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> ApiError {
        match e {
            WriteError::QueueFull | WriteError::Closed => ApiError::unavailable(e.to_string()),
            // The writer's sentence ("the disk is full; free some space ..."); the banner is up.
            WriteError::Disk(_) => ApiError::unavailable(format!("the change was not saved: {e}")),
            WriteError::Commit(_) => {
                ApiError::internal(&e, "the change could not be saved; see the app's log")
            }
            WriteError::Task(store) => ApiError::from(store),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(e: impl Into<ApiError>) -> (StatusCode, Option<String>, String) {
        let response = e.into().into_response();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let status = response.status();
        let body = futures_util::FutureExt::now_or_never(axum::body::to_bytes(
            response.into_body(),
            1 << 16,
        ))
        .and_then(Result::ok)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
        (status, retry, body)
    }

    #[test]
    fn a_busy_or_failing_machine_is_503_with_retry_after() {
        for e in [
            WriteError::QueueFull,
            WriteError::Closed,
            WriteError::Disk("the disk is full; free some space".into()),
        ] {
            let what = format!("{e:?}");
            let (status, retry, _) = answer(e);
            assert_eq!(
                status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{what} is the machine's state, not the request's fault"
            );
            assert_eq!(
                retry.as_deref(),
                Some("5"),
                "{what} tells the caller when to retry, as the webhook listener does"
            );
        }
    }

    #[test]
    fn a_disk_error_from_sqlite_is_503_without_database_text() {
        let full = StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        ));
        let (status, retry, body) = answer(WriteError::Task(full));
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "a full disk is not the request's fault"
        );
        assert_eq!(retry.as_deref(), Some("5"), "the caller may retry");
        assert!(
            !body.contains("database or disk"),
            "SQLite's text stays in the log: {body}"
        );
    }

    #[test]
    fn the_request_s_own_fault_stays_4xx() {
        let (status, retry, body) =
            answer(WriteError::Task(StoreError::Invalid("bad setting".into())));
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "an invalid change is the caller's to fix"
        );
        assert_eq!(retry, None, "retrying the same invalid change cannot help");
        assert!(
            body.contains("bad setting"),
            "the sentence reaches the caller: {body}"
        );
    }
}
