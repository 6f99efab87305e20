//! Why a body is not what Linq sends, and the helpers every reader uses to say so: a typed read
//! that names the path of a wrongly typed field, and the check that `data` is an object.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::value::kind_of;

/// Why a body is not a usable Linq envelope. The text is one sentence for the sender.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("envelope field {field} {problem}")]
    Envelope {
        field: &'static str,
        problem: String,
    },
    #[error("data does not fit {event_type}: {problem}")]
    Data { event_type: String, problem: String },
}

pub(crate) fn typed<T: DeserializeOwned>(event_type: &str, data: &Value) -> Result<T, EventError> {
    // Tracking the path costs about a third of the parse; only a refusal needs it, so the
    // path is found by a second pass then.
    if let Ok(typed) = T::deserialize(data) {
        return Ok(typed);
    }
    serde_path_to_error::deserialize(data).map_err(
        |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let problem = if path == "." {
                inner
            } else {
                format!("{path}: {inner}")
            };
            EventError::Data {
                event_type: event_type.to_string(),
                problem,
            }
        },
    )
}

/// `data` must be an object for a known event type.
pub(crate) fn require_object(event_type: &str, data: &Value) -> Result<(), EventError> {
    if data.is_object() {
        return Ok(());
    }
    Err(EventError::Data {
        event_type: event_type.to_string(),
        problem: format!("data must be an object, not {}", kind_of(data)),
    })
}
