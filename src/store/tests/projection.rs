//! Projection promises for what v3 webhooks say (deliveries, failures, edits, replies, removed
//! reactions, system lines, number health, call stages): each lands in the same inbox model as
//! v2, in any order, and a rebuild from the log ends in the same state.

use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::{json, Value};

use super::convergence::{
    differences, dump_queries, memory_db, messages_dump, shuffled_with_duplicates, SEARCH_DUMP,
};
use crate::linq::{parse_envelope, SignatureForm};
use crate::simulate::{generate_v3, Scenario};
use crate::store::names::Names;
use crate::store::thread::{self, Window};
use crate::store::views::{Message, ThreadItem};
use crate::store::{calls, chat_list, log, messages, numbers, projection, replay, NewEvent};

fn ingest_body(conn: &Connection, body: &str) {
    let env = parse_envelope(body).expect("body is an envelope");
    let event = NewEvent::from_envelope(env, body.to_string(), SignatureForm::Standard, 0);
    if log::append(conn, &event).expect("append").is_some() {
        let tx = conn.unchecked_transaction().expect("transaction");
        let batch = projection::project_in(&tx, 16).expect("project");
        assert_eq!(batch.failed, 0, "the body projects");
        tx.commit().expect("commit");
    }
}

/// A v3 envelope around `data`, created at `at`.
fn v3(event_type: &str, event_id: &str, at: &str, data: Value) -> String {
    json!({"api_version": "v3", "webhook_version": "2026-02-03", "event_type": event_type,
           "event_id": event_id, "created_at": at, "trace_id": "t", "partner_id": "p", "data": data})
    .to_string()
}

fn handle(number: &str, is_me: bool) -> Value {
    json!({"id": format!("h{number}"), "handle": number, "joined_at": "2026-11-01T00:00:00Z",
           "service": "iMessage", "is_me": is_me, "left_at": null, "status": "active"})
}

const CHAT: &str = "chat-1";
const ME: &str = "+17205550142";
const THEM: &str = "+14155550101";

fn message_data(id: &str, outbound: bool, text: &str, sent_at: &str) -> Value {
    json!({"id": id, "chat": {"id": CHAT, "health_status": "healthy", "is_group": false,
                              "owner_handle": handle(ME, true)},
           "direction": if outbound { "outbound" } else { "inbound" },
           "parts": [{"type": "text", "value": text, "text_decorations": null}],
           "sender_handle": handle(if outbound { ME } else { THEM }, outbound),
           "service": "iMessage", "sent_at": sent_at, "delivered_at": null, "read_at": null,
           "effect": null, "reply_to": null, "idempotency_key": null})
}

fn sent(id: &str, text: &str, at: &str) -> String {
    v3(
        "message.sent",
        &format!("e-{id}"),
        at,
        message_data(id, true, text, at),
    )
}

fn received(id: &str, text: &str, at: &str) -> String {
    v3(
        "message.received",
        &format!("e-{id}"),
        at,
        message_data(id, false, text, at),
    )
}

fn thread(conn: &Connection) -> Vec<ThreadItem> {
    thread::thread(conn, CHAT, Window::Latest, 100)
        .expect("thread")
        .0
}

fn message(conn: &Connection, id: &str) -> Message {
    let mut names = Names::new(conn);
    messages::message(conn, &mut names, id)
        .expect("query")
        .unwrap_or_else(|| panic!("message {id} is in the inbox"))
}

#[test]
fn the_signed_fixture_projects_as_an_inbound_message_with_its_attachment() {
    let conn = memory_db();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v3");
    let body = std::fs::read_to_string(dir.join("message.received.json")).expect("fixture");
    ingest_body(&conn, &body);
    let m = message(&conn, "b3f1c2a4-0000-4000-8000-000000000001");
    assert_eq!(
        m.chat_id, "c0ffee00-0000-4000-8000-000000000042",
        "the message lands in the chat the v3 fixture names"
    );
    assert_eq!(
        m.text.as_deref(),
        Some("Hola desde v3 — ¿seguimos mañana?"),
        "the text survives with its non-ASCII characters"
    );
    assert_eq!(
        m.from_phone.as_deref(),
        Some("+14155550101"),
        "the sender's number is kept"
    );
    assert_eq!(
        m.attachments.len(),
        1,
        "the fixture's one attachment is kept"
    );
    assert_eq!(
        m.status, None,
        "only outbound messages carry a delivery status"
    );
    let chat = chat_list::chat(&conn, &m.chat_id)
        .expect("query")
        .expect("chat");
    assert_eq!(chat.unread_count, 1, "an inbound message is unread");
}

