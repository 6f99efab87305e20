//! The sender's queue: what the rep asked to send, until Linq took it or refused it for good.
//! Local state (`rebuild` keeps it). Every write that changes what the thread shows appends the
//! outbox's log row in the same transaction, so the queue and the inbox never disagree.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::linq::outbox::envelope;
use crate::linq::{OutboxChange, SignatureForm};
use crate::store::log::{self, NewEvent};
use crate::store::StoreError;

/// What a queued reply asks Linq to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub chat_id: String,
    pub text: String,
    pub reply_to: Option<String>,
    /// Files the rep attached, kept in the data folder before the reply was queued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::store::uploads::Upload>,
}

/// A queue row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub client_id: String,
    pub request: Queued,
    pub state: String,
    pub tries: i64,
    pub next_at: i64,
    pub error: Option<String>,
    pub linq_id: Option<String>,
}

/// Queues a reply and logs it, unless `client_id` is queued already (then nothing changes: the
/// same client id again is the same reply). Returns whether this call queued it.
pub fn enqueue(
    conn: &Connection,
    client_id: &str,
    request: &Queued,
    now: i64,
) -> Result<bool, StoreError> {
    let json = serde_json::to_string(request).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO outbox (client_id, kind, chat_id, request, state, next_at, created_at)
             VALUES (?1, 'message', ?2, ?3, 'pending', ?4, ?4) ON CONFLICT DO NOTHING",
        )?
        .execute(params![client_id, request.chat_id, json, now])?;
    if inserted == 0 {
        return Ok(false);
    }
    let change = OutboxChange::Queued {
        chat_id: request.chat_id.clone(),
        text: request.text.clone(),
        reply_to: request
            .reply_to
            .clone()
            .map(|message_id| crate::linq::ReplyTo {
                message_id,
                part_index: None,
            }),
        attachments: request.attachments.iter().map(outgoing).collect(),
    };
    append(conn, client_id, &change, now)?;
    Ok(true)
}

/// A kept file as the rep's bubble shows it: its upload id is the key of its local copy.
fn outgoing(u: &crate::store::uploads::Upload) -> crate::linq::Attachment {
    crate::linq::Attachment {
        id: Some(u.upload_id.clone()),
        url: None,
        filename: Some(u.filename.clone()),
        mime_type: Some(u.content_type.clone()),
    }
}

/// The queue row of `client_id`.
pub fn row(conn: &Connection, client_id: &str) -> Result<Option<OutboxRow>, StoreError> {
    conn.prepare_cached(
        "SELECT client_id, request, state, tries, next_at, error, linq_id FROM outbox
         WHERE client_id = ?1",
    )?
    .query_row([client_id], read_row)
    .optional()?
    .transpose()
}

/// Pending rows due at `now`, oldest first, and when the next one not yet due is.
pub fn due(conn: &Connection, now: i64) -> Result<(Vec<OutboxRow>, Option<i64>), StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT client_id, request, state, tries, next_at, error, linq_id FROM outbox
             WHERE state = 'pending' AND next_at <= ?1 ORDER BY created_at, client_id LIMIT 50",
        )?
        .query_map([now], read_row)?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let next = conn
        .prepare_cached("SELECT min(next_at) FROM outbox WHERE state = 'pending' AND next_at > ?1")?
        .query_row([now], |r| r.get(0))?;
    Ok((rows, next))
}

/// Linq took the reply and named it `linq_id`.
pub fn record_sent(
    conn: &Connection,
    client_id: &str,
    linq_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'sent', linq_id = ?2, error = NULL, tries = tries + 1
             WHERE client_id = ?1 AND state = 'pending'",
        )?
        .execute(params![client_id, linq_id])?;
    if changed == 1 {
        let change = OutboxChange::Sent {
            linq_id: linq_id.to_string(),
        };
        append(conn, client_id, &change, now)?;
    }
    Ok(())
}

/// A passing failure: try again at `next_at`, the reason kept for the record.
pub fn reschedule(
    conn: &Connection,
    client_id: &str,
    error: &str,
    next_at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE outbox SET tries = tries + 1, next_at = ?2, error = ?3
         WHERE client_id = ?1 AND state = 'pending'",
    )?
    .execute(params![client_id, next_at, error])?;
    Ok(())
}

/// A refusal that will not change: the reply is `failed` with `error` until the rep retries or
/// deletes it.
pub fn record_failed(
    conn: &Connection,
    client_id: &str,
    error: &str,
    now: i64,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'failed', error = ?2, tries = tries + 1
             WHERE client_id = ?1 AND state = 'pending'",
        )?
        .execute(params![client_id, error])?;
    if changed == 1 {
        let change = OutboxChange::Failed {
            error: error.to_string(),
        };
        append(conn, client_id, &change, now)?;
    }
    Ok(())
}

/// The rep's Retry: a failed reply is pending again, due now. False when it is not failed.
pub fn retry(conn: &Connection, client_id: &str, now: i64) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE outbox SET state = 'pending', next_at = ?2, tries = 0, error = NULL
             WHERE client_id = ?1 AND state = 'failed'",
        )?
        .execute(params![client_id, now])?;
    if changed == 1 {
        append(conn, client_id, &OutboxChange::Retried, now)?;
    }
    Ok(changed == 1)
}

/// The rep's Delete: a failed reply is dropped. False when it is not failed.
pub fn delete(conn: &Connection, client_id: &str, now: i64) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("DELETE FROM outbox WHERE client_id = ?1 AND state = 'failed'")?
        .execute([client_id])?;
    if changed == 1 {
        append(conn, client_id, &OutboxChange::Deleted, now)?;
    }
    Ok(changed == 1)
}

fn append(
    conn: &Connection,
    client_id: &str,
    change: &OutboxChange,
    now: i64,
) -> Result<(), StoreError> {
    let (event_id, event_type, body) = envelope(client_id, change, now);
    log::append(
        conn,
        &NewEvent {
            event_id,
            event_type: event_type.to_string(),
            api_version: None,
            created_at: Some(now),
            created_at_original: None,
            received_at: now,
            signature: SignatureForm::Local,
            payload: body.to_string(),
            webhook_id: None,
        },
    )?;
    Ok(())
}

type RowResult = Result<OutboxRow, StoreError>;

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RowResult> {
    let request: String = r.get(1)?;
    let (client_id, state, tries, next_at, error, linq_id) = (
        r.get(0)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    );
    Ok(serde_json::from_str::<Queued>(&request)
        .map(|request| OutboxRow {
            client_id,
            request,
            state,
            tries,
            next_at,
            error,
            linq_id,
        })
        .map_err(|e| StoreError::Corrupt(format!("an outbox row's request: {e}"))))
}
