//! Answering from the inbox (issue 20): the real binary's outbox against the fake Linq's send
//! endpoint, which records every request and deduplicates by idempotency key as Linq does.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::Server;
use crate::linq_fake::{Account, FakeLinq, Seen, TOKEN};
use crate::linq_fake_send::error;

pub(crate) const LINE: &str = "+14155550100";
pub(crate) const ANN: &str = "+14155550101";
pub(crate) const CHAT: &str = "c-ann";

pub(crate) fn at(minutes_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn handle(h: &str, is_me: bool) -> Value {
    json!({"id": format!("h-{h}"), "handle": h, "is_me": is_me, "service": "iMessage",
           "joined_at": at(10_000)})
}

/// A fake Linq (v3) whose account has one chat with Ann and her question in it.
pub(crate) fn fake() -> FakeLinq {
    let mut account = Account::new("v3", vec![LINE.into()]);
    let chat = json!({"id": CHAT, "created_at": at(100), "updated_at": at(1), "is_group": false,
        "display_name": "Ann", "handles": [handle(LINE, true), handle(ANN, false)],
        "service": "iMessage", "is_archived": false,
        "health_status": {"status": "HEALTHY", "doc_url": "https://docs", "updated_at": at(1)}});
    let question = json!({"id": "m-ask", "chat_id": CHAT, "created_at": at(5), "updated_at": at(5),
        "is_from_me": false, "delivery_status": "received", "is_delivered": false, "is_read": false,
        "sent_at": at(5), "delivered_at": null, "read_at": null, "from_handle": handle(ANN, false),
        "service": "iMessage",
        "parts": [{"type": "text", "value": "can we move the demo to Friday?", "reactions": []}]});
    account.add_chat(chat, vec![question]);
    let fake = FakeLinq::start();
    *fake.account.lock().unwrap() = Some(account);
    fake
}

/// The engine on `fake`, speaking v3, with the chat caught up; `hook` sets the outbox's test hook.
pub(crate) fn serve(dir: &Path, fake: &FakeLinq, hook: Option<&str>) -> Server {
    serve_with(dir, fake, &[("LINQ_INBOX_TEST_OUTBOX", hook)])
}

/// [`serve`] with more of the engine's environment (test hooks).
pub(crate) fn serve_with(dir: &Path, fake: &FakeLinq, more: &[(&str, Option<&str>)]) -> Server {
    let base = fake.base();
    let mut env = vec![
        ("LINQ_API_BASE", Some(base.as_str())),
        ("LINQ_API_VERSION", Some("v3")),
        ("LINQ_INTEGRATION_TOKEN", Some(TOKEN)),
        ("LINQ_INBOX_SYNC_RATE", Some("0")),
        ("LINQ_WEBHOOK_SECRET", Some(crate::harness::SECRET)),
    ];
    env.extend_from_slice(more);
    let server = Server::start_with(dir, &env);
    until("the chat is caught up", || {
        let (status, thread) = server.get(&format!("/api/chats/{CHAT}/messages"));
        (status == 200 && !items(&thread).is_empty()).then_some(())
    });
    server
}

/// The engine on a v2 account (`linq-api.md` §14: its own auth header, forms, numeric ids).
pub(crate) fn serve_v2(dir: &Path, fake: &FakeLinq) -> Server {
    let base = fake.base();
    Server::start_with(
        dir,
        &[
            ("LINQ_API_BASE", Some(&base)),
            ("LINQ_API_VERSION", Some("v2")),
            ("LINQ_INTEGRATION_TOKEN", Some(TOKEN)),
            ("LINQ_INBOX_SYNC_RATE", Some("0")),
            ("LINQ_WEBHOOK_SECRET", Some(crate::harness::SECRET)),
        ],
    )
}

/// [`serve_v2`] with Ann's question (Linq's id `message_id`) delivered by a signed v2 webhook
/// and shown in her chat.
pub(crate) fn serve_v2_asked(
    dir: &Path,
    fake: &FakeLinq,
    event_id: &str,
    message_id: &str,
    text: &str,
) -> Server {
    let server = serve_v2(dir, fake);
    let question = crate::harness::envelope(
        "message.received",
        event_id,
        json!({"id": message_id, "chat_id": CHAT, "text": text, "sent_at": at(3),
               "from_phone": ANN, "service": "iMessage",
               "chat_handles": [{"identifier": ANN, "is_me": false},
                                {"identifier": LINE, "is_me": true}]}),
    );
    assert_eq!(
        server.post_signed(&question).0,
        200,
        "Ann's v2 message is stored"
    );
    until("the chat is in the inbox", || {
        let (status, thread) = server.get(&format!("/api/chats/{CHAT}/messages"));
        (status == 200 && !items(&thread).is_empty()).then_some(())
    });
    server
}

pub(crate) fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub(crate) fn items(thread: &Value) -> Vec<Value> {
    thread["items"]
        .as_array()
        .or_else(|| thread["messages"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// The rep's own messages in the thread.
pub fn mine(server: &Server) -> Vec<Value> {
    items(&server.api(&format!("/api/chats/{CHAT}/messages")))
        .into_iter()
        .filter(|m| m["direction"] == "outbound")
        .collect()
}

pub fn reply(server: &Server, client_id: &str, text: &str) -> (u16, Value) {
    server.post_api(
        &format!("/api/chats/{CHAT}/messages"),
        &json!({"text": text, "client_id": client_id}).to_string(),
    )
}

/// Waits until the one reply in the thread has `status`; the reply.
pub fn status_becomes(server: &Server, status: &str) -> Value {
    until(&format!("the reply is {status}"), || {
        let mine = mine(server);
        assert!(mine.len() <= 1, "never a second bubble: {mine:?}");
        mine.into_iter().find(|m| m["status"] == status)
    })
}

pub fn sends(fake: &FakeLinq) -> Vec<Seen> {
    fake.seen()
        .into_iter()
        .filter(|s| s.method == "POST" && s.path.ends_with(&format!("/chats/{CHAT}/messages")))
        .collect()
}

#[test]
fn one_reply_is_one_post_with_its_client_id_as_key_and_the_same_id_again_is_the_same_reply() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let key = "5b9e1f0a-2c4d-4e6f-8a1b-3c5d7e9f0a21";
    let asked = Instant::now();
    let (status, first) = reply(&server, key, "Friday works");
    let answered = asked.elapsed();
    assert_eq!(status, 202, "a reply is accepted at once: {first}");
    assert_eq!(first["client_id"], key, "the bubble carries its client id");
    assert!(
        first["status"] == "sending" || first["status"] == "sent",
        "shown at once, not yet confirmed: {first}"
    );
    let sent = status_becomes(&server, "sent");
    assert_eq!(sent["text"], "Friday works", "the rep's text");
    let (again, second) = reply(&server, key, "Friday works");
    assert_eq!(again, 202, "the same client id again is accepted: {second}");
    assert_eq!(second["id"], first["id"], "and is the same reply");
    nothing_left_to_send(dir.path(), "message");
    let posts = sends(&fake);
    assert_eq!(posts.len(), 1, "one send is one POST: {posts:?}");
    let to_linq = posts[0].at.saturating_duration_since(asked);
    eprintln!("reply: 202 with the bubble after {answered:?}, at the fake after {to_linq:?}");
    assert!(
        answered < Duration::from_secs(2) && to_linq < Duration::from_secs(2),
        "the bubble ({answered:?}) and the send ({to_linq:?}) follow at once"
    );
    let body = posts[0].body.clone().unwrap_or_default();
    assert_eq!(
        body["message"]["idempotency_key"], key,
        "with the client id as key"
    );
    assert_eq!(
        body["message"]["parts"][0]["value"], "Friday works",
        "{body}"
    );
    assert_eq!(
        posts[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str()),
        "v3's auth header"
    );
    assert_eq!(mine(&server).len(), 1, "one bubble in the thread");
}

/// Linq's v3 webhook about the rep's message `id` (`message.sent`, `message.delivered`), with
/// the idempotency key it was sent with when `key` says.
fn webhook(server: &Server, event_type: &str, id: &str, text: &str, key: Option<&str>) {
    let data = json!({"id": id, "chat": {"id": CHAT, "is_group": false,
                      "owner_handle": handle(LINE, true)},
                      "direction": "outbound", "sender_handle": handle(LINE, true),
                      "parts": [{"type": "text", "value": text}], "sent_at": at(0),
                      "delivered_at": (event_type == "message.delivered").then(|| at(0)),
                      "service": "iMessage", "idempotency_key": key});
    let body = json!({"api_version": "v3", "webhook_version": "2026-02-03",
                      "event_type": event_type, "event_id": format!("{event_type}-{id}"),
                      "created_at": at(0), "data": data})
    .to_string();
    let (status, answer) = server.post_signed(&body);
    assert_eq!(status, 200, "the webhook is accepted: {answer}");
}

#[test]
fn linq_s_webhooks_about_the_sent_reply_move_the_same_bubble() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let (status, first) = reply(
        &server,
        "a1b2c3d4-0000-4000-8000-00000000000a",
        "See you then",
    );
    assert_eq!(status, 202, "{first}");
    status_becomes(&server, "sent");
    let linq_id = fake.sends.lock().unwrap().accepted[0]["id"]
        .as_str()
        .map(str::to_string)
        .expect("the fake named the message");
    webhook(&server, "message.sent", &linq_id, "See you then", None);
    webhook(&server, "message.delivered", &linq_id, "See you then", None);
    let delivered = status_becomes(&server, "delivered");
    assert_eq!(delivered["id"], first["id"], "the same bubble moved");
    let thread = mine(&server);
    assert_eq!(
        thread.len(),
        1,
        "no second bubble for the webhook's copy: {thread:?}"
    );
}

#[test]
fn a_webhook_before_linq_s_answer_is_recorded_still_leaves_one_bubble() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    // Linq is slow to answer: its webhook about the message arrives first.
    *fake.delay.lock().unwrap() = Duration::from_millis(1500);
    let server = serve(dir.path(), &fake, None);
    let key = "a1b2c3d4-0000-4000-8000-00000000000b";
    let (status, _) = reply(&server, key, "On my way");
    assert_eq!(status, 202, "accepted");
    let linq_id = until("the fake took the message", || {
        fake.sends
            .lock()
            .unwrap()
            .accepted
            .first()
            .map(|m| m["id"].as_str().unwrap_or_default().to_string())
    });
    webhook(
        &server,
        "message.delivered",
        &linq_id,
        "On my way",
        Some(key),
    );
    let delivered = status_becomes(&server, "delivered");
    assert_eq!(delivered["text"], "On my way", "{delivered}");
    assert_eq!(
        delivered["client_id"], key,
        "the reply's own bubble: {delivered}"
    );
    until("Linq's answer is recorded", || {
        outbox_state(dir.path(), key).filter(|s| s == "sent")
    });
    let thread = mine(&server);
    assert_eq!(
        thread.len(),
        1,
        "one bubble once the answer is recorded too: {thread:?}"
    );
    assert_eq!(thread[0]["status"], "delivered", "and still delivered");
}

/// The sender's queue state of `key`, read from the database.
/// Outbox rows of `kind` (`message`, `reaction`, `read`) still waiting: queued, or on their way
/// to Linq. With none, Linq hears of nothing more of that kind: the queue is the only way one
/// goes out. A test that something was sent once waits for this, then counts Linq's calls.
pub(crate) fn pending(dir: &Path, kind: &str) -> i64 {
    crate::harness::open_db(dir)
        .query_row(
            "SELECT count(*) FROM outbox WHERE kind = ?1 AND state = 'pending'",
            [kind],
            |r| r.get(0),
        )
        .expect("the outbox is readable")
}

/// Waits until no outbox row of `kind` is left to send.
pub(crate) fn nothing_left_to_send(dir: &Path, kind: &str) {
    until(&format!("no {kind} left to send"), || {
        (pending(dir, kind) == 0).then_some(())
    });
}

fn outbox_state(dir: &Path, key: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(crate::harness::db_path(dir)).ok()?;
    conn.query_row(
        "SELECT state FROM outbox WHERE client_id = ?1",
        [key],
        |r| r.get(0),
    )
    .ok()
}

#[test]
fn a_503_then_200_is_tried_again_and_a_429_waits_its_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    {
        let mut sends = fake.sends.lock().unwrap();
        sends
            .script
            .push_back(error(503, 3006, "Service unavailable"));
        let mut limited = error(429, 1007, "Rate limited");
        limited.1.push(("Retry-After".into(), "2".into()));
        sends.script.push_back(limited);
    }
    let (status, _) = reply(&server, "a1b2c3d4-0000-4000-8000-00000000000c", "Thanks!");
    assert_eq!(status, 202, "accepted");
    status_becomes(&server, "sent");
    let posts = sends(&fake);
    assert_eq!(posts.len(), 3, "503, 429, then 200: {posts:?}");
    let keys: Vec<&Value> = posts
        .iter()
        .filter_map(|p| p.body.as_ref().map(|b| &b["message"]["idempotency_key"]))
        .collect();
    assert!(
        keys.iter()
            .all(|k| **k == json!("a1b2c3d4-0000-4000-8000-00000000000c")),
        "every try carries the same key"
    );
    let waited = posts[2].at - posts[1].at;
    assert!(
        waited >= Duration::from_secs(2),
        "the 429's Retry-After was honoured ({waited:?})"
    );
    assert_eq!(
        fake.sends.lock().unwrap().accepted.len(),
        1,
        "one message at Linq"
    );
}

