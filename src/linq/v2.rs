//! Linq's v2 webhooks (`linq-webhooks.md`) read into the inbox's facts.
//!
//! v2 says a message's direction by its event type (`message.sent` is the rep's) or by the
//! sender being one of the rep's own handles; it has one text per message and attachments
//! beside it, reactions with ids of their own, and a call only once it is over, as one record.

use serde::Deserialize;

use super::data::Data;
use super::error::EventError;
use super::model::{
    Attachment, Call, CallReport, Contact, ContactOwner, Direction, Fact, Handle, MembershipChange,
    Message, Reaction, ReactionChange, Read, Recording, TextPart, Typing,
};
use super::shapes::{chat_created, membership};
use super::value::{object, objects, Id, Int, Time};

/// The event types v2 sends, in the vendor's order; every other type is kept raw.
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

/// Reads a v2 `data` object for `event_type`.
pub fn read(event_type: &str, data: &Data) -> Result<Fact, EventError> {
    if !KNOWN_EVENT_TYPES.contains(&event_type) {
        return Ok(Fact::Unknown);
    }
    data.require_object(event_type)?;
    let fact = match event_type {
        "message.sent" => Fact::Message(message(data.typed(event_type)?, true)),
        "message.received" => Fact::Message(message(data.typed(event_type)?, false)),
        "message.read" => {
            let r: WireMessageRead = data.typed(event_type)?;
            Fact::Read(Read {
                message_id: r.id.0,
                chat_id: r.chat_id.map(|c| c.0),
                read_at: r.read_at,
            })
        }
        "call.completed" => Fact::Call(CallReport {
            call: call(data.typed(event_type)?),
            stage: None,
        }),
        "reaction.sent" | "reaction.received" => {
            let sent = event_type == "reaction.sent";
            Fact::Reaction(reaction(event_type, data.typed(event_type)?, sent)?)
        }
        "typing_indicator.received" | "typing_indicator.removed" => {
            let t: WireTyping = data.typed(event_type)?;
            let started = event_type == "typing_indicator.received" && t.display != Some(false);
            Fact::Typing(Typing {
                chat_id: t.chat_id.0,
                started,
                who: t.chat_handle.and_then(|h| h.identifier).or(t.from_phone),
                handles: handles(t.chat_handles),
            })
        }
        "contact.created" | "contact.updated" => Fact::Contact(contact(data.typed(event_type)?)),
        "contact.deleted" => {
            let c: WireContactRef = data.typed(event_type)?;
            Fact::ContactDeleted { id: c.id.0 }
        }
        "participant.added" => Fact::Membership(membership(data.tree(), MembershipChange::Added)),
        "participant.removed" => {
            Fact::Membership(membership(data.tree(), MembershipChange::Removed))
        }
        "chat.created" => Fact::ChatCreated(chat_created(data.tree())),
        _ => Fact::Unknown,
    };
    Ok(fact)
}

fn handles(wire: Option<Vec<WireHandle>>) -> Vec<Handle> {
    wire.into_iter()
        .flatten()
        .map(|h| Handle {
            identifier: h.identifier,
            display_name: h.display_name,
            is_me: h.is_me.unwrap_or(false),
        })
        .collect()
}

/// A v2 message: the rep's own when the event is `message.sent` or its sender is one of the
/// chat's handles marked as the rep's.
fn message(m: WireMessage, sent_event: bool) -> Message {
    let handles = handles(m.chat_handles);
    let from_me = m
        .from_phone
        .as_deref()
        .is_some_and(|from| handles.iter().any(|h| h.is_me && h.identifier == from));
    let direction = if sent_event || from_me {
        Direction::Outbound
    } else {
        Direction::Inbound
    };
    Message {
        id: m.id.0,
        chat_id: m.chat_id.0,
        direction,
        sent_at: m.sent_at,
        from: m.from_phone,
        service: m.service,
        handles,
        is_group: None,
        texts: m
            .text
            .map(|text| TextPart { index: 0, text })
            .into_iter()
            .collect(),
        attachments: attachments(m.attachments),
        reply_to: None,
        read: m.is_read.unwrap_or(false),
        delivered: false,
        delivered_at: None,
        idempotency_key: None,
    }
}

