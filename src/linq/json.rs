//! One meaning per body: an object that repeats a key is refused. Readers disagree on which
//! copy wins (serde_json and JavaScript keep the last, others the first), so a body with a
//! repeated key could be verified, stored and shown as different events. Linq never sends one.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};

/// Checks that no object anywhere in the JSON text `raw` repeats a key (compared after
/// unescaping, so `"a"` and `"\u0061"` are the same key). The error is one sentence.
pub fn check_unique_keys(raw: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<UniqueKeys>(raw)
        .map(|_| ())
        .map_err(|e| format!("body is not a usable JSON envelope: {e}"))
}

/// Deserializes any JSON value, failing on a repeated key; keeps nothing.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeys)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(UniqueKeys)
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(UniqueKeys)
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(UniqueKeys)
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(UniqueKeys)
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(UniqueKeys)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Keys are borrowed from the body unless they hold an escape; objects are small, so the
        // first keys are searched in a list on the stack (nothing allocated, once per object of
        // every delivery) and only a longer object's go into a set.
        let mut small: [Key<'de>; SMALL_OBJECT] = std::array::from_fn(|_| Key(Cow::Borrowed("")));
        let mut len = 0;
        let mut set: HashSet<Key<'de>> = HashSet::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let repeated = if len < SMALL_OBJECT {
                let repeated = small[..len].contains(&key);
                small[len] = key.clone();
                len += 1;
                repeated
            } else {
                if set.is_empty() {
                    set.extend(small.iter().cloned());
                }
                !set.insert(key.clone())
            };
            if repeated {
                return Err(A::Error::custom(format!(
                    "the key {:?} appears twice in one object",
                    key.0
                )));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
}

/// Up to this many keys an object's keys are compared one by one.
const SMALL_OBJECT: usize = 16;

/// An object key, borrowed from the body when it has no escape in it.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(key)))
    }

    fn visit_str<E: Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(key.to_owned())))
    }

    fn visit_string<E: Error>(self, key: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        for body in [
            r#"{"event_id":"a","event_id":"b"}"#,
            r#"{"data":{"text":"x","text":"y"}}"#,
            r#"{"data":{"handles":[{"h":1},{"h":1,"h":2}]}}"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            let err = check_unique_keys(body.as_bytes()).expect_err(body);
            assert!(err.contains("appears twice"), "{body}: {err}");
        }
    }

    #[test]
    fn a_repeat_is_found_in_objects_of_every_size() {
        for n in 1..=40 {
            let keys: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
            let unique = format!("{{{}}}", keys.join(","));
            assert_eq!(check_unique_keys(unique.as_bytes()), Ok(()), "{unique}");
            for j in 0..n {
                let body = format!("{{{},\"k{j}\":0}}", keys.join(","));
                let err = check_unique_keys(body.as_bytes()).expect_err(&body);
                assert!(err.contains(&format!("\"k{j}\"")), "{body}: {err}");
            }
        }
    }

    #[test]
    fn ordinary_bodies_pass() {
        for body in [
            r#"{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}],"n":123456789012345678901234567890,"f":1.5e3}"#,
            "[]",
            "null",
            r#""text""#,
        ] {
            assert_eq!(check_unique_keys(body.as_bytes()), Ok(()), "{body}");
        }
    }
}
