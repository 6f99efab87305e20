//! What the rep does with a notification: one listener for the notification server's signals
//! (`ActionInvoked`, `NotificationReplied`, `NotificationClosed` on the session bus), for every
//! notification the app shows, instead of a thread waiting on each one.
//!
//! notify-rust knows nothing of `NotificationReplied` (KDE Plasma's inline reply) and sends each
//! notification on a connection of its own, so the shell speaks the freedesktop protocol itself
//! with zbus: this connection shows the notifications (`desktop.rs`) and receives their signals.
//! Signals about other apps' notifications (servers that broadcast them) name ids the app never
//! showed and are ignored.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use futures_lite::StreamExt;
use linq_inbox::engine::Engine;
use tauri::AppHandle;
use tokio::sync::watch;
use zbus::message::Type;
use zbus::{Connection, MatchRule, Message, MessageStream};

use crate::actions::{self, Intent};
use crate::window;

const BUS_NAME: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";
/// Notifications answered for at once; a server that never says it closed one (some keep them
/// until dismissed) would otherwise grow the list for as long as the app runs.
const KEEP: usize = 256;

/// A notification the app showed: the server's id and the chat it is about.
type ShownOne = (u32, Option<String>);

/// The app's notifications on screen, oldest first.
#[derive(Clone, Default)]
pub struct Shown(Arc<Mutex<VecDeque<ShownOne>>>);

/// A signal from the notification server about one notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    Action { id: u32, key: String },
    Replied { id: u32, text: String },
    Closed { id: u32 },
}

impl Shown {
    pub fn insert(&self, id: u32, chat_id: Option<String>) {
        let mut shown = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        shown.retain(|(known, _)| *known != id);
        if shown.len() == KEEP {
            shown.pop_front();
        }
        shown.push_back((id, chat_id));
    }

    fn chat(&self, id: u32) -> Option<Option<String>> {
        let shown = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        shown
            .iter()
            .find(|(known, _)| *known == id)
            .map(|(_, c)| c.clone())
    }

    fn take(&self, id: u32) -> Option<Option<String>> {
        let mut shown = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let at = shown.iter().position(|(known, _)| *known == id)?;
        shown.remove(at).map(|(_, chat)| chat)
    }

    /// What `signal` asks of the app, for one of its own notifications. A typed reply is taken
    /// once: the same notification's reply signalled again sends nothing more.
    pub fn answer(&self, signal: Signal) -> Option<(u32, Intent)> {
        match signal {
            Signal::Action { id, key } => {
                let chat = self.chat(id)?;
                actions::invoked(&key, chat.as_deref()).map(|intent| (id, intent))
            }
            Signal::Replied { id, text } => {
                let chat = self.take(id)?;
                actions::replied(&text, chat.as_deref()).map(|intent| (id, intent))
            }
            Signal::Closed { id } => {
                self.take(id);
                None
            }
        }
    }
}

/// The session bus connection the signals arrive on, subscribed before any notification shows.
pub struct Responses {
    connection: Connection,
    signals: MessageStream,
}

impl Responses {
    /// Subscribes to the notification server's signals; `None` (logged) without a session bus:
    /// notifications still show, their actions then do nothing.
    pub async fn subscribe() -> Option<Responses> {
        let subscribed = async {
            let connection = Connection::session().await?;
            let rule = MatchRule::builder()
                .msg_type(Type::Signal)
                .interface(INTERFACE)
                .path(PATH)
                .build()?;
            let signals = MessageStream::for_match_rule(rule, &connection, None).await?;
            Ok::<_, zbus::Error>(Responses {
                connection,
                signals,
            })
        };
        subscribed
            .await
            .map_err(|err| tracing::warn!(%err, "notification actions will not work"))
            .ok()
    }

    /// The connection notifications are shown on, so their signals come back here.
    pub fn connection(&self) -> Connection {
        self.connection.clone()
    }

    /// Answers signals until the app stops.
    pub async fn run(
        mut self,
        app: AppHandle,
        engine: Arc<Engine>,
        shown: Shown,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let message = tokio::select! {
                _ = stop.changed() => break,
                message = self.signals.next() => message,
            };
            let Some(message) = message else { break };
            let Some(signal) = message.ok().as_ref().and_then(signal_of) else {
                continue;
            };
            if let Some((id, intent)) = shown.answer(signal) {
                act(&app, &engine, &self.connection, id, intent).await;
            }
        }
    }
}