#[test]
fn sent_then_delivered_then_read_moves_the_status() {
    let conn = memory_db();
    ingest_body(&conn, &sent("m1", "Quote attached", "2026-11-20T17:00:00Z"));
    assert_eq!(
        message(&conn, "m1").status,
        Some("sent"),
        "a message.sent shows as sent"
    );
    let mut delivered = message_data("m1", true, "Quote attached", "2026-11-20T17:00:00Z");
    delivered["delivered_at"] = json!("2026-11-20T17:00:02Z");
    ingest_body(
        &conn,
        &v3(
            "message.delivered",
            "e-d1",
            "2026-11-20T17:00:02Z",
            delivered.clone(),
        ),
    );
    let m = message(&conn, "m1");
    assert_eq!(
        m.status,
        Some("delivered"),
        "a delivery report moves the message to delivered"
    );
    assert_eq!(
        m.delivered_at.as_deref(),
        Some("2026-11-20T17:00:02Z"),
        "the delivery time comes from the report"
    );
    let mut read = delivered;
    read["read_at"] = json!("2026-11-20T17:05:00Z");
    ingest_body(
        &conn,
        &v3("message.read", "e-r1", "2026-11-20T17:05:00Z", read),
    );
    let m = message(&conn, "m1");
    assert_eq!(
        m.status,
        Some("read"),
        "a read report moves the message to read"
    );
    assert_eq!(
        m.read_at.as_deref(),
        Some("2026-11-20T17:05:00Z"),
        "the read time comes from the report"
    );
}

#[test]
fn a_delivery_report_before_its_message_still_counts() {
    let conn = memory_db();
    let mut delivered = message_data("m1", true, "Hi", "2026-11-20T17:00:00Z");
    delivered["delivered_at"] = json!("2026-11-20T17:00:02Z");
    ingest_body(
        &conn,
        &v3(
            "message.delivered",
            "e-d1",
            "2026-11-20T17:00:02Z",
            delivered,
        ),
    );
    ingest_body(&conn, &sent("m1", "Hi", "2026-11-20T17:00:00Z"));
    let m = message(&conn, "m1");
    assert_eq!(
        m.status,
        Some("delivered"),
        "a delivery report that came before its message still marks it delivered"
    );
    assert_eq!(
        thread(&conn).len(),
        1,
        "the delivery report made the message, the sent event did not add a second"
    );
}

#[test]
fn a_failure_shows_its_reason_and_a_later_delivery_wins() {
    let conn = memory_db();
    ingest_body(&conn, &sent("m1", "Hi", "2026-11-20T17:00:00Z"));
    ingest_body(
        &conn,
        &v3(
            "message.failed",
            "e-f1",
            "2026-11-20T17:00:03Z",
            json!({"code": 4001, "failed_at": "2026-11-20T17:00:03Z", "message_id": "m1",
                   "chat_id": CHAT, "reason": "Not reachable on iMessage", "detail_code": null}),
        ),
    );
    let m = message(&conn, "m1");
    assert_eq!(
        m.status,
        Some("failed"),
        "a message.failed marks the message failed"
    );
    let failure = m.failure.expect("the failure is shown");
    assert_eq!(
        failure.code.as_deref(),
        Some("4001"),
        "the failure keeps Linq's code"
    );
    assert_eq!(
        failure.reason.as_deref(),
        Some("Not reachable on iMessage"),
        "the failure keeps Linq's reason for the rep to read"
    );
    let mut delivered = message_data("m1", true, "Hi", "2026-11-20T17:00:00Z");
    delivered["delivered_at"] = json!("2026-11-20T17:01:00Z");
    ingest_body(
        &conn,
        &v3(
            "message.delivered",
            "e-d1",
            "2026-11-20T17:01:00Z",
            delivered,
        ),
    );
    assert_eq!(
        message(&conn, "m1").status,
        Some("delivered"),
        "Linq may deliver after a failure (over SMS)"
    );
}

