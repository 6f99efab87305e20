//! The chat list: chats newest first, a page summarized in a fixed handful of set-based
//! queries (handles, memberships, contact names, last messages with their attachments and
//! reactions) instead of about ten per chat: the UI loads the thousand newest chats at once.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::chats::read::{
    self, chat_row, preview, ChatRow, HandleRow, MembershipChange, CHAT_COLUMNS,
};
use super::json_list;
use super::messages::read::{
    self as messages, MessageRow, ATTACHMENT_COLUMNS, ATTACHMENT_FROM, MESSAGE_COLUMNS,
    MESSAGE_FROM,
};
use super::names::Names;
use super::reactions::{self, ReactionRow, LIVE, REACTION_COLUMNS};
use super::views::{ChatSummary, Message};
use super::StoreError;

/// Chats, newest activity first, after the chat `before` (paging), at most `limit`.
pub fn chats(
    conn: &Connection,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<ChatSummary>, StoreError> {
    let cursor: Option<(i64, String)> = match before {
        Some(id) => conn
            .prepare_cached(
                "SELECT coalesce(last_activity_at, 0), chat_id FROM chats WHERE chat_id = ?1",
            )?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
        None => None,
    };
    let (at, id) = cursor.unwrap_or((i64::MAX, String::new()));
    let bounded = before.is_some() as i64;
    // The order is (activity or 0, chat id), newest first. Chats with activity come first and
    // are read along the activity index, stopping at the limit (sorting all 10,000 for a
    // coalesced key was the page's largest cost); only a page past them reads the rest.
    let mut rows = chat_page(conn, ACTIVE_CHATS, (bounded, at, &id), limit)?;
    let short = limit - rows.len() as i64;
    if short > 0 {
        rows.extend(chat_page(conn, IDLE_CHATS, (bounded, at, &id), short)?);
    }
    summaries(conn, rows, true)
}

const ACTIVE_CHATS: &str = "last_activity_at > 0
     AND (?1 = 0 OR (last_activity_at, chat_id) < (?2, ?3))
     ORDER BY last_activity_at DESC, chat_id DESC";

const IDLE_CHATS: &str = "coalesce(last_activity_at, 0) <= 0
     AND (?1 = 0 OR (coalesce(last_activity_at, 0), chat_id) < (?2, ?3))
     ORDER BY coalesce(last_activity_at, 0) DESC, chat_id DESC";

/// Chat rows matching `filter` (a condition and order on `?1` bounded, `?2` at, `?3` id).
fn chat_page(
    conn: &Connection,
    filter: &str,
    (bounded, at, id): (i64, i64, &str),
    limit: i64,
) -> Result<Vec<ChatRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CHAT_COLUMNS} FROM chats WHERE {filter} LIMIT ?4"
    ))?;
    let rows = stmt
        .query_map(params![bounded, at, id, limit], chat_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One chat's summary, if the chat exists.
pub fn chat(conn: &Connection, chat_id: &str) -> Result<Option<ChatSummary>, StoreError> {
    chat_knowing(conn, chat_id, None)
}

/// [`chat`], given a message view already built (a live event's own message): when it is the
/// chat's last message it is used rather than read and assembled a second time.
pub fn chat_knowing(
    conn: &Connection,
    chat_id: &str,
    known: Option<&Message>,
) -> Result<Option<ChatSummary>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {CHAT_COLUMNS} FROM chats WHERE chat_id = ?1"
        ))?
        .query_row(params![chat_id], chat_row)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let known = known.filter(|m| row.last_message_id.as_deref() == Some(m.id.as_str()));
    let mut summary = summaries(conn, vec![row], known.is_none())?.pop();
    if let (Some(summary), Some(message)) = (summary.as_mut(), known) {
        summary.last_message = Some(preview(message.clone()));
    }
    Ok(summary)
}

/// The titles of these chats (those that exist), as their summaries show them.
pub fn chat_titles<'a>(
    conn: &Connection,
    chat_ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>, StoreError> {
    let rows: Vec<ChatRow> = conn
        .prepare_cached(&format!(
            "SELECT {CHAT_COLUMNS} FROM chats WHERE chat_id IN (SELECT value FROM json_each(?1))"
        ))?
        .query_map(params![json_list(chat_ids)], chat_row)?
        .collect::<Result<_, _>>()?;
    Ok(summaries(conn, rows, false)?
        .into_iter()
        .map(|s| (s.chat_id, s.title))
        .collect())
}

