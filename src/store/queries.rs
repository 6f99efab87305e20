//! Read queries behind the UI API. Each takes a reader connection and returns views.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use rusqlite::types::FromSql;
use rusqlite::{params, Connection, OptionalExtension};

use super::queries_v3::{self as v3, V3Columns};
use super::summaries;
use super::views::*;
use super::StoreError;
use crate::linq::time::format_millis;

/// Resolves a handle to the name a rep knows it by, caching within one request. Each of the
/// three sources is cached apart, so a handle seen in many chats (the rep's own number) costs
/// one contact and one newest-name lookup per request, not one per chat.
pub struct Names<'c> {
    conn: &'c Connection,
    contacts: HashMap<String, Option<String>>,
    own: HashMap<(String, String), Option<String>>,
    /// Chats whose handles were all primed: a handle missing from `own` has no name there.
    primed_chats: HashSet<String>,
    newest: HashMap<String, Option<String>>,
}

impl<'c> Names<'c> {
    pub fn new(conn: &'c Connection) -> Names<'c> {
        Names {
            conn,
            contacts: HashMap::new(),
            own: HashMap::new(),
            primed_chats: HashSet::new(),
            newest: HashMap::new(),
        }
    }

    /// Contact name, else the handle's display name (in this chat first), else the identifier.
    pub fn resolve(
        &mut self,
        chat_id: Option<&str>,
        identifier: &str,
    ) -> Result<String, StoreError> {
        if let Some(name) = self.contact_name(identifier)? {
            return Ok(name);
        }
        // This chat's own name for the handle first. Only without one, the newest name from
        // any chat: the rep's own number is in every chat, so that lookup is cached per handle.
        if let Some(chat_id) = chat_id {
            if let Some(name) = self.own_name(chat_id, identifier)? {
                return Ok(name);
            }
        }
        Ok(self
            .newest_name(identifier)?
            .unwrap_or_else(|| identifier.to_string()))
    }

    /// Loads the contact names of many handles in one query.
    pub(super) fn prime_contacts<'a>(
        &mut self,
        identifiers: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        let wanted: HashSet<&str> = identifiers
            .into_iter()
            .filter(|i| !self.contacts.contains_key(*i))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT c.phone_number, {CONTACT_NAME}
             FROM json_each(?1) j JOIN contacts c ON c.phone_number = j.value AND c.deleted = 0
             ORDER BY j.key, c.version DESC, c.version_key DESC"
        ))?;
        let mut rows = stmt.query(params![json_list(wanted.iter().copied())])?;
        while let Some(r) = rows.next()? {
            let phone: String = r.get(0)?;
            // The newest version decides, even when it has no name (as the single lookup does).
            if let Entry::Vacant(slot) = self.contacts.entry(phone) {
                slot.insert(r.get(1)?);
            }
        }
        for identifier in wanted {
            self.contacts.entry(identifier.to_string()).or_insert(None);
        }
        Ok(())
    }

    /// Records every handle of a chat with the display name it has there.
    pub(super) fn prime_chat<'a>(
        &mut self,
        chat_id: &str,
        handles: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) {
        for (identifier, display_name) in handles {
            let name = display_name.filter(|n| !n.trim_matches(' ').is_empty());
            self.own.insert(
                (chat_id.to_string(), identifier.to_string()),
                name.map(str::to_string),
            );
        }
        self.primed_chats.insert(chat_id.to_string());
    }

    fn contact_name(&mut self, identifier: &str) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.contacts.get(identifier) {
            return Ok(name.clone());
        }
        let name = self
            .conn
            .prepare_cached(&format!(
                "SELECT {CONTACT_NAME} FROM contacts WHERE phone_number = ?1 AND deleted = 0
                 ORDER BY version DESC, version_key DESC LIMIT 1"
            ))?
            .query_row(params![identifier], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten();
        self.contacts.insert(identifier.to_string(), name.clone());
        Ok(name)
    }

    fn own_name(&mut self, chat_id: &str, identifier: &str) -> Result<Option<String>, StoreError> {
        let key = (chat_id.to_string(), identifier.to_string());
        if let Some(name) = self.own.get(&key) {
            return Ok(name.clone());
        }
        if self.primed_chats.contains(chat_id) {
            return Ok(None);
        }
        let name: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT display_name FROM chat_handles
                 WHERE chat_id = ?1 AND identifier = ?2
                   AND display_name IS NOT NULL AND trim(display_name) != ''",
            )?
            .query_row(params![chat_id, identifier], |r| r.get(0))
            .optional()?;
        self.own.insert(key, name.clone());
        Ok(name)
    }

    fn newest_name(&mut self, identifier: &str) -> Result<Option<String>, StoreError> {
        if let Some(name) = self.newest.get(identifier) {
            return Ok(name.clone());
        }
        let name: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT display_name FROM chat_handles
                 WHERE identifier = ?1 AND display_name IS NOT NULL AND trim(display_name) != ''
                 ORDER BY seen_at DESC LIMIT 1",
            )?
            .query_row(params![identifier], |r| r.get(0))
            .optional()?;
        self.newest.insert(identifier.to_string(), name.clone());
        Ok(name)
    }
}

