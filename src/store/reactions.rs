//! Reactions: who reacted how to which part of a message. A reaction is shown while its newest
//! addition is newer than its newest removal, so additions and removals may arrive in any
//! order; it may arrive before its message and is joined when the message is read.

use rusqlite::{params, Connection, OptionalExtension};

use super::chats::project as chats;
use super::names::Names;
use super::rules::{millis, original, Ctx};
use super::views::{Reaction as ReactionView, ReactionEvent};
use super::StoreError;
use crate::linq::time::format_millis;
use crate::linq::{Reaction, ReactionChange};

/// Records an addition or a removal of one reaction (by its key).
pub(crate) fn project(conn: &Connection, ctx: &Ctx<'_>, r: &Reaction) -> Result<(), StoreError> {
    if let Some(chat_id) = &r.chat_id {
        chats::ensure(conn, chat_id)?;
        chats::upsert_handles(conn, chat_id, &r.handles, ctx.at)?;
    }
    let at = millis(r.at.as_ref()).unwrap_or(ctx.at);
    let (sent_at, sent_at_original, removed_at) = match r.change {
        ReactionChange::Added => (Some(at), original(r.at.as_ref()), None),
        ReactionChange::Removed => (None, None, Some(at)),
    };
    conn.prepare_cached(
        "INSERT INTO reactions (id, message_id, chat_id, reaction, from_identifier, is_from_me, sent_at,
                                sent_at_original, message_text, custom_emoji, sticker, removed_at, linq_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (id) DO UPDATE SET
           -- Two vendor ids for one reaction (re-sent after a removal v2 never reported): the
           -- smaller, so the result does not depend on which arrived first.
           linq_id = CASE WHEN linq_id IS NULL OR excluded.linq_id < linq_id
                          THEN coalesce(excluded.linq_id, linq_id) ELSE linq_id END,
           chat_id = coalesce(chat_id, excluded.chat_id),
           from_identifier = coalesce(from_identifier, excluded.from_identifier),
           message_text = coalesce(message_text, excluded.message_text),
           sticker = coalesce(sticker, excluded.sticker),
           sent_at_original = CASE WHEN excluded.sent_at > coalesce(sent_at, -9e18)
                                   THEN excluded.sent_at_original ELSE sent_at_original END,
           sent_at = max(coalesce(sent_at, excluded.sent_at), coalesce(excluded.sent_at, sent_at)),
           removed_at = max(coalesce(removed_at, excluded.removed_at), coalesce(excluded.removed_at, removed_at))",
    )?
    .execute(params![
        r.key(),
        r.message_id,
        r.chat_id,
        r.kind,
        r.from,
        r.is_from_me,
        sent_at,
        sent_at_original,
        r.message_text,
        r.custom_emoji,
        r.sticker,
        removed_at,
        r.linq_id,
    ])?;
    Ok(())
}

/// A live reaction as stored.
pub struct ReactionRow {
    /// The vendor's id where it gave one, else the reaction's key.
    pub id: String,
    pub reaction: String,
    pub from: Option<String>,
    pub is_from_me: bool,
    pub sent_at: Option<i64>,
    pub custom_emoji: Option<String>,
    /// The sticker object as Linq sent it (JSON).
    pub sticker: Option<String>,
    /// The rep's own reaction while the outbox holds it: `sending` or `failed`.
    pub status: Option<String>,
    pub error: Option<String>,
    /// What the outbox is doing (or failed to do) with it: `add` or `remove`.
    pub operation: Option<String>,
}

/// The columns [`row`] reads, from `reactions r`: the reaction, then the outbox's state of the
/// rep's own (`store/outbox/reactions.rs`).
pub(crate) const REACTION_COLUMNS: &str =
    "coalesce(r.linq_id, r.id), r.reaction, r.from_identifier, r.is_from_me, r.sent_at, r.custom_emoji, r.sticker,
     (SELECT o.state FROM outbox_reactions o WHERE o.reaction_key = r.id AND o.state <> 'sent'),
     (SELECT o.error FROM outbox_reactions o WHERE o.reaction_key = r.id AND o.state = 'failed'),
     (SELECT o.operation FROM outbox_reactions o WHERE o.reaction_key = r.id AND o.state <> 'sent')";

