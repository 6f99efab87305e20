//! Order within a second (issue 24): messages with the same time keep the order Linq sent them
//! in, the same way in the thread, its pages (`before`/`after`/`around`), a search hit's
//! context and the chat list's last message. v2 times have one-second resolution and its ids
//! are integers sent as text ("10" sorts before "9"); v3 ids are UUIDs. Where a report gives a
//! finer time (v3's fractions of a second) that orders them, whatever order they arrive in;
//! else the log's order of arrival does.

use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{json, Value};

use super::convergence::shuffled_with_duplicates;
use super::convergence::{differences, dump_queries, ingest, memory_db, messages_dump};
use crate::store::chat_list;
use crate::store::thread::{thread, thread_around, Window};
use crate::store::views::ThreadItem;

const CHAT: &str = "chat-1";
const ME: &str = "+17205550142";
const THEM: &str = "+14155550101";

/// A v2 `message.received`, sent at `sent_at` (v2's one-second form).
fn v2_received(id: &str, sent_at: &str) -> String {
    json!({"api_version": "v2", "event_type": "message.received", "event_id": format!("e-{id}"),
           "created_at": "2025-05-21T15:30:00-06:00",
           "data": {"id": id, "chat_id": CHAT, "text": format!("message {id}"), "sent_at": sent_at,
                    "is_read": false, "from_phone": THEM, "service": "iMessage",
                    "chat_handles": [{"identifier": THEM, "display_name": "Dana", "is_me": false},
                                     {"identifier": ME, "display_name": null, "is_me": true}]}})
    .to_string()
}

fn v3_handle(number: &str, is_me: bool) -> Value {
    json!({"id": format!("h{number}"), "handle": number, "joined_at": "2026-11-01T00:00:00Z",
           "service": "iMessage", "is_me": is_me, "left_at": null, "status": "active"})
}

/// A v3 `message.received` (2026-02-03 shape), sent at `sent_at`.
fn v3_received(id: &str, sent_at: &str) -> String {
    json!({"api_version": "v3", "webhook_version": "2026-02-03", "event_type": "message.received",
           "event_id": format!("e-{id}"), "created_at": sent_at, "trace_id": "t", "partner_id": "p",
           "data": {"id": id, "chat": {"id": CHAT, "health_status": "healthy", "is_group": false,
                                       "owner_handle": v3_handle(ME, true)},
                    "direction": "inbound",
                    "parts": [{"type": "text", "value": format!("message {id}"), "text_decorations": null}],
                    "sender_handle": v3_handle(THEM, false), "service": "iMessage",
                    "sent_at": sent_at, "delivered_at": null, "read_at": null, "effect": null,
                    "reply_to": null, "idempotency_key": null}})
    .to_string()
}

fn ids(items: &[ThreadItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            ThreadItem::Message(m) => m.id.clone(),
            other => panic!("only messages in these threads: {other:?}"),
        })
        .collect()
}

fn page(conn: &Connection, window: Window<'_>, limit: i64) -> (Vec<String>, bool) {
    let (items, more) = thread(conn, CHAT, window, limit).expect("thread page");
    (ids(&items), more)
}

fn last_message(conn: &Connection) -> Option<String> {
    let list = chat_list::chats(conn, None, 10).expect("chat list");
    list.first()
        .and_then(|c| c.last_message.as_ref())
        .map(|m| m.id.clone())
}

/// The whole thread read newest page first, `size` at a time back through `before`.
fn read_back(conn: &Connection, size: i64) -> Vec<String> {
    let (mut all, mut more) = page(conn, Window::Latest, size);
    while more {
        let oldest = all
            .first()
            .cloned()
            .expect("a page with more before it is not empty");
        let (older, has_more) = page(conn, Window::Before(&oldest), size);
        assert!(
            !older.is_empty(),
            "a page that says more lie before it has some"
        );
        all.splice(0..0, older);
        more = has_more;
    }
    all
}

/// The whole thread read oldest first, `size` at a time forward through `after`.
fn read_forward(conn: &Connection, size: i64, first: &str) -> Vec<String> {
    let mut all = vec![first.to_string()];
    loop {
        let newest = all.last().cloned().expect("never empty");
        let (newer, more) = page(conn, Window::After(&newest), size);
        all.extend(newer);
        if !more {
            return all;
        }
    }
}