#[test]
fn an_opted_out_recipient_fails_with_its_sentence_and_retry_sends_once_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    fake.sends.lock().unwrap().opted_out = true;
    let server = serve(dir.path(), &fake, None);
    let key = "a1b2c3d4-0000-4000-8000-00000000000d";
    let (status, _) = reply(&server, key, "Hello again");
    assert_eq!(status, 202, "accepted");
    let failed = status_becomes(&server, "failed");
    let sentence = failed["error"].as_str().unwrap_or_default();
    assert!(sentence.contains("opted out"), "Linq's reason: {failed}");
    assert_eq!(sentence.lines().count(), 1, "one sentence");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        sends(&fake).len(),
        1,
        "a lasting refusal is not tried again by itself"
    );
    fake.sends.lock().unwrap().opted_out = false;
    let (retried, answer) = server.post_api(&format!("/api/outbox/{key}/retry"), "");
    assert_eq!(retried, 200, "retry of a failed reply: {answer}");
    status_becomes(&server, "sent");
    assert_eq!(fake.sends.lock().unwrap().accepted.len(), 1, "sent once");
    let (again, _) = server.post_api(&format!("/api/outbox/{key}/retry"), "");
    assert_eq!(again, 409, "a sent reply cannot be retried");
}

#[test]
fn a_failed_reply_can_be_deleted_and_leaves_the_thread() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    fake.sends.lock().unwrap().opted_out = true;
    let server = serve(dir.path(), &fake, None);
    let key = "a1b2c3d4-0000-4000-8000-00000000000e";
    reply(&server, key, "Never mind");
    status_becomes(&server, "failed");
    let (status, _) = server.send_api("DELETE", &format!("/api/outbox/{key}"), None);
    assert_eq!(status, 204, "a failed reply is dropped");
    until("the bubble is gone", || {
        mine(&server).is_empty().then_some(())
    });
    let (unknown, _) = server.send_api("DELETE", &format!("/api/outbox/{key}"), None);
    assert_eq!(unknown, 404, "it is no longer in the outbox");
}

