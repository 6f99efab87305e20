//! A chat's thread, read in pages: its messages and system lines merged in `(time, tie, item id)`
//! order, so a page boundary falls in the same place however the lines interleave. A message's
//! tie orders it among lines of the same time (Linq's finer time, else arrival: `messages.tie`);
//! system lines have tie 0.

use rusqlite::{params, Connection, OptionalExtension};

use super::chats::system::{self, Bound, ChangeRow, MembershipRow};
use super::messages::read::{hydrate, message_row, MessageRow, MESSAGE_COLUMNS, MESSAGE_FROM};
use super::names::Names;
use super::views::ThreadItem;
use super::StoreError;

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

/// One line of a thread as stored, before it is read into a thread item. A page holds at most
/// a few hundred, read once: boxing the common variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Line {
    Message(MessageRow),
    Membership(MembershipRow),
    Change(ChangeRow),
}

impl Line {
    /// Where the line sits in its thread.
    fn key(&self) -> (i64, i64, &str) {
        match self {
            Line::Message(m) => (m.sent_at, m.tie, &m.id),
            Line::Membership(m) => (m.at, 0, &m.item_id),
            Line::Change(c) => (c.at, 0, &c.item_id),
        }
    }
}

/// A page of a thread, oldest first, and whether more items lie beyond it in the direction it
/// was read (older for `Latest`/`Before`, newer for `After`/`From`).
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
    let unbounded = cursor.is_none();
    let (at, tie, item_id) = cursor.unwrap_or((i64::MAX, 0, String::new()));
    let bound = Bound {
        unbounded,
        cmp,
        at,
        tie,
        item_id: &item_id,
        limit: limit + 1,
    };
    let mut lines: Vec<Line> = message_page(conn, chat_id, &bound)?
        .into_iter()
        .map(Line::Message)
        .collect();
    lines.extend(
        system::membership_page(conn, chat_id, &bound)?
            .into_iter()
            .map(Line::Membership),
    );
    lines.extend(
        system::change_page(conn, chat_id, &bound)?
            .into_iter()
            .map(Line::Change),
    );
    // Nearest the cursor first, keep `limit`, then oldest first.
    lines.sort_by(|a, b| a.key().cmp(&b.key()));
    if !newer {
        lines.reverse();
    }
    let has_more = lines.len() as i64 > limit;
    lines.truncate(limit.max(0) as usize);
    if !newer {
        lines.reverse();
    }
    let mut names = Names::new(conn);
    let items = lines
        .into_iter()
        .map(|line| match line {
            Line::Message(row) => Ok(ThreadItem::Message(hydrate(conn, &mut names, row)?)),
            Line::Membership(row) => system::membership_item(&mut names, row),
            Line::Change(row) => system::change_item(&mut names, row),
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((items, has_more))
}

/// A page of a chat's messages, nearest the cursor first.
fn message_page(
    conn: &Connection,
    chat_id: &str,
    b: &Bound<'_>,
) -> Result<Vec<MessageRow>, StoreError> {
    let cmp = b.cmp;
    let order = if cmp == "<" { "DESC" } else { "ASC" };
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
             WHERE m.chat_id = ?1 AND (?2 = 1 OR (m.sent_at, m.tie, m.id) {cmp} (?3, ?6, ?4))
             ORDER BY m.sent_at {order}, m.tie {order}, m.id {order} LIMIT ?5"
        ))?
        .query_map(
            params![chat_id, b.unbounded, b.at, b.item_id, b.limit, b.tie],
            message_row,
        )?
        .collect::<Result<_, _>>()?)
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

/// Where `item_id` sits in the thread (time, tie, id), or a sentence naming the parameter that
/// gave it.
fn item_cursor(
    conn: &Connection,
    chat_id: &str,
    param: &str,
    item_id: &str,
) -> Result<(i64, i64, String), StoreError> {
    let place = match system::cursor_of(conn, chat_id, item_id)? {
        Some(at) => Some((at, 0)),
        None => conn
            .prepare_cached("SELECT sent_at, tie FROM messages WHERE id = ?1 AND chat_id = ?2")?
            .query_row(params![item_id, chat_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    };
    place
        .map(|(at, tie)| (at, tie, item_id.to_string()))
        .ok_or_else(|| {
            StoreError::Invalid(format!("{param}={item_id:?} is not an item of this chat"))
        })
}
