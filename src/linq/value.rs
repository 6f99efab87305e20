//! Tolerant field types for the vendor's payloads: ids that arrive as strings or numbers,
//! timestamps in either of Linq's forms, counts that arrive as numbers or numeric strings.
//! Each of those goes through a small `serde_json::Value` so it works with arbitrary-precision
//! numbers; nested objects and lists of them (`object`, `objects`) are read in place.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json::Key;

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
                Kind::of(&other)
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
                Kind::of(&other)
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
            D::Error::custom(format!("expected a number, found {}", Kind::of(&value)))
        })
    }
}

/// For a field holding a nested object: serde's derived structs also accept a JSON array
/// (fields by position), so `"recording_data": [1]` would pass as a recording. Only an object
/// (or null, or nothing) is one. Read in place, without building the object as a tree.
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match d.deserialize_any(OnlyObject(PhantomData::<T>))? {
        Read::Object(item) => Ok(Some(item)),
        Read::Null => Ok(None),
        Read::Other(kind) => Err(D::Error::custom(format!(
            "expected an object, found {kind}"
        ))),
    }
}

/// For a field holding a list of objects: each element must be an object (see [`object`]).
pub fn objects<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(ListOfObjects(PhantomData::<T>))
}

/// serde_json's key for a number under `arbitrary_precision`: a number arrives at a visitor as
/// a one-entry map under this key, holding the number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// What a value turned out to be, for a reader that takes only an object.
enum Read<T> {
    Object(T),
    Null,
    Other(Kind),
}

/// Reads `T` from an object, and names any other JSON type instead.
struct OnlyObject<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OnlyObject<T> {
    type Value = Read<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read<T>, A::Error> {
        // The first key tells a number from an object; the object then reads it again.
        let first = map.next_key::<Key<'de>>()?;
        if first.as_ref().is_some_and(|Key(k)| k == NUMBER_TOKEN) {
            map.next_value::<IgnoredAny>()?;
            return Ok(Read::Other(Kind::Number));
        }
        let replayed = Replay {
            first: first.map(|Key(k)| k),
            rest: map,
        };
        T::deserialize(MapAccessDeserializer::new(replayed)).map(Read::Object)
    }

    fn visit_unit<E: Error>(self) -> Result<Read<T>, E> {
        Ok(Read::Null)
    }

