//! The webhook envelope and its typed event payloads: v2 here, v3 read by `v3.rs` into the
//! same variants where the two versions mean the same thing.
//!
//! Parsing is strict about types (a `text` that is an object is refused) and lenient about
//! presence (optional fields may be missing, unknown fields are ignored), because the vendor
//! documents shapes loosely but a wrongly typed field means the body is not what Linq sends.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::v3::{self, MessageExtra, ReactionExtra};
use super::value::{id_field, kind_of, object, objects, Id, Int, Time};

/// Why a body is not a usable Linq envelope. The text is one sentence for the sender.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("envelope field {field} {problem}")]
    Envelope {
        field: &'static str,
        problem: String,
    },
    #[error("data does not fit {event_type}: {problem}")]
    Data { event_type: String, problem: String },
}

/// The fields every delivery carries, whatever its type.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub api_version: Option<String>,
    /// v3: `2025-01-01` or `2026-02-03` (the payload shape).
    pub webhook_version: Option<String>,
    /// v3: Linq's trace and partner ids, kept for support requests.
    pub trace_id: Option<String>,
    pub partner_id: Option<String>,
    pub event_id: String,
    pub event_type: String,
    pub created_at: Option<Time>,
    pub event: Event,
}

/// Every event type the app understands; anything else is `Unknown` and kept raw.
#[derive(Debug, Clone)]
pub enum Event {
    MessageSent(Message),
    MessageReceived(Message),
    MessageRead(MessageRead),
    CallCompleted(Call),
    ReactionSent(Reaction),
    ReactionReceived(Reaction),
    TypingStarted(Typing),
    TypingStopped(Typing),
    ContactCreated(Contact),
    ContactUpdated(Contact),
    ContactDeleted(ContactRef),
    ParticipantAdded(Participant),
    ParticipantRemoved(Participant),
    ChatCreated(ChatCreated),
    // Only v3 says these.
    MessageDelivered(Message),
    MessageFailed(v3::MessageFailed),
    MessageEdited(v3::MessageEdited),
    ReactionRemoved(Reaction),
    GroupChanged(v3::GroupChange),
    NumberStatus(v3::NumberStatus),
    LocationSharing(v3::LocationSharing),
    CallStage(v3::CallStage),
    Unknown,
}

/// The event types this build understands, in the vendor's order.
pub const KNOWN_EVENT_TYPES: [&str; 14] = [
    "message.sent",
    "message.received",
    "message.read",
    "call.completed",
    "reaction.sent",
    "reaction.received",
    "typing_indicator.received",
    "typing_indicator.removed",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "participant.added",
    "participant.removed",
    "chat.created",
];

