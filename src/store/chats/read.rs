//! A chat as the rep knows it: its row, title, handles by name, current members, a bounded
//! preview of its last message, and which one-to-one chat a number belongs to.

use rusqlite::{params, Connection, OptionalExtension};

use super::system::member_name;
use crate::linq::time::format_millis;
use crate::store::names::Names;
use crate::store::views::{ChatSummary, HandleView, Member, Message};
use crate::store::StoreError;

/// A chat row as stored.
pub(crate) struct ChatRow {
    pub chat_id: String,
    pub display_name: Option<String>,
    pub is_group: bool,
    pub last_message_id: Option<String>,
    pub last_activity_at: Option<i64>,
    pub unread_count: i64,
    pub read_mark_error: Option<String>,
}

pub(crate) const CHAT_COLUMNS: &str =
    "chat_id, display_name, is_group, last_message_id, last_activity_at, unread_count,
     read_mark_error";

pub(crate) fn chat_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatRow> {
    Ok(ChatRow {
        chat_id: r.get(0)?,
        display_name: r.get(1)?,
        is_group: r.get(2)?,
        last_message_id: r.get(3)?,
        last_activity_at: r.get(4)?,
        unread_count: r.get(5)?,
        read_mark_error: r.get(6)?,
    })
}

/// A summary from its parts; `handles` are in `ORDER BY is_me, identifier` order.
pub(crate) fn assemble_summary(
    row: ChatRow,
    handles: Vec<HandleView>,
    members: Vec<Member>,
    last_message: Option<Message>,
) -> ChatSummary {
    let title = title(&row, &handles, &members);
    ChatSummary {
        my_numbers: handles
            .iter()
            .filter(|h| h.is_me)
            .map(|h| h.identifier.clone())
            .collect(),
        chat_id: row.chat_id,
        title,
        is_group: row.is_group,
        handles,
        members,
        last_message: last_message.map(preview),
        last_activity_at: row.last_activity_at.map(format_millis),
        unread_count: row.unread_count,
        read_mark_error: row.read_mark_error,
        typing: Vec::new(),
        muted: false,
    }
}

fn title(row: &ChatRow, handles: &[HandleView], members: &[Member]) -> String {
    if let Some(name) = row.display_name.as_deref().filter(|n| !n.trim().is_empty()) {
        return name.to_string();
    }
    let mut others: Vec<&str> = handles
        .iter()
        .filter(|h| !h.is_me)
        .map(|h| h.name.as_str())
        .collect();
    if others.is_empty() {
        others = members
            .iter()
            .filter(|m| !m.is_me)
            .map(|m| m.name.as_str())
            .collect();
    }
    match others.len() {
        0 => row.chat_id.clone(),
        1..=3 => others.join(", "),
        n => format!("{}, {} and {} others", others[0], others[1], n - 2),
    }
}

/// A chat_handles row.
pub(crate) struct HandleRow {
    pub identifier: String,
    pub display_name: Option<String>,
    pub is_me: bool,
}

pub(crate) fn handle_views(
    names: &mut Names<'_>,
    chat_id: &str,
    rows: Vec<HandleRow>,
) -> Result<Vec<HandleView>, StoreError> {
    rows.into_iter()
        .map(|h| {
            let name = names.resolve(Some(chat_id), &h.identifier)?;
            Ok(HandleView {
                identifier: h.identifier,
                display_name: h.display_name,
                is_me: h.is_me,
                name,
            })
        })
        .collect()
}

/// One membership change of a group, as its members are worked out from.
pub(crate) struct MembershipChange {
    pub identifier: String,
    pub action: String,
    /// The name the event carried.
    pub display_name: Option<String>,
}

/// Current members of a group: its handles and everyone added, less anyone whose latest
/// membership change was a removal.
pub(crate) fn members(
    names: &mut Names<'_>,
    chat_id: &str,
    handles: &[HandleView],
    changes: Vec<MembershipChange>,
) -> Result<Vec<Member>, StoreError> {
    // (identifier, is_me, present, the name a membership event carried)
    let mut state: Vec<(String, bool, bool, Option<String>)> = handles
        .iter()
        .map(|h| (h.identifier.clone(), h.is_me, true, None))
        .collect();
    for MembershipChange {
        identifier,
        action,
        display_name: carried,
    } in changes
    {
        let present = action == "added";
        match state.iter_mut().find(|(i, ..)| *i == identifier) {
            Some(entry) => {
                entry.2 = present;
                entry.3 = carried.or(entry.3.take());
            }
            None => state.push((identifier, false, present, carried)),
        }
    }
    state
        .into_iter()
        .filter(|(_, _, present, _)| *present)
        .map(|(identifier, is_me, _, carried)| {
            // The same name the membership line shows: resolved, else what the event carried.
            let name = member_name(names, chat_id, &identifier, carried.as_deref())?;
            Ok(Member {
                identifier,
                name,
                is_me,
            })
        })
        .collect()
}

/// The most of a last message's text a chat summary carries, in characters: the list shows a
/// line or two, and a 900 KB message made every chat-list load carry it whole.
pub const PREVIEW_CHARS: usize = 500;
/// The most attachments and reactions a chat summary's last message carries.
pub const PREVIEW_ITEMS: usize = 8;

/// The last message as the chat list shows it: its text cut to [`PREVIEW_CHARS`] (with an
/// ellipsis), its attachments and reactions to [`PREVIEW_ITEMS`] each. The thread reads the
/// message whole.
pub(crate) fn preview(mut m: Message) -> Message {
    if let Some(text) = m.text.as_mut() {
        if let Some((cut, _)) = text.char_indices().nth(PREVIEW_CHARS) {
            text.truncate(cut);
            text.push('…');
        }
    }
    m.attachments.truncate(PREVIEW_ITEMS);
    m.reactions.truncate(PREVIEW_ITEMS);
    m
}

/// The one-to-one chat with `number`, the most recently active if several.
pub(crate) fn direct_chat(conn: &Connection, number: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT h.chat_id FROM chat_handles h JOIN chats c ON c.chat_id = h.chat_id
             WHERE h.identifier = ?1 AND h.is_me = 0 AND c.is_group = 0
             ORDER BY c.last_activity_at DESC LIMIT 1",
        )?
        .query_row(params![number], |r| r.get(0))
        .optional()?)
}

/// Total unread across chats, leaving out some (muted) chats.
pub fn unread_total(conn: &Connection, excluded: &[String]) -> Result<u64, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT chat_id, unread_count FROM chats WHERE unread_count > 0")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut total = 0u64;
    for row in rows {
        let (chat_id, n) = row?;
        if !excluded.contains(&chat_id) {
            total += n.max(0) as u64;
        }
    }
    Ok(total)
}
