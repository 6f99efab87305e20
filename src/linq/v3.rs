//! Linq's v3 webhooks (`linq-v3-webhooks.md`) read into the inbox's facts.
//!
//! v3 says a message's direction outright and carries its text and media as parts; it reports
//! deliveries, failures, edits and removed reactions, which v2 never does, and a call as it
//! goes, stage by stage. `webhook_version` 2026-02-03 puts the message at the top of `data`,
//! 2025-01-01 nests it under `message` beside `chat_id`, `from_handle` and `is_from_me`; both
//! are accepted whatever the envelope says, since the subscription's date decides the shape.

use serde::Deserialize;
use serde_json::Value;

use super::data::Data;
use super::error::EventError;
use super::model::{
    Attachment, Call, CallReport, CallStage, ChatChange, ChatChangeKind, Direction, Edit, Fact,
    Failure, Handle, MembershipChange, Message, NumberHealth, Reaction, ReactionChange, Read,
    ReplyTo, TextPart, Typing,
};
use super::shapes::{chat_created, handle_of, membership};
use super::time::format_utc;
use super::value::{id_field, Id, Int, Time};

/// The v3 event types this build understands; every other v3 type is kept raw.
pub const KNOWN_V3_EVENT_TYPES: [&str; 25] = [
    "message.sent",
    "message.received",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.edited",
    "reaction.added",
    "reaction.removed",
    "participant.added",
    "participant.removed",
    "chat.created",
    "chat.group_name_updated",
    "chat.group_icon_updated",
    "chat.typing_indicator.started",
    "chat.typing_indicator.stopped",
    "phone_number.status_updated",
    "location.sharing.started",
    "location.sharing.stopped",
    "call.initiated",
    "call.ringing",
    "call.answered",
    "call.ended",
    "call.failed",
    "call.declined",
    "call.no_answer",
];

/// Reads a v3 `data` object for `event_type`.
pub fn read(event_type: &str, data: &Data) -> Result<Fact, EventError> {
    if !KNOWN_V3_EVENT_TYPES.contains(&event_type) {
        return Ok(Fact::Unknown);
    }
    data.require_object(event_type)?;
    let fact = match event_type {
        "message.sent" | "message.received" | "message.delivered" => {
            Fact::Message(message(event_type, data)?)
        }
        "message.read" => {
            let w = wire_message(event_type, data)?;
            let read_at = w.read_at.clone();
            let m = from_wire(event_type, w)?;
            Fact::Read(Read {
                message_id: m.id,
                chat_id: Some(m.chat_id),
                read_at,
            })
        }
        "message.failed" => {
            let w: WireFailed = data.typed(event_type)?;
            Fact::Failed(Failure {
                message_id: w.message_id.map(|i| i.0),
                chat_id: w.chat_id.map(|i| i.0),
                code: w.code.map(|c| c.0),
                detail_code: w.detail_code.map(|c| c.0),
                reason: w.reason,
                failed_at: w.failed_at,
            })
        }
        "message.edited" => {
            let w: WireEdited = data.typed(event_type)?;
            Fact::Edited(Edit {
                chat_id: w.chat.map(|c| c.id).or(w.chat_id).map(|i| i.0),
                message_id: w.id.0,
                part_index: w.part.index.map(|i| i.0).unwrap_or(0),
                text: w.part.text,
                edited_at: w.edited_at,
            })
        }
        "reaction.added" => Fact::Reaction(reaction(event_type, data, ReactionChange::Added)?),
        "reaction.removed" => Fact::Reaction(reaction(event_type, data, ReactionChange::Removed)?),
        "participant.added" => Fact::Membership(membership(data.tree(), MembershipChange::Added)),
        "participant.removed" => {
            Fact::Membership(membership(data.tree(), MembershipChange::Removed))
        }
        "chat.created" => Fact::ChatCreated(chat_created(data.tree())),
        "chat.group_name_updated" | "chat.group_icon_updated" => {
            let w: WireGroupChange = data.typed(event_type)?;
            Fact::ChatChanged(ChatChange {
                chat_id: Some(w.chat_id.0),
                kind: if event_type == "chat.group_name_updated" {
                    ChatChangeKind::GroupName
                } else {
                    ChatChangeKind::GroupIcon
                },
                actor: w
                    .changed_by_handle
                    .as_ref()
                    .and_then(handle_of)
                    .map(|h| h.identifier),
                old_value: w.old_value,
                new_value: w.new_value,
                at: w.updated_at,
            })
        }
        "chat.typing_indicator.started" | "chat.typing_indicator.stopped" => {
            let w: WireTyping = data.typed(event_type)?;
            Fact::Typing(Typing {
                chat_id: w.chat_id.0,
                started: event_type.ends_with("started"),
                who: None,
                handles: Vec::new(),
            })
        }
        "phone_number.status_updated" => {
            let w: WireNumberStatus = data.typed(event_type)?;
            Fact::NumberHealth(NumberHealth {
                phone_number: w.phone_number,
                changed_at: w.changed_at,
                previous_status: w.previous_status,
                new_status: w.new_status,
                previous_reputation: w.previous_reputation,
                new_reputation: w.new_reputation,
            })
        }
        "location.sharing.started" | "location.sharing.stopped" => {
            let w: WireLocationSharing = data.typed(event_type)?;
            let started = event_type.ends_with("started");
            Fact::ChatChanged(ChatChange {
                chat_id: w.chat_id.map(|c| c.0),
                kind: if started {
                    ChatChangeKind::LocationStarted
                } else {
                    ChatChangeKind::LocationStopped
                },
                actor: w.shared_by,
                old_value: None,
                // Sharing "until" a time; `None` is indefinitely (or, once stopped, nothing).
                new_value: started
                    .then(|| w.ends_at.as_ref().map(|t| format_utc(&t.0.utc)))
                    .flatten(),
                at: if started { w.began_at } else { w.ended_at },
            })
        }
        t => match (
            t.strip_prefix("call.").and_then(CallStage::parse),
            call(data.tree()),
        ) {
            (Some(stage), Some(call)) => Fact::Call(CallReport {
                call,
                stage: Some(stage),
            }),
            _ => Fact::Unknown,
        },
    };
    Ok(fact)
}