fn reaction(event_type: &str, r: WireReaction, sent_event: bool) -> Result<Reaction, EventError> {
    let Some(message_id) = r.message_id().cloned() else {
        return Err(EventError::Data {
            event_type: event_type.to_string(),
            problem: "neither chat_message_id nor associated_message.id names the message".into(),
        });
    };
    let handles = handles(r.chat_handles);
    let is_from_me = r.is_from_me.unwrap_or(sent_event);
    // Who reacted: the handle the reaction names, else the chat's handle on the reacting side.
    let from = r.chat_handle.and_then(|h| h.identifier).or_else(|| {
        handles
            .iter()
            .find(|h| h.is_me == is_from_me)
            .map(|h| h.identifier.clone())
    });
    Ok(Reaction {
        linq_id: Some(r.id.0),
        message_id: message_id.0,
        part_index: None,
        chat_id: r.chat_id.map(|c| c.0),
        kind: r.reaction,
        custom_emoji: None,
        sticker: None,
        from,
        is_from_me,
        at: r.sent_at.or(r.created_at),
        handles,
        message_text: r.associated_message.and_then(|m| m.text),
        change: ReactionChange::Added,
    })
}

fn call(c: WireCall) -> Call {
    Call {
        id: c.id.0,
        from: c.from,
        to: c.to,
        status: c.status,
        direction: c.direction,
        start_time: c.start_time,
        end_time: c.end_time,
        duration: c.duration.map(|d| d.0),
        call_type: c.call_type,
        forwarded_from: c.forwarded_from,
        answered_by: c.answered_by,
        voicemail: c.voicemail,
        has_recording: c.has_recording,
        recording: c.recording_data.map(|r| Recording {
            id: r.id.map(|i| i.0),
            url: r.url,
            duration: r.duration.map(|d| d.0),
            transcription: r.transcription,
            summary: r.summary,
        }),
    }
}

fn contact(c: WireContact) -> Contact {
    Contact {
        id: c.id.0,
        first_name: c.first_name,
        last_name: c.last_name,
        full_name: c.full_name,
        email: c.email,
        phone_number: c.phone_number,
        company: c.company,
        title: c.title,
        location: c.location,
        image_url: c.image_url,
        created_at: c.created_at,
        updated_at: c.updated_at,
        owner: c.contact_owner.map(|o| ContactOwner {
            id: o.id.map(|i| i.0),
            email: o.email,
            first_name: o.first_name,
            last_name: o.last_name,
            name: o.name,
        }),
    }
}

// ---- wire shapes ----

#[derive(Deserialize)]
struct WireHandle {
    #[serde(alias = "handle", alias = "phone_number")]
    identifier: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    is_me: Option<bool>,
}

/// An attachment as v2 sends it, in webhooks and in its REST API's messages alike.
#[derive(Deserialize)]
pub(super) struct WireAttachment {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    mime_type: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    id: Id,
    chat_id: Id,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    sent_at: Option<Time>,
    #[serde(default)]
    is_read: Option<bool>,
    #[serde(default)]
    from_phone: Option<String>,
    #[serde(default)]
    service: Option<String>,
    /// Never used, but still checked: a wrongly typed field means the body is not Linq's.
    #[serde(default, rename = "reaction_id")]
    _reaction_id: Option<Id>,
    #[serde(default, deserialize_with = "objects")]
    chat_handles: Option<Vec<WireHandle>>,
    #[serde(default, deserialize_with = "objects")]
    attachments: Option<Vec<WireAttachment>>,
}

#[derive(Deserialize)]
struct WireMessageRead {
    /// The message that was read.
    id: Id,
    #[serde(default)]
    chat_id: Option<Id>,
    #[serde(default)]
    read_at: Option<Time>,
}

#[derive(Deserialize)]
struct WireRecording {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    duration: Option<Int>,
    #[serde(default)]
    transcription: Option<String>,
    #[serde(default)]
    summary: Option<String>,
}

#[derive(Deserialize)]
struct WireCall {
    id: Id,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    start_time: Option<Time>,
    #[serde(default)]
    end_time: Option<Time>,
    #[serde(default)]
    duration: Option<Int>,
    #[serde(default)]
    call_type: Option<String>,
    #[serde(default)]
    forwarded_from: Option<String>,
    #[serde(default)]
    answered_by: Option<String>,
    #[serde(default)]
    voicemail: Option<bool>,
    #[serde(default)]
    has_recording: Option<bool>,
    #[serde(default, deserialize_with = "object")]
    recording_data: Option<WireRecording>,
}

#[derive(Deserialize)]
struct WireHandleRef {
    #[serde(default, rename = "id")]
    _id: Option<Id>,
    #[serde(default, alias = "handle")]
    identifier: Option<String>,
}

