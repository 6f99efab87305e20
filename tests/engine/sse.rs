use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

struct Sse {
    rx: mpsc::Receiver<(Option<i64>, String, Value)>,
}

fn connect(server: &Server, last_event_id: Option<i64>) -> Sse {
    let agent = ureq::AgentBuilder::new()
        .timeout_read(Duration::from_secs(30))
        .build();
    let mut req = agent
        .get(&format!("http://{}/api/stream", server.ui))
        .set("Authorization", &format!("Bearer {}", server.token))
        .set("Accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.set("Last-Event-ID", &id.to_string());
    }
    let resp = req.call().expect("GET /api/stream must answer 200");
    assert!(
        resp.content_type().starts_with("text/event-stream"),
        "/api/stream must be text/event-stream, got {}",
        resp.content_type()
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(resp.into_reader());
        let (mut id, mut event, mut data) = (None, String::new(), String::new());
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if line.is_empty() {
                if !event.is_empty() || !data.is_empty() {
                    let v = serde_json::from_str(&data).unwrap_or(Value::Null);
                    if tx.send((id.take(), std::mem::take(&mut event), v)).is_err() {
                        break;
                    }
                }
                data.clear();
                continue;
            }
            if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event:") {
                event = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
    });
    Sse { rx }
}

impl Sse {
    /// Stored events (those with an id) until one carries `until_event_id`.
    fn read_until(&self, until_event_id: &str) -> Vec<(i64, String, Value)> {
        let mut out = Vec::new();
        loop {
            let (id, event, data) = self
                .rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| {
                    panic!("SSE must deliver {until_event_id}; got so far {out:?}")
                });
            assert_ne!(
                event, "reset",
                "a client this close behind must not be reset"
            );
            if let Some(id) = id {
                let done = data["event_id"] == json!(until_event_id);
                out.push((id, event, data));
                if done {
                    return out;
                }
            }
        }
    }
}

fn msg(i: usize) -> (String, String) {
    let id = format!("sse-evt-{i}");
    let body = envelope(
        "message.received",
        &id,
        json!({
            "id": format!("sse-msg-{i}"), "chat_id": "sse-chat", "text": format!("stream message {i}"),
            "sent_at": chrono::Utc::now().to_rfc3339(), "from_phone": "+15550100001", "service": "iMessage",
            "chat_handles": [
                {"identifier": "+15550100001", "display_name": "Streamy", "is_me": false},
                {"identifier": "+15559876543", "display_name": "Me", "is_me": true}
            ],
            "attachments": []
        }),
    );
    (id, body)
}

#[test]
fn sse_live_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let live = connect(&server, None);
    std::thread::sleep(Duration::from_millis(100));
    let mut ids = Vec::new();
    for i in 0..6 {
        let (id, body) = msg(i);
        assert_eq!(
            server.post_signed(&body).0,
            200,
            "the delivery is stored before the stream is read"
        );
        ids.push(id);
    }
    let got = live.read_until(&ids[5]);
    let got_ids: Vec<&str> = got
        .iter()
        .map(|(_, _, d)| d["event_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        got_ids,
        ids.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "live SSE must carry every event once, in order"
    );
    for (seq, event, data) in &got {
        assert_eq!(event, "message.received", "`event:` is the event type");
        assert_eq!(data["seq"], json!(seq), "`id:` is the seq");
    }
    let seqs: Vec<i64> = got.iter().map(|g| g.0).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seqs must increase: {seqs:?}"
    );
    drop(live);

    // Two more while disconnected.
    for i in 6..8 {
        let (id, body) = msg(i);
        assert_eq!(
            server.post_signed(&body).0,
            200,
            "the delivery is stored before the stream is read"
        );
        ids.push(id);
    }
    let k = seqs[2];
    let resumed = connect(&server, Some(k));
    std::thread::sleep(Duration::from_millis(100));
    let (sentinel, body) = msg(99);
    assert_eq!(
        server.post_signed(&body).0,
        200,
        "the delivery is stored before the stream is read"
    );
    let got = resumed.read_until(&sentinel);
    let got_ids: Vec<String> = got
        .iter()
        .map(|(_, _, d)| d["event_id"].as_str().unwrap_or("").to_string())
        .collect();
    let mut expected: Vec<String> = ids[3..].to_vec();
    expected.push(sentinel);
    assert_eq!(
        got_ids, expected,
        "Last-Event-ID {k} must resume with exactly the events after it, in order, no duplicates"
    );
}

