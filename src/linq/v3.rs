//! Linq API v3 event payloads, read into the same `Event`s as v2 wherever the two mean the same
//! thing (a received message is a received message), so the projection, the feed and the
//! notifications treat a chat that arrives half as v2 and half as v3 as one conversation.
//!
//! What only v3 says (delivered, failed, edited, reactions removed, group name and icon,
//! number health, location sharing, call stages) gets its own variants. Shapes follow
//! `linq-v3-webhooks.md`: `webhook_version` 2026-02-03 puts the message at the top of `data`,
//! 2025-01-01 nests it under `message` beside `chat_id`, `from_handle` and `is_from_me`; both
//! are accepted whatever the envelope says, since the subscription's date decides the shape.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::event::{
    self, chat_created, participant, typed, Attachment, Call, Event, EventError, Handle, HandleRef,
    MessageRead, Reaction, Typing,
};
use super::value::{id_field, Id, Int, Time};

/// The v3 event types this build projects; every other v3 type is stored raw.
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

/// True for an envelope that declares itself v3.
pub fn is_v3(envelope: &Map<String, Value>) -> bool {
    matches!(envelope.get("api_version"), Some(Value::String(v)) if v.eq_ignore_ascii_case("v3"))
}

/// What v3 adds to a message: fields v2 never sends, set only when reading v3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageExtra {
    /// `inbound` or `outbound`, as Linq said it (v2 infers it from the event type).
    pub direction: Option<String>,
    pub is_group: Option<bool>,
    pub reply_to: Option<ReplyTo>,
    pub delivered_at: Option<Time>,
    pub read_at: Option<Time>,
    /// The text-bearing parts by their index in `parts`, so an edit of part N finds its text.
    pub text_parts: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReplyTo {
    pub message_id: Id,
    #[serde(default)]
    pub part_index: Option<Int>,
}

/// What v3 adds to a reaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReactionExtra {
    pub part_index: Option<i64>,
    pub custom_emoji: Option<String>,
    /// The sticker object as sent (JSON), for `reaction_type` = `sticker`.
    pub sticker: Option<String>,
}

/// `message.failed`: the message may be unnamed; a `message.delivered` may still follow.
#[derive(Debug, Clone)]
pub struct MessageFailed {
    pub message_id: Option<Id>,
    pub chat_id: Option<Id>,
    pub code: Option<String>,
    pub detail_code: Option<String>,
    pub reason: Option<String>,
    pub failed_at: Option<Time>,
}

/// `message.edited`: one part's new text.
#[derive(Debug, Clone)]
pub struct MessageEdited {
    pub message_id: Id,
    pub chat_id: Option<Id>,
    pub part_index: i64,
    pub text: String,
    pub edited_at: Option<Time>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupField {
    Name,
    Icon,
}

impl GroupField {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupField::Name => "group_name",
            GroupField::Icon => "group_icon",
        }
    }
}

/// `chat.group_name_updated` / `chat.group_icon_updated`.
#[derive(Debug, Clone)]
pub struct GroupChange {
    pub chat_id: Id,
    pub field: GroupField,
    pub changed_by: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub updated_at: Option<Time>,
}

/// `phone_number.status_updated`: the health of one of the rep's numbers.
#[derive(Debug, Clone, Deserialize)]
pub struct NumberStatus {
    pub phone_number: String,
    #[serde(default)]
    pub changed_at: Option<Time>,
    #[serde(default)]
    pub previous_status: Option<String>,
    #[serde(default)]
    pub new_status: Option<String>,
    #[serde(default)]
    pub previous_reputation: Option<String>,
    #[serde(default)]
    pub new_reputation: Option<String>,
}

/// `location.sharing.started` / `stopped`. No coordinates travel in the webhook.
#[derive(Debug, Clone, Deserialize)]
pub struct LocationSharing {
    #[serde(skip)]
    pub started: bool,
    #[serde(default)]
    pub shared_by: Option<String>,
    #[serde(default)]
    pub shared_with: Option<String>,
    #[serde(default)]
    pub began_at: Option<Time>,
    #[serde(default)]
    pub ends_at: Option<Time>,
    #[serde(default)]
    pub ended_at: Option<Time>,
    #[serde(default)]
    pub chat_id: Option<Id>,
}

