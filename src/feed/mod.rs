//! The change feed: committed events turned into what the UI needs (the message as the thread
//! shows it, the updated chat summary, the typing state), in sequence order, broadcast to every
//! live stream and to the notification policy.
//!
//! A builder thread follows the writer's committed sequence number and reads new events back
//! from the log through its own reader connection, so the writer never waits for the feed and
//! a slow consumer only ever lags its own bounded broadcast buffer.

mod activity;
mod build;
mod typing;

use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use tokio::sync::broadcast;

pub use activity::{activity_page, ActivityItem, ActivityPage};
pub use build::{build_event, spawn_builder};
pub use typing::TypingTracker;

use crate::store::settings::UiSettings;
use crate::store::views;

/// Items a stream subscriber may fall behind by before it is told to refetch (`reset`).
pub const BROADCAST_CAPACITY: usize = 2048;

/// One Server-Sent Event: `id:` (when it is a stored event), `event:`, `data:`.
#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub seq: Option<i64>,
    pub event: String,
    pub data: FeedData,
    pub json: String,
}

impl StreamEvent {
    pub fn new(seq: Option<i64>, event: impl Into<String>, data: FeedData) -> StreamEvent {
        let json = serde_json::to_string(&data).unwrap_or_else(|_| "{}".into());
        StreamEvent {
            seq,
            event: event.into(),
            data,
            json,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TypingUpdate"))]
pub struct TypingState {
    pub chat_id: String,
    pub typing: Vec<views::Typist>,
}

/// The `data:` of a stream event; only the fields that apply are present.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "StreamEvent", optional_fields = nullable))]
pub struct FeedData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<views::ChatSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<views::Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<views::Call>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<views::Contact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_deleted_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reaction: Option<views::ReactionEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typing: Option<TypingState>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(test, ts(as = "Option<Vec<views::ThreadItem>>", optional))]
    pub memberships: Vec<views::ThreadItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership: Option<views::ThreadItem>,
    /// A v3 system line (group name or icon, location sharing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_event: Option<views::ThreadItem>,
    /// For `sync` events: the catch-up pass's state and progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<crate::store::sync::SyncStatus>,
    /// For `reset` and `store` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Which chat the rep is looking at, and whether the window has focus.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub chat_id: Option<String>,
    pub focused: bool,
}

/// What the engine knows live, beside the database: the stream broadcast, who is typing, the
/// rep's notification preferences and presence. Shared by the feed, the UI API and the shell.
#[derive(Clone)]
pub struct LiveState {
    pub events: broadcast::Sender<Arc<StreamEvent>>,
    pub typing: TypingTracker,
    pub settings: Arc<RwLock<UiSettings>>,
    pub presence: Arc<Mutex<Presence>>,
}

impl LiveState {
    pub fn new(settings: UiSettings) -> LiveState {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        LiveState {
            events,
            typing: TypingTracker::default(),
            settings: Arc::new(RwLock::new(settings)),
            presence: Arc::new(Mutex::new(Presence::default())),
        }
    }

    pub fn settings(&self) -> UiSettings {
        self.settings.read().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn presence(&self) -> Presence {
        self.presence.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Adds what the database does not hold to a chat summary: typing, and the rep's mute.
    pub fn decorate(&self, chat: &mut views::ChatSummary) {
        chat.typing = self.typing.typing_in(&chat.chat_id);
        chat.muted = self
            .settings
            .read()
            .map(|s| s.is_muted(&chat.chat_id))
            .unwrap_or(false);
    }

    pub fn publish(&self, event: StreamEvent) {
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(Arc::new(event));
    }
}