/// A contact's name as a rep knows it: the full name, else first and last.
const CONTACT_NAME: &str = "coalesce(nullif(trim(full_name), ''), nullif(trim(concat_ws(' ', first_name, last_name)), ''))";

/// A JSON array of strings, bound as one parameter and read with `json_each` so a page's worth
/// of keys is one query. Distinct, in first-seen order: the queries join from the list, and a
/// repeated key would repeat its rows.
pub(super) fn json_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen = HashSet::new();
    let distinct: Vec<&str> = items.into_iter().filter(|i| seen.insert(*i)).collect();
    serde_json::Value::from(distinct).to_string()
}

/// (id, reaction, from, is_from_me, sent_at, custom emoji, sticker JSON)
pub(super) type ReactionRow = (
    String,
    String,
    Option<String>,
    bool,
    Option<i64>,
    Option<String>,
    Option<String>,
);
/// (item id or chat id, identifier, display name, action, at, original at text)
type MembershipRow = (String, String, Option<String>, String, i64, Option<String>);

fn opt_time(ms: Option<i64>) -> Option<String> {
    ms.map(format_millis)
}

// ---- chats ----

pub(super) struct ChatRow {
    pub chat_id: String,
    display_name: Option<String>,
    pub is_group: bool,
    pub last_message_id: Option<String>,
    last_activity_at: Option<i64>,
    unread_count: i64,
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
    summaries::summaries(conn, rows, true)
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
    let mut summary = summaries::summaries(conn, vec![row], known.is_none())?.pop();
    if let (Some(summary), Some(message)) = (summary.as_mut(), known) {
        summary.last_message = Some(message.clone());
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
    Ok(summaries::summaries(conn, rows, false)?
        .into_iter()
        .map(|s| (s.chat_id, s.title))
        .collect())
}

/// A summary from its parts; `handles` are in `ORDER BY is_me, identifier` order.
pub(super) fn assemble_summary(
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
        last_message,
        last_activity_at: opt_time(row.last_activity_at),
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

/// (identifier, display name, is me): a chat_handles row.
pub(super) type HandleRow = (String, Option<String>, bool);

pub(super) fn handle_views(
    names: &mut Names<'_>,
    chat_id: &str,
    rows: Vec<HandleRow>,
) -> Result<Vec<HandleView>, StoreError> {
    rows.into_iter()
        .map(|(identifier, display_name, is_me)| {
            let name = names.resolve(Some(chat_id), &identifier)?;
            Ok(HandleView {
                identifier,
                display_name,
                is_me,
                name,
            })
        })
        .collect()
}

/// (identifier, action, the name the event carried): a memberships row, oldest first.
pub(super) type MembershipChange = (String, String, Option<String>);

/// Current members of a group: its handles and everyone added, less anyone whose latest
/// membership change was a removal.
pub(super) fn members(
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
    for (identifier, action, carried) in changes {
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

// ---- messages ----

pub(super) const MESSAGE_COLUMNS: &str =
    "m.id, m.chat_id, m.text, m.sent_at, m.sent_at_original, m.direction, m.from_phone,
     m.service, r.read_at, r.read_at_original, m.reply_to_id, m.reply_to_part, m.text_parts,
     d.delivered_at, f.code, f.detail_code, f.reason, f.failed_at,
     EXISTS (SELECT 1 FROM message_edits e WHERE e.message_id = m.id)";

/// What a message row is joined with: its read receipt, and (v3) delivery and failure.
pub(super) const MESSAGE_FROM: &str = "messages m LEFT JOIN read_receipts r ON r.message_id = m.id
     LEFT JOIN deliveries d ON d.message_id = m.id LEFT JOIN message_failures f ON f.message_id = m.id";

pub(super) struct MessageRow {
    pub id: String,
    pub chat_id: String,
    text: Option<String>,
    sent_at: i64,
    sent_at_original: Option<String>,
    direction: String,
    pub from_phone: Option<String>,
    service: Option<String>,
    read_at: Option<i64>,
    read_at_original: Option<String>,
    v3: V3Columns,
}

pub(super) fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        chat_id: r.get(1)?,
        text: r.get(2)?,
        sent_at: r.get(3)?,
        sent_at_original: r.get(4)?,
        direction: r.get(5)?,
        from_phone: r.get(6)?,
        service: r.get(7)?,
        read_at: r.get(8)?,
        read_at_original: r.get(9)?,
        v3: V3Columns {
            reply_to_id: r.get(10)?,
            reply_to_part: r.get(11)?,
            text_parts: r.get(12)?,
            delivered_at: r.get(13)?,
            failure: match r.get::<_, Option<i64>>(17)? {
                Some(failed_at) => Some(Failure {
                    code: r.get(14)?,
                    detail_code: r.get(15)?,
                    reason: r.get(16)?,
                    failed_at: format_millis(failed_at),
                }),
                None => None,
            },
            has_edits: r.get(18)?,
        },
    })
}

/// One message with its attachments and reactions.
pub fn message(
    conn: &Connection,
    names: &mut Names<'_>,
    id: &str,
) -> Result<Option<Message>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ?1"
        ))?
        .query_row(params![id], message_row)
        .optional()?;
    row.map(|r| hydrate(conn, names, r)).transpose()
}

