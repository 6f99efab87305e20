//! Calls: one row per call, merged from every report about it (a finished call's record, or
//! the stages of one in progress), and read with the chat of the person on the other end.

use rusqlite::{params, Connection, OptionalExtension};

use super::chats::read::direct_chat;
use super::fts::{self, Kind};
use super::names::Names;
use super::rules::{millis, original, Ctx};
use super::views::{Call, Recording};
use super::StoreError;
use crate::linq::time::format_millis;
use crate::linq::CallReport;

/// How far along a call a status is: a later stage never gives way to an earlier one.
const STAGE_RANK: &str =
    "CASE {} WHEN 'initiated' THEN 0 WHEN 'ringing' THEN 1 WHEN 'answered' THEN 2 ELSE 3 END";

/// Merges one report into the call's row: the furthest stage's status, the earliest start, the
/// latest end, and any party, duration or recording a report names. A stage report happens at
/// its own time: a call it starts began then, a call it ends ended then.
pub(crate) fn project(
    conn: &Connection,
    ctx: &Ctx<'_>,
    report: &CallReport,
) -> Result<(), StoreError> {
    let c = &report.call;
    let stage = report.stage;
    let status = c
        .status
        .clone()
        .or_else(|| stage.map(|s| s.status().to_string()));
    let start = c.start_time.as_ref();
    let end = c.end_time.as_ref();
    let start_ms = millis(start).or(stage.map(|_| ctx.at));
    let end_ms = millis(end).or(stage.filter(|s| s.is_final()).map(|_| ctx.at));
    let answered = stage == Some(crate::linq::CallStage::Answered);
    let answered_by = c
        .answered_by
        .clone()
        .or_else(|| answered.then(|| c.to.clone()).flatten());
    let rec = c.recording.as_ref();
    let new_rank = STAGE_RANK.replace("{}", "excluded.status");
    let old_rank = STAGE_RANK.replace("{}", "status");
    conn.prepare_cached(&format!(
        "INSERT INTO calls (id, from_number, to_number, direction, status, start_time, start_time_original,
                            end_time, end_time_original, duration, call_type, forwarded_from, answered_by,
                            voicemail, has_recording, recording_id, recording_url, recording_duration,
                            transcription, summary)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
         ON CONFLICT (id) DO UPDATE SET
           from_number = coalesce(from_number, excluded.from_number),
           to_number = coalesce(to_number, excluded.to_number),
           direction = coalesce(direction, excluded.direction),
           status = CASE WHEN ({new_rank}, excluded.status) > ({old_rank}, coalesce(status, ''))
                         THEN excluded.status ELSE status END,
           start_time_original = CASE WHEN excluded.start_time < coalesce(start_time, 9e18)
                                      THEN excluded.start_time_original ELSE start_time_original END,
           start_time = min(coalesce(start_time, excluded.start_time), coalesce(excluded.start_time, start_time)),
           end_time_original = CASE WHEN excluded.end_time > coalesce(end_time, -9e18)
                                    THEN excluded.end_time_original ELSE end_time_original END,
           end_time = max(coalesce(end_time, excluded.end_time), coalesce(excluded.end_time, end_time)),
           duration = max(coalesce(duration, excluded.duration), coalesce(excluded.duration, duration)),
           call_type = coalesce(call_type, excluded.call_type),
           forwarded_from = coalesce(forwarded_from, excluded.forwarded_from),
           answered_by = coalesce(answered_by, excluded.answered_by),
           voicemail = max(voicemail, excluded.voicemail),
           has_recording = max(has_recording, excluded.has_recording),
           recording_id = coalesce(recording_id, excluded.recording_id),
           recording_url = coalesce(recording_url, excluded.recording_url),
           recording_duration = coalesce(recording_duration, excluded.recording_duration),
           transcription = coalesce(transcription, excluded.transcription),
           summary = coalesce(summary, excluded.summary)"
    ))?
    .execute(params![
        c.id,
        c.from,
        c.to,
        c.direction,
        status,
        start_ms,
        original(start),
        end_ms,
        original(end),
        c.duration,
        c.call_type,
        c.forwarded_from,
        answered_by,
        c.voicemail.unwrap_or(false),
        c.has_recording.unwrap_or(rec.is_some()),
        rec.and_then(|r| r.id.as_deref()),
        rec.and_then(|r| r.url.as_deref()),
        rec.and_then(|r| r.duration),
        rec.and_then(|r| r.transcription.as_deref()),
        rec.and_then(|r| r.summary.as_deref()),
    ])?;
    reindex(conn, &c.id)
}

/// What a call is found by: its summary, transcript and caller.
struct IndexedRow {
    rowid: i64,
    body: String,
    at: i64,
}

fn reindex(conn: &Connection, id: &str) -> Result<(), StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT rowid, concat_ws(char(10), summary, transcription, from_number),
                    coalesce(start_time, 0)
             FROM calls WHERE id = ?1",
        )?
        .query_row(params![id], |r| {
            Ok(IndexedRow {
                rowid: r.get(0)?,
                body: r.get(1)?,
                at: r.get(2)?,
            })
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(());
    };
    fts::unindex(conn, Kind::Call, row.rowid)?;
    fts::index(
        conn,
        &fts::Entry {
            kind: Kind::Call,
            owner_rowid: row.rowid,
            body: &row.body,
            ref_id: id,
            chat_id: None,
            at: row.at,
        },
    )
}