/// Summaries of `rows`, in their order; without `last_message` when `with_last` is false.
fn summaries(
    conn: &Connection,
    rows: Vec<ChatRow>,
    with_last: bool,
) -> Result<Vec<ChatSummary>, StoreError> {
    let mut names = Names::new(conn);
    let chat_ids = json_list(rows.iter().map(|r| r.chat_id.as_str()));
    let mut handles = grouped(conn, HANDLES, &chat_ids, |r| {
        Ok(HandleRow {
            identifier: r.get(1)?,
            display_name: r.get(2)?,
            is_me: r.get(3)?,
        })
    })?;
    // `ORDER BY is_me, identifier`: a stable sort of rows already in identifier order.
    handles
        .values_mut()
        .for_each(|h| h.sort_by_key(|h| h.is_me));
    let groups = json_list(
        rows.iter()
            .filter(|r| r.is_group)
            .map(|r| r.chat_id.as_str()),
    );
    let mut changes = grouped(conn, MEMBERSHIPS, &groups, |r| {
        Ok(MembershipChange {
            identifier: r.get(1)?,
            action: r.get(2)?,
            display_name: r.get(3)?,
        })
    })?;
    for row in &rows {
        let own = handles.get(&row.chat_id).into_iter().flatten();
        names.prime_chat(
            &row.chat_id,
            own.map(|h| (h.identifier.as_str(), h.display_name.as_deref())),
        );
    }
    names.prime_contacts(
        handles
            .values()
            .flatten()
            .map(|h| h.identifier.as_str())
            .chain(changes.values().flatten().map(|c| c.identifier.as_str())),
    )?;
    let mut last = if with_last {
        let ids = rows.iter().filter_map(|r| r.last_message_id.as_deref());
        last_messages(conn, &mut names, ids)?
    } else {
        HashMap::new()
    };
    rows.into_iter()
        .map(|row| {
            let chat_id = row.chat_id.as_str();
            let handles = read::handle_views(
                &mut names,
                chat_id,
                handles.remove(chat_id).unwrap_or_default(),
            )?;
            let members = if row.is_group {
                let changes = changes.remove(chat_id).unwrap_or_default();
                read::members(&mut names, chat_id, &handles, changes)?
            } else {
                Vec::new()
            };
            let last_message = match (&row.last_message_id, with_last) {
                (Some(id), true) => match last.remove(id) {
                    Some(m) => Some(m),
                    // Two chats naming one message (not seen in practice): read it again.
                    None => messages::message(conn, &mut names, id)?,
                },
                _ => None,
            };
            Ok(read::assemble_summary(row, handles, members, last_message))
        })
        .collect()
}

/// Every handle of these chats, per chat in identifier (primary key) order. A join from the
/// id list reads half as long as `IN (…) ORDER BY`, which builds and sorts temporary trees.
const HANDLES: &str = "SELECT h.chat_id, h.identifier, h.display_name, h.is_me
     FROM json_each(?1) j JOIN chat_handles h ON h.chat_id = j.value";

/// The membership changes of these chats, per chat oldest first. Like every query here it
/// joins from the id list: `IN (SELECT … json_each)` first builds a temporary tree of all the
/// ids, which cost more than the few rows these queries find (about 0.6–0.9 ms of 1,000 ids).
const MEMBERSHIPS: &str = "SELECT m.chat_id, m.identifier, m.action, m.display_name
     FROM json_each(?1) j JOIN memberships m ON m.chat_id = j.value
     ORDER BY j.key, m.at, m.event_id";

