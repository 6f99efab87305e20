//! Projection: folds one event into the inbox tables.
//!
//! Every rule here is idempotent and order-tolerant, so the same events in any order, with any
//! duplicates, end in the same state: inserts ignore an existing row, "newest wins" compares the
//! vendor's own timestamps (ties broken by a stable key, never by arrival), and things that can
//! arrive before what they refer to (reactions, read receipts) live in their own tables and are
//! joined when read.

use rusqlite::{params, Connection, OptionalExtension};

use super::project_v3 as v3;
use super::StoreError;
use crate::linq::event::{self, Envelope, Event, Handle, Participant};

/// FTS rowid spaces: the owner's rowid times four, plus a kind tag.
pub(crate) const FTS_MESSAGE: i64 = 0;
pub(crate) const FTS_CALL: i64 = 1;
pub(crate) const FTS_CONTACT: i64 = 2;

/// The full-text table of messages.
pub(crate) const MESSAGE_INDEX: &str = "search";
/// The small full-text table of calls and contacts (migration 0004), so searching them never
/// walks the messages' index.
pub(crate) const OTHER_INDEX: &str = "search_other";

/// The full-text table a search rowid lives in.
pub(crate) fn fts_table(rowid: i64) -> &'static str {
    if rowid.rem_euclid(4) == FTS_MESSAGE {
        MESSAGE_INDEX
    } else {
        OTHER_INDEX
    }
}

/// Removes a row from the full-text index (before re-indexing it, or for good).
pub(super) fn unindex(conn: &Connection, rowid: i64) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "DELETE FROM {} WHERE rowid = ?1",
        fts_table(rowid)
    ))?
    .execute(params![rowid])?;
    Ok(())
}

/// Context every rule may need: when the event happened by the vendor's clock, else when we got it.
pub(super) struct Ctx<'a> {
    pub(super) event_id: &'a str,
    pub(super) at: i64,
}

/// Applies `env` to the projections.
pub fn apply(conn: &Connection, env: &Envelope, received_at: i64) -> Result<(), StoreError> {
    let ctx = Ctx {
        event_id: &env.event_id,
        at: env
            .created_at
            .as_ref()
            .map(|t| t.0.millis())
            .unwrap_or(received_at),
    };
    match &env.event {
        Event::MessageSent(m) => message(conn, &ctx, m, true),
        Event::MessageReceived(m) => message(conn, &ctx, m, false),
        Event::MessageRead(r) => read_receipt(conn, r),
        Event::CallCompleted(c) => call(conn, c),
        Event::ReactionSent(r) | Event::ReactionReceived(r) if r.v3.is_some() => {
            v3::reaction_added(conn, &ctx, r)
        }
        Event::ReactionSent(r) => reaction(conn, &ctx, r, true),
        Event::ReactionReceived(r) => reaction(conn, &ctx, r, false),
        Event::ContactCreated(c) | Event::ContactUpdated(c) => contact(conn, &ctx, c),
        Event::ContactDeleted(c) => contact_deleted(conn, &ctx, c.id.as_str()),
        Event::ParticipantAdded(p) => membership(conn, &ctx, p, "added"),
        Event::ParticipantRemoved(p) => membership(conn, &ctx, p, "removed"),
        Event::ChatCreated(c) => chat_created(conn, &ctx, c),
        Event::MessageDelivered(m) => {
            message(conn, &ctx, m, false)?;
            v3::message_delivered(conn, &ctx, m)
        }
        Event::MessageFailed(f) => v3::failed(conn, &ctx, f),
        Event::MessageEdited(e) => v3::edited(conn, &ctx, e),
        Event::ReactionRemoved(r) => v3::reaction_removed(conn, &ctx, r),
        Event::GroupChanged(g) => v3::group_changed(conn, &ctx, g),
        Event::NumberStatus(n) => v3::number_status(conn, &ctx, n),
        Event::LocationSharing(l) => v3::location(conn, &ctx, l),
        Event::CallStage(c) => v3::call_stage(conn, &ctx, c),
        Event::TypingStarted(_) | Event::TypingStopped(_) | Event::Unknown => Ok(()),
    }
}