#[test]
fn a_failure_without_a_message_id_is_kept_raw() {
    let conn = memory_db();
    ingest_body(
        &conn,
        &v3(
            "message.failed",
            "e-f1",
            "2026-11-20T17:00:03Z",
            json!({"code": 3007, "failed_at": "2026-11-20T17:00:03Z"}),
        ),
    );
    let n: i64 = conn
        .query_row("SELECT count(*) FROM message_failures", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 0, "a failure naming no message marks nothing failed");
    assert_eq!(
        log::max_seq(&conn).expect("seq"),
        1,
        "the event is in the log"
    );
}

fn edit(event_id: &str, id: &str, text: &str, at: &str) -> String {
    v3(
        "message.edited",
        event_id,
        at,
        json!({"id": id, "chat": {"id": CHAT, "health_status": "healthy", "is_group": false,
                                  "owner_handle": null},
               "direction": "inbound", "edited_at": at, "part": {"index": 0, "text": text},
               "sender_handle": handle(THEM, false)}),
    )
}

#[test]
fn edits_replace_the_text_newest_wins_in_any_order_and_search_follows() {
    let conn = memory_db();
    ingest_body(
        &conn,
        &edit("e-x2", "m1", "See you Thursday", "2026-11-20T17:02:00Z"),
    );
    ingest_body(
        &conn,
        &received("m1", "See you Wednesday", "2026-11-20T17:00:00Z"),
    );
    ingest_body(
        &conn,
        &edit("e-x1", "m1", "See you Tuesday", "2026-11-20T17:01:00Z"),
    );
    let m = message(&conn, "m1");
    assert_eq!(
        m.text.as_deref(),
        Some("See you Thursday"),
        "the newest edit wins though an older one came last"
    );
    assert_eq!(
        m.edited_at.as_deref(),
        Some("2026-11-20T17:02:00Z"),
        "the edit time is the newest edit's"
    );
    let hits = crate::store::search::search(&conn, "thursday", None, None, 10).expect("search");
    assert!(
        hits.iter().any(|h| h.id == "m1"),
        "search finds the edited text"
    );
    let stale = crate::store::search::search(&conn, "wednesday", None, None, 10).expect("search");
    assert!(
        stale.iter().all(|h| h.id != "m1"),
        "and no longer the text before the edit"
    );
}

#[test]
fn a_reply_shows_the_message_it_answers_once_that_arrives() {
    let conn = memory_db();
    let mut reply = message_data("m2", false, "Yes, Thursday works", "2026-11-20T17:05:00Z");
    reply["reply_to"] = json!({"message_id": "m1", "part_index": 0});
    ingest_body(
        &conn,
        &v3("message.received", "e-m2", "2026-11-20T17:05:00Z", reply),
    );
    let r = message(&conn, "m2").reply_to.expect("reply_to");
    assert!(!r.found, "the answered message has not arrived yet");
    ingest_body(
        &conn,
        &sent("m1", "Does Thursday work?", "2026-11-20T17:00:00Z"),
    );
    let r = message(&conn, "m2").reply_to.expect("reply_to");
    assert!(r.found, "the answered message is found once it arrives");
    assert_eq!(
        r.text.as_deref(),
        Some("Does Thursday work?"),
        "the reply shows the answered message's text"
    );
    assert_eq!(
        r.from_name.as_deref(),
        Some("You"),
        "the rep's own answered message is shown as from You"
    );
}

fn reaction(kind: &str, event_id: &str, at: &str, extra: Value) -> String {
    let mut data = json!({"is_from_me": false, "reaction_type": "custom", "custom_emoji": "🦄",
                          "chat_id": CHAT, "message_id": "m1", "part_index": 0, "reacted_at": at,
                          "from_handle": handle(THEM, false), "service": "iMessage", "sticker": null});
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    v3(kind, event_id, at, data)
}

