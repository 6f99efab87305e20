//! Reading messages as the thread shows them: the row joined with its receipt, delivery and
//! failure, then its attachments, live reactions, edits and the message it answers.

use rusqlite::{params, Connection, OptionalExtension};

use crate::linq::time::format_millis;
use crate::linq::{join_parts, TextPart};
use crate::store::attachment_files::{local_url, preview};
use crate::store::names::Names;
use crate::store::reactions::{self, ReactionRow};
use crate::store::views::{Attachment, Direction, Failure, FileState, Message, ReplyTo};
use crate::store::StoreError;

/// The columns [`message_row`] reads, from [`MESSAGE_FROM`].
pub(crate) const MESSAGE_COLUMNS: &str =
    "m.id, m.chat_id, m.text, m.sent_at, m.sent_at_original, m.direction, m.from_phone,
     m.service, r.read_at, r.read_at_original, m.reply_to_id, m.reply_to_part, m.text_parts,
     d.delivered_at, f.code, f.detail_code, f.reason, f.failed_at,
     EXISTS (SELECT 1 FROM message_edits e WHERE e.message_id = m.id), m.tie,
     o.client_id, o.state, o.error";

/// What a message row is joined with: its read receipt, delivery and failure.
pub(crate) const MESSAGE_FROM: &str = "messages m LEFT JOIN read_receipts r ON r.message_id = m.id
     LEFT JOIN deliveries d ON d.message_id = m.id LEFT JOIN message_failures f ON f.message_id = m.id
     LEFT JOIN outbox_messages o ON o.message_id = m.id";

/// A message row with what it is joined with.
pub struct MessageRow {
    pub id: String,
    pub chat_id: String,
    pub text: Option<String>,
    pub sent_at: i64,
    pub sent_at_original: Option<String>,
    pub direction: String,
    pub from_phone: Option<String>,
    pub service: Option<String>,
    pub read_at: Option<i64>,
    pub read_at_original: Option<String>,
    pub reply_to_id: Option<String>,
    pub reply_to_part: Option<i64>,
    /// The text parts as JSON `[[index, text], …]`, when more than one part or not at 0.
    pub text_parts: Option<String>,
    pub delivered_at: Option<i64>,
    pub failure: Option<Failure>,
    /// Whether any edit exists, so the common unedited message costs no extra query.
    pub has_edits: bool,
    /// Its place among messages of the same `sent_at` (`messages.tie`).
    pub tie: i64,
    /// The outbox's reply this row is: its client id, state and refusal.
    pub client_id: Option<String>,
    pub outbox_state: Option<String>,
    pub outbox_error: Option<String>,
}

pub(crate) fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        chat_id: r.get(1)?,
        text: r.get(2)?,
        sent_at: r.get(3)?,
        sent_at_original: r.get(4)?,
        direction: r.get(5)?,
        from_phone: r.get(6)?,
        service: r.get(7)?,
        read_at: r.get(8)?,
        read_at_original: r.get(9)?,
        reply_to_id: r.get(10)?,
        reply_to_part: r.get(11)?,
        text_parts: r.get(12)?,
        delivered_at: r.get(13)?,
        failure: match r.get::<_, Option<i64>>(17)? {
            Some(failed_at) => Some(Failure {
                code: r.get(14)?,
                detail_code: r.get(15)?,
                reason: r.get(16)?,
                failed_at: format_millis(failed_at),
            }),
            None => None,
        },
        has_edits: r.get(18)?,
        tie: r.get(19)?,
        client_id: r.get(20)?,
        outbox_state: r.get(21)?,
        outbox_error: r.get(22)?,
    })
}

/// The messages that carry the attachment `key`, as the thread shows them (to tell the open
/// threads its local copy changed).
pub fn carrying(conn: &Connection, key: &str) -> Result<Vec<Message>, StoreError> {
    let mut ids: Vec<String> = conn
        .prepare_cached("SELECT DISTINCT message_id FROM attachments WHERE id = ?1")?
        .query_map(params![key], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if let Some((message_id, position)) = key.rsplit_once(':') {
        let exists: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM attachments
                                WHERE message_id = ?1 AND position = ?2 AND id IS NULL)",
            )?
            .query_row(
                params![message_id, position.parse::<i64>().unwrap_or(-1)],
                |r| r.get(0),
            )?;
        if exists {
            ids.push(message_id.to_string());
        }
    }
    let mut names = Names::new(conn);
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(message(conn, &mut names, &id)?);
    }
    Ok(out)
}