fn hydrate(
    conn: &Connection,
    names: &mut Names<'_>,
    row: MessageRow,
) -> Result<Message, StoreError> {
    let attachments = conn
        .prepare_cached(
            "SELECT id, url, filename, mime_type FROM attachments WHERE message_id = ?1 ORDER BY position",
        )?
        .query_map(params![row.id], |r| attachment(r, 0))?
        .collect::<Result<_, _>>()?;
    let reactions: Vec<ReactionRow> = conn
        .prepare_cached(
            "SELECT id, reaction, from_identifier, is_from_me, sent_at, custom_emoji, sticker FROM reactions
             WHERE message_id = ?1 AND (removed_at IS NULL OR sent_at > removed_at)
             ORDER BY sent_at, id",
        )?
        .query_map(params![row.id], |r| seven_columns(r, 0))?
        .collect::<Result<_, _>>()?;
    assemble_message(conn, names, row, attachments, reactions)
}

/// An attachment from `id, url, filename, mime_type` starting at column `at`.
pub(super) fn attachment(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(at)?,
        url: r.get(at + 1)?,
        filename: r.get(at + 2)?,
        mime_type: r.get(at + 3)?,
    })
}

/// Seven columns as a tuple, starting at column `at`: a reaction row or a chat-event row, read
/// alone or after the key its query groups by.
pub(super) fn seven_columns<A, B, C, D, E, F, G>(
    r: &rusqlite::Row<'_>,
    at: usize,
) -> rusqlite::Result<(A, B, C, D, E, F, G)>
where
    A: FromSql,
    B: FromSql,
    C: FromSql,
    D: FromSql,
    E: FromSql,
    F: FromSql,
    G: FromSql,
{
    Ok((
        r.get(at)?,
        r.get(at + 1)?,
        r.get(at + 2)?,
        r.get(at + 3)?,
        r.get(at + 4)?,
        r.get(at + 5)?,
        r.get(at + 6)?,
    ))
}

