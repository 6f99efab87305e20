//! Which actions a notification offers, and what each one asks the app to do. Pure: the
//! notification server's capabilities come in as [`Caps`], so every rule is a unit test.
//!
//! A notification about messages in one chat offers "Reply" and "Mark as read" where the server
//! shows actions at all. Where it advertises `inline-reply` (KDE Plasma), the "Reply" is the
//! server's own text field (action key `inline-reply`): the typed text comes back as the
//! `NotificationReplied` signal and goes through the outbox, so the window never opens.

use linq_inbox::notify::{Kind, Notification};

/// What a notification server says it can do (`GetCapabilities`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// `body-markup`: message text must be escaped.
    pub markup: bool,
    /// `actions`: buttons beside the default click.
    pub actions: bool,
    /// `inline-reply`: a text field the rep types a reply into.
    pub inline_reply: bool,
}

impl Caps {
    pub fn from_list(caps: &[String]) -> Caps {
        let has = |name: &str| caps.iter().any(|c| c == name);
        Caps {
            markup: has("body-markup"),
            actions: has("actions"),
            inline_reply: has("inline-reply"),
        }
    }

    /// What to assume when the server could not be asked: escape the text (at worst an "&"
    /// shows as "&amp;"), offer the buttons (a server without them ignores them), and no text
    /// field (a reply typed into nothing would be lost).
    pub const UNKNOWN: Caps = Caps {
        markup: true,
        actions: true,
        inline_reply: false,
    };
}

/// An action of a notification, by the key the server sends back in `ActionInvoked`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The click on the notification itself (the freedesktop `default` key).
    Open,
    /// Opens the thread with the composer focused.
    Reply,
    /// The server's text field; its text arrives as `NotificationReplied`.
    InlineReply,
    MarkRead,
}

impl Action {
    const ALL: [Action; 4] = [
        Action::Open,
        Action::Reply,
        Action::InlineReply,
        Action::MarkRead,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Action::Open => "default",
            Action::Reply => "reply",
            // The key KDE Plasma's notification server looks for.
            Action::InlineReply => "inline-reply",
            Action::MarkRead => "mark-read",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Open => "Open",
            Action::Reply | Action::InlineReply => "Reply",
            Action::MarkRead => "Mark as read",
        }
    }

    pub fn from_key(key: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.key() == key)
    }
}

/// The actions to show with `n`, the default (click) first.
pub fn offered(n: &Notification, caps: Caps) -> Vec<Action> {
    let mut actions = vec![Action::Open];
    if caps.actions && about_one_chat(n) {
        actions.push(if caps.inline_reply {
            Action::InlineReply
        } else {
            Action::Reply
        });
        actions.push(Action::MarkRead);
    }
    actions
}

/// Messages from one chat (one, or a burst's summary): something to answer or to mark read.
/// Calls, reactions and the summaries of several chats have no one thread to answer in.
fn about_one_chat(n: &Notification) -> bool {
    n.chat_id.is_some() && matches!(n.kind, Kind::Message | Kind::Summary)
}

/// What the app does for an action invoked on a notification about `chat_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Show the window on the chat (the inbox when `None`).
    Open(Option<String>),
    /// Show the window on the chat's thread, the composer focused.
    Reply(String),
    /// Mark the chat read, then close the notification.
    MarkRead(String),
    /// Send `text` as a reply in `chat_id` through the outbox, then close the notification.
    Send { chat_id: String, text: String },
}

/// The intent of the action `key` invoked on a notification about `chat_id`; `None` for a key
/// the app never offered.
pub fn invoked(key: &str, chat_id: Option<&str>) -> Option<Intent> {
    let action = Action::from_key(key)?;
    let Some(chat) = chat_id.map(str::to_owned) else {
        return Some(Intent::Open(None));
    };
    Some(match action {
        Action::Open => Intent::Open(Some(chat)),
        // A server that advertises the text field but sends the key as a plain action showed
        // no field: open the composer instead.
        Action::Reply | Action::InlineReply => Intent::Reply(chat),
        Action::MarkRead => Intent::MarkRead(chat),
    })
}

