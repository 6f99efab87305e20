//! The sender's view of the outbox rows that are not replies: reactions and read marks, due
//! oldest first, with what each asks Linq to do.

use rusqlite::Connection;

use super::reactions::ReactionRequest;
use crate::store::StoreError;

/// What one queued action asks of Linq.
#[derive(Debug, Clone)]
pub enum Action {
    Reaction(ReactionRequest),
    Read { chat_id: String },
}

/// A queued reaction or read mark.
#[derive(Debug, Clone)]
pub struct ActionRow {
    pub client_id: String,
    pub action: Action,
    pub tries: i64,
}

/// Reactions and read marks due at `now`, oldest first.
pub fn due(conn: &Connection, now: i64) -> Result<Vec<ActionRow>, StoreError> {
    let rows: Vec<(String, String, Option<String>, String, i64)> = conn
        .prepare_cached(
            "SELECT client_id, kind, chat_id, request, tries FROM outbox
             WHERE state = 'pending' AND next_at <= ?1 AND kind IN ('reaction', 'read')
             ORDER BY created_at, client_id LIMIT 50",
        )?
        .query_map([now], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(client_id, kind, chat_id, request, tries)| {
            let action = match kind.as_str() {
                "reaction" => Action::Reaction(serde_json::from_str(&request).map_err(|e| {
                    StoreError::Corrupt(format!("an outbox reaction's request: {e}"))
                })?),
                _ => Action::Read {
                    chat_id: chat_id.unwrap_or_default(),
                },
            };
            Ok(ActionRow {
                client_id,
                action,
                tries,
            })
        })
        .collect()
}

/// The id Linq knows the message `message_id` by: a reply's bubble goes by the id Linq gave it
/// (`Ok(None)` while Linq has not named it yet), any other message by its own id.
pub fn linq_message_id(conn: &Connection, message_id: &str) -> Result<Option<String>, StoreError> {
    use rusqlite::OptionalExtension;
    let reply: Option<Option<String>> = conn
        .prepare_cached("SELECT linq_id FROM outbox_messages WHERE message_id = ?1")?
        .query_row([message_id], |r| r.get(0))
        .optional()?;
    Ok(match reply {
        Some(linq_id) => linq_id,
        None => Some(message_id.to_string()),
    })
}
