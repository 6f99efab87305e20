use std::collections::HashMap;

use serde_json::{json, Value};

use crate::harness::*;

fn payload(e: &Value) -> Value {
    match &e["payload"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        v => v.clone(),
    }
}

fn thread(server: &Server, chat_id: &str) -> Vec<Value> {
    let v = server.api(&format!(
        "/api/chats/{}/messages?limit=500",
        urlenc(chat_id)
    ));
    v["messages"].as_array().cloned().unwrap_or_default()
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn id_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

#[test]
fn ui_api_after_demo_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let deliveries = demo(linq_inbox::simulate::DEFAULT_COUNT, 5);
    send_all(&server, &deliveries);
    let events = server.all_events();
    assert_eq!(
        events.len(),
        deliveries.len(),
        "every demo delivery is one stored event"
    );
    let datas: Vec<(String, Value)> = events
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap().to_string(),
                payload(e)["data"].clone(),
            )
        })
        .collect();

    // Names resolved from contacts.
    let contacts = server.api("/api/contacts")["contacts"]
        .as_array()
        .cloned()
        .unwrap();
    assert!(!contacts.is_empty(), "the demo creates contacts");
    let by_phone: HashMap<String, String> = contacts
        .iter()
        .filter_map(|c| {
            Some((
                c["phone_number"].as_str()?.to_string(),
                c["full_name"].as_str()?.to_string(),
            ))
        })
        .collect();
    let chats = server.api("/api/chats?limit=1000")["chats"]
        .as_array()
        .cloned()
        .unwrap();
    let mut resolved = 0;
    for chat in &chats {
        for h in chat["handles"].as_array().unwrap() {
            let ident = h["identifier"].as_str().unwrap_or("");
            assert!(
                h["name"].as_str().is_some_and(|n| !n.is_empty()),
                "every handle has a resolved name: {h}"
            );
            if let Some(full) = by_phone.get(ident) {
                assert_eq!(
                    h["name"].as_str(),
                    Some(full.as_str()),
                    "a handle with a contact shows the contact's full name"
                );
                resolved += 1;
            }
        }
    }
    assert!(
        resolved > 0,
        "at least one chat handle must resolve to a contact name"
    );

    // Reactions on the right message.
    let mut reactions_checked = 0;
    for (t, d) in &datas {
        if !t.starts_with("reaction.") {
            continue;
        }
        let chat = id_str(&d["chat_id"]);
        let target = id_str(&d["chat_message_id"]);
        let items = thread(&server, &chat);
        let msg = items
            .iter()
            .find(|m| m["id"] == json!(target))
            .unwrap_or_else(|| panic!("reacted-to message {target} must be in chat {chat}"));
        assert!(
            msg["reactions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == json!(id_str(&d["id"])) && r["reaction"] == d["reaction"]),
            "reaction {} must be attached to message {target}: {msg}",
            d["id"]
        );
        for other in items.iter().filter(|m| m["id"] != json!(target)) {
            if let Some(rs) = other["reactions"].as_array() {
                assert!(
                    !rs.iter().any(|r| r["id"] == json!(id_str(&d["id"]))),
                    "reaction {} must be on no other message",
                    d["id"]
                );
            }
        }
        reactions_checked += 1;
    }
    assert!(reactions_checked > 0, "the demo stream contains reactions");

    // Read receipts.
    let mut reads = 0;
    for (t, d) in &datas {
        if t != "message.read" {
            continue;
        }
        let items = thread(&server, &id_str(&d["chat_id"]));
        let msg = items
            .iter()
            .find(|m| m["id"] == json!(id_str(&d["id"])))
            .unwrap_or_else(|| panic!("read message {} must be in its chat", d["id"]));
        assert!(
            msg["read_at"].is_string(),
            "a message.read must set read_at: {msg}"
        );
        reads += 1;
    }
    assert!(reads > 0, "the demo stream contains read receipts");

    // Calls with transcriptions.
    let calls = server.api("/api/calls?limit=1000")["calls"]
        .as_array()
        .cloned()
        .unwrap();
    let mut transcripts = 0;
    for (t, d) in &datas {
        if t != "call.completed" {
            continue;
        }
        let call = calls
            .iter()
            .find(|c| c["id"] == json!(id_str(&d["id"])))
            .unwrap_or_else(|| panic!("call {} must be in /api/calls", d["id"]));
        if let Some(tr) = d["recording_data"]["transcription"].as_str() {
            assert_eq!(
                call["recording"]["transcription"].as_str(),
                Some(tr),
                "the call's transcription must be served"
            );
            transcripts += 1;
        }
    }
    assert!(
        transcripts > 0,
        "the demo stream contains a transcribed call"
    );

    // Deleted contacts gone.
    let mut deleted = 0;
    for (i, (t, d)) in datas.iter().enumerate() {
        if t != "contact.deleted" {
            continue;
        }
        let id = id_str(&d["id"]);
        let recreated = datas[i + 1..]
            .iter()
            .any(|(t2, d2)| t2 == "contact.created" && id_str(&d2["id"]) == id);
        if !recreated {
            assert!(
                !contacts.iter().any(|c| c["id"] == json!(id)),
                "deleted contact {id} must not be listed"
            );
            deleted += 1;
        }
    }
    assert!(deleted > 0, "the demo stream deletes a contact");

    // Membership changes in the group thread.
    let mut memberships = 0;
    for (t, d) in &datas {
        if !t.starts_with("participant.") {
            continue;
        }
        let chat = id_str(&d["chat_id"]);
        let items = thread(&server, &chat);
        let action = if t == "participant.added" {
            "added"
        } else {
            "removed"
        };
        assert!(
            items.iter().any(|m| m["kind"] == json!("membership")
                && m["action"] == json!(action)
                && m["identifier"] == d["handle"]),
            "{t} for {} must appear in place in chat {chat}",
            d["handle"]
        );
        memberships += 1;
    }
    assert!(memberships > 0, "the demo stream changes group membership");
    // Current membership follows the last change per person.
    let mut last: HashMap<(String, String), bool> = HashMap::new();
    for (t, d) in &datas {
        if t.starts_with("participant.") {
            last.insert(
                (id_str(&d["chat_id"]), id_str(&d["handle"])),
                t == "participant.added",
            );
        }
    }
    for ((chat, who), present) in &last {
        let summary = server.api(&format!("/api/chats/{}", urlenc(chat)));
        assert_eq!(
            summary["is_group"],
            json!(true),
            "a chat with membership changes is a group: {summary}"
        );
        let listed = summary["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["identifier"] == json!(who));
        assert_eq!(
            listed, *present,
            "{who} membership in {chat} must follow the last participant event: {}",
            summary["members"]
        );
        if *present {
            let member = summary["members"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["identifier"] == json!(who))
                .unwrap();
            let line = thread(&server, chat)
                .into_iter()
                .rev()
                .find(|m| m["kind"] == json!("membership") && m["identifier"] == json!(who))
                .unwrap();
            assert_eq!(
                member["name"], line["name"],
                "the member list names {who} as the membership line does"
            );
        }
    }

    // Search with highlights.
    let text = datas
        .iter()
        .filter(|(t, _)| t == "message.received")
        .find_map(|(_, d)| {
            d["text"]
                .as_str()
                .map(|s| (s.to_string(), id_str(&d["id"])))
        })
        .expect("a received message");
    let word = text
        .0
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 5)
        .max_by_key(|w| w.len())
        .unwrap_or_else(|| panic!("a searchable word in {:?}", text.0))
        .to_lowercase();
    let found = server.api(&format!("/api/search?q={}", urlenc(&word)));
    let hit = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == json!("message") && r["id"] == json!(text.1))
        .unwrap_or_else(|| panic!("search for {word:?} must find message {}: {found}", text.1));
    let snippet: Vec<char> = hit["snippet"].as_str().unwrap().chars().collect();
    let hl = hit["highlights"].as_array().unwrap();
    assert!(!hl.is_empty(), "a hit has highlights: {hit}");
    let any_matches = hl.iter().any(|h| {
        let (s, e) = (
            h["start"].as_u64().unwrap() as usize,
            h["end"].as_u64().unwrap() as usize,
        );
        s < e
            && e <= snippet.len()
            && snippet[s..e]
                .iter()
                .collect::<String>()
                .to_lowercase()
                .starts_with(&word)
    });
    assert!(
        any_matches,
        "a highlight must cover the searched word {word:?} (code point offsets): {hit}"
    );
}

