//! The log first, the inbox behind it: a delivery is acknowledged once its log row commits, and
//! the projector folds the log into the inbox from its stored cursor, so a crash anywhere
//! between the two loses nothing and projects nothing twice.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::harness::*;

/// The test hook that keeps the projector from running (`src/ingest/projector.rs`).
const STALL: (&str, Option<&str>) = ("LINQ_INBOX_TEST_PROJECTOR", Some("stall"));
/// The test hook that ends the process inside the projector's first batch, before its commit.
const ABORT_MID_BATCH: (&str, Option<&str>) =
    ("LINQ_INBOX_TEST_PROJECTOR", Some("abort-mid-batch"));
const SIGNED: (&str, Option<&str>) = ("LINQ_WEBHOOK_SECRET", Some(SECRET));

fn message(i: usize) -> String {
    envelope(
        "message.received",
        &format!("proj-evt-{i}"),
        json!({
            "id": format!("proj-msg-{i}"), "chat_id": "proj-chat", "text": format!("note {i}"),
            "sent_at": format!("2026-11-20T10:{:02}:{:02}Z", i / 60, i % 60),
            "from_phone": "+15550100002", "service": "iMessage",
            "chat_handles": [
                {"identifier": "+15550100002", "display_name": "Pat", "is_me": false},
                {"identifier": "+15559876543", "display_name": "Me", "is_me": true}
            ]
        }),
    )
}