/// A message from its row, its attachments (by position) and its live reactions (oldest first).
pub(super) fn assemble_message(
    conn: &Connection,
    names: &mut Names<'_>,
    row: MessageRow,
    attachments: Vec<Attachment>,
    reactions: Vec<ReactionRow>,
) -> Result<Message, StoreError> {
    let reactions = reaction_views(names, &row.chat_id, reactions)?;
    let from_name = match &row.from_phone {
        Some(phone) => Some(names.resolve(Some(&row.chat_id), phone)?),
        None => None,
    };
    let facts = v3::message_facts(conn, names, &row.id, &row.chat_id, row.text, row.v3)?;
    let direction = Direction::parse(&row.direction);
    let status = facts.status(direction == Direction::Outbound, row.read_at.is_some());
    Ok(Message {
        kind: "message",
        direction,
        sent_at: format_millis(row.sent_at),
        read_at: opt_time(row.read_at),
        id: row.id,
        chat_id: row.chat_id,
        text: facts.text,
        sent_at_original: row.sent_at_original,
        from_phone: row.from_phone,
        from_name,
        service: row.service,
        read_at_original: row.read_at_original,
        attachments,
        reactions,
        delivered_at: facts.delivered_at,
        status,
        failure: facts.failure,
        edited_at: facts.edited_at,
        reply_to: facts.reply_to,
    })
}

fn reaction_views(
    names: &mut Names<'_>,
    chat_id: &str,
    rows: Vec<ReactionRow>,
) -> Result<Vec<Reaction>, StoreError> {
    rows.into_iter()
        .map(
            |(id, reaction, from, is_from_me, sent_at, custom_emoji, sticker)| {
                let from_name = match &from {
                    Some(f) => Some(names.resolve(Some(chat_id), f)?),
                    None => None,
                };
                Ok(Reaction {
                    id,
                    reaction,
                    from,
                    from_name,
                    is_from_me,
                    sent_at: opt_time(sent_at),
                    custom_emoji,
                    sticker: sticker.and_then(|s| serde_json::from_str(&s).ok()),
                })
            },
        )
        .collect()
}

/// A reaction as an event: who reacted with what to which message.
pub fn reaction_event(conn: &Connection, id: &str) -> Result<Option<ReactionEvent>, StoreError> {
    type Row = (
        String,
        Option<String>,
        String,
        Option<String>,
        bool,
        Option<String>,
        Option<i64>,
        Option<String>,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT r.message_id, coalesce(r.chat_id, m.chat_id), r.reaction, r.from_identifier, r.is_from_me,
                    coalesce(m.text, r.message_text), r.sent_at, m.chat_id
             FROM reactions r LEFT JOIN messages m ON m.id = r.message_id WHERE r.id = ?1",
        )?
        .query_row(params![id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })
        .optional()?;
    let Some((message_id, chat_id, reaction, from, is_from_me, message_text, sent_at, _)) = row
    else {
        return Ok(None);
    };
    let mut names = Names::new(conn);
    let from_name = match &from {
        Some(f) => Some(names.resolve(chat_id.as_deref(), f)?),
        None => None,
    };
    Ok(Some(ReactionEvent {
        id: id.to_string(),
        message_id,
        chat_id,
        reaction,
        from,
        from_name,
        is_from_me,
        message_text,
        sent_at: opt_time(sent_at),
    }))
}

