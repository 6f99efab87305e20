//! The inbox's facts, whatever dialect told them: a v2 webhook, a v3 webhook, or a record
//! fetched from Linq's REST API all read into these types (`v2.rs`, `v3.rs`, `api.rs`), and
//! nothing past this module knows which dialect a fact came from.
//!
//! Where the dialects differ in what they can say, the difference is a fact here, not a
//! version: a call *stage* report (v3 `call.ringing`) says the call is still going or just ended
//! at the report's time, a call *record* (v2 `call.completed`) says only what it says.

use super::value::Time;

/// One delivery or record, read: its identity, its time, and the fact it tells.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub event_id: String,
    pub event_type: String,
    pub created_at: Option<Time>,
    /// The vendor's own labels, kept for the raw log and support requests only.
    pub meta: Meta,
    pub fact: Fact,
}

/// What the envelope says about itself: the API version and payload shape it declares, and
/// Linq's trace and partner ids. Never read by projection.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub api_version: Option<String>,
    pub webhook_version: Option<String>,
    pub trace_id: Option<String>,
    pub partner_id: Option<String>,
}

/// Every fact the inbox understands; anything else is `Unknown` and kept raw in the log.
#[derive(Debug, Clone)]
pub enum Fact {
    /// A message, sent or received, with whatever delivery state the report carries.
    Message(Message),
    /// Someone read a message (Linq's read receipt).
    Read(Read),
    /// Linq could not deliver the rep's message.
    Failed(Failure),
    /// One part of a message has new text.
    Edited(Edit),
    /// A tapback or emoji added to, or removed from, a message.
    Reaction(Reaction),
    /// A call: a finished call's record, or one stage of a call in progress.
    Call(CallReport),
    Contact(Contact),
    ContactDeleted {
        id: String,
    },
    /// People joined or left a group chat.
    Membership(Membership),
    ChatCreated(ChatCreated),
    /// A group's name or icon changed, or location sharing began or ended: a system line.
    ChatChanged(ChatChange),
    Typing(Typing),
    /// The health of one of the rep's numbers.
    NumberHealth(NumberHealth),
    /// A record fetched from Linq's REST API that tells several facts at once: a message, its
    /// read time, and the reactions on its parts. The first fact is the message.
    Record(Vec<Fact>),
    /// The rep's own reply as the outbox tells it (`outbox.rs`): queued, answered, refused.
    Outbox(OutboxFact),
    Unknown,
}

/// One change of a reply in the outbox, by the client's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxFact {
    pub client_id: String,
    pub change: OutboxChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxChange {
    /// Committed locally, shown at once as `sending`.
    Queued {
        chat_id: String,
        text: String,
        reply_to: Option<ReplyTo>,
        /// Files the rep attached (their upload ids as attachment ids: the local copies).
        attachments: Vec<Attachment>,
    },
    /// Linq accepted it and named it `linq_id`.
    Sent { linq_id: String },
    /// Linq refused it for good; `error` is its reason in one sentence.
    Failed { error: String },
    /// The rep asked to try a failed reply again.
    Retried,
    /// The rep dropped a failed reply.
    Deleted,
    /// The rep started a conversation with `to` from the line `from`: a provisional chat
    /// `chat_id` (`new:{client_id}`) holding the first message, `sending`.
    ChatQueued {
        chat_id: String,
        from: String,
        to: String,
        text: String,
    },
    /// Linq created (or found) the conversation and named it `chat_id`: the provisional chat
    /// becomes that chat.
    ChatNamed { chat_id: String },
    /// The rep added or removed a tapback on a message (issue 20 §4), shown at once as the
    /// rep's own reaction; `Sent` and `Failed` of the same client id settle it.
    Reacted {
        message_id: String,
        chat_id: Option<String>,
        reaction: String,
        change: ReactionChange,
    },
    /// Linq refused the read mark for `chat_id` for good; `error` is its reason in one
    /// sentence. The chat shows it until a later mark goes through.
    ReadRefused { chat_id: String, error: String },
    /// Linq took a read mark for `chat_id` after refusing an earlier one.
    ReadTaken { chat_id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// A handle (phone number or email) as one chat knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub identifier: String,
    pub display_name: Option<String>,
    pub is_me: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: Option<String>,
    pub url: Option<String>,
    pub filename: Option<String>,
    pub mime_type: Option<String>,
}

/// A text-bearing part of a message, by its index among all the message's parts (so an edit
/// of part N finds its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPart {
    pub index: i64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub message_id: String,
    pub part_index: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub chat_id: String,
    pub direction: Direction,
    pub sent_at: Option<Time>,
    /// The sender's handle.
    pub from: Option<String>,
    pub service: Option<String>,
    /// Handles of the chat this report names (the sender, the rep's own line, members).
    pub handles: Vec<Handle>,
    /// `Some(true)` when the report says the chat is a group.
    pub is_group: Option<bool>,
    pub texts: Vec<TextPart>,
    pub attachments: Vec<Attachment>,
    pub reply_to: Option<ReplyTo>,
    /// The report says the message has been read.
    pub read: bool,
    /// The report says the message was delivered; `delivered_at` when it says when.
    pub delivered: bool,
    pub delivered_at: Option<Time>,
    /// The key it was sent with (v3 webhooks): the outbox's client id for the rep's replies.
    pub idempotency_key: Option<String>,
}

