//! Projection of what only Linq API v3 says: deliveries, failures, edits, replies, removed
//! reactions, group name and icon changes, location sharing, number health and call stages.
//!
//! The same rules as `project.rs`: idempotent and order-tolerant. Receipts and edits live apart
//! from their message and are joined when read; "newest wins" compares the vendor's time, then
//! the event id, never arrival order.

use rusqlite::{params, Connection, OptionalExtension};

use super::project::{bump_activity, ensure_chat, index, unindex, Ctx, FTS_MESSAGE};
use super::StoreError;
use crate::linq::event::{Message, Reaction};
use crate::linq::v3::{
    join_parts, CallStage, GroupChange, GroupField, LocationSharing, MessageEdited, MessageExtra,
    MessageFailed, NumberStatus,
};
use crate::linq::value::Time;

fn millis(t: Option<&Time>) -> Option<i64> {
    t.map(|t| t.0.millis())
}

fn original(t: Option<&Time>) -> Option<&str> {
    t.map(|t| t.0.original.as_str())
}

/// What a v3 message adds once its row exists: group flag, reply, text parts, receipts.
pub(super) fn message_extra(
    conn: &Connection,
    ctx: &Ctx<'_>,
    m: &Message,
    x: &MessageExtra,
    inserted: bool,
) -> Result<(), StoreError> {
    if x.is_group == Some(true) {
        conn.prepare_cached("UPDATE chats SET is_group = 1 WHERE chat_id = ?1")?
            .execute(params![m.chat_id.as_str()])?;
    }
    if inserted {
        let parts = (!x.text_parts.is_empty())
            .then(|| serde_json::to_string(&x.text_parts).unwrap_or_default());
        conn.prepare_cached(
            "UPDATE messages SET reply_to_id = ?2, reply_to_part = ?3, text_parts = ?4 WHERE id = ?1",
        )?
        .execute(params![
            m.id.as_str(),
            x.reply_to.as_ref().map(|r| r.message_id.as_str()),
            x.reply_to.as_ref().and_then(|r| r.part_index).map(|i| i.0),
            parts,
        ])?;
        if has_edits(conn, m.id.as_str())? {
            reindex_message(conn, m.id.as_str())?;
        }
    }
    if let Some(at) = &x.delivered_at {
        delivered(conn, ctx, m.id.as_str(), Some(m.chat_id.as_str()), Some(at))?;
    }
    Ok(())
}

/// Records a delivery report; the earliest time wins.
pub(super) fn delivered(
    conn: &Connection,
    ctx: &Ctx<'_>,
    message_id: &str,
    chat_id: Option<&str>,
    at: Option<&Time>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO deliveries (message_id, chat_id, delivered_at, delivered_at_original)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (message_id) DO UPDATE SET
           chat_id = coalesce(chat_id, excluded.chat_id),
           delivered_at_original = CASE WHEN excluded.delivered_at < delivered_at
                                        THEN excluded.delivered_at_original ELSE delivered_at_original END,
           delivered_at = min(delivered_at, excluded.delivered_at)",
    )?
    .execute(params![
        message_id,
        chat_id,
        millis(at).unwrap_or(ctx.at),
        original(at)
    ])?;
    Ok(())
}

/// `message.delivered`: the full message (it may be the first we hear of it) and the receipt.
pub(super) fn message_delivered(
    conn: &Connection,
    ctx: &Ctx<'_>,
    m: &Message,
) -> Result<(), StoreError> {
    let at = m.v3.as_ref().and_then(|x| x.delivered_at.clone());
    delivered(
        conn,
        ctx,
        m.id.as_str(),
        Some(m.chat_id.as_str()),
        at.as_ref(),
    )
}

/// `message.failed`: the newest failure report per message. Without a message id there is
/// nothing to mark; the raw event stays in the log.
pub(super) fn failed(
    conn: &Connection,
    ctx: &Ctx<'_>,
    f: &MessageFailed,
) -> Result<(), StoreError> {
    let Some(message_id) = &f.message_id else {
        return Ok(());
    };
    let at = f.failed_at.as_ref();
    conn.prepare_cached(
        "INSERT INTO message_failures (message_id, chat_id, code, detail_code, reason, failed_at,
                                       failed_at_original, event_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (message_id) DO UPDATE SET
           chat_id = coalesce(excluded.chat_id, chat_id), code = excluded.code,
           detail_code = excluded.detail_code, reason = excluded.reason,
           failed_at = excluded.failed_at, failed_at_original = excluded.failed_at_original,
           event_id = excluded.event_id
         WHERE (excluded.failed_at, excluded.event_id) > (failed_at, event_id)",
    )?
    .execute(params![
        message_id.as_str(),
        f.chat_id.as_ref().map(|c| c.as_str()),
        f.code,
        f.detail_code,
        f.reason,
        millis(at).unwrap_or(ctx.at),
        original(at),
        ctx.event_id,
    ])?;
    Ok(())
}