/// One message with its attachments and reactions.
pub fn message(
    conn: &Connection,
    names: &mut Names<'_>,
    id: &str,
) -> Result<Option<Message>, StoreError> {
    let read = |id: &str| {
        conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ?1"
        ))?
        .query_row(params![id], message_row)
        .optional()
    };
    let row = match read(id)? {
        Some(row) => Some(row),
        // A report by Linq's id about a reply the outbox sent: its bubble.
        None => match bubble_of(conn, id)? {
            Some(bubble) => read(&bubble)?,
            None => None,
        },
    };
    row.map(|r| hydrate(conn, names, r)).transpose()
}

/// The bubble a report about Linq's message `id` belongs to, when it is not `id` itself: the
/// outbox's reply Linq named `id` (`store::outbox`).
pub fn bubble_of(conn: &Connection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT message_id FROM outbox_messages WHERE linq_id = ?1 AND message_id <> ?1",
        )?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// A message from its row, reading its attachments and reactions.
pub(crate) fn hydrate(
    conn: &Connection,
    names: &mut Names<'_>,
    row: MessageRow,
) -> Result<Message, StoreError> {
    let attachments = conn
        .prepare_cached(&format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM {ATTACHMENT_FROM} WHERE a.message_id = ?1 ORDER BY a.position"
        ))?
        .query_map(params![row.id], |r| attachment(r, 0))?
        .collect::<Result<_, _>>()?;
    let reactions = reactions::of_message(conn, &row.id)?;
    assemble(conn, names, row, attachments, reactions)
}

/// An attachment's columns: what Linq said of it, then its local copy's state.
pub(crate) const ATTACHMENT_COLUMNS: &str = "a.id, a.url, a.filename, a.mime_type,
    coalesce(a.id, a.message_id || ':' || a.position), f.state, f.size, f.content_type, f.error,
    f.retry_at, f.can_retry";
/// `attachments a` with the state of its local copy.
pub(crate) const ATTACHMENT_FROM: &str = "attachments a
    LEFT JOIN attachment_files f ON f.key = coalesce(a.id, a.message_id || ':' || a.position)";

/// An attachment from [`ATTACHMENT_COLUMNS`] starting at column `at`.
pub(crate) fn attachment(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Attachment> {
    let key: String = r.get(at + 4)?;
    let state = r
        .get::<_, Option<String>>(at + 5)?
        .map_or(FileState::Pending, |s| FileState::parse(&s));
    let content_type: Option<String> = r.get(at + 7)?;
    let downloaded = state == FileState::Downloaded;
    Ok(Attachment {
        id: r.get(at)?,
        url: r.get(at + 1)?,
        filename: r.get(at + 2)?,
        mime_type: r.get(at + 3)?,
        local_url: downloaded.then(|| local_url(&key)),
        preview: content_type
            .as_deref()
            .filter(|_| downloaded)
            .and_then(preview),
        size: r.get::<_, Option<i64>>(at + 6)?.filter(|_| downloaded),
        content_type: content_type.filter(|_| downloaded),
        error: r
            .get::<_, Option<String>>(at + 8)?
            .filter(|_| state == FileState::Failed),
        retrying: state == FileState::Failed && r.get::<_, Option<i64>>(at + 9)?.is_some(),
        can_retry: state == FileState::Failed
            && r.get::<_, Option<bool>>(at + 10)?.unwrap_or(false),
        state,
        key,
    })
}

/// A message from its row, its attachments (by position) and its live reactions (oldest first).
pub(crate) fn assemble(
    conn: &Connection,
    names: &mut Names<'_>,
    row: MessageRow,
    attachments: Vec<Attachment>,
    reactions: Vec<ReactionRow>,
) -> Result<Message, StoreError> {
    let reactions = reactions::views(names, &row.chat_id, reactions)?;
    let from_name = match &row.from_phone {
        Some(phone) => Some(names.resolve(Some(&row.chat_id), phone)?),
        None => None,
    };
    let (text, edited_at) = if row.has_edits {
        edited_text(conn, &row.id, row.text, row.text_parts.as_deref())?
    } else {
        (row.text, None)
    };
    let reply_to = match &row.reply_to_id {
        Some(target) => Some(reply_preview(
            conn,
            names,
            &row.chat_id,
            target,
            row.reply_to_part,
        )?),
        None => None,
    };
    let direction = Direction::parse(&row.direction);
    let delivered_at = row.delivered_at.map(format_millis);
    let status = status(
        direction,
        row.outbox_state.as_deref(),
        row.read_at.is_some(),
        delivered_at.is_some(),
        row.failure.is_some(),
    );
    let error = match (status, row.outbox_error, &row.failure) {
        (Some("failed"), Some(e), _) => Some(e),
        (Some("failed"), None, Some(f)) => f.reason.clone(),
        _ => None,
    };
    Ok(Message {
        kind: "message",
        direction,
        sent_at: format_millis(row.sent_at),
        tie: row.tie,
        read_at: row.read_at.map(format_millis),
        id: row.id,
        chat_id: row.chat_id,
        text,
        sent_at_original: row.sent_at_original,
        from_phone: row.from_phone,
        from_name,
        service: row.service,
        read_at_original: row.read_at_original,
        attachments,
        reactions,
        delivered_at,
        status,
        error,
        client_id: row.client_id,
        failure: row.failure,
        edited_at: edited_at.map(format_millis),
        reply_to,
    })
}

/// Outbound only: read beats delivered beats failed (Linq may deliver after a failure); a reply
/// the outbox has not handed to Linq yet is `sending`, or `failed` when Linq refused it.
fn status(
    direction: Direction,
    outbox: Option<&str>,
    read: bool,
    delivered: bool,
    failed: bool,
) -> Option<&'static str> {
    if direction != Direction::Outbound {
        return None;
    }
    Some(if outbox == Some("sending") {
        "sending"
    } else if outbox == Some("failed") {
        "failed"
    } else if read {
        "read"
    } else if delivered {
        "delivered"
    } else if failed {
        "failed"
    } else {
        "sent"
    })
}