/// Which part of a thread a page holds.
#[derive(Debug, Clone, Copy)]
pub enum Window<'a> {
    /// The newest items.
    Latest,
    /// The newest items older than this item.
    Before(&'a str),
    /// The oldest items newer than this item.
    After(&'a str),
    /// This item and the oldest items newer than it.
    From(&'a str),
}

/// A page of a thread, oldest first, and whether more items lie beyond it in the direction it
/// was read (older for `Latest`/`Before`, newer for `After`).
pub fn thread(
    conn: &Connection,
    chat_id: &str,
    window: Window<'_>,
    limit: i64,
) -> Result<(Vec<ThreadItem>, bool), StoreError> {
    let (cursor, cmp) = match window {
        Window::Latest => (None, "<"),
        Window::Before(id) => (Some(item_cursor(conn, chat_id, "before", id)?), "<"),
        Window::After(id) => (Some(item_cursor(conn, chat_id, "after", id)?), ">"),
        Window::From(id) => (Some(item_cursor(conn, chat_id, "around", id)?), ">="),
    };
    let newer = cmp != "<";
    let order = if newer { "ASC" } else { "DESC" };
    let unbounded = cursor.is_none() as i64;
    let (at, id) = cursor.unwrap_or((i64::MAX, String::new()));
    let rows: Vec<MessageRow> = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
             WHERE m.chat_id = ?1 AND (?2 = 1 OR (m.sent_at, m.id) {cmp} (?3, ?4))
             ORDER BY m.sent_at {order}, m.id {order} LIMIT ?5"
        ))?
        .query_map(params![chat_id, unbounded, at, id, limit + 1], message_row)?
        .collect::<Result<_, _>>()?;
    let system: Vec<MembershipRow> = conn
        .prepare_cached(&format!(
            "SELECT 'member-' || event_id AS item_id, identifier, display_name, action, at, at_original
             FROM memberships WHERE chat_id = ?1 AND (?2 = 1 OR (at, 'member-' || event_id) {cmp} (?3, ?4))
             ORDER BY at {order}, item_id {order} LIMIT ?5"
        ))?
        .query_map(params![chat_id, unbounded, at, id, limit + 1], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })?
        .collect::<Result<_, _>>()?;
    let chat_events =
        v3::chat_event_rows(conn, chat_id, (unbounded == 1, cmp), at, &id, limit + 1)?;

    // Merge the lists by (time, id) nearest the cursor first, keep `limit`, then put them oldest
    // first. Membership lines index `system`; chat-event lines index `chat_events` past its length.
    let mut keyed: Vec<(i64, String, Option<MessageRow>, usize)> = Vec::new();
    keyed.extend(
        rows.into_iter()
            .map(|r| (r.sent_at, r.id.clone(), Some(r), usize::MAX)),
    );
    keyed.extend(
        system
            .iter()
            .enumerate()
            .map(|(i, s)| (s.4, s.0.clone(), None, i)),
    );
    keyed.extend(chat_events.iter().enumerate().map(|(i, e)| {
        (
            e.5,
            format!("{}{}", v3::ITEM_PREFIX, e.0),
            None,
            system.len() + i,
        )
    }));
    keyed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    if !newer {
        keyed.reverse();
    }
    let has_more = keyed.len() as i64 > limit;
    keyed.truncate(limit.max(0) as usize);
    if !newer {
        keyed.reverse();
    }

    let mut names = Names::new(conn);
    let mut items = Vec::with_capacity(keyed.len());
    for (at, _, row, index) in keyed {
        match row {
            Some(row) => items.push(ThreadItem::Message(hydrate(conn, &mut names, row)?)),
            None if index >= system.len() => {
                let row = &chat_events[index - system.len()];
                items.push(v3::chat_event_item(&mut names, chat_id, row)?);
            }
            None => {
                let (item_id, identifier, display_name, action, _, original) = &system[index];
                let name = member_name(&mut names, chat_id, identifier, display_name.as_deref())?;
                items.push(ThreadItem::Membership(MembershipItem {
                    kind: "membership",
                    id: item_id.clone(),
                    chat_id: chat_id.to_string(),
                    action: action.clone(),
                    identifier: identifier.clone(),
                    name,
                    sent_at: format_millis(at),
                    sent_at_original: original.clone(),
                }));
            }
        }
    }
    Ok((items, has_more))
}

/// A page centred on one item (a search hit deep in history): about `limit / 2` items older
/// than it, then the item and the newer ones after it. Returns the items oldest first, whether
/// older items remain, and whether newer ones remain.
pub fn thread_around(
    conn: &Connection,
    chat_id: &str,
    item_id: &str,
    limit: i64,
) -> Result<(Vec<ThreadItem>, bool, bool), StoreError> {
    // Near either end of the thread the window fills up from the other side.
    let (mut older, mut has_older) = thread(conn, chat_id, Window::Before(item_id), limit / 2)?;
    let newer_limit = limit - older.len() as i64;
    let (newer, has_newer) = thread(conn, chat_id, Window::From(item_id), newer_limit)?;
    let room = limit - newer.len() as i64;
    if has_older && room > older.len() as i64 {
        (older, has_older) = thread(conn, chat_id, Window::Before(item_id), room)?;
    }
    older.extend(newer);
    Ok((older, has_older, has_newer))
}

