use serde_json::{json, Value};

use crate::harness::*;

fn tsv() -> Vec<(String, String, String)> {
    fixture("signatures.tsv")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(
                f[1], SECRET,
                "signatures.tsv rows must use the fixture secret"
            );
            (f[0].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect()
}

fn flip(sig: &str) -> String {
    let mut c: Vec<char> = sig.chars().collect();
    let i = c.len() - 5;
    c[i] = if c[i] == '0' { '1' } else { '0' };
    c.into_iter().collect()
}

#[test]
fn signature_matrix_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let raw_server = Server::start(dir.path());
    let dir2 = tempfile::tempdir().unwrap();
    let canon_server = Server::start(dir2.path());
    let rows = tsv();
    assert!(rows.len() >= 7, "signatures.tsv must list every fixture");
    for (file, raw_sig, canon_sig) in &rows {
        let body = fixture(file);
        let v: Value = serde_json::from_str(&body).unwrap();
        let event_id = v["event_id"].as_str().unwrap().to_string();
        let event_type = v["event_type"].as_str().unwrap().to_string();

        // Bad signatures first: nothing stored.
        let wrong = linq_inbox::linq::signature::sign(b"not-the-secret", body.as_bytes());
        for (label, sig) in [
            ("wrong secret", Some(wrong.as_str())),
            ("one flipped hex digit", Some(&*flip(raw_sig))),
            ("truncated value", Some(&raw_sig[..raw_sig.len() - 2])),
            ("empty header", Some("")),
            ("no header", None),
        ] {
            let (status, resp) = raw_server.post_raw(body.as_bytes(), sig, "application/json");
            assert_eq!(
                status, 401,
                "{file}: {label} must be refused with 401, got {status}: {resp}"
            );
        }

        let (status, resp) =
            raw_server.post_raw(body.as_bytes(), Some(raw_sig), "application/json");
        assert_eq!(
            status, 200,
            "{file}: the reference raw signature must be accepted: {resp}"
        );
        assert_eq!(
            resp["duplicate"],
            json!(false),
            "{file}: first delivery is not a duplicate"
        );
        let (status, resp) =
            raw_server.post_raw(body.as_bytes(), Some(canon_sig), "application/json");
        assert_eq!(
            status, 200,
            "{file}: canonical signature on a second delivery must be 200: {resp}"
        );
        assert_eq!(
            resp["duplicate"],
            json!(true),
            "{file}: the same event_id twice must be a duplicate"
        );

        let (status, resp) =
            canon_server.post_raw(body.as_bytes(), Some(canon_sig), "application/json");
        assert_eq!(
            status, 200,
            "{file}: the reference canonical signature must be accepted: {resp}"
        );
        assert_eq!(resp["duplicate"], json!(false), "{file}");

        for (server, form) in [(&raw_server, "raw"), (&canon_server, "canonical")] {
            let events = server.all_events();
            let found: Vec<&Value> = events
                .iter()
                .filter(|e| {
                    e["event_id"] == json!(event_id) && e["event_type"] == json!(event_type)
                })
                .collect();
            assert_eq!(
                found.len(),
                1,
                "{file}: exactly one stored event per (event_id, event_type) on the {form} server"
            );
            assert_eq!(
                found[0]["signature"],
                json!(form),
                "{file}: /api/events must record which form matched"
            );
        }
    }
    let events = raw_server.all_events();
    assert_eq!(
        events.len(),
        rows.len(),
        "refused deliveries must never reach /api/events"
    );
    let rejected = raw_server.rejected_at_least(rows.len() as u64 * 5);
    assert_eq!(
        rejected["total"],
        json!(rows.len() * 5),
        "every 401 must be kept in /api/rejected: {rejected}"
    );
}

fn signed_status(server: &Server, body: &str) -> (u16, Value) {
    server.post_signed(body)
}

