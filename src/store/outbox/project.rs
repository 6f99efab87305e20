//! Folding the outbox's log rows into the inbox. A queued reply is a message row of its own
//! (`local:{client_id}`, outbound) with its outbox state beside it in `outbox_messages`; once
//! Linq names it, every later report about Linq's id (`message.sent`, `delivered`, `read`,
//! `failed`, reactions) is folded into the same bubble ([`bubble_of`]). When Linq's own report
//! came first (its webhook beat the answer), that report's row becomes the bubble and the local
//! row goes: one message either way.

use rusqlite::{params, Connection, OptionalExtension};

use crate::linq::outbox::local_id;
use crate::linq::time::{format_millis, parse};
use crate::linq::value::Time;
use crate::linq::{Attachment, Direction, Message, OutboxChange, OutboxFact, ReplyTo, TextPart};
use crate::store::chats::project as chats;
use crate::store::fts::{self, Kind};
use crate::store::messages::project as messages;
use crate::store::rules::Ctx;
use crate::store::StoreError;

/// Applies one outbox fact.
pub(crate) fn apply(conn: &Connection, ctx: &Ctx<'_>, f: &OutboxFact) -> Result<(), StoreError> {
    match &f.change {
        OutboxChange::Queued {
            chat_id,
            text,
            reply_to,
            attachments,
        } => queued(
            conn,
            ctx,
            &f.client_id,
            chat_id,
            text,
            reply_to.as_ref(),
            attachments,
        ),
        OutboxChange::Sent { linq_id } => {
            super::reactions::settled(conn, &f.client_id, None)?;
            sent(conn, &f.client_id, linq_id)
        }
        OutboxChange::Failed { error } => {
            super::reactions::settled(conn, &f.client_id, Some(error))?;
            set_state(conn, &f.client_id, "failed", Some(error))
        }
        OutboxChange::Retried => set_state(conn, &f.client_id, "sending", None),
        OutboxChange::Deleted => deleted(conn, &f.client_id),
        OutboxChange::ChatQueued {
            chat_id,
            from,
            to,
            text,
        } => {
            super::new_chat::provisional(conn, ctx, chat_id, from, to)?;
            queued(conn, ctx, &f.client_id, chat_id, text, None, &[])
        }
        OutboxChange::ChatNamed { chat_id } => super::new_chat::named(conn, &f.client_id, chat_id),
        OutboxChange::Reacted {
            message_id,
            chat_id,
            reaction,
            change,
        } => super::reactions::reacted(
            conn,
            ctx,
            &f.client_id,
            message_id,
            chat_id.as_deref(),
            reaction,
            *change,
        ),
        OutboxChange::ReadRefused { chat_id, error } => {
            chats::set_read_mark_error(conn, chat_id, Some(error))
        }
        OutboxChange::ReadTaken { chat_id } => chats::set_read_mark_error(conn, chat_id, None),
    }
}

pub use crate::store::messages::read::bubble_of;

/// A report of the rep's message that carries the key it was sent with: when that key is an
/// outbox reply Linq has not named yet, this is its id, so the report lands on the reply's
/// bubble even before Linq's answer to the send is recorded.
pub(crate) fn link_by_key(conn: &Connection, m: &Message) -> Result<(), StoreError> {
    let Some(key) = &m.idempotency_key else {
        return Ok(());
    };
    if m.id.starts_with("local:") || message_exists(conn, &m.id)? {
        return Ok(());
    }
    conn.prepare_cached(
        "UPDATE outbox_messages SET linq_id = ?2, state = 'sent', error = NULL
         WHERE client_id = ?1 AND linq_id IS NULL",
    )?
    .execute(params![key, m.id])?;
    Ok(())
}