/// The 2025-01-01 shape nests the message under `message`; lift it to the 2026-02-03 shape.
fn lift_nested(data: &Value) -> Value {
    let Some(Value::Object(inner)) = data.get("message") else {
        return data.clone();
    };
    let mut m = inner.clone();
    for key in ["chat_id", "is_group", "service"] {
        if let Some(v) = data.get(key) {
            m.entry(key).or_insert_with(|| v.clone());
        }
    }
    if let Some(from) = data.get("from_handle") {
        m.entry("sender_handle").or_insert_with(|| from.clone());
    }
    if let Some(Value::Bool(me)) = data.get("is_from_me") {
        let direction = if *me { "outbound" } else { "inbound" };
        m.entry("direction")
            .or_insert_with(|| Value::String(direction.into()));
    }
    Value::Object(m)
}

/// A v3 message, from a webhook's `data` or a REST API message record (the same shape).
pub(crate) fn message(event_type: &str, data: &Data) -> Result<Message, EventError> {
    from_wire(event_type, wire_message(event_type, data)?)
}

/// A message payload as sent, in either shape.
fn wire_message(event_type: &str, data: &Data) -> Result<WireMessage, EventError> {
    // Only the older shape needs the tree (to lift the message out); the current one is read
    // from the text.
    if data.holds_object("message") {
        Data::value(&lift_nested(data.tree())).typed(event_type)
    } else {
        data.typed(event_type)
    }
}

