//! Folding message facts into the store. A message row is written once (the first report
//! wins); what later reports add (read, delivered, failed, edited) lives in tables of its own,
//! so it may arrive before the message and is joined when read.

use rusqlite::{params, Connection, OptionalExtension};

use super::read::edited_text;
use crate::linq::{Edit, Failure, Message, Read, TextPart};
use crate::store::chats::project as chats;
use crate::store::fts::{self, Kind};
use crate::store::rules::{fine_micros, millis, original, Ctx, FINE_TIE_MIN};
use crate::store::StoreError;

/// A sent or received message: its chat and handles, its row, attachments and search entry
/// (first report only), and whatever delivery state this report carries.
pub(crate) fn message(conn: &Connection, ctx: &Ctx<'_>, m: &Message) -> Result<(), StoreError> {
    let chat_id = m.chat_id.as_str();
    let sent_at = millis(m.sent_at.as_ref()).unwrap_or(ctx.at);
    chats::ensure(conn, chat_id)?;
    chats::upsert_handles(conn, chat_id, &m.handles, ctx.at)?;
    if m.is_group == Some(true) {
        chats::mark_group(conn, chat_id)?;
    }
    let tie = tie(ctx, m);
    let inserted = insert(conn, m, sent_at, tie)?;
    if inserted {
        if has_edits(conn, &m.id)? {
            reindex(conn, &m.id)?;
        }
    } else {
        if m.read {
            conn.prepare_cached("UPDATE messages SET is_read = 1 WHERE id = ?1")?
                .execute(params![m.id])?;
        }
        if tie >= FINE_TIE_MIN {
            refine_tie(conn, &m.id, tie)?;
        }
    }
    if m.delivered {
        delivered(conn, ctx, m)?;
    }
    chats::note_message(conn, chat_id, &m.id)?;
    chats::refresh_unread(conn, chat_id)
}

/// Where the message sits among messages of the same time: Linq's finer time where this report
/// gives one (a `sent_at` with a fraction of a second), else this log row's place, so three
/// messages told in one second keep the order Linq sent them in.
fn tie(ctx: &Ctx<'_>, m: &Message) -> i64 {
    fine_micros(m.sent_at.as_ref()).unwrap_or(ctx.seq)
}

/// A later report with a finer time than the first one had (a v3 report after a v2 one, or
/// after a report without a time) orders the message by that time, so the order does not
/// depend on which report came first.
fn refine_tie(conn: &Connection, message_id: &str, tie: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE messages SET tie = ?2 WHERE id = ?1 AND tie < ?3")?
        .execute(params![message_id, tie, FINE_TIE_MIN])?;
    Ok(())
}

/// Writes the message's row, attachments and search entry; false when it already existed.
fn insert(conn: &Connection, m: &Message, sent_at: i64, tie: i64) -> Result<bool, StoreError> {
    let text = m.text();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO messages (id, chat_id, text, sent_at, sent_at_original, direction, from_phone,
                                   service, is_read, reply_to_id, reply_to_part, text_parts, tie)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
                     ?9 OR EXISTS (SELECT 1 FROM read_receipts WHERE message_id = ?1), ?10, ?11, ?12, ?13)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            m.id,
            m.chat_id,
            text,
            sent_at,
            original(m.sent_at.as_ref()),
            m.direction.as_str(),
            m.from,
            m.service,
            m.read,
            m.reply_to.as_ref().map(|r| r.message_id.as_str()),
            m.reply_to.as_ref().and_then(|r| r.part_index),
            stored_parts(&m.texts),
            tie,
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    let rowid = conn.last_insert_rowid();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO attachments (message_id, position, id, url, filename, mime_type)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    )?;
    for (position, a) in m.attachments.iter().enumerate() {
        stmt.execute(params![
            m.id,
            position as i64,
            a.id,
            a.url,
            a.filename,
            a.mime_type
        ])?;
    }
    let names = m.attachments.iter().filter_map(|a| a.filename.as_deref());
    let body = search_body(text.as_deref(), names);
    fts::index(
        conn,
        &fts::Entry {
            kind: Kind::Message,
            owner_rowid: rowid,
            body: &body,
            ref_id: &m.id,
            chat_id: Some(&m.chat_id),
            at: sent_at,
        },
    )?;
    Ok(true)
}

/// The text parts as stored for edits to find, or nothing when the text is one part at index
/// 0 (an edit of part 0 then replaces the whole text, which is the same thing).
fn stored_parts(texts: &[TextPart]) -> Option<String> {
    match texts {
        [] | [TextPart { index: 0, .. }] => None,
        parts => {
            let pairs: Vec<(i64, &str)> =
                parts.iter().map(|p| (p.index, p.text.as_str())).collect();
            serde_json::to_string(&pairs).ok()
        }
    }
}