/// The ids of the messages in the test's chat, oldest first (none while the chat is not in
/// the inbox yet).
fn thread_ids(server: &Server) -> Vec<String> {
    let (status, page) = server.get("/api/chats/proj-chat/messages?limit=500");
    if status == 404 {
        return Vec::new();
    }
    assert_eq!(status, 200, "the thread answers: {page}");
    page["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["kind"] == json!("message"))
        .map(|m| m["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Posts a signed delivery; `None` when the server gave no answer (it died).
fn try_post(server: &Server, body: &str) -> Option<u16> {
    let answer = ureq::post(&server.webhook_url())
        .set("Content-Type", "application/json")
        .set("X-Webhook-Signature", &sign(body))
        .send_string(body);
    match answer {
        Ok(r) => Some(r.status()),
        Err(ureq::Error::Status(code, _)) => Some(code),
        Err(_) => None,
    }
}

/// Restarts with no hook, waits for the projector, and checks the inbox holds exactly the
/// `expected` messages once each and equals a rebuild from the log.
fn caught_up_after_restart(server: &mut Server, expected: &[usize]) {
    server.restart();
    let status = server.wait_projected();
    let ids = thread_ids(server);
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "no message is projected twice: {ids:?}"
    );
    let want: HashSet<String> = expected.iter().map(|i| format!("proj-msg-{i}")).collect();
    assert_eq!(
        distinct.into_iter().cloned().collect::<HashSet<_>>(),
        want,
        "every acknowledged delivery is in the inbox after the restart ({status})"
    );
    server.kill();
    let incremental = projections(&server.data_dir);
    let (ok, out, err) = cli(&["rebuild"], &server.data_dir, None);
    assert!(ok, "rebuild runs: {out} {err}");
    assert_eq!(
        incremental,
        projections(&server.data_dir),
        "what the projector built after the crash is what a rebuild from the log builds"
    );
}

#[test]
fn acknowledgements_never_wait_for_a_stalled_projector() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(dir.path(), &[SIGNED, STALL]);
    let all: Vec<usize> = (0..120).collect();
    for &i in &all {
        assert_eq!(
            server.post_signed(&message(i)).0,
            200,
            "a delivery is acknowledged once its log row commits, projected or not"
        );
    }
    let status = server.api("/api/status");
    assert_eq!(
        (status["log_seq"].as_i64(), status["projected_seq"].as_i64()),
        (Some(120), Some(0)),
        "every delivery is in the log and none is projected yet: {status}"
    );
    assert_eq!(
        status["projection"]["lag"],
        json!(120),
        "the status says how far the inbox is behind"
    );
    assert!(
        thread_ids(&server).is_empty(),
        "a read still answers while the projector is stalled, with what is projected"
    );
    // kill -9 between the log's commit and the projection of every row.
    caught_up_after_restart(&mut server, &all);
}

#[test]
fn a_projector_killed_mid_batch_projects_everything_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(dir.path(), &[SIGNED, ABORT_MID_BATCH]);
    let mut acked = Vec::new();
    let mut retry = Vec::new();
    // The process ends inside the projector's first batch: what was acknowledged before it is
    // in the log; the rest is refused or unanswered, and Linq retries it. Deliveries go on until
    // one is not acknowledged (bounded), so a projector that a loaded machine schedules late
    // still dies with deliveries on both sides of its batch.
    let mut sent = 0;
    while sent < 5_000 && retry.len() < 5 {
        match try_post(&server, &message(sent)) {
            Some(200) => acked.push(sent),
            _ => retry.push(sent),
        }
        sent += 1;
    }
    assert!(
        !acked.is_empty() && !retry.is_empty(),
        "the process died mid-batch after acknowledging some deliveries ({} acked)",
        acked.len()
    );
    server.restart();
    for &i in &retry {
        assert_eq!(
            server.post_signed(&message(i)).0,
            200,
            "a retried delivery is stored after the restart"
        );
    }
    // Linq may also redeliver what was acknowledged: still one message each.
    assert_eq!(
        server.post_signed(&message(acked[0])).0,
        200,
        "a redelivery is acknowledged"
    );
    let all: Vec<usize> = (0..sent).collect();
    caught_up_after_restart(&mut server, &all);
}

#[test]
fn a_row_that_cannot_be_projected_is_reported_and_the_rest_still_show() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    assert_eq!(
        server.post_signed(&message(0)).0,
        200,
        "the first delivery is stored"
    );
    server.wait_projected();
    server.kill();
    // A row the projector cannot read (as a damaged disk or an older build might leave).
    let conn = rusqlite::Connection::open(db_path(dir.path())).unwrap();
    conn.execute(
        "INSERT INTO events (event_id, event_type, received_at, signature, payload)
         VALUES ('damaged', 'message.received', 1, 'unsigned', '{\"event_type\": \"message.received\"}')",
        [],
    )
    .unwrap();
    drop(conn);
    server.restart();
    for i in 1..3 {
        assert_eq!(
            server.post_signed(&message(i)).0,
            200,
            "deliveries after the damaged row are stored"
        );
    }
    let status = server.wait_projected();
    assert_eq!(
        status["projection"]["failed"],
        json!(1),
        "the status counts the row that could not be projected: {status}"
    );
    assert_eq!(
        thread_ids(&server),
        ["proj-msg-0", "proj-msg-1", "proj-msg-2"],
        "the rows after the damaged one are projected all the same"
    );
    let events = server.all_events();
    let damaged: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_id"] == json!("damaged"))
        .collect();
    let reason = damaged
        .first()
        .and_then(|e| e["projection_error"].as_str())
        .unwrap_or_default();
    assert!(
        reason.contains("not an envelope"),
        "the Events screen says why the row was not projected: {damaged:?}"
    );
    assert!(
        events
            .iter()
            .filter(|e| e["event_id"] != json!("damaged"))
            .all(|e| e["projection_error"].is_null()),
        "only the damaged row carries a projection error"
    );
}

/// Regression: rows pruned from the log before the projector reached them (typing indicators
/// past their retention) left the projection behind the log for good, so every read waited out
/// its full allowance for a catch-up that could never come.
#[test]
fn rows_pruned_before_projection_do_not_hold_the_projection_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(dir.path(), &[SIGNED, STALL]);
    let typing = envelope(
        "typing_indicator.received",
        "proj-typing-1",
        json!({"chat_id": "proj-chat", "display": true, "from_phone": "+15550100002"}),
    );
    assert_eq!(
        server.post_signed(&typing).0,
        200,
        "the indicator is logged while the projector is stalled"
    );
    server.kill();
    // A retention of 0 hours: the writer prunes the indicator as it starts, before the
    // projector ever reads it.
    let restarted = Server::start_with(
        dir.path(),
        &[SIGNED, ("LINQ_INBOX_TYPING_RETENTION_HOURS", Some("0"))],
    );
    let status = restarted.wait_projected();
    assert_eq!(
        status["projection"]["lag"],
        json!(0),
        "the projection is not left behind a row that no longer exists: {status}"
    );
    drop(server);
}