/// These messages, hydrated, by id.
fn last_messages<'a>(
    conn: &Connection,
    names: &mut Names<'_>,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, Message>, StoreError> {
    let ids = json_list(ids);
    let rows: Vec<MessageRow> = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM json_each(?1) j, {MESSAGE_FROM} WHERE m.id = j.value"
        ))?
        .query_map(params![ids], messages::message_row)?
        .collect::<Result<_, _>>()?;
    let mut attachments = grouped(
        conn,
        &format!(
            "SELECT a.message_id, {ATTACHMENT_COLUMNS}
             FROM json_each(?1) j, {ATTACHMENT_FROM} WHERE a.message_id = j.value
             ORDER BY j.key, a.position"
        ),
        &ids,
        |r| messages::attachment(r, 1),
    )?;
    let mut reactions: HashMap<String, Vec<ReactionRow>> = grouped(
        conn,
        &format!(
            "SELECT r.message_id, {REACTION_COLUMNS}
             FROM json_each(?1) j JOIN reactions r ON r.message_id = j.value
             WHERE {LIVE} ORDER BY j.key, r.sent_at, r.id"
        ),
        &ids,
        |r| reactions::row(r, 1),
    )?;
    names.prime_contacts(
        rows.iter().filter_map(|m| m.from_phone.as_deref()).chain(
            reactions
                .values()
                .flatten()
                .filter_map(|r| r.from.as_deref()),
        ),
    )?;
    rows.into_iter()
        .map(|row| {
            let id = row.id.clone();
            let attachments = attachments.remove(&id).unwrap_or_default();
            let reactions = reactions.remove(&id).unwrap_or_default();
            let message = messages::assemble(conn, names, row, attachments, reactions)?;
            Ok((id, message))
        })
        .collect()
}