pub(super) fn ensure_chat(conn: &Connection, chat_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO chats (chat_id) VALUES (?1) ON CONFLICT (chat_id) DO NOTHING",
    )?
    .execute(params![chat_id])?;
    Ok(())
}

fn upsert_handles(
    conn: &Connection,
    chat_id: &str,
    handles: &[Handle],
    at: i64,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO chat_handles (chat_id, identifier, display_name, is_me, seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (chat_id, identifier) DO UPDATE SET
           is_me = max(is_me, excluded.is_me),
           display_name = CASE WHEN (excluded.seen_at, coalesce(excluded.display_name, ''))
                                    > (seen_at, coalesce(display_name, ''))
                               THEN coalesce(excluded.display_name, display_name) ELSE display_name END,
           seen_at = max(seen_at, excluded.seen_at)",
    )?;
    for h in handles {
        let identifier = h.identifier.trim();
        if identifier.is_empty() {
            continue;
        }
        let name = h.display_name.as_deref().filter(|n| !n.trim().is_empty());
        stmt.execute(params![
            chat_id,
            identifier,
            name,
            h.is_me.unwrap_or(false),
            at
        ])?;
    }
    if handles.len() > 2 {
        conn.prepare_cached("UPDATE chats SET is_group = 1 WHERE chat_id = ?1")?
            .execute(params![chat_id])?;
    }
    Ok(())
}

pub(super) fn bump_activity(conn: &Connection, chat_id: &str, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE chats SET last_activity_at = max(coalesce(last_activity_at, ?2), ?2) WHERE chat_id = ?1",
    )?
    .execute(params![chat_id, at])?;
    Ok(())
}

fn message(
    conn: &Connection,
    ctx: &Ctx<'_>,
    m: &event::Message,
    sent_event: bool,
) -> Result<(), StoreError> {
    let chat_id = m.chat_id.as_str();
    let handles = m.chat_handles.as_deref().unwrap_or_default();
    let sent_at = m.sent_at.as_ref().map(|t| t.0.millis()).unwrap_or(ctx.at);
    ensure_chat(conn, chat_id)?;
    upsert_handles(conn, chat_id, handles, ctx.at)?;
    let from_me = m
        .from_phone
        .as_deref()
        .map(|from| {
            handles
                .iter()
                .any(|h| h.is_me == Some(true) && h.identifier == from)
        })
        .unwrap_or(false);
    let extra = m.v3.as_deref();
    let direction = match extra.and_then(|x| x.direction.as_deref()) {
        Some(said) => said,
        None if sent_event || from_me => "outbound",
        None => "inbound",
    };
    let inserted = conn
        .prepare_cached(
            "INSERT INTO messages (id, chat_id, text, sent_at, sent_at_original, direction, from_phone, service, is_read)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
                     ?9 OR EXISTS (SELECT 1 FROM read_receipts WHERE message_id = ?1))
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            m.id.as_str(),
            chat_id,
            m.text,
            sent_at,
            m.sent_at.as_ref().map(|t| t.0.original.as_str()),
            direction,
            m.from_phone,
            m.service,
            m.is_read.unwrap_or(false),
        ])?;
    if inserted == 1 {
        let rowid = conn.last_insert_rowid();
        let attachments = m.attachments.as_deref().unwrap_or_default();
        let mut stmt = conn.prepare_cached(
            "INSERT INTO attachments (message_id, position, id, url, filename, mime_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?;
        let mut body = m.text.clone().unwrap_or_default();
        for (i, a) in attachments.iter().enumerate() {
            stmt.execute(params![
                m.id.as_str(),
                i as i64,
                a.id.as_ref().map(|x| x.as_str()),
                a.url,
                a.filename,
                a.mime_type
            ])?;
            if let Some(name) = &a.filename {
                body.push(' ');
                body.push_str(name);
            }
        }
        index(
            conn,
            rowid * 4 + FTS_MESSAGE,
            &body,
            "message",
            m.id.as_str(),
            Some(chat_id),
            sent_at,
        )?;
    } else if m.is_read == Some(true) {
        conn.prepare_cached("UPDATE messages SET is_read = 1 WHERE id = ?1")?
            .execute(params![m.id.as_str()])?;
    }
    if let Some(x) = extra {
        v3::message_extra(conn, ctx, m, x, inserted == 1)?;
    }
    conn.prepare_cached(
        "UPDATE chats SET last_message_id = ?2, last_message_at = ?3,
                          last_activity_at = max(coalesce(last_activity_at, ?3), ?3)
         WHERE chat_id = ?1
           AND (last_message_at IS NULL OR (last_message_at, last_message_id) < (?3, ?2))",
    )?
    .execute(params![chat_id, m.id.as_str(), sent_at])?;
    refresh_unread(conn, chat_id)
}