/// The three signals the app answers, read from a D-Bus message.
fn signal_of(message: &Message) -> Option<Signal> {
    let header = message.header();
    let body = message.body();
    match header.member()?.as_str() {
        "ActionInvoked" => {
            let (id, key): (u32, String) = body.deserialize().ok()?;
            Some(Signal::Action { id, key })
        }
        "NotificationReplied" => {
            let (id, text): (u32, String) = body.deserialize().ok()?;
            Some(Signal::Replied { id, text })
        }
        "NotificationClosed" => {
            let (id, _reason): (u32, u32) = body.deserialize().ok()?;
            Some(Signal::Closed { id })
        }
        _ => None,
    }
}

async fn act(app: &AppHandle, engine: &Engine, connection: &Connection, id: u32, intent: Intent) {
    tracing::info!(id, ?intent, "notification action");
    match intent {
        Intent::Open(chat_id) => window::open_chat(app, chat_id.as_deref()),
        Intent::Reply(chat_id) => window::open_reply(app, &chat_id),
        Intent::MarkRead(chat_id) => {
            match engine.mark_read(&chat_id).await {
                Ok(_) => tracing::info!(chat = %chat_id, "marked read from a notification"),
                Err(err) => tracing::warn!(%err, "could not mark the chat read"),
            }
            close(connection, id).await;
        }
        Intent::Send { chat_id, text } => {
            match engine.reply(&chat_id, &text).await {
                Ok(client_id) => {
                    tracing::info!(chat = %chat_id, %client_id, "inline reply queued in the outbox");
                }
                // The rep's words must not vanish silently: the window opens on the chat.
                Err(err) => {
                    tracing::warn!(%err, "could not queue the inline reply");
                    window::open_reply(app, &chat_id);
                }
            }
            close(connection, id).await;
        }
    }
}

/// A method of the notification server.
pub async fn call<B>(connection: &Connection, method: &str, body: &B) -> zbus::Result<Message>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    connection
        .call_method(Some(BUS_NAME), PATH, Some(INTERFACE), method, body)
        .await
}

/// Takes the notification off screen (servers that keep it after an action, like Plasma).
async fn close(connection: &Connection, id: u32) {
    if let Err(err) = call(connection, "CloseNotification", &(id,)).await {
        tracing::debug!(%err, "the notification server did not close a notification");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown() -> Shown {
        let shown = Shown::default();
        shown.insert(7, Some("c1".into()));
        shown
    }

    #[test]
    fn actions_on_the_apps_own_notifications_have_intents() {
        let shown = shown();
        assert_eq!(
            shown.answer(Signal::Action {
                id: 7,
                key: "mark-read".into()
            }),
            Some((7, Intent::MarkRead("c1".into()))),
            "Mark as read on the app's notification marks its chat"
        );
        assert_eq!(
            shown.answer(Signal::Action {
                id: 8,
                key: "mark-read".into()
            }),
            None,
            "another app's notification (an id the app never showed) is not answered"
        );
    }

    #[test]
    fn a_typed_reply_is_sent_once() {
        let shown = shown();
        let reply = Signal::Replied {
            id: 7,
            text: "Friday works".into(),
        };
        assert_eq!(
            shown.answer(reply.clone()),
            Some((
                7,
                Intent::Send {
                    chat_id: "c1".into(),
                    text: "Friday works".into()
                }
            )),
            "the typed text is sent to the notification's chat"
        );
        assert_eq!(
            shown.answer(reply),
            None,
            "the same notification's reply signalled again sends nothing more"
        );
    }

    #[test]
    fn a_closed_notification_is_forgotten_and_the_list_is_bounded() {
        let shown = shown();
        assert_eq!(
            shown.answer(Signal::Closed { id: 7 }),
            None,
            "closing asks nothing"
        );
        assert_eq!(
            shown.answer(Signal::Action {
                id: 7,
                key: "default".into()
            }),
            None,
            "a closed notification is no longer answered for"
        );
        for id in 0..(KEEP as u32 + 10) {
            shown.insert(id, None);
        }
        assert_eq!(
            shown.0.lock().map(|s| s.len()).unwrap_or(0),
            KEEP,
            "at most KEEP notifications are remembered"
        );
        assert_eq!(shown.chat(0), None, "the oldest go first");
    }
}