/// Rows keyed by their first column (a chat or message id), in the order the query gives them.
fn grouped<T>(
    conn: &Connection,
    sql: &str,
    ids: &str,
    read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<HashMap<String, Vec<T>>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![ids])?;
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(read(r)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{generate, Scenario};
    use crate::store::tests::convergence::{ingest, memory_db};

    #[test]
    fn a_page_of_summaries_is_each_chat_summarized_alone() {
        let conn = memory_db();
        for d in generate(Scenario::Demo, 400, 11, chrono::Utc::now()) {
            ingest(&conn, &d.body);
        }
        let page = chats(&conn, None, 1000).expect("chats");
        assert!(page.len() > 3, "the demo has several chats");
        assert!(
            page.iter().any(|c| c.is_group && !c.members.is_empty()),
            "the demo includes a group chat with its members"
        );
        assert!(
            page.iter().any(|c| c.last_message.is_some()),
            "the demo includes chats with a last message"
        );
        for summary in &page {
            let alone = chat(&conn, &summary.chat_id)
                .expect("chat")
                .expect("the chat exists");
            assert_eq!(
                serde_json::to_value(summary).expect("json"),
                serde_json::to_value(&alone).expect("json"),
                "{} reads the same in a page as alone",
                summary.chat_id
            );
        }
    }

    #[test]
    fn a_handle_unnamed_in_one_chat_takes_its_newest_name_from_another() {
        let conn = memory_db();
        conn.execute_batch(
            "INSERT INTO chats (chat_id, last_activity_at) VALUES ('a', 2), ('b', 1), ('c', 3);
             INSERT INTO chat_handles (chat_id, identifier, display_name, is_me, seen_at) VALUES
               ('a', '+1555', 'Ann from A', 0, 5), ('b', '+1555', NULL, 0, 9),
               ('c', '+1555', '  ', 0, 1), ('c', '+1666', 'Bo', 0, 1);
             INSERT INTO contacts (id, phone_number, full_name, version, version_key, deleted) VALUES
               ('k1', '+1666', 'Bo Contact', 1, 'e1', 0);",
        )
        .expect("seed");
        let page = chats(&conn, None, 10).expect("chats");
        let titles: Vec<(&str, &str)> = page
            .iter()
            .map(|c| (c.chat_id.as_str(), c.title.as_str()))
            .collect();
        assert_eq!(
            titles,
            [
                ("c", "Ann from A, Bo Contact"),
                ("a", "Ann from A"),
                ("b", "Ann from A")
            ],
            "own name, else the newest name elsewhere; a contact's name beats both"
        );
    }

    #[test]
    fn a_message_that_ends_two_chats_keeps_its_attachments_and_reactions_once_in_order() {
        let conn = memory_db();
        conn.execute_batch(
            "INSERT INTO chats (chat_id, last_activity_at, last_message_id) VALUES
               ('a', 2, 'm1'), ('b', 1, 'm1');
             INSERT INTO messages (id, chat_id, text, sent_at, direction) VALUES
               ('m1', 'a', 'see both', 5, 'inbound');
             INSERT INTO attachments (message_id, position, id) VALUES
               ('m1', 1, 'second'), ('m1', 0, 'first');
             INSERT INTO reactions (id, message_id, reaction, is_from_me, sent_at) VALUES
               ('r-late', 'm1', 'like', 0, 20), ('r-early', 'm1', 'love', 1, 10);",
        )
        .expect("seed");
        let page = chats(&conn, None, 10).expect("chats");
        assert_eq!(
            page.len(),
            2,
            "two chats ending on the same message are both listed"
        );
        for summary in &page {
            let last = serde_json::to_value(&summary.last_message).expect("json");
            let ids = |list: &str| -> Vec<String> {
                last[list]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| v["id"].as_str().unwrap_or_default().to_string())
                    .collect()
            };
            assert_eq!(
                ids("attachments"),
                ["first", "second"],
                "{}",
                summary.chat_id
            );
            assert_eq!(
                ids("reactions"),
                ["r-early", "r-late"],
                "{}",
                summary.chat_id
            );
        }
    }

    #[test]
    fn chats_without_activity_come_last_and_page_like_the_rest() {
        let conn = memory_db();
        conn.execute_batch(
            "INSERT INTO chats (chat_id, last_activity_at) VALUES
               ('a', 2), ('b', 1), ('c', 3), ('d', NULL), ('e', 0), ('f', 2);",
        )
        .expect("seed");
        let ids = |before: Option<&str>, limit: i64| -> Vec<String> {
            chats(&conn, before, limit)
                .expect("chats")
                .into_iter()
                .map(|c| c.chat_id)
                .collect()
        };
        assert_eq!(
            ids(None, 10),
            ["c", "f", "a", "b", "e", "d"],
            "ties: id descending"
        );
        assert_eq!(
            ids(None, 2),
            ["c", "f"],
            "the first page is the two most recently active chats"
        );
        assert_eq!(ids(Some("a"), 2), ["b", "e"], "a page across both kinds");
        assert_eq!(
            ids(Some("e"), 5),
            ["d"],
            "a chat with no activity comes after one at time zero"
        );
    }

    /// Regression: a chat whose last message was 900 KB of text (or hundreds of attachments)
    /// made every chat-list load carry it whole.
    #[test]
    fn the_chat_list_carries_a_bounded_preview_of_a_huge_last_message() {
        let conn = memory_db();
        let huge = "quarterly pricing ".repeat(60_000);
        conn.execute(
            "INSERT INTO messages (id, chat_id, text, sent_at, direction) VALUES ('big', 'c1', ?1, 9, 'inbound')",
            [&huge],
        )
        .expect("a huge message");
        conn.execute_batch(
            "INSERT INTO chats (chat_id, last_activity_at, last_message_id) VALUES ('c1', 9, 'big');
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499)
             INSERT INTO attachments (message_id, position, id, filename)
             SELECT 'big', i, 'a' || i, 'file ' || i || '.pdf' FROM n;",
        )
        .expect("five hundred attachments");
        let list = chats(&conn, None, 100).expect("chat list");
        let body = serde_json::to_string(&list).expect("json");
        assert!(
            huge.len() > 1_000_000 && body.len() < 100_000,
            "a 1 MB message makes a {} byte chat list",
            body.len()
        );
        let last = list[0].last_message.as_ref().expect("the preview is there");
        let text = last.text.as_deref().unwrap_or_default();
        assert!(
            text.starts_with("quarterly pricing") && text.ends_with('…'),
            "the preview is the text's beginning, marked as cut"
        );
        assert_eq!(
            text.chars().count(),
            read::PREVIEW_CHARS + 1,
            "the preview is bounded in characters, not bytes"
        );
        assert_eq!(
            last.attachments.len(),
            read::PREVIEW_ITEMS,
            "the preview carries a few attachments, not all five hundred"
        );
        let alone = chat(&conn, "c1").expect("chat").expect("exists");
        assert_eq!(
            serde_json::to_string(&alone).expect("json"),
            serde_json::to_string(&list[0]).expect("json"),
            "one chat reads as it does in the list"
        );
    }
}