/// Recomputes a chat's unread count: inbound messages not read by Linq's receipts, newer than
/// the latest inbound message known read (Linq's or the rep's local mark).
pub fn refresh_unread(conn: &Connection, chat_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE chats SET unread_count = (
            SELECT count(*) FROM messages m
            WHERE m.chat_id = ?1 AND m.direction = 'inbound' AND m.is_read = 0
              AND m.sent_at > max(
                coalesce((SELECT read_through FROM local_reads WHERE chat_id = ?1), -9e18),
                coalesce((SELECT max(sent_at) FROM messages
                          WHERE chat_id = ?1 AND direction = 'inbound' AND is_read = 1), -9e18)))
         WHERE chat_id = ?1",
    )?
    .execute(params![chat_id])?;
    Ok(())
}

fn read_receipt(conn: &Connection, r: &event::MessageRead) -> Result<(), StoreError> {
    let read_at = r.read_at.as_ref();
    conn.prepare_cached(
        "INSERT INTO read_receipts (message_id, chat_id, read_at, read_at_original) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (message_id) DO UPDATE SET
           chat_id = coalesce(chat_id, excluded.chat_id),
           read_at_original = CASE WHEN read_at IS NULL OR excluded.read_at < read_at
                                   THEN excluded.read_at_original ELSE read_at_original END,
           read_at = CASE WHEN read_at IS NULL OR excluded.read_at < read_at
                          THEN excluded.read_at ELSE read_at END",
    )?
    .execute(params![
        r.id.as_str(),
        r.chat_id.as_ref().map(|c| c.as_str()),
        read_at.map(|t| t.0.millis()),
        read_at.map(|t| t.0.original.as_str()),
    ])?;
    let chat_id: Option<String> = conn
        .prepare_cached("UPDATE messages SET is_read = 1 WHERE id = ?1 RETURNING chat_id")?
        .query_row(params![r.id.as_str()], |row| row.get(0))
        .optional()?;
    match chat_id {
        Some(chat_id) => refresh_unread(conn, &chat_id),
        None => Ok(()),
    }
}

fn reaction(
    conn: &Connection,
    ctx: &Ctx<'_>,
    r: &event::Reaction,
    sent_event: bool,
) -> Result<(), StoreError> {
    let Some(message_id) = r.message_id() else {
        return Ok(());
    };
    let handles = r.chat_handles.as_deref().unwrap_or_default();
    if let Some(chat_id) = &r.chat_id {
        ensure_chat(conn, chat_id.as_str())?;
        upsert_handles(conn, chat_id.as_str(), handles, ctx.at)?;
    }
    let is_from_me = r.is_from_me.unwrap_or(sent_event);
    let from = r
        .chat_handle
        .as_ref()
        .and_then(|h| h.identifier.clone())
        .or_else(|| {
            handles
                .iter()
                .find(|h| h.is_me.unwrap_or(false) == is_from_me)
                .map(|h| h.identifier.clone())
        });
    let sent_at = r.sent_at.as_ref().or(r.created_at.as_ref());
    conn.prepare_cached(
        "INSERT INTO reactions (id, message_id, chat_id, reaction, from_identifier, is_from_me, sent_at, sent_at_original, message_text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        r.id.as_str(),
        message_id.as_str(),
        r.chat_id.as_ref().map(|c| c.as_str()),
        r.reaction,
        from,
        is_from_me,
        sent_at.map(|t| t.0.millis()).unwrap_or(ctx.at),
        sent_at.map(|t| t.0.original.as_str()),
        r.associated_message.as_ref().and_then(|m| m.text.as_deref()),
    ])?;
    Ok(())
}

