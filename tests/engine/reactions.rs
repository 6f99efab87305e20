//! Reactions and read marks through the outbox (issue 20 §4–5): the real binary against the fake
//! Linq's reaction and read endpoints, which record every request and fail on command.

use std::path::Path;

use serde_json::{json, Value};

use crate::harness::Server;
use crate::linq_fake::{FakeLinq, Seen, TOKEN};
use crate::linq_fake_send::error;
use crate::outbox::{
    at, fake, handle, items, nothing_left_to_send, pending, serve, until, ANN, CHAT, LINE,
};

const ASK: &str = "m-ask";

fn react(server: &Server, reaction: &str, operation: &str, key: &str) -> (u16, Value) {
    server.post_api(
        &format!("/api/messages/{ASK}/reactions"),
        &json!({"reaction": reaction, "operation": operation, "client_id": key}).to_string(),
    )
}

/// The question's reactions as the thread shows them.
fn reactions_on_ask(server: &Server) -> Vec<Value> {
    items(&server.api(&format!("/api/chats/{CHAT}/messages")))
        .into_iter()
        .find(|m| m["id"] == ASK)
        .and_then(|m| m["reactions"].as_array().cloned())
        .unwrap_or_default()
}

fn reaction_calls(fake: &FakeLinq) -> Vec<Seen> {
    fake.seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/reactions"))
        .collect()
}

fn read_calls(fake: &FakeLinq) -> Vec<Seen> {
    fake.seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/read") || s.path.ends_with("/mark_as_read"))
        .collect()
}

/// Linq's v3 webhook about the rep's own reaction to the question.
fn own_reaction_webhook(server: &Server, event_type: &str, reaction: &str) {
    let body = json!({"api_version": "v3", "webhook_version": "2026-02-03",
        "event_type": event_type, "event_id": format!("{event_type}-{reaction}-{}", crate::harness::rand_hex()),
        "created_at": at(0),
        "data": {"is_from_me": true, "reaction_type": reaction, "chat_id": CHAT, "message_id": ASK,
                 "part_index": 0, "reacted_at": at(0), "from_handle": handle(LINE, true)}})
    .to_string();
    let (status, answer) = server.post_signed(&body);
    assert_eq!(status, 200, "the webhook is accepted: {answer}");
}

#[test]
fn a_reaction_is_one_post_shown_at_once_and_linq_s_webhook_leaves_one_reaction() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let key = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let asked = std::time::Instant::now();
    let (status, message) = react(&server, "love", "add", key);
    let answered = asked.elapsed();
    assert_eq!(status, 202, "a reaction is accepted at once: {message}");
    let shown = message["reactions"].as_array().cloned().unwrap_or_default();
    assert_eq!(shown.len(), 1, "shown on the bubble at once: {message}");
    assert_eq!(shown[0]["reaction"], "love", "the tapback picked");
    assert_eq!(shown[0]["is_from_me"], true, "as the rep's own");
    until("Linq took the reaction", || {
        let r = reactions_on_ask(&server);
        (r.len() == 1 && r[0].get("status").is_none()).then_some(())
    });
    let (again, _) = react(&server, "love", "add", key);
    assert_eq!(again, 202, "the same key again is accepted");
    nothing_left_to_send(dir.path(), "reaction");
    let calls = reaction_calls(&fake);
    assert_eq!(calls.len(), 1, "one reaction is one request: {calls:?}");
    let to_linq = calls[0].at.saturating_duration_since(asked);
    eprintln!("reaction: 202 with the bubble after {answered:?}, at the fake after {to_linq:?}");
    assert_eq!(calls[0].method, "POST", "reactions are POSTed");
    assert_eq!(
        calls[0].path,
        format!("/api/partner/v3/messages/{ASK}/reactions"),
        "v3's reaction path"
    );
    assert_eq!(
        calls[0].body,
        Some(json!({"operation": "add", "type": "love"})),
        "v3's reaction body"
    );
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str()),
        "v3's bearer"
    );
    own_reaction_webhook(&server, "reaction.added", "love");
    server.wait_projected();
    let after = reactions_on_ask(&server);
    assert_eq!(
        after.len(),
        1,
        "Linq's report is the same reaction: {after:?}"
    );

    let (status, removed) = react(
        &server,
        "love",
        "remove",
        "1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6",
    );
    assert_eq!(status, 202, "a removal is accepted: {removed}");
    assert_eq!(
        removed["reactions"].as_array().map(Vec::len),
        Some(0),
        "and gone from the bubble at once: {removed}"
    );
    until("Linq took the removal", || {
        (reaction_calls(&fake).len() == 2).then_some(())
    });
    assert_eq!(
        reaction_calls(&fake)[1].body,
        Some(json!({"operation": "remove", "type": "love"})),
        "the removal names the same tapback"
    );
    own_reaction_webhook(&server, "reaction.removed", "love");
    server.wait_projected();
    assert!(
        reactions_on_ask(&server).is_empty(),
        "Linq's report of the removal leaves none"
    );
    assert!(
        fake.actions.lock().unwrap().reactions.is_empty(),
        "Linq holds no reaction either"
    );
}

