//! Chat summaries for a whole page of chats in a fixed handful of set-based queries (handles,
//! memberships, contact names, last messages with their attachments and reactions) instead of
//! about ten per chat: the UI loads the thousand newest chats at once.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::read::{self, ChatRow, HandleRow, MembershipChange};
use crate::store::json_list;
use crate::store::messages::read::{self as messages, MessageRow, MESSAGE_COLUMNS, MESSAGE_FROM};
use crate::store::names::Names;
use crate::store::reactions::{self, ReactionRow, LIVE, REACTION_COLUMNS};
use crate::store::views::{ChatSummary, Message};
use crate::store::StoreError;

/// Summaries of `rows`, in their order; without `last_message` when `with_last` is false.
pub(crate) fn summaries(
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
        "SELECT a.message_id, a.id, a.url, a.filename, a.mime_type
         FROM json_each(?1) j JOIN attachments a ON a.message_id = j.value
         ORDER BY j.key, a.position",
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
    use crate::simulate::{generate, Scenario};
    use crate::store::chats::read;
    use crate::store::convergence_tests::{ingest, memory_db};

    #[test]
    fn a_page_of_summaries_is_each_chat_summarized_alone() {
        let conn = memory_db();
        for d in generate(Scenario::Demo, 400, 11, chrono::Utc::now()) {
            ingest(&conn, &d.body);
        }
        let page = read::chats(&conn, None, 1000).expect("chats");
        assert!(page.len() > 3, "the demo has several chats");
        assert!(page.iter().any(|c| c.is_group && !c.members.is_empty()));
        assert!(page.iter().any(|c| c.last_message.is_some()));
        for summary in &page {
            let alone = read::chat(&conn, &summary.chat_id)
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
        let page = read::chats(&conn, None, 10).expect("chats");
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
        let page = read::chats(&conn, None, 10).expect("chats");
        assert_eq!(page.len(), 2);
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
            read::chats(&conn, before, limit)
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
        assert_eq!(ids(None, 2), ["c", "f"]);
        assert_eq!(ids(Some("a"), 2), ["b", "e"], "a page across both kinds");
        assert_eq!(ids(Some("e"), 5), ["d"]);
    }
}
