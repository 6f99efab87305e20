//! Why a body is not what Linq sends. The readers' helpers that say so (a typed read naming
//! the path of a wrongly typed field, the check that `data` is an object) are on `data::Data`.

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
