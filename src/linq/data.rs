//! A payload's `data` as the readers see it: either the text of a delivery (typed reads
//! deserialize straight from it, and a `serde_json::Value` is built only for a reader that
//! looks for fields by hand) or a value already in memory (a REST API record, a lifted shape).
//!
//! Most deliveries need only a typed read, so the listener and the projector build no tree for
//! them: building it, reading it and dropping it was a fifth of `serve`'s CPU at full rate
//! (docs/BENCHMARKS.md, "The envelope read from its text").

use std::cell::OnceCell;
use std::fmt;

use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::EventError;
use super::json::Key;
use super::value::Kind;

/// `data` for a reader: see the module's note.
pub struct Data<'a> {
    source: Source<'a>,
}

enum Source<'a> {
    /// JSON text already checked to be one value; its tree is built on first use.
    Text {
        text: &'a str,
        tree: OnceCell<Value>,
    },
    Value(&'a Value),
}

impl<'a> Data<'a> {
    /// `text` must be one JSON value, as a `RawValue` holds it.
    pub fn text(text: &'a str) -> Data<'a> {
        Data {
            source: Source::Text {
                text,
                tree: OnceCell::new(),
            },
        }
    }

    pub fn value(value: &'a Value) -> Data<'a> {
        Data {
            source: Source::Value(value),
        }
    }

    /// The tree, built from the text on first use. Text that does not parse (it cannot: it was
    /// one JSON value when it was taken) reads as null, which every reader refuses or ignores.
    pub fn tree(&self) -> &Value {
        match &self.source {
            Source::Value(value) => value,
            Source::Text { text, tree } => {
                tree.get_or_init(|| serde_json::from_str(text).unwrap_or(Value::Null))
            }
        }
    }

    /// What JSON type this is.
    pub fn kind(&self) -> Kind {
        match &self.source {
            Source::Value(value) => Kind::of(value),
            Source::Text { text, .. } => Kind::of_text(text),
        }
    }

    /// Whether this is an object whose `key` holds an object (the last `key`, as the tree
    /// reads it). Read from the text without building the tree.
    pub fn holds_object(&self, key: &str) -> bool {
        let held = |value: &Value| value.get(key).is_some_and(Value::is_object);
        match &self.source {
            Source::Value(value) => held(value),
            Source::Text { text, tree } => match tree.get() {
                Some(value) => held(value),
                None => serde_json::Deserializer::from_str(text)
                    .deserialize_map(FieldKind { key })
                    .is_ok_and(|kind| kind == Some(Kind::Object)),
            },
        }
    }

    /// `data` must be an object for a known event type.
    pub fn require_object(&self, event_type: &str) -> Result<(), EventError> {
        match self.kind() {
            Kind::Object => Ok(()),
            kind => Err(EventError::Data {
                event_type: event_type.to_string(),
                problem: format!("data must be an object, not {kind}"),
            }),
        }
    }

    /// Reads `T`, or says which field does not fit and why.
    pub fn typed<T: DeserializeOwned>(&self, event_type: &str) -> Result<T, EventError> {
        // Tracking the path costs about a third of the read; only a refusal needs it, so the
        // path is found by a second pass then.
        let found = match &self.source {
            Source::Value(value) => T::deserialize(*value).map_err(|_| ()),
            Source::Text { text, .. } => serde_json::from_str(text).map_err(|_| ()),
        };
        if let Ok(typed) = found {
            return Ok(typed);
        }
        let tracked = match &self.source {
            Source::Value(value) => serde_path_to_error::deserialize(*value),
            Source::Text { text, .. } => {
                serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
            }
        };
        tracked.map_err(|e: serde_path_to_error::Error<serde_json::Error>| {
            let path = e.path().to_string();
            let inner = sentence(&e.into_inner());
            let problem = if path == "." {
                inner
            } else {
                format!("{path}: {inner}")
            };
            EventError::Data {
                event_type: event_type.to_string(),
                problem,
            }
        })
    }
}

/// The kind of one field's value in an object's text (`None` when the object lacks it).
struct FieldKind<'k> {
    key: &'k str,
}

impl<'de> Visitor<'de> for FieldKind<'_> {
    type Value = Option<Kind>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kind = None;
        while let Some(Key(key)) = map.next_key()? {
            if key == self.key {
                let raw: &RawValue = map.next_value()?;
                kind = Some(Kind::of_text(raw.get()));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(kind)
    }
}

/// Reads `T` from JSON `text`; the refusal as [`sentence`] words it.
pub(crate) fn from_text<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| sentence(&e))
}

/// The error's sentence without serde_json's " at line L column C": a position in `data`'s own
/// text would point at the wrong place in the body, and a read from a tree has none.
pub(crate) fn sentence(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if e.line() == 0 {
        return text;
    }
    let position = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&position) {
        Some(bare) => bare.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Wire {
        #[allow(dead_code)]
        text: String,
    }

    #[test]
    fn text_and_tree_refuse_alike_without_positions() {
        let value = json!({"text": {"a": 1}});
        let text = value.to_string();
        let from_text = Data::text(&text).typed::<Wire>("message.received");
        let from_tree = Data::value(&value).typed::<Wire>("message.received");
        let Err(EventError::Data { problem, .. }) = &from_text else {
            panic!("an object is not a text: {from_text:?}");
        };
        assert_eq!(
            problem, "text: invalid type: map, expected a string",
            "the path and serde's words, no position in data's own text"
        );
        assert_eq!(
            from_text.map_err(|e| e.to_string()).err(),
            from_tree.map_err(|e| e.to_string()).err(),
            "the same sentence from the text and from the tree"
        );
    }

    #[test]
    fn the_kind_is_read_from_the_first_character() {
        for (value, kind) in [
            (json!({"a": [1]}), Kind::Object),
            (json!([{"a": 1}]), Kind::Array),
            (json!("{"), Kind::String),
            (json!(true), Kind::Boolean),
            (json!(false), Kind::Boolean),
            (json!(null), Kind::Null),
            (json!(-1.5), Kind::Number),
            (json!(7), Kind::Number),
        ] {
            let text = value.to_string();
            assert_eq!(Data::text(&text).kind(), kind, "{text}");
            assert_eq!(Data::value(&value).kind(), kind, "{text}");
        }
    }

    #[test]
    fn a_nested_object_is_found_in_the_text() {
        for (text, holds) in [
            (r#"{"message":{"id":"m"},"chat_id":"c"}"#, true),
            (r#"{"chat_id":"c","message":{}}"#, true),
            (r#"{"message":"hi"}"#, false),
            (r#"{"message":null}"#, false),
            (r#"{"text":{"message":{}}}"#, false),
            (r#"{"messages":{}}"#, false),
            (r#"{"\u006dessage":{}}"#, true),
            ("[1]", false),
            ("7", false),
        ] {
            assert_eq!(Data::text(text).holds_object("message"), holds, "{text}");
            let tree: Value = serde_json::from_str(text).expect("json");
            assert_eq!(
                Data::value(&tree).holds_object("message"),
                holds,
                "{text}: the tree agrees"
            );
        }
    }

    #[test]
    fn the_tree_is_built_from_the_text_on_demand() {
        let text = r#"{"handles":[{"handle":"+1"}],"n":12345678901234567890123}"#;
        let data = Data::text(text);
        assert_eq!(
            data.tree().to_string(),
            text,
            "the tree is the text's, every digit kept"
        );
    }
}
