//! The catch-up pass's bookkeeping (migration 0007): one row per pass, one per chat with the
//! watermark of its last complete walk, and the writes of a page of fetched records.
//!
//! This is local state, not a projection: `rebuild` leaves it alone, and the records themselves
//! are log rows like any delivery. A page's records, its counts and (on a chat's last page) the
//! chat's new watermark commit in one transaction, so a pass killed at any point resumes from
//! the chats it finished, and a page half written never exists.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::log::{self, NewEvent};
use super::StoreError;

/// A pass as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassRow {
    pub id: i64,
    pub trigger: String,
    pub state: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub chats_total: Option<i64>,
    pub chats_done: i64,
    pub fetched: i64,
    pub new: i64,
    pub away: i64,
    pub away_chats: i64,
    pub error: Option<String>,
}

/// Starts a pass, or resumes the one a kill left `running` (its finished chats stay finished).
pub fn begin_pass(conn: &Connection, trigger: &str, now: i64) -> Result<PassRow, StoreError> {
    let running: Option<i64> = conn
        .query_row(
            "SELECT id FROM sync_passes WHERE state = 'running' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let id = match running {
        Some(id) => id,
        None => {
            conn.execute(
                "INSERT INTO sync_passes (trigger, state, started_at) VALUES (?1, 'running', ?2)",
                params![trigger, now],
            )?;
            conn.last_insert_rowid()
        }
    };
    pass(conn, id)?.ok_or_else(|| StoreError::Invalid("the pass just begun is gone".into()))
}

/// The newest pass, if any.
pub fn last_pass(conn: &Connection) -> Result<Option<PassRow>, StoreError> {
    let id: Option<i64> = conn
        .query_row("SELECT max(id) FROM sync_passes", [], |r| r.get(0))
        .optional()?
        .flatten();
    match id {
        Some(id) => pass(conn, id),
        None => Ok(None),
    }
}

fn pass(conn: &Connection, id: i64) -> Result<Option<PassRow>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, trigger, state, started_at, finished_at, chats_total, chats_done, fetched,
                    new, away, error,
                    (SELECT count(*) FROM sync_chats WHERE away_pass = p.id AND away > 0)
             FROM sync_passes p WHERE id = ?1",
            [id],
            |r| {
                Ok(PassRow {
                    id: r.get(0)?,
                    trigger: r.get(1)?,
                    state: r.get(2)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    chats_total: r.get(5)?,
                    chats_done: r.get(6)?,
                    fetched: r.get(7)?,
                    new: r.get(8)?,
                    away: r.get(9)?,
                    error: r.get(10)?,
                    away_chats: r.get(11)?,
                })
            },
        )
        .optional()?)
}

pub fn set_total(conn: &Connection, pass: i64, total: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sync_passes SET chats_total = ?2 WHERE id = ?1",
        params![pass, total],
    )?;
    Ok(())
}

/// Ends a pass: `done`, or `failed` with its sentence.
pub fn finish_pass(
    conn: &Connection,
    pass_id: i64,
    error: Option<&str>,
    now: i64,
) -> Result<PassRow, StoreError> {
    conn.execute(
        "UPDATE sync_passes SET state = ?2, finished_at = ?3, error = ?4 WHERE id = ?1",
        params![
            pass_id,
            if error.is_some() { "failed" } else { "done" },
            now,
            error
        ],
    )?;
    pass(conn, pass_id)?.ok_or_else(|| StoreError::Invalid("the pass is gone".into()))
}

/// What the pass knows of a chat from earlier walks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatMark {
    /// The newest message time a complete walk saw (ms).
    pub watermark: Option<i64>,
    /// The current pass finished this chat already (a resumed pass skips it).
    pub done: bool,
}