#[derive(Debug, Clone, Deserialize)]
pub struct Handle {
    #[serde(alias = "handle", alias = "phone_number")]
    pub identifier: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub is_me: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub id: Id,
    pub chat_id: Id,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub sent_at: Option<Time>,
    #[serde(default)]
    pub is_read: Option<bool>,
    #[serde(default)]
    pub from_phone: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub reaction_id: Option<Id>,
    #[serde(default, deserialize_with = "objects")]
    pub chat_handles: Option<Vec<Handle>>,
    #[serde(default, deserialize_with = "objects")]
    pub attachments: Option<Vec<Attachment>>,
    /// Set only when the message came as v3.
    #[serde(skip)]
    pub v3: Option<Box<MessageExtra>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MessageRead {
    /// The message that was read.
    pub id: Id,
    #[serde(default)]
    pub chat_id: Option<Id>,
    #[serde(default)]
    pub read_at: Option<Time>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Recording {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub duration: Option<Int>,
    #[serde(default)]
    pub transcription: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Call {
    pub id: Id,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub start_time: Option<Time>,
    #[serde(default)]
    pub end_time: Option<Time>,
    #[serde(default)]
    pub duration: Option<Int>,
    #[serde(default)]
    pub call_type: Option<String>,
    #[serde(default)]
    pub forwarded_from: Option<String>,
    #[serde(default)]
    pub answered_by: Option<String>,
    #[serde(default)]
    pub voicemail: Option<bool>,
    #[serde(default)]
    pub has_recording: Option<bool>,
    #[serde(default, deserialize_with = "object")]
    pub recording_data: Option<Recording>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HandleRef {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default, alias = "handle")]
    pub identifier: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssociatedMessage {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub sent_at: Option<Time>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reaction {
    pub id: Id,
    #[serde(default)]
    pub chat_message_id: Option<Id>,
    #[serde(default)]
    pub chat_id: Option<Id>,
    pub reaction: String,
    #[serde(default)]
    pub is_from_me: Option<bool>,
    #[serde(default)]
    pub sent_at: Option<Time>,
    #[serde(default)]
    pub created_at: Option<Time>,
    #[serde(default, deserialize_with = "object")]
    pub chat_handle: Option<HandleRef>,
    #[serde(default, deserialize_with = "objects")]
    pub chat_handles: Option<Vec<Handle>>,
    #[serde(default, deserialize_with = "object")]
    pub associated_message: Option<AssociatedMessage>,
    /// Set only when the reaction came as v3.
    #[serde(skip)]
    pub v3: Option<Box<ReactionExtra>>,
}

impl Reaction {
    /// The message reacted to: `chat_message_id`, else the associated message's id.
    pub fn message_id(&self) -> Option<&Id> {
        self.chat_message_id
            .as_ref()
            .or_else(|| self.associated_message.as_ref()?.id.as_ref())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Typing {
    pub chat_id: Id,
    #[serde(default)]
    pub display: Option<bool>,
    #[serde(default)]
    pub timestamp: Option<Time>,
    #[serde(default, deserialize_with = "object")]
    pub chat_handle: Option<HandleRef>,
    #[serde(default)]
    pub from_phone: Option<String>,
    #[serde(default, deserialize_with = "objects")]
    pub chat_handles: Option<Vec<Handle>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContactOwner {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Contact {
    pub id: Id,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub created_at: Option<Time>,
    #[serde(default)]
    pub updated_at: Option<Time>,
    #[serde(default, deserialize_with = "object")]
    pub contact_owner: Option<ContactOwner>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContactRef {
    pub id: Id,
}

/// A group-membership change. Linq has not published this shape, so it is read by looking for a
/// chat id and handles wherever they plausibly sit; either may be missing.
#[derive(Debug, Clone, Default)]
pub struct Participant {
    pub chat_id: Option<String>,
    pub handles: Vec<ParticipantHandle>,
    pub at: Option<Time>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantHandle {
    pub identifier: String,
    pub display_name: Option<String>,
}

/// `chat.created`: a chat id, maybe a name and handles.
#[derive(Debug, Clone, Default)]
pub struct ChatCreated {
    pub chat_id: Option<String>,
    pub display_name: Option<String>,
    pub is_group: Option<bool>,
    pub handles: Vec<Handle>,
}

/// Parses a whole delivery body: JSON object, envelope fields, and the typed data for known
/// event types. `value` is the body already parsed once (signature checking needs it too).
pub fn parse_envelope(value: &Value) -> Result<Envelope, EventError> {
    let object = value.as_object().ok_or(EventError::NotObject)?;
    let event_type = match object.get("event_type") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.clone(),
        Some(Value::String(_)) => {
            return Err(envelope_err(
                "event_type",
                "must be a short non-empty string",
            ))
        }
        Some(other) => {
            return Err(envelope_err(
                "event_type",
                format!("must be a string, not {}", kind_of(other)),
            ))
        }
        None => return Err(envelope_err("event_type", "is missing")),
    };
    let event_id = match object.get("event_id") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.clone(),
        // Numbers keep every digit (arbitrary precision), so they need the same length limit.
        Some(Value::Number(n)) if n.to_string().len() <= 200 => n.to_string(),
        Some(Value::Number(_)) => {
            return Err(envelope_err("event_id", "must be at most 200 digits"))
        }
        Some(Value::String(_)) => {
            return Err(envelope_err("event_id", "must be a short non-empty string"))
        }
        Some(other) => {
            return Err(envelope_err(
                "event_id",
                format!("must be a string, not {}", kind_of(other)),
            ))
        }
        None => return Err(envelope_err("event_id", "is missing")),
    };
    let api_version = match object.get("api_version") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(envelope_err(
                "api_version",
                format!("must be a string, not {}", kind_of(other)),
            ))
        }
    };
    let optional_text = |field: &'static str| match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(envelope_err(
            field,
            format!("must be a string, not {}", kind_of(other)),
        )),
    };
    let webhook_version = optional_text("webhook_version")?;
    let trace_id = optional_text("trace_id")?;
    let partner_id = optional_text("partner_id")?;
    let created_at = match object.get("created_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<Time>(v.clone())
                .map_err(|e| envelope_err("created_at", e.to_string()))?,
        ),
    };
    let data = object.get("data").unwrap_or(&Value::Null);
    let event = if v3::is_v3(object) {
        v3::parse_data(&event_type, data)?
    } else {
        parse_data(&event_type, data)?
    };
    Ok(Envelope {
        api_version,
        webhook_version,
        trace_id,
        partner_id,
        event_id,
        event_type,
        created_at,
        event,
    })
}

fn envelope_err(field: &'static str, problem: impl Into<String>) -> EventError {
    EventError::Envelope {
        field,
        problem: problem.into(),
    }
}

fn parse_data(event_type: &str, data: &Value) -> Result<Event, EventError> {
    if !KNOWN_EVENT_TYPES.contains(&event_type) {
        return Ok(Event::Unknown);
    }
    if !data.is_object() {
        return Err(EventError::Data {
            event_type: event_type.to_string(),
            problem: format!("data must be an object, not {}", kind_of(data)),
        });
    }
    let event = match event_type {
        "message.sent" => Event::MessageSent(typed(event_type, data)?),
        "message.received" => Event::MessageReceived(typed(event_type, data)?),
        "message.read" => Event::MessageRead(typed(event_type, data)?),
        "call.completed" => Event::CallCompleted(typed(event_type, data)?),
        "reaction.sent" | "reaction.received" => {
            let reaction: Reaction = typed(event_type, data)?;
            if reaction.message_id().is_none() {
                return Err(EventError::Data {
                    event_type: event_type.to_string(),
                    problem: "neither chat_message_id nor associated_message.id names the message"
                        .into(),
                });
            }
            if event_type == "reaction.sent" {
                Event::ReactionSent(reaction)
            } else {
                Event::ReactionReceived(reaction)
            }
        }
        "typing_indicator.received" => Event::TypingStarted(typed(event_type, data)?),
        "typing_indicator.removed" => Event::TypingStopped(typed(event_type, data)?),
        "contact.created" => Event::ContactCreated(typed(event_type, data)?),
        "contact.updated" => Event::ContactUpdated(typed(event_type, data)?),
        "contact.deleted" => Event::ContactDeleted(typed(event_type, data)?),
        "participant.added" => Event::ParticipantAdded(participant(data)),
        "participant.removed" => Event::ParticipantRemoved(participant(data)),
        "chat.created" => Event::ChatCreated(chat_created(data)),
        _ => Event::Unknown,
    };
    Ok(event)
}

pub(crate) fn typed<T: DeserializeOwned>(event_type: &str, data: &Value) -> Result<T, EventError> {
    serde_path_to_error::deserialize(data).map_err(
        |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let problem = if path == "." {
                inner
            } else {
                format!("{path}: {inner}")
            };
            EventError::Data {
                event_type: event_type.to_string(),
                problem,
            }
        },
    )
}

/// Finds the chat and the handles of a membership change in whatever shape it arrives.
pub(crate) fn participant(data: &Value) -> Participant {
    let chat_id = id_field(data, "chat_id")
        .or_else(|| id_field(data, "group_chat_id"))
        .or_else(|| data.get("chat").and_then(|c| id_field(c, "id")));
    let mut handles = Vec::new();
    for key in [
        "participant",
        "chat_handle",
        "handle",
        "participants",
        "handles",
        "chat_handles",
    ] {
        collect_handles(data.get(key), &mut handles);
    }
    for key in ["phone_number", "identifier", "from_phone"] {
        if let Some(Value::String(s)) = data.get(key) {
            push_handle(&mut handles, s, None);
        }
    }
    let at = [
        "added_at",
        "removed_at",
        "timestamp",
        "created_at",
        "updated_at",
    ]
    .iter()
    .find_map(|k| {
        data.get(*k)
            .and_then(|v| serde_json::from_value::<Time>(v.clone()).ok())
    });
    Participant {
        chat_id,
        handles,
        at,
    }
}

fn collect_handles(value: Option<&Value>, out: &mut Vec<ParticipantHandle>) {
    match value {
        Some(Value::String(s)) => push_handle(out, s, None),
        Some(Value::Array(items)) => items.iter().for_each(|v| collect_handles(Some(v), out)),
        Some(Value::Object(_)) => {
            let v = value.unwrap_or(&Value::Null);
            let identifier = ["identifier", "handle", "phone_number", "phone", "email"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str));
            let name = ["display_name", "name", "full_name"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str));
            if let Some(identifier) = identifier {
                push_handle(out, identifier, name);
            }
        }
        _ => {}
    }
}

