//! A new conversation through the outbox (issue 20 §3). The rep's first message to a number
//! waits in the queue like any reply, in a provisional chat `new:{client_id}` that the thread
//! and the chat list show at once (its handles: the line and the number). When Linq answers
//! `POST /v3/chats` with the chat's id, one transaction records it and logs
//! `linq_inbox.outbox_chat_named` then `outbox_sent`; projecting the first renames the
//! provisional chat to Linq's id in place (its row, handles, messages, search entries), or, when
//! a chat of that id is already in the inbox (Linq reused an existing chat, or its webhook came
//! first), moves the message into it and drops the provisional one. One chat row either way.

use rusqlite::{params, Connection, OptionalExtension};

use super::queue::{self, append, Queued};
use crate::linq::outbox::provisional_chat_id;
use crate::linq::{Handle, OutboxChange};
use crate::store::chats::project as chats;
use crate::store::fts::{self, Kind};
use crate::store::rules::Ctx;
use crate::store::StoreError;

/// What the sender needs to create the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChat {
    pub client_id: String,
    pub from: String,
    pub to: String,
    /// Linq's id for the chat, once it answered.
    pub linq_chat_id: Option<String>,
}

/// The inbox's one-to-one chat with `to` on the line `from`, provisional ones included (a
/// second "new message" before Linq answered goes to the same one).
pub fn existing_chat(
    conn: &Connection,
    from: &str,
    to: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT c.chat_id FROM chats c
             WHERE c.is_group = 0
               AND EXISTS (SELECT 1 FROM chat_handles h
                           WHERE h.chat_id = c.chat_id AND h.identifier = ?2 AND h.is_me = 0)
               AND EXISTS (SELECT 1 FROM chat_handles h
                           WHERE h.chat_id = c.chat_id AND h.identifier = ?1 AND h.is_me = 1)
               AND (SELECT count(*) FROM chat_handles h WHERE h.chat_id = c.chat_id AND h.is_me = 0) = 1
             ORDER BY c.last_activity_at DESC LIMIT 1",
        )?
        .query_row(params![from, to], |r| r.get(0))
        .optional()?)
}

/// Queues the first message of a new conversation and logs it; the provisional chat's id.
/// The same `client_id` again queues nothing and names the same chat.
pub fn enqueue(
    conn: &Connection,
    client_id: &str,
    from: &str,
    to: &str,
    text: &str,
    now: i64,
) -> Result<String, StoreError> {
    let chat_id = provisional_chat_id(client_id);
    let first = Queued {
        chat_id: chat_id.clone(),
        text: text.to_string(),
        reply_to: None,
        attachments: Vec::new(),
    };
    if !super::queue::insert(conn, client_id, "message", &chat_id, &first, now)? {
        return Ok(chat_id);
    }
    conn.prepare_cached(
        "INSERT INTO outbox_new_chats (chat_id, client_id, from_line, to_handle) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![chat_id, client_id, from, to])?;
    let change = OutboxChange::ChatQueued {
        chat_id: chat_id.clone(),
        from: from.to_string(),
        to: to.to_string(),
        text: text.to_string(),
    };
    append(conn, client_id, &change, now)?;
    Ok(chat_id)
}

/// The new conversation a provisional chat id stands for.
pub fn new_chat(conn: &Connection, chat_id: &str) -> Result<Option<NewChat>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT client_id, from_line, to_handle, linq_chat_id FROM outbox_new_chats WHERE chat_id = ?1",
        )?
        .query_row([chat_id], |r| {
            Ok(NewChat {
                client_id: r.get(0)?,
                from: r.get(1)?,
                to: r.get(2)?,
                linq_chat_id: r.get(3)?,
            })
        })
        .optional()?)
}

/// Linq created the conversation `client_id` began as `linq_chat_id` and its first message as
/// `linq_id`: recorded and logged in one transaction (named, then sent).
pub fn record_created(
    conn: &Connection,
    client_id: &str,
    linq_chat_id: &str,
    linq_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let named = conn
        .prepare_cached(
            "UPDATE outbox_new_chats SET linq_chat_id = ?2 WHERE client_id = ?1 AND linq_chat_id IS NULL",
        )?
        .execute(params![client_id, linq_chat_id])?;
    if named == 1 {
        let change = OutboxChange::ChatNamed {
            chat_id: linq_chat_id.to_string(),
        };
        append(conn, client_id, &change, now)?;
        follow_locally(conn, &provisional_chat_id(client_id), linq_chat_id)?;
    }
    queue::record_sent(conn, client_id, linq_id, now)
}