/// Posts a reply to a server that may die while answering (the test hooks abort it).
fn reply_to_dying(server: &Server, key: &str, text: &str) {
    let url = format!("http://{}/api/chats/{CHAT}/messages", server.ui);
    let _ = ureq::post(&url)
        .set("Authorization", &format!("Bearer {}", server.token))
        .set("Content-Type", "application/json")
        .send_string(&json!({"text": text, "client_id": key}).to_string());
}

fn killed_at(hook: &str, posts_before_restart: usize) {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let mut server = serve(dir.path(), &fake, Some(hook));
    let key = "a1b2c3d4-0000-4000-8000-0000000000f1";
    reply_to_dying(&server, key, "Friday at 10?");
    until("the hook killed the engine", || {
        server.child.try_wait().ok().flatten()
    });
    assert_eq!(
        sends(&fake).len(),
        posts_before_restart,
        "the POSTs made before the kill"
    );
    server.kill();
    let server = serve(dir.path(), &fake, None);
    let sent = status_becomes(&server, "sent");
    assert_eq!(
        sent["text"], "Friday at 10?",
        "the committed reply survived the kill"
    );
    assert_eq!(
        fake.sends.lock().unwrap().accepted.len(),
        1,
        "Linq has it exactly once"
    );
    assert_eq!(mine(&server).len(), 1, "the thread shows it once");
    let keys: Vec<Value> = sends(&fake)
        .iter()
        .filter_map(|p| {
            p.body
                .as_ref()
                .map(|b| b["message"]["idempotency_key"].clone())
        })
        .collect();
    assert!(
        keys.iter().all(|k| *k == json!(key)),
        "every try carried the key: {keys:?}"
    );
}