/// Opens `/api/stream` on a socket with a tiny receive buffer and never reads it: a stalled
/// client, whose backlog the kernel cannot absorb for it.
fn stalled_client(server: &Server) -> std::net::TcpStream {
    use socket2::{Domain, Socket, Type};
    use std::io::Write;
    let addr = server.ui;
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stream: std::net::TcpStream = socket.into();
    write!(
        stream,
        "GET /api/stream HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n",
        server.ui, server.token
    )
    .unwrap();
    stream
}

/// Reads the stalled socket until an `event: reset` line, or gives up after 30 s.
fn finds_reset(stream: std::net::TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    BufReader::new(stream)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.strip_prefix("event:").map(str::trim) == Some("reset"))
}

#[test]
fn stalled_client_is_reset_and_never_slows_ingest() {
    const N: usize = 4000;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let stalled = stalled_client(&server);
    let live = connect(&server, None);
    std::thread::sleep(Duration::from_millis(200));

    // Four concurrent senders of ~1 KB deliveries; each must be acknowledged promptly even
    // though one stream consumer has stopped reading entirely.
    let padding = "x".repeat(900);
    let started = std::time::Instant::now();
    let slowest = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (server, padding) = (&server, &padding);
                scope.spawn(move || {
                    let mut slowest = Duration::ZERO;
                    for i in (w..N).step_by(4) {
                        let (_, body) = msg(i);
                        let body = body.replace("stream message", &format!("{padding} message"));
                        let t = std::time::Instant::now();
                        assert_eq!(server.post_signed(&body).0, 200, "delivery {i}");
                        slowest = slowest.max(t.elapsed());
                    }
                    slowest
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .max()
            .unwrap()
    });
    assert!(
        slowest < Duration::from_secs(2),
        "with a stalled stream client, the slowest acknowledgement took {slowest:?} (all {N} in {:?})",
        started.elapsed()
    );

    let (sentinel, body) = msg(N);
    assert_eq!(
        server.post_signed(&body).0,
        200,
        "the delivery is acknowledged while a client stalls"
    );
    let got = live.read_until(&sentinel);
    let mut seen: Vec<i64> = got.iter().map(|g| g.0).collect();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "the reading client gets every event in order"
    );
    seen.dedup();
    assert!(
        seen.len() >= N,
        "the reading client must get all {N} events, got {}",
        seen.len()
    );
    assert!(
        finds_reset(stalled),
        "a client that fell behind its bounded buffer must be sent `reset`"
    );
}

/// `GET /api/activity` is the stream's items for the log: every stored event but typing, newest
/// first, each one what a stream resumed from the start sends for it (issue 17: the Activity
/// screen reads the same after a reload as it did live, because both are these items).
#[test]
fn activity_pages_are_the_stream_items_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let deliveries = demo(linq_inbox::simulate::DEFAULT_COUNT, 3);
    send_all(&server, &deliveries);
    let last = deliveries.last().expect("a demo").event_id.clone();

    let mut paged = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let path = match before {
            Some(b) => format!("/api/activity?limit=25&before={b}"),
            None => "/api/activity?limit=25".to_string(),
        };
        let page = server.api(&path);
        let items = page["items"].as_array().cloned().expect("items");
        assert!(items.len() <= 25, "a page holds at most its limit");
        before = items.last().and_then(|i| i["seq"].as_i64());
        paged.extend(items);
        if page["has_more"] != json!(true) {
            break;
        }
    }

    // A chat's typing dots belong to the moment of reading; the rest is the item.
    let without_typing = |mut v: Value| {
        if let Some(chat) = v.get_mut("chat").and_then(Value::as_object_mut) {
            chat.remove("typing");
        }
        v
    };
    let streamed: Vec<_> = connect(&server, Some(0))
        .read_until(&last)
        .into_iter()
        .filter(|(_, event, _)| !event.contains("typing_indicator"))
        .rev()
        .collect();
    assert!(
        streamed.len() > 30,
        "the demo stores many events besides typing"
    );
    assert_eq!(
        paged.iter().map(|i| i["seq"].as_i64()).collect::<Vec<_>>(),
        streamed
            .iter()
            .map(|(seq, _, _)| Some(*seq))
            .collect::<Vec<_>>(),
        "the pages are the stream's stored events newest first, typing left out, none twice"
    );
    for (item, (seq, event, data)) in paged.iter().zip(streamed) {
        assert_eq!(
            item["event"],
            json!(event),
            "#{seq} is named as the stream names it"
        );
        assert_eq!(
            without_typing(item["data"].clone()),
            without_typing(data),
            "#{seq} ({event}) is the stream's item"
        );
    }

    let (status, body) = server.get("/api/activity?limit=501");
    assert_eq!(status, 400, "a limit over 500 is refused: {body}");
    let (status, body) = server.get("/api/activity?before=yesterday");
    assert_eq!(status, 400, "before must be a seq: {body}");
}