#[test]
fn every_status_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let good = fixture("events/message.received.json");

    let (s, _) = signed_status(&server, "this is not json");
    assert_eq!(s, 400, "a signed body that is not JSON must be 400");
    let (s, _) = signed_status(&server, "[1,2,3]");
    assert_eq!(s, 400, "a JSON array is not an envelope: 400");
    let mut v: Value = serde_json::from_str(&good).unwrap();
    v.as_object_mut().unwrap().remove("event_type");
    v["event_id"] = json!("no-type-1");
    let (s, _) = signed_status(&server, &v.to_string());
    assert_eq!(s, 400, "an envelope without event_type must be 400");
    let mut v: Value = serde_json::from_str(&good).unwrap();
    v["data"]["text"] = json!({"oops": 1});
    v["event_id"] = json!("text-object-1");
    let bad_text = v.to_string();
    let (s, _) = signed_status(&server, &bad_text);
    assert_eq!(
        s, 400,
        "message.received whose text is an object must be 400"
    );

    // Over 1 MiB: the server may answer before reading the body, so use a raw socket and
    // ignore write errors. Once with an honest Content-Length, once chunked (no length).
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat((1 << 20) + 10));
    let s = big_request(&server, &big, false);
    assert_eq!(s, 413, "a body over 1 MiB (Content-Length) must be 413");
    let s = big_request(&server, &big, true);
    assert_eq!(s, 413, "a chunked body over 1 MiB must be 413");

    let (s, _) = server.post_raw(good.as_bytes(), Some(&sign(&good)), "text/plain");
    assert_eq!(s, 415, "text/plain must be 415");

    // Other path / wrong method over raw HTTP.
    let (s, _, _) = raw_http(
        server.webhook,
        format!("POST /other HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}", server.webhook).as_bytes(),
    );
    assert_eq!(s, 404, "any other path on the webhook port must be 404");
    let (s, _, _) = raw_http(
        server.webhook,
        format!(
            "GET /webhooks/linq HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.webhook
        )
        .as_bytes(),
    );
    assert_eq!(s, 405, "GET on the webhook path must be 405");
    let (s, _, _) = raw_http(
        server.webhook,
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.webhook
        )
        .as_bytes(),
    );
    assert_eq!(s, 200, "/healthz must answer 200");
    // The UI API is not served on the webhook port.
    let (s, _, _) = raw_http(server.webhook, format!("GET /api/chats HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", server.webhook, server.token).as_bytes());
    assert_eq!(
        s, 404,
        "the webhook port serves nothing but the webhook and /healthz"
    );

    // Refusal records are written asynchronously by the writer: give them a moment.
    let started = std::time::Instant::now();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let rejected = loop {
        let r = server.api("/api/rejected?limit=1000");
        if r["total"].as_u64().unwrap_or(0) >= 7 || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let list = rejected["rejected"].as_array().unwrap();
    assert_eq!(
        list.iter().filter(|r| r["status"] == json!(413)).count(),
        2,
        "both 413s (length and chunked) must be kept: {rejected}"
    );
    for status in [400, 413, 415] {
        assert!(
            list.iter().any(|r| r["status"] == json!(status)
                && r["reason"].as_str().is_some_and(|s| !s.is_empty())),
            "a {status} refusal must appear in /api/rejected with its reason (waited {:?}): {rejected}",
            started.elapsed()
        );
    }
    assert!(
        list.iter().any(|r| r["status"] == json!(400) && r["reason"].as_str().is_some_and(|b| b.contains("text"))),
        "the refused text-object delivery must be kept in /api/rejected with a reason naming `text`: {rejected}"
    );
    let events = server.all_events();
    assert!(
        events.is_empty(),
        "no refused delivery may appear in /api/events: {events:?}"
    );
}

