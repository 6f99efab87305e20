//! Reads of what Linq API v3 adds: a message's delivery, failure, edits and the message it
//! answers; the system lines for group and location changes; the health of the rep's numbers.

use rusqlite::{params, Connection, OptionalExtension};

use super::project_v3::edited_text;
use super::queries::{seven_columns, Names};
use super::views::{ChatEventItem, Direction, Failure, NumberHealth, ReplyTo, ThreadItem};
use super::StoreError;
use crate::linq::time::format_millis;

/// The v3 facts about one message, joined at read time so they may arrive in any order.
pub(super) struct MessageFacts {
    pub text: Option<String>,
    pub edited_at: Option<String>,
    pub delivered_at: Option<String>,
    pub failure: Option<Failure>,
    pub reply_to: Option<ReplyTo>,
}

impl MessageFacts {
    /// Outbound only: read beats delivered beats failed (Linq may deliver after a failure).
    pub fn status(&self, outbound: bool, read: bool) -> Option<&'static str> {
        if !outbound {
            return None;
        }
        Some(if read {
            "read"
        } else if self.delivered_at.is_some() {
            "delivered"
        } else if self.failure.is_some() {
            "failed"
        } else {
            "sent"
        })
    }
}

/// What a message row carries for v3 beyond `queries::MESSAGE_COLUMNS`' first ten: its own
/// columns, and the delivery and failure it is joined with.
pub(super) struct V3Columns {
    pub reply_to_id: Option<String>,
    pub reply_to_part: Option<i64>,
    pub text_parts: Option<String>,
    pub delivered_at: Option<i64>,
    pub failure: Option<Failure>,
    /// Whether any edit exists, so the common unedited message costs no extra query.
    pub has_edits: bool,
}

pub(super) fn message_facts(
    conn: &Connection,
    names: &mut Names<'_>,
    id: &str,
    chat_id: &str,
    text: Option<String>,
    cols: V3Columns,
) -> Result<MessageFacts, StoreError> {
    let (text, edited) = if cols.has_edits {
        edited_text(conn, id, text, cols.text_parts.as_deref())?
    } else {
        (text, None)
    };
    let reply_to = match &cols.reply_to_id {
        Some(target) => Some(reply_preview(
            conn,
            names,
            chat_id,
            target,
            cols.reply_to_part,
        )?),
        None => None,
    };
    Ok(MessageFacts {
        text,
        edited_at: edited.map(format_millis),
        delivered_at: cols.delivered_at.map(format_millis),
        failure: cols.failure,
        reply_to,
    })
}

/// The answered message as a reply shows it: its (edited) text, sender and direction.
fn reply_preview(
    conn: &Connection,
    names: &mut Names<'_>,
    chat_id: &str,
    target: &str,
    part_index: Option<i64>,
) -> Result<ReplyTo, StoreError> {
    type Row = (Option<String>, Option<String>, String, Option<String>);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT text, from_phone, direction, text_parts FROM messages WHERE id = ?1 AND chat_id = ?2",
        )?
        .query_row(params![target, chat_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((text, from, direction, parts)) = row else {
        return Ok(ReplyTo {
            message_id: target.to_string(),
            part_index,
            found: false,
            text: None,
            from_name: None,
            direction: None,
        });
    };
    let (text, _) = edited_text(conn, target, text, parts.as_deref())?;
    let direction = Direction::parse(&direction);
    let from_name = match (&direction, &from) {
        (Direction::Outbound, _) => Some("You".to_string()),
        (_, Some(f)) => Some(names.resolve(Some(chat_id), f)?),
        _ => None,
    };
    Ok(ReplyTo {
        message_id: target.to_string(),
        part_index,
        found: true,
        text,
        from_name,
        direction: Some(direction),
    })
}

/// (key, kind, actor, old, new, at, original at)
pub(super) type ChatEventRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
);

pub(super) const ITEM_PREFIX: &str = "chatevent-";

