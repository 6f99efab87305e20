//! The rep's typing, sent to Linq while they type in a one-to-one iMessage chat
//! (`linq-api.md` §6.3 and §13): v3 `POST`/`DELETE /v3/chats/{id}/typing`, v2
//! `POST .../start_typing` / `DELETE .../stop_typing`.
//!
//! Best effort and never through the outbox: a lost indicator is harmless, a late one is wrong.
//! One task takes the composer's "typing" and "stopped" in order and throttles them: a start
//! goes at most once per [`REFRESH`] per chat (one start shows for about 85 s at Linq), a stop
//! only after a start it ends. Failures are logged and dropped.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::error::LinqApiError;
use super::rest::{Rest, Retry};
use super::send::path_segment;
use super::ConnectSettings;
use crate::config::linq::ApiVersion;

/// How often a start is sent again while the rep keeps typing (Linq: refresh every 60 s).
pub const REFRESH: Duration = Duration::from_secs(50);

impl Rest {
    /// Starts (`on`) or stops the rep's typing indicator in `chat_id`.
    pub async fn typing(&self, chat_id: &str, on: bool) -> Result<(), LinqApiError> {
        let chat = path_segment(chat_id)?;
        let (method, tail) = match (self.version(), on) {
            (ApiVersion::V3, true) => (Method::POST, format!("chats/{chat}/typing")),
            (ApiVersion::V3, false) => (Method::DELETE, format!("chats/{chat}/typing")),
            (ApiVersion::V2, true) => (Method::POST, format!("chats/{chat}/start_typing")),
            (ApiVersion::V2, false) => (Method::DELETE, format!("chats/{chat}/stop_typing")),
        };
        self.request(method, &self.partner_path(&tail), &[], None)
            .await
            .map(drop)
    }
}

/// The engine's handle on the typing task. Cheap to clone.
#[derive(Clone)]
pub struct Typing {
    tx: mpsc::UnboundedSender<(String, Change)>,
}

impl Typing {
    /// Starts the task on the current tokio runtime.
    pub fn start(connection: ConnectSettings) -> Typing {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(connection, rx));
        Typing { tx }
    }

    /// The rep is typing (`true`) or stopped (`false`) in `chat_id`, a chat that shows it.
    pub fn note(&self, chat_id: &str, typing: bool) {
        let _ = self.tx.send((chat_id.to_string(), Change::Typing(typing)));
    }

    /// A reply was queued in `chat_id`: sending it ends the indicator at Linq, so the next
    /// keystroke starts it again and no stop is sent.
    pub fn replied(&self, chat_id: &str) {
        let _ = self.tx.send((chat_id.to_string(), Change::Replied));
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Typing(bool),
    Replied,
}

/// Which chats have a start Linq is showing, and since when.
#[derive(Default)]
struct Throttle {
    started: HashMap<String, Instant>,
}

impl Throttle {
    /// Whether this change is sent: a start not sent within [`REFRESH`], a stop of a start.
    fn admit(&mut self, chat: &str, typing: bool, now: Instant) -> bool {
        if !typing {
            return self.started.remove(chat).is_some();
        }
        match self.started.get(chat) {
            Some(at) if now.duration_since(*at) < REFRESH => false,
            _ => {
                self.started.insert(chat.to_string(), now);
                true
            }
        }
    }
}

async fn run(connection: ConnectSettings, mut rx: mpsc::UnboundedReceiver<(String, Change)>) {
    let mut throttle = Throttle::default();
    while let Some((chat, change)) = rx.recv().await {
        let Change::Typing(typing) = change else {
            throttle.started.remove(&chat);
            continue;
        };
        if !throttle.admit(&chat, typing, Instant::now()) {
            continue;
        }
        let rest = match super::sync::client(&connection).await {
            Ok(rest) => rest.retrying(Retry::ONCE),
            Err(e) => {
                tracing::debug!(error = %e, "typing is not sent without a Linq token");
                continue;
            }
        };
        if let Err(e) = rest.typing(&chat, typing).await {
            tracing::debug!(error = %e, typing, "Linq did not take the typing indicator");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_sent_once_per_refresh_and_a_stop_only_after_a_start() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        assert!(!t.admit("c", false, t0), "nothing to stop before a start");
        assert!(t.admit("c", true, t0), "the first keystroke starts it");
        assert!(
            !t.admit("c", true, t0 + Duration::from_secs(5)),
            "typing on within the refresh sends nothing"
        );
        assert!(t.admit("c2", true, t0), "each chat has its own indicator");
        assert!(
            t.admit("c", true, t0 + REFRESH),
            "after the refresh the start goes again, so Linq keeps showing it"
        );
        assert!(t.admit("c", false, t0 + REFRESH), "a stop ends the start");
        assert!(
            !t.admit("c", false, t0 + REFRESH),
            "a second stop is not sent"
        );
    }
}