fn call(conn: &Connection, c: &event::Call) -> Result<(), StoreError> {
    let rec = c.recording_data.as_ref();
    let start = c.start_time.as_ref().map(|t| &t.0);
    let end = c.end_time.as_ref().map(|t| &t.0);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO calls (id, from_number, to_number, direction, status, start_time, start_time_original,
                                end_time, end_time_original, duration, call_type, forwarded_from, answered_by,
                                voicemail, has_recording, recording_id, recording_url, recording_duration,
                                transcription, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            c.id.as_str(),
            c.from,
            c.to,
            c.direction,
            c.status,
            start.map(|t| t.millis()),
            start.map(|t| t.original.as_str()),
            end.map(|t| t.millis()),
            end.map(|t| t.original.as_str()),
            c.duration.map(|d| d.0),
            c.call_type,
            c.forwarded_from,
            c.answered_by,
            c.voicemail.unwrap_or(false),
            c.has_recording.unwrap_or(rec.is_some()),
            rec.and_then(|r| r.id.as_ref()).map(|i| i.as_str()),
            rec.and_then(|r| r.url.as_deref()),
            rec.and_then(|r| r.duration).map(|d| d.0),
            rec.and_then(|r| r.transcription.as_deref()),
            rec.and_then(|r| r.summary.as_deref()),
        ])?;
    if inserted == 1 {
        let rowid = conn.last_insert_rowid();
        let body = [
            rec.and_then(|r| r.summary.as_deref()),
            rec.and_then(|r| r.transcription.as_deref()),
            c.from.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
        let at = start.map(|t| t.millis()).unwrap_or(0);
        index(
            conn,
            rowid * 4 + FTS_CALL,
            &body,
            "call",
            c.id.as_str(),
            None,
            at,
        )?;
    }
    Ok(())
}

fn contact(conn: &Connection, ctx: &Ctx<'_>, c: &event::Contact) -> Result<(), StoreError> {
    let version = c
        .updated_at
        .as_ref()
        .or(c.created_at.as_ref())
        .map(|t| t.0.millis())
        .unwrap_or(ctx.at);
    let owner = c.contact_owner.as_ref().map(|o| {
        serde_json::json!({
            "id": o.id.as_ref().map(|i| i.as_str()),
            "email": o.email,
            "first_name": o.first_name,
            "last_name": o.last_name,
            "name": o.name,
        })
        .to_string()
    });
    let changed = conn
        .prepare_cached(
            "INSERT INTO contacts (id, first_name, last_name, full_name, email, phone_number, company, title,
                                   location, image_url, created_at, created_at_original, updated_at,
                                   updated_at_original, owner, version, version_key, deleted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0)
             ON CONFLICT (id) DO UPDATE SET
               first_name = excluded.first_name, last_name = excluded.last_name, full_name = excluded.full_name,
               email = excluded.email, phone_number = excluded.phone_number, company = excluded.company,
               title = excluded.title, location = excluded.location, image_url = excluded.image_url,
               created_at = excluded.created_at,
               created_at_original = excluded.created_at_original,
               updated_at = excluded.updated_at, updated_at_original = excluded.updated_at_original,
               owner = excluded.owner, version = excluded.version, version_key = excluded.version_key, deleted = 0
             WHERE (excluded.version, 0, excluded.version_key) > (contacts.version, contacts.deleted, contacts.version_key)",
        )?
        .execute(params![
            c.id.as_str(),
            c.first_name,
            c.last_name,
            c.full_name,
            c.email,
            c.phone_number,
            c.company,
            c.title,
            c.location,
            c.image_url,
            c.created_at.as_ref().map(|t| t.0.millis()),
            c.created_at.as_ref().map(|t| t.0.original.as_str()),
            c.updated_at.as_ref().map(|t| t.0.millis()),
            c.updated_at.as_ref().map(|t| t.0.original.as_str()),
            owner,
            version,
            ctx.event_id,
        ])?;
    if changed == 1 {
        reindex_contact(conn, c.id.as_str())?;
    }
    Ok(())
}

