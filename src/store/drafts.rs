//! Drafts: what the rep typed in a chat's composer and has not sent, with the message it quotes.
//! Local state (migration 0011): not in the log, so `rebuild` keeps it, and a restart of the app
//! finds it where the rep left it. A reply queued from the chat clears it in the same
//! transaction ([`clear`] beside the outbox's enqueue).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// A chat's draft as the composer restores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Draft {
    pub chat_id: String,
    pub text: String,
    /// The message id the reply quotes.
    pub reply_to: Option<String>,
    /// When it was last saved (RFC 3339).
    pub updated_at: String,
}

/// The draft of `chat_id`, if the rep left one.
pub fn get(conn: &Connection, chat_id: &str) -> Result<Option<Draft>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT text, reply_to, updated_at FROM drafts WHERE chat_id = ?1")?
        .query_row([chat_id], |r| {
            Ok(Draft {
                chat_id: chat_id.to_string(),
                text: r.get(0)?,
                reply_to: r.get(1)?,
                updated_at: crate::linq::time::format_millis(r.get(2)?),
            })
        })
        .optional()?)
}

/// Keeps `text` (and the quoted message) as the chat's draft; an empty draft is none.
pub fn put(
    conn: &Connection,
    chat_id: &str,
    text: &str,
    reply_to: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    if text.is_empty() && reply_to.is_none() {
        return clear(conn, chat_id);
    }
    conn.prepare_cached(
        "INSERT INTO drafts (chat_id, text, reply_to, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (chat_id) DO UPDATE SET text = ?2, reply_to = ?3, updated_at = ?4",
    )?
    .execute(params![chat_id, text, reply_to, now])?;
    Ok(())
}

/// Drops the chat's draft (sent, or emptied by the rep).
pub fn clear(conn: &Connection, chat_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM drafts WHERE chat_id = ?1")?
        .execute([chat_id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inbox with the log attached, as the projector sees them: drafts are in the log's file.
    fn db() -> Connection {
        crate::store::tests::convergence::memory_db()
    }

    #[test]
    fn a_draft_is_kept_replaced_and_cleared() {
        let conn = db();
        put(&conn, "c1", "Friday", None, 1_000).expect("put");
        put(&conn, "c1", "Friday works", Some("m9"), 2_000).expect("replace");
        let draft = get(&conn, "c1").expect("get").expect("a draft");
        assert_eq!(draft.text, "Friday works", "the later save wins");
        assert_eq!(draft.reply_to.as_deref(), Some("m9"), "the quote is kept");
        assert_eq!(get(&conn, "c2").expect("get"), None, "drafts are per chat");
        put(&conn, "c1", "", None, 3_000).expect("empty");
        assert_eq!(
            get(&conn, "c1").expect("get"),
            None,
            "an empty draft is none"
        );
    }

    #[test]
    fn a_rebuild_keeps_drafts() {
        let mut conn = db();
        put(&conn, "c1", "half a thought", None, 1_000).expect("put");
        crate::store::replay::rebuild(&mut conn).expect("rebuild");
        assert_eq!(
            get(&conn, "c1").expect("get").map(|d| d.text).as_deref(),
            Some("half a thought"),
            "drafts are local state, not projection"
        );
    }
}