/// A `call.*` stage. No SDK defines these payloads, so the call is read from whatever fields
/// plausibly carry it, and the stage comes from the event type.
#[derive(Debug, Clone)]
pub struct CallStage {
    /// `initiated`, `ringing`, `answered`, `ended`, `failed`, `declined`, `no_answer`.
    pub stage: String,
    pub call: Call,
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
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    is_group: Option<bool>,
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

/// Reads a v3 `data` object for `event_type`.
pub fn parse_data(event_type: &str, data: &Value) -> Result<Event, EventError> {
    if !KNOWN_V3_EVENT_TYPES.contains(&event_type) {
        return Ok(Event::Unknown);
    }
    if !data.is_object() {
        return Err(EventError::Data {
            event_type: event_type.to_string(),
            problem: format!(
                "data must be an object, not {}",
                super::value::kind_of(data)
            ),
        });
    }
    let event = match event_type {
        "message.sent" => Event::MessageSent(message(event_type, data)?),
        "message.received" => Event::MessageReceived(message(event_type, data)?),
        "message.delivered" => Event::MessageDelivered(message(event_type, data)?),
        "message.read" => {
            let m = message(event_type, data)?;
            let read_at = m.v3.as_ref().and_then(|x| x.read_at.clone());
            Event::MessageRead(MessageRead {
                id: m.id.clone(),
                chat_id: Some(m.chat_id.clone()),
                read_at,
            })
        }
        "message.failed" => {
            let w: WireFailed = typed(event_type, data)?;
            Event::MessageFailed(MessageFailed {
                message_id: w.message_id,
                chat_id: w.chat_id,
                code: w.code.map(|c| c.0),
                detail_code: w.detail_code.map(|c| c.0),
                reason: w.reason,
                failed_at: w.failed_at,
            })
        }
        "message.edited" => {
            let w: WireEdited = typed(event_type, data)?;
            Event::MessageEdited(MessageEdited {
                chat_id: w.chat.map(|c| c.id).or(w.chat_id),
                message_id: w.id,
                part_index: w.part.index.map(|i| i.0).unwrap_or(0),
                text: w.part.text,
                edited_at: w.edited_at,
            })
        }
        "reaction.added" => {
            let r = reaction(event_type, data)?;
            if r.is_from_me == Some(true) {
                Event::ReactionSent(r)
            } else {
                Event::ReactionReceived(r)
            }
        }
        "reaction.removed" => Event::ReactionRemoved(reaction(event_type, data)?),
        "participant.added" => Event::ParticipantAdded(participant(data)),
        "participant.removed" => Event::ParticipantRemoved(participant(data)),
        "chat.created" => Event::ChatCreated(chat_created(data)),
        "chat.group_name_updated" | "chat.group_icon_updated" => {
            let w: WireGroupChange = typed(event_type, data)?;
            Event::GroupChanged(GroupChange {
                chat_id: w.chat_id,
                field: if event_type == "chat.group_name_updated" {
                    GroupField::Name
                } else {
                    GroupField::Icon
                },
                changed_by: w
                    .changed_by_handle
                    .as_ref()
                    .and_then(handle_of)
                    .map(|h| h.identifier),
                old_value: w.old_value,
                new_value: w.new_value,
                updated_at: w.updated_at,
            })
        }
        "chat.typing_indicator.started" | "chat.typing_indicator.stopped" => {
            let w: WireTyping = typed(event_type, data)?;
            let typing = Typing {
                chat_id: w.chat_id,
                display: None,
                timestamp: None,
                chat_handle: None,
                from_phone: None,
                chat_handles: None,
            };
            if event_type.ends_with("started") {
                Event::TypingStarted(typing)
            } else {
                Event::TypingStopped(typing)
            }
        }
        "phone_number.status_updated" => Event::NumberStatus(typed(event_type, data)?),
        "location.sharing.started" | "location.sharing.stopped" => {
            let mut l: LocationSharing = typed(event_type, data)?;
            l.started = event_type.ends_with("started");
            Event::LocationSharing(l)
        }
        t if t.starts_with("call.") => match call(data) {
            Some(call) => Event::CallStage(CallStage {
                stage: t.trim_start_matches("call.").to_string(),
                call,
            }),
            None => Event::Unknown,
        },
        _ => Event::Unknown,
    };
    Ok(event)
}

/// A handle given as a plain string or as a ChatHandle object.
fn handle_of(v: &Value) -> Option<Handle> {
    let (identifier, is_me, name) = match v {
        Value::String(s) => (s.as_str(), None, None),
        Value::Object(o) => (
            ["handle", "identifier", "phone_number", "email"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))?,
            o.get("is_me").and_then(Value::as_bool),
            o.get("display_name").and_then(Value::as_str),
        ),
        _ => return None,
    };
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.len() > 320 {
        return None;
    }
    Some(Handle {
        identifier: identifier.to_string(),
        display_name: name.map(str::to_string),
        is_me,
    })
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

fn message(event_type: &str, data: &Value) -> Result<event::Message, EventError> {
    let lifted = lift_nested(data);
    let w: WireMessage = typed(event_type, &lifted)?;
    let chat_id = match (w.chat.as_ref().map(|c| c.id.clone()), w.chat_id) {
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => {
            return Err(EventError::Data {
                event_type: event_type.to_string(),
                problem: "neither chat.id nor chat_id names the chat".into(),
            })
        }
    };
    let direction = w
        .direction
        .filter(|d| d == "inbound" || d == "outbound")
        .or_else(|| match event_type {
            // Delivery reports are about the rep's own messages.
            "message.sent" | "message.delivered" => Some("outbound".into()),
            "message.received" => Some("inbound".into()),
            _ => None,
        });
    let outbound = direction.as_deref() == Some("outbound");
    let mut handles = Vec::new();
    let sender = w.sender_handle.as_ref().and_then(handle_of).map(|mut h| {
        h.is_me = Some(h.is_me.unwrap_or(outbound));
        h
    });
    if let Some(h) = &sender {
        handles.push(h.clone());
    }
    if let Some(owner) = w
        .chat
        .as_ref()
        .and_then(|c| c.owner_handle.as_ref())
        .and_then(handle_of)
    {
        if !handles.iter().any(|h| h.identifier == owner.identifier) {
            handles.push(Handle {
                is_me: Some(true),
                ..owner
            });
        }
    }
    let mut texts = Vec::new();
    let mut attachments = Vec::new();
    for (index, part) in w.parts.iter().flatten().enumerate() {
        let field = |k: &str| part.get(k).and_then(Value::as_str).map(str::to_string);
        match part.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" | "link" => {
                if let Some(v) = field("value").filter(|v| !v.is_empty()) {
                    texts.push((index as i64, v));
                }
            }
            "imessage_app" => {
                if let Some(v) = field("fallback_text").or_else(|| field("url")) {
                    texts.push((index as i64, v));
                }
            }
            "media" => attachments.push(Attachment {
                id: id_field(part, "id").map(Id),
                url: field("url"),
                filename: field("filename"),
                mime_type: field("mime_type"),
            }),
            _ => {}
        }
    }
    let text = (!texts.is_empty()).then(|| join_parts(&texts));
    Ok(event::Message {
        id: w.id,
        chat_id,
        text,
        sent_at: w.sent_at,
        is_read: w.read_at.is_some().then_some(true),
        from_phone: sender.as_ref().map(|h| h.identifier.clone()),
        service: w.service,
        reaction_id: None,
        chat_handles: (!handles.is_empty()).then_some(handles),
        attachments: (!attachments.is_empty()).then_some(attachments),
        v3: Some(Box::new(MessageExtra {
            direction,
            is_group: w.chat.as_ref().and_then(|c| c.is_group).or(w.is_group),
            reply_to: w.reply_to,
            delivered_at: w.delivered_at,
            read_at: w.read_at,
            text_parts: texts,
        })),
    })
}