#[test]
fn reactions_are_removed_when_linq_says_so_in_any_order_and_can_come_back() {
    let conn = memory_db();
    ingest_body(&conn, &sent("m1", "Deal?", "2026-11-20T17:00:00Z"));
    let added = reaction("reaction.added", "e-a", "2026-11-20T17:01:00Z", json!({}));
    let removed = reaction("reaction.removed", "e-r", "2026-11-20T17:02:00Z", json!({}));
    ingest_body(&conn, &added);
    let shown = message(&conn, "m1").reactions;
    assert_eq!(shown.len(), 1, "an added reaction shows on its message");
    assert_eq!(
        shown[0].custom_emoji.as_deref(),
        Some("🦄"),
        "the reaction keeps its custom emoji"
    );
    assert_eq!(
        shown[0].from.as_deref(),
        Some(THEM),
        "the reaction says who gave it"
    );
    ingest_body(&conn, &removed);
    assert!(message(&conn, "m1").reactions.is_empty(), "removed");

    let reversed = memory_db();
    ingest_body(&reversed, &removed);
    ingest_body(&reversed, &added);
    ingest_body(&reversed, &sent("m1", "Deal?", "2026-11-20T17:00:00Z"));
    assert!(
        message(&reversed, "m1").reactions.is_empty(),
        "a removal that arrives first still wins over the older addition"
    );
    ingest_body(
        &reversed,
        &reaction("reaction.added", "e-a2", "2026-11-20T17:03:00Z", json!({})),
    );
    assert_eq!(
        message(&reversed, "m1").reactions.len(),
        1,
        "added again after the removal"
    );
}

#[test]
fn sticker_reactions_keep_their_sticker() {
    let conn = memory_db();
    ingest_body(&conn, &sent("m1", "Deal?", "2026-11-20T17:00:00Z"));
    ingest_body(
        &conn,
        &reaction(
            "reaction.added",
            "e-s",
            "2026-11-20T17:01:00Z",
            json!({"reaction_type": "sticker", "custom_emoji": null,
                   "sticker": {"file_name": "s.heic", "mime_type": "image/heic",
                               "url": "https://x.example/s.heic", "width": 10, "height": 10}}),
        ),
    );
    let r = &message(&conn, "m1").reactions[0];
    assert_eq!(
        r.reaction, "sticker",
        "a sticker reaction is shown as a sticker"
    );
    assert_eq!(
        r.sticker.as_ref().and_then(|s| s["file_name"].as_str()),
        Some("s.heic"),
        "a sticker reaction keeps its sticker file"
    );
}

#[test]
fn participants_chat_created_and_group_changes_make_one_group() {
    let conn = memory_db();
    ingest_body(
        &conn,
        &v3(
            "chat.group_name_updated",
            "e-n2",
            "2026-11-20T17:10:00Z",
            json!({"chat_id": CHAT, "updated_at": "2026-11-20T17:10:00Z",
                   "changed_by_handle": handle(ME, true), "old_value": "Renewal",
                   "new_value": "Renewal 2027"}),
        ),
    );
    ingest_body(
        &conn,
        &v3(
            "chat.created",
            "e-c",
            "2026-11-20T17:00:00Z",
            json!({"id": CHAT, "created_at": "2026-11-20T17:00:00Z",
                   "updated_at": "2026-11-20T17:00:00Z", "display_name": "Renewal",
                   "handles": [handle(ME, true), handle(THEM, false), handle("+15550001", false)],
                   "health_status": "healthy", "is_group": true, "service": "iMessage"}),
        ),
    );
    ingest_body(
        &conn,
        &v3(
            "chat.group_name_updated",
            "e-n1",
            "2026-11-20T17:05:00Z",
            json!({"chat_id": CHAT, "updated_at": "2026-11-20T17:05:00Z",
                   "changed_by_handle": null, "old_value": null, "new_value": "Renewal (old)"}),
        ),
    );
    ingest_body(
        &conn,
        &v3(
            "chat.group_icon_updated",
            "e-i",
            "2026-11-20T17:11:00Z",
            json!({"chat_id": CHAT, "updated_at": "2026-11-20T17:11:00Z",
                   "changed_by_handle": handle(ME, true), "old_value": null,
                   "new_value": "https://x.example/icon.png"}),
        ),
    );
    ingest_body(
        &conn,
        &v3(
            "participant.added",
            "e-p1",
            "2026-11-20T17:12:00Z",
            json!({"handle": "+15550002", "chat_id": CHAT, "participant": handle("+15550002", false),
                   "added_at": "2026-11-20T17:12:00Z"}),
        ),
    );
    ingest_body(
        &conn,
        &v3(
            "participant.removed",
            "e-p2",
            "2026-11-20T17:13:00Z",
            json!({"handle": "+15550001", "chat_id": CHAT, "removed_at": "2026-11-20T17:13:00Z"}),
        ),
    );
    let chat = chat_list::chat(&conn, CHAT).expect("query").expect("chat");
    assert!(chat.is_group, "a chat with group changes is a group");
    assert_eq!(
        chat.title, "Renewal 2027",
        "the newest rename wins over the creation name and an older rename"
    );
    let members: Vec<&str> = chat.members.iter().map(|m| m.identifier.as_str()).collect();
    assert!(
        members.contains(&"+15550002") && !members.contains(&"+15550001"),
        "membership follows the added and removed participants"
    );
    let lines: Vec<(String, String)> = thread(&conn)
        .into_iter()
        .map(|i| match i {
            ThreadItem::ChatEvent(e) => (e.action, e.new_value.unwrap_or_default()),
            ThreadItem::Membership(m) => (m.action, m.identifier),
            ThreadItem::Message(m) => ("message".into(), m.id),
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("group_name".to_string(), "Renewal (old)".to_string()),
            ("group_name".to_string(), "Renewal 2027".to_string()),
            (
                "group_icon".to_string(),
                "https://x.example/icon.png".to_string()
            ),
            ("added".to_string(), "+15550002".to_string()),
            ("removed".to_string(), "+15550001".to_string()),
        ],
        "every change is a system line, in time order"
    );
    let page = thread::thread(&conn, CHAT, Window::Before("chatevent-e-i"), 10)
        .expect("paging before a system line")
        .0;
    assert_eq!(page.len(), 2, "the two renames come before the icon change");
}

