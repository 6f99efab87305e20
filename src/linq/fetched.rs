//! Records a catch-up pass fetched from Linq's REST API, as rows of the raw log.
//!
//! A fetched message is logged as an envelope of its own type (`linq_inbox.fetched_message`,
//! never a webhook's type, so nothing mistakes it for a signed delivery) whose `data` holds the
//! record exactly as Linq listed it, the chat it was listed under (trimmed to the fields that
//! name the chat: id, name, group flag, handles) and the rep's line. Reading it back gives the
//! same facts a webhook would (`api.rs`), so it projects through the same rules.
//!
//! Identity: `fetched:{version}:{message id}:{digest}`, the digest taken over the record without
//! its presigned URLs (they change at every listing). Listing an unchanged message again is a
//! duplicate of the row already logged, so a second pass adds nothing; a message whose record
//! changed (read since, a new reaction) is a new row that adds what changed.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::data::Data;
use super::error::EventError;
use super::model::{Direction, Fact};
use super::signature::canonical_json;
use super::value::id_field;
use super::{api, shapes};

/// The log's event type for a fetched message record.
pub const MESSAGE_TYPE: &str = "linq_inbox.fetched_message";

/// A fetched record ready for the log.
#[derive(Debug, Clone)]
pub struct FetchedRecord {
    pub event_id: String,
    pub message_id: String,
    /// The envelope, compact JSON.
    pub body: String,
    /// The record's own time (`sent_at`, else `created_at`), as Linq wrote it.
    pub time: Option<String>,
    /// The record reads as an inbound message nobody has read yet.
    pub inbound_unread: bool,
}

/// The log row for message `record`, listed under `chat` on the rep's `line`, in API
/// `version` (`v3` or `v2`). `None` when the record has no id.
pub fn message_envelope(
    version: &str,
    chat: &Value,
    line: Option<&str>,
    record: &Value,
) -> Option<FetchedRecord> {
    let message_id = id_field(record, "id")?;
    let digest = hex::encode(&Sha256::digest(canonical_json(&without_urls(record)))[..8]);
    let event_id = format!("fetched:{version}:{message_id}:{digest}");
    let time = ["sent_at", "created_at"]
        .iter()
        .find_map(|k| record.get(*k).and_then(Value::as_str))
        .map(str::to_string);
    let data = json!({"chat": chat_context(chat), "line": line, "record": record});
    let inbound_unread = matches!(
        read(MESSAGE_TYPE, Some(version), &Data::value(&data)),
        Some(Ok(Fact::Record(facts))) if matches!(facts.first(),
            Some(Fact::Message(m)) if m.direction == Direction::Inbound && !m.read)
    );
    let body = json!({
        "event_type": MESSAGE_TYPE,
        "event_id": event_id,
        "api_version": version,
        "created_at": time,
        "data": data,
    });
    Some(FetchedRecord {
        event_id,
        message_id,
        body: body.to_string(),
        time,
        inbound_unread,
    })
}

/// The facts of a logged fetched record; `None` for any other event type.
pub(crate) fn read(
    event_type: &str,
    api_version: Option<&str>,
    data: &Data,
) -> Option<Result<Fact, EventError>> {
    if event_type != MESSAGE_TYPE {
        return None;
    }
    let data = data.tree();
    let record = data.get("record").unwrap_or(&Value::Null);
    let chat = data.get("chat").unwrap_or(&Value::Null);
    let line = data.get("line").and_then(Value::as_str);
    let facts = match api_version {
        Some(v) if v.eq_ignore_ascii_case("v2") => api::v2_message(record, chat, line),
        _ => api::v3_message_in(record, chat),
    };
    Some(facts.map(Fact::Record))
}

/// What names the chat: id, name, group flag and handles (with `is_me`), in either dialect.
fn chat_context(chat: &Value) -> Value {
    let mut out = Map::new();
    for key in ["id", "display_name", "is_group", "group"] {
        if let Some(v) = chat.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let handles = chat
        .get("handles")
        .or_else(|| chat.get("chat_handles"))
        .and_then(Value::as_array);
    if let Some(handles) = handles {
        let trimmed: Vec<Value> = handles
            .iter()
            .filter_map(shapes::handle_of)
            .map(|h| json!({"handle": h.identifier, "is_me": h.is_me}))
            .collect();
        out.insert("handles".into(), Value::Array(trimmed));
    }
    Value::Object(out)
}

/// The record without its `url` fields: presigned URLs change at every listing.
fn without_urls(value: &Value) -> Value {
    match value {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "url")
                .map(|(k, v)| (k.clone(), without_urls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_urls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(url: &str, status: &str) -> Value {
        json!({"id": "m1", "chat_id": "c1", "is_from_me": false, "delivery_status": status,
               "sent_at": "2026-11-20T17:15:00Z",
               "parts": [{"type": "media", "id": "a1", "filename": "x.jpg", "mime_type": "image/jpeg",
                          "size_bytes": 3, "url": url, "reactions": []}]})
    }

    #[test]
    fn a_new_presigned_url_is_the_same_record() {
        let chat = json!({"id": "c1"});
        let a = message_envelope(
            "v3",
            &chat,
            None,
            &record("https://cdn/x?sig=1", "received"),
        )
        .expect("has an id");
        let b = message_envelope(
            "v3",
            &chat,
            None,
            &record("https://cdn/x?sig=2", "received"),
        )
        .expect("has an id");
        assert_eq!(
            a.event_id, b.event_id,
            "only the URL's signature changed: one log row"
        );
        let read = message_envelope("v3", &chat, None, &record("https://cdn/x?sig=2", "read"))
            .expect("has an id");
        assert_ne!(
            a.event_id, read.event_id,
            "a record that changed is a row of its own"
        );
        assert!(a.inbound_unread, "an inbound message received, not read");
        assert!(!read.inbound_unread, "read is not unread");
    }

    #[test]
    fn a_logged_record_reads_back_as_its_facts() {
        let chat = json!({"id": "c1", "is_group": true, "display_name": "Team",
                          "handles": [{"handle": "+14155550100", "is_me": true, "id": "h"}]});
        let row = message_envelope("v3", &chat, None, &record("https://cdn/x", "read"))
            .expect("has an id");
        let envelope = crate::linq::parse_envelope(&row.body).expect("an envelope");
        let Fact::Record(facts) = envelope.fact else {
            panic!("a fetched message is a record of facts")
        };
        let Some(Fact::Message(m)) = facts.first() else {
            panic!("the message comes first")
        };
        assert_eq!(m.is_group, Some(true), "the chat says it is a group");
        assert!(
            m.handles
                .iter()
                .any(|h| h.is_me && h.identifier == "+14155550100"),
            "the rep's line is among the handles"
        );
        assert!(m.read, "delivery_status read is read");
    }
}
