//! One meaning per body: an object that repeats a key is refused. Readers disagree on which
//! copy wins (serde_json and JavaScript keep the last, others the first), so a body with a
//! repeated key could be verified, stored and shown as different events. Linq never sends one.
//!
//! The check rides on the one parse every body gets: the value is built here, and an object's
//! key is looked up as it is inserted. A separate pass over the bytes cost about as much again
//! as building the value (docs/BENCHMARKS.md, "One parse for the body").

use std::fmt;
use std::str::FromStr;

use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// Why a text is not one JSON value with unique keys; the text is one sentence.
#[derive(Debug, thiserror::Error)]
pub enum Unparsed {
    /// Not JSON: the parser's sentence, with where it stopped.
    #[error("body is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// JSON, but without one meaning: an object repeats a key (compared after unescaping, so
    /// `"a"` and `"\u0061"` are the same key). One sentence naming the key and where.
    #[error("{0}")]
    Unusable(String),
}

/// Parses `raw` into a value, refusing an object anywhere in it that repeats a key.
pub fn parse_unique(raw: &[u8]) -> Result<Value, Unparsed> {
    match serde_json::from_slice::<Unique>(raw) {
        Ok(Unique(value)) => Ok(value),
        // Syntax and end-of-input errors are the parser's; a data error is this visitor's.
        Err(e) if e.classify() == serde_json::error::Category::Data => Err(Unparsed::Unusable(
            format!("body is not a usable JSON envelope: {e}"),
        )),
        Err(e) => Err(Unparsed::NotJson(e)),
    }
}

/// A JSON value whose objects each name a key once.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

/// How serde_json (with `arbitrary_precision`) hands a number to a visitor: as a one-entry map
/// under this key, holding the number's text. serde_json's own `Value` reads it the same way.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E: Error>(self, n: f64) -> Result<Value, E> {
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E: Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.is_empty() && key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return Number::from_str(&text)
                    .map(Value::Number)
                    .map_err(A::Error::custom);
            }
            match object.entry(key) {
                // Refused before its value is read, so the error points at the repeated key.
                Entry::Occupied(entry) => {
                    return Err(A::Error::custom(format!(
                        "the key {:?} appears twice in one object",
                        entry.key()
                    )))
                }
                Entry::Vacant(entry) => {
                    entry.insert(map.next_value::<Unique>()?.0);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The sentence a text is refused with (a test helper: panics on a text that parses).
    fn refusal(text: &str) -> String {
        match parse_unique(text.as_bytes()) {
            Ok(v) => panic!("{text} parsed as {v}"),
            Err(Unparsed::Unusable(sentence)) => sentence,
            Err(Unparsed::NotJson(e)) => panic!("{text} is valid JSON, yet: {e}"),
        }
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        for body in [
            r#"{"event_id":"a","event_id":"b"}"#,
            r#"{"data":{"text":"x","text":"y"}}"#,
            r#"{"data":{"handles":[{"h":1},{"h":1,"h":2}]}}"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            let err = refusal(body);
            assert!(err.contains("appears twice"), "{body}: {err}");
        }
    }

    #[test]
    fn a_repeat_is_found_in_objects_of_every_size() {
        for n in 1..=40 {
            let keys: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
            let unique = format!("{{{}}}", keys.join(","));
            assert!(parse_unique(unique.as_bytes()).is_ok(), "{unique}");
            for j in 0..n {
                let body = format!("{{{},\"k{j}\":0}}", keys.join(","));
                let err = refusal(&body);
                assert!(err.contains(&format!("\"k{j}\"")), "{body}: {err}");
            }
        }
    }

    #[test]
    fn the_refusal_points_at_the_repeated_key_before_its_value() {
        let body = r#"{"a":1,"a":[1,2,3,4,5,6,7,8,9]}"#;
        assert_eq!(
            refusal(body),
            "body is not a usable JSON envelope: the key \"a\" appears twice in one object \
             at line 1 column 10",
            "the sentence names the key and where it was repeated"
        );
    }

    #[test]
    fn text_that_is_not_json_is_told_apart() {
        for text in ["", "{", "{\"a\":}", "[1,]", "{} {}", "nul", "\"\\x\""] {
            let Err(Unparsed::NotJson(e)) = parse_unique(text.as_bytes()) else {
                panic!("{text:?} is not JSON");
            };
            let theirs = serde_json::from_str::<Value>(text).expect_err("serde_json refuses it");
            assert_eq!(
                e.to_string(),
                theirs.to_string(),
                "{text:?}: the same sentence"
            );
        }
    }

    #[test]
    fn ordinary_bodies_read_as_serde_json_reads_them() {
        for body in [
            r#"{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}],"n":123456789012345678901234567890,"f":1.5e3}"#,
            r#"{"neg":-0,"exp":1E-400,"big":-98765432109876543210.000001,"esc":"\u00e9\n\ud83d\ude00"}"#,
            "[]",
            "{}",
            "null",
            "true",
            r#""text""#,
            " [ 1 , [ [ ] ] , { \"x\" : null } ] ",
        ] {
            let ours = parse_unique(body.as_bytes()).expect(body);
            let theirs: Value = serde_json::from_str(body).expect(body);
            assert_eq!(ours, theirs, "{body}");
            assert_eq!(
                ours.to_string(),
                theirs.to_string(),
                "{body}: every digit kept"
            );
        }
    }

    /// Any JSON value: nested arrays and objects of strings (with escapes), numbers and literals.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("\\PC{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_reads_back_as_serde_json_reads_it(value in any_json()) {
            let text = value.to_string();
            let ours = parse_unique(text.as_bytes()).map_err(|e| format!("{e:?}"));
            let theirs: Value = serde_json::from_str(&text).expect("serde_json reads its own text");
            prop_assert_eq!(ours, Ok(theirs), "the value is serde_json's for {}", text);
        }
    }
}