#[test]
fn typing_changes_no_projection() {
    let conn = memory_db();
    for (i, kind) in [
        "chat.typing_indicator.started",
        "chat.typing_indicator.stopped",
    ]
    .into_iter()
    .enumerate()
    {
        let body = v3(
            kind,
            &format!("e-t{i}"),
            "2026-11-20T17:00:00Z",
            json!({"chat_id": CHAT}),
        );
        let env = parse_envelope(&body).expect("parses");
        assert!(
            matches!(env.fact, crate::linq::Fact::Typing(_)),
            "{kind} is a typing indicator"
        );
        ingest_body(&conn, &body);
    }
    let chats: i64 = conn
        .query_row("SELECT count(*) FROM chats", [], |r| r.get(0))
        .expect("count");
    assert_eq!(chats, 0, "typing alone makes no chat");
}

#[test]
fn number_health_keeps_the_newest_report_and_flags_trouble() {
    let conn = memory_db();
    let report = |id: &str, at: &str, status: &str, rep: &str| {
        v3(
            "phone_number.status_updated",
            id,
            at,
            json!({"phone_number": ME, "changed_at": at, "previous_status": "ACTIVE",
                   "new_status": status, "previous_reputation": "HEALTHY", "new_reputation": rep}),
        )
    };
    ingest_body(
        &conn,
        &report("e2", "2026-11-20T18:00:00Z", "FLAGGED", "AT_RISK"),
    );
    ingest_body(
        &conn,
        &report("e1", "2026-11-20T17:00:00Z", "ACTIVE", "HEALTHY"),
    );
    let health = numbers::number_health(&conn).expect("health");
    assert_eq!(
        health.len(),
        1,
        "a number has one health entry however many reports came"
    );
    assert_eq!(health[0].status.as_deref(), Some("FLAGGED"), "newest wins");
    assert!(
        health[0].needs_attention,
        "a flagged, at-risk number needs attention"
    );
    ingest_body(
        &conn,
        &report("e3", "2026-11-20T19:00:00Z", "ACTIVE", "HEALTHY"),
    );
    assert!(
        !numbers::number_health(&conn).expect("health")[0].needs_attention,
        "a healthy report clears the attention flag"
    );
}