fn queued(
    conn: &Connection,
    ctx: &Ctx<'_>,
    client_id: &str,
    chat_id: &str,
    text: &str,
    reply_to: Option<&ReplyTo>,
    attachments: &[Attachment],
) -> Result<(), StoreError> {
    if bubble_by_client(conn, client_id)?.is_some() {
        return Ok(());
    }
    let id = local_id(client_id);
    let message = Message {
        id: id.clone(),
        chat_id: chat_id.to_string(),
        direction: Direction::Outbound,
        sent_at: parse(&format_millis(ctx.at)).map(Time),
        from: None,
        service: None,
        handles: Vec::new(),
        is_group: None,
        texts: if text.is_empty() {
            Vec::new()
        } else {
            vec![TextPart {
                index: 0,
                text: text.to_string(),
            }]
        },
        attachments: attachments.to_vec(),
        reply_to: reply_to.cloned(),
        read: false,
        delivered: false,
        delivered_at: None,
        idempotency_key: Some(client_id.to_string()),
    };
    messages::message(conn, ctx, &message)?;
    conn.prepare_cached(
        "INSERT INTO outbox_messages (message_id, client_id, state) VALUES (?1, ?2, 'sending')
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![id, client_id])?;
    Ok(())
}

/// Linq named the reply `linq_id`. If a report about that id already made a row of its own,
/// that row is the bubble from now on and the local one goes.
fn sent(conn: &Connection, client_id: &str, linq_id: &str) -> Result<(), StoreError> {
    let Some(bubble) = bubble_by_client(conn, client_id)? else {
        return Ok(());
    };
    let reported = linq_id != bubble && message_exists(conn, linq_id)?;
    let message_id = if reported {
        remove_message(conn, &bubble, Some(linq_id))?;
        linq_id.to_string()
    } else {
        bubble
    };
    conn.prepare_cached(
        "UPDATE outbox_messages SET message_id = ?2, state = 'sent', linq_id = ?3, error = NULL
         WHERE client_id = ?1",
    )?
    .execute(params![client_id, message_id, linq_id])?;
    Ok(())
}

fn set_state(
    conn: &Connection,
    client_id: &str,
    state: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    // A reply Linq already named stays sent: a late refusal of a retry cannot unsend it.
    conn.prepare_cached(
        "UPDATE outbox_messages SET state = ?2, error = ?3 WHERE client_id = ?1 AND linq_id IS NULL",
    )?
    .execute(params![client_id, state, error])?;
    Ok(())
}

fn deleted(conn: &Connection, client_id: &str) -> Result<(), StoreError> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT message_id, linq_id FROM outbox_messages WHERE client_id = ?1")?
        .query_row([client_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    // Only a reply Linq never took can be dropped: a sent one is in the customer's thread.
    if let Some((message_id, None)) = row {
        remove_message(conn, &message_id, None)?;
        conn.prepare_cached("DELETE FROM outbox_messages WHERE client_id = ?1")?
            .execute([client_id])?;
    }
    Ok(())
}

/// The message id of the outbox reply `client_id`'s bubble.
pub fn bubble_by_client(conn: &Connection, client_id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT message_id FROM outbox_messages WHERE client_id = ?1")?
        .query_row([client_id], |r| r.get(0))
        .optional()?)
}

fn message_exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM messages WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Removes a message row and its search entry; the chat's last message moves to `successor`
/// or, without one, to the newest message left.
fn remove_message(conn: &Connection, id: &str, successor: Option<&str>) -> Result<(), StoreError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT rowid, chat_id FROM messages WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((rowid, chat_id)) = row else {
        return Ok(());
    };
    fts::unindex(conn, Kind::Message, rowid)?;
    conn.prepare_cached("DELETE FROM messages WHERE id = ?1")?
        .execute([id])?;
    conn.prepare_cached(
        "UPDATE chats SET last_message_id = NULL, last_message_at = NULL
         WHERE chat_id = ?1 AND last_message_id = ?2",
    )?
    .execute(params![chat_id, id])?;
    let next: Option<String> = match successor {
        Some(s) => Some(s.to_string()),
        None => conn
            .prepare_cached(
                "SELECT id FROM messages WHERE chat_id = ?1 ORDER BY sent_at DESC, tie DESC, id DESC
                 LIMIT 1",
            )?
            .query_row([&chat_id], |r| r.get(0))
            .optional()?,
    };
    if let Some(next) = next {
        chats::note_message(conn, &chat_id, &next)?;
    }
    Ok(())
}