/// Every chat's mark, for pass `pass`.
pub fn chat_marks(
    conn: &Connection,
    pass: i64,
) -> Result<std::collections::HashMap<String, ChatMark>, StoreError> {
    let mut stmt = conn.prepare("SELECT chat_id, watermark, done_pass FROM sync_chats")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            ChatMark {
                watermark: r.get(1)?,
                done: r.get::<_, Option<i64>>(2)? == Some(pass),
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One fetched record about to be logged.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    pub event: NewEvent,
    pub message_id: String,
    /// The first listing of this message in this pass: only it may count the message as new.
    pub candidate: bool,
    /// An inbound message the record says is unread.
    pub inbound_unread: bool,
}

/// A page of one chat's records; `finish` on the chat's last page, with its new watermark.
#[derive(Debug, Clone)]
pub struct PageWrite {
    pub pass: i64,
    pub chat_id: String,
    pub line: Option<String>,
    pub records: Vec<RecordWrite>,
    pub finish: Option<Option<i64>>,
}

/// What a page changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageResult {
    /// Log rows added (a record unchanged since it was last logged adds none).
    pub stored: i64,
    /// Messages the store did not hold before.
    pub new: i64,
    pub away: i64,
}

/// Logs a page's records and counts them into the pass (and the chat's mark on its last page).
/// Runs inside the writer's transaction: all of it commits, or none.
pub fn append_page(conn: &Connection, page: &PageWrite) -> Result<PageResult, StoreError> {
    let mut result = PageResult::default();
    for r in &page.records {
        let held = !r.candidate || message_held(conn, &r.message_id)?;
        if log::append(conn, &r.event)?.is_some() {
            result.stored += 1;
        }
        if !held {
            result.new += 1;
            result.away += i64::from(r.inbound_unread);
        }
    }
    conn.prepare_cached(
        "UPDATE sync_passes SET fetched = fetched + ?2, new = new + ?3, away = away + ?4 WHERE id = ?1",
    )?
    .execute(params![
        page.pass,
        page.records.len() as i64,
        result.new,
        result.away
    ])?;
    conn.prepare_cached(
        "INSERT INTO sync_chats (chat_id, line, away_pass, away) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (chat_id) DO UPDATE SET line = coalesce(excluded.line, line),
           away = CASE WHEN away_pass = excluded.away_pass THEN away + excluded.away ELSE excluded.away END,
           away_pass = excluded.away_pass",
    )?
    .execute(params![page.chat_id, page.line, page.pass, result.away])?;
    if let Some(watermark) = page.finish {
        conn.prepare_cached(
            "UPDATE sync_chats SET watermark = max(coalesce(watermark, ?2), ?2), done_pass = ?3
             WHERE chat_id = ?1",
        )?
        .execute(params![page.chat_id, watermark, page.pass])?;
        conn.prepare_cached("UPDATE sync_passes SET chats_done = chats_done + 1 WHERE id = ?1")?
            .execute(params![page.pass])?;
    }
    Ok(result)
}