/// A message's text with its edits applied, and when it was last edited (`None`: never).
pub(crate) fn edited_text(
    conn: &Connection,
    message_id: &str,
    text: Option<String>,
    text_parts: Option<&str>,
) -> Result<(Option<String>, Option<i64>), StoreError> {
    let edits: Vec<(TextPart, i64)> = conn
        .prepare_cached(
            "SELECT part_index, text, edited_at FROM message_edits WHERE message_id = ?1 ORDER BY part_index",
        )?
        .query_map(params![message_id], |r| {
            Ok((
                TextPart {
                    index: r.get(0)?,
                    text: r.get(1)?,
                },
                r.get(2)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    if edits.is_empty() {
        return Ok((text, None));
    }
    let mut parts: Vec<TextPart> = text_parts
        .and_then(|p| serde_json::from_str::<Vec<(i64, String)>>(p).ok())
        .map(|pairs| {
            pairs
                .into_iter()
                .map(|(index, text)| TextPart { index, text })
                .collect()
        })
        .unwrap_or_else(|| {
            text.into_iter()
                .map(|text| TextPart { index: 0, text })
                .collect()
        });
    for (edit, _) in &edits {
        match parts.iter_mut().find(|p| p.index == edit.index) {
            Some(part) => part.text = edit.text.clone(),
            None => parts.push(edit.clone()),
        }
    }
    parts.sort_by_key(|p| p.index);
    let last = edits.iter().map(|(_, at)| *at).max();
    Ok((Some(join_parts(&parts)), last))
}

/// The columns a reply's quote is built from.
struct QuotedRow {
    text: Option<String>,
    from_phone: Option<String>,
    direction: String,
    text_parts: Option<String>,
}

/// The answered message as a reply shows it: its (edited) text, sender and direction.
fn reply_preview(
    conn: &Connection,
    names: &mut Names<'_>,
    chat_id: &str,
    target: &str,
    part_index: Option<i64>,
) -> Result<ReplyTo, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT text, from_phone, direction, text_parts FROM messages WHERE id = ?1 AND chat_id = ?2",
        )?
        .query_row(params![target, chat_id], |r| {
            Ok(QuotedRow {
                text: r.get(0)?,
                from_phone: r.get(1)?,
                direction: r.get(2)?,
                text_parts: r.get(3)?,
            })
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(ReplyTo {
            message_id: target.to_string(),
            part_index,
            found: false,
            text: None,
            from_name: None,
            direction: None,
        });
    };
    let (text, _) = edited_text(conn, target, row.text, row.text_parts.as_deref())?;
    let direction = Direction::parse(&row.direction);
    let from_name = match (&direction, &row.from_phone) {
        (Direction::Outbound, _) => Some("You".to_string()),
        (_, Some(f)) => Some(names.resolve(Some(chat_id), f)?),
        _ => None,
    };
    Ok(ReplyTo {
        message_id: target.to_string(),
        part_index,
        found: true,
        text,
        from_name,
        direction: Some(direction),
    })
}