#[test]
fn a_refused_reaction_is_failed_with_linq_s_sentence_and_a_bad_one_is_a_400() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let (status, answer) = server.post_api(
        &format!("/api/messages/{ASK}/reactions"),
        &json!({"reaction": "thumbs", "operation": "add"}).to_string(),
    );
    assert_eq!(status, 400, "not a tapback: {answer}");
    let (status, _) = server.post_api(
        "/api/messages/no-such-message/reactions",
        &json!({"reaction": "like", "operation": "add"}).to_string(),
    );
    assert_eq!(status, 404, "no such message");
    fake.actions.lock().unwrap().script.push_back(error(
        403,
        2024,
        "Recipient has opted out of messages",
    ));
    let (status, _) = server.post_api(
        &format!("/api/messages/{ASK}/reactions"),
        &json!({"reaction": "like", "operation": "add"}).to_string(),
    );
    assert_eq!(status, 202, "queued");
    let failed = until("the reaction failed", || {
        reactions_on_ask(&server)
            .into_iter()
            .find(|r| r["status"] == "failed")
    });
    assert_eq!(failed["reaction"], "like", "the refused tapback: {failed}");
    assert_eq!(failed["operation"], "add", "what failed: {failed}");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("opted out")),
        "with Linq's reason in one sentence: {failed}"
    );
}

fn killed_before_send(dir: &Path, fake: &FakeLinq) {
    let mut server = serve(dir, fake, Some("abort-before-send"));
    // The engine may die while answering: the hook aborts it as soon as the sender wakes.
    let url = format!("http://{}/api/messages/{ASK}/reactions", server.ui);
    let _ = ureq::post(&url)
        .set("Authorization", &format!("Bearer {}", server.token))
        .set("Content-Type", "application/json")
        .send_string(
            &json!({"reaction": "laugh", "operation": "add",
                    "client_id": "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"})
            .to_string(),
        );
    until("the hook killed the engine", || {
        server.child.try_wait().ok().flatten()
    });
    server.kill();
}

#[test]
fn killed_after_the_reaction_is_committed_it_reaches_linq_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    killed_before_send(dir.path(), &fake);
    assert!(
        reaction_calls(&fake).is_empty(),
        "nothing was sent before the crash"
    );
    let server = serve(dir.path(), &fake, None);
    until("the reaction reaches Linq after the restart", || {
        (!reaction_calls(&fake).is_empty()).then_some(())
    });
    until("and is settled", || {
        let r = reactions_on_ask(&server);
        (r.len() == 1 && r[0].get("status").is_none()).then_some(())
    });
    nothing_left_to_send(dir.path(), "reaction");
    assert_eq!(reaction_calls(&fake).len(), 1, "exactly once");
    assert_eq!(
        reactions_on_ask(&server).len(),
        1,
        "one reaction on the bubble"
    );
}

/// Ann writes again: the chat has something unread.
fn ann_writes(server: &Server, id: &str) {
    let body = json!({"api_version": "v3", "webhook_version": "2026-02-03",
        "event_type": "message.received", "event_id": format!("evt-{id}"), "created_at": at(0),
        "data": {"id": id, "chat": {"id": CHAT, "is_group": false, "owner_handle": handle(LINE, true)},
                 "direction": "inbound", "sender_handle": handle(ANN, false),
                 "parts": [{"type": "text", "value": "are you there?"}], "sent_at": at(0),
                 "service": "iMessage"}})
    .to_string();
    assert_eq!(server.post_signed(&body).0, 200, "Ann's message is stored");
    until("the chat has something unread", || {
        let chat = server.api(&format!("/api/chats/{CHAT}"));
        let chat = chat.get("chat").unwrap_or(&chat);
        (chat["unread_count"].as_i64() > Some(0)).then_some(())
    });
}

/// Reads the chat in the UI; true when that queued a read mark for Linq.
fn open_chat(server: &Server) -> bool {
    let (status, answer) = server.post_api(&format!("/api/chats/{CHAT}/read"), "{}");
    assert_eq!(status, 200, "the chat is read: {answer}");
    answer["read_mark_queued"] == true
}