fn contact_deleted(conn: &Connection, ctx: &Ctx<'_>, id: &str) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO contacts (id, version, version_key, deleted) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, version_key = excluded.version_key, deleted = 1,
               first_name = NULL, last_name = NULL, full_name = NULL, email = NULL, phone_number = NULL,
               company = NULL, title = NULL, location = NULL, image_url = NULL, created_at = NULL,
               created_at_original = NULL, updated_at = NULL, updated_at_original = NULL, owner = NULL
             WHERE (excluded.version, 1, excluded.version_key) > (contacts.version, contacts.deleted, contacts.version_key)",
        )?
        .execute(params![id, ctx.at, ctx.event_id])?;
    if changed == 1 {
        reindex_contact(conn, id)?;
    }
    Ok(())
}

fn reindex_contact(conn: &Connection, id: &str) -> Result<(), StoreError> {
    let row: Option<(i64, bool, String, i64)> = conn
        .prepare_cached(
            "SELECT rowid, deleted,
                    concat_ws(' ', coalesce(full_name, trim(concat_ws(' ', first_name, last_name))),
                              company, title, email, phone_number, location),
                    coalesce(updated_at, 0)
             FROM contacts WHERE id = ?1",
        )?
        .query_row(params![id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((rowid, deleted, body, at)) = row else {
        return Ok(());
    };
    let fts_rowid = rowid * 4 + FTS_CONTACT;
    unindex(conn, fts_rowid)?;
    if !deleted {
        index(conn, fts_rowid, &body, "contact", id, None, at)?;
    }
    Ok(())
}

fn membership(
    conn: &Connection,
    ctx: &Ctx<'_>,
    p: &Participant,
    action: &str,
) -> Result<(), StoreError> {
    let Some(chat_id) = p.chat_id.as_deref() else {
        return Ok(());
    };
    if p.handles.is_empty() {
        return Ok(());
    }
    let at = p.at.as_ref().map(|t| t.0.millis()).unwrap_or(ctx.at);
    ensure_chat(conn, chat_id)?;
    conn.prepare_cached("UPDATE chats SET is_group = 1 WHERE chat_id = ?1")?
        .execute(params![chat_id])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO memberships (event_id, chat_id, identifier, display_name, action, at, at_original)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id) DO NOTHING",
    )?;
    for (i, h) in p.handles.iter().enumerate() {
        let key = if i == 0 {
            ctx.event_id.to_string()
        } else {
            format!("{}#{i}", ctx.event_id)
        };
        stmt.execute(params![
            key,
            chat_id,
            h.identifier,
            h.display_name,
            action,
            at,
            p.at.as_ref().map(|t| t.0.original.as_str()),
        ])?;
    }
    bump_activity(conn, chat_id, at)
}

fn chat_created(
    conn: &Connection,
    ctx: &Ctx<'_>,
    c: &event::ChatCreated,
) -> Result<(), StoreError> {
    let Some(chat_id) = c.chat_id.as_deref() else {
        return Ok(());
    };
    ensure_chat(conn, chat_id)?;
    upsert_handles(conn, chat_id, &c.handles, ctx.at)?;
    conn.prepare_cached(
        // A v3 rename (name_changed_at set) is always newer than the chat's creation.
        "UPDATE chats SET display_name = CASE WHEN name_changed_at IS NULL THEN coalesce(display_name, ?2)
                                         ELSE display_name END,
                          is_group = max(is_group, ?3) WHERE chat_id = ?1",
    )?
    .execute(params![chat_id, c.display_name, c.is_group.unwrap_or(false)])?;
    bump_activity(conn, chat_id, ctx.at)
}

pub(super) fn index(
    conn: &Connection,
    rowid: i64,
    body: &str,
    kind: &str,
    ref_id: &str,
    chat_id: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    if body.trim().is_empty() {
        return Ok(());
    }
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {} (rowid, body, kind, ref_id, chat_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        fts_table(rowid)
    ))?
    .execute(params![rowid, body, kind, ref_id, chat_id, at])?;
    Ok(())
}

/// Empties every projection (not the log, not local state) so `rebuild` can replay the log.
pub fn clear(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM chats; DELETE FROM chat_handles; DELETE FROM messages; DELETE FROM attachments;
         DELETE FROM reactions; DELETE FROM read_receipts; DELETE FROM calls; DELETE FROM contacts;
         DELETE FROM memberships; DELETE FROM search; DELETE FROM search_other;",
    )?;
    v3::clear(conn)
}