fn item_cursor(
    conn: &Connection,
    chat_id: &str,
    param: &str,
    item_id: &str,
) -> Result<(i64, String), StoreError> {
    cursor_of(conn, chat_id, item_id)?.ok_or_else(|| {
        StoreError::Invalid(format!("{param}={item_id:?} is not an item of this chat"))
    })
}

fn cursor_of(
    conn: &Connection,
    chat_id: &str,
    item_id: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    if let Some(found) = v3::cursor_of(conn, chat_id, item_id)? {
        return Ok(Some(found));
    }
    if let Some(event_id) = item_id.strip_prefix("member-") {
        let at: Option<i64> = conn
            .prepare_cached("SELECT at FROM memberships WHERE event_id = ?1 AND chat_id = ?2")?
            .query_row(params![event_id, chat_id], |r| r.get(0))
            .optional()?;
        if let Some(at) = at {
            return Ok(Some((at, item_id.to_string())));
        }
    }
    let at: Option<i64> = conn
        .prepare_cached("SELECT sent_at FROM messages WHERE id = ?1 AND chat_id = ?2")?
        .query_row(params![item_id, chat_id], |r| r.get(0))
        .optional()?;
    Ok(at.map(|at| (at, item_id.to_string())))
}

/// One membership change as a thread item (`key` is the memberships row key).
pub fn membership_item(conn: &Connection, key: &str) -> Result<Option<ThreadItem>, StoreError> {
    let row: Option<MembershipRow> = conn
        .prepare_cached(
            "SELECT chat_id, identifier, display_name, action, at, at_original FROM memberships WHERE event_id = ?1",
        )?
        .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    let Some((chat_id, identifier, display_name, action, at, original)) = row else {
        return Ok(None);
    };
    let mut names = Names::new(conn);
    let name = member_name(&mut names, &chat_id, &identifier, display_name.as_deref())?;
    Ok(Some(ThreadItem::Membership(MembershipItem {
        kind: "membership",
        id: format!("member-{key}"),
        chat_id,
        action,
        identifier,
        name,
        sent_at: format_millis(at),
        sent_at_original: original,
    })))
}

/// The name for a membership line: the resolved name, else the name the event itself carried.
fn member_name(
    names: &mut Names<'_>,
    chat_id: &str,
    identifier: &str,
    carried: Option<&str>,
) -> Result<String, StoreError> {
    let resolved = names.resolve(Some(chat_id), identifier)?;
    Ok(match carried.filter(|n| !n.trim().is_empty()) {
        Some(n) if resolved == identifier => n.to_string(),
        _ => resolved,
    })
}

// ---- calls ----

const CALL_COLUMNS: &str =
    "id, from_number, to_number, direction, status, start_time, start_time_original,
     end_time, end_time_original, duration, call_type, forwarded_from, answered_by, voicemail,
     has_recording, recording_id, recording_url, recording_duration, transcription, summary";