#[test]
fn read_marks_reach_linq_only_with_the_setting_on_and_one_waits_per_chat() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let settings = server.api("/api/settings");
    assert_eq!(
        settings["read_receipts"], false,
        "off by default: {settings}"
    );
    ann_writes(&server, "m-1");
    assert!(
        !open_chat(&server),
        "with the setting off no read mark is queued"
    );
    assert_eq!(
        (pending(dir.path(), "read"), read_calls(&fake).len()),
        (0, 0),
        "with the setting off Linq hears nothing"
    );

    let (status, on) = server.send_api("PUT", "/api/settings", Some(r#"{"read_receipts": true}"#));
    assert_eq!(status, 200, "the setting is saved: {on}");
    assert_eq!(on["read_receipts"], true, "and on");
    // Linq is down for the first two tries: the first mark waits, and reading the chat again
    // meanwhile adds no second one.
    {
        let mut actions = fake.actions.lock().unwrap();
        actions.script.push_back((503, vec![], "{}".into()));
        actions.script.push_back((503, vec![], "{}".into()));
    }
    ann_writes(&server, "m-2");
    open_chat(&server);
    until("the first try", || {
        (!read_calls(&fake).is_empty()).then_some(())
    });
    ann_writes(&server, "m-3");
    open_chat(&server);
    until("Linq took the read mark", || {
        (!fake.actions.lock().unwrap().reads.is_empty()).then_some(())
    });
    nothing_left_to_send(dir.path(), "read");
    let calls = read_calls(&fake);
    assert_eq!(
        calls.len(),
        3,
        "two refused tries and one that went, for one mark: {calls:?}"
    );
    assert!(
        calls.iter().all(|c| c.method == "POST"
            && c.path == format!("/api/partner/v3/chats/{CHAT}/read")
            && c.body.is_none()),
        "v3's read call, no body: {calls:?}"
    );
    assert!(
        !open_chat(&server),
        "a chat with nothing unread queues no mark"
    );
    assert_eq!(
        (pending(dir.path(), "read"), read_calls(&fake).len()),
        (0, 3),
        "and none waits or went out"
    );
}

#[test]
fn a_v2_account_reacts_and_marks_read_on_v2_s_paths() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeLinq::start();
    let server = crate::outbox::serve_v2_asked(
        dir.path(),
        &fake,
        "v2-evt-ask",
        "901",
        "can we move the demo?",
    );
    let (status, _) = server.send_api("PUT", "/api/settings", Some(r#"{"read_receipts": true}"#));
    assert_eq!(status, 200, "read receipts on");
    let (status, message) = server.post_api(
        "/api/messages/901/reactions",
        &json!({"reaction": "emphasize", "operation": "add"}).to_string(),
    );
    assert_eq!(status, 202, "queued: {message}");
    open_chat(&server);
    until("both reached Linq", || {
        (reaction_calls(&fake).len() == 1 && read_calls(&fake).len() == 1).then_some(())
    });
    let react = &reaction_calls(&fake)[0];
    assert_eq!(
        (react.method.as_str(), react.path.as_str()),
        ("POST", "/api/partner/v2/chat_messages/901/reactions"),
        "v2's reaction call"
    );
    assert_eq!(
        react.body,
        Some(json!({"type": "emphasize", "operation": "add"})),
        "v2's reaction body"
    );
    assert_eq!(react.token.as_deref(), Some(TOKEN), "v2's auth header");
    let read = &read_calls(&fake)[0];
    assert_eq!(
        (read.method.as_str(), read.path.as_str()),
        (
            "PUT",
            format!("/api/partner/v2/chats/{CHAT}/mark_as_read").as_str()
        ),
        "v2's read call"
    );
}

/// The chat as `GET /api/chats` lists it.
fn listed_chat(server: &Server) -> Value {
    let list = server.api("/api/chats");
    list["chats"]
        .as_array()
        .and_then(|chats| chats.iter().find(|c| c["chat_id"] == CHAT).cloned())
        .unwrap_or(Value::Null)
}

#[test]
fn a_read_mark_linq_refuses_is_shown_with_the_chat_until_reading_it_again_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let (status, _) = server.send_api("PUT", "/api/settings", Some(r#"{"read_receipts": true}"#));
    assert_eq!(status, 200, "read receipts on");
    assert_eq!(
        listed_chat(&server)["read_mark_error"],
        Value::Null,
        "nothing refused yet"
    );
    fake.actions.lock().unwrap().script.push_back(error(
        400,
        1001,
        "This chat belongs to another line",
    ));
    ann_writes(&server, "m-1");
    open_chat(&server);
    let shown = until("the chat shows the refusal", || {
        let error = listed_chat(&server)["read_mark_error"].clone();
        error.as_str().map(str::to_string)
    });
    assert!(
        shown.contains("This chat belongs to another line"),
        "Linq's own sentence: {shown}"
    );
    assert_eq!(
        listed_chat(&server)["unread_count"],
        0,
        "the chat stays read on the rep's side"
    );

    // Nothing is unread, yet reading the chat again sends the mark again; Linq takes it.
    open_chat(&server);
    until("Linq took the second mark", || {
        (fake.actions.lock().unwrap().reads.len() == 1).then_some(())
    });
    until("the refusal is gone", || {
        listed_chat(&server)["read_mark_error"]
            .is_null()
            .then_some(())
    });
    assert_eq!(read_calls(&fake).len(), 2, "one refused call and one taken");
    assert!(
        !open_chat(&server),
        "once taken, a chat with nothing unread queues no mark"
    );
    nothing_left_to_send(dir.path(), "read");
    assert_eq!(read_calls(&fake).len(), 2, "and no further mark went out");
}