/// Only reactions whose newest addition is newer than their newest removal are shown.
pub(crate) const LIVE: &str = "(r.removed_at IS NULL OR r.sent_at > r.removed_at)";

/// A reaction row from [`REACTION_COLUMNS`] starting at column `at`.
pub(crate) fn row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ReactionRow> {
    Ok(ReactionRow {
        id: r.get(at)?,
        reaction: r.get(at + 1)?,
        from: r.get(at + 2)?,
        is_from_me: r.get(at + 3)?,
        sent_at: r.get(at + 4)?,
        custom_emoji: r.get(at + 5)?,
        sticker: r.get(at + 6)?,
        status: r.get(at + 7)?,
        error: r.get(at + 8)?,
        operation: r.get(at + 9)?,
    })
}

/// A message's live reactions, oldest first.
pub(crate) fn of_message(
    conn: &Connection,
    message_id: &str,
) -> Result<Vec<ReactionRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {REACTION_COLUMNS} FROM reactions r
             WHERE r.message_id = ?1 AND {LIVE} ORDER BY r.sent_at, r.id"
        ))?
        .query_map(params![message_id], |r| row(r, 0))?
        .collect::<Result<_, _>>()?)
}

/// Reactions as a message shows them, with who reacted by name.
pub(crate) fn views(
    names: &mut Names<'_>,
    chat_id: &str,
    rows: Vec<ReactionRow>,
) -> Result<Vec<ReactionView>, StoreError> {
    rows.into_iter()
        .map(|r| {
            let from_name = match &r.from {
                Some(f) => Some(names.resolve(Some(chat_id), f)?),
                None => None,
            };
            Ok(ReactionView {
                id: r.id,
                reaction: r.reaction,
                from: r.from,
                from_name,
                is_from_me: r.is_from_me,
                sent_at: r.sent_at.map(format_millis),
                custom_emoji: r.custom_emoji,
                sticker: r.sticker.and_then(|s| serde_json::from_str(&s).ok()),
                status: r.status,
                error: r.error,
                operation: r.operation,
            })
        })
        .collect()
}

/// What a reaction event shows: the reaction and the message it is on.
struct EventRow {
    id: String,
    message_id: String,
    chat_id: Option<String>,
    reaction: String,
    from: Option<String>,
    is_from_me: bool,
    message_text: Option<String>,
    sent_at: Option<i64>,
}

/// A reaction as an event: who reacted with what to which message. `key` is the reaction's
/// identity ([`crate::linq::Reaction::key`]).
pub fn reaction_event(conn: &Connection, key: &str) -> Result<Option<ReactionEvent>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT r.message_id, coalesce(r.chat_id, m.chat_id), r.reaction, r.from_identifier, r.is_from_me,
                    coalesce(m.text, r.message_text), r.sent_at, coalesce(r.linq_id, r.id)
             FROM reactions r LEFT JOIN messages m ON m.id = r.message_id WHERE r.id = ?1",
        )?
        .query_row(params![key], |r| {
            Ok(EventRow {
                message_id: r.get(0)?,
                chat_id: r.get(1)?,
                reaction: r.get(2)?,
                from: r.get(3)?,
                is_from_me: r.get(4)?,
                message_text: r.get(5)?,
                sent_at: r.get(6)?,
                id: r.get(7)?,
            })
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut names = Names::new(conn);
    let from_name = match &row.from {
        Some(f) => Some(names.resolve(row.chat_id.as_deref(), f)?),
        None => None,
    };
    Ok(Some(ReactionEvent {
        id: row.id,
        message_id: row.message_id,
        chat_id: row.chat_id,
        reaction: row.reaction,
        from: row.from,
        from_name,
        is_from_me: row.is_from_me,
        message_text: row.message_text,
        sent_at: row.sent_at.map(format_millis),
    }))
}
