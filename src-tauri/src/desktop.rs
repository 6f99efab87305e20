//! Showing a decided notification on the freedesktop notification server, with the actions
//! `actions.rs` offers for it. What the rep then does with it (a click, Reply, Mark as read, a
//! typed reply) comes back as the server's signals, which `responses.rs` listens to.
//!
//! `Notify` goes out on the same D-Bus connection that listens: servers such as dunst and GNOME
//! Shell send `ActionInvoked` and `NotificationClosed` only to the connection that showed the
//! notification, so a notification sent on a connection of its own (notify-rust opens one per
//! notification) would have its buttons answered to nobody once that connection closed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use linq_inbox::notify::{Kind, Notification};
use zbus::Connection;
use zbus::Variant;

use crate::actions::{self, Action, Caps};
use crate::responses::{self, Shown};

const ICON: &[u8] = include_bytes!("../../icons/128x128.png");
/// `Notify`'s expiry: the server's default.
const SERVER_DEFAULT_TIMEOUT: i32 = -1;

pub struct Desktop {
    /// `None` without a session bus: nothing can be shown.
    bus: Option<Connection>,
    icon: Option<PathBuf>,
    shown: Shown,
}

impl Desktop {
    pub fn new(bus: Option<Connection>, icon_dir: Option<PathBuf>, shown: Shown) -> Desktop {
        let icon = icon_dir.and_then(|dir| {
            let path = dir.join("linq-inbox-notification.png");
            // Written once per launch: a path works on every server, a themed icon name only
            // once the app is installed.
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&path, ICON))
                .map(|()| path)
                .map_err(|err| tracing::warn!(%err, "no notification icon"))
                .ok()
        });
        Desktop { bus, icon, shown }
    }

    /// Show `n` without blocking the caller.
    pub fn show(&self, n: Notification) {
        let Some(bus) = self.bus.clone() else {
            tracing::warn!("no session bus; a notification was not shown");
            return;
        };
        let icon = self.icon.clone();
        let shown = self.shown.clone();
        tauri::async_runtime::spawn(async move {
            match notify(&bus, icon, &n).await {
                Ok((id, offered)) => {
                    shown.insert(id, n.chat_id.clone());
                    tracing::info!(
                        kind = ?n.kind,
                        chat = n.chat_id.as_deref().unwrap_or(""),
                        id,
                        actions = offered,
                        "notified"
                    );
                }
                Err(err) => tracing::warn!(%err, "the notification server refused a notification"),
            }
        });
    }
}

/// One `Notify` call; the server's id for the notification and how many actions it carries.
async fn notify(
    bus: &Connection,
    icon: Option<PathBuf>,
    n: &Notification,
) -> zbus::Result<(u32, usize)> {
    let caps = server_caps(bus).await;
    let body = if caps.markup {
        escape_markup(&n.body)
    } else {
        n.body.clone()
    };
    let offered = actions::offered(n, caps);
    let actions: Vec<&str> = offered.iter().flat_map(|a| [a.key(), a.label()]).collect();
    let category = match n.kind {
        Kind::Call => "call",
        _ => "im.received",
    };
    let mut hints: HashMap<&str, Variant<'_>> = HashMap::from([
        ("category", Variant::from(category)),
        ("desktop-entry", Variant::from("linq-inbox-desktop")),
    ]);
    let placeholder = format!("Reply to {}", n.title);
    if offered.contains(&Action::InlineReply) {
        // Plasma's words inside its empty reply field.
        hints.insert(
            "x-kde-reply-placeholder-text",
            Variant::from(placeholder.as_str()),
        );
    }
    let icon = icon.as_deref().and_then(|p| p.to_str()).unwrap_or("");
    let reply = responses::call(
        bus,
        "Notify",
        &(
            "Linq Inbox",
            0u32,
            icon,
            n.title.as_str(),
            body.as_str(),
            actions,
            hints,
            SERVER_DEFAULT_TIMEOUT,
        ),
    )
    .await?;
    Ok((reply.body().deserialize::<u32>()?, offered.len()))
}

/// What the notification server can do, asked once it answers: until then (a server that
/// starts after the app, at login) every notification asks again.
async fn server_caps(bus: &Connection) -> Caps {
    static CAPS: Mutex<Option<Caps>> = Mutex::new(None);
    if let Some(caps) = *CAPS.lock().unwrap_or_else(PoisonError::into_inner) {
        return caps;
    }
    let asked = responses::call(bus, "GetCapabilities", &())
        .await
        .and_then(|reply| reply.body().deserialize::<Vec<String>>());
    match asked {
        Ok(list) => *CAPS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Caps::from_list(&list)),
        Err(err) => {
            tracing::debug!(%err, "the notification server did not say what it can do");
            Caps::UNKNOWN
        }
    }
}

/// The body as the freedesktop markup subset reads it: `&`, `<` and `>` as entities.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_message_text_is_shown_as_text() {
        assert_eq!(
            escape_markup("<b>50% off</b> & <a href=x>more</a>"),
            "&lt;b&gt;50% off&lt;/b&gt; &amp; &lt;a href=x&gt;more&lt;/a&gt;",
            "markup in a message shows as text in the notification, never as formatting or a link"
        );
    }
}
