use serde_json::json;

use crate::harness::*;

#[test]
fn times_ids_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let body = fixture("events/message.received.json");
    assert_eq!(
        server.post_signed(&body).0,
        200,
        "a signed message.received is accepted"
    );
    let msgs = server.api("/api/chats/324324/messages");
    let m = &msgs["messages"][0];
    assert_eq!(
        m["sent_at"],
        json!("2025-05-21T21:30:00Z"),
        "`-0600` spaced times are stored as UTC: {m}"
    );
    assert_eq!(
        m["sent_at_original"],
        json!("2025-05-21 15:30:00 -0600"),
        "the original text is kept: {m}"
    );
    assert_eq!(
        m["direction"],
        json!("inbound"),
        "a message.received is inbound"
    );
    assert_eq!(
        m["from_name"],
        json!("John Doe"),
        "the sender's name comes from the chat handles"
    );
    assert_eq!(
        m["attachments"][0]["filename"],
        json!("document.pdf"),
        "attachments keep their file names"
    );
    let ev = &server.all_events()[0];
    assert_eq!(
        ev["created_at"],
        json!("2025-05-21T21:30:00Z"),
        "envelope created_at in UTC: {ev}"
    );
    assert_eq!(
        ev["created_at_original"],
        json!("2025-05-21T15:30:00-06:00"),
        "the envelope keeps the original created_at text"
    );

    // Numeric ids become strings.
    let deleted = fixture("events/contact.created.json");
    assert_eq!(
        server.post_signed(&deleted).0,
        200,
        "a signed contact.created is accepted"
    );
    let contacts = server.api("/api/contacts");
    assert!(
        contacts["contacts"][0]["id"].is_string(),
        "ids are strings: {contacts}"
    );

    let status = server.api("/api/status");
    assert_eq!(
        status["db"]["counts"]["events"],
        json!(2),
        "status counts events: {status}"
    );
    assert_eq!(
        status["signing"]["mode"],
        json!("secret"),
        "status says deliveries are verified with a secret"
    );
    let text = status.to_string();
    assert!(
        !text.contains(SECRET),
        "/api/status must not reveal the secret"
    );
    assert!(
        !text.contains(&server.token),
        "/api/status must not reveal the UI token"
    );
}