impl Message {
    /// The message's text: its text parts, one per line.
    pub fn text(&self) -> Option<String> {
        (!self.texts.is_empty()).then(|| join_parts(&self.texts))
    }
}

/// Text parts joined as a message shows them, one per line.
pub fn join_parts(parts: &[TextPart]) -> String {
    parts
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Clone)]
pub struct Read {
    pub message_id: String,
    pub chat_id: Option<String>,
    pub read_at: Option<Time>,
}

/// Why Linq could not deliver a message; the message may be unnamed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message_id: Option<String>,
    pub chat_id: Option<String>,
    pub code: Option<String>,
    pub detail_code: Option<String>,
    pub reason: Option<String>,
    pub failed_at: Option<Time>,
}

#[derive(Debug, Clone)]
pub struct Edit {
    pub message_id: String,
    pub chat_id: Option<String>,
    pub part_index: i64,
    pub text: String,
    pub edited_at: Option<Time>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionChange {
    Added,
    Removed,
}

/// A reaction to one part of a message. Its identity is [`Reaction::key`]: who reacted how to
/// which part, so a removal names the same reaction its addition did, whatever the dialect.
#[derive(Debug, Clone)]
pub struct Reaction {
    /// The vendor's own id for this reaction, where the dialect gives one (v2 does, v3 does not);
    /// shown, never used as its identity.
    pub linq_id: Option<String>,
    pub message_id: String,
    pub part_index: Option<i64>,
    pub chat_id: Option<String>,
    /// `love`, `like`, `dislike`, `laugh`, `emphasize`, `question`, `custom`, `sticker`.
    pub kind: String,
    pub custom_emoji: Option<String>,
    /// The sticker object as sent (JSON), for `sticker` reactions.
    pub sticker: Option<String>,
    pub from: Option<String>,
    pub is_from_me: bool,
    pub at: Option<Time>,
    pub handles: Vec<Handle>,
    /// The reacted-to message's text, when the report quotes it.
    pub message_text: Option<String>,
    pub change: ReactionChange,
}

impl Reaction {
    /// The reaction's identity: message, part, who, kind and emoji.
    pub fn key(&self) -> String {
        let who = if self.is_from_me {
            "me"
        } else {
            self.from.as_deref().unwrap_or_default()
        };
        format!(
            "{}:{}:{}:{}:{}",
            self.message_id,
            self.part_index.unwrap_or(0),
            who,
            self.kind,
            self.custom_emoji.as_deref().unwrap_or_default()
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    pub id: Option<String>,
    pub url: Option<String>,
    pub duration: Option<i64>,
    pub transcription: Option<String>,
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Call {
    pub id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<String>,
    pub direction: Option<String>,
    pub start_time: Option<Time>,
    pub end_time: Option<Time>,
    pub duration: Option<i64>,
    pub call_type: Option<String>,
    pub forwarded_from: Option<String>,
    pub answered_by: Option<String>,
    pub voicemail: Option<bool>,
    pub has_recording: Option<bool>,
    pub recording: Option<Recording>,
}

/// How far along a call a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStage {
    Initiated,
    Ringing,
    Answered,
    Ended,
    Failed,
    Declined,
    NoAnswer,
}

impl CallStage {
    pub fn parse(text: &str) -> Option<CallStage> {
        Some(match text {
            "initiated" => CallStage::Initiated,
            "ringing" => CallStage::Ringing,
            "answered" => CallStage::Answered,
            "ended" => CallStage::Ended,
            "failed" => CallStage::Failed,
            "declined" => CallStage::Declined,
            "no_answer" => CallStage::NoAnswer,
            _ => return None,
        })
    }

    /// The status this stage leaves on the call, in the words the call log uses.
    pub fn status(self) -> &'static str {
        match self {
            CallStage::Initiated => "initiated",
            CallStage::Ringing => "ringing",
            CallStage::Answered => "answered",
            CallStage::Ended => "completed",
            CallStage::Failed => "failed",
            CallStage::Declined => "declined",
            CallStage::NoAnswer => "no-answer",
        }
    }

    /// True once the call is over.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            CallStage::Initiated | CallStage::Ringing | CallStage::Answered
        )
    }
}

