//! The webhook envelope every delivery carries, whatever its dialect, and the dispatch to the
//! reader of the dialect it declares (`v2.rs`, `v3.rs`).
//!
//! Parsing is strict about types (a `text` that is an object is refused) and lenient about
//! presence (optional fields may be missing, unknown fields are ignored), because the vendor
//! documents shapes loosely but a wrongly typed field means the body is not what Linq sends.

use serde::Deserialize;
use serde_json::Value;

pub use super::error::EventError;
use super::model::{Envelope, Meta};
use super::value::{kind_of, Time};
use super::{fetched, outbox, v2, v3};

/// Which of Linq's webhook dialects a delivery speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    V2,
    V3,
}

impl Dialect {
    /// v3 when the envelope declares `api_version: "v3"`; everything else reads as v2.
    fn of(api_version: Option<&str>) -> Dialect {
        match api_version {
            Some(v) if v.eq_ignore_ascii_case("v3") => Dialect::V3,
            _ => Dialect::V2,
        }
    }
}

/// Parses a whole delivery body: JSON object, envelope fields, and the typed data for known
/// event types. `value` is the body already parsed once (signature checking needs it too).
pub fn parse_envelope(value: &Value) -> Result<Envelope, EventError> {
    let object = value.as_object().ok_or(EventError::NotObject)?;
    let event_type = match object.get("event_type") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.clone(),
        Some(Value::String(_)) => {
            return Err(envelope_err(
                "event_type",
                "must be a short non-empty string",
            ))
        }
        Some(other) => {
            return Err(envelope_err(
                "event_type",
                format!("must be a string, not {}", kind_of(other)),
            ))
        }
        None => return Err(envelope_err("event_type", "is missing")),
    };
    let event_id = match object.get("event_id") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.clone(),
        // Numbers keep every digit (arbitrary precision), so they need the same length limit.
        Some(Value::Number(n)) if n.to_string().len() <= 200 => n.to_string(),
        Some(Value::Number(_)) => {
            return Err(envelope_err("event_id", "must be at most 200 digits"))
        }
        Some(Value::String(_)) => {
            return Err(envelope_err("event_id", "must be a short non-empty string"))
        }
        Some(other) => {
            return Err(envelope_err(
                "event_id",
                format!("must be a string, not {}", kind_of(other)),
            ))
        }
        None => return Err(envelope_err("event_id", "is missing")),
    };
    let api_version = match object.get("api_version") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(envelope_err(
                "api_version",
                format!("must be a string, not {}", kind_of(other)),
            ))
        }
    };
    let optional_text = |field: &'static str| match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(envelope_err(
            field,
            format!("must be a string, not {}", kind_of(other)),
        )),
    };
    let webhook_version = optional_text("webhook_version")?;
    let trace_id = optional_text("trace_id")?;
    let partner_id = optional_text("partner_id")?;
    let created_at = match object.get("created_at") {
        None | Some(Value::Null) => None,
        Some(v) => {
            Some(Time::deserialize(v).map_err(|e| envelope_err("created_at", e.to_string()))?)
        }
    };
    let data = object.get("data").unwrap_or(&Value::Null);
    let local = fetched::read(&event_type, api_version.as_deref(), data)
        .or_else(|| outbox::read(&event_type, data));
    let fact = match local {
        Some(fact) => fact?,
        None => match Dialect::of(api_version.as_deref()) {
            Dialect::V3 => v3::read(&event_type, data)?,
            Dialect::V2 => v2::read(&event_type, data)?,
        },
    };
    Ok(Envelope {
        event_id,
        event_type,
        created_at,
        meta: Meta {
            api_version,
            webhook_version,
            trace_id,
            partner_id,
        },
        fact,
    })
}

fn envelope_err(field: &'static str, problem: impl Into<String>) -> EventError {
    EventError::Envelope {
        field,
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linq::Fact;
    use serde_json::json;

    #[test]
    fn unknown_types_are_kept_without_data_checks() {
        let env = parse_envelope(&json!({"event_type": "poll.created", "event_id": 7, "data": 5}))
            .expect("unknown type is accepted");
        assert!(
            matches!(env.fact, Fact::Unknown),
            "an unknown type is kept raw"
        );
        assert_eq!(env.event_id, "7", "numeric event ids become text");
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let err = parse_envelope(&json!({
            "event_type": "message.received", "event_id": "e1",
            "data": {"id": "1", "chat_id": "2", "text": {"x": 1}}
        }))
        .expect_err("an object is not text");
        let text = err.to_string();
        assert!(text.contains("text"), "the error names the field: {text}");
    }

    #[test]
    fn envelope_fields_are_required() {
        assert_eq!(
            parse_envelope(&json!({"event_id": "x"}))
                .expect_err("no type")
                .to_string(),
            "envelope field event_type is missing",
            "a missing type is named"
        );
        assert!(
            parse_envelope(&json!({"event_type": "message.read"})).is_err(),
            "an envelope needs an event id"
        );
        assert_eq!(
            parse_envelope(&json!([1])).expect_err("array"),
            EventError::NotObject,
            "an array is no envelope"
        );
    }

    #[test]
    fn the_declared_version_chooses_the_reader() {
        let data = json!({"id": "m1", "chat_id": "c1", "parts": [{"type": "text", "value": "hi"}]});
        let v3 = parse_envelope(
            &json!({"api_version": "V3", "event_type": "message.received",
                                        "event_id": "e", "data": data.clone()}),
        )
        .expect("v3 parses");
        let Fact::Message(m) = v3.fact else {
            panic!("a v3 received message is a message")
        };
        assert_eq!(m.text().as_deref(), Some("hi"), "v3 reads text from parts");
        let v2 = parse_envelope(
            &json!({"event_type": "message.received", "event_id": "e", "data": data}),
        )
        .expect("v2 parses");
        let Fact::Message(m) = v2.fact else {
            panic!("a v2 received message is a message")
        };
        assert_eq!(m.text(), None, "v2 has no parts, so no text");
    }
}
