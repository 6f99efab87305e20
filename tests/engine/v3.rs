//! Linq API v3 against the real binary: Standard Webhooks and legacy signatures over HTTP, a
//! conversation delivered half as v2 and half as v3 read back as one thread, and
//! `simulate --api-version v3` accepted end to end.

use std::time::{Duration, Instant};

use linq_inbox::linq::standard_webhooks::{sign, sign_legacy, signing_key};
use linq_inbox::linq::Secret;
use serde_json::{json, Value};

use crate::harness::*;

/// The fixture's Standard Webhooks secret, configured beside the v2 one (a migration).
const WHSEC: &str = "whsec_bGlucS1pbmJveC12My1maXh0dXJlLWtleS0zMmJ5dGU=";

fn both_secrets() -> String {
    format!("{SECRET},{WHSEC}")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Posts `body` signed the way Linq v3 signs: Standard Webhooks headers and the legacy pair.
fn post_v3(server: &Server, webhook_id: &str, body: &str, at: i64) -> (u16, Value) {
    let key = signing_key(&Secret::new(WHSEC));
    let sig = sign(&key, webhook_id, at, body.as_bytes());
    let legacy = sign_legacy(WHSEC.as_bytes(), at, body.as_bytes());
    let ts = at.to_string();
    server.post_with_headers(
        body.as_bytes(),
        &[
            ("webhook-id", webhook_id),
            ("webhook-timestamp", ts.as_str()),
            ("webhook-signature", sig.as_str()),
            ("X-Webhook-Timestamp", ts.as_str()),
            ("X-Webhook-Signature", legacy.as_str()),
        ],
    )
}

fn v3_envelope(event_type: &str, event_id: &str, data: Value) -> String {
    json!({"api_version": "v3", "webhook_version": "2026-02-03", "event_type": event_type,
           "event_id": event_id, "created_at": chrono::Utc::now().to_rfc3339(),
           "trace_id": format!("trace-{event_id}"), "partner_id": "partner-test", "data": data})
    .to_string()
}

/// Polls the thread until `ready` holds (the feed and the writer run on their own threads).
fn thread_when(server: &Server, chat: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = server.api(&format!("/api/chats/{chat}/messages?limit=100"));
        let items = page["messages"].as_array().cloned().unwrap_or_default();
        if ready(&items) || Instant::now() > deadline {
            return items;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_v3_fixture_is_accepted_and_deduplicated_by_webhook_id_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_secrets(dir.path(), &both_secrets());
    let body = fixture("v3/message.received.json");

    let (status, resp) = post_v3(&server, "msg_http_1", &body, now() - 400);
    assert_eq!(status, 401, "a timestamp 400 s old is refused: {resp}");
    assert!(
        resp["error"].as_str().unwrap_or("").contains("5 minutes"),
        "the refusal names the replay window: {resp}"
    );
    let tampered = body.replace("mañana", "manana");
    let key = signing_key(&Secret::new(WHSEC));
    let ts = now().to_string();
    let sig_of_original = sign(&key, "msg_http_1", now(), body.as_bytes());
    let (status, _) = server.post_with_headers(
        tampered.as_bytes(),
        &[
            ("webhook-id", "msg_http_1"),
            ("webhook-timestamp", ts.as_str()),
            ("webhook-signature", sig_of_original.as_str()),
        ],
    );
    assert_eq!(status, 401, "a tampered body is refused");

    let (status, resp) = post_v3(&server, "msg_http_1", &body, now());
    assert_eq!(status, 200, "the fixture re-signed now is accepted: {resp}");
    assert_eq!(
        resp["duplicate"],
        json!(false),
        "the first delivery of a webhook-id is not a duplicate"
    );

    // The same webhook-id again, even around a different event_id, is a duplicate.
    let other = body.replace("5b0c7f0e-4d1a-4c55-9a51-7f0f3f0e2a11", "another-event-id");
    let (status, resp) = post_v3(&server, "msg_http_1", &other, now());
    assert_eq!(
        status, 200,
        "a repeated webhook-id is acknowledged so Linq stops retrying"
    );
    assert_eq!(
        resp["duplicate"],
        json!(true),
        "webhook-id deduplicates: {resp}"
    );

    let events = server.all_events();
    assert_eq!(events.len(), 1, "one stored event");
    assert_eq!(
        events[0]["signature"],
        json!("standard"),
        "the event records that it was verified by a Standard Webhooks signature"
    );
    let status = server.api("/api/status");
    assert_eq!(
        status["signing"]["secret_kinds"],
        json!(["shared", "standard_webhooks"]),
        "the whsec_ secret is recognised: {status}"
    );
}

#[test]
fn the_legacy_form_alone_is_accepted_and_recorded_as_legacy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_secrets(dir.path(), WHSEC);
    let body = v3_envelope(
        "chat.typing_indicator.started",
        "legacy-1",
        json!({"chat_id": "c-legacy"}),
    );
    let ts = now();
    let legacy = sign_legacy(WHSEC.as_bytes(), ts, body.as_bytes());
    let ts = ts.to_string();
    let (status, resp) = server.post_with_headers(
        body.as_bytes(),
        &[
            ("X-Webhook-Timestamp", ts.as_str()),
            ("X-Webhook-Signature", legacy.as_str()),
        ],
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(
        server.all_events()[0]["signature"],
        json!("legacy"),
        "an event verified only by the legacy headers is recorded as such"
    );
}

#[test]
fn a_conversation_half_v2_half_v3_reads_back_as_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_secrets(dir.path(), &both_secrets());
    let chat = "88001";
    let me = "+17205550142";
    let them = "+14155550101";
    let handles = json!([
        {"identifier": them, "display_name": "María Gómez", "is_me": false},
        {"identifier": me, "display_name": "Jordan", "is_me": true},
    ]);
    let t = |min: u32| format!("2026-11-20T17:{min:02}:00Z");

    // v2: she asks, the rep answers with the quote, she reads it and loves it.
    for (kind, id, data) in [
        (
            "message.received",
            "v2-1",
            json!({"id": "m1", "chat_id": chat, "text": "Did the quote go out?",
            "sent_at": t(0), "from_phone": them, "service": "iMessage", "chat_handles": handles}),
        ),
        (
            "message.sent",
            "v2-2",
            json!({"id": "m2", "chat_id": chat, "text": "Sending it now",
            "sent_at": t(1), "from_phone": me, "service": "iMessage", "chat_handles": handles}),
        ),
        (
            "message.read",
            "v2-3",
            json!({"id": "m2", "chat_id": chat, "read_at": t(2)}),
        ),
        (
            "reaction.received",
            "v2-4",
            json!({"id": "r1", "chat_message_id": "m2", "chat_id": chat,
            "reaction": "love", "is_from_me": false, "sent_at": t(2),
            "chat_handle": {"identifier": them}}),
        ),
    ] {
        let (status, resp) = server.post_signed(&envelope(kind, id, data));
        assert_eq!(status, 200, "v2 {kind}: {resp}");
    }

    // v3, after the subscription moved: a reply, an edit, a delivered and a failed message,
    // a reaction added and removed, location sharing.
    let msg = |id: &str, outbound: bool, text: &str, at: String, reply: Value| {
        json!({"id": id, "chat": {"id": chat, "health_status": "healthy", "is_group": false,
                                  "owner_handle": {"id": "h-me", "handle": me, "joined_at": t(0),
                                                   "service": "iMessage", "is_me": true}},
               "direction": if outbound { "outbound" } else { "inbound" },
               "parts": [{"type": "text", "value": text, "text_decorations": null}],
               "sender_handle": {"id": "h", "handle": if outbound { me } else { them },
                                 "joined_at": t(0), "service": "iMessage", "is_me": outbound},
               "service": "iMessage", "sent_at": at, "delivered_at": null, "read_at": null,
               "reply_to": reply})
    };
    let mut delivered = msg("m4", true, "Here is the DPA", t(6), Value::Null);
    delivered["delivered_at"] = json!(t(7));
    let v3_events = [
        (
            "message.received",
            "v3-1",
            msg(
                "m3",
                false,
                "Got it, thanks! Wednesday?",
                t(5),
                json!({"message_id": "m2", "part_index": 0}),
            ),
        ),
        (
            "message.sent",
            "v3-2",
            msg("m4", true, "Here is the DPA", t(6), Value::Null),
        ),
        ("message.delivered", "v3-3", delivered),
        (
            "message.sent",
            "v3-4",
            msg("m5", true, "And the MSA", t(8), Value::Null),
        ),
        (
            "message.failed",
            "v3-5",
            json!({"code": 4001, "failed_at": t(9), "message_id": "m5",
            "chat_id": chat, "reason": "Not reachable on iMessage"}),
        ),
        (
            "message.edited",
            "v3-6",
            json!({"id": "m3", "chat": {"id": chat, "health_status": "healthy",
            "is_group": false, "owner_handle": null}, "direction": "inbound", "edited_at": t(10),
            "part": {"index": 0, "text": "Got it, thanks! Thursday?"},
            "sender_handle": {"id": "h", "handle": them, "joined_at": t(0), "service": "iMessage"}}),
        ),
        (
            "reaction.added",
            "v3-7",
            json!({"is_from_me": true, "reaction_type": "custom",
            "custom_emoji": "🎉", "chat_id": chat, "message_id": "m1", "part_index": 0,
            "reacted_at": t(11)}),
        ),
        (
            "reaction.removed",
            "v3-8",
            json!({"is_from_me": true, "reaction_type": "custom",
            "custom_emoji": "🎉", "chat_id": chat, "message_id": "m1", "part_index": 0,
            "reacted_at": t(12)}),
        ),
        (
            "location.sharing.started",
            "v3-9",
            json!({"shared_by": them, "shared_with": me,
            "began_at": t(13), "ends_at": null, "chat_id": chat}),
        ),
        (
            "phone_number.status_updated",
            "v3-10",
            json!({"phone_number": me, "changed_at": t(14),
            "previous_status": "ACTIVE", "new_status": "FLAGGED",
            "previous_reputation": "HEALTHY", "new_reputation": "AT_RISK"}),
        ),
    ];
    for (kind, id, data) in v3_events {
        let (status, resp) = post_v3(
            &server,
            &format!("msg_{id}"),
            &v3_envelope(kind, id, data),
            now(),
        );
        assert_eq!(status, 200, "v3 {kind}: {resp}");
    }

    let chats = server.api("/api/chats");
    assert_eq!(
        chats["chats"].as_array().map(Vec::len),
        Some(1),
        "one chat, not one per API version: {chats}"
    );
    let items = thread_when(&server, chat, |items| items.len() >= 6);
    let ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(
        ids,
        vec!["m1", "m2", "m3", "m4", "m5", "chatevent-v3-9"],
        "one coherent thread in time order"
    );
    let by_id = |id: &str| {
        items
            .iter()
            .find(|i| i["id"] == json!(id))
            .cloned()
            .unwrap_or_default()
    };

    let m1 = by_id("m1");
    assert_eq!(m1["reactions"], json!([]), "the v3 reaction was removed");
    let m2 = by_id("m2");
    assert_eq!(
        m2["direction"],
        json!("outbound"),
        "a v2 message.sent is the rep's own, outbound"
    );
    assert_eq!(
        m2["status"],
        json!("read"),
        "the v2 read receipt shows on the v2 message"
    );
    assert_eq!(
        m2["reactions"][0]["reaction"],
        json!("love"),
        "the v2 reaction stays on the message it was given to"
    );
    let m3 = by_id("m3");
    assert_eq!(m3["text"], json!("Got it, thanks! Thursday?"), "edited");
    assert_eq!(
        m3["edited_at"],
        json!(t(10)),
        "a v3 edit records when the message was edited"
    );
    assert_eq!(
        m3["reply_to"]["message_id"],
        json!("m2"),
        "a v3 reply points at the v2 message it answers"
    );
    assert_eq!(
        m3["reply_to"]["found"],
        json!(true),
        "the message a v3 reply answers is found in the same thread"
    );
    assert_eq!(
        m3["reply_to"]["text"],
        json!("Sending it now"),
        "a v3 reply shows the v2 message it answers"
    );
    assert_eq!(
        m3["from_name"],
        json!("María Gómez"),
        "the name v2 gave her"
    );
    let m4 = by_id("m4");
    assert_eq!(
        m4["status"],
        json!("delivered"),
        "a v3 delivery receipt marks the v3 message delivered"
    );
    assert_eq!(
        m4["delivered_at"],
        json!(t(7)),
        "the delivery time comes from the v3 receipt"
    );
    let m5 = by_id("m5");
    assert_eq!(
        m5["status"],
        json!("failed"),
        "a v3 message.failed marks the message failed"
    );
    assert_eq!(
        m5["failure"]["reason"],
        json!("Not reachable on iMessage"),
        "the failure keeps Linq's reason for the rep to read"
    );
    let location = by_id("chatevent-v3-9");
    assert_eq!(
        location["kind"],
        json!("chat_event"),
        "a v3 location share shows in the thread as a chat event"
    );
    assert_eq!(
        location["action"],
        json!("location_started"),
        "the chat event says a location share started"
    );
    assert_eq!(
        location["actor_name"],
        json!("María Gómez"),
        "the chat event names who shared, with the name v2 gave her"
    );

    let status = server.api("/api/status");
    assert_eq!(
        status["numbers"][0]["phone_number"],
        json!(me),
        "a v3 number health update lists the rep's number"
    );
    assert_eq!(
        status["numbers"][0]["needs_attention"],
        json!(true),
        "{status}"
    );

    let forms: Vec<String> = server
        .all_events()
        .iter()
        .map(|e| e["signature"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        forms.iter().filter(|f| *f == "raw").count(),
        4,
        "the four v2 events are stored as verified by the raw v2 signature"
    );
    assert_eq!(
        forms.iter().filter(|f| *f == "standard").count(),
        10,
        "the ten v3 events are stored as verified by Standard Webhooks"
    );
}

#[test]
fn simulate_api_version_v3_is_accepted_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_secrets(dir.path(), &both_secrets());
    let cli_dir = tempfile::tempdir().unwrap();
    let url = server.webhook_url();
    let (ok, out, err) = cli(
        &[
            "simulate",
            "--api-version",
            "v3",
            "--to",
            &url,
            "--secret",
            WHSEC,
            "--count",
            "60",
            "--rate",
            "0",
            "--seed",
            "9",
            "--json",
        ],
        cli_dir.path(),
        None,
    );
    assert!(ok, "simulate succeeds: {out}\n{err}");
    let report: Value = serde_json::from_str(&out).expect("the report is JSON");
    assert_eq!(report["accepted"], json!(60), "{report}");
    assert_eq!(report["unexpected_refusals"], json!(0), "{report}");
    let events = server.all_events();
    assert_eq!(events.len(), 60, "every simulated v3 event is stored once");
    let types: std::collections::HashSet<String> = events
        .iter()
        .filter_map(|e| e["event_type"].as_str().map(str::to_string))
        .collect();
    for t in linq_inbox::simulate::PROMISED_V3_EVENT_TYPES {
        assert!(types.contains(t), "{t} was sent and stored");
    }
    assert!(
        events.iter().all(|e| e["signature"] == json!("standard")),
        "every delivery verified by Standard Webhooks"
    );
}

/// The `data:` of every stored stream event, in order, until one has `until_event_id`.
fn stream_until(server: &Server, until_event_id: &str, send: impl FnOnce()) -> Vec<Value> {
    use std::io::{BufRead, BufReader};
    let agent = ureq::AgentBuilder::new()
        .timeout_read(Duration::from_secs(15))
        .build();
    let resp = agent
        .get(&format!("http://{}/api/stream", server.ui))
        .set("Authorization", &format!("Bearer {}", server.token))
        .set("Accept", "text/event-stream")
        .call()
        .expect("the stream opens");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(resp.into_reader()).lines() {
            let Ok(line) = line else { break };
            if let Some(data) = line.strip_prefix("data:") {
                let value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                if tx.send(value).is_err() {
                    break;
                }
            }
        }
    });
    send();
    let mut seen = Vec::new();
    while let Ok(v) = rx.recv_timeout(Duration::from_secs(10)) {
        let done = v["event_id"] == json!(until_event_id);
        seen.push(v);
        if done {
            break;
        }
    }
    seen
}

