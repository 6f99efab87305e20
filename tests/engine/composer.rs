//! The composer's engine side (issue 20 §3): drafts kept per chat across restarts and cleared by
//! the reply sent from them, a reply to a quoted message carrying `reply_to` on the wire, and
//! the rep's typing sent to Linq only in one-to-one iMessage chats, throttled.

use serde_json::{json, Value};

use crate::linq_fake::FakeLinq;
use crate::outbox::{at, fake, handle, items, serve, status_becomes, until, ANN, CHAT, LINE};

const DRAFT: &str = "/api/chats/c-ann/draft";

#[test]
fn a_draft_survives_a_restart_and_the_reply_sent_from_it_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let mut server = serve(dir.path(), &fake, None);
    let (status, none) = server.get(DRAFT);
    assert_eq!(status, 404, "a chat starts without a draft: {none}");
    let body = json!({"text": "Friday could work, let me", "reply_to": "m-ask"}).to_string();
    let (status, _) = server.send_api("PUT", DRAFT, Some(&body));
    assert_eq!(status, 204, "the draft is kept");

    server.kill();
    let server = serve(dir.path(), &fake, None);
    let draft = server.api(DRAFT);
    assert_eq!(
        draft["text"], "Friday could work, let me",
        "the draft survived the restart"
    );
    assert_eq!(draft["reply_to"], "m-ask", "with the message it quotes");

    let (status, _) = server.post_api(
        &format!("/api/chats/{CHAT}/messages"),
        &json!({"text": "Friday could work, let me check", "client_id": "d1d2d3d4-0000-4000-8000-000000000001"})
            .to_string(),
    );
    assert_eq!(status, 202, "the reply is queued");
    let (status, gone) = server.get(DRAFT);
    assert_eq!(status, 404, "sending the reply cleared its draft: {gone}");
}

#[test]
fn bad_drafts_are_refused_with_a_sentence_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let cases = [
        (DRAFT, "not json".to_string(), 400),
        (DRAFT, json!({"text": 5}).to_string(), 400),
        (DRAFT, json!({"text": "x".repeat(10_001)}).to_string(), 400),
        (
            DRAFT,
            json!({"text": "hi", "reply_to": "m".repeat(500)}).to_string(),
            400,
        ),
        (
            "/api/chats/no-such-chat/draft",
            json!({"text": "hi"}).to_string(),
            404,
        ),
    ];
    for (path, body, want) in cases {
        let (status, answer) = server.send_api("PUT", path, Some(&body));
        assert_eq!(status, want, "PUT {path} {:.40}: {answer}", body);
        let sentence = answer["error"].as_str().unwrap_or_default();
        assert!(
            sentence.len() > 10,
            "the refusal says why in a sentence: {answer}"
        );
    }
    let (status, _) = server.get(DRAFT);
    assert_eq!(status, 404, "no refused draft was kept");
}

#[test]
fn a_reply_to_a_quoted_message_carries_reply_to_and_shows_the_quote() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let (status, bubble) = server.post_api(
        &format!("/api/chats/{CHAT}/messages"),
        &json!({"text": "Friday at 10 works", "client_id": "e1e2e3e4-0000-4000-8000-000000000001",
                "reply_to": "m-ask"})
        .to_string(),
    );
    assert_eq!(status, 202, "queued: {bubble}");
    assert_eq!(
        bubble["reply_to"]["text"], "can we move the demo to Friday?",
        "the bubble quotes the message it answers at once: {bubble}"
    );
    status_becomes(&server, "sent");
    let posted: Vec<Value> = fake
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST" && s.path.ends_with("/chats/c-ann/messages"))
        .filter_map(|s| s.body)
        .collect();
    assert_eq!(posted.len(), 1, "one send: {posted:?}");
    assert_eq!(
        posted[0]["message"]["reply_to"],
        json!({"message_id": "m-ask"}),
        "v3 reply_to names the quoted message on the wire"
    );
}

fn typing_calls(fake: &FakeLinq, chat: &str) -> Vec<String> {
    fake.seen()
        .into_iter()
        .filter(|s| s.path.contains(&format!("/chats/{chat}/typing")))
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}

fn typing(server: &crate::harness::Server, chat: &str, on: bool) -> Value {
    let (status, answer) = server.post_api(
        &format!("/api/chats/{chat}/typing"),
        &json!({"typing": on}).to_string(),
    );
    assert_eq!(status, 202, "typing is accepted: {answer}");
    answer
}

#[test]
fn typing_reaches_linq_once_per_refresh_in_a_one_to_one_imessage_chat_and_never_in_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let group = json!({"id": "c-team", "created_at": at(100), "updated_at": at(1), "is_group": true,
        "display_name": "Team", "handles": [handle(LINE, true), handle(ANN, false), handle("+14155550102", false)],
        "service": "iMessage", "is_archived": false,
        "health_status": {"status": "HEALTHY", "doc_url": "https://docs", "updated_at": at(1)}});
    let hello = json!({"id": "m-team", "chat_id": "c-team", "created_at": at(6), "updated_at": at(6),
        "is_from_me": false, "delivery_status": "received", "is_delivered": false, "is_read": false,
        "sent_at": at(6), "delivered_at": null, "read_at": null, "from_handle": handle(ANN, false),
        "service": "iMessage", "parts": [{"type": "text", "value": "team hello", "reactions": []}]});
    fake.account
        .lock()
        .unwrap()
        .as_mut()
        .expect("the fake has an account")
        .add_chat(group, vec![hello]);
    let server = serve(dir.path(), &fake, None);
    until("the group is caught up", || {
        let (status, thread) = server.get("/api/chats/c-team/messages");
        (status == 200 && !items(&thread).is_empty()).then_some(())
    });

    for _ in 0..5 {
        assert_eq!(
            typing(&server, CHAT, true)["forwarded"],
            true,
            "a DM in iMessage shows typing"
        );
    }
    typing(&server, CHAT, false);
    until("Linq got the start and the stop", || {
        (typing_calls(&fake, CHAT).len() >= 2).then_some(())
    });
    assert_eq!(
        typing(&server, "c-team", true)["forwarded"],
        false,
        "a group never gets the rep's typing"
    );
    // One task sends every chat's typing in the order it came: once a start typed after the
    // group's reaches Linq, anything the group's had queued would have gone before it.
    typing(&server, CHAT, true);
    until("Linq got the next start", || {
        (typing_calls(&fake, CHAT).len() >= 3).then_some(())
    });
    assert_eq!(
        typing_calls(&fake, CHAT),
        vec![
            "POST /api/partner/v3/chats/c-ann/typing".to_string(),
            "DELETE /api/partner/v3/chats/c-ann/typing".to_string(),
            "POST /api/partner/v3/chats/c-ann/typing".to_string()
        ],
        "five keystrokes are one start, then one stop; typing after the stop starts it again"
    );
    assert!(
        typing_calls(&fake, "c-team").is_empty(),
        "nothing went to the group"
    );
    let (status, answer) = server.post_api("/api/chats/c-ann/typing", "{\"typing\": \"yes\"}");
    assert_eq!(status, 400, "a bad body is refused: {answer}");
}
