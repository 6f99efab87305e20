//! A new conversation through the outbox (issue 20 §3): `POST /api/chats` against the fake Linq's
//! `POST /v3/chats` (and v2's), which keys chats on the line and the participants and
//! deduplicates the first message by its key, as Linq does.

use std::path::Path;

use serde_json::{json, Value};

use crate::harness::Server;
use crate::linq_fake::{FakeLinq, Seen, TOKEN};
use crate::outbox::{at, fake, handle, items, serve, until, ANN, CHAT, LINE};

const SAM: &str = "+14155550199";
const KEY: &str = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";

fn start(server: &Server, to: &str, key: &str) -> (u16, Value) {
    server.post_api(
        "/api/chats",
        &json!({"to": to, "from": LINE, "text": "Hi, this is Sam from Acme", "client_id": key})
            .to_string(),
    )
}

fn creations(fake: &FakeLinq) -> Vec<Seen> {
    fake.seen()
        .into_iter()
        .filter(|s| s.method == "POST" && s.path.ends_with("/chats"))
        .collect()
}

/// The chats in the list whose handles include `who`.
fn chats_with(server: &Server, who: &str) -> Vec<Value> {
    server.api("/api/chats")["chats"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| {
            c["handles"]
                .as_array()
                .is_some_and(|hs| hs.iter().any(|h| h["identifier"] == who))
        })
        .collect()
}

/// The rep's messages in `chat_id` (none while there is no such chat).
fn outbound(server: &Server, chat_id: &str) -> Vec<Value> {
    let (_, thread) = server.get(&format!("/api/chats/{chat_id}/messages"));
    items(&thread)
        .into_iter()
        .filter(|m| m["direction"] == "outbound")
        .collect()
}

/// Waits until the conversation with Sam is Linq's chat `chat_id`, its message sent.
fn named(server: &Server, chat_id: &str) {
    until("the provisional chat became Linq's", || {
        let chats = chats_with(server, SAM);
        assert!(chats.len() <= 1, "never a second chat row: {chats:?}");
        let mine = outbound(server, chat_id);
        (chats.first().is_some_and(|c| c["chat_id"] == chat_id)
            && mine.len() == 1
            && mine[0]["status"] == "sent")
            .then_some(())
    });
}

#[test]
fn a_new_conversation_is_one_post_and_its_provisional_chat_becomes_linq_s_in_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let (status, answer) = start(&server, SAM, KEY);
    assert_eq!(status, 202, "accepted at once: {answer}");
    let provisional = format!("new:{KEY}");
    assert_eq!(
        answer["chat_id"],
        provisional.as_str(),
        "the rep lands in the provisional chat"
    );
    assert!(
        answer["message"]["status"] == "sending" || answer["message"]["status"] == "sent",
        "the first message shows at once: {answer}"
    );
    named(&server, "c-new-0001");
    let (status, _) = server.get(&format!("/api/chats/{provisional}"));
    assert_eq!(
        status, 404,
        "the provisional chat is gone, renamed, not copied"
    );
    let posts = creations(&fake);
    assert_eq!(posts.len(), 1, "one POST /v3/chats: {posts:?}");
    assert_eq!(posts[0].path, "/api/partner/v3/chats", "v3's path");
    assert_eq!(
        posts[0].body,
        Some(json!({"from": LINE, "to": [SAM], "message": {
            "parts": [{"type": "text", "value": "Hi, this is Sam from Acme"}],
            "idempotency_key": KEY}})),
        "v3's body: the line, the number, the message with its key"
    );
    let (again, second) = start(&server, SAM, KEY);
    assert_eq!(again, 202, "the same key again is accepted: {second}");
    crate::outbox::nothing_left_to_send(dir.path(), "message");
    assert_eq!(creations(&fake).len(), 1, "and sends nothing more");
    let text = outbound(&server, "c-new-0001");
    assert_eq!(
        text[0]["text"], "Hi, this is Sam from Acme",
        "the first message, once"
    );
}

#[test]
fn a_new_message_to_a_number_the_inbox_has_a_chat_with_goes_into_that_chat() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let (status, answer) = start(&server, ANN, KEY);
    assert_eq!(status, 202, "accepted: {answer}");
    assert_eq!(answer["chat_id"], CHAT, "Ann's chat on that line");
    until("sent into Ann's chat", || {
        fake.seen()
            .iter()
            .any(|s| {
                s.method == "POST" && s.path == format!("/api/partner/v3/chats/{CHAT}/messages")
            })
            .then_some(())
    });
    assert!(creations(&fake).is_empty(), "no new chat at Linq");
    assert_eq!(chats_with(&server, ANN).len(), 1, "and none in the inbox");
}

