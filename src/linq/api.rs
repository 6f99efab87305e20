//! Records from Linq's REST API (`linq-api.md`) read into the inbox's facts, so a message
//! fetched by a catch-up pass or returned by a send projects through the same rules as one
//! delivered by webhook.
//!
//! A v3 API Message is the 2026-02-03 webhook message with other names for two fields
//! (`is_from_me` for `direction`, `from_handle` for `sender_handle`), a `delivery_status`, and
//! the reactions on each part, which webhooks send as events of their own.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::data::Data;
use super::error::EventError;
use super::model::{
    ChatCreated, Direction, Fact, Handle, Message, Reaction, ReactionChange, Read, TextPart,
};
use super::shapes::handle_of;
use super::v3;
use super::value::{Id, Time};

/// What the errors of this reader call the record.
const RECORD: &str = "API message";

/// The facts one v3 API Message record tells: the message, then each reaction on its parts.
pub fn v3_message(record: &Value) -> Result<Vec<Fact>, EventError> {
    let data = Data::value(record);
    data.require_object(RECORD)?;
    let w: WireRecord = data.typed(RECORD)?;
    let mut message = v3::message(RECORD, &Data::value(&as_webhook_shape(record, &w)))?;
    let status = w.delivery_status.as_deref();
    message.delivered |= matches!(status, Some("delivered" | "read"));
    message.read |= status == Some("read");
    let mut facts = Vec::new();
    for (index, part) in w.parts.iter().flatten().enumerate() {
        for r in part.reactions.iter().flatten() {
            facts.push(Fact::Reaction(part_reaction(&message, index as i64, r)));
        }
    }
    if let Some(read_at) = w.read_at.clone() {
        facts.push(Fact::Read(Read {
            message_id: message.id.clone(),
            chat_id: Some(message.chat_id.clone()),
            read_at: Some(read_at),
        }));
    }
    facts.insert(0, Fact::Message(message));
    Ok(facts)
}

/// A v3 API Message listed under `chat` (a v3 Chat, trimmed): the record's facts, with what the
/// chat says about itself (its handles, whether it is a group, a group's name).
pub fn v3_message_in(record: &Value, chat: &Value) -> Result<Vec<Fact>, EventError> {
    let mut facts = v3_message(record)?;
    let is_group = chat.get("is_group").and_then(Value::as_bool);
    with_chat(&mut facts, chat, is_group);
    Ok(facts)
}

/// Adds the chat's handles and group flag to the record's message, and the chat itself (its
/// name, for a group: a one-to-one chat's listed name is only its handles) as a fact after it.
fn with_chat(facts: &mut Vec<Fact>, chat: &Value, is_group: Option<bool>) {
    let handles: Vec<Handle> = chat
        .get("handles")
        .and_then(Value::as_array)
        .map(|hs| hs.iter().filter_map(handle_of).collect())
        .unwrap_or_default();
    let Some(Fact::Message(m)) = facts.first_mut() else {
        return;
    };
    for h in &handles {
        if !m.handles.iter().any(|x| x.identifier == h.identifier) {
            m.handles.push(h.clone());
        }
    }
    m.is_group = m.is_group.or(is_group);
    let created = ChatCreated {
        chat_id: Some(m.chat_id.clone()),
        display_name: chat
            .get("display_name")
            .and_then(Value::as_str)
            .filter(|_| is_group == Some(true))
            .map(str::to_string),
        is_group,
        handles,
    };
    facts.insert(1, Fact::ChatCreated(created));
}