fn call_row(
    conn: &Connection,
    names: &mut Names<'_>,
    r: &rusqlite::Row<'_>,
) -> Result<Call, StoreError> {
    let from: Option<String> = r.get(1)?;
    let to: Option<String> = r.get(2)?;
    let direction: Option<String> = r.get(3)?;
    let status: Option<String> = r.get(4)?;
    let duration: Option<i64> = r.get(9)?;
    let answered_by: Option<String> = r.get(12)?;
    let voicemail: bool = r.get(13)?;
    let has_recording: bool = r.get(14)?;
    let inbound = direction.as_deref() != Some("outbound");
    let missed = inbound
        && is_missed(
            status.as_deref(),
            voicemail,
            answered_by.as_deref(),
            duration,
        );
    let other = if inbound {
        from.as_deref()
    } else {
        to.as_deref()
    };
    let chat_id = match other {
        Some(number) => direct_chat(conn, number)?,
        None => None,
    };
    let recording_url: Option<String> = r.get(16)?;
    let transcription: Option<String> = r.get(18)?;
    let summary: Option<String> = r.get(19)?;
    let recording =
        (has_recording || recording_url.is_some() || transcription.is_some() || summary.is_some())
            .then(|| -> rusqlite::Result<Recording> {
                Ok(Recording {
                    id: r.get(15)?,
                    url: recording_url,
                    duration: r.get(17)?,
                    transcription,
                    summary,
                })
            })
            .transpose()?;
    Ok(Call {
        id: r.get(0)?,
        from_name: from
            .as_deref()
            .map(|f| names.resolve(chat_id.as_deref(), f))
            .transpose()?,
        to_name: to
            .as_deref()
            .map(|t| names.resolve(chat_id.as_deref(), t))
            .transpose()?,
        from,
        to,
        direction,
        status,
        start_time: opt_time(r.get(5)?),
        start_time_original: r.get(6)?,
        end_time: opt_time(r.get(7)?),
        end_time_original: r.get(8)?,
        duration,
        call_type: r.get(10)?,
        forwarded_from: r.get(11)?,
        answered_by,
        voicemail,
        missed,
        chat_id,
        recording,
    })
}

/// An inbound call nobody picked up: voicemail, a "missed"-like status, or no answer and no time.
pub fn is_missed(
    status: Option<&str>,
    voicemail: bool,
    answered_by: Option<&str>,
    duration: Option<i64>,
) -> bool {
    const MISSED: [&str; 8] = [
        "missed",
        "no-answer",
        "no_answer",
        "busy",
        "failed",
        "canceled",
        "cancelled",
        "declined",
    ];
    voicemail
        || status.is_some_and(|s| MISSED.contains(&s.to_ascii_lowercase().as_str()))
        || (answered_by.is_none() && duration.unwrap_or(0) == 0)
}

fn direct_chat(conn: &Connection, number: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT h.chat_id FROM chat_handles h JOIN chats c ON c.chat_id = h.chat_id
             WHERE h.identifier = ?1 AND h.is_me = 0 AND c.is_group = 0
             ORDER BY c.last_activity_at DESC LIMIT 1",
        )?
        .query_row(params![number], |r| r.get(0))
        .optional()?)
}

/// Calls, newest first, older than the call `before`.
pub fn calls(
    conn: &Connection,
    before: Option<&str>,
    limit: i64,
) -> Result<(Vec<Call>, bool), StoreError> {
    let cursor: Option<(i64, String)> = match before {
        Some(id) => conn
            .prepare_cached("SELECT coalesce(start_time, 0), id FROM calls WHERE id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        None => None,
    };
    let (at, id) = cursor.unwrap_or((i64::MAX, String::new()));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CALL_COLUMNS} FROM calls WHERE (coalesce(start_time, 0), id) < (?1, ?2)
         ORDER BY coalesce(start_time, 0) DESC, id DESC LIMIT ?3"
    ))?;
    let mut names = Names::new(conn);
    let mut rows = stmt.query(params![
        at,
        if before.is_some() {
            id
        } else {
            "\u{10FFFF}".to_string()
        },
        limit + 1
    ])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(call_row(conn, &mut names, r)?);
    }
    let has_more = out.len() as i64 > limit;
    out.truncate(limit.max(0) as usize);
    Ok((out, has_more))
}

pub fn call(conn: &Connection, id: &str) -> Result<Option<Call>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = ?1"))?;
    let mut rows = stmt.query(params![id])?;
    let mut names = Names::new(conn);
    match rows.next()? {
        Some(r) => Ok(Some(call_row(conn, &mut names, r)?)),
        None => Ok(None),
    }
}

// ---- contacts ----

const CONTACT_COLUMNS: &str =
    "id, first_name, last_name, full_name, email, phone_number, company, title, location,
     image_url, created_at, created_at_original, updated_at, updated_at_original, owner";