/// Whether the inbox holds the message already. The pass lets the projection reach the log's
/// end before each page, so a webhook delivered a moment earlier is already counted here.
fn message_held(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM messages WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The last pass as `GET /api/status` (`sync`), the stream (`event: sync`) and the Setup screen
/// show it: its state, times, counts and progress (chats done of total).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields = nullable))]
pub struct SyncStatus {
    /// `idle` (no pass yet), `running`, `done` or `failed`.
    pub state: String,
    /// What started it: `start`, `wake`, `listener` or `demand`.
    pub trigger: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Message records read from Linq.
    pub fetched: i64,
    /// Messages the inbox did not hold before.
    pub new: i64,
    pub chats_done: i64,
    pub chats_total: Option<i64>,
    /// Of the new messages, those that arrived unread while the app was not listening, and in
    /// how many chats: the "while you were away" summary.
    pub away: i64,
    pub away_chats: i64,
    /// Why it failed, one sentence.
    pub error: Option<String>,
}

impl SyncStatus {
    pub fn idle() -> SyncStatus {
        SyncStatus {
            state: "idle".into(),
            ..SyncStatus::default()
        }
    }
}

impl From<&PassRow> for SyncStatus {
    fn from(p: &PassRow) -> SyncStatus {
        SyncStatus {
            state: p.state.clone(),
            trigger: Some(p.trigger.clone()),
            started_at: Some(crate::linq::time::format_millis(p.started_at)),
            finished_at: p.finished_at.map(crate::linq::time::format_millis),
            fetched: p.fetched,
            new: p.new,
            chats_done: p.chats_done,
            chats_total: p.chats_total,
            away: p.away,
            away_chats: p.away_chats,
            error: p.error.clone(),
        }
    }
}

/// The pass row with this id, for progress after a page.
pub fn pass_row(conn: &Connection, id: i64) -> Result<Option<PassRow>, StoreError> {
    pass(conn, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linq::fetched::{message_envelope, MESSAGE_TYPE};
    use crate::linq::SignatureForm;
    use crate::store::Store;
    use serde_json::json;

    fn record(id: &str, read: bool) -> RecordWrite {
        let chat = json!({"id": "c1"});
        let message = json!({"id": id, "chat_id": "c1", "is_from_me": false,
                             "delivery_status": if read { "read" } else { "received" },
                             "sent_at": "2026-11-20T17:15:00Z",
                             "parts": [{"type": "text", "value": "hi", "reactions": []}]});
        let r = message_envelope("v3", &chat, None, &message).expect("has an id");
        RecordWrite {
            event: NewEvent {
                event_id: r.event_id,
                event_type: MESSAGE_TYPE.into(),
                api_version: Some("v3".into()),
                created_at: None,
                created_at_original: None,
                received_at: 0,
                signature: SignatureForm::Fetched,
                payload: r.body,
                webhook_id: None,
            },
            message_id: r.message_id,
            candidate: true,
            inbound_unread: r.inbound_unread,
        }
    }

    fn page(pass: i64, records: Vec<RecordWrite>, finish: Option<Option<i64>>) -> PageWrite {
        PageWrite {
            pass,
            chat_id: "c1".into(),
            line: None,
            records,
            finish,
        }
    }

    #[test]
    fn a_pass_left_running_is_resumed_and_a_record_logged_twice_adds_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = Store::open(dir.path())
            .and_then(|s| s.writer())
            .expect("a store");
        let pass = begin_pass(&conn, "start", 1).expect("begins");
        let first =
            append_page(&conn, &page(pass.id, vec![record("m1", false)], None)).expect("written");
        assert_eq!(
            (first.stored, first.new, first.away),
            (1, 1, 1),
            "a new unread inbound message: logged, new, away"
        );
        let resumed = begin_pass(&conn, "wake", 2).expect("begins");
        assert_eq!(
            resumed.id, pass.id,
            "a pass left running is resumed, not restarted"
        );
        let again = append_page(
            &conn,
            &page(pass.id, vec![record("m1", false)], Some(Some(9))),
        )
        .expect("written");
        assert_eq!(again.stored, 0, "the same record again is a duplicate row");
        let changed =
            append_page(&conn, &page(pass.id, vec![record("m1", true)], None)).expect("written");
        assert_eq!(
            changed.stored, 1,
            "a record that changed is a row of its own"
        );
        let marks = chat_marks(&conn, pass.id).expect("marks");
        assert_eq!(
            marks.get("c1").copied(),
            Some(ChatMark {
                watermark: Some(9),
                done: true
            }),
            "the chat's last page set its watermark and finished it for this pass"
        );
        let done = finish_pass(&conn, pass.id, None, 3).expect("finished");
        assert_eq!(
            (done.state.as_str(), done.fetched, done.chats_done),
            ("done", 3, 1),
            "the pass counts every record fetched and every chat finished"
        );
        let next = begin_pass(&conn, "demand", 4).expect("begins");
        assert_ne!(next.id, pass.id, "after a finished pass, a new one");
    }
}