fn from_wire(event_type: &str, w: WireMessage) -> Result<Message, EventError> {
    let chat_id = match (w.chat.as_ref().map(|c| c.id.clone()), w.chat_id) {
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => {
            return Err(EventError::Data {
                event_type: event_type.to_string(),
                problem: "neither chat.id nor chat_id names the chat".into(),
            })
        }
    };
    let said = w.direction.as_deref().and_then(|d| match d {
        "inbound" => Some(Direction::Inbound),
        "outbound" => Some(Direction::Outbound),
        _ => None,
    });
    let direction = said.or(match event_type {
        // Delivery reports are about the rep's own messages.
        "message.sent" | "message.delivered" => Some(Direction::Outbound),
        "message.received" => Some(Direction::Inbound),
        _ => None,
    });
    let outbound = direction == Some(Direction::Outbound);
    let sender = w
        .sender_handle
        .as_ref()
        .and_then(handle_of)
        .map(|h| Handle {
            // Only the rep sends outbound messages; an inbound sender is the rep only if it says so.
            is_me: h.is_me || outbound,
            ..h
        });
    let mut handles: Vec<Handle> = sender.iter().cloned().collect();
    let owner = w.chat.as_ref().and_then(|c| c.owner_handle.as_ref());
    if let Some(owner) = owner.and_then(handle_of) {
        if !handles.iter().any(|h| h.identifier == owner.identifier) {
            handles.push(Handle {
                is_me: true,
                ..owner
            });
        }
    }
    let from = sender.map(|h| h.identifier);
    // Without a stated direction (a read receipt's copy), a message from the rep's line is theirs.
    let direction = direction.unwrap_or_else(|| {
        let mine = handles
            .iter()
            .any(|h| h.is_me && Some(&h.identifier) == from.as_ref());
        if mine {
            Direction::Outbound
        } else {
            Direction::Inbound
        }
    });
    let (texts, attachments) = parts(w.parts.as_deref().unwrap_or_default());
    Ok(Message {
        id: w.id.0,
        chat_id: chat_id.0,
        direction,
        sent_at: w.sent_at,
        from,
        service: w.service,
        handles,
        is_group: w.chat.as_ref().and_then(|c| c.is_group).or(w.is_group),
        texts,
        attachments,
        reply_to: w.reply_to.map(|r| ReplyTo {
            message_id: r.message_id.0,
            part_index: r.part_index.map(|i| i.0),
        }),
        read: w.read_at.is_some(),
        delivered: event_type == "message.delivered" || w.delivered_at.is_some(),
        delivered_at: w.delivered_at,
        idempotency_key: w.idempotency_key,
    })
}

/// A message's text-bearing parts (by their index among all parts) and its media.
fn parts(parts: &[Value]) -> (Vec<TextPart>, Vec<Attachment>) {
    let mut texts = Vec::new();
    let mut attachments = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let field = |k: &str| part.get(k).and_then(Value::as_str).map(str::to_string);
        let index = index as i64;
        match part.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" | "link" => {
                if let Some(text) = field("value").filter(|v| !v.is_empty()) {
                    texts.push(TextPart { index, text });
                }
            }
            "imessage_app" => {
                if let Some(text) = field("fallback_text").or_else(|| field("url")) {
                    texts.push(TextPart { index, text });
                }
            }
            "media" => attachments.push(Attachment {
                id: id_field(part, "id"),
                url: field("url"),
                filename: field("filename"),
                mime_type: field("mime_type"),
            }),
            _ => {}
        }
    }
    (texts, attachments)
}

fn reaction(event_type: &str, data: &Data, change: ReactionChange) -> Result<Reaction, EventError> {
    let w: WireReaction = data.typed(event_type)?;
    let from = w
        .from_handle
        .as_ref()
        .or(w.from.as_ref())
        .and_then(handle_of)
        .map(|h| h.identifier);
    Ok(Reaction {
        linq_id: None,
        message_id: w.message_id.0,
        part_index: w.part_index.map(|i| i.0),
        chat_id: w.chat_id.map(|c| c.0),
        kind: w.reaction_type,
        custom_emoji: w.custom_emoji.filter(|e| !e.trim().is_empty()),
        sticker: w.sticker.filter(|s| s.is_object()).map(|s| s.to_string()),
        from,
        is_from_me: w.is_from_me.unwrap_or(false),
        at: w.reacted_at,
        handles: Vec::new(),
        message_text: None,
        change,
    })
}

/// Reads a call from a `call.*` payload, or `None` when nothing names the call. No SDK defines
/// these payloads, so each field is looked for wherever it plausibly sits.
fn call(data: &Value) -> Option<Call> {
    let nested = data.get("call").filter(|c| c.is_object());
    let get = |k: &str| data.get(k).or_else(|| nested.and_then(|c| c.get(k)));
    let id = ["call_id", "id"]
        .iter()
        .find_map(|&k| id_field(data, k).or_else(|| nested.and_then(|c| id_field(c, k))))?;
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|&k| get(k).and_then(|v| handle_of(v).map(|h| h.identifier)))
    };
    let string = |keys: &[&str]| {
        keys.iter()
            .find_map(|&k| get(k).and_then(Value::as_str).map(str::to_string))
    };
    let time = |keys: &[&str]| {
        keys.iter()
            .find_map(|&k| get(k).and_then(|v| Time::deserialize(v).ok()))
    };
    let int = |keys: &[&str]| {
        keys.iter()
            .find_map(|&k| get(k).and_then(|v| Int::deserialize(v).ok()))
    };
    Some(Call {
        id,
        from: text(&["from", "from_handle", "from_number", "caller"]),
        to: text(&["to", "to_handle", "to_number", "callee"]),
        status: string(&["status"]),
        direction: string(&["direction"]).filter(|d| d == "inbound" || d == "outbound"),
        start_time: time(&["started_at", "start_time", "initiated_at", "created_at"]),
        end_time: time(&["ended_at", "end_time"]),
        duration: int(&["duration", "duration_seconds"]).map(|d| d.0),
        call_type: string(&["call_type", "service"]),
        forwarded_from: string(&["forwarded_from"]),
        answered_by: string(&["answered_by"]),
        voicemail: get("voicemail").and_then(Value::as_bool),
        has_recording: None,
        recording: None,
    })
}