/// A message's text from its text-bearing parts, one per line.
pub fn join_parts(parts: &[(i64, String)]) -> String {
    parts
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn reaction(event_type: &str, data: &Value) -> Result<Reaction, EventError> {
    let w: WireReaction = typed(event_type, data)?;
    let from = w
        .from_handle
        .as_ref()
        .or(w.from.as_ref())
        .and_then(handle_of)
        .map(|h| h.identifier);
    let is_from_me = w.is_from_me.unwrap_or(false);
    let part_index = w.part_index.map(|i| i.0);
    let custom_emoji = w.custom_emoji.filter(|e| !e.trim().is_empty());
    // v3 reactions carry no id of their own; a reaction is who reacted how to which part, and
    // `reaction.removed` names the same four things.
    let who = if is_from_me {
        "me".to_string()
    } else {
        from.clone().unwrap_or_default()
    };
    let id = format!(
        "v3:{}:{}:{}:{}:{}",
        w.message_id,
        part_index.unwrap_or(0),
        who,
        w.reaction_type,
        custom_emoji.as_deref().unwrap_or("")
    );
    Ok(Reaction {
        id: Id(id),
        chat_message_id: Some(w.message_id),
        chat_id: w.chat_id,
        reaction: w.reaction_type,
        is_from_me: Some(is_from_me),
        sent_at: w.reacted_at,
        created_at: None,
        chat_handle: from.map(|identifier| HandleRef {
            id: None,
            identifier: Some(identifier),
        }),
        chat_handles: None,
        associated_message: None,
        v3: Some(Box::new(ReactionExtra {
            part_index,
            custom_emoji,
            sticker: w.sticker.filter(|s| s.is_object()).map(|s| s.to_string()),
        })),
    })
}

/// Reads a call from a `call.*` payload, or `None` when nothing names the call.
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
            .find_map(|&k| get(k).and_then(|v| serde_json::from_value::<Time>(v.clone()).ok()))
    };
    let int = |keys: &[&str]| {
        keys.iter()
            .find_map(|&k| get(k).and_then(|v| serde_json::from_value::<Int>(v.clone()).ok()))
    };
    Some(Call {
        id: Id(id),
        from: text(&["from", "from_handle", "from_number", "caller"]),
        to: text(&["to", "to_handle", "to_number", "callee"]),
        status: string(&["status"]),
        direction: string(&["direction"]).filter(|d| d == "inbound" || d == "outbound"),
        start_time: time(&["started_at", "start_time", "initiated_at", "created_at"]),
        end_time: time(&["ended_at", "end_time"]),
        duration: int(&["duration", "duration_seconds"]),
        call_type: string(&["call_type", "service"]),
        forwarded_from: string(&["forwarded_from"]),
        answered_by: string(&["answered_by"]),
        voicemail: get("voicemail").and_then(Value::as_bool),
        has_recording: None,
        recording_data: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linq::parse_envelope;
    use serde_json::json;

    fn v3(event_type: &str, data: Value) -> Event {
        parse_envelope(
            &json!({"api_version": "v3", "webhook_version": "2026-02-03",
            "event_type": event_type, "event_id": "e1", "created_at": "2026-11-20T17:15:00Z",
            "trace_id": "t", "partner_id": "p", "data": data}),
        )
        .expect("a v3 envelope parses")
        .event
    }

    #[test]
    fn the_fixture_reads_as_a_received_message() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v3");
        let body = std::fs::read(dir.join("message.received.json")).expect("fixture");
        let value: Value = serde_json::from_slice(&body).expect("json");
        let env = parse_envelope(&value).expect("fixture parses");
        assert_eq!(env.webhook_version.as_deref(), Some("2026-02-03"));
        assert_eq!(env.trace_id.as_deref(), Some("trace-fixture-1"));
        assert_eq!(env.partner_id.as_deref(), Some("partner-fixture-1"));
        let Event::MessageReceived(m) = env.event else {
            panic!("message.received is a received message")
        };
        assert_eq!(m.chat_id.as_str(), "c0ffee00-0000-4000-8000-000000000042");
        assert_eq!(m.text.as_deref(), Some("Hola desde v3 — ¿seguimos mañana?"));
        assert_eq!(m.from_phone.as_deref(), Some("+14155550101"));
        let a = m.attachments.as_deref().unwrap_or_default();
        assert_eq!(a.len(), 1, "the media part is an attachment");
        assert_eq!(a[0].filename.as_deref(), Some("quote.pdf"));
        assert_eq!(
            m.v3.as_ref().and_then(|x| x.direction.as_deref()),
            Some("inbound")
        );
    }

    #[test]
    fn the_2025_shape_nests_the_message() {
        let e = v3(
            "message.sent",
            json!({"chat_id": "c1", "from_handle": "+1999", "is_from_me": true, "is_group": true,
                   "message": {"id": "m1", "parts": [{"type": "text", "value": "hi"},
                                                      {"type": "link", "value": "https://x.example"}]}}),
        );
        let Event::MessageSent(m) = e else {
            panic!("sent")
        };
        assert_eq!(m.chat_id.as_str(), "c1");
        assert_eq!(m.text.as_deref(), Some("hi\nhttps://x.example"));
        let extra = m.v3.expect("v3 extra");
        assert_eq!(extra.direction.as_deref(), Some("outbound"));
        assert_eq!(extra.is_group, Some(true));
        assert_eq!(
            m.chat_handles.expect("sender handle")[0].is_me,
            Some(true),
            "the sender of an outbound message is me"
        );
    }

    #[test]
    fn reactions_have_a_stable_identity_for_removal() {
        let data = json!({"is_from_me": false, "reaction_type": "custom", "custom_emoji": "🦄",
                          "message_id": "m1", "chat_id": "c1", "from_handle": {"handle": "+1555"}});
        let Event::ReactionReceived(added) = v3("reaction.added", data.clone()) else {
            panic!("added by someone else is received")
        };
        let Event::ReactionRemoved(removed) = v3("reaction.removed", data) else {
            panic!("removed")
        };
        assert_eq!(added.id, removed.id, "removal names the same reaction");
        assert_eq!(added.v3.and_then(|x| x.custom_emoji).as_deref(), Some("🦄"));
    }

    #[test]
    fn calls_without_an_id_stay_raw_and_unknown_types_are_kept() {
        assert!(matches!(
            v3("call.ringing", json!({"x": 1})),
            Event::Unknown
        ));
        assert!(matches!(
            v3("call.ringing", json!({"call_id": "k1", "from": "+1"})),
            Event::CallStage(_)
        ));
        assert!(matches!(
            v3("payment.succeeded", json!({"x": 1})),
            Event::Unknown
        ));
    }

    #[test]
    fn wrong_types_are_refused_with_their_path() {
        let err = parse_envelope(&json!({"api_version": "v3", "event_type": "message.edited",
            "event_id": "e", "data": {"id": "m", "part": {"index": 0, "text": 5}}}))
        .expect_err("a number is not text");
        assert!(err.to_string().contains("part.text"), "{err}");
    }
}