#[test]
fn killed_after_the_commit_before_the_send_the_reply_reaches_linq_once() {
    killed_at("abort-before-send", 0);
}

#[test]
fn killed_after_the_send_before_the_answer_is_recorded_the_reply_reaches_linq_once() {
    killed_at("abort-after-send", 1);
}

fn cli_env(base: &str) -> Vec<(&str, Option<&str>)> {
    vec![
        ("LINQ_API_BASE", Some(base)),
        ("LINQ_API_VERSION", Some("v3")),
        ("LINQ_INTEGRATION_TOKEN", Some(TOKEN)),
        ("LINQ_INBOX_SYNC_RATE", Some("0")),
        ("LINQ_WEBHOOK_SECRET", Some(crate::harness::SECRET)),
    ]
}

#[test]
fn linq_send_goes_through_the_outbox_and_a_refusal_is_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let base = fake.base();
    let env = cli_env(&base);
    let (synced, _, err) = crate::harness::cli_with(&["linq", "sync"], dir.path(), None, &env);
    assert!(synced, "the chat is caught up first: {err}");
    let args = ["linq", "send", "--chat", CHAT, "-"];
    let (ok, out, err) = crate::harness::cli_with(&args, dir.path(), Some(b"Friday works\n"), &env);
    assert!(ok, "the reply is sent: {err}");
    assert!(out.contains("Sent"), "says so: {out}");
    let posts = sends(&fake);
    assert_eq!(posts.len(), 1, "one POST");
    let body = posts[0].body.clone().unwrap_or_default();
    assert_eq!(
        body["message"]["parts"][0]["value"], "Friday works",
        "the text from stdin"
    );
    let key = body["message"]["idempotency_key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        outbox_state(dir.path(), &key).as_deref(),
        Some("sent"),
        "through the outbox, key {key}"
    );

    fake.sends.lock().unwrap().opted_out = true;
    let args = ["linq", "send", "--chat", CHAT, "Hello?"];
    let (ok, _, err) = crate::harness::cli_with(&args, dir.path(), None, &env);
    assert!(!ok, "a refusal is a failed exit");
    assert!(err.contains("opted out"), "with Linq's reason: {err}");
    assert_eq!(err.trim().lines().count(), 1, "in one line: {err}");

    let args = ["linq", "send", "--chat", "c-nobody", "Hi"];
    let (ok, _, err) = crate::harness::cli_with(&args, dir.path(), None, &env);
    assert!(
        !ok && err.contains("no chat"),
        "an unknown chat is refused before anything is queued: {err}"
    );
}

