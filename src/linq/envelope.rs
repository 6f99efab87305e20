//! The webhook envelope every delivery carries, whatever its dialect, and the dispatch to the
//! reader of the dialect it declares (`v2.rs`, `v3.rs`).
//!
//! Parsing is strict about types (a `text` that is an object is refused) and lenient about
//! presence (optional fields may be missing, unknown fields are ignored), because the vendor
//! documents shapes loosely but a wrongly typed field means the body is not what Linq sends.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::data::{from_text, Data};
pub use super::error::EventError;
use super::model::{Envelope, Meta};
use super::value::{Kind, Time};
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

/// The envelope's fields as their text; every other field is skipped unread. A field that is
/// `null` is kept as the text `null` (not as absent), so its refusal can say so.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    event_type: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    event_id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    api_version: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    webhook_version: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    trace_id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    partner_id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    created_at: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Parses a whole delivery body from its text: JSON object, envelope fields, and the typed
/// data for known event types. Whether an object repeats a key is `json::check_unique`'s to
/// say, before this (a body in the log has passed it).
pub fn parse_envelope(text: &str) -> Result<Envelope, EventError> {
    // serde's derived structs also take an array (fields by position): only an object is one.
    if Kind::of_text(text) != Kind::Object {
        return match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => Err(EventError::NotObject),
            Err(e) => Err(EventError::NotJson(e.to_string())),
        };
    }
    let fields: Fields =
        serde_json::from_str(text).map_err(|e| EventError::NotJson(e.to_string()))?;
    let event_type = match fields.event_type.map(text_of) {
        Some(Ok(s)) if !s.trim().is_empty() && s.len() <= 200 => s,
        Some(Ok(_)) => {
            return Err(envelope_err(
                "event_type",
                "must be a short non-empty string",
            ))
        }
        Some(Err(kind)) => {
            return Err(envelope_err(
                "event_type",
                format!("must be a string, not {kind}"),
            ))
        }
        None => return Err(envelope_err("event_type", "is missing")),
    };
    let event_id = match fields.event_id {
        // Numbers keep every digit as written, so they need the same length limit.
        Some(raw) if Kind::of_text(raw.get()) == Kind::Number => {
            let digits = raw.get().trim();
            if digits.len() > 200 {
                return Err(envelope_err("event_id", "must be at most 200 digits"));
            }
            digits.to_string()
        }
        Some(raw) => match text_of(raw) {
            Ok(s) if !s.trim().is_empty() && s.len() <= 200 => s,
            Ok(_) => return Err(envelope_err("event_id", "must be a short non-empty string")),
            Err(kind) => {
                return Err(envelope_err(
                    "event_id",
                    format!("must be a string, not {kind}"),
                ))
            }
        },
        None => return Err(envelope_err("event_id", "is missing")),
    };
    let api_version = optional_text("api_version", fields.api_version)?;
    let webhook_version = optional_text("webhook_version", fields.webhook_version)?;
    let trace_id = optional_text("trace_id", fields.trace_id)?;
    let partner_id = optional_text("partner_id", fields.partner_id)?;
    let created_at = match fields.created_at.map(RawValue::get) {
        None | Some("null") => None,
        Some(raw) => {
            Some(from_text::<Time>(raw).map_err(|problem| envelope_err("created_at", problem))?)
        }
    };
    let data = Data::text(fields.data.map_or("null", RawValue::get));
    let local = fetched::read(&event_type, api_version.as_deref(), &data)
        .or_else(|| outbox::read(&event_type, &data));
    let fact = match local {
        Some(fact) => fact?,
        None => match Dialect::of(api_version.as_deref()) {
            Dialect::V3 => v3::read(&event_type, &data)?,
            Dialect::V2 => v2::read(&event_type, &data)?,
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

/// A string field's text, unescaped; the JSON type it has instead.
fn text_of(raw: &RawValue) -> Result<String, Kind> {
    match Kind::of_text(raw.get()) {
        Kind::String => from_text(raw.get()).map_err(|_| Kind::String),
        kind => Err(kind),
    }
}

/// An optional string field: absent or null is `None`.
fn optional_text(
    field: &'static str,
    raw: Option<&RawValue>,
) -> Result<Option<String>, EventError> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(None),
        Some(raw) => text_of(raw)
            .map(Some)
            .map_err(|kind| envelope_err(field, format!("must be a string, not {kind}"))),
    }
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
        let env = parse_envelope(
            &json!({"event_type": "poll.created", "event_id": 7, "data": 5}).to_string(),
        )
        .expect("unknown type is accepted");
        assert!(
            matches!(env.fact, Fact::Unknown),
            "an unknown type is kept raw"
        );
        assert_eq!(env.event_id, "7", "numeric event ids become text");
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let err = parse_envelope(
            &json!({
                "event_type": "message.received", "event_id": "e1",
                "data": {"id": "1", "chat_id": "2", "text": {"x": 1}}
            })
            .to_string(),
        )
        .expect_err("an object is not text");
        let text = err.to_string();
        assert!(text.contains("text"), "the error names the field: {text}");
    }

    #[test]
    fn envelope_fields_are_required() {
        assert_eq!(
            parse_envelope(&json!({"event_id": "x"}).to_string())
                .expect_err("no type")
                .to_string(),
            "envelope field event_type is missing",
            "a missing type is named"
        );
        assert!(
            parse_envelope(&json!({"event_type": "message.read"}).to_string()).is_err(),
            "an envelope needs an event id"
        );
        assert_eq!(
            parse_envelope(&json!([1]).to_string()).expect_err("array"),
            EventError::NotObject,
            "an array is no envelope"
        );
    }

    #[test]
    fn the_declared_version_chooses_the_reader() {
        let data = json!({"id": "m1", "chat_id": "c1", "parts": [{"type": "text", "value": "hi"}]});
        let v3 = parse_envelope(
            &json!({"api_version": "V3", "event_type": "message.received",
                                        "event_id": "e", "data": data.clone()})
            .to_string(),
        )
        .expect("v3 parses");
        let Fact::Message(m) = v3.fact else {
            panic!("a v3 received message is a message")
        };
        assert_eq!(m.text().as_deref(), Some("hi"), "v3 reads text from parts");
        let v2 = parse_envelope(
            &json!({"event_type": "message.received", "event_id": "e", "data": data}).to_string(),
        )
        .expect("v2 parses");
        let Fact::Message(m) = v2.fact else {
            panic!("a v2 received message is a message")
        };
        assert_eq!(m.text(), None, "v2 has no parts, so no text");
    }
}