/// Regression for the log-first path: the stream carries only what the projector has folded
/// in, and a client resuming across a projector restart gets every later event once, in order.
#[test]
fn resume_has_no_gap_across_a_projector_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let live = connect(&server, None);
    std::thread::sleep(Duration::from_millis(100));
    let mut ids = Vec::new();
    for i in 0..3 {
        let (id, body) = msg(i);
        assert_eq!(server.post_signed(&body).0, 200, "stored");
        ids.push(id);
    }
    let seen = live.read_until(&ids[2]);
    let last_seen = seen.last().map(|s| s.0).unwrap_or_default();
    drop(live);
    server.kill();

    // Three more reach the log while the projector is stalled: acknowledged, not projected.
    let mut stalled = Server::start_with(
        dir.path(),
        &[
            ("LINQ_WEBHOOK_SECRET", Some(SECRET)),
            ("LINQ_INBOX_TEST_PROJECTOR", Some("stall")),
        ],
    );
    for i in 3..6 {
        let (id, body) = msg(i);
        assert_eq!(
            stalled.post_signed(&body).0,
            200,
            "acknowledged while the projector is stalled"
        );
        ids.push(id);
    }
    let early = connect(&stalled, Some(last_seen));
    assert!(
        early
            .rx
            .recv_timeout(Duration::from_millis(700))
            .map_or(true, |(id, event, _)| id.is_none() && event != "reset"),
        "nothing the projector has not folded in reaches the stream"
    );
    drop(early);
    stalled.kill();

    server.restart();
    let resumed = connect(&server, Some(last_seen));
    let (sentinel, body) = msg(99);
    assert_eq!(server.post_signed(&body).0, 200, "stored");
    let got: Vec<String> = resumed
        .read_until(&sentinel)
        .iter()
        .map(|(_, _, d)| d["event_id"].as_str().unwrap_or("").to_string())
        .collect();
    let mut expected: Vec<String> = ids[3..].to_vec();
    expected.push(sentinel);
    assert_eq!(
        got, expected,
        "resuming after {last_seen} across the restart gives exactly the later events, in order"
    );
}

/// Issue 24: the stream's messages carry the thread's order within a second (`tie`), so the UI
/// merges a live "10" between "9" and "11" where a reload would put it, not after them.
#[test]
fn stream_items_carry_the_threads_order_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let stream = connect(&server, None);
    post_messages_at(
        &server,
        "tie-chat",
        &["9", "10", "11"],
        "2025-05-21 15:30:00 -0600",
    );
    let live: Vec<(String, i64)> = stream
        .read_until("evt-tie-chat-11")
        .into_iter()
        .filter_map(|(_, _, data)| {
            let m = &data["message"];
            Some((m["id"].as_str()?.to_string(), m["tie"].as_i64()?))
        })
        .collect();
    let thread: Vec<(String, i64)> = server.api("/api/chats/tie-chat/messages")["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["tie"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut by_key = live.clone();
    by_key.sort_by_key(|(id, tie)| (*tie, id.clone()));
    assert_eq!(
        by_key, thread,
        "the stream's items, ordered by their key, are the thread (live: {live:?})"
    );
    assert_eq!(
        thread.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["9", "10", "11"],
        "in Linq's order"
    );
}