#[derive(Deserialize)]
struct WireAssociatedMessage {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default, rename = "sent_at")]
    _sent_at: Option<Time>,
}

#[derive(Deserialize)]
struct WireReaction {
    id: Id,
    #[serde(default)]
    chat_message_id: Option<Id>,
    #[serde(default)]
    chat_id: Option<Id>,
    reaction: String,
    #[serde(default)]
    is_from_me: Option<bool>,
    #[serde(default)]
    sent_at: Option<Time>,
    #[serde(default)]
    created_at: Option<Time>,
    #[serde(default, deserialize_with = "object")]
    chat_handle: Option<WireHandleRef>,
    #[serde(default, deserialize_with = "objects")]
    chat_handles: Option<Vec<WireHandle>>,
    #[serde(default, deserialize_with = "object")]
    associated_message: Option<WireAssociatedMessage>,
}

impl WireReaction {
    /// The message reacted to: `chat_message_id`, else the associated message's id.
    fn message_id(&self) -> Option<&Id> {
        self.chat_message_id
            .as_ref()
            .or_else(|| self.associated_message.as_ref()?.id.as_ref())
    }
}

#[derive(Deserialize)]
struct WireTyping {
    chat_id: Id,
    #[serde(default)]
    display: Option<bool>,
    #[serde(default, rename = "timestamp")]
    _timestamp: Option<Time>,
    #[serde(default, deserialize_with = "object")]
    chat_handle: Option<WireHandleRef>,
    #[serde(default)]
    from_phone: Option<String>,
    #[serde(default, deserialize_with = "objects")]
    chat_handles: Option<Vec<WireHandle>>,
}

#[derive(Deserialize)]
struct WireContactOwner {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireContact {
    id: Id,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    image_url: Option<String>,
    #[serde(default)]
    created_at: Option<Time>,
    #[serde(default)]
    updated_at: Option<Time>,
    #[serde(default, deserialize_with = "object")]
    contact_owner: Option<WireContactOwner>,
}

#[derive(Deserialize)]
struct WireContactRef {
    id: Id,
}

/// v2's attachments in the model.
pub(super) fn attachments(list: Option<Vec<WireAttachment>>) -> Vec<Attachment> {
    list.into_iter()
        .flatten()
        .map(|a| Attachment {
            id: a.id.map(|i| i.0),
            url: a.url,
            filename: a.filename,
            mime_type: a.mime_type,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::linq::{parse_envelope, Direction, Fact};
    use serde_json::json;

    fn v2(event_type: &str, data: serde_json::Value) -> Fact {
        parse_envelope(
            &json!({"event_type": event_type, "event_id": "e1", "data": data}).to_string(),
        )
        .expect("a v2 envelope parses")
        .fact
    }

    #[test]
    fn reactions_need_the_message_they_react_to() {
        let err = parse_envelope(
            &json!({"event_type": "reaction.received", "event_id": "r",
            "data": {"id": "1", "reaction": "like"}})
            .to_string(),
        );
        assert!(err.is_err(), "a reaction on no message is refused");
        let Fact::Reaction(r) = v2(
            "reaction.received",
            json!({"id": "1", "reaction": "like", "associated_message": {"id": 5}}),
        ) else {
            panic!("a received reaction is a reaction")
        };
        assert_eq!(r.message_id, "5", "the associated message's id is enough");
    }

    #[test]
    fn a_message_from_one_of_my_handles_is_outbound_whatever_its_event() {
        let Fact::Message(m) = v2(
            "message.received",
            json!({"id": "m", "chat_id": "c", "from_phone": "+1999", "text": "hi",
                   "chat_handles": [{"handle": "+1999", "is_me": true}, {"handle": "+1555"}]}),
        ) else {
            panic!("a message")
        };
        assert_eq!(
            m.direction,
            Direction::Outbound,
            "sent from the rep's own line"
        );
        let Fact::Message(m) = v2("message.sent", json!({"id": "m", "chat_id": "c"})) else {
            panic!("a message")
        };
        assert_eq!(
            m.direction,
            Direction::Outbound,
            "message.sent is the rep's"
        );
    }

    #[test]
    fn a_hidden_typing_indicator_is_a_stop() {
        let Fact::Typing(t) = v2(
            "typing_indicator.received",
            json!({"chat_id": "c", "display": false, "from_phone": "+1555"}),
        ) else {
            panic!("typing")
        };
        assert!(!t.started, "display: false hides the dots");
        assert_eq!(t.who.as_deref(), Some("+1555"), "the sender is the typist");
    }
}