/// What a message is found by: its text and its attachments' names.
fn search_body<'a>(text: Option<&str>, filenames: impl Iterator<Item = &'a str>) -> String {
    let mut body = text.unwrap_or_default().to_string();
    for name in filenames {
        body.push(' ');
        body.push_str(name);
    }
    body
}

/// A delivery report; the earliest time wins. Without a time of its own, the report's time.
fn delivered(conn: &Connection, ctx: &Ctx<'_>, m: &Message) -> Result<(), StoreError> {
    let at = m.delivered_at.as_ref();
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
        m.id,
        m.chat_id,
        millis(at).unwrap_or(ctx.at),
        original(at)
    ])?;
    Ok(())
}

/// A read receipt: the earliest read time wins; the message (whenever both exist) is read.
pub(crate) fn read(conn: &Connection, r: &Read) -> Result<(), StoreError> {
    let read_at = r.read_at.as_ref();
    conn.prepare_cached(
        "INSERT INTO read_receipts (message_id, chat_id, read_at, read_at_original) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (message_id) DO UPDATE SET
           chat_id = coalesce(chat_id, excluded.chat_id),
           read_at_original = CASE WHEN read_at IS NULL OR excluded.read_at < read_at
                                   THEN excluded.read_at_original ELSE read_at_original END,
           read_at = CASE WHEN read_at IS NULL OR excluded.read_at < read_at
                          THEN excluded.read_at ELSE read_at END",
    )?
    .execute(params![
        r.message_id,
        r.chat_id,
        millis(read_at),
        original(read_at),
    ])?;
    let chat_id: Option<String> = conn
        .prepare_cached("UPDATE messages SET is_read = 1 WHERE id = ?1 RETURNING chat_id")?
        .query_row(params![r.message_id], |row| row.get(0))
        .optional()?;
    match chat_id {
        Some(chat_id) => chats::refresh_unread(conn, &chat_id),
        None => Ok(()),
    }
}

/// A failure report: the newest per message. Without a message there is nothing to mark; the
/// raw event stays in the log.
pub(crate) fn failed(conn: &Connection, ctx: &Ctx<'_>, f: &Failure) -> Result<(), StoreError> {
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
        message_id,
        f.chat_id,
        f.code,
        f.detail_code,
        f.reason,
        millis(at).unwrap_or(ctx.at),
        original(at),
        ctx.event_id,
    ])?;
    Ok(())
}

/// An edit: the newest text per part; the search index follows when the message exists.
pub(crate) fn edited(conn: &Connection, ctx: &Ctx<'_>, e: &Edit) -> Result<(), StoreError> {
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
            e.message_id,
            e.part_index,
            e.text,
            millis(at).unwrap_or(ctx.at),
            original(at),
            ctx.event_id,
        ])?;
    if changed == 1 {
        reindex(conn, &e.message_id)?;
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

/// The columns a message's search entry is rebuilt from.
struct IndexedRow {
    rowid: i64,
    chat_id: String,
    sent_at: i64,
    text: Option<String>,
    text_parts: Option<String>,
}

/// Rewrites a message's search entry from its current (edited) text and attachment names.
fn reindex(conn: &Connection, message_id: &str) -> Result<(), StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT rowid, chat_id, sent_at, text, text_parts FROM messages WHERE id = ?1",
        )?
        .query_row(params![message_id], |r| {
            Ok(IndexedRow {
                rowid: r.get(0)?,
                chat_id: r.get(1)?,
                sent_at: r.get(2)?,
                text: r.get(3)?,
                text_parts: r.get(4)?,
            })
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(());
    };
    let (text, _) = edited_text(conn, message_id, row.text, row.text_parts.as_deref())?;
    let names: Vec<String> = conn
        .prepare_cached(
            "SELECT filename FROM attachments WHERE message_id = ?1 AND filename IS NOT NULL ORDER BY position",
        )?
        .query_map(params![message_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let body = search_body(text.as_deref(), names.iter().map(String::as_str));
    fts::unindex(conn, Kind::Message, row.rowid)?;
    fts::index(
        conn,
        &fts::Entry {
            kind: Kind::Message,
            owner_rowid: row.rowid,
            body: &body,
            ref_id: message_id,
            chat_id: Some(&row.chat_id),
            at: row.sent_at,
        },
    )
}