const CALL_COLUMNS: &str =
    "id, from_number, to_number, direction, status, start_time, start_time_original,
     end_time, end_time_original, duration, call_type, forwarded_from, answered_by, voicemail,
     has_recording, recording_id, recording_url, recording_duration, transcription, summary";

/// A call row as stored.
struct CallRow {
    id: String,
    from: Option<String>,
    to: Option<String>,
    direction: Option<String>,
    status: Option<String>,
    start_time: Option<i64>,
    start_time_original: Option<String>,
    end_time: Option<i64>,
    end_time_original: Option<String>,
    duration: Option<i64>,
    call_type: Option<String>,
    forwarded_from: Option<String>,
    answered_by: Option<String>,
    voicemail: bool,
    has_recording: bool,
    recording_id: Option<String>,
    recording_url: Option<String>,
    recording_duration: Option<i64>,
    transcription: Option<String>,
    summary: Option<String>,
}

fn call_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRow> {
    Ok(CallRow {
        id: r.get(0)?,
        from: r.get(1)?,
        to: r.get(2)?,
        direction: r.get(3)?,
        status: r.get(4)?,
        start_time: r.get(5)?,
        start_time_original: r.get(6)?,
        end_time: r.get(7)?,
        end_time_original: r.get(8)?,
        duration: r.get(9)?,
        call_type: r.get(10)?,
        forwarded_from: r.get(11)?,
        answered_by: r.get(12)?,
        voicemail: r.get(13)?,
        has_recording: r.get(14)?,
        recording_id: r.get(15)?,
        recording_url: r.get(16)?,
        recording_duration: r.get(17)?,
        transcription: r.get(18)?,
        summary: r.get(19)?,
    })
}

fn view(conn: &Connection, names: &mut Names<'_>, row: CallRow) -> Result<Call, StoreError> {
    let inbound = row.direction.as_deref() != Some("outbound");
    let missed = inbound
        && is_missed(
            row.status.as_deref(),
            row.voicemail,
            row.answered_by.as_deref(),
            row.duration,
        );
    let other = if inbound { &row.from } else { &row.to };
    let chat_id = match other {
        Some(number) => direct_chat(conn, number)?,
        None => None,
    };
    let has_any = row.has_recording
        || row.recording_url.is_some()
        || row.transcription.is_some()
        || row.summary.is_some();
    let recording = has_any.then_some(Recording {
        id: row.recording_id,
        url: row.recording_url,
        duration: row.recording_duration,
        transcription: row.transcription,
        summary: row.summary,
    });
    let mut name = |n: &Option<String>| {
        n.as_deref()
            .map(|n| names.resolve(chat_id.as_deref(), n))
            .transpose()
    };
    Ok(Call {
        from_name: name(&row.from)?,
        to_name: name(&row.to)?,
        id: row.id,
        from: row.from,
        to: row.to,
        direction: row.direction,
        status: row.status,
        start_time: row.start_time.map(format_millis),
        start_time_original: row.start_time_original,
        end_time: row.end_time.map(format_millis),
        end_time_original: row.end_time_original,
        duration: row.duration,
        call_type: row.call_type,
        forwarded_from: row.forwarded_from,
        answered_by: row.answered_by,
        voicemail: row.voicemail,
        missed,
        chat_id,
        recording,
    })
}

/// An inbound call nobody picked up: voicemail, a "missed"-like status, or no answer and no time.
pub fn is_missed(
    status: Option<&str>,
    voicemail: bool,
    answered_by: Option<&str>,
    duration: Option<i64>,
) -> bool {
    const MISSED: [&str; 8] = [
        "missed",
        "no-answer",
        "no_answer",
        "busy",
        "failed",
        "canceled",
        "cancelled",
        "declined",
    ];
    voicemail
        || status.is_some_and(|s| MISSED.contains(&s.to_ascii_lowercase().as_str()))
        || (answered_by.is_none() && duration.unwrap_or(0) == 0)
}

/// Calls, newest first, older than the call `before`; and whether older ones remain.
pub fn calls(
    conn: &Connection,
    before: Option<&str>,
    limit: i64,
) -> Result<(Vec<Call>, bool), StoreError> {
    let cursor: Option<(i64, String)> = match before {
        Some(id) => conn
            .prepare_cached("SELECT coalesce(start_time, 0), id FROM calls WHERE id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        None => None,
    };
    // Without a cursor, past every id: the highest code point sorts after any text.
    let (at, id) = cursor.unwrap_or((i64::MAX, "\u{10FFFF}".to_string()));
    let rows: Vec<CallRow> = conn
        .prepare_cached(&format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE (coalesce(start_time, 0), id) < (?1, ?2)
             ORDER BY coalesce(start_time, 0) DESC, id DESC LIMIT ?3"
        ))?
        .query_map(params![at, id, limit + 1], call_row)?
        .collect::<Result<_, _>>()?;
    let has_more = rows.len() as i64 > limit;
    let mut names = Names::new(conn);
    let out = rows
        .into_iter()
        .take(limit.max(0) as usize)
        .map(|row| view(conn, &mut names, row))
        .collect::<Result<_, _>>()?;
    Ok((out, has_more))
}

/// One call, if it exists.
pub fn call(conn: &Connection, id: &str) -> Result<Option<Call>, StoreError> {
    let row = conn
        .prepare_cached(&format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = ?1"))?
        .query_row(params![id], call_row)
        .optional()?;
    let mut names = Names::new(conn);
    row.map(|row| view(conn, &mut names, row)).transpose()
}