/// The intent of text typed into the notification's reply field; nothing for blank text.
pub fn replied(text: &str, chat_id: Option<&str>) -> Option<Intent> {
    let chat_id = chat_id?.to_owned();
    (!text.trim().is_empty()).then(|| Intent::Send {
        chat_id,
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(kind: Kind, chat: Option<&str>) -> Notification {
        Notification {
            kind,
            title: "Maria Gonzalez".into(),
            body: "Can we move the demo?".into(),
            chat_id: chat.map(str::to_owned),
        }
    }

    fn caps(list: &[&str]) -> Caps {
        Caps::from_list(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_message_offers_reply_and_mark_as_read_where_the_server_shows_actions() {
        let dunst = caps(&["actions", "body", "body-markup", "body-hyperlinks"]);
        assert_eq!(
            offered(&note(Kind::Message, Some("c1")), dunst),
            vec![Action::Open, Action::Reply, Action::MarkRead],
            "a message: the click opens the chat, Reply and Mark as read beside it"
        );
        let labels: Vec<_> = offered(&note(Kind::Message, Some("c1")), dunst)
            .into_iter()
            .map(Action::label)
            .collect();
        assert_eq!(
            labels,
            ["Open", "Reply", "Mark as read"],
            "the rep reads these words"
        );
        assert_eq!(
            offered(&note(Kind::Message, Some("c1")), caps(&["body"])),
            vec![Action::Open],
            "a server without actions gets only the default click"
        );
    }

    #[test]
    fn inline_reply_replaces_the_reply_button_where_advertised() {
        let plasma = caps(&["actions", "body", "inline-reply"]);
        assert_eq!(
            offered(&note(Kind::Message, Some("c1")), plasma),
            vec![Action::Open, Action::InlineReply, Action::MarkRead],
            "Plasma's text field is the reply; no second button that opens the window"
        );
        assert_eq!(
            Action::InlineReply.key(),
            "inline-reply",
            "the key Plasma looks for to show its text field"
        );
    }

    #[test]
    fn only_messages_from_one_chat_can_be_answered() {
        let dunst = caps(&["actions"]);
        for (kind, chat, why) in [
            (Kind::Call, Some("c1"), "a call has no thread to answer"),
            (Kind::Reaction, Some("c1"), "a reaction is not a message"),
            (
                Kind::Summary,
                None,
                "a summary of several chats has no one thread",
            ),
            (Kind::Message, None, "a message without a chat"),
        ] {
            assert_eq!(
                offered(&note(kind, chat), dunst),
                vec![Action::Open],
                "{why}"
            );
        }
        assert_eq!(
            offered(&note(Kind::Summary, Some("c1")), dunst).len(),
            3,
            "a burst's summary from one chat can be answered and marked read"
        );
    }

    #[test]
    fn each_invoked_key_has_its_intent() {
        let chat = Some("c1");
        assert_eq!(
            invoked("default", chat),
            Some(Intent::Open(Some("c1".into()))),
            "the click opens the chat"
        );
        assert_eq!(
            invoked("reply", chat),
            Some(Intent::Reply("c1".into())),
            "Reply opens the composer"
        );
        assert_eq!(
            invoked("inline-reply", chat),
            Some(Intent::Reply("c1".into())),
            "the field's key as a plain action: the server showed no field"
        );
        assert_eq!(
            invoked("mark-read", chat),
            Some(Intent::MarkRead("c1".into())),
            "Mark as read marks the chat"
        );
        assert_eq!(invoked("x-other", chat), None, "a key never offered");
        assert_eq!(
            invoked("mark-read", None),
            Some(Intent::Open(None)),
            "without a chat every action opens the inbox"
        );
    }

    #[test]
    fn typed_text_is_sent_but_blank_text_is_not() {
        assert_eq!(
            replied("Friday works", Some("c1")),
            Some(Intent::Send {
                chat_id: "c1".into(),
                text: "Friday works".into()
            }),
            "the typed text goes to the chat the notification was about"
        );
        assert_eq!(
            replied("  \n", Some("c1")),
            None,
            "blank text sends nothing"
        );
        assert_eq!(replied("hi", None), None, "no chat, nowhere to send");
    }
}
