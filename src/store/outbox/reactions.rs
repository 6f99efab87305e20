//! The rep's reactions through the outbox (issue 20 §4). A reaction change is committed first
//! (queue row `kind = 'reaction'` and log row `linq_inbox.outbox_reacted`, one transaction) and
//! projected at once as the rep's own reaction (`is_from_me`, key `{message}:0:me:{kind}:`), so
//! it shows (or goes) before Linq has it. Linq's later `reaction.added`/`removed` webhook about
//! it carries the same key and lands on the same row: one reaction, never two. Its outbox state
//! lives in `outbox_reactions` by that key: `sending` until Linq answers, then `sent`, or
//! `failed` with the sentence (a removal that failed shows the reaction again).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::queue::append;
use crate::linq::outbox::operation_name;
use crate::linq::{OutboxChange, Reaction, ReactionChange};
use crate::store::reactions;
use crate::store::rules::Ctx;
use crate::store::StoreError;

/// The six tapbacks the rep can send (`linq-api.md` §6.1; v2 takes the same six).
pub const TAPBACKS: [&str; 6] = ["love", "like", "dislike", "laugh", "emphasize", "question"];

/// What a queued reaction change asks Linq to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionRequest {
    /// The message as the thread shows it (a reply's bubble is `local:{client_id}`).
    pub message_id: String,
    pub chat_id: String,
    pub reaction: String,
    /// `add` or `remove`.
    pub operation: String,
}

impl ReactionRequest {
    pub fn change(&self) -> ReactionChange {
        if self.operation == "remove" {
            ReactionChange::Removed
        } else {
            ReactionChange::Added
        }
    }
}

/// Queues a reaction change and logs it, unless `client_id` is queued already (the same key
/// again is the same change). Returns whether this call queued it.
pub fn enqueue(
    conn: &Connection,
    client_id: &str,
    request: &ReactionRequest,
    now: i64,
) -> Result<bool, StoreError> {
    if !super::queue::insert(conn, client_id, "reaction", &request.chat_id, request, now)? {
        return Ok(false);
    }
    let change = OutboxChange::Reacted {
        message_id: request.message_id.clone(),
        chat_id: Some(request.chat_id.clone()),
        reaction: request.reaction.clone(),
        change: request.change(),
    };
    append(conn, client_id, &change, now)?;
    Ok(true)
}

/// The rep's own reaction as the projection keys it.
fn own(message_id: &str, chat_id: Option<&str>, kind: &str, change: ReactionChange) -> Reaction {
    Reaction {
        linq_id: None,
        message_id: message_id.to_string(),
        part_index: None,
        chat_id: chat_id.map(str::to_string),
        kind: kind.to_string(),
        custom_emoji: None,
        sticker: None,
        from: None,
        is_from_me: true,
        at: None,
        handles: Vec::new(),
        message_text: None,
        change,
    }
}

/// Projects a queued reaction change: the reaction shows (or goes) now, `sending`.
pub(crate) fn reacted(
    conn: &Connection,
    ctx: &Ctx<'_>,
    client_id: &str,
    message_id: &str,
    chat_id: Option<&str>,
    kind: &str,
    change: ReactionChange,
) -> Result<(), StoreError> {
    let reaction = own(message_id, chat_id, kind, change);
    reactions::project(conn, ctx, &reaction)?;
    conn.prepare_cached(
        "INSERT INTO outbox_reactions (reaction_key, client_id, message_id, operation, state, at)
         VALUES (?1, ?2, ?3, ?4, 'sending', ?5)
         ON CONFLICT (reaction_key) DO UPDATE SET client_id = excluded.client_id,
           operation = excluded.operation, state = 'sending', error = NULL, at = excluded.at",
    )?
    .execute(params![
        reaction.key(),
        client_id,
        message_id,
        operation_name(change),
        ctx.at
    ])?;
    Ok(())
}

/// Linq took (`error` none) or refused the change `client_id`. Only the newest change of a
/// reaction is settled by its answer; a refused removal shows the reaction again.
pub(crate) fn settled(
    conn: &Connection,
    client_id: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let row: Option<(String, String, i64)> = conn
        .prepare_cached(
            "SELECT reaction_key, operation, at FROM outbox_reactions WHERE client_id = ?1",
        )?
        .query_row([client_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((key, operation, at)) = row else {
        return Ok(());
    };
    let state = if error.is_some() { "failed" } else { "sent" };
    conn.prepare_cached("UPDATE outbox_reactions SET state = ?2, error = ?3 WHERE client_id = ?1")?
        .execute(params![client_id, state, error])?;
    if error.is_some() && operation == "remove" {
        conn.prepare_cached(
            "UPDATE reactions SET removed_at = NULL WHERE id = ?1 AND removed_at = ?2",
        )?
        .execute(params![key, at])?;
    }
    Ok(())
}

/// The message the reaction change `client_id` is on, when it is one.
pub fn message_of(conn: &Connection, client_id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT message_id FROM outbox_reactions WHERE client_id = ?1")?
        .query_row([client_id], |r| r.get(0))
        .optional()?)
}