/// `linq send` sends its own reply only: one the app left queued (Linq answered 503, the app
/// quit before the next try) stays the app's to send, so a script run beside the app never
/// sends the app's replies a second time.
#[test]
fn linq_send_sends_its_own_reply_and_leaves_the_app_s_queue_to_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let app_key = "a1b2c3d4-0000-4000-8000-0000000000a1";
    {
        let server = serve(dir.path(), &fake, None);
        let mut sends = fake.sends.lock().unwrap();
        for _ in 0..50 {
            sends
                .script
                .push_back(error(503, 3006, "Service unavailable"));
        }
        drop(sends);
        let (status, _) = reply(&server, app_key, "From the app");
        assert_eq!(status, 202, "the app's reply is queued");
        until("Linq refused the app's first try", || {
            (!sends_with(&fake, app_key).is_empty()).then_some(())
        });
    }
    fake.sends.lock().unwrap().script.clear();
    let conn = rusqlite::Connection::open(crate::harness::db_path(dir.path())).unwrap();
    let next_at: i64 = conn
        .query_row(
            "SELECT next_at FROM outbox WHERE client_id = ?1",
            [app_key],
            |r| r.get(0),
        )
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    // The app's reply is due again when the script runs: only the script's choice keeps it back.
    std::thread::sleep(Duration::from_millis(
        u64::try_from(next_at - now).unwrap_or(0) + 200,
    ));
    let before = sends(&fake).len();
    let base = fake.base();
    let env = cli_env(&base);
    let args = ["linq", "send", "--chat", CHAT, "From the script"];
    let (ok, _, err) = crate::harness::cli_with(&args, dir.path(), None, &env);
    assert!(ok, "the script's reply is sent: {err}");
    let after = sends(&fake);
    let new: Vec<&Seen> = after[before..].iter().collect();
    assert_eq!(new.len(), 1, "one POST, the script's own: {new:?}");
    let text = new[0]
        .body
        .as_ref()
        .map(|b| b["message"]["parts"][0]["value"].clone());
    assert_eq!(text, Some(json!("From the script")), "its text");
    assert_eq!(
        outbox_state(dir.path(), app_key).as_deref(),
        Some("pending"),
        "the app's reply waits for the app"
    );
}