#[test]
fn odd_transports_and_unknown_types() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let body = fixture("events/message.received.json");
    let head = |len: usize| {
        format!(
            "POST /webhooks/linq HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-Webhook-Signature: {}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
            server.webhook,
            sign(&body)
        )
    };
    let status_of = |buf: &[u8]| -> u16 {
        String::from_utf8_lossy(buf)
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    };

    // A body that trickles in (well within the timeout) is accepted.
    let mut sock = std::net::TcpStream::connect(server.webhook).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    sock.write_all(head(body.len()).as_bytes()).unwrap();
    for part in body.as_bytes().chunks(body.len() / 3 + 1) {
        sock.write_all(part).unwrap();
        sock.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf);
    assert_eq!(
        status_of(&buf),
        200,
        "a trickled body must be accepted: {}",
        String::from_utf8_lossy(&buf)
    );

    // A short body (Content-Length promises more, then the client closes): refused, nothing stored.
    let mut other: serde_json::Value = serde_json::from_str(&body).unwrap();
    other["event_id"] = json!("short-body-1");
    let short = other.to_string();
    let mut sock = std::net::TcpStream::connect(server.webhook).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let h = format!(
        "POST /webhooks/linq HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-Webhook-Signature: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.webhook, sign(&short), short.len() + 100
    );
    sock.write_all(h.as_bytes()).unwrap();
    sock.write_all(short.as_bytes()).unwrap();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf);
    let st = status_of(&buf);
    assert!(
        st == 0 || st == 400,
        "a truncated body must never be acknowledged (got {st})"
    );

    // Unknown event types are stored raw and acknowledged.
    let future = envelope(
        "conversation.archived",
        "future-1",
        json!({"chat_id": "324324"}),
    );
    let (s, r) = server.post_signed(&future);
    assert_eq!(
        s, 200,
        "an unknown event_type is stored and acknowledged (Linq adds events): {r}"
    );

    let events = server.all_events();
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"9dabceb9-9194-4dc6-beda-892573f377b4"),
        "the trickled delivery is stored"
    );
    assert!(
        ids.contains(&"future-1"),
        "the unknown-type delivery is stored raw"
    );
    assert!(
        !ids.contains(&"short-body-1"),
        "a truncated delivery must never be stored"
    );
}

#[test]
fn duplicate_delivery_has_one_effect() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let body = fixture("events/message.received.json");
    let (s1, r1) = server.post_signed(&body);
    let (s2, r2) = server.post_signed(&body);
    assert_eq!(
        (s1, s2),
        (200, 200),
        "both deliveries must be acknowledged: {r1} {r2}"
    );
    assert_eq!(
        r2["duplicate"],
        json!(true),
        "the second delivery must be flagged duplicate"
    );
    assert_eq!(r1["seq"], r2["seq"], "a duplicate answers the original seq");
    assert_eq!(
        server.all_events().len(),
        1,
        "one event in /api/events after a duplicate delivery"
    );
    let msgs = server.api("/api/chats/324324/messages");
    let n = msgs["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == json!("message"))
        .count();
    assert_eq!(n, 1, "one message after a duplicate delivery: {msgs}");
    let chats = server.api("/api/chats");
    assert_eq!(
        chats["chats"][0]["unread_count"],
        json!(1),
        "a duplicate must not count as a second unread"
    );
}

