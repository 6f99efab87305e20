//! The raw event log and the capped table of refused deliveries.

use rusqlite::{params, Connection, OptionalExtension};

use super::views::{EventView, RejectedView};
use super::StoreError;
use crate::linq::time::format_millis;
use crate::linq::SignatureForm;

/// Refused deliveries kept; older ones are dropped (their total is still counted).
pub const REJECTED_CAP: i64 = 1000;

/// An event about to be appended to the log.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    pub event_type: String,
    pub api_version: Option<String>,
    pub created_at: Option<i64>,
    pub created_at_original: Option<String>,
    pub received_at: i64,
    pub signature: SignatureForm,
    pub payload: String,
    /// The Standard Webhooks `webhook-id`, when that signature matched: a second delivery with
    /// the same id is a duplicate even if Linq's `event_id` differed.
    pub webhook_id: Option<String>,
}

impl NewEvent {
    /// The log row for a parsed envelope and the body it came from; takes the envelope's text
    /// instead of copying it (this runs for every delivery).
    pub fn from_envelope(
        envelope: crate::linq::Envelope,
        payload: String,
        signature: SignatureForm,
        received_at: i64,
    ) -> NewEvent {
        let created_at = envelope.created_at.map(|t| t.0);
        NewEvent {
            event_id: envelope.event_id,
            event_type: envelope.event_type,
            api_version: envelope.meta.api_version,
            created_at: created_at.as_ref().map(|t| t.millis()),
            created_at_original: created_at.map(|t| t.original),
            received_at,
            signature,
            payload,
            webhook_id: None,
        }
    }
}

/// An event as stored.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub created_at: Option<i64>,
    pub created_at_original: Option<String>,
    pub received_at: i64,
    pub signature: String,
    pub payload: String,
}

/// A refused delivery: why, from where, what it looked like. Never header values or secrets.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub received_at: i64,
    pub status: u16,
    pub reason: String,
    pub remote_addr: Option<String>,
    pub headers: Vec<String>,
    pub size: usize,
    pub body_prefix: String,
}

/// Appends `event`; `None` when an event with the same id and type, or the same
/// `webhook-id`, is already stored.
pub fn append(conn: &Connection, event: &NewEvent) -> Result<Option<i64>, StoreError> {
    // Cached: this runs once per delivery and per imported line.
    let inserted = conn.prepare_cached(
        "INSERT INTO events (event_id, event_type, api_version, created_at, created_at_original,
                             received_at, signature, payload, webhook_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![
            event.event_id,
            event.event_type,
            event.api_version,
            event.created_at,
            event.created_at_original,
            event.received_at,
            event.signature.as_str(),
            event.payload,
            event.webhook_id,
        ])?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

/// The sequence number of an already stored event.
pub fn seq_of(
    conn: &Connection,
    event_id: &str,
    event_type: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq FROM events WHERE event_id = ?1 AND event_type = ?2")?
        .query_row(params![event_id, event_type], |r| r.get(0))
        .optional()?)
}

/// The sequence number of the stored event `event` duplicates (by id and type, or webhook-id).
pub fn duplicate_of(conn: &Connection, event: &NewEvent) -> Result<Option<i64>, StoreError> {
    if let Some(seq) = seq_of(conn, &event.event_id, &event.event_type)? {
        return Ok(Some(seq));
    }
    let Some(webhook_id) = &event.webhook_id else {
        return Ok(None);
    };
    Ok(conn
        .query_row(
            "SELECT seq FROM events WHERE webhook_id = ?1",
            params![webhook_id],
            |r| r.get(0),
        )
        .optional()?)
}

const EVENT_COLUMNS: &str =
    "seq, event_id, event_type, created_at, created_at_original, received_at, signature, payload";

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        seq: r.get(0)?,
        event_id: r.get(1)?,
        event_type: r.get(2)?,
        created_at: r.get(3)?,
        created_at_original: r.get(4)?,
        received_at: r.get(5)?,
        signature: r.get(6)?,
        payload: r.get(7)?,
    })
}