fn push_handle(out: &mut Vec<ParticipantHandle>, identifier: &str, name: Option<&str>) {
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.len() > 320 {
        return;
    }
    if let Some(existing) = out.iter_mut().find(|h| h.identifier == identifier) {
        if existing.display_name.is_none() {
            existing.display_name = name.map(str::to_string);
        }
        return;
    }
    out.push(ParticipantHandle {
        identifier: identifier.to_string(),
        display_name: name.map(str::to_string),
    });
}

pub(crate) fn chat_created(data: &Value) -> ChatCreated {
    let chat_id = id_field(data, "chat_id")
        .or_else(|| id_field(data, "id"))
        .or_else(|| data.get("chat").and_then(|c| id_field(c, "id")));
    let display_name = ["display_name", "name", "title"]
        .iter()
        .find_map(|k| data.get(*k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string);
    let handles = ["chat_handles", "handles"]
        .iter()
        .find_map(|k| data.get(*k))
        .and_then(|v| serde_json::from_value::<Vec<Handle>>(v.clone()).ok())
        .unwrap_or_default();
    ChatCreated {
        chat_id,
        display_name,
        is_group: data.get("is_group").and_then(Value::as_bool),
        handles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_types_are_kept_without_data_checks() {
        let env = parse_envelope(&json!({"event_type": "poll.created", "event_id": 7, "data": 5}))
            .expect("unknown type is accepted");
        assert!(matches!(env.event, Event::Unknown));
        assert_eq!(env.event_id, "7", "numeric event ids become text");
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let err = parse_envelope(&json!({
            "event_type": "message.received", "event_id": "e1",
            "data": {"id": "1", "chat_id": "2", "text": {"x": 1}}
        }))
        .expect_err("an object is not text");
        let text = err.to_string();
        assert!(text.contains("text"), "the error names the field: {text}");
    }

    #[test]
    fn envelope_fields_are_required() {
        assert_eq!(
            parse_envelope(&json!({"event_id": "x"}))
                .expect_err("no type")
                .to_string(),
            "envelope field event_type is missing"
        );
        assert!(parse_envelope(&json!({"event_type": "message.read"})).is_err());
        assert_eq!(
            parse_envelope(&json!([1])).expect_err("array"),
            EventError::NotObject
        );
    }

    #[test]
    fn participants_are_found_in_plausible_shapes() {
        let p = participant(
            &json!({"chat_id": 99, "participant": {"handle": "+1555", "display_name": "Ann"}}),
        );
        assert_eq!(p.chat_id.as_deref(), Some("99"));
        assert_eq!(
            p.handles,
            vec![ParticipantHandle {
                identifier: "+1555".into(),
                display_name: Some("Ann".into())
            }]
        );
        let p = participant(&json!({"chat": {"id": "g"}, "handle": "+1666"}));
        assert_eq!(p.chat_id.as_deref(), Some("g"));
        assert_eq!(p.handles.len(), 1);
        let p = participant(&json!({"something": "else"}));
        assert!(
            p.chat_id.is_none() && p.handles.is_empty(),
            "nothing invented"
        );
    }

    #[test]
    fn reactions_need_the_message_they_react_to() {
        let err = parse_envelope(&json!({"event_type": "reaction.received", "event_id": "r",
            "data": {"id": "1", "reaction": "like"}}));
        assert!(err.is_err(), "a reaction on no message is refused");
        let ok = parse_envelope(&json!({"event_type": "reaction.received", "event_id": "r",
            "data": {"id": "1", "reaction": "like", "associated_message": {"id": 5}}}))
        .expect("associated message id is enough");
        let Event::ReactionReceived(r) = ok.event else {
            panic!("wrong variant")
        };
        assert_eq!(r.message_id().map(Id::as_str), Some("5"));
    }
}
