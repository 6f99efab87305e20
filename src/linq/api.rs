//! Records from Linq's REST API (`linq-api.md`) read into the inbox's facts, so a message
//! fetched by a catch-up pass or returned by a send projects through the same rules as one
//! delivered by webhook.
//!
//! A v3 API Message is the 2026-02-03 webhook message with other names for two fields
//! (`is_from_me` for `direction`, `from_handle` for `sender_handle`), a `delivery_status`, and
//! the reactions on each part, which webhooks send as events of their own.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{require_object, typed, EventError};
use super::model::{Fact, Reaction, ReactionChange};
use super::shapes::handle_of;
use super::v3;

/// What the errors of this reader call the record.
const RECORD: &str = "API message";

/// The facts one v3 API Message record tells: the message, then each reaction on its parts.
pub fn v3_message(record: &Value) -> Result<Vec<Fact>, EventError> {
    require_object(RECORD, record)?;
    let w: WireRecord = typed(RECORD, record)?;
    let mut message = v3::message(RECORD, &as_webhook_shape(record, &w))?;
    let status = w.delivery_status.as_deref();
    message.delivered |= matches!(status, Some("delivered" | "read"));
    message.read |= status == Some("read");
    let mut facts = Vec::new();
    for (index, part) in w.parts.iter().flatten().enumerate() {
        for r in part.reactions.iter().flatten() {
            facts.push(Fact::Reaction(part_reaction(&message, index as i64, r)));
        }
    }
    facts.insert(0, Fact::Message(message));
    Ok(facts)
}

/// The record with the webhook's names for direction and sender.
fn as_webhook_shape(record: &Value, w: &WireRecord) -> Value {
    let mut shaped: Map<String, Value> = record.as_object().cloned().unwrap_or_default();
    let direction = if w.is_from_me { "outbound" } else { "inbound" };
    shaped.insert("direction".into(), Value::String(direction.into()));
    if let Some(from) = record.get("from_handle").or_else(|| record.get("from")) {
        shaped
            .entry("sender_handle")
            .or_insert_with(|| from.clone());
    }
    Value::Object(shaped)
}

fn part_reaction(message: &super::model::Message, part_index: i64, r: &WireReaction) -> Reaction {
    Reaction {
        linq_id: None,
        message_id: message.id.clone(),
        part_index: Some(part_index),
        chat_id: Some(message.chat_id.clone()),
        kind: r.kind.clone(),
        custom_emoji: r.custom_emoji.clone().filter(|e| !e.trim().is_empty()),
        sticker: r
            .sticker
            .clone()
            .filter(|s| s.is_object())
            .map(|s| s.to_string()),
        from: r.handle.as_ref().and_then(handle_of).map(|h| h.identifier),
        is_from_me: r.is_me,
        // The API says who reacted and how, not when.
        at: None,
        handles: Vec::new(),
        message_text: None,
        change: ReactionChange::Added,
    }
}

#[derive(Deserialize)]
struct WireRecord {
    #[serde(default)]
    is_from_me: bool,
    #[serde(default)]
    delivery_status: Option<String>,
    #[serde(default)]
    parts: Option<Vec<WirePart>>,
}

#[derive(Deserialize)]
struct WirePart {
    #[serde(default)]
    reactions: Option<Vec<WireReaction>>,
}

#[derive(Deserialize)]
struct WireReaction {
    #[serde(default)]
    handle: Option<Value>,
    #[serde(default)]
    is_me: bool,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    custom_emoji: Option<String>,
    #[serde(default)]
    sticker: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linq::Direction;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "id": "m-api-1", "chat_id": "c-1", "created_at": "2026-11-20T17:15:00Z",
            "updated_at": "2026-11-20T17:15:02Z", "is_from_me": true, "delivery_status": "read",
            "sent_at": "2026-11-20T17:15:00Z", "read_at": "2026-11-20T17:16:00Z",
            "from_handle": {"handle": "+14155550100", "is_me": true},
            "parts": [
                {"type": "text", "value": "Friday works", "reactions": [
                    {"handle": {"handle": "+14155550101"}, "is_me": false, "type": "love"}]},
                {"type": "media", "id": "a1", "filename": "deck.pdf", "mime_type": "application/pdf",
                 "size_bytes": 10, "url": "https://cdn.example/deck.pdf", "reactions": []}
            ],
            "service": "iMessage", "reply_to": {"message_id": "m-0", "part_index": 0}
        })
    }

    #[test]
    fn an_api_message_reads_as_the_webhook_would_tell_it() {
        let facts = v3_message(&record()).expect("a record reads");
        let Some(Fact::Message(m)) = facts.first() else {
            panic!("the message comes first")
        };
        assert_eq!(m.direction, Direction::Outbound, "is_from_me is outbound");
        assert_eq!(
            m.from.as_deref(),
            Some("+14155550100"),
            "from_handle is the sender"
        );
        assert_eq!(
            m.text().as_deref(),
            Some("Friday works"),
            "text from the parts"
        );
        assert_eq!(m.attachments.len(), 1, "the media part is an attachment");
        assert!(
            m.read && m.delivered,
            "delivery_status read is read and delivered"
        );
        assert_eq!(
            m.reply_to.as_ref().map(|r| r.message_id.as_str()),
            Some("m-0"),
            "reply_to is kept"
        );
    }

    #[test]
    fn reactions_on_parts_become_reactions_of_their_own() {
        let facts = v3_message(&record()).expect("a record reads");
        let reactions: Vec<&Reaction> = facts
            .iter()
            .filter_map(|f| match f {
                Fact::Reaction(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(reactions.len(), 1, "one reaction on the text part");
        assert_eq!(
            reactions[0].part_index,
            Some(0),
            "on the part it was given on"
        );
        assert_eq!(
            reactions[0].from.as_deref(),
            Some("+14155550101"),
            "who reacted"
        );
        assert_eq!(reactions[0].kind, "love", "how");
    }

    #[test]
    fn a_record_that_is_not_a_message_is_refused() {
        assert!(
            v3_message(&json!([1])).is_err(),
            "an array is not a message record"
        );
        assert!(
            v3_message(&json!({"id": "m"})).is_err(),
            "a message record names its chat"
        );
    }
}