fn contact_row(conn: &Connection, r: &rusqlite::Row<'_>) -> Result<Contact, StoreError> {
    let owner: Option<String> = r.get(14)?;
    let owner = owner
        .and_then(|o| serde_json::from_str::<serde_json::Value>(&o).ok())
        .map(|o| ContactOwner {
            id: o.get("id").and_then(|v| v.as_str()).map(str::to_string),
            name: o
                .get("name")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .or_else(|| {
                    let first = o.get("first_name").and_then(|v| v.as_str()).unwrap_or("");
                    let last = o.get("last_name").and_then(|v| v.as_str()).unwrap_or("");
                    let full = format!("{first} {last}").trim().to_string();
                    (!full.is_empty()).then_some(full)
                }),
            email: o.get("email").and_then(|v| v.as_str()).map(str::to_string),
        });
    let phone: Option<String> = r.get(5)?;
    let chat_id = match &phone {
        Some(p) => direct_chat(conn, p)?,
        None => None,
    };
    Ok(Contact {
        id: r.get(0)?,
        first_name: r.get(1)?,
        last_name: r.get(2)?,
        full_name: r.get(3)?,
        email: r.get(4)?,
        phone_number: phone,
        company: r.get(6)?,
        title: r.get(7)?,
        location: r.get(8)?,
        image_url: r.get(9)?,
        created_at: opt_time(r.get(10)?),
        created_at_original: r.get(11)?,
        updated_at: opt_time(r.get(12)?),
        updated_at_original: r.get(13)?,
        owner,
        chat_id,
    })
}

/// Every contact not deleted, by name.
pub fn contacts(conn: &Connection) -> Result<Vec<Contact>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE deleted = 0
         ORDER BY lower(coalesce(full_name, first_name, last_name, phone_number, id))"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(contact_row(conn, r)?);
    }
    Ok(out)
}

pub fn contact(conn: &Connection, id: &str) -> Result<Option<Contact>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1 AND deleted = 0"
    ))?;
    let mut rows = stmt.query(params![id])?;
    match rows.next()? {
        Some(r) => Ok(Some(contact_row(conn, r)?)),
        None => Ok(None),
    }
}

// ---- log views ----

pub fn events(
    conn: &Connection,
    before: Option<i64>,
    event_type: Option<&str>,
    limit: i64,
) -> Result<(Vec<EventView>, bool), StoreError> {
    let mut rows = super::log::events_page(conn, before, event_type, limit + 1)?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Ok((rows.into_iter().map(event_view).collect(), has_more))
}

pub fn event_view(e: super::StoredEvent) -> EventView {
    let payload = serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::String(e.payload));
    EventView {
        seq: e.seq,
        event_id: e.event_id,
        event_type: e.event_type,
        created_at: opt_time(e.created_at),
        created_at_original: e.created_at_original,
        received_at: format_millis(e.received_at),
        signature: e.signature,
        payload,
    }
}

pub fn rejected(conn: &Connection, limit: i64) -> Result<Vec<RejectedView>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, status, reason, remote_addr, headers, size, body_prefix
         FROM rejected ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        let headers: String = r.get(5)?;
        Ok(RejectedView {
            id: r.get(0)?,
            received_at: format_millis(r.get(1)?),
            status: r.get(2)?,
            reason: r.get(3)?,
            remote_addr: r.get(4)?,
            headers: serde_json::from_str(&headers).unwrap_or_default(),
            size: r.get(6)?,
            body_prefix: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Row counts for the status screen.
pub fn counts(conn: &Connection) -> Result<serde_json::Value, StoreError> {
    let count =
        |sql: &str| -> Result<i64, StoreError> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(serde_json::json!({
        "events": count("SELECT count(*) FROM events")?,
        "chats": count("SELECT count(*) FROM chats")?,
        "messages": count("SELECT count(*) FROM messages")?,
        "calls": count("SELECT count(*) FROM calls")?,
        "contacts": count("SELECT count(*) FROM contacts WHERE deleted = 0")?,
        "rejected": count("SELECT count(*) FROM rejected")?,
    }))
}

/// Total unread across chats, optionally leaving out some (muted) chats.
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
