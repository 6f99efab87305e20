//! Showing a decided notification on the freedesktop notification server (notify-rust), and
//! opening its chat when it is clicked.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use linq_inbox::notify::{Kind, Notification};
use tauri::AppHandle;

use crate::window;

const ICON: &[u8] = include_bytes!("../../icons/128x128.png");
/// Each shown notification keeps a thread waiting for its click until it closes. Servers that
/// keep notifications until dismissed could pile these up; past this many, new notifications
/// are shown without waiting for a click.
const MAX_WAITING: usize = 32;

pub struct Desktop {
    app: AppHandle,
    icon: Option<PathBuf>,
    waiting: Arc<AtomicUsize>,
}

impl Desktop {
    pub fn new(app: AppHandle, icon_dir: Option<PathBuf>) -> Desktop {
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
        Desktop {
            app,
            icon,
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Show `n` without blocking the caller: D-Bus calls run on a thread of their own.
    pub fn show(&self, n: Notification) {
        let app = self.app.clone();
        let icon = self.icon.clone();
        let waiting = self.waiting.clone();
        let spawned = std::thread::Builder::new()
            .name("notification".into())
            .spawn(move || show_blocking(app, icon, waiting, n));
        if let Err(err) = spawned {
            tracing::warn!(%err, "could not start a notification thread");
        }
    }
}

fn show_blocking(
    app: AppHandle,
    icon: Option<PathBuf>,
    waiting: Arc<AtomicUsize>,
    n: Notification,
) {
    let body = if server_parses_markup() {
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
        .hint(notify_rust::Hint::DesktopEntry("linq-inbox-desktop".into()))
        .action("default", "Open");
    if let Some(icon) = icon.as_ref().and_then(|p| p.to_str()) {
        os.icon(icon);
    }
    let handle = match os.show() {
        Ok(handle) => handle,
        Err(err) => {
            tracing::warn!(%err, "the notification server refused a notification");
            return;
        }
    };
    tracing::info!(kind = ?n.kind, chat = n.chat_id.as_deref().unwrap_or(""), "notified");
    if waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        waiting.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    handle.wait_for_action(|action| {
        if action == "default" {
            window::open_chat(&app, n.chat_id.as_deref());
        }
    });
    waiting.fetch_sub(1, Ordering::SeqCst);
}

/// Whether the server renders `<b>`-style markup in bodies: then message text must be escaped,
/// or "<b>FREE</b>" from a stranger would show bold and "&amp;" would lose its meaning.
fn server_parses_markup() -> bool {
    static MARKUP: OnceLock<bool> = OnceLock::new();
    *MARKUP.get_or_init(|| {
        notify_rust::get_capabilities()
            .map(|caps| caps.iter().any(|c| c == "body-markup"))
            // Unknown: escaping is the safe guess; at worst an "&" shows as "&amp;".
            .unwrap_or(true)
    })
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