#[test]
fn secret_rotation_and_header_forms() {
    let dir = tempfile::tempdir().unwrap();
    // Start with two secrets via the environment.
    let [webhook, ui] = free_ports().map(|port| format!("127.0.0.1:{port}"));
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args([
            "--listen",
            &webhook,
            "--ui-listen",
            &ui,
            "--ui-token",
            "rot-token",
        ])
        .env("LINQ_WEBHOOK_SECRET", format!("old-secret,{SECRET}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let agent = ureq::AgentBuilder::new().build();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while agent
        .get(&format!("http://{webhook}/healthz"))
        .call()
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "healthz never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("http://{webhook}/webhooks/linq");
    let post = |body: &str, sig: &str| -> u16 {
        match agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set("X-Webhook-Signature", sig)
            .send_string(body)
        {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(c, _)) => c,
            Err(e) => panic!("{e}"),
        }
    };
    let b1 = envelope("contact.deleted", "rot-1", json!({"id": "1"}));
    let b2 = envelope("contact.deleted", "rot-2", json!({"id": "2"}));
    let b3 = envelope("contact.deleted", "rot-3", json!({"id": "3"}));
    assert_eq!(
        post(
            &b1,
            &linq_inbox::linq::signature::sign(b"old-secret", b1.as_bytes())
        ),
        200,
        "any configured secret may match (old)"
    );
    assert_eq!(
        post(&b2, &sign(&b2)),
        200,
        "any configured secret may match (new)"
    );
    assert_eq!(
        post(&b3, &sign(&b3).to_uppercase()),
        200,
        "`SHA256=` and upper-case hex are the same signature"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn local_read_state_survives_restart_and_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    assert_eq!(
        server
            .post_signed(&fixture("events/message.received.json"))
            .0,
        200,
        "a signed message.received is accepted"
    );
    assert_eq!(
        server.api("/api/chats/324324")["unread_count"],
        json!(1),
        "a new inbound message is unread"
    );
    let (s, _) = server.post_api("/api/chats/324324/read", "{}");
    assert_eq!(s, 200, "marking a chat read succeeds");
    server.restart();
    assert_eq!(
        server.api("/api/chats/324324")["unread_count"],
        json!(0),
        "a chat marked read stays read after a restart"
    );
    server.kill();
    let (ok, _, err) = cli(&["rebuild"], dir.path(), None);
    assert!(ok, "{err}");
    server.restart();
    assert_eq!(
        server.api("/api/chats/324324")["unread_count"],
        json!(0),
        "rebuild must not resurrect unread counts the user already cleared"
    );
}

#[test]
fn ui_guard_details() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ok_hosts = [
        format!("localhost:{}", server.ui.port()),
        format!("127.0.0.1:{}", server.ui.port()),
    ];
    for h in &ok_hosts {
        let (s, _, _) = raw_http(server.ui, format!("GET /api/status HTTP/1.1\r\nHost: {h}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", server.token).as_bytes());
        assert_eq!(s, 200, "Host {h} is a loopback name and must be accepted");
    }
    let (s, _, _) = raw_http(server.ui, format!("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:1\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", server.token).as_bytes());
    assert_eq!(s, 403, "a loopback Host on another port is not this server");
    let (s, _, body) = raw_http(
        server.ui,
        format!(
            "GET /login?token=nope HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.ui
        )
        .as_bytes(),
    );
    assert_eq!(s, 401, "an unknown login token is 401: {body}");
    let (s, _, _) = raw_http(server.ui, format!("PUT /api/settings HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}", server.ui, server.token).as_bytes());
    assert_eq!(s, 415, "a non-JSON body on PUT is 415");
    let (s, r) = server.get("/api/chats/does-not-exist");
    assert_eq!(s, 404, "an unknown chat is 404: {r}");
    assert!(r["error"].is_string(), "errors are {{\"error\": ...}}: {r}");
}

fn text_msg(i: usize, chat: &str, text: &str) -> String {
    envelope(
        "message.received",
        &format!("{chat}-evt-{i}"),
        json!({
            "id": format!("{chat}-m-{i}"), "chat_id": chat, "text": text,
            "sent_at": (chrono::Utc::now() - chrono::Duration::seconds(100 - i as i64)).to_rfc3339(),
            "from_phone": "+15550300003", "service": "iMessage",
            "chat_handles": [
                {"identifier": "+15550300003", "display_name": "Zoë Ünïcode", "is_me": false},
                {"identifier": "+15559876543", "display_name": "Me", "is_me": true}
            ],
            "attachments": []
        }),
    )
}

#[test]
fn search_highlights_are_code_points() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let text = "Café 😀 déjà vu — see you tomorrow at María's";
    assert_eq!(
        server.post_signed(&text_msg(0, "uc", text)).0,
        200,
        "a signed message with non-ASCII text is accepted"
    );
    for (q, want) in [
        ("tomorrow", "tomorrow"),
        ("tom", "tomorrow"),
        ("maria", "María"),
        ("deja", "déjà"),
    ] {
        let r = server.api(&format!("/api/search?q={q}"));
        let hit = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == json!("uc-m-0"))
            .unwrap_or_else(|| {
                panic!("search {q:?} must find the message (prefix, accents ignored): {r}")
            });
        let snippet: Vec<char> = hit["snippet"].as_str().unwrap().chars().collect();
        let covered: Vec<String> = hit["highlights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let (s, e) = (
                    h["start"].as_u64().unwrap() as usize,
                    h["end"].as_u64().unwrap() as usize,
                );
                assert!(
                    s < e && e <= snippet.len(),
                    "highlight {h} out of the snippet ({} code points)",
                    snippet.len()
                );
                snippet[s..e].iter().collect()
            })
            .collect();
        assert!(covered.iter().any(|c| c.starts_with(&want[..want.chars().next().unwrap().len_utf8()]) && want.starts_with(c.as_str()) || c == want),
            "search {q:?}: highlights must cover {want:?} in code points; covered {covered:?} of {:?}", hit["snippet"]);
    }
}

#[test]
fn body_of_exactly_one_mib_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let base = envelope("unknown.padded", "pad-1", json!({"pad": ""}));
    let pad = (1 << 20) - base.len();
    let body = envelope("unknown.padded", "pad-1", json!({"pad": "x".repeat(pad)}));
    assert_eq!(
        body.len(),
        1 << 20,
        "the padded body is exactly 1 MiB, the limit under test"
    );
    let (s, r) = server.post_signed(&body);
    assert_eq!(s, 200, "a body of exactly 1 MiB is not over 1 MiB: {r}");
}

#[test]
fn paging_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for i in 0..7 {
        assert_eq!(
            server
                .post_signed(&text_msg(i, "pg", &format!("page message {i}")))
                .0,
            200,
            "each signed message is accepted"
        );
    }
    assert_eq!(
        server
            .post_signed(&fixture("events/contact.created.json"))
            .0,
        200,
        "a signed contact.created is accepted"
    );
    let p1 = server.api("/api/chats/pg/messages?limit=3");
    let ids: Vec<&str> = p1["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["pg-m-4", "pg-m-5", "pg-m-6"],
        "the first page is the newest, oldest first: {p1}"
    );
    assert_eq!(
        p1["has_more"],
        json!(true),
        "older messages remain before the first page"
    );
    let p2 = server.api("/api/chats/pg/messages?limit=3&before=pg-m-4");
    let ids: Vec<&str> = p2["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["pg-m-1", "pg-m-2", "pg-m-3"],
        "`before` pages back without gap or overlap: {p2}"
    );
    let ev = server.api("/api/events?type=contact.created");
    let evs = ev["events"].as_array().unwrap();
    assert_eq!(evs.len(), 1, "type filters the event log: {ev}");
    let ev = server.api("/api/events?limit=2");
    assert_eq!(
        ev["events"].as_array().unwrap().len(),
        2,
        "limit caps the page of events"
    );
    assert_eq!(
        ev["has_more"],
        json!(true),
        "more events remain past the limit"
    );
    assert_eq!(
        ev["events"][0]["seq"].as_i64().unwrap(),
        8,
        "events are newest first"
    );
}