    fn visit_none<E: Error>(self) -> Result<Read<T>, E> {
        Ok(Read::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Read<T>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<Read<T>, E> {
        Ok(Read::Other(Kind::Boolean))
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<Read<T>, E> {
        Ok(Read::Other(Kind::Number))
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<Read<T>, E> {
        Ok(Read::Other(Kind::Number))
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<Read<T>, E> {
        Ok(Read::Other(Kind::Number))
    }

    // A tree's number past 64 bits (the text's arrives as the map above).
    fn visit_i128<E: Error>(self, _: i128) -> Result<Read<T>, E> {
        Ok(Read::Other(Kind::Number))
    }

    fn visit_u128<E: Error>(self, _: u128) -> Result<Read<T>, E> {
        Ok(Read::Other(Kind::Number))
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<Read<T>, E> {
        Ok(Read::Other(Kind::String))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Read::Other(Kind::Array))
    }
}

/// Reads a list of `T`, each element an object; null is no list.
struct ListOfObjects<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListOfObjects<T> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Vec<T>>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(ElementSeed(PhantomData::<T>))? {
            match item {
                Read::Object(item) => items.push(item),
                Read::Null => return Err(in_list(Kind::Null)),
                Read::Other(kind) => return Err(in_list(kind)),
            }
        }
        Ok(Some(items))
    }

    fn visit_unit<E: Error>(self) -> Result<Option<Vec<T>>, E> {
        Ok(None)
    }

    fn visit_none<E: Error>(self) -> Result<Option<Vec<T>>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Vec<T>>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Vec<T>>, A::Error> {
        match OnlyObject(PhantomData::<IgnoredAny>).visit_map(map)? {
            Read::Other(kind) => Err(not_a_list(kind)),
            _ => Err(not_a_list(Kind::Object)),
        }
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<Option<Vec<T>>, E> {
        Err(not_a_list(Kind::Boolean))
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<Option<Vec<T>>, E> {
        Err(not_a_list(Kind::Number))
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<Option<Vec<T>>, E> {
        Err(not_a_list(Kind::Number))
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<Option<Vec<T>>, E> {
        Err(not_a_list(Kind::Number))
    }

    fn visit_i128<E: Error>(self, _: i128) -> Result<Option<Vec<T>>, E> {
        Err(not_a_list(Kind::Number))
    }

    fn visit_u128<E: Error>(self, _: u128) -> Result<Option<Vec<T>>, E> {
        Err(not_a_list(Kind::Number))
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<Option<Vec<T>>, E> {
        Err(not_a_list(Kind::String))
    }
}

fn in_list<E: Error>(kind: Kind) -> E {
    E::custom(format!("expected a list of objects, found {kind} in it"))
}

fn not_a_list<E: Error>(kind: Kind) -> E {
    E::custom(format!("expected a list, found {kind}"))
}

struct ElementSeed<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ElementSeed<T> {
    type Value = Read<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Read<T>, D::Error> {
        d.deserialize_any(OnlyObject(self.0))
    }
}

/// An object's entries with its first key, already read, given back first.
struct Replay<'de, A> {
    first: Option<Cow<'de, str>>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(Cow::Borrowed(key)) => seed
                .deserialize(BorrowedStrDeserializer::new(key))
                .map(Some),
            Some(Cow::Owned(key)) => seed.deserialize(StringDeserializer::new(key)).map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }
}

/// A JSON value's type, told from a tree or from the value's text. Refusals name it (its
/// `Display`: "an object", "null"), never the value's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    pub fn of(v: &Value) -> Kind {
        match v {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Boolean,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    /// The type of one JSON value's text, by its first character (the text is valid JSON).
    pub fn of_text(text: &str) -> Kind {
        match text.trim_start().as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Boolean,
            Some(b'n') | None => Kind::Null,
            Some(_) => Kind::Number,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Null => "null",
            Kind::Boolean => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        })
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
                crate::linq::parse_envelope(&body.to_string()).is_err(),
                "{body} must be refused"
            );
        }
        let ok = json!({"event_type": "call.completed", "event_id": "e",
                        "data": {"id": "c", "recording_data": {"id": 1}}});
        assert!(
            crate::linq::parse_envelope(&ok.to_string()).is_ok(),
            "an object still parses"
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Holder {
        #[serde(default, deserialize_with = "objects")]
        list: Option<Vec<Inner>>,
        #[serde(default, deserialize_with = "object")]
        one: Option<Inner>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        id: Id,
        #[serde(default)]
        flag: Option<bool>,
    }

    /// The reading of `text` as `Holder`, from the text and from its tree (which must agree).
    fn holder(text: &str) -> Result<Holder, String> {
        use crate::linq::data::Data;
        let tree: Value = serde_json::from_str(text).expect("json");
        let from_text = Data::text(text)
            .typed::<Holder>("t")
            .map_err(|e| e.to_string());
        let from_tree = Data::value(&tree)
            .typed::<Holder>("t")
            .map_err(|e| e.to_string());
        assert_eq!(from_text, from_tree, "{text}: the text and the tree agree");
        from_text
    }

    #[test]
    fn lists_of_objects_name_what_they_found_instead() {
        for (text, problem) in [
            (
                r#"{"list":[{"id":"a"},1]}"#,
                "list: expected a list of objects, found a number in it",
            ),
            (
                r#"{"list":[{"id":"a"},123456789012345678901234567890]}"#,
                "list: expected a list of objects, found a number in it",
            ),
            (
                r#"{"list":["a"]}"#,
                "list: expected a list of objects, found a string in it",
            ),
            (
                r#"{"list":[[{"id":"a"}]]}"#,
                "list: expected a list of objects, found an array in it",
            ),
            (
                r#"{"list":[null]}"#,
                "list: expected a list of objects, found null in it",
            ),
            (
                r#"{"list":[true]}"#,
                "list: expected a list of objects, found a boolean in it",
            ),
            (
                r#"{"list":{"id":"a"}}"#,
                "list: expected a list, found an object",
            ),
            (r#"{"list":7}"#, "list: expected a list, found a number"),
            (
                r#"{"list":-98765432109876543210}"#,
                "list: expected a list, found a number",
            ),
            (
                r#"{"one":1.5e400}"#,
                "one: expected an object, found a number",
            ),
            (r#"{"list":"x"}"#, "list: expected a list, found a string"),
            (r#"{"one":[1]}"#, "one: expected an object, found an array"),
            (r#"{"one":5}"#, "one: expected an object, found a number"),
            (
                r#"{"one":false}"#,
                "one: expected an object, found a boolean",
            ),
            (
                r#"{"list":[{"id":"a","flag":"yes"}]}"#,
                "list[0].flag: invalid type: string \"yes\", expected a boolean",
            ),
            (
                r#"{"list":[{"flag":true,"id":{}}]}"#,
                "list[0].id: expected an id (string or number), found an object",
            ),
            (
                r#"{"one":{"id":[]}}"#,
                "one.id: expected an id (string or number), found an array",
            ),
            (r#"{"list":[{"flag":true}]}"#, "list[0]: missing field `id`"),
        ] {
            assert_eq!(
                holder(text),
                Err(format!("data does not fit t: {problem}")),
                "{text}"
            );
        }
    }

    #[test]
    fn lists_of_objects_read_in_place() {
        assert_eq!(
            holder(
                r#"{"list":[{"id":"a","x":{"deep":[1]}},{"\u0069d":7,"flag":true}],"one":{"id":1}}"#
            ),
            Ok(Holder {
                list: Some(vec![
                    Inner {
                        id: Id("a".into()),
                        flag: None
                    },
                    Inner {
                        id: Id("7".into()),
                        flag: Some(true)
                    },
                ]),
                one: Some(Inner {
                    id: Id("1".into()),
                    flag: None
                }),
            }),
            "objects, an escaped first key, unknown fields skipped"
        );
        assert_eq!(
            holder(r#"{"list":null,"one":null}"#),
            Ok(Holder {
                list: None,
                one: None
            }),
            "null is no list and no object"
        );
        assert_eq!(
            holder(r#"{"list":[],"one":{"id":"x"}}"#),
            Ok(Holder {
                list: Some(vec![]),
                one: Some(Inner {
                    id: Id("x".into()),
                    flag: None
                })
            }),
            "an empty list is a list"
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