/// A call as one report tells it. A stage report (`stage` set) happens *at* its time: a call
/// it starts began then, a call it ends ended then. A record (`stage` unset) says only what its
/// fields say.
#[derive(Debug, Clone)]
pub struct CallReport {
    pub call: Call,
    pub stage: Option<CallStage>,
}

#[derive(Debug, Clone)]
pub struct ContactOwner {
    pub id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub location: Option<String>,
    pub image_url: Option<String>,
    pub created_at: Option<Time>,
    pub updated_at: Option<Time>,
    pub owner: Option<ContactOwner>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipChange {
    Added,
    Removed,
}

impl MembershipChange {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipChange::Added => "added",
            MembershipChange::Removed => "removed",
        }
    }
}

/// People who joined or left a group. Either the chat or the people may be unknown: Linq has
/// not published this shape.
#[derive(Debug, Clone)]
pub struct Membership {
    pub chat_id: Option<String>,
    pub handles: Vec<MemberHandle>,
    pub at: Option<Time>,
    pub change: MembershipChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHandle {
    pub identifier: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ChatCreated {
    pub chat_id: Option<String>,
    pub display_name: Option<String>,
    pub is_group: Option<bool>,
    pub handles: Vec<Handle>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatChangeKind {
    GroupName,
    GroupIcon,
    LocationStarted,
    LocationStopped,
}

impl ChatChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatChangeKind::GroupName => "group_name",
            ChatChangeKind::GroupIcon => "group_icon",
            ChatChangeKind::LocationStarted => "location_started",
            ChatChangeKind::LocationStopped => "location_stopped",
        }
    }
}

/// A system line in a chat. Without a chat (location sharing may name none) it stays in the
/// log only.
#[derive(Debug, Clone)]
pub struct ChatChange {
    pub chat_id: Option<String>,
    pub kind: ChatChangeKind,
    pub actor: Option<String>,
    pub old_value: Option<String>,
    /// The new name or icon URL; for a location shared until a time, that time (RFC 3339).
    pub new_value: Option<String>,
    pub at: Option<Time>,
}

/// Someone started or stopped typing.
#[derive(Debug, Clone)]
pub struct Typing {
    pub chat_id: String,
    pub started: bool,
    /// Who, when the report names them.
    pub who: Option<String>,
    /// The chat's handles, when the report lists them (a one-to-one chat's other person is the
    /// typist when nobody is named).
    pub handles: Vec<Handle>,
}

#[derive(Debug, Clone)]
pub struct NumberHealth {
    pub phone_number: String,
    pub changed_at: Option<Time>,
    pub previous_status: Option<String>,
    pub new_status: Option<String>,
    pub previous_reputation: Option<String>,
    pub new_reputation: Option<String>,
}