#[test]
fn a_number_that_is_not_international_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let (status, answer) = start(&server, "415 555 0199", KEY);
    assert_eq!(status, 400, "refused: {answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("international form")),
        "says what is wrong: {answer}"
    );
    assert!(creations(&fake).is_empty(), "nothing reached Linq");
}

/// Linq's `message.sent` about the first message, in its chat, carrying the key.
fn first_message_sent(server: &Server, chat_id: &str, id: &str) {
    let data = json!({"id": id, "chat": {"id": chat_id, "is_group": false, "owner_handle": handle(LINE, true)},
        "direction": "outbound", "sender_handle": handle(LINE, true),
        "parts": [{"type": "text", "value": "Hi, this is Sam from Acme"}], "sent_at": at(0),
        "service": "iMessage", "idempotency_key": KEY});
    let body =
        json!({"api_version": "v3", "webhook_version": "2026-02-03", "event_type": "message.sent",
        "event_id": format!("sent-{id}"), "created_at": at(0), "data": data})
        .to_string();
    assert_eq!(server.post_signed(&body).0, 200, "the webhook is accepted");
}

/// The engine on a Linq that cannot be reached (the sender keeps waiting).
fn offline(dir: &Path) -> Server {
    Server::start_with(
        dir,
        &[
            ("LINQ_API_BASE", Some("http://127.0.0.1:9")),
            ("LINQ_API_VERSION", Some("v3")),
            ("LINQ_INTEGRATION_TOKEN", Some(TOKEN)),
            ("LINQ_WEBHOOK_SECRET", Some(crate::harness::SECRET)),
        ],
    )
}

#[test]
fn linq_s_webhook_before_its_answer_is_recorded_still_leaves_one_chat_and_one_bubble() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let mut server = serve(dir.path(), &fake, Some("abort-after-send"));
    let url = format!("http://{}/api/chats", server.ui);
    let _ = ureq::post(&url)
        .set("Authorization", &format!("Bearer {}", server.token))
        .set("Content-Type", "application/json")
        .send_string(
            &json!({"to": SAM, "from": LINE, "text": "Hi, this is Sam from Acme", "client_id": KEY})
                .to_string(),
        );
    until(
        "the hook killed the engine after Linq created the chat",
        || server.child.try_wait().ok().flatten(),
    );
    assert_eq!(creations(&fake).len(), 1, "Linq has the chat");
    server.kill();
    // Linq's webhook about the chat comes while the engine cannot reach Linq's API.
    let mut server = offline(dir.path());
    first_message_sent(
        &server,
        "c-new-0001",
        "first-0001-0000-4000-8000-000000000000",
    );
    server.wait_projected();
    server.kill();
    let server = serve(dir.path(), &fake, None);
    named(&server, "c-new-0001");
    assert_eq!(
        creations(&fake).len(),
        2,
        "asked again with the same key after the crash"
    );
    assert_eq!(
        fake.new_chats.lock().unwrap().messages.len(),
        1,
        "which Linq deduplicated: one message"
    );
    assert_eq!(
        outbound(&server, "c-new-0001").len(),
        1,
        "one bubble in one chat"
    );
}

#[test]
fn a_v2_account_starts_a_conversation_with_v2_s_body() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeLinq::start();
    let server = crate::outbox::serve_v2(dir.path(), &fake);
    let (status, answer) = start(&server, SAM, KEY);
    assert_eq!(status, 202, "accepted: {answer}");
    named(&server, "7001");
    let posts = creations(&fake);
    assert_eq!(posts.len(), 1, "one POST: {posts:?}");
    assert_eq!(posts[0].path, "/api/partner/v2/chats", "v2's path");
    assert_eq!(
        posts[0].body,
        Some(json!({"send_from": LINE, "chat": {"phone_numbers": [SAM]},
                    "message": {"text": "Hi, this is Sam from Acme", "idempotency_key": KEY}})),
        "v2's body"
    );
    assert_eq!(posts[0].token.as_deref(), Some(TOKEN), "v2's auth header");
}