/// A v2 API ChatMessage (`linq-api.md` §14) listed under `chat` (a v2 Chat, trimmed) on the
/// rep's `line`. v2 says no direction: a message sent from the rep's line is theirs.
pub fn v2_message(
    record: &Value,
    chat: &Value,
    line: Option<&str>,
) -> Result<Vec<Fact>, EventError> {
    let data = Data::value(record);
    data.require_object(RECORD)?;
    let w: WireV2Record = data.typed(RECORD)?;
    let chat_id = super::value::id_field(chat, "id").ok_or_else(|| EventError::Data {
        event_type: RECORD.into(),
        problem: "the chat it was listed under has no id".into(),
    })?;
    let outbound = match (w.sent_from.as_deref(), line) {
        (Some(from), Some(line)) => same_number(from, line),
        _ => false,
    };
    let mut handles: Vec<Handle> = line
        .map(|l| Handle {
            identifier: l.to_string(),
            display_name: None,
            is_me: true,
        })
        .into_iter()
        .collect();
    if let Some(from) = w.sent_from.as_deref().filter(|_| !outbound) {
        handles.push(Handle {
            identifier: from.to_string(),
            display_name: None,
            is_me: false,
        });
    }
    let status = w.delivery_status.as_deref();
    let message = Message {
        id: w.id.0,
        chat_id: chat_id.clone(),
        direction: if outbound {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        sent_at: w.sent_at,
        from: if outbound {
            line.map(str::to_string)
        } else {
            w.sent_from
        },
        service: chat
            .get("service")
            .and_then(Value::as_str)
            .map(str::to_string),
        handles,
        is_group: None,
        texts: w
            .text
            .filter(|t| !t.is_empty())
            .map(|text| TextPart { index: 0, text })
            .into_iter()
            .collect(),
        attachments: super::v2::attachments(w.attachments),
        reply_to: None,
        read: w.is_read.unwrap_or(false),
        delivered: status == Some("delivered") || w.delivered_at.is_some(),
        delivered_at: w.delivered_at,
        idempotency_key: None,
    };
    let mut facts = vec![Fact::Message(message)];
    let is_group = chat.get("group").and_then(Value::as_bool);
    with_chat(&mut facts, chat, is_group);
    let Some(Fact::Message(m)) = facts.first() else {
        return Ok(facts);
    };
    let reactions: Vec<Fact> = w
        .reactions
        .into_iter()
        .flatten()
        .map(|r| Fact::Reaction(v2_reaction(m, line, r)))
        .collect();
    facts.extend(reactions);
    Ok(facts)
}

/// A v2 reaction listed with its message; the same identity as a v2 webhook's (no part).
fn v2_reaction(m: &Message, line: Option<&str>, r: WireV2Reaction) -> Reaction {
    let is_from_me = r.is_from_me.unwrap_or(false);
    Reaction {
        linq_id: r.id.map(|i| i.0),
        message_id: m.id.clone(),
        part_index: None,
        chat_id: Some(m.chat_id.clone()),
        kind: r.reaction,
        custom_emoji: None,
        sticker: None,
        from: r
            .from_phone
            .or_else(|| is_from_me.then(|| line.map(str::to_string)).flatten()),
        is_from_me,
        at: r.sent_at.or(r.created_at),
        handles: Vec::new(),
        message_text: None,
        change: ReactionChange::Added,
    }
}

/// v2 numbers come as `+12223334444` or `2223334444` (`+1` assumed): the same line when their
/// last ten digits match, else when they are equal.
fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (da, db) = (digits(a), digits(b));
    if da.len() >= 10 && db.len() >= 10 {
        da[da.len() - 10..] == db[db.len() - 10..]
    } else {
        a.trim() == b.trim()
    }
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
    read_at: Option<Time>,
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

#[derive(Deserialize)]
struct WireV2Record {
    id: Id,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    sent_at: Option<Time>,
    #[serde(default)]
    delivered_at: Option<Time>,
    #[serde(default)]
    delivery_status: Option<String>,
    #[serde(default)]
    is_read: Option<bool>,
    #[serde(default)]
    sent_from: Option<String>,
    #[serde(default)]
    attachments: Option<Vec<super::v2::WireAttachment>>,
    #[serde(default)]
    reactions: Option<Vec<WireV2Reaction>>,
}

#[derive(Deserialize)]
struct WireV2Reaction {
    #[serde(default)]
    id: Option<Id>,
    reaction: String,
    #[serde(default)]
    is_from_me: Option<bool>,
    #[serde(default)]
    from_phone: Option<String>,
    #[serde(default)]
    sent_at: Option<Time>,
    #[serde(default)]
    created_at: Option<Time>,
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
    fn a_v2_record_from_the_reps_line_is_outbound() {
        let chat = json!({"id": 7, "group": false, "handles": [{"handle": "+14155550100", "is_me": true}]});
        let record = json!({"id": 99, "text": "hi", "sent_at": "2026-11-20T17:15:00Z",
                            "sent_from": "4155550100", "delivery_status": "delivered", "is_read": false,
                            "reactions": [{"id": 5, "reaction": "like", "is_from_me": false,
                                           "from_phone": "+14155550101"}]});
        let facts = v2_message(&record, &chat, Some("+14155550100")).expect("reads");
        let Some(Fact::Message(m)) = facts.first() else {
            panic!("the message comes first")
        };
        assert_eq!(
            m.direction,
            Direction::Outbound,
            "sent from the rep's line, +1 assumed"
        );
        assert_eq!(m.chat_id, "7", "the chat it was listed under, as text");
        assert!(m.delivered, "delivery_status delivered");
        let reaction = facts.iter().find_map(|f| match f {
            Fact::Reaction(r) => Some(r),
            _ => None,
        });
        assert_eq!(
            reaction.and_then(|r| r.linq_id.as_deref()),
            Some("5"),
            "the listed reaction keeps v2's id"
        );
    }

    #[test]
    fn a_read_time_is_a_read_receipt() {
        let facts = v3_message(&record()).expect("a record reads");
        let read = facts.iter().find_map(|f| match f {
            Fact::Read(r) => Some(r),
            _ => None,
        });
        assert_eq!(
            read.and_then(|r| r.read_at.as_ref()).map(|t| t.0.millis()),
            crate::linq::time::parse("2026-11-20T17:16:00Z").map(|t| t.millis()),
            "read_at becomes the receipt's time"
        );
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
