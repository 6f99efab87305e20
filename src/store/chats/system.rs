//! A chat's system lines: people added to or removed from a group, a group renamed or given a
//! new icon, location sharing begun or ended. Projected here, read as thread items in their
//! place among the messages.

use rusqlite::{params, Connection, OptionalExtension};

use super::project::{bump_activity, ensure, mark_group};
use crate::linq::time::format_millis;
use crate::linq::{ChatChange, ChatChangeKind, Membership};
use crate::store::names::Names;
use crate::store::rules::{millis, original, Ctx};
use crate::store::views::{ChatEventItem, MembershipItem, ThreadItem};
use crate::store::StoreError;

/// Thread item ids of membership lines: this prefix and the memberships row key.
pub(crate) const MEMBER_PREFIX: &str = "member-";
/// Thread item ids of other system lines: this prefix and the chat_events row key.
pub(crate) const CHANGE_PREFIX: &str = "chatevent-";

/// A membership change: one line per person, keyed by the event (and the person's place in it).
pub(crate) fn membership(
    conn: &Connection,
    ctx: &Ctx<'_>,
    m: &Membership,
) -> Result<(), StoreError> {
    let Some(chat_id) = m.chat_id.as_deref() else {
        return Ok(());
    };
    if m.handles.is_empty() {
        return Ok(());
    }
    let at = millis(m.at.as_ref()).unwrap_or(ctx.at);
    ensure(conn, chat_id)?;
    mark_group(conn, chat_id)?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO memberships (event_id, chat_id, identifier, display_name, action, at, at_original)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id) DO NOTHING",
    )?;
    for (i, h) in m.handles.iter().enumerate() {
        stmt.execute(params![
            membership_key(ctx.event_id, i),
            chat_id,
            h.identifier,
            h.display_name,
            m.change.as_str(),
            at,
            original(m.at.as_ref()),
        ])?;
    }
    bump_activity(conn, chat_id, at)
}

/// The memberships row key of the `index`th person an event names.
pub fn membership_key(event_id: &str, index: usize) -> String {
    if index == 0 {
        event_id.to_string()
    } else {
        format!("{event_id}#{index}")
    }
}

/// A group's name or icon changed, or location sharing began or ended: a system line keyed by
/// the event, and for a group, the newest name or icon on the chat.
pub(crate) fn changed(conn: &Connection, ctx: &Ctx<'_>, c: &ChatChange) -> Result<(), StoreError> {
    let Some(chat_id) = c.chat_id.as_deref() else {
        return Ok(());
    };
    let at = millis(c.at.as_ref()).unwrap_or(ctx.at);
    ensure(conn, chat_id)?;
    conn.prepare_cached(
        "INSERT INTO chat_events (key, chat_id, kind, actor, old_value, new_value, at, at_original)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (key) DO NOTHING",
    )?
    .execute(params![
        ctx.event_id,
        chat_id,
        c.kind.as_str(),
        c.actor,
        c.old_value,
        c.new_value,
        at,
        original(c.at.as_ref()),
    ])?;
    let newest = match c.kind {
        ChatChangeKind::GroupName => Some(
            "UPDATE chats SET display_name = ?2, name_changed_at = ?3, name_changed_key = ?4
             WHERE chat_id = ?1 AND (name_changed_at IS NULL OR (?3, ?4) > (name_changed_at, name_changed_key))",
        ),
        ChatChangeKind::GroupIcon => Some(
            "UPDATE chats SET icon_url = ?2, icon_changed_at = ?3, icon_changed_key = ?4
             WHERE chat_id = ?1 AND (icon_changed_at IS NULL OR (?3, ?4) > (icon_changed_at, icon_changed_key))",
        ),
        ChatChangeKind::LocationStarted | ChatChangeKind::LocationStopped => None,
    };
    if let Some(sql) = newest {
        mark_group(conn, chat_id)?;
        let value = c.new_value.as_deref().filter(|v| !v.trim().is_empty());
        conn.prepare_cached(sql)?
            .execute(params![chat_id, value, at, ctx.event_id])?;
    }
    bump_activity(conn, chat_id, at)
}

// ---- reading ----

/// A membership line as stored.
pub(crate) struct MembershipRow {
    /// `member-` and the row key.
    pub item_id: String,
    pub chat_id: String,
    pub identifier: String,
    pub display_name: Option<String>,
    pub action: String,
    pub at: i64,
    pub at_original: Option<String>,
}

/// Any other system line as stored.
pub(crate) struct ChangeRow {
    /// `chatevent-` and the row key.
    pub item_id: String,
    pub chat_id: String,
    pub kind: String,
    pub actor: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at: i64,
    pub at_original: Option<String>,
}

fn membership_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MembershipRow> {
    Ok(MembershipRow {
        item_id: r.get(0)?,
        chat_id: r.get(1)?,
        identifier: r.get(2)?,
        display_name: r.get(3)?,
        action: r.get(4)?,
        at: r.get(5)?,
        at_original: r.get(6)?,
    })
}

fn change_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChangeRow> {
    Ok(ChangeRow {
        item_id: r.get(0)?,
        chat_id: r.get(1)?,
        kind: r.get(2)?,
        actor: r.get(3)?,
        old_value: r.get(4)?,
        new_value: r.get(5)?,
        at: r.get(6)?,
        at_original: r.get(7)?,
    })
}