#[test]
fn contacts_order_tolerant_and_resolve_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let base: serde_json::Value =
        serde_json::from_str(&fixture("events/contact.created.json")).unwrap();
    let mut newer = base.clone();
    newer["event_type"] = json!("contact.updated");
    newer["event_id"] = json!("upd-new");
    newer["data"]["full_name"] = json!("Johnny Newer");
    newer["data"]["first_name"] = json!("Johnny");
    newer["data"]["updated_at"] = json!("2025-08-02T10:00:00-06:00");
    let mut older = base.clone();
    older["event_type"] = json!("contact.updated");
    older["event_id"] = json!("upd-old");
    older["data"]["full_name"] = json!("Jon Older");
    older["data"]["updated_at"] = json!("2025-08-01 10:00:00 -0600");
    // Newest first, then the base creation, then the older update.
    for v in [&newer, &base, &older] {
        assert_eq!(
            server.post_signed(&v.to_string()).0,
            200,
            "contact events are accepted in any order"
        );
    }
    let c = server.api("/api/contacts");
    assert_eq!(
        c["contacts"].as_array().unwrap().len(),
        1,
        "one contact: {c}"
    );
    assert_eq!(
        c["contacts"][0]["full_name"],
        json!("Johnny Newer"),
        "an older contact event never overwrites a newer one: {c}"
    );
    // The message from that number now resolves to the contact's name.
    assert_eq!(
        server
            .post_signed(&fixture("events/message.received.json"))
            .0,
        200,
        "a signed message.received is accepted"
    );
    let chat = server.api("/api/chats/324324");
    let h = chat["handles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["identifier"] == json!("+15551234567"))
        .cloned()
        .unwrap();
    assert_eq!(
        h["name"],
        json!("Johnny Newer"),
        "handles resolve to the contact's full name: {chat}"
    );
    assert_eq!(
        chat["title"],
        json!("Johnny Newer"),
        "a one-to-one chat is titled with the contact name: {chat}"
    );
    // Deleting the contact (now, after every update) falls back to the handle's display name.
    let mut del: serde_json::Value =
        serde_json::from_str(&fixture("events/contact.deleted.json")).unwrap();
    del["created_at"] = json!(chrono::Utc::now().to_rfc3339());
    assert_eq!(
        server.post_signed(&del.to_string()).0,
        200,
        "a signed contact.deleted is accepted"
    );
    assert_eq!(
        server.api("/api/contacts")["contacts"],
        json!([]),
        "a deleted contact is gone"
    );
    let chat = server.api("/api/chats/324324");
    let h = chat["handles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["identifier"] == json!("+15551234567"))
        .cloned()
        .unwrap();
    assert_eq!(
        h["name"],
        json!("John Doe"),
        "after deletion the name falls back to the handle's display name: {chat}"
    );
    // And a stale contact.updated after the delete does not bring it back.
    let mut stale = older.clone();
    stale["event_id"] = json!("upd-stale");
    assert_eq!(
        server.post_signed(&stale.to_string()).0,
        200,
        "a stale contact.updated is still acknowledged, so Linq stops retrying it"
    );
    assert_eq!(
        server.api("/api/contacts")["contacts"],
        json!([]),
        "an update older than the delete must not resurrect the contact"
    );
}

#[test]
fn sse_resume_by_query_and_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    for i in 0..4 {
        assert_eq!(
            server
                .post_signed(&text_msg(i, "rs", &format!("resume {i}")))
                .0,
            200,
            "each signed message is accepted"
        );
    }
    server.restart();
    let agent = ureq::AgentBuilder::new()
        .timeout_read(std::time::Duration::from_secs(5))
        .build();
    let resp = agent
        .get(&format!("http://{}/api/stream?last_event_id=2", server.ui))
        .set("Authorization", &format!("Bearer {}", server.token))
        .call()
        .expect("stream");
    use std::io::BufRead;
    let mut ids = Vec::new();
    for line in std::io::BufReader::new(resp.into_reader()).lines() {
        let Ok(line) = line else { break };
        if let Some(v) = line.strip_prefix("id:") {
            ids.push(v.trim().parse::<i64>().unwrap());
        }
        if ids.len() == 2 {
            break;
        }
    }
    assert_eq!(
        ids,
        [3, 4],
        "?last_event_id=2 after a restart replays exactly seq 3 and 4"
    );
}