/// `/api/chats/{chat_id}` once `ok` holds, or the last answer after 3 s.
fn eventually(server: &Server, chat_id: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let c = chat_summary(server, chat_id);
        if ok(&c) || std::time::Instant::now() > deadline {
            return c;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn chat_summary(server: &Server, chat_id: &str) -> Value {
    server.api(&format!("/api/chats/{chat_id}"))
}

fn inbound(i: usize) -> String {
    envelope(
        "message.received",
        &format!("unread-{i}"),
        json!({
            "id": format!("um-{i}"), "chat_id": "tchat", "text": format!("hello {i}"),
            "sent_at": chrono::Utc::now().to_rfc3339(), "from_phone": "+15550200002", "service": "SMS",
            "chat_handles": [
                {"identifier": "+15550200002", "display_name": "Typer", "is_me": false},
                {"identifier": "+15559876543", "display_name": "Me", "is_me": true}
            ],
            "attachments": []
        }),
    )
}

#[test]
fn typing_and_unread() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for i in 0..3 {
        assert_eq!(
            server.post_signed(&inbound(i)).0,
            200,
            "each signed inbound message is accepted"
        );
    }
    let c = chat_summary(&server, "tchat");
    assert_eq!(
        c["unread_count"],
        json!(3),
        "three inbound messages are three unread: {c}"
    );

    let handles = json!([
        {"identifier": "+15550200002", "display_name": "Typer", "is_me": false},
        {"identifier": "+15559876543", "display_name": "Me", "is_me": true}
    ]);
    let now = chrono::Utc::now().to_rfc3339();
    let typing = envelope(
        "typing_indicator.received",
        "typing-1",
        json!({"chat_id": "tchat", "display": true, "timestamp": now, "chat_handles": handles, "from_phone": "+15550200002"}),
    );
    // Typing is live state that the change-feed builder applies just after the commit (the 200),
    // so it is read back with a short wait rather than immediately.
    assert_eq!(
        server.post_signed(&typing).0,
        200,
        "a signed typing indicator is accepted"
    );
    let c = eventually(&server, "tchat", |c| {
        c["typing"].as_array().is_some_and(|t| t.len() == 1)
    });
    assert_eq!(
        c["typing"],
        json!([{"identifier": "+15550200002", "name": "Typer"}]),
        "a fresh typing indicator shows who is typing in the chat's `typing`: {c}"
    );
    let listed = server.api("/api/chats")["chats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["chat_id"] == json!("tchat"))
        .cloned()
        .unwrap();
    assert_eq!(
        listed["typing"].as_array().map(|a| a.len()),
        Some(1),
        "/api/chats shows typing too: {listed}"
    );

    let removed = envelope(
        "typing_indicator.removed",
        "typing-2",
        json!({"chat_id": "tchat", "display": false, "timestamp": chrono::Utc::now().to_rfc3339(), "chat_handles": handles, "from_phone": "+15550200002"}),
    );
    assert_eq!(
        server.post_signed(&removed).0,
        200,
        "a signed typing_indicator.removed is accepted"
    );
    let c = eventually(&server, "tchat", |c| c["typing"] == json!([]));
    assert_eq!(
        c["typing"],
        json!([]),
        "typing_indicator.removed clears `typing`: {c}"
    );

    let (s, r) = server.post_api("/api/chats/tchat/read", "{}");
    assert_eq!(s, 200, "POST read: {r}");
    assert_eq!(
        r["unread_count"],
        json!(0),
        "POST read answers unread_count 0: {r}"
    );
    let c = chat_summary(&server, "tchat");
    assert_eq!(
        c["unread_count"],
        json!(0),
        "after POST read the chat has no unread: {c}"
    );
    assert_eq!(
        server.post_signed(&inbound(3)).0,
        200,
        "a signed inbound message is accepted after the read"
    );
    assert_eq!(
        chat_summary(&server, "tchat")["unread_count"],
        json!(1),
        "a new inbound message after read counts again"
    );
}

/// The JSON with every message's `tie` blanked where it is a log sequence (below 10^15), not
/// Linq's finer time.
fn without_arrival_ties(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if o.get("tie")
                    .and_then(Value::as_i64)
                    .is_some_and(|t| t < 1_000_000_000_000_000)
                {
                    o.insert("tie".into(), Value::Null);
                }
                o.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[test]
fn chaos_converges_to_in_order_state() {
    let now = chrono::Utc::now();
    let chaos = linq_inbox::simulate::generate(linq_inbox::simulate::Scenario::Chaos, 60, 17, now);
    let ordered = linq_inbox::simulate::generate(linq_inbox::simulate::Scenario::Demo, 60, 17, now);
    assert!(
        chaos.iter().any(|d| d.tamper),
        "chaos must include tampered deliveries"
    );
    assert!(
        chaos.iter().any(|d| d.duplicate_of.is_some()),
        "chaos must include duplicates"
    );

    let d1 = tempfile::tempdir().unwrap();
    let a = Server::start(d1.path());
    send_all(&a, &chaos); // asserts tampered → 401, others → 200
                          // Tampered events that never got through: send them once, correctly signed, like Linq's retry would.
    let delivered: std::collections::HashSet<(String, String)> = chaos
        .iter()
        .filter(|d| !d.tamper)
        .map(|d| (d.event_id.clone(), d.event_type.clone()))
        .collect();
    let retries: Vec<_> = ordered
        .iter()
        .filter(|d| !delivered.contains(&(d.event_id.clone(), d.event_type.clone())))
        .cloned()
        .collect();
    send_all(&a, &retries);

    let d2 = tempfile::tempdir().unwrap();
    let b = Server::start(d2.path());
    send_all(&b, &ordered);

    // Messages of one second are ordered by arrival where Linq gives no finer time (issue 24):
    // the one thing a shuffle may change, so it is left out here (src/store/tests/order.rs).
    let (sa, sb) = (
        without_arrival_ties(a.state()),
        without_arrival_ties(b.state()),
    );
    for key in ["chats", "calls", "contacts"] {
        assert_eq!(sa[key], sb[key], "chaos (shuffled, duplicated, tampered then retried) must converge to the in-order /api/{key}");
    }
    let ea: std::collections::HashSet<String> = a
        .all_events()
        .iter()
        .map(|e| format!("{}/{}", e["event_id"], e["event_type"]))
        .collect();
    let eb: std::collections::HashSet<String> = b
        .all_events()
        .iter()
        .map(|e| format!("{}/{}", e["event_id"], e["event_type"]))
        .collect();
    assert_eq!(ea, eb, "both servers hold the same event set");
}

/// A lost `typing_indicator.removed` must not leave dots forever: they clear 30 s after the
/// indicator was sent. Sent 26 s ago, it shows now and clears by itself a few seconds later.
#[test]
fn typing_expires_without_a_removed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(
        server.post_signed(&inbound(0)).0,
        200,
        "a signed inbound message is accepted"
    );
    let sent = chrono::Utc::now() - chrono::Duration::seconds(26);
    let mut typing: Value = serde_json::from_str(&envelope(
        "typing_indicator.received",
        "typing-late",
        json!({"chat_id": "tchat", "display": true, "timestamp": sent.to_rfc3339(),
               "from_phone": "+15550200002"}),
    ))
    .unwrap();
    typing["created_at"] = json!(sent.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    assert_eq!(
        server.post_signed(&typing.to_string()).0,
        200,
        "a signed typing indicator sent 26 s ago is accepted"
    );
    let c = eventually(&server, "tchat", |c| {
        c["typing"].as_array().is_some_and(|t| t.len() == 1)
    });
    assert_eq!(
        c["typing"][0]["identifier"],
        json!("+15550200002"),
        "a 26 s old indicator still shows: {c}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let cleared = loop {
        let c = chat_summary(&server, "tchat");
        if c["typing"] == json!([]) {
            break std::time::Instant::now();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "typing must clear 30 s after it was sent without any removed: {c}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let age = chrono::Utc::now() - sent;
    assert!(
        age >= chrono::Duration::seconds(29),
        "the dots must stay until the indicator is 30 s old, cleared at {age:?} ({cleared:?})"
    );
}

/// `around` opens a window on an item deep in a thread; `after` pages forward from it.
#[test]
fn thread_windows_around_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    for i in 0..30 {
        let at = (start + chrono::Duration::seconds(i)).to_rfc3339();
        let body = envelope(
            "message.received",
            &format!("win-evt-{i:02}"),
            json!({"id": format!("w{i:02}"), "chat_id": "wchat", "text": format!("window {i}"),
                   "sent_at": at, "from_phone": "+15550300003", "service": "SMS", "attachments": []}),
        );
        assert_eq!(
            server.post_signed(&body).0,
            200,
            "each signed message is accepted"
        );
    }
    let ids = |page: &Value| -> Vec<String> {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    let expect =
        |r: std::ops::Range<i32>| -> Vec<String> { r.map(|i| format!("w{i:02}")).collect() };

    let page = server.api("/api/chats/wchat/messages?around=w10&limit=10");
    assert_eq!(
        ids(&page),
        expect(5..15),
        "five before, the item, four after: {page}"
    );
    assert_eq!(page["has_more"], json!(true), "older items remain");
    assert_eq!(page["has_newer"], json!(true), "newer items remain");

    let page = server.api("/api/chats/wchat/messages?after=w14&limit=10");
    assert_eq!(
        ids(&page),
        expect(15..25),
        "after pages forward from the item, without it"
    );
    assert_eq!(
        page["has_newer"],
        json!(true),
        "newer items remain after the forward page"
    );
    let page = server.api("/api/chats/wchat/messages?after=w24&limit=10");
    assert_eq!(ids(&page), expect(25..30), "the last forward page");
    assert_eq!(page["has_newer"], json!(false), "it reaches the newest");

    let page = server.api("/api/chats/wchat/messages?around=w01&limit=10");
    assert_eq!(ids(&page), expect(0..10), "a window near the start");
    assert_eq!(
        page["has_more"],
        json!(false),
        "a window near the start has nothing older"
    );
    let page = server.api("/api/chats/wchat/messages?around=w28&limit=10");
    assert_eq!(ids(&page), expect(20..30), "a window near the end");
    assert_eq!(
        page["has_newer"],
        json!(false),
        "a window near the end has nothing newer"
    );

    let latest = server.api("/api/chats/wchat/messages?limit=10");
    assert_eq!(
        ids(&latest),
        expect(20..30),
        "the newest page holds the last ten items"
    );
    assert_eq!(
        latest["has_newer"],
        json!(false),
        "the newest page has nothing newer"
    );

    let (status, body) = server.get("/api/chats/wchat/messages?around=nope");
    assert_eq!(status, 400, "an unknown item is a 400: {body}");
    let (status, body) = server.get("/api/chats/wchat/messages?before=w10&after=w05");
    assert_eq!(status, 400, "before and after together are a 400: {body}");
}

/// Issue 24: a customer's "9", "10", "11" sent in one second (v2 times have one-second
/// resolution; ids are integers sent as text) showed as 10, 11, 9. Over the real API they keep
/// their order in the thread, across page boundaries both ways, around a search hit, in the
/// chat list's last message, and in the order key the stream's items carry.
#[test]
fn messages_in_one_second_keep_their_order_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let second = "2025-05-21 15:30:00 -0600";
    post_messages_at(&server, "tchat", &["9", "10", "11", "12"], second);
    let ids = |path: &str| -> Vec<String> {
        server.api(path)["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = ["9", "10", "11", "12"].map(String::from).to_vec();
    let base = "/api/chats/tchat/messages";
    assert_eq!(ids(base), all, "the thread keeps Linq's order");
    assert_eq!(
        ids(&format!("{base}?limit=2")),
        all[2..],
        "the newest page of two"
    );
    assert_eq!(
        ids(&format!("{base}?before=11&limit=2")),
        all[..2],
        "the page before it, across the boundary inside the second"
    );
    assert_eq!(
        ids(&format!("{base}?after=10&limit=2")),
        all[2..],
        "paging forward from inside the second"
    );
    assert_eq!(
        ids(&format!("{base}?around=10&limit=3")),
        all[..3],
        "a search hit's context"
    );
    let chats = server.api("/api/chats");
    let chat = chats["chats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chat_id"] == json!("tchat"))
        .expect("the chat is listed");
    assert_eq!(
        chat["last_message"]["id"],
        json!("12"),
        "the chat list's last message is the thread's last"
    );
    let ties: Vec<i64> = server.api(base)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tie"].as_i64().expect("every message carries its tie"))
        .collect();
    assert!(
        ties.windows(2).all(|w| w[0] < w[1]),
        "the order key the UI merges live items by follows the thread: {ties:?}"
    );
}
