//! Read marks through the outbox (issue 20 §5): when the rep has "Send read receipts to Linq"
//! on, marking a chat read also queues a read mark for Linq (`kind = 'read'`). At most one
//! waits per chat: a chat read again before Linq took the first mark adds nothing. A read mark
//! changes nothing the inbox shows (the chat is already read locally), so it has no log row;
//! its queue row is committed like any other, so it survives a crash, and goes once Linq took it.

use rusqlite::{params, Connection};

use crate::store::StoreError;

/// Queues a read mark for `chat_id` unless one is waiting already. Returns whether it did.
pub fn enqueue(conn: &Connection, chat_id: &str, now: i64) -> Result<bool, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO outbox (client_id, kind, chat_id, request, state, next_at, created_at)
             SELECT ?1, 'read', ?2, json_object('chat_id', ?2), 'pending', ?3, ?3
             WHERE NOT EXISTS (SELECT 1 FROM outbox
                               WHERE kind = 'read' AND chat_id = ?2 AND state = 'pending')
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![format!("read:{chat_id}:{now}"), chat_id, now])?;
    Ok(inserted == 1)
}

/// Linq took the read mark: it leaves the queue.
pub fn done(conn: &Connection, client_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM outbox WHERE client_id = ?1 AND kind = 'read'")?
        .execute([client_id])?;
    Ok(())
}

/// A refusal that will not change (the chat is gone, the token refused): kept `failed` with
/// its sentence for the record; the next time the chat is read queues a new one.
pub fn failed(conn: &Connection, client_id: &str, error: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'failed', error = ?2, tries = tries + 1
         WHERE client_id = ?1 AND kind = 'read'",
    )?
    .execute(params![client_id, error])?;
    Ok(())
}