/// The rep's read mark and draft in the provisional chat (local state, in the log file: the
/// projector, which renames the chat's projections, cannot write them) go to Linq's chat, unless
/// the inbox already has that chat: then they are its own, and the provisional chat's go.
fn follow_locally(
    conn: &Connection,
    provisional: &str,
    linq_chat_id: &str,
) -> Result<(), StoreError> {
    let known = conn
        .prepare_cached("SELECT 1 FROM chats WHERE chat_id = ?1")?
        .query_row([linq_chat_id], |_| Ok(()))
        .optional()?
        .is_some();
    for table in ["local_reads", "drafts"] {
        if !known {
            conn.execute(
                &format!("UPDATE OR IGNORE {table} SET chat_id = ?2 WHERE chat_id = ?1"),
                params![provisional, linq_chat_id],
            )?;
        }
        conn.execute(
            &format!("DELETE FROM {table} WHERE chat_id = ?1"),
            [provisional],
        )?;
    }
    Ok(())
}

/// Projects the provisional chat: the line and the number (its first message is a queued reply).
pub(crate) fn provisional(
    conn: &Connection,
    ctx: &Ctx<'_>,
    chat_id: &str,
    from: &str,
    to: &str,
) -> Result<(), StoreError> {
    chats::ensure(conn, chat_id)?;
    let handle = |identifier: &str, is_me: bool| Handle {
        identifier: identifier.to_string(),
        display_name: None,
        is_me,
    };
    chats::upsert_handles(
        conn,
        chat_id,
        &[handle(from, true), handle(to, false)],
        ctx.at,
    )
}

/// The provisional chat of `client_id` becomes Linq's chat `linq_chat_id`.
pub(crate) fn named(
    conn: &Connection,
    client_id: &str,
    linq_chat_id: &str,
) -> Result<(), StoreError> {
    let provisional = provisional_chat_id(client_id);
    let exists = |id: &str| -> Result<bool, StoreError> {
        Ok(conn
            .prepare_cached("SELECT 1 FROM chats WHERE chat_id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    };
    if provisional == linq_chat_id || !exists(&provisional)? {
        return Ok(());
    }
    let merge = exists(linq_chat_id)?;
    reindex(conn, &provisional, linq_chat_id)?;
    for table in [
        "messages",
        "reactions",
        "read_receipts",
        "deliveries",
        "message_failures",
    ] {
        conn.execute(
            &format!("UPDATE {table} SET chat_id = ?2 WHERE chat_id = ?1"),
            params![provisional, linq_chat_id],
        )?;
    }
    if merge {
        // The chat Linq's report made may not list the number yet: the provisional one did.
        conn.execute(
            "UPDATE OR IGNORE chat_handles SET chat_id = ?2 WHERE chat_id = ?1",
            params![provisional, linq_chat_id],
        )?;
        for table in ["chat_handles", "chats"] {
            conn.execute(
                &format!("DELETE FROM {table} WHERE chat_id = ?1"),
                [&provisional],
            )?;
        }
        let last: Option<String> = conn
            .prepare_cached(
                "SELECT id FROM messages WHERE chat_id = ?1 ORDER BY sent_at DESC, tie DESC, id DESC LIMIT 1",
            )?
            .query_row([linq_chat_id], |r| r.get(0))
            .optional()?;
        if let Some(last) = last {
            chats::note_message(conn, linq_chat_id, &last)?;
        }
    } else {
        for table in ["chat_handles", "chats"] {
            conn.execute(
                &format!("UPDATE {table} SET chat_id = ?2 WHERE chat_id = ?1"),
                params![provisional, linq_chat_id],
            )?;
        }
    }
    chats::refresh_unread(conn, linq_chat_id)
}

/// The search entries of the provisional chat's messages follow them.
fn reindex(conn: &Connection, from: &str, to: &str) -> Result<(), StoreError> {
    let rowids: Vec<i64> = conn
        .prepare_cached("SELECT rowid FROM messages WHERE chat_id = ?1")?
        .query_map([from], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for rowid in rowids {
        fts::set_chat(conn, Kind::Message, rowid, to)?;
    }
    Ok(())
}
