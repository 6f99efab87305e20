//! Whether a chat shows the rep's typing: Linq shows typing only in iMessage (SMS and RCS answer
//! but show nothing, `linq-api.md` §6.3), and the inbox sends it only in one-to-one chats, where
//! the dots say who is typing. The chat's service is the newest one a message of it names.

use rusqlite::{Connection, OptionalExtension};

use crate::store::StoreError;

/// What the rep's typing would be in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingTarget {
    NoSuchChat,
    /// A group: never sent.
    Group,
    /// SMS, RCS, or no service known yet: never sent.
    NotIMessage,
    /// A one-to-one iMessage chat: sent.
    Shown,
}

/// Where `chat_id` stands for typing.
pub fn typing_target(conn: &Connection, chat_id: &str) -> Result<TypingTarget, StoreError> {
    let is_group: Option<bool> = conn
        .prepare_cached("SELECT is_group FROM chats WHERE chat_id = ?1")?
        .query_row([chat_id], |r| r.get(0))
        .optional()?;
    let Some(is_group) = is_group else {
        return Ok(TypingTarget::NoSuchChat);
    };
    if is_group {
        return Ok(TypingTarget::Group);
    }
    let service: Option<String> = conn
        .prepare_cached(
            "SELECT service FROM messages WHERE chat_id = ?1 AND service IS NOT NULL
             ORDER BY sent_at DESC LIMIT 1",
        )?
        .query_row([chat_id], |r| r.get(0))
        .optional()?;
    Ok(match service {
        Some(s) if s.eq_ignore_ascii_case("imessage") => TypingTarget::Shown,
        _ => TypingTarget::NotIMessage,
    })
}