const MEMBERSHIP_COLUMNS: &str =
    "'member-' || event_id AS item_id, chat_id, identifier, display_name, action, at, at_original";
const CHANGE_COLUMNS: &str =
    "'chatevent-' || key AS item_id, chat_id, kind, actor, old_value, new_value, at, at_original";

/// Where a page of a thread starts and which way it reads.
pub(crate) struct Bound<'a> {
    /// No cursor: the page starts at the newest end.
    pub unbounded: bool,
    /// `<` reads back from the cursor, `>` or `>=` forward.
    pub cmp: &'a str,
    pub at: i64,
    /// The cursor's tie (a message's `tie`; 0 for a system line, which is what these lines have).
    pub tie: i64,
    pub item_id: &'a str,
    pub limit: i64,
}

impl Bound<'_> {
    fn order(&self) -> &'static str {
        if self.cmp == "<" {
            "DESC"
        } else {
            "ASC"
        }
    }
}

/// A page of a chat's membership lines, nearest the cursor first.
pub(crate) fn membership_page(
    conn: &Connection,
    chat_id: &str,
    b: &Bound<'_>,
) -> Result<Vec<MembershipRow>, StoreError> {
    let (cmp, order) = (b.cmp, b.order());
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships
             WHERE chat_id = ?1 AND (?2 = 1 OR (at, 0, item_id) {cmp} (?3, ?6, ?4))
             ORDER BY at {order}, item_id {order} LIMIT ?5"
        ))?
        .query_map(
            params![chat_id, b.unbounded, b.at, b.item_id, b.limit, b.tie],
            membership_row,
        )?
        .collect::<Result<_, _>>()?)
}

/// A page of a chat's other system lines, nearest the cursor first.
pub(crate) fn change_page(
    conn: &Connection,
    chat_id: &str,
    b: &Bound<'_>,
) -> Result<Vec<ChangeRow>, StoreError> {
    let (cmp, order) = (b.cmp, b.order());
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {CHANGE_COLUMNS} FROM chat_events
             WHERE chat_id = ?1 AND (?2 = 1 OR (at, 0, item_id) {cmp} (?3, ?6, ?4))
             ORDER BY at {order}, key {order} LIMIT ?5"
        ))?
        .query_map(
            params![chat_id, b.unbounded, b.at, b.item_id, b.limit, b.tie],
            change_row,
        )?
        .collect::<Result<_, _>>()?)
}

/// Where a system line sits in its chat's thread, if `item_id` is one of its system lines.
pub(crate) fn cursor_of(
    conn: &Connection,
    chat_id: &str,
    item_id: &str,
) -> Result<Option<i64>, StoreError> {
    let (sql, key) = if let Some(key) = item_id.strip_prefix(CHANGE_PREFIX) {
        (
            "SELECT at FROM chat_events WHERE key = ?1 AND chat_id = ?2",
            key,
        )
    } else if let Some(key) = item_id.strip_prefix(MEMBER_PREFIX) {
        (
            "SELECT at FROM memberships WHERE event_id = ?1 AND chat_id = ?2",
            key,
        )
    } else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params![key, chat_id], |r| r.get(0))
        .optional()?)
}

/// A membership line as the thread shows it.
pub(crate) fn membership_item(
    names: &mut Names<'_>,
    row: MembershipRow,
) -> Result<ThreadItem, StoreError> {
    let name = member_name(
        names,
        &row.chat_id,
        &row.identifier,
        row.display_name.as_deref(),
    )?;
    Ok(ThreadItem::Membership(MembershipItem {
        kind: "membership",
        id: row.item_id,
        chat_id: row.chat_id,
        action: row.action,
        identifier: row.identifier,
        name,
        sent_at: format_millis(row.at),
        sent_at_original: row.at_original,
    }))
}

/// Any other system line as the thread shows it.
pub(crate) fn change_item(names: &mut Names<'_>, row: ChangeRow) -> Result<ThreadItem, StoreError> {
    let actor_name = match &row.actor {
        Some(a) => Some(names.resolve(Some(&row.chat_id), a)?),
        None => None,
    };
    Ok(ThreadItem::ChatEvent(ChatEventItem {
        kind: "chat_event",
        id: row.item_id,
        chat_id: row.chat_id,
        action: row.kind,
        actor: row.actor,
        actor_name,
        old_value: row.old_value,
        new_value: row.new_value,
        sent_at: format_millis(row.at),
        sent_at_original: row.at_original,
    }))
}

/// One membership line by its row key (see [`membership_key`]).
pub fn membership_line(conn: &Connection, key: &str) -> Result<Option<ThreadItem>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {MEMBERSHIP_COLUMNS} FROM memberships WHERE event_id = ?1"
        ))?
        .query_row(params![key], membership_row)
        .optional()?;
    let mut names = Names::new(conn);
    row.map(|row| membership_item(&mut names, row)).transpose()
}

/// The system line an event made, by its event id.
pub fn change_line(conn: &Connection, key: &str) -> Result<Option<ThreadItem>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {CHANGE_COLUMNS} FROM chat_events WHERE key = ?1"
        ))?
        .query_row(params![key], change_row)
        .optional()?;
    let mut names = Names::new(conn);
    row.map(|row| change_item(&mut names, row)).transpose()
}

/// The name for a membership line: the resolved name, else the name the event itself carried.
pub(crate) fn member_name(
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
