//! One meaning per body: an object that repeats a key is refused. Readers disagree on which
//! copy wins (serde_json and JavaScript keep the last, others the first), so a body with a
//! repeated key could be verified, stored and shown as different events. Linq never sends one.
//!
//! The check is one pass over the text that builds nothing: keys are borrowed from the body
//! (copied only when they hold an escape) and every other token is skipped. The envelope is
//! then read from the text itself (`envelope.rs`), so no body is ever built as a tree just to
//! be checked (docs/BENCHMARKS.md, "The envelope read from its text").

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};

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

/// Checks that `text` is one JSON value in which no object repeats a key. It takes text, not
/// bytes: the caller validates UTF-8 once for the whole body, where a byte reader would again
/// for every string.
pub fn check_unique(text: &str) -> Result<(), Unparsed> {
    match serde_json::from_str::<Checked>(text) {
        Ok(Checked) => Ok(()),
        // Syntax and end-of-input errors are the parser's; a data error is this visitor's.
        Err(e) if e.classify() == serde_json::error::Category::Data => Err(Unparsed::Unusable(
            format!("body is not a usable JSON envelope: {e}"),
        )),
        Err(e) => Err(Unparsed::NotJson(e)),
    }
}

/// An object's key as written, unescaped: borrowed from the text unless it holds an escape.
pub(crate) struct Key<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: Error>(self, s: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(s)))
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: Error>(self, s: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(s)))
    }
}

/// Checks one JSON value, whose objects each name a key once; nothing of it is kept. The keys
/// of the objects being read are kept on one stack for the whole body, so checking allocates
/// nothing for an ordinary body.
struct Check<'s, 'de> {
    keys: &'s mut Vec<Cow<'de, str>>,
}

/// The whole body, from the top.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut keys = Vec::with_capacity(32);
        Check { keys: &mut keys }.deserialize(d).map(|()| Checked)
    }
}

impl<'de> DeserializeSeed<'de> for Check<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Objects up to this many keys are searched in the stack; a bigger one (which Linq never
/// sends, but a body of a megabyte could hold) gets a set, so the check stays linear.
const LISTED_KEYS: usize = 16;

impl<'de> Visitor<'de> for Check<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Check {
                keys: &mut *self.keys,
            })?
            .is_some()
        {}
        Ok(())
    }

    // With `arbitrary_precision` a number arrives as a one-key map of its text; it is checked
    // as any other object, and its one key repeats nothing.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.keys.len();
        let mut set: HashSet<Cow<'de, str>> = HashSet::new();
        let outcome = loop {
            let key = match map.next_key() {
                Ok(Some(Key(key))) => key,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            let listed = self.keys.len() - base;
            let repeated = if listed < LISTED_KEYS {
                self.keys[base..].contains(&key)
            } else {
                if set.is_empty() {
                    set.extend(self.keys[base..].iter().cloned());
                }
                !set.insert(key.clone())
            };
            // Refused before its value is read, so the error points at the repeated key.
            if repeated {
                break Err(A::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            if listed < LISTED_KEYS {
                self.keys.push(key);
            }
            if let Err(e) = map.next_value_seed(Check {
                keys: &mut *self.keys,
            }) {
                break Err(e);
            }
        };
        self.keys.truncate(base);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use serde_json::{Number, Value};

    /// The sentence a text is refused with (a test helper: panics on a text that passes).
    fn refusal(text: &str) -> String {
        match check_unique(text) {
            Ok(()) => panic!("{text} passed"),
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
            assert!(check_unique(&unique).is_ok(), "{unique}");
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
            let Err(Unparsed::NotJson(e)) = check_unique(text) else {
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
    fn ordinary_bodies_pass() {
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
            assert!(
                check_unique(body).is_ok(),
                "{body} is JSON with unique keys"
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
        fn any_value_with_unique_keys_passes(value in any_json()) {
            let text = value.to_string();
            let checked = check_unique(&text).map_err(|e| e.to_string());
            prop_assert_eq!(checked, Ok(()), "{} passes", text);
        }

        #[test]
        fn an_object_repeating_any_of_its_keys_is_refused(
            object in prop::collection::btree_map("\\PC{0,6}", any_json(), 1..40),
            pick in any::<prop::sample::Index>(),
        ) {
            let key = pick.get(&object.keys().collect::<Vec<_>>()).to_string();
            let text = Value::Object(object.into_iter().collect()).to_string();
            let quoted = Value::String(key).to_string();
            let body = format!("{{\"wrapper\":[{},{quoted}:0}}]}}", &text[..text.len() - 1]);
            let err = refusal(&body);
            prop_assert!(err.contains("appears twice"), "{}: {}", body, err);
        }
    }
}