fn sends_with(fake: &FakeLinq, key: &str) -> Vec<Seen> {
    sends(fake)
        .into_iter()
        .filter(|p| {
            p.body
                .as_ref()
                .is_some_and(|b| b["message"]["idempotency_key"] == json!(key))
        })
        .collect()
}

/// v2 sends a form (`linq-api.md` §14: `message[text]`, `message[idempotency_key]`) with its
/// own auth header, and Linq's numeric id comes back as the reply's.
#[test]
fn a_v2_account_sends_the_reply_as_a_form_with_its_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeLinq::start();
    let server = serve_v2_asked(
        dir.path(),
        &fake,
        "v2-evt-ask",
        "901",
        "can we move the demo?",
    );
    let key = "7c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e";
    let (status, first) = reply(&server, key, "Friday works");
    assert_eq!(status, 202, "a reply is accepted at once: {first}");
    let sent = status_becomes(&server, "sent");
    assert_eq!(sent["text"], "Friday works", "the rep's text");
    let (again, _) = reply(&server, key, "Friday works");
    assert_eq!(again, 202, "the same client id again is the same reply");
    nothing_left_to_send(dir.path(), "message");
    let posts: Vec<Seen> = fake
        .seen()
        .into_iter()
        .filter(|s| {
            s.method == "POST" && s.path.ends_with(&format!("/v2/chats/{CHAT}/chat_messages"))
        })
        .collect();
    assert_eq!(posts.len(), 1, "one send is one POST: {posts:?}");
    assert!(
        posts[0]
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("multipart/form-data")),
        "v2's send is a form: {:?}",
        posts[0].content_type
    );
    let body = posts[0].body.clone().unwrap_or_default();
    assert_eq!(
        body["message"]["text"], "Friday works",
        "message[text]: {body}"
    );
    assert_eq!(
        body["message"]["idempotency_key"], key,
        "message[idempotency_key]: {body}"
    );
    assert_eq!(posts[0].token.as_deref(), Some(TOKEN), "v2's auth header");
    assert!(posts[0].authorization.is_none(), "no bearer on v2");
    assert_eq!(mine(&server).len(), 1, "one bubble in the thread");
}