/// `message.edited`: the newest text per part; the search index follows when the message exists.
pub(super) fn edited(
    conn: &Connection,
    ctx: &Ctx<'_>,
    e: &MessageEdited,
) -> Result<(), StoreError> {
    let at = e.edited_at.as_ref();
    let changed = conn
        .prepare_cached(
            "INSERT INTO message_edits (message_id, part_index, text, edited_at, edited_at_original, event_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (message_id, part_index) DO UPDATE SET
               text = excluded.text, edited_at = excluded.edited_at,
               edited_at_original = excluded.edited_at_original, event_id = excluded.event_id
             WHERE (excluded.edited_at, excluded.event_id) > (edited_at, event_id)",
        )?
        .execute(params![
            e.message_id.as_str(),
            e.part_index,
            e.text,
            millis(at).unwrap_or(ctx.at),
            original(at),
            ctx.event_id,
        ])?;
    if changed == 1 {
        reindex_message(conn, e.message_id.as_str())?;
    }
    Ok(())
}

fn has_edits(conn: &Connection, message_id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM message_edits WHERE message_id = ?1 LIMIT 1")?
        .query_row(params![message_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A message's text with its edits applied, and when it was last edited (`None`: never).
pub(crate) fn edited_text(
    conn: &Connection,
    message_id: &str,
    text: Option<String>,
    text_parts: Option<&str>,
) -> Result<(Option<String>, Option<i64>), StoreError> {
    let edits: Vec<(i64, String, i64)> = conn
        .prepare_cached(
            "SELECT part_index, text, edited_at FROM message_edits WHERE message_id = ?1 ORDER BY part_index",
        )?
        .query_map(params![message_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    if edits.is_empty() {
        return Ok((text, None));
    }
    let mut parts: Vec<(i64, String)> = text_parts
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(|| text.into_iter().map(|t| (0, t)).collect());
    for (index, new_text, _) in &edits {
        match parts.iter_mut().find(|(i, _)| i == index) {
            Some(part) => part.1 = new_text.clone(),
            None => parts.push((*index, new_text.clone())),
        }
    }
    parts.sort_by_key(|(i, _)| *i);
    let last = edits.iter().map(|(_, _, at)| *at).max();
    Ok((Some(join_parts(&parts)), last))
}

/// Rewrites a message's search entry from its current (edited) text and attachment names.
fn reindex_message(conn: &Connection, message_id: &str) -> Result<(), StoreError> {
    type Row = (i64, String, i64, Option<String>, Option<String>);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT rowid, chat_id, sent_at, text, text_parts FROM messages WHERE id = ?1",
        )?
        .query_row(params![message_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((rowid, chat_id, sent_at, text, parts)) = row else {
        return Ok(());
    };
    let (text, _) = edited_text(conn, message_id, text, parts.as_deref())?;
    let names: Vec<String> = conn
        .prepare_cached(
            "SELECT filename FROM attachments WHERE message_id = ?1 AND filename IS NOT NULL ORDER BY position",
        )?
        .query_map(params![message_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut body = text.unwrap_or_default();
    for name in names {
        body.push(' ');
        body.push_str(&name);
    }
    let fts_rowid = rowid * 4 + FTS_MESSAGE;
    unindex(conn, fts_rowid)?;
    index(
        conn,
        fts_rowid,
        &body,
        "message",
        message_id,
        Some(&chat_id),
        sent_at,
    )
}

/// `reaction.added` (v3): shown until a newer `reaction.removed` for the same reaction.
pub(super) fn reaction_added(
    conn: &Connection,
    ctx: &Ctx<'_>,
    r: &Reaction,
) -> Result<(), StoreError> {
    reaction_row(conn, ctx, r, false)
}

/// `reaction.removed`: hides the reaction unless it was added again later.
pub(super) fn reaction_removed(
    conn: &Connection,
    ctx: &Ctx<'_>,
    r: &Reaction,
) -> Result<(), StoreError> {
    reaction_row(conn, ctx, r, true)
}

fn reaction_row(
    conn: &Connection,
    ctx: &Ctx<'_>,
    r: &Reaction,
    removal: bool,
) -> Result<(), StoreError> {
    let Some(message_id) = r.message_id() else {
        return Ok(());
    };
    if let Some(chat_id) = &r.chat_id {
        ensure_chat(conn, chat_id.as_str())?;
    }
    let extra = r.v3.as_deref();
    let at = r.sent_at.as_ref().map(|t| t.0.millis()).unwrap_or(ctx.at);
    let (sent_at, removed_at) = if removal {
        (None, Some(at))
    } else {
        (Some(at), None)
    };
    conn.prepare_cached(
        "INSERT INTO reactions (id, message_id, chat_id, reaction, from_identifier, is_from_me, sent_at,
                                sent_at_original, custom_emoji, sticker, removed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET
           chat_id = coalesce(chat_id, excluded.chat_id),
           from_identifier = coalesce(from_identifier, excluded.from_identifier),
           sticker = coalesce(sticker, excluded.sticker),
           sent_at_original = CASE WHEN excluded.sent_at > coalesce(sent_at, -9e18)
                                   THEN excluded.sent_at_original ELSE sent_at_original END,
           sent_at = max(coalesce(sent_at, excluded.sent_at), coalesce(excluded.sent_at, sent_at)),
           removed_at = max(coalesce(removed_at, excluded.removed_at), coalesce(excluded.removed_at, removed_at))",
    )?
    .execute(params![
        r.id.as_str(),
        message_id.as_str(),
        r.chat_id.as_ref().map(|c| c.as_str()),
        r.reaction,
        r.chat_handle.as_ref().and_then(|h| h.identifier.as_deref()),
        r.is_from_me.unwrap_or(false),
        sent_at,
        if removal { None } else { original(r.sent_at.as_ref()) },
        extra.and_then(|x| x.custom_emoji.as_deref()),
        extra.and_then(|x| x.sticker.as_deref()),
        removed_at,
    ])?;
    Ok(())
}

/// A group's name or icon changed: a system line, and the newest value on the chat.
pub(super) fn group_changed(
    conn: &Connection,
    ctx: &Ctx<'_>,
    g: &GroupChange,
) -> Result<(), StoreError> {
    let chat_id = g.chat_id.as_str();
    let at = millis(g.updated_at.as_ref()).unwrap_or(ctx.at);
    ensure_chat(conn, chat_id)?;
    conn.prepare_cached("UPDATE chats SET is_group = 1 WHERE chat_id = ?1")?
        .execute(params![chat_id])?;
    chat_event(
        conn,
        ctx.event_id,
        chat_id,
        g.field.as_str(),
        g.changed_by.as_deref(),
        g.old_value.as_deref(),
        g.new_value.as_deref(),
        at,
        original(g.updated_at.as_ref()),
    )?;
    let sql = match g.field {
        GroupField::Name => {
            "UPDATE chats SET display_name = ?2, name_changed_at = ?3, name_changed_key = ?4
             WHERE chat_id = ?1 AND (name_changed_at IS NULL OR (?3, ?4) > (name_changed_at, name_changed_key))"
        }
        GroupField::Icon => {
            "UPDATE chats SET icon_url = ?2, icon_changed_at = ?3, icon_changed_key = ?4
             WHERE chat_id = ?1 AND (icon_changed_at IS NULL OR (?3, ?4) > (icon_changed_at, icon_changed_key))"
        }
    };
    let value = g.new_value.as_deref().filter(|v| !v.trim().is_empty());
    conn.prepare_cached(sql)?
        .execute(params![chat_id, value, at, ctx.event_id])?;
    bump_activity(conn, chat_id, at)
}

/// Location sharing began or ended: a system line in the chat it began in. Without a chat the
/// event stays in the raw log only (Linq sends no coordinates either way).
pub(super) fn location(
    conn: &Connection,
    ctx: &Ctx<'_>,
    l: &LocationSharing,
) -> Result<(), StoreError> {
    let Some(chat_id) = &l.chat_id else {
        return Ok(());
    };
    let when = if l.started { &l.began_at } else { &l.ended_at };
    let at = millis(when.as_ref()).unwrap_or(ctx.at);
    ensure_chat(conn, chat_id.as_str())?;
    let until = if l.started {
        l.ends_at
            .as_ref()
            .map(|t| crate::linq::time::format_utc(&t.0.utc))
    } else {
        None
    };
    chat_event(
        conn,
        ctx.event_id,
        chat_id.as_str(),
        if l.started {
            "location_started"
        } else {
            "location_stopped"
        },
        l.shared_by.as_deref(),
        None,
        until.as_deref(),
        at,
        original(when.as_ref()),
    )?;
    bump_activity(conn, chat_id.as_str(), at)
}

#[allow(clippy::too_many_arguments)]
fn chat_event(
    conn: &Connection,
    key: &str,
    chat_id: &str,
    kind: &str,
    actor: Option<&str>,
    old_value: Option<&str>,
    new_value: Option<&str>,
    at: i64,
    at_original: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO chat_events (key, chat_id, kind, actor, old_value, new_value, at, at_original)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (key) DO NOTHING",
    )?
    .execute(params![
        key,
        chat_id,
        kind,
        actor,
        old_value,
        new_value,
        at,
        at_original
    ])?;
    Ok(())
}

/// The health of one of the rep's numbers; the newest report wins.
pub(super) fn number_status(
    conn: &Connection,
    ctx: &Ctx<'_>,
    n: &NumberStatus,
) -> Result<(), StoreError> {
    let at = n.changed_at.as_ref();
    conn.prepare_cached(
        "INSERT INTO number_health (phone_number, status, reputation, previous_status,
                                    previous_reputation, changed_at, changed_at_original, event_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (phone_number) DO UPDATE SET
           status = excluded.status, reputation = excluded.reputation,
           previous_status = excluded.previous_status, previous_reputation = excluded.previous_reputation,
           changed_at = excluded.changed_at, changed_at_original = excluded.changed_at_original,
           event_id = excluded.event_id
         WHERE (excluded.changed_at, excluded.event_id) > (changed_at, event_id)",
    )?
    .execute(params![
        n.phone_number.trim(),
        n.new_status,
        n.new_reputation,
        n.previous_status,
        n.previous_reputation,
        millis(at).unwrap_or(ctx.at),
        original(at),
        ctx.event_id,
    ])?;
    Ok(())
}

/// The status a call stage leaves on the call, in the words the call log already uses.
fn stage_status(stage: &str) -> &str {
    match stage {
        "ended" => "completed",
        "no_answer" => "no-answer",
        other => other,
    }
}

/// How far along a call a status is: a later stage never gives way to an earlier one.
const STAGE_RANK: &str =
    "CASE {} WHEN 'initiated' THEN 0 WHEN 'ringing' THEN 1 WHEN 'answered' THEN 2 ELSE 3 END";

/// One `call.*` stage merged into the call log: the furthest stage's status, the earliest
/// start, the latest end, and any party or duration a stage names.
pub(super) fn call_stage(
    conn: &Connection,
    ctx: &Ctx<'_>,
    s: &CallStage,
) -> Result<(), StoreError> {
    let c = &s.call;
    let status = c
        .status
        .clone()
        .unwrap_or_else(|| stage_status(&s.stage).to_string());
    let terminal = !matches!(s.stage.as_str(), "initiated" | "ringing" | "answered");
    let start = c.start_time.as_ref();
    let end = c.end_time.as_ref();
    let answered_by = c
        .answered_by
        .clone()
        .or_else(|| (s.stage == "answered").then(|| c.to.clone()).flatten());
    let new_rank = STAGE_RANK.replace("{}", "excluded.status");
    let old_rank = STAGE_RANK.replace("{}", "status");
    conn.prepare_cached(&format!(
        "INSERT INTO calls (id, from_number, to_number, direction, status, start_time, start_time_original,
                            end_time, end_time_original, duration, call_type, answered_by, voicemail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (id) DO UPDATE SET
           from_number = coalesce(from_number, excluded.from_number),
           to_number = coalesce(to_number, excluded.to_number),
           direction = coalesce(direction, excluded.direction),
           status = CASE WHEN ({new_rank}, excluded.status) > ({old_rank}, coalesce(status, ''))
                         THEN excluded.status ELSE status END,
           start_time_original = CASE WHEN excluded.start_time < coalesce(start_time, 9e18)
                                      THEN excluded.start_time_original ELSE start_time_original END,
           start_time = min(coalesce(start_time, excluded.start_time), coalesce(excluded.start_time, start_time)),
           end_time_original = CASE WHEN excluded.end_time > coalesce(end_time, -9e18)
                                    THEN excluded.end_time_original ELSE end_time_original END,
           end_time = max(coalesce(end_time, excluded.end_time), coalesce(excluded.end_time, end_time)),
           duration = max(coalesce(duration, excluded.duration), coalesce(excluded.duration, duration)),
           call_type = coalesce(call_type, excluded.call_type),
           answered_by = coalesce(answered_by, excluded.answered_by),
           voicemail = max(voicemail, excluded.voicemail)"
    ))?
    .execute(params![
        c.id.as_str(),
        c.from,
        c.to,
        c.direction,
        status,
        millis(start).unwrap_or(ctx.at),
        original(start),
        millis(end).or(terminal.then_some(ctx.at)),
        original(end),
        c.duration.map(|d| d.0),
        c.call_type,
        answered_by,
        c.voicemail.unwrap_or(false),
    ])?;
    Ok(())
}

/// Empties the v3 projections (with `project::clear`, for `rebuild`).
pub(super) fn clear(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM deliveries; DELETE FROM message_failures; DELETE FROM message_edits;
         DELETE FROM chat_events; DELETE FROM number_health;",
    )?;
    Ok(())
}
