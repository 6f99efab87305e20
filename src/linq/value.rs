//! Tolerant field types for the vendor's payloads: ids that arrive as strings or numbers,
//! timestamps in either of Linq's forms, counts that arrive as numbers or numeric strings.
//! Each goes through `serde_json::Value` so they work with arbitrary-precision numbers.

use serde::de::{Deserializer, Error};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::time::{self, Stamp};

/// An identifier, stored as text whatever JSON type carried it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Id(pub String);

impl Id {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if !s.is_empty() => Ok(Id(s)),
            Value::String(_) => Err(D::Error::custom("an id must not be empty")),
            Value::Number(n) => Ok(Id(n.to_string())),
            other => Err(D::Error::custom(format!(
                "expected an id (string or number), found {}",
                kind_of(&other)
            ))),
        }
    }
}

/// A timestamp in either Linq form, with its original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Time(pub Stamp);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => time::parse(&s)
                .map(Time)
                .ok_or_else(|| D::Error::custom(format!("{s:?} is not a timestamp"))),
            other => Err(D::Error::custom(format!(
                "expected a timestamp string, found {}",
                kind_of(&other)
            ))),
        }
    }
}

/// A whole number (seconds, counts), as a JSON number or a numeric string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let parsed = match &value {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.round() as i64)
            }),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f.round() as i64),
            _ => None,
        };
        parsed.map(Int).ok_or_else(|| {
            D::Error::custom(format!("expected a number, found {}", kind_of(&value)))
        })
    }
}

/// For a field holding a nested object: serde's derived structs also accept a JSON array
/// (fields by position), so `"recording_data": [1]` would pass as a recording. Only an object
/// (or null, or nothing) is one.
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v @ Value::Object(_) => serde_json::from_value(v)
            .map(Some)
            .map_err(D::Error::custom),
        other => Err(D::Error::custom(format!(
            "expected an object, found {}",
            kind_of(&other)
        ))),
    }
}

/// For a field holding a list of objects: each element must be an object (see [`object`]).
pub fn objects<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                v @ Value::Object(_) => serde_json::from_value(v).map_err(D::Error::custom),
                other => Err(D::Error::custom(format!(
                    "expected a list of objects, found {} in it",
                    kind_of(&other)
                ))),
            })
            .collect::<Result<Vec<T>, _>>()
            .map(Some),
        other => Err(D::Error::custom(format!(
            "expected a list, found {}",
            kind_of(&other)
        ))),
    }
}

/// Names a JSON value's type for error messages, never its content.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads an id-like field (string or number) from a loosely shaped object.
pub fn id_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_strings_and_numbers_of_any_size() {
        let ids: Vec<Id> = serde_json::from_str(r#"["abc", 123, 123456789012345678901234567890]"#)
            .expect("ids parse");
        assert_eq!(ids[0].as_str(), "abc", "a string id is kept");
        assert_eq!(ids[1].as_str(), "123", "a numeric id becomes text");
        assert_eq!(
            ids[2].as_str(),
            "123456789012345678901234567890",
            "ids beyond 64 bits keep every digit"
        );
    }

    #[test]
    fn ids_refuse_other_types() {
        for bad in ["true", "{}", "[]", "\"\""] {
            assert!(
                serde_json::from_str::<Id>(bad).is_err(),
                "{bad} is not an id"
            );
        }
    }

    /// Regression (hostile corpus): serde's derived structs took a JSON array as fields by
    /// position, so `"recording_data": [1]` was stored as a recording with id 1.
    #[test]
    fn nested_objects_given_as_arrays_are_refused() {
        use serde_json::json;
        for (event_type, data) in [
            ("call.completed", json!({"id": "c", "recording_data": [1]})),
            ("contact.created", json!({"id": 1, "contact_owner": ["x"]})),
            (
                "reaction.received",
                json!({"id": "r", "reaction": "like", "chat_message_id": "m", "associated_message": [1]}),
            ),
            (
                "reaction.received",
                json!({"id": "r", "reaction": "like", "chat_message_id": "m", "chat_handle": ["+1"]}),
            ),
            (
                "message.received",
                json!({"id": "m", "chat_id": "c", "chat_handles": [["+1"]]}),
            ),
            (
                "message.received",
                json!({"id": "m", "chat_id": "c", "attachments": [["a", "u"]]}),
            ),
        ] {
            let body = json!({"event_type": event_type, "event_id": "e", "data": data});
            assert!(
                crate::linq::parse_envelope(&body).is_err(),
                "{body} must be refused"
            );
        }
        let ok = json!({"event_type": "call.completed", "event_id": "e",
                        "data": {"id": "c", "recording_data": {"id": 1}}});
        assert!(
            crate::linq::parse_envelope(&ok).is_ok(),
            "an object still parses"
        );
    }

    #[test]
    fn ints_accept_numbers_and_numeric_strings() {
        let n: Vec<Int> = serde_json::from_str(r#"[330, "40", 12.6]"#).expect("ints parse");
        assert_eq!(
            n,
            vec![Int(330), Int(40), Int(13)],
            "numbers and numeric strings are ints, fractions rounded"
        );
        assert!(
            serde_json::from_str::<Int>("\"soon\"").is_err(),
            "a non-numeric string is not an int"
        );
    }
}