#[test]
fn location_sharing_is_a_system_line() {
    let conn = memory_db();
    ingest_body(
        &conn,
        &v3(
            "location.sharing.started",
            "e-l1",
            "2026-11-20T17:00:00Z",
            json!({"shared_by": THEM, "shared_with": ME, "began_at": "2026-11-20T17:00:00Z",
                   "ends_at": null, "chat_id": CHAT}),
        ),
    );
    ingest_body(
        &conn,
        &v3(
            "location.sharing.stopped",
            "e-l2",
            "2026-11-20T17:30:00Z",
            json!({"shared_by": THEM, "shared_with": ME, "began_at": "2026-11-20T17:00:00Z",
                   "ended_at": "2026-11-20T17:30:00Z", "chat_id": CHAT}),
        ),
    );
    let actions: Vec<String> = thread(&conn)
        .into_iter()
        .filter_map(|i| match i {
            ThreadItem::ChatEvent(e) => {
                Some(format!("{}:{}", e.action, e.actor.unwrap_or_default()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            format!("location_started:{THEM}"),
            format!("location_stopped:{THEM}")
        ],
        "a location share starting and stopping are two system lines naming who shared"
    );
}

fn call_stage(kind: &str, id: &str, at: &str, extra: Value) -> String {
    let mut data = json!({"call_id": "k1", "from": THEM, "to": ME, "direction": "inbound",
                          "started_at": "2026-11-20T17:00:00Z"});
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    v3(kind, id, at, data)
}

#[test]
fn call_stages_merge_into_one_call_in_any_order() {
    let stages = [
        call_stage("call.initiated", "c1", "2026-11-20T17:00:00Z", json!({})),
        call_stage("call.ringing", "c2", "2026-11-20T17:00:01Z", json!({})),
        call_stage("call.answered", "c3", "2026-11-20T17:00:08Z", json!({})),
        call_stage(
            "call.ended",
            "c4",
            "2026-11-20T17:05:00Z",
            json!({"ended_at": "2026-11-20T17:05:00Z", "duration": 292}),
        ),
    ];
    let ordered = memory_db();
    stages.iter().for_each(|b| ingest_body(&ordered, b));
    let backwards = memory_db();
    stages.iter().rev().for_each(|b| ingest_body(&backwards, b));
    for conn in [&ordered, &backwards] {
        let call = calls::call(conn, "k1").expect("query").expect("one call");
        assert_eq!(
            call.status.as_deref(),
            Some("completed"),
            "the last stage wins"
        );
        assert_eq!(
            call.duration,
            Some(292),
            "the call's duration comes from call.ended whatever the order"
        );
        assert_eq!(
            call.start_time.as_deref(),
            Some("2026-11-20T17:00:00Z"),
            "the call's start time is kept whatever the order"
        );
        assert!(!call.missed, "an answered call is not missed");
    }
    let missed = memory_db();
    ingest_body(
        &missed,
        &call_stage("call.ringing", "n1", "2026-11-20T17:00:01Z", json!({})),
    );
    ingest_body(
        &missed,
        &call_stage("call.no_answer", "n2", "2026-11-20T17:00:30Z", json!({})),
    );
    let call = calls::call(&missed, "k1").expect("query").expect("call");
    assert_eq!(
        call.status.as_deref(),
        Some("no-answer"),
        "an unanswered call ends as no-answer"
    );
    assert!(call.missed, "an unanswered inbound call is missed");
}

#[test]
fn unknown_v3_types_are_stored_raw() {
    let conn = memory_db();
    ingest_body(
        &conn,
        &v3(
            "payment.succeeded",
            "e-pay",
            "2026-11-20T17:00:00Z",
            json!({"amount": 5}),
        ),
    );
    assert_eq!(
        log::max_seq(&conn).expect("seq"),
        1,
        "an unknown v3 type is still kept in the log"
    );
}

/// Every projection table v3 touches, as sorted text, without rowids (nor arrival ties).
fn dump(conn: &Connection) -> Vec<String> {
    let messages = messages_dump(conn);
    let queries = [
        "SELECT chat_id, display_name, is_group, last_message_id, last_message_at, last_activity_at,
                unread_count, name_changed_at, icon_url FROM chats ORDER BY chat_id",
        "SELECT * FROM chat_handles ORDER BY chat_id, identifier",
        &messages,
        "SELECT * FROM attachments ORDER BY message_id, position",
        "SELECT * FROM reactions ORDER BY id",
        "SELECT * FROM read_receipts ORDER BY message_id",
        "SELECT * FROM deliveries ORDER BY message_id",
        "SELECT * FROM message_failures ORDER BY message_id",
        "SELECT * FROM message_edits ORDER BY message_id, part_index",
        "SELECT * FROM chat_events ORDER BY key",
        "SELECT * FROM number_health ORDER BY phone_number",
        "SELECT * FROM calls ORDER BY id",
        "SELECT * FROM memberships ORDER BY event_id",
        SEARCH_DUMP,
    ];
    dump_queries(conn, &queries)
}

fn v3_demo() -> Vec<String> {
    let now = crate::linq::time::parse("2026-11-20T17:15:00Z")
        .map(|s| s.utc)
        .expect("now");
    generate_v3(Scenario::Demo, 120, 5, now)
        .into_iter()
        .map(|d| d.body)
        .collect()
}

#[test]
fn rebuild_re_derives_the_same_v3_inbox() {
    let mut conn = memory_db();
    v3_demo().iter().for_each(|b| ingest_body(&conn, b));
    let before = dump(&conn);
    replay::rebuild(&mut conn).expect("rebuild");
    assert_eq!(dump(&conn), before, "rebuild from the log changes nothing");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn any_shuffle_of_a_v3_stream_with_duplicates_converges(seed in any::<u64>(), dup_every in 2usize..6) {
        let bodies = v3_demo();
        let ordered = memory_db();
        bodies.iter().for_each(|b| ingest_body(&ordered, b));
        let shuffled = memory_db();
        shuffled_with_duplicates(&bodies, seed, dup_every).iter().for_each(|b| ingest_body(&shuffled, b));
        let (a, b) = (dump(&shuffled), dump(&ordered));
        let diff = differences(&a, &b);
        prop_assert!(diff.is_empty(), "shuffled v3 stream differs: {diff:#?}");
    }
}

#[test]
fn a_read_mark_whose_recount_was_lost_is_counted_when_the_projector_starts() {
    let mut conn = memory_db();
    ingest_body(
        &conn,
        &received("m1", "Is the quote ready?", "2026-11-20T10:00:00Z"),
    );
    ingest_body(&conn, &received("m2", "Any news?", "2026-11-20T10:05:00Z"));
    let unread = |conn: &Connection| -> i64 {
        conn.query_row(
            "SELECT unread_count FROM chats WHERE chat_id = ?1",
            [CHAT],
            |r| r.get(0),
        )
        .expect("unread count")
    };
    assert_eq!(unread(&conn), 2, "both messages are unread");
    // The read mark committed in the log file; the crash came before its recount.
    conn.execute(
        "INSERT INTO local_reads (chat_id, read_through) SELECT chat_id, max(sent_at) FROM messages WHERE chat_id = ?1",
        [CHAT],
    )
    .expect("read mark");
    assert_eq!(unread(&conn), 2, "the count is stale until recounted");
    let recounted =
        crate::store::chats::project::recount_marked(&mut conn).expect("recount at start");
    assert_eq!(recounted, 1, "the one marked chat is recounted");
    assert_eq!(unread(&conn), 0, "the read mark counts");
}

#[test]
fn a_staged_batch_writes_its_search_entries_as_one_segment() {
    use projection::Entries;
    let pages_written = |entries: Entries| -> (i64, i64) {
        let conn = memory_db();
        for n in 0..40 {
            let body = received(
                &format!("m{n}"),
                &format!("quarterly pricing note {n}"),
                "2026-11-20T18:00:00Z",
            );
            let env = parse_envelope(&body).expect("body is an envelope");
            let event = NewEvent::from_envelope(env, body.clone(), SignatureForm::Standard, 0);
            log::append(&conn, &event).expect("append");
        }
        let pages = |conn: &Connection| -> i64 {
            conn.query_row("SELECT count(*) FROM search_data", [], |r| r.get(0))
                .expect("index pages")
        };
        let before = pages(&conn);
        let tx = conn.unchecked_transaction().expect("transaction");
        // The live projector's batch: timed, with a deadline it does not reach.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let batch = projection::project_until(&tx, 64, Some(deadline), entries).expect("project");
        tx.commit().expect("commit");
        assert_eq!(batch.rows, 40, "the batch folds every row");
        let found: i64 = conn
            .query_row(
                "SELECT count(*) FROM search WHERE search MATCH 'pricing'",
                [],
                |r| r.get(0),
            )
            .expect("search");
        (pages(&conn) - before, found)
    };
    let (staged, found) = pages_written(Entries::Staged);
    assert_eq!(
        found, 40,
        "every message is findable after the staged batch"
    );
    assert!(
        staged <= 3,
        "forty messages made {staged} index pages: one segment for the batch, not one a row"
    );
    let (as_folded, found) = pages_written(Entries::AsFolded);
    assert_eq!(found, 40, "every message is findable after the batch");
    assert!(
        as_folded > staged,
        "written as they fold, the entries make more segments ({as_folded} pages, {staged} staged)"
    );
}