// ---- wire shapes ----

#[derive(Deserialize)]
struct ChatRef {
    id: Id,
    #[serde(default)]
    is_group: Option<bool>,
    #[serde(default)]
    owner_handle: Option<Value>,
}

#[derive(Deserialize)]
struct WireMessage {
    id: Id,
    #[serde(default)]
    chat: Option<ChatRef>,
    #[serde(default)]
    chat_id: Option<Id>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    parts: Option<Vec<Value>>,
    #[serde(default)]
    sender_handle: Option<Value>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    sent_at: Option<Time>,
    #[serde(default)]
    delivered_at: Option<Time>,
    #[serde(default)]
    read_at: Option<Time>,
    #[serde(default)]
    reply_to: Option<WireReplyTo>,
    #[serde(default)]
    is_group: Option<bool>,
    /// The key the message was sent with (the rep's own, sent through an API).
    #[serde(default)]
    idempotency_key: Option<String>,
}

#[derive(Deserialize)]
struct WireFailed {
    #[serde(default)]
    message_id: Option<Id>,
    #[serde(default)]
    chat_id: Option<Id>,
    #[serde(default)]
    code: Option<Id>,
    #[serde(default)]
    detail_code: Option<Id>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    failed_at: Option<Time>,
}

#[derive(Deserialize)]
struct EditedPart {
    #[serde(default)]
    index: Option<Int>,
    text: String,
}

#[derive(Deserialize)]
struct WireEdited {
    id: Id,
    #[serde(default)]
    chat: Option<ChatRef>,
    #[serde(default)]
    chat_id: Option<Id>,
    #[serde(default)]
    edited_at: Option<Time>,
    part: EditedPart,
}

#[derive(Deserialize)]
struct WireReaction {
    #[serde(default)]
    is_from_me: Option<bool>,
    reaction_type: String,
    #[serde(default)]
    chat_id: Option<Id>,
    message_id: Id,
    #[serde(default)]
    part_index: Option<Int>,
    #[serde(default)]
    reacted_at: Option<Time>,
    #[serde(default)]
    from_handle: Option<Value>,
    #[serde(default)]
    from: Option<Value>,
    #[serde(default)]
    custom_emoji: Option<String>,
    #[serde(default)]
    sticker: Option<Value>,
}

#[derive(Deserialize)]
struct WireGroupChange {
    chat_id: Id,
    #[serde(default)]
    updated_at: Option<Time>,
    #[serde(default)]
    changed_by_handle: Option<Value>,
    #[serde(default)]
    old_value: Option<String>,
    #[serde(default)]
    new_value: Option<String>,
}

#[derive(Deserialize)]
struct WireTyping {
    chat_id: Id,
}

#[derive(Deserialize)]
struct WireReplyTo {
    message_id: Id,
    #[serde(default)]
    part_index: Option<Int>,
}

#[derive(Deserialize)]
struct WireNumberStatus {
    phone_number: String,
    #[serde(default)]
    changed_at: Option<Time>,
    #[serde(default)]
    previous_status: Option<String>,
    #[serde(default)]
    new_status: Option<String>,
    #[serde(default)]
    previous_reputation: Option<String>,
    #[serde(default)]
    new_reputation: Option<String>,
}

#[derive(Deserialize)]
struct WireLocationSharing {
    #[serde(default)]
    shared_by: Option<String>,
    #[serde(default, rename = "shared_with")]
    _shared_with: Option<String>,
    #[serde(default)]
    began_at: Option<Time>,
    #[serde(default)]
    ends_at: Option<Time>,
    #[serde(default)]
    ended_at: Option<Time>,
    #[serde(default)]
    chat_id: Option<Id>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linq::parse_envelope;
    use serde_json::json;

    fn v3(event_type: &str, data: Value) -> Fact {
        parse_envelope(
            &json!({"api_version": "v3", "webhook_version": "2026-02-03",
            "event_type": event_type, "event_id": "e1", "created_at": "2026-11-20T17:15:00Z",
            "trace_id": "t", "partner_id": "p", "data": data})
            .to_string(),
        )
        .expect("a v3 envelope parses")
        .fact
    }