#[test]
fn the_live_stream_carries_what_v3_changed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_secrets(dir.path(), WHSEC);
    let chat = "c-live";
    let msg = |at: &str| {
        json!({"id": "m1", "chat": {"id": chat, "health_status": "healthy", "is_group": false,
                                    "owner_handle": null},
               "direction": "outbound", "parts": [{"type": "text", "value": "Hi"}],
               "sender_handle": {"id": "h", "handle": "+1999", "joined_at": at, "service": "SMS",
                                 "is_me": true},
               "service": "SMS", "sent_at": at, "delivered_at": null, "read_at": null})
    };
    let at = "2026-11-20T17:00:00Z";
    let mut delivered = msg(at);
    delivered["delivered_at"] = json!("2026-11-20T17:00:03Z");
    let events = [
        ("message.sent", "live-1", msg(at)),
        ("message.delivered", "live-2", delivered),
        (
            "message.edited",
            "live-3",
            json!({"id": "m1", "chat": {"id": chat}, "direction": "outbound",
            "edited_at": "2026-11-20T17:01:00Z", "part": {"index": 0, "text": "Hi there"}}),
        ),
        (
            "chat.group_name_updated",
            "live-4",
            json!({"chat_id": chat, "updated_at": "2026-11-20T17:02:00Z",
            "changed_by_handle": null, "old_value": null, "new_value": "Pilot team"}),
        ),
        (
            "chat.typing_indicator.started",
            "live-5",
            json!({"chat_id": chat}),
        ),
    ];
    let seen = stream_until(&server, "live-5", || {
        for (kind, id, data) in events {
            let body = v3_envelope(kind, id, data);
            let (status, resp) = post_v3(&server, &format!("msg_{id}"), &body, now());
            assert_eq!(status, 200, "{kind}: {resp}");
        }
    });
    let by_id = |id: &str| {
        seen.iter()
            .find(|v| v["event_id"] == json!(id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} came on the stream: {seen:?}"))
    };
    assert_eq!(
        by_id("live-2")["message"]["status"],
        json!("delivered"),
        "the stream carries a v3 delivery receipt as the message's new status"
    );
    assert_eq!(
        by_id("live-3")["message"]["text"],
        json!("Hi there"),
        "the stream carries a v3 edit's new text"
    );
    assert_eq!(
        by_id("live-3")["message"]["edited_at"],
        json!("2026-11-20T17:01:00Z"),
        "the stream carries when the message was edited"
    );
    let rename = by_id("live-4");
    assert_eq!(
        rename["chat_event"]["action"],
        json!("group_name"),
        "the stream carries a v3 group rename as a chat event"
    );
    assert_eq!(
        rename["chat"]["title"],
        json!("Pilot team"),
        "the chat summary has the new name"
    );
    let typing = by_id("live-5");
    assert_eq!(
        typing["typing"]["typing"][0]["name"],
        json!("Someone"),
        "v3 typing names no one: {typing}"
    );
}

