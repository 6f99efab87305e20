//! Showing a decided notification on the freedesktop notification server (notify-rust), with
//! the actions `actions.rs` offers for it. What the rep then does with it (a click, Reply, Mark
//! as read, a typed reply) comes back as the server's signals, which `responses.rs` listens to
//! for every notification at once.

use std::path::PathBuf;
use std::sync::Mutex;

use linq_inbox::notify::{Kind, Notification};

use crate::actions::{self, Action, Caps};
use crate::responses::Shown;

const ICON: &[u8] = include_bytes!("../../icons/128x128.png");

pub struct Desktop {
    icon: Option<PathBuf>,
    shown: Shown,
}

impl Desktop {
    pub fn new(icon_dir: Option<PathBuf>, shown: Shown) -> Desktop {
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
        Desktop { icon, shown }
    }

    /// Show `n` without blocking the caller: D-Bus calls run on a thread of their own.
    pub fn show(&self, n: Notification) {
        let icon = self.icon.clone();
        let shown = self.shown.clone();
        let spawned = std::thread::Builder::new()
            .name("notification".into())
            .spawn(move || show_blocking(icon, &shown, n));
        if let Err(err) = spawned {
            tracing::warn!(%err, "could not start a notification thread");
        }
    }
}

fn show_blocking(icon: Option<PathBuf>, shown: &Shown, n: Notification) {
    let caps = server_caps();
    let body = if caps.markup {
        escape_markup(&n.body)
    } else {
        n.body.clone()
    };
    let mut os = notify_rust::Notification::new();
    os.appname("Linq Inbox")
        .summary(&n.title)
        .body(&body)
        .hint(notify_rust::Hint::Category(
            match n.kind {
                Kind::Call => "call",
                _ => "im.received",
            }
            .into(),
        ))
        .hint(notify_rust::Hint::DesktopEntry("linq-inbox-desktop".into()));
    let offered = actions::offered(&n, caps);
    for action in &offered {
        os.action(action.key(), action.label());
    }
    if offered.contains(&Action::InlineReply) {
        // Plasma's words inside its empty reply field.
        os.hint(notify_rust::Hint::Custom(
            "x-kde-reply-placeholder-text".into(),
            format!("Reply to {}", n.title),
        ));
    }
    if let Some(icon) = icon.as_ref().and_then(|p| p.to_str()) {
        os.icon(icon);
    }
    match os.show() {
        Ok(handle) => {
            shown.insert(handle.id(), n.chat_id.clone());
            tracing::info!(
                kind = ?n.kind,
                chat = n.chat_id.as_deref().unwrap_or(""),
                id = handle.id(),
                actions = offered.len(),
                "notified"
            );
        }
        Err(err) => tracing::warn!(%err, "the notification server refused a notification"),
    }
}

/// What the notification server can do, asked once it answers: until then (a server that
/// starts after the app, at login) every notification asks again.
fn server_caps() -> Caps {
    static CAPS: Mutex<Option<Caps>> = Mutex::new(None);
    let mut known = CAPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(caps) = *known {
        return caps;
    }
    match notify_rust::get_capabilities() {
        Ok(list) => *known.insert(Caps::from_list(&list)),
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
