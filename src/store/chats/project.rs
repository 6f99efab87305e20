//! What facts leave on a chat: its row, handles (newest name by the vendor's time), group flag,
//! activity time, last message and unread count.

use rusqlite::{params, Connection, OptionalExtension};

use crate::linq::{ChatCreated, Handle};
use crate::store::rules::Ctx;
use crate::store::StoreError;

pub(crate) fn ensure(conn: &Connection, chat_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO chats (chat_id) VALUES (?1) ON CONFLICT (chat_id) DO NOTHING",
    )?
    .execute(params![chat_id])?;
    Ok(())
}

/// Shows (or, with `None`, clears) why Linq refused the chat's last read mark. Only a chat the
/// inbox has: a refusal names no chat into being.
pub(crate) fn set_read_mark_error(
    conn: &Connection,
    chat_id: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE chats SET read_mark_error = ?2 WHERE chat_id = ?1")?
        .execute(params![chat_id, error])?;
    Ok(())
}

/// Records the handles a report lists; a name is replaced only by a newer report's name. A chat
/// with more than two handles is a group.
pub(crate) fn upsert_handles(
    conn: &Connection,
    chat_id: &str,
    handles: &[Handle],
    at: i64,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO chat_handles (chat_id, identifier, display_name, is_me, seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (chat_id, identifier) DO UPDATE SET
           is_me = max(is_me, excluded.is_me),
           display_name = CASE WHEN (excluded.seen_at, coalesce(excluded.display_name, ''))
                                    > (seen_at, coalesce(display_name, ''))
                               THEN coalesce(excluded.display_name, display_name) ELSE display_name END,
           seen_at = max(seen_at, excluded.seen_at)",
    )?;
    for h in handles {
        let identifier = h.identifier.trim();
        if identifier.is_empty() {
            continue;
        }
        let name = h.display_name.as_deref().filter(|n| !n.trim().is_empty());
        stmt.execute(params![chat_id, identifier, name, h.is_me, at])?;
    }
    if handles.len() > 2 {
        mark_group(conn, chat_id)?;
    }
    Ok(())
}

pub(crate) fn mark_group(conn: &Connection, chat_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE chats SET is_group = 1 WHERE chat_id = ?1")?
        .execute(params![chat_id])?;
    Ok(())
}

/// Something happened in the chat at `at`: the chat list orders by the newest.
pub(crate) fn bump_activity(conn: &Connection, chat_id: &str, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE chats SET last_activity_at = max(coalesce(last_activity_at, ?2), ?2) WHERE chat_id = ?1",
    )?
    .execute(params![chat_id, at])?;
    Ok(())
}

/// A message in the chat, as stored: the newest by `(sent_at, tie, id)`, the thread's order, is
/// its last message.
pub(crate) fn note_message(
    conn: &Connection,
    chat_id: &str,
    message_id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE chats SET last_message_id = m.id, last_message_at = m.sent_at,
                          last_activity_at = max(coalesce(last_activity_at, m.sent_at), m.sent_at)
         FROM (SELECT id, sent_at, tie FROM messages WHERE id = ?2) AS m
         WHERE chats.chat_id = ?1
           AND (last_message_at IS NULL
                OR (last_message_at,
                    coalesce((SELECT tie FROM messages WHERE id = last_message_id), 0),
                    last_message_id) < (m.sent_at, m.tie, m.id))",
    )?
    .execute(params![chat_id, message_id])?;
    Ok(())
}

/// Recomputes a chat's unread count: inbound messages not read by Linq's receipts, newer than
/// the latest inbound message known read (Linq's or the rep's local mark).
pub fn refresh_unread(conn: &Connection, chat_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE chats SET unread_count = (
            SELECT count(*) FROM messages m
            WHERE m.chat_id = ?1 AND m.direction = 'inbound' AND m.is_read = 0
              AND m.sent_at > max(
                coalesce((SELECT read_through FROM local_reads WHERE chat_id = ?1), -9e18),
                coalesce((SELECT max(sent_at) FROM messages
                          WHERE chat_id = ?1 AND direction = 'inbound' AND is_read = 1), -9e18)))
         WHERE chat_id = ?1",
    )?
    .execute(params![chat_id])?;
    Ok(())
}

/// Recounts a chat's unread messages after the rep's read mark changed (local state, committed
/// in the log file first), in a transaction of its own on the inbox file (`conn`:
/// `Store::projector`). Immediate, so it waits for a projection batch in flight and then reads
/// the read mark as committed; a batch that started before the mark recounts from the older
/// one, and this recount, coming after it, is the one that stays. Returns the new count.
pub fn recount_unread(conn: &mut Connection, chat_id: &str) -> Result<i64, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    refresh_unread(&tx, chat_id)?;
    let unread = tx
        .query_row(
            "SELECT unread_count FROM chats WHERE chat_id = ?1",
            [chat_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    tx.commit()?;
    Ok(unread)
}

/// Recounts every chat the rep has marked read, in one inbox transaction (`conn`:
/// `Store::projector`). A read mark commits in the log file before its recount commits in the
/// inbox file, so a crash between the two leaves a stale count: the projector runs this when it
/// starts. Returns how many chats it recounted.
pub fn recount_marked(conn: &mut Connection) -> Result<usize, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let chats: Vec<String> = tx
        .prepare("SELECT l.chat_id FROM local_reads l JOIN chats c ON c.chat_id = l.chat_id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for chat in &chats {
        refresh_unread(&tx, chat)?;
    }
    tx.commit()?;
    Ok(chats.len())
}

/// `chat.created`: the chat, its handles, and its name unless a rename already named it.
pub(crate) fn created(conn: &Connection, ctx: &Ctx<'_>, c: &ChatCreated) -> Result<(), StoreError> {
    let Some(chat_id) = c.chat_id.as_deref() else {
        return Ok(());
    };
    ensure(conn, chat_id)?;
    upsert_handles(conn, chat_id, &c.handles, ctx.at)?;
    conn.prepare_cached(
        // A rename (name_changed_at set) is always newer than the chat's creation.
        "UPDATE chats SET display_name = CASE WHEN name_changed_at IS NULL THEN coalesce(display_name, ?2)
                                         ELSE display_name END,
                          is_group = max(is_group, ?3) WHERE chat_id = ?1",
    )?
    .execute(params![chat_id, c.display_name, c.is_group.unwrap_or(false)])?;
    bump_activity(conn, chat_id, ctx.at)
}
