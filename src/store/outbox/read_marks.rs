//! Read marks through the outbox (issue 20 §5): when the rep has "Send read receipts to Linq"
//! on, marking a chat read also queues a read mark for Linq (`kind = 'read'`). At most one
//! waits per chat: a chat read again before Linq took the first mark adds nothing. A read mark
//! that goes through changes nothing the inbox shows (the chat is already read locally), so it
//! has no log row; its queue row is committed like any other, so it survives a crash, and goes
//! once Linq took it.
//!
//! A refusal does change what the inbox shows: the rep should know Linq did not hear the chat
//! was read. It enters the log (`ReadRefused`) and the chat shows its sentence until a later mark
//! goes through (`ReadTaken`). Marking the chat read again (the thread's "Send it again"), even
//! with nothing unread, queues that mark.

use rusqlite::{params, Connection, OptionalExtension};

use super::queue::append;
use crate::linq::OutboxChange;
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

/// Whether the chat shows a refused read mark (on a writer connection: the inbox attached). The
/// inbox, not the queue, decides: after an `import` into a new folder the chat shows the
/// refusal its log carries, with no queue row behind it.
pub fn refused(conn: &Connection, chat_id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM chats WHERE chat_id = ?1 AND read_mark_error IS NOT NULL")?
        .exists([chat_id])?)
}

/// Linq took the read mark: it leaves the queue, and so does an earlier refusal for its chat,
/// which the chat stops showing.
pub fn done(conn: &Connection, client_id: &str, now: i64) -> Result<(), StoreError> {
    let Some(chat_id) = chat_of(conn, client_id)? else {
        return Ok(());
    };
    conn.prepare_cached("DELETE FROM outbox WHERE client_id = ?1 AND kind = 'read'")?
        .execute([client_id])?;
    let cleared = conn
        .prepare_cached(
            "DELETE FROM outbox WHERE kind = 'read' AND chat_id = ?1 AND state = 'failed'",
        )?
        .execute([&chat_id])?;
    if cleared > 0 || refused(conn, &chat_id)? {
        append(conn, client_id, &OutboxChange::ReadTaken { chat_id }, now)?;
    }
    Ok(())
}

/// A refusal that will not change (the chat is gone, the token refused): kept `failed` with
/// its sentence, and shown with the chat; the next time the chat is read queues a new one.
pub fn failed(conn: &Connection, client_id: &str, error: &str, now: i64) -> Result<(), StoreError> {
    let Some(chat_id) = chat_of(conn, client_id)? else {
        return Ok(());
    };
    // One refusal per chat is kept: the newest says why.
    conn.prepare_cached(
        "DELETE FROM outbox WHERE kind = 'read' AND chat_id = ?1 AND state = 'failed'
                                  AND client_id != ?2",
    )?
    .execute(params![chat_id, client_id])?;
    conn.prepare_cached(
        "UPDATE outbox SET state = 'failed', error = ?2, tries = tries + 1
         WHERE client_id = ?1 AND kind = 'read'",
    )?
    .execute(params![client_id, error])?;
    let change = OutboxChange::ReadRefused {
        chat_id,
        error: error.to_string(),
    };
    append(conn, client_id, &change, now)
}

/// The chat a queued read mark is for; `None` once it left the queue.
fn chat_of(conn: &Connection, client_id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT chat_id FROM outbox WHERE client_id = ?1 AND kind = 'read'")?
        .query_row([client_id], |r| r.get(0))
        .optional()?
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{generate, Scenario};
    use crate::store::projection;
    use crate::store::tests::convergence::{ingest, memory_db, project_pending};

    fn shown(conn: &Connection, chat_id: &str) -> Option<String> {
        conn.query_row(
            "SELECT read_mark_error FROM chats WHERE chat_id = ?1",
            [chat_id],
            |r| r.get(0),
        )
        .expect("the chat")
    }

    #[test]
    fn a_refusal_is_shown_until_a_later_mark_goes_through_and_a_rebuild_derives_both() {
        let conn = memory_db();
        for d in generate(Scenario::Demo, 20, 3, chrono::Utc::now()) {
            ingest(&conn, &d.body);
        }
        let chat: String = conn
            .query_row(
                "SELECT chat_id FROM chats ORDER BY chat_id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .expect("a chat");
        assert!(enqueue(&conn, &chat, 1).expect("queue"), "a mark waits");
        let first = format!("read:{chat}:1");
        failed(&conn, &first, "Linq refused the request (HTTP 400): no", 2).expect("refused");
        project_pending(&conn);
        assert_eq!(
            shown(&conn, &chat).as_deref(),
            Some("Linq refused the request (HTTP 400): no"),
            "the chat shows Linq's sentence"
        );
        assert!(
            refused(&conn, &chat).expect("refused"),
            "reading the chat again retries"
        );

        projection::reset(&conn).expect("reset");
        project_pending(&conn);
        assert_eq!(
            shown(&conn, &chat).as_deref(),
            Some("Linq refused the request (HTTP 400): no"),
            "derived again from the log"
        );

        assert!(enqueue(&conn, &chat, 3).expect("queue"), "the retry waits");
        done(&conn, &format!("read:{chat}:3"), 4).expect("taken");
        project_pending(&conn);
        assert_eq!(shown(&conn, &chat), None, "gone once a mark went through");
        assert!(
            !refused(&conn, &chat).expect("refused"),
            "nothing left to retry"
        );
        projection::reset(&conn).expect("reset");
        project_pending(&conn);
        assert_eq!(shown(&conn, &chat), None, "and after a rebuild");
    }
}