/// Events with `seq > after`, oldest first, at most `limit`.
pub fn events_after(
    conn: &Connection,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit], event_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` events after `after` and no later than `through`, oldest first.
pub fn events_between(
    conn: &Connection,
    after: i64,
    through: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![after, through, limit], event_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Events newest first, before `before` (a seq), optionally of one type.
pub fn events_page(
    conn: &Connection,
    before: Option<i64>,
    event_type: Option<&str>,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events
         WHERE seq < ?1 AND (?2 IS NULL OR event_type = ?2)
         ORDER BY seq DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![before.unwrap_or(i64::MAX), event_type, limit],
        event_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Calls `each` for every event in log order, in chunks so memory stays flat.
pub fn for_each_event(
    conn: &Connection,
    mut each: impl FnMut(&StoredEvent) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut after = 0;
    loop {
        let chunk = events_after(conn, after, 2000)?;
        let Some(last) = chunk.last() else {
            return Ok(());
        };
        after = last.seq;
        for event in &chunk {
            each(event)?;
        }
    }
}

pub fn max_seq(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?)
}

/// When the last webhook delivery was stored (ms since the epoch), as the writer notes it.
pub fn last_delivery_at(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_delivery_at'",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// Notes that a delivery received at `received_at` (ms) is stored: once per commit, by the
/// writer, in place of an index on every row's `received_at` (migration 0016). The latest time
/// stays if the clock went back.
pub fn note_delivery(conn: &Connection, received_at: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('last_delivery_at', ?1)
         ON CONFLICT (key) DO UPDATE
            SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
    )?
    .execute(params![received_at])?;
    Ok(())
}

/// Records a refused delivery and trims the table to its cap.
pub fn record_rejection(conn: &Connection, r: &Rejection) -> Result<(), StoreError> {
    let headers = serde_json::to_string(&r.headers).unwrap_or_else(|_| "[]".into());
    conn.execute(
        "INSERT INTO rejected (received_at, status, reason, remote_addr, headers, size, body_prefix)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![r.received_at, r.status, r.reason, r.remote_addr, headers, r.size as i64, r.body_prefix],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute(
        "DELETE FROM rejected WHERE id <= ?1",
        params![id - REJECTED_CAP],
    )?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('rejected_total', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [],
    )?;
    Ok(())
}

pub fn rejected_total(conn: &Connection) -> Result<i64, StoreError> {
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'rejected_total'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// Whether a log row is a typing indicator (both API versions' types): the condition of the
/// partial index `events_typing` (migration 0016), stated the same way, since SQLite uses a
/// partial index only for a query whose WHERE holds its condition as written.
const IS_TYPING: &str = "(event_type = 'typing_indicator.received' OR \
    event_type = 'typing_indicator.removed' OR event_type = 'chat.typing_indicator.started' OR \
    event_type = 'chat.typing_indicator.stopped')";

/// The prune's statement: the typing indicators received before `?1`, found through
/// `events_typing` without reading the rest of the log.
fn prune_typing_sql() -> String {
    format!("DELETE FROM events WHERE {IS_TYPING} AND received_at < ?1")
}

/// Deletes typing-indicator events received before `cutoff` (ms). They change no projection,
/// and a busy account would otherwise grow the log by thousands a day.
pub fn prune_typing(conn: &Connection, cutoff: i64) -> Result<usize, StoreError> {
    Ok(conn.execute(&prune_typing_sql(), params![cutoff])?)
}

/// Events newest first, before `before` (a seq), leaving out typing indicators: what the
/// activity timeline pages through (typing is live state, never an entry of it).
pub fn events_page_without_typing(
    conn: &Connection,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events
         WHERE seq < ?1 AND NOT {IS_TYPING}
         ORDER BY seq DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit], event_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// ---- views ----

/// A page of the log, newest first, older than `before`, maybe of one type; and whether
/// older events remain.
pub fn events(
    conn: &Connection,
    before: Option<i64>,
    event_type: Option<&str>,
    limit: i64,
) -> Result<(Vec<EventView>, bool), StoreError> {
    let mut rows = events_page(conn, before, event_type, limit + 1)?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let mut failure =
        conn.prepare_cached("SELECT reason FROM projection_failures WHERE seq = ?1")?;
    let views = rows
        .into_iter()
        .map(|e| {
            let reason: Option<String> =
                failure.query_row(params![e.seq], |r| r.get(0)).optional()?;
            let mut view = event_view(e);
            view.projection_error = reason;
            Ok(view)
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((views, has_more))
}

pub fn event_view(e: StoredEvent) -> EventView {
    let payload = serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::String(e.payload));
    EventView {
        seq: e.seq,
        event_id: e.event_id,
        event_type: e.event_type,
        created_at: e.created_at.map(format_millis),
        created_at_original: e.created_at_original,
        received_at: format_millis(e.received_at),
        signature: e.signature,
        payload,
        projection_error: None,
    }
}

/// The newest refused deliveries.
pub fn rejected(conn: &Connection, limit: i64) -> Result<Vec<RejectedView>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, status, reason, remote_addr, headers, size, body_prefix
         FROM rejected ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], |r| {
        let headers: String = r.get(5)?;
        Ok(RejectedView {
            id: r.get(0)?,
            received_at: format_millis(r.get(1)?),
            status: r.get(2)?,
            reason: r.get(3)?,
            remote_addr: r.get(4)?,
            headers: serde_json::from_str(&headers).unwrap_or_default(),
            size: r.get(6)?,
            body_prefix: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Row counts for the status screen.
pub fn counts(conn: &Connection) -> Result<serde_json::Value, StoreError> {
    let count =
        |sql: &str| -> Result<i64, StoreError> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(serde_json::json!({
        "events": count("SELECT count(*) FROM events")?,
        "chats": count("SELECT count(*) FROM chats")?,
        "messages": count("SELECT count(*) FROM messages")?,
        "calls": count("SELECT count(*) FROM calls")?,
        "contacts": count("SELECT count(*) FROM contacts WHERE deleted = 0")?,
        "rejected": count("SELECT count(*) FROM rejected")?,
    }))
}

/// The log's event ids in sequence order: what the tests of the log and of its migrations
/// compare.
#[cfg(test)]
pub(crate) fn event_ids(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT event_id FROM events ORDER BY seq")
        .expect("query")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("ids")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(rows: &[(&str, &str, i64)]) -> Connection {
        let mut conn = Connection::open_in_memory().expect("memory log");
        super::super::schema::migrate(&mut conn).expect("migrate the log");
        for (id, event_type, received_at) in rows {
            conn.execute(
                "INSERT INTO events (event_id, event_type, received_at, signature, payload)
                 VALUES (?1, ?2, ?3, 'raw', '{}')",
                params![id, event_type, received_at],
            )
            .expect("insert");
        }
        conn
    }

    #[test]
    fn the_prune_removes_old_typing_indicators_of_both_versions_and_nothing_else() {
        let conn = log_with(&[
            ("t1", "typing_indicator.received", 10),
            ("m1", "message.received", 10),
            ("t2", "chat.typing_indicator.started", 20),
            ("t3", "chat.typing_indicator.stopped", 30),
            ("t4", "typing_indicator.removed", 40),
            ("c1", "chat.created", 5),
        ]);
        assert_eq!(prune_typing(&conn, 35).expect("prune"), 3, "t1, t2, t3");
        assert_eq!(
            event_ids(&conn),
            ["m1", "t4", "c1"],
            "messages and newer typing stay"
        );
        let timeline: Vec<String> = events_page_without_typing(&conn, None, 10)
            .expect("page")
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(timeline, ["c1", "m1"], "the timeline leaves typing out");
    }

    #[test]
    fn the_last_delivery_noted_is_the_latest_one() {
        let conn = log_with(&[]);
        assert_eq!(last_delivery_at(&conn).expect("read"), None, "none yet");
        note_delivery(&conn, 500).expect("note");
        assert_eq!(
            last_delivery_at(&conn).expect("read"),
            Some(500),
            "the noted time is read back"
        );
        note_delivery(&conn, 400).expect("an earlier time (the clock went back)");
        assert_eq!(
            last_delivery_at(&conn).expect("read"),
            Some(500),
            "the latest time stays"
        );
        note_delivery(&conn, 10_000).expect("note");
        assert_eq!(
            last_delivery_at(&conn).expect("read"),
            Some(10_000),
            "compared as numbers, not as text"
        );
    }

    #[test]
    fn the_prune_reads_the_typing_index_not_the_whole_log() {
        let conn = log_with(&[]);
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", prune_typing_sql()))
            .expect("plan")
            .query_map([0], |r| r.get(3))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(
            plan.iter().any(|step| step.contains("INDEX events_typing")),
            "the prune searches the partial index: {plan:?}"
        );
    }
}
