//! What the UI API answers: the inbox as the rep sees it, serialized exactly as `docs/API.md`
//! documents. Ids are strings; times are RFC 3339 UTC with the vendor's text beside them.
//!
//! A chat summary and everything in it keep their fields in the byte order of their names:
//! most bodies go through `json!`, whose maps sort keys, while the chat list (a thousand
//! summaries) is serialized directly to skip that copy; both must give the same bytes.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn parse(text: &str) -> Direction {
        if text == "outbound" {
            Direction::Outbound
        } else {
            Direction::Inbound
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Handle"))]
pub struct HandleView {
    pub display_name: Option<String>,
    pub identifier: String,
    pub is_me: bool,
    /// Contact name, else display name, else the identifier.
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Member {
    pub identifier: String,
    pub is_me: bool,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TypingEntry"))]
pub struct Typist {
    /// `None` when Linq did not say who is typing.
    pub identifier: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ChatSummary {
    pub chat_id: String,
    pub handles: Vec<HandleView>,
    pub is_group: bool,
    pub last_activity_at: Option<String>,
    pub last_message: Option<Message>,
    pub members: Vec<Member>,
    pub muted: bool,
    pub my_numbers: Vec<String>,
    pub title: String,
    pub typing: Vec<Typist>,
    pub unread_count: i64,
    /// Why Linq refused the last read mark sent for this chat (one sentence), until a later
    /// one goes through; `None` when none was refused.
    pub read_mark_error: Option<String>,
}

/// Where an attachment's local copy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "AttachmentState"))]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Not downloaded yet (queued, or being downloaded).
    Pending,
    /// The local copy is in the data folder.
    Downloaded,
    /// The last try failed; `error` says why.
    Failed,
}

impl FileState {
    pub(crate) fn parse(text: &str) -> FileState {
        match text {
            "downloaded" => FileState::Downloaded,
            "failed" => FileState::Failed,
            _ => FileState::Pending,
        }
    }
}

/// How a local copy may be shown in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "AttachmentPreview"))]
#[serde(rename_all = "snake_case")]
pub enum Preview {
    Image,
    Video,
    Audio,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Attachment {
    /// The type of the local copy, read from its bytes (never from the name), once downloaded.
    pub content_type: Option<String>,
    /// Why the local copy could not be made (one sentence), while `state` is `failed`.
    pub error: Option<String>,
    pub filename: Option<String>,
    pub id: Option<String>,
    /// What `GET /api/attachments/{key}` knows it by: Linq's id, else `{message_id}:{position}`.
    pub key: String,
    /// `GET /api/attachments/{key}`, once downloaded.
    pub local_url: Option<String>,
    /// The type Linq said (the UI's hint before the file is here; never trusted to serve it).
    pub mime_type: Option<String>,
    /// How the thread may show the local copy in place: only raster images, video and audio
    /// whose bytes say so; anything else is a file card.
    pub preview: Option<Preview>,
    /// A failed download will be tried again by itself.
    pub retrying: bool,
    /// A failed download the rep may try again (`POST /api/attachments/{key}/retry`): its
    /// failure may pass; a limit or a refused address will not.
    pub can_retry: bool,
    /// Bytes of the local copy, once downloaded.
    pub size: Option<i64>,
    pub state: FileState,
    /// Where Linq serves it (may expire; the thread shows the local copy).
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Reaction {
    /// v3 `custom` reactions: the emoji itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub custom_emoji: Option<String>,
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub id: String,
    pub is_from_me: bool,
    pub reaction: String,
    pub sent_at: Option<String>,
    /// v3 `sticker` reactions: the sticker object as Linq sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable, type = "{ file_name?: string | null, mime_type?: string | null, url?: string | null }"))]
    pub sticker: Option<serde_json::Value>,
    /// The rep's own reaction while the outbox holds it: `sending`, or `failed` with `error`
    /// (Linq's refusal in one sentence); absent once Linq took it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable, type = "\"sending\" | \"failed\""))]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub error: Option<String>,
    /// What the outbox is doing, or failed to do, with it: `add` or `remove`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable, type = "\"add\" | \"remove\""))]
    pub operation: Option<String>,
}

/// Why Linq could not deliver an outbound message (v3 `message.failed`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Failure {
    pub code: Option<String>,
    pub detail_code: Option<String>,
    pub failed_at: String,
    pub reason: Option<String>,
}

/// The message a reply answers, as much of it as is known.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ReplyTo {
    pub direction: Option<Direction>,
    /// False while the answered message has not arrived (or is in no chat we hold).
    pub found: bool,
    pub from_name: Option<String>,
    pub message_id: String,
    pub part_index: Option<i64>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Message {
    pub attachments: Vec<Attachment>,
    pub chat_id: String,
    /// When Linq reported the message delivered (v3), else `None`.
    pub delivered_at: Option<String>,
    pub direction: Direction,
    /// When the text was last edited (v3 `message.edited`); `text` is already the edited text.
    pub edited_at: Option<String>,
    pub failure: Option<Failure>,
    pub from_name: Option<String>,
    pub from_phone: Option<String>,
    pub id: String,
    #[cfg_attr(test, ts(type = "\"message\""))]
    pub kind: &'static str,
    pub reactions: Vec<Reaction>,
    pub read_at: Option<String>,
    pub read_at_original: Option<String>,
    pub reply_to: Option<ReplyTo>,
    pub sent_at: String,
    pub sent_at_original: Option<String>,
    pub service: Option<String>,
    /// Orders messages with the same `sent_at`: a thread is in `(sent_at, tie, id)` order, system
    /// lines counting 0. Linq's finer time in microseconds where it gave one, else the log
    /// sequence of the report that first told the message (always smaller).
    #[cfg_attr(test, ts(type = "number"))]
    pub tie: i64,
    /// Outbound only: `sending` (in the outbox), `sent`, `delivered`, `read` or `failed` (a later
    /// delivery beats Linq's failure report).
    #[cfg_attr(
        test,
        ts(type = "\"sending\" | \"sent\" | \"delivered\" | \"read\" | \"failed\" | null")
    )]
    pub status: Option<&'static str>,
    /// Why it failed, in one sentence (`status` `failed`).
    pub error: Option<String>,
    /// The rep's own reply from this app: the client id it was sent with (`/api/outbox/{id}`).
    pub client_id: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Membership"))]
pub struct MembershipItem {
    #[cfg_attr(test, ts(type = "\"membership\""))]
    pub kind: &'static str,
    pub id: String,
    pub chat_id: String,
    pub action: String,
    pub identifier: String,
    pub name: String,
    pub sent_at: String,
    pub sent_at_original: Option<String>,
}

/// A system line that is not a membership change: a group's name or icon changed, location
/// sharing began or ended (v3).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "ChatEvent"))]
pub struct ChatEventItem {
    #[cfg_attr(test, ts(type = "\"chat_event\""))]
    pub kind: &'static str,
    pub id: String,
    pub chat_id: String,
    /// `group_name`, `group_icon`, `location_started`, `location_stopped`.
    pub action: String,
    pub actor: Option<String>,
    pub actor_name: Option<String>,
    pub old_value: Option<String>,
    /// The new name or icon URL; for `location_started`, when sharing ends (`None`: indefinitely).
    pub new_value: Option<String>,
    pub sent_at: String,
    pub sent_at_original: Option<String>,
}

/// One entry of a thread: a message, or a system line.
// Items are built for one answer and serialized at once; boxing the common variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(untagged)]
pub enum ThreadItem {
    Message(Message),
    Membership(MembershipItem),
    ChatEvent(ChatEventItem),
}

impl ThreadItem {
    pub fn id(&self) -> &str {
        match self {
            ThreadItem::Message(m) => &m.id,
            ThreadItem::Membership(m) => &m.id,
            ThreadItem::ChatEvent(e) => &e.id,
        }
    }
}

/// The health of one of the rep's numbers (v3 `phone_number.status_updated`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct NumberHealth {
    pub phone_number: String,
    /// `ACTIVE` or `FLAGGED`.
    pub status: Option<String>,
    /// `HEALTHY`, `AT_RISK` or `CRITICAL`.
    pub reputation: Option<String>,
    pub previous_status: Option<String>,
    pub previous_reputation: Option<String>,
    pub changed_at: String,
    pub changed_at_original: Option<String>,
    /// True when the number is flagged or its reputation is anything but healthy.
    pub needs_attention: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Recording {
    pub id: Option<String>,
    pub url: Option<String>,
    pub duration: Option<i64>,
    pub transcription: Option<String>,
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Call {
    pub id: String,
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub to: Option<String>,
    pub to_name: Option<String>,
    pub direction: Option<String>,
    pub status: Option<String>,
    pub start_time: Option<String>,
    pub start_time_original: Option<String>,
    pub end_time: Option<String>,
    pub end_time_original: Option<String>,
    pub duration: Option<i64>,
    pub call_type: Option<String>,
    pub forwarded_from: Option<String>,
    pub answered_by: Option<String>,
    pub voicemail: bool,
    pub missed: bool,
    pub chat_id: Option<String>,
    pub recording: Option<Recording>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ContactOwner {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    pub created_at: Option<String>,
    pub created_at_original: Option<String>,
    pub updated_at: Option<String>,
    pub updated_at_original: Option<String>,
    pub owner: Option<ContactOwner>,
    pub chat_id: Option<String>,
}

/// A reaction as the activity feed and notifications need it: who, what, on which message.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ReactionEvent {
    pub id: String,
    pub message_id: String,
    pub chat_id: Option<String>,
    pub reaction: String,
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub is_from_me: bool,
    pub message_text: Option<String>,
    pub sent_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Highlight {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SearchHit {
    #[cfg_attr(test, ts(type = "\"message\" | \"call\" | \"contact\""))]
    pub kind: String,
    pub id: String,
    pub chat_id: Option<String>,
    pub title: String,
    pub snippet: String,
    pub highlights: Vec<Highlight>,
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "RawEvent"))]
pub struct EventView {
    pub seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub created_at: Option<String>,
    pub created_at_original: Option<String>,
    pub received_at: String,
    /// `raw`, `canonical`, `unsigned` (v2), `standard` or `legacy` (v3).
    pub signature: String,
    #[cfg_attr(test, ts(type = "JsonValue"))]
    pub payload: serde_json::Value,
    /// Why the projector could not fold this row into the inbox; `None` when it did (or has
    /// not reached it yet).
    pub projection_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Rejected"))]
pub struct RejectedView {
    pub id: i64,
    pub received_at: String,
    pub status: u16,
    pub reason: String,
    pub remote_addr: Option<String>,
    pub headers: Vec<String>,
    pub size: i64,
    pub body_prefix: String,
}