#[test]
fn a_v3_log_imports_and_rebuilds_into_the_same_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let deliveries = linq_inbox::simulate::generate_v3(
        linq_inbox::simulate::Scenario::Demo,
        80,
        4,
        chrono::Utc::now(),
    );
    let jsonl: String = deliveries.iter().map(|d| format!("{}\n", d.body)).collect();
    let (ok, out, err) = cli(&["import", "-"], dir.path(), Some(jsonl.as_bytes()));
    assert!(ok, "import succeeds: {out}{err}");
    let server = Server::start(dir.path());
    let before = server.state();
    let chats = before["chats"]["chats"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        chats.len() >= 5,
        "the v3 story's chats are there: {}",
        chats.len()
    );
    let delivered = chats
        .iter()
        .filter_map(|c| c["chat_id"].as_str())
        .flat_map(|id| {
            server.api(&format!("/api/chats/{id}/messages?limit=500"))["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|m| m["status"] == json!("delivered"))
        .count();
    assert!(delivered > 0, "delivery reports were projected on import");
    drop(server);
    let (ok, out, err) = cli(&["rebuild"], dir.path(), None);
    assert!(ok, "rebuild succeeds: {out}{err}");
    let server = Server::start(dir.path());
    assert_eq!(server.state(), before, "rebuild re-derives the same inbox");
}
