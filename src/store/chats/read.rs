//! The chat list: chats newest first, each summarized with its title, handles, members,
//! unread count and a bounded preview of its last message.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::system::member_name;
use crate::linq::time::format_millis;
use crate::store::json_list;
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
}

const CHAT_COLUMNS: &str =
    "chat_id, display_name, is_group, last_message_id, last_activity_at, unread_count";

fn chat_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatRow> {
    Ok(ChatRow {
        chat_id: r.get(0)?,
        display_name: r.get(1)?,
        is_group: r.get(2)?,
        last_message_id: r.get(3)?,
        last_activity_at: r.get(4)?,
        unread_count: r.get(5)?,
    })
}

/// Chats, newest activity first, after the chat `before` (paging), at most `limit`.
pub fn chats(
    conn: &Connection,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<ChatSummary>, StoreError> {
    let cursor: Option<(i64, String)> = match before {
        Some(id) => conn
            .prepare_cached(
                "SELECT coalesce(last_activity_at, 0), chat_id FROM chats WHERE chat_id = ?1",
            )?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        None => None,
    };
    let (at, id) = cursor.unwrap_or((i64::MAX, String::new()));
    let bounded = before.is_some() as i64;
    // The order is (activity or 0, chat id), newest first. Chats with activity come first and
    // are read along the activity index, stopping at the limit (sorting all 10,000 for a
    // coalesced key was the page's largest cost); only a page past them reads the rest.
    let mut rows = chat_page(conn, ACTIVE_CHATS, (bounded, at, &id), limit)?;
    let short = limit - rows.len() as i64;
    if short > 0 {
        rows.extend(chat_page(conn, IDLE_CHATS, (bounded, at, &id), short)?);
    }
    super::summaries::summaries(conn, rows, true)
}

const ACTIVE_CHATS: &str = "last_activity_at > 0
     AND (?1 = 0 OR (last_activity_at, chat_id) < (?2, ?3))
     ORDER BY last_activity_at DESC, chat_id DESC";

const IDLE_CHATS: &str = "coalesce(last_activity_at, 0) <= 0
     AND (?1 = 0 OR (coalesce(last_activity_at, 0), chat_id) < (?2, ?3))
     ORDER BY coalesce(last_activity_at, 0) DESC, chat_id DESC";

/// Chat rows matching `filter` (a condition and order on `?1` bounded, `?2` at, `?3` id).
fn chat_page(
    conn: &Connection,
    filter: &str,
    (bounded, at, id): (i64, i64, &str),
    limit: i64,
) -> Result<Vec<ChatRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CHAT_COLUMNS} FROM chats WHERE {filter} LIMIT ?4"
    ))?;
    let rows = stmt
        .query_map(params![bounded, at, id, limit], chat_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One chat's summary, if the chat exists.
pub fn chat(conn: &Connection, chat_id: &str) -> Result<Option<ChatSummary>, StoreError> {
    chat_knowing(conn, chat_id, None)
}

/// [`chat`], given a message view already built (a live event's own message): when it is the
/// chat's last message it is used rather than read and assembled a second time.
pub fn chat_knowing(
    conn: &Connection,
    chat_id: &str,
    known: Option<&Message>,
) -> Result<Option<ChatSummary>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {CHAT_COLUMNS} FROM chats WHERE chat_id = ?1"
        ))?
        .query_row(params![chat_id], chat_row)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let known = known.filter(|m| row.last_message_id.as_deref() == Some(m.id.as_str()));
    let mut summary = super::summaries::summaries(conn, vec![row], known.is_none())?.pop();
    if let (Some(summary), Some(message)) = (summary.as_mut(), known) {
        summary.last_message = Some(preview(message.clone()));
    }
    Ok(summary)
}

/// The titles of these chats (those that exist), as their summaries show them.
pub fn chat_titles<'a>(
    conn: &Connection,
    chat_ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>, StoreError> {
    let rows: Vec<ChatRow> = conn
        .prepare_cached(&format!(
            "SELECT {CHAT_COLUMNS} FROM chats WHERE chat_id IN (SELECT value FROM json_each(?1))"
        ))?
        .query_map(params![json_list(chat_ids)], chat_row)?
        .collect::<Result<_, _>>()?;
    Ok(super::summaries::summaries(conn, rows, false)?
        .into_iter()
        .map(|s| (s.chat_id, s.title))
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::convergence_tests::memory_db;

    /// Regression: a chat whose last message was 900 KB of text (or hundreds of attachments)
    /// made every chat-list load carry it whole.
    #[test]
    fn the_chat_list_carries_a_bounded_preview_of_a_huge_last_message() {
        let conn = memory_db();
        let huge = "quarterly pricing ".repeat(60_000);
        conn.execute(
            "INSERT INTO messages (id, chat_id, text, sent_at, direction) VALUES ('big', 'c1', ?1, 9, 'inbound')",
            [&huge],
        )
        .expect("a huge message");
        conn.execute_batch(
            "INSERT INTO chats (chat_id, last_activity_at, last_message_id) VALUES ('c1', 9, 'big');
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499)
             INSERT INTO attachments (message_id, position, id, filename)
             SELECT 'big', i, 'a' || i, 'file ' || i || '.pdf' FROM n;",
        )
        .expect("five hundred attachments");
        let list = chats(&conn, None, 100).expect("chat list");
        let body = serde_json::to_string(&list).expect("json");
        assert!(
            huge.len() > 1_000_000 && body.len() < 100_000,
            "a 1 MB message makes a {} byte chat list",
            body.len()
        );
        let last = list[0].last_message.as_ref().expect("the preview is there");
        let text = last.text.as_deref().unwrap_or_default();
        assert!(
            text.starts_with("quarterly pricing") && text.ends_with('…'),
            "the preview is the text's beginning, marked as cut"
        );
        assert_eq!(
            text.chars().count(),
            PREVIEW_CHARS + 1,
            "the preview is bounded in characters, not bytes"
        );
        assert_eq!(
            last.attachments.len(),
            PREVIEW_ITEMS,
            "the preview carries a few attachments, not all five hundred"
        );
        let alone = chat(&conn, "c1").expect("chat").expect("exists");
        assert_eq!(
            serde_json::to_string(&alone).expect("json"),
            serde_json::to_string(&list[0]).expect("json"),
            "one chat reads as it does in the list"
        );
    }
}