/// Every way of reading the thread gives `expected`: whole, back and forth in pages of every
/// size, around each message; and the chat list's last message is the last of them.
fn assert_read_in_order(conn: &Connection, expected: &[String], case: &str) {
    assert_eq!(
        page(conn, Window::Latest, 100).0,
        expected,
        "{case}: the thread"
    );
    for size in 1..=expected.len() as i64 {
        assert_eq!(
            read_back(conn, size),
            expected,
            "{case}: read back in pages of {size}"
        );
        assert_eq!(
            read_forward(conn, size, &expected[0]),
            expected,
            "{case}: read forward in pages of {size}"
        );
    }
    for (at, id) in expected.iter().enumerate() {
        let (items, has_older, has_newer) =
            thread_around(conn, CHAT, id, 3).expect("a window around a search hit");
        let window = ids(&items);
        let start = at.saturating_sub(1).min(expected.len().saturating_sub(3));
        let end = (start + 3).min(expected.len());
        assert_eq!(
            window,
            expected[start..end],
            "{case}: the context of a search hit on {id}"
        );
        assert_eq!(
            (has_older, has_newer),
            (start > 0, end < expected.len()),
            "{case}: the window around {id} says what lies beyond it"
        );
    }
    assert_eq!(
        last_message(conn).as_ref(),
        expected.last(),
        "{case}: the chat list's last message is the thread's last"
    );
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Issue 24: "9", "10", "11" sent in one second showed as 10, 11, 9 (ids compared as text).
#[test]
fn v2_integer_ids_in_one_second_keep_their_order() {
    let conn = memory_db();
    let second = "2025-05-21 15:30:00 -0600";
    for id in ["9", "10", "11"] {
        ingest(&conn, &v2_received(id, second));
    }
    ingest(&conn, &v2_received("8", "2025-05-21 15:29:59 -0600"));
    assert_read_in_order(&conn, &strings(&["8", "9", "10", "11"]), "v2 integer ids");
}

/// v3 ids are UUIDs: with whole-second times, the order they arrived in is the order shown,
/// across every page boundary.
#[test]
fn v3_uuids_in_one_second_keep_their_arrival_order() {
    let conn = memory_db();
    let arrived = [
        "f3a1c2d4-0000-4000-8000-000000000001",
        "0b9e7d6c-0000-4000-8000-000000000002",
        "c47d0e11-0000-4000-8000-000000000003",
        "1e2f3a4b-0000-4000-8000-000000000004",
        "8d7c6b5a-0000-4000-8000-000000000005",
        "0a0a0a0a-0000-4000-8000-000000000006",
        "00000000-0000-4000-8000-000000000007",
    ];
    for id in arrived {
        ingest(&conn, &v3_received(id, "2026-11-20T17:15:00Z"));
    }
    assert_read_in_order(&conn, &strings(&arrived), "v3 UUIDs, whole seconds");
}

/// A message first told without a finer time, then by a report that has one, is ordered by it:
/// the order does not depend on which report came first.
#[test]
fn a_finer_time_told_later_orders_the_message() {
    let whole = v3_received("m-1", "2026-11-20T17:15:00Z");
    // The same message again (another event), its time now to the microsecond: after m-2.
    let fine = v3_received("m-1", "2026-11-20T17:15:00.000300Z").replace("e-m-1", "e-m-1-again");
    let other = v3_received("m-2", "2026-11-20T17:15:00.000200Z");
    for (case, stream) in [
        ("the finer time told last", [&other, &whole, &fine]),
        ("the finer time told first", [&fine, &other, &whole]),
    ] {
        let conn = memory_db();
        stream.iter().for_each(|b| ingest(&conn, b));
        assert_read_in_order(&conn, &strings(&["m-2", "m-1"]), case);
    }
}

/// `count` message ids in the order Linq created them, from `seed`: UUID-like, so their text
/// order says nothing of their creation order.
fn created(count: usize, seed: u64) -> Vec<String> {
    let mut rng = seed | 1;
    (0..count)
        .map(|n| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            format!("{:08x}-0000-4000-8000-{n:012}", rng as u32)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Where the vendor gives a finer time (v3's fractions of a second), messages of one second
    /// delivered in any order, with redeliveries, read back in Linq's order, and the inbox is the
    /// same as the ordered stream's, ties included.
    #[test]
    fn shuffled_arrival_with_finer_times_shows_linqs_order(
        count in 2usize..9, seed in any::<u64>(), shuffle in any::<u64>(), dup_every in 2usize..5,
    ) {
        let order = created(count, seed);
        let bodies: Vec<String> = order
            .iter()
            .enumerate()
            .map(|(n, id)| v3_received(id, &format!("2026-11-20T17:15:00.{:06}Z", 100 + n * 7)))
            .collect();
        let ordered = memory_db();
        bodies.iter().for_each(|b| ingest(&ordered, b));
        let shuffled = memory_db();
        shuffled_with_duplicates(&bodies, shuffle, dup_every)
            .iter()
            .for_each(|b| ingest(&shuffled, b));
        assert_read_in_order(&shuffled, &order, "shuffled v3 arrival with finer times");
        let dump = |conn: &Connection| {
            let messages = messages_dump(conn);
            let raw_ties = "SELECT id, tie FROM messages ORDER BY id";
            dump_queries(conn, &[&messages, raw_ties, "SELECT * FROM chats ORDER BY chat_id"])
        };
        let (a, b) = (dump(&shuffled), dump(&ordered));
        let diff = differences(&a, &b);
        prop_assert!(diff.is_empty(), "the shuffled stream ends in the same inbox: {diff:#?}");
    }
}