/// A page of a chat's system lines, newest first, before `(at, item id)` unless `unbounded`.
pub(super) fn chat_event_rows(
    conn: &Connection,
    chat_id: &str,
    (unbounded, cmp): (bool, &str),
    at: i64,
    id: &str,
    limit: i64,
) -> Result<Vec<ChatEventRow>, StoreError> {
    // `cmp` is the page's direction from its cursor: `<` reads back, `>`/`>=` forward.
    let order = if cmp == "<" { "DESC" } else { "ASC" };
    Ok(conn
        .prepare_cached(&format!(
            "SELECT key, kind, actor, old_value, new_value, at, at_original FROM chat_events
             WHERE chat_id = ?1 AND (?2 = 1 OR (at, 'chatevent-' || key) {cmp} (?3, ?4))
             ORDER BY at {order}, key {order} LIMIT ?5"
        ))?
        .query_map(params![chat_id, unbounded as i64, at, id, limit], |r| {
            seven_columns(r, 0)
        })?
        .collect::<Result<_, _>>()?)
}

pub(super) fn chat_event_item(
    names: &mut Names<'_>,
    chat_id: &str,
    row: &ChatEventRow,
) -> Result<ThreadItem, StoreError> {
    let (key, kind, actor, old_value, new_value, at, original) = row;
    let actor_name = match actor {
        Some(a) => Some(names.resolve(Some(chat_id), a)?),
        None => None,
    };
    Ok(ThreadItem::ChatEvent(ChatEventItem {
        kind: "chat_event",
        id: format!("{ITEM_PREFIX}{key}"),
        chat_id: chat_id.to_string(),
        action: kind.clone(),
        actor: actor.clone(),
        actor_name,
        old_value: old_value.clone(),
        new_value: new_value.clone(),
        sent_at: format_millis(*at),
        sent_at_original: original.clone(),
    }))
}

/// The system line an event made, by its event id.
pub fn chat_event(conn: &Connection, key: &str) -> Result<Option<ThreadItem>, StoreError> {
    let row: Option<(String, ChatEventRow)> = conn
        .prepare_cached(
            "SELECT chat_id, key, kind, actor, old_value, new_value, at, at_original
             FROM chat_events WHERE key = ?1",
        )?
        .query_row(params![key], |r| Ok((r.get(0)?, seven_columns(r, 1)?)))
        .optional()?;
    let Some((chat_id, row)) = row else {
        return Ok(None);
    };
    let mut names = Names::new(conn);
    chat_event_item(&mut names, &chat_id, &row).map(Some)
}

/// Where a system line sits in its thread, for paging with `before`.
pub(super) fn cursor_of(
    conn: &Connection,
    chat_id: &str,
    item_id: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    let Some(key) = item_id.strip_prefix(ITEM_PREFIX) else {
        return Ok(None);
    };
    let at: Option<i64> = conn
        .prepare_cached("SELECT at FROM chat_events WHERE key = ?1 AND chat_id = ?2")?
        .query_row(params![key, chat_id], |r| r.get(0))
        .optional()?;
    Ok(at.map(|at| (at, item_id.to_string())))
}

/// Every number Linq has reported on, those needing attention first.
pub fn number_health(conn: &Connection) -> Result<Vec<NumberHealth>, StoreError> {
    let mut list: Vec<NumberHealth> = conn
        .prepare_cached(
            "SELECT phone_number, status, reputation, previous_status, previous_reputation,
                    changed_at, changed_at_original
             FROM number_health ORDER BY phone_number",
        )?
        .query_map([], |r| {
            let status: Option<String> = r.get(1)?;
            let reputation: Option<String> = r.get(2)?;
            let needs_attention = status
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("ACTIVE"))
                || reputation
                    .as_deref()
                    .is_some_and(|s| !s.eq_ignore_ascii_case("HEALTHY"));
            Ok(NumberHealth {
                phone_number: r.get(0)?,
                status,
                reputation,
                previous_status: r.get(3)?,
                previous_reputation: r.get(4)?,
                changed_at: format_millis(r.get(5)?),
                changed_at_original: r.get(6)?,
                needs_attention,
            })
        })?
        .collect::<Result<_, _>>()?;
    list.sort_by_key(|n| !n.needs_attention);
    Ok(list)
}
