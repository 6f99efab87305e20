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
        assert_eq!(server.post_signed(&body).0, 200);
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
        assert_eq!(server.post_signed(&body).0, 200);
        ids.push(id);
    }
    let k = seqs[2];
    let resumed = connect(&server, Some(k));
    std::thread::sleep(Duration::from_millis(100));
    let (sentinel, body) = msg(99);
    assert_eq!(server.post_signed(&body).0, 200);
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