    #[test]
    fn the_fixture_reads_as_a_received_message() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v3");
        let body = std::fs::read_to_string(dir.join("message.received.json")).expect("fixture");
        let env = parse_envelope(&body).expect("fixture parses");
        assert_eq!(
            env.meta.webhook_version.as_deref(),
            Some("2026-02-03"),
            "the payload shape is kept"
        );
        assert_eq!(
            env.meta.trace_id.as_deref(),
            Some("trace-fixture-1"),
            "the trace id is kept for support"
        );
        assert_eq!(
            env.meta.partner_id.as_deref(),
            Some("partner-fixture-1"),
            "the partner id is kept for support"
        );
        let Fact::Message(m) = env.fact else {
            panic!("message.received is a message")
        };
        assert_eq!(
            m.chat_id, "c0ffee00-0000-4000-8000-000000000042",
            "the chat comes from chat.id"
        );
        assert_eq!(
            m.text().as_deref(),
            Some("Hola desde v3 — ¿seguimos mañana?"),
            "the text part is the text"
        );
        assert_eq!(
            m.from.as_deref(),
            Some("+14155550101"),
            "the sender handle is the sender"
        );
        assert_eq!(m.attachments.len(), 1, "the media part is an attachment");
        assert_eq!(
            m.attachments[0].filename.as_deref(),
            Some("quote.pdf"),
            "the media part's filename is kept"
        );
        assert_eq!(m.direction, Direction::Inbound, "Linq says inbound");
    }

    #[test]
    fn the_2025_shape_nests_the_message() {
        let e = v3(
            "message.sent",
            json!({"chat_id": "c1", "from_handle": "+1999", "is_from_me": true, "is_group": true,
                   "message": {"id": "m1", "parts": [{"type": "text", "value": "hi"},
                                                      {"type": "link", "value": "https://x.example"}]}}),
        );
        let Fact::Message(m) = e else { panic!("sent") };
        assert_eq!(m.chat_id, "c1", "the chat id sits beside the message");
        assert_eq!(
            m.text().as_deref(),
            Some("hi\nhttps://x.example"),
            "text and link parts, one per line"
        );
        assert_eq!(m.direction, Direction::Outbound, "is_from_me says outbound");
        assert_eq!(m.is_group, Some(true), "is_group sits beside the message");
        assert!(
            m.handles[0].is_me,
            "the sender of an outbound message is me"
        );
    }

    #[test]
    fn reactions_have_a_stable_identity_for_removal() {
        let data = json!({"is_from_me": false, "reaction_type": "custom", "custom_emoji": "🦄",
                          "message_id": "m1", "chat_id": "c1", "from_handle": {"handle": "+1555"}});
        let Fact::Reaction(added) = v3("reaction.added", data.clone()) else {
            panic!("added")
        };
        let Fact::Reaction(removed) = v3("reaction.removed", data) else {
            panic!("removed")
        };
        assert_eq!(
            added.key(),
            removed.key(),
            "removal names the same reaction"
        );
        assert_eq!(
            removed.change,
            ReactionChange::Removed,
            "reaction.removed removes"
        );
        assert_eq!(
            added.custom_emoji.as_deref(),
            Some("🦄"),
            "the custom emoji is kept"
        );
    }

    #[test]
    fn calls_without_an_id_stay_raw_and_unknown_types_are_kept() {
        assert!(
            matches!(v3("call.ringing", json!({"x": 1})), Fact::Unknown),
            "a call stage naming no call stays raw"
        );
        assert!(
            matches!(
                v3("call.ringing", json!({"call_id": "k1", "from": "+1"})),
                Fact::Call(CallReport {
                    stage: Some(CallStage::Ringing),
                    ..
                })
            ),
            "a named call's stage is a call report"
        );
        assert!(
            matches!(v3("payment.succeeded", json!({"x": 1})), Fact::Unknown),
            "an unknown type is kept raw"
        );
    }

    #[test]
    fn wrong_types_are_refused_with_their_path() {
        let err = parse_envelope(
            &json!({"api_version": "v3", "event_type": "message.edited",
            "event_id": "e", "data": {"id": "m", "part": {"index": 0, "text": 5}}})
            .to_string(),
        )
        .expect_err("a number is not text");
        assert!(err.to_string().contains("part.text"), "{err}");
    }
}