fn big_request(server: &Server, body: &str, chunked: bool) -> u16 {
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect(server.webhook).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "POST /webhooks/linq HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-Webhook-Signature: {}\r\n{framing}\r\nConnection: close\r\n\r\n",
        server.webhook,
        sign(body)
    );
    let _ = sock.write_all(head.as_bytes());
    if chunked {
        for part in body.as_bytes().chunks(64 * 1024) {
            if sock
                .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                .is_err()
            {
                break;
            }
            if sock.write_all(part).is_err() || sock.write_all(b"\r\n").is_err() {
                break;
            }
        }
        let _ = sock.write_all(b"0\r\n\r\n");
    } else {
        let _ = sock.write_all(body.as_bytes());
    }
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn rejected_table_is_capped_but_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for i in 0..1005 {
        let body = format!("{{\"n\":{i}}}");
        let (s, _) = server.post_raw(body.as_bytes(), Some("sha256=00"), "application/json");
        assert_eq!(s, 401, "a wrongly signed delivery is refused");
    }
    let r = server.rejected_at_least(1005);
    assert_eq!(
        r["total"],
        json!(1005),
        "`total` counts every refusal since the database was made"
    );
    let kept = server.api("/api/rejected?limit=1000");
    let (s, _) = server.get("/api/rejected?limit=5000");
    assert_eq!(s, 400, "a limit over 1000 is a 400");
    let conn = rusqlite::Connection::open_with_flags(
        dir.path().join("linq-inbox.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM rejected", [], |r| r.get(0))
        .unwrap();
    assert!(
        n <= 1000,
        "the rejected table is capped at 1,000 rows, got {n}"
    );
    assert!(
        kept["rejected"][0]["body_prefix"] == json!("{\"n\":1004}"),
        "the newest refusals are the ones kept, newest first: {}",
        kept["rejected"][0]
    );
}

/// Issue 24: a refusal the writer had no room for was dropped without a trace, so the Events
/// screen under-reported a flood of bad deliveries. Now every dropped record is counted.
#[test]
fn refusals_dropped_while_the_writer_is_saturated_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("LINQ_INBOX_TEST_WRITER", Some("stall"))]);
    let queue = linq_inbox::ingest::QUEUE_CAPACITY;
    let over = 312;
    let senders = 4;
    let each = (queue + over) / senders;
    assert_eq!(
        each * senders,
        queue + over,
        "the refusals split evenly between senders"
    );
    std::thread::scope(|scope| {
        for t in 0..senders {
            let server = &server;
            scope.spawn(move || {
                for i in 0..each {
                    let body = format!("{{\"t\":{t},\"n\":{i}}}");
                    let (s, _) =
                        server.post_raw(body.as_bytes(), Some("sha256=00"), "application/json");
                    assert_eq!(s, 401, "a wrongly signed delivery is refused at once");
                }
            });
        }
    });
    let status = server.api("/api/status");
    assert_eq!(
        status["rejected_dropped"],
        json!(over),
        "the stalled writer's queue holds {queue} refusals; the {over} after them are counted: {status}"
    );
    let rejected = server.api("/api/rejected");
    assert_eq!(
        rejected["dropped"],
        json!(over),
        "the Events screen's list says how many refusals it could not record: {rejected}"
    );
}

/// `last_event_at` as milliseconds since the epoch, or `None` while no delivery is stored.
fn last_delivery(server: &Server) -> Option<i64> {
    let status = server.api("/api/status");
    status["last_event_at"].as_str().map(|at| {
        chrono::DateTime::parse_from_rfc3339(at)
            .unwrap_or_else(|e| panic!("last_event_at {at:?} is a time: {e}"))
            .timestamp_millis()
    })
}

#[test]
fn status_names_the_last_delivery_and_keeps_it_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    assert_eq!(last_delivery(&server), None, "nothing delivered yet");
    let before = chrono::Utc::now().timestamp_millis();
    let body = fixture("events/message.received.json");
    assert_eq!(server.post_signed(&body).0, 200, "the delivery is stored");
    let after = chrono::Utc::now().timestamp_millis();
    let first = last_delivery(&server).expect("a delivery is stored");
    assert!(
        (before..=after).contains(&first),
        "the time the delivery was received: {first}, between {before} and {after}"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(server.post_signed(&body).0, 200, "a duplicate is answered");
    assert_eq!(
        last_delivery(&server),
        Some(first),
        "a duplicate stores nothing, so the last delivery stays"
    );
    server.restart();
    assert_eq!(
        last_delivery(&server),
        Some(first),
        "the last delivery is kept across a restart"
    );
}
