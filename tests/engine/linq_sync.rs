//! Catching up through Linq's REST API (issue 19): the real binary's `linq sync` and the
//! engine's passes against the fake Linq's listings, v3 and v2.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{cli, cli_with, db_path, open_db, projections, Server};
use crate::linq_fake::{Account, FakeLinq, Order, TOKEN};

const LINE: &str = "+14155550100";
const ANN: &str = "+14155550101";
const BOB: &str = "+14155550102";

/// Environment for a CLI or server on the fake Linq, speaking `version`, unpaced.
fn env<'a>(base: &'a str, version: &'a str, token: &'a str) -> Vec<(&'a str, Option<&'a str>)> {
    vec![
        ("LINQ_API_BASE", Some(base)),
        ("LINQ_API_VERSION", Some(version)),
        ("LINQ_INTEGRATION_TOKEN", Some(token)),
        ("LINQ_INBOX_SYNC_RATE", Some("0")),
        ("LINQ_WEBHOOK_SECRET", Some(crate::harness::SECRET)),
    ]
}

/// `linq-inbox linq sync --json` against `fake`.
fn sync(dir: &Path, fake: &FakeLinq, version: &str, token: &str) -> (bool, Value, String) {
    let base = fake.base();
    let (ok, out, err) = cli_with(
        &["linq", "sync", "--json"],
        dir,
        None,
        &env(&base, version, token),
    );
    (ok, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

fn at(minutes_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes_ago))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn v3_handle(handle: &str, is_me: bool) -> Value {
    json!({"id": format!("h-{handle}"), "handle": handle, "is_me": is_me, "service": "iMessage",
           "joined_at": at(10_000)})
}

fn v3_chat(id: &str, group: Option<&str>, others: &[&str]) -> Value {
    let mut handles = vec![v3_handle(LINE, true)];
    handles.extend(others.iter().map(|h| v3_handle(h, false)));
    json!({"id": id, "created_at": at(10_000), "updated_at": at(1), "is_group": group.is_some(),
           "display_name": group.map_or_else(|| others.join(", "), str::to_string),
           "handles": handles, "service": "iMessage", "is_archived": false,
           "health_status": {"status": "HEALTHY", "doc_url": "https://docs", "updated_at": at(1)}})
}

/// A v3 API Message. `reactions` on part 0 as (handle, is_me, type).
fn v3_message(
    id: &str,
    chat: &str,
    from: &str,
    minutes_ago: i64,
    text: &str,
    status: &str,
    reactions: &[(&str, bool, &str)],
) -> Value {
    let is_from_me = from == LINE;
    let read_at = (status == "read").then(|| at(minutes_ago - 1));
    json!({"id": id, "chat_id": chat, "created_at": at(minutes_ago), "updated_at": at(minutes_ago),
           "is_from_me": is_from_me, "delivery_status": status,
           "is_delivered": matches!(status, "delivered" | "read"), "is_read": status == "read",
           "sent_at": at(minutes_ago), "delivered_at": is_from_me.then(|| at(minutes_ago)),
           "read_at": read_at, "from_handle": v3_handle(from, is_from_me), "service": "iMessage",
           "parts": [{"type": "text", "value": text, "reactions": reactions.iter().map(|(h, me, t)|
               json!({"handle": v3_handle(h, *me), "is_me": me, "type": t})).collect::<Vec<_>>()}]})
}

fn v3_media(id: &str, chat: &str, from: &str, minutes_ago: i64) -> Value {
    let mut m = v3_message(id, chat, from, minutes_ago, "photo", "received", &[]);
    m["parts"] = json!([{"type": "media", "id": format!("att-{id}"), "filename": "site.jpg",
        "mime_type": "image/jpeg", "size_bytes": 2048,
        "url": format!("https://cdn.linqapp.com/attachments/{id}/site.jpg"), "reactions": []}]);
    m
}

fn v2_chat(id: u64, group: Option<&str>, others: &[&str]) -> Value {
    let mut handles = vec![json!({"id": id * 10, "phone_number": LINE, "service": "iMessage"})];
    handles.extend(others.iter().enumerate().map(
        |(i, h)| json!({"id": id * 10 + 1 + i as u64, "phone_number": h, "service": "iMessage"}),
    ));
    json!({"id": id, "display_name": group.map_or_else(|| others.join(", "), str::to_string),
           "service": "iMessage", "group": group.is_some(), "message_count": 1,
           "chat_handles": handles})
}

fn v2_message(
    id: u64,
    from: &str,
    minutes_ago: i64,
    text: &str,
    status: &str,
    read: bool,
    reactions: &[(u64, &str, bool, &str)],
) -> Value {
    json!({"id": id, "text": text, "sent_at": at(minutes_ago),
           "delivered_at": (status == "delivered").then(|| at(minutes_ago)),
           "delivery_status": status, "edited_at": null, "is_read": read, "sent_from": from,
           "chat_handle_id": 1, "attachments": [],
           "reactions": reactions.iter().map(|(rid, by, me, kind)| json!({"id": rid,
               "chat_message_id": id, "reaction": kind, "is_from_me": me, "from_phone": by,
               "sent_at": at(minutes_ago - 1), "created_at": at(minutes_ago - 1),
               "updated_at": at(minutes_ago - 1)})).collect::<Vec<_>>()})
}

/// `message` with a photo attached, as v2 lists attachments.
fn with_v2_attachment(mut message: Value) -> Value {
    message["attachments"] = json!([{"id": "5f0c2a4e-0000-4000-8000-000000000011",
        "url": "https://cdn.linqapp.com/attachments/11/site.jpg", "filename": "site.jpg",
        "mime_type": "image/jpeg", "file_size": 2048}]);
    message
}

/// A one-to-one chat, a group chat and a long chat that takes several pages, in `version`.
/// Returns the account and how many messages it holds.
fn seeded(version: &'static str) -> (Account, usize) {
    let mut a = Account::new(version, vec![LINE.into()]);
    a.page_size = 20;
    if version == "v3" {
        a.add_chat(
            v3_chat("c-ann", None, &[ANN]),
            vec![
                v3_message("m-1", "c-ann", ANN, 300, "Is Friday ok?", "received", &[]),
                v3_message(
                    "m-2",
                    "c-ann",
                    LINE,
                    200,
                    "Friday works",
                    "read",
                    &[(ANN, false, "love")],
                ),
                v3_media("m-3", "c-ann", ANN, 100),
            ],
        );
        a.add_chat(
            v3_chat("c-team", Some("Renewals team"), &[ANN, BOB]),
            vec![
                v3_message(
                    "m-4",
                    "c-team",
                    BOB,
                    90,
                    "Quote attached?",
                    "received",
                    &[(LINE, true, "laugh")],
                ),
                v3_message("m-5", "c-team", LINE, 80, "Sending now", "delivered", &[]),
            ],
        );
        let long: Vec<Value> = (0..45)
            // Twelve hours apart: 22 days, well past the look-back.
            .map(|i| {
                v3_message(
                    &format!("m-long-{i}"),
                    "c-long",
                    BOB,
                    720 * (i + 1),
                    &format!("note {i}"),
                    "read",
                    &[],
                )
            })
            .collect();
        a.add_chat(v3_chat("c-long", None, &[BOB]), long);
    } else {
        a.add_chat(
            v2_chat(1, None, &[ANN]),
            vec![
                with_v2_attachment(v2_message(
                    11,
                    ANN,
                    300,
                    "Is Friday ok?",
                    "delivered",
                    false,
                    &[],
                )),
                v2_message(
                    12,
                    LINE,
                    200,
                    "Friday works",
                    "delivered",
                    true,
                    &[(901, ANN, false, "love")],
                ),
            ],
        );
        a.add_chat(
            v2_chat(2, Some("Renewals team"), &[ANN, BOB]),
            vec![
                v2_message(
                    21,
                    BOB,
                    90,
                    "Quote attached?",
                    "delivered",
                    false,
                    &[(902, LINE, true, "laugh")],
                ),
                v2_message(22, LINE, 80, "Sending now", "delivered", true, &[]),
            ],
        );
        let long: Vec<Value> = (0..45)
            .map(|i| {
                v2_message(
                    300 + i,
                    BOB,
                    720 * (i as i64 + 1),
                    &format!("note {i}"),
                    "delivered",
                    true,
                    &[],
                )
            })
            .collect();
        a.add_chat(v2_chat(3, None, &[BOB]), long);
    }
    let total = a.messages.values().map(Vec::len).sum();
    (a, total)
}

fn fake_with(account: Account) -> FakeLinq {
    let fake = FakeLinq::start();
    *fake.account.lock().unwrap() = Some(account);
    fake
}

fn count(dir: &Path, sql: &str) -> i64 {
    open_db(dir)
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

fn first_pass_imports_the_account(version: &'static str) {
    let dir = tempfile::tempdir().unwrap();
    let (account, total) = seeded(version);
    let fake = fake_with(account);
    let (ok, report, err) = sync(dir.path(), &fake, version, TOKEN);
    assert!(ok, "the first pass succeeds: {err}");
    assert_eq!(report["state"], "done", "the pass ended done: {report}");
    assert_eq!(
        report["fetched"], total,
        "every message was fetched: {report}"
    );
    assert_eq!(report["new"], total, "every message was new: {report}");
    assert_eq!(report["chats_done"], 3, "every chat was walked: {report}");
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM messages"),
        total as i64,
        "the inbox holds every message once"
    );
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM events WHERE signature = 'fetched'"
        ),
        total as i64,
        "each record entered the log as fetched, never as a signed delivery"
    );
    let group_is_group = count(
        dir.path(),
        "SELECT count(*) FROM chats WHERE is_group = 1 AND display_name = 'Renewals team'",
    );
    assert_eq!(group_is_group, 1, "the group chat is a group with its name");
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM reactions"),
        2,
        "the reactions listed with their messages are kept"
    );
    assert!(
        count(dir.path(), "SELECT count(*) FROM deliveries") >= 2,
        "delivered states are kept"
    );
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM attachments WHERE filename = 'site.jpg'"
        ),
        1,
        "the media part is kept as an attachment (for the attachment worker to download)"
    );
    let (read, unread) = if version == "v3" { (46, 3) } else { (47, 2) };
    assert_eq!(
        count(
            dir.path(),
            "SELECT count(*) FROM messages WHERE is_read = 1"
        ),
        read,
        "read states are kept"
    );
    assert_eq!(
        count(dir.path(), "SELECT sum(unread_count) FROM chats"),
        unread,
        "fetched inbound messages nobody read count as unread"
    );
    if version == "v3" {
        assert_eq!(
            count(
                dir.path(),
                "SELECT count(*) FROM read_receipts WHERE read_at IS NOT NULL"
            ),
            46,
            "read times are kept"
        );
    }
    let before = projections(dir.path());
    let logged = count(dir.path(), "SELECT count(*) FROM events");

    let (ok, again, err) = sync(dir.path(), &fake, version, TOKEN);
    assert!(ok, "the second pass succeeds: {err}");
    assert_eq!(again["new"], 0, "a second pass finds nothing new: {again}");
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM events"),
        logged,
        "a second pass adds nothing to the log (media URLs re-signed all the same)"
    );
    assert_eq!(
        projections(dir.path()),
        before,
        "a second pass changes nothing in the inbox"
    );

    let (ok, _, err) = cli(&["rebuild"], dir.path(), None);
    assert!(ok, "rebuild succeeds: {err}");
    assert_eq!(
        projections(dir.path()),
        before,
        "rebuild reproduces the same inbox from the log, fetched records included"
    );
}

#[test]
fn a_first_pass_imports_a_seeded_v3_account_and_a_second_changes_nothing() {
    first_pass_imports_the_account("v3");
}

#[test]
fn a_first_pass_imports_a_seeded_v2_account_and_a_second_changes_nothing() {
    first_pass_imports_the_account("v2");
}

#[test]
fn a_v3_listing_in_an_order_of_its_own_is_walked_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (mut account, total) = seeded("v3");
    account.order = Order::Shuffled;
    let fake = fake_with(account);
    let (ok, report, err) = sync(dir.path(), &fake, "v3", TOKEN);
    assert!(ok, "the pass succeeds: {err}");
    assert_eq!(
        report["new"], total,
        "a shuffled listing still gives every message: {report}"
    );
    let calls = fake.calls();
    let long_pages = calls
        .iter()
        .filter(|c| c.contains("/chats/c-long/messages"))
        .count();
    assert_eq!(
        long_pages, 3,
        "45 messages in pages of 20: three pages: {calls:?}"
    );
}

#[test]
fn a_second_pass_reads_only_the_newest_page_of_a_long_chat() {
    for (version, long) in [
        ("v3", "/chats/c-long/messages"),
        ("v2", "/chats/3/chat_messages"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake_with(seeded(version).0);
        assert!(
            sync(dir.path(), &fake, version, TOKEN).0,
            "{version}: the first pass succeeds"
        );
        let first = fake.calls().len();
        assert!(
            sync(dir.path(), &fake, version, TOKEN).0,
            "{version}: the second pass succeeds"
        );
        let second: Vec<String> = fake.calls()[first..].to_vec();
        let pages: Vec<&String> = second.iter().filter(|c| c.contains(long)).collect();
        assert_eq!(
            pages.len(),
            1,
            "{version}: past the watermark and the look-back the walk ends after one page: {second:?}"
        );
        if version == "v2" {
            assert!(
                pages[0].contains("after=") && pages[0].contains("sort=desc"),
                "{version}: v2 asks Linq for what came after the watermark, newest first: {}",
                pages[0]
            );
        }
    }
}

#[test]
fn a_refused_token_is_one_sentence_and_a_failed_exit() {
    for version in ["v3", "v2"] {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake_with(seeded(version).0);
        let (ok, answer, _) = sync(dir.path(), &fake, version, "lq_wrong_token_000000");
        assert!(!ok, "{version}: a refused token fails the command");
        let sentence = answer["error"].as_str().unwrap_or_default();
        assert!(
            sentence.contains("refused the integration token") && !sentence.contains('\n'),
            "{version}: --json prints the failure as a JSON object with the sentence: {answer}"
        );
        let base = fake.base();
        let (ok, out, err) = cli_with(
            &["linq", "sync"],
            dir.path(),
            None,
            &env(&base, version, "lq_wrong_token_000000"),
        );
        assert!(
            !ok && out.is_empty(),
            "{version}: without --json, nothing on standard output: {out}"
        );
        let line = err.trim();
        assert_eq!(line.lines().count(), 1, "{version}: one line: {line}");
        assert!(
            line.contains("refused the integration token"),
            "{version}: the sentence says what went wrong: {line}"
        );
        assert!(
            !line.contains("lq_wrong_token"),
            "{version}: never the token itself"
        );
        let seen = fake.seen();
        assert!(
            match version {
                "v3" => seen.iter().all(|s| s.authorization.as_deref()
                    == Some("Bearer lq_wrong_token_000000")
                    && s.token.is_none()),
                _ => seen
                    .iter()
                    .all(|s| s.token.as_deref() == Some("lq_wrong_token_000000")
                        && s.authorization.is_none()),
            },
            "{version}: the token travels in that version's header only"
        );
    }
}

#[test]
fn a_429_is_waited_out_for_its_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (account, total) = seeded("v3");
    let fake = fake_with(account);
    fake.script(429, &[("Retry-After", "2")], r#"{"success":false,"error":{"status":429,"code":1007,"message":"Rate limited","retry_after":2}}"#);
    let (ok, report, err) = sync(dir.path(), &fake, "v3", TOKEN);
    assert!(ok, "the pass succeeds after the wait: {err}");
    assert_eq!(report["new"], total, "and is complete: {report}");
    let seen = fake.seen();
    let waited = seen[1].at.duration_since(seen[0].at);
    assert!(
        waited >= Duration::from_millis(1900),
        "the call after the 429 came {waited:?} later, not the 2 s Retry-After asked"
    );
    assert_eq!(seen[0].path, seen[1].path, "the same call was tried again");
}

#[test]
fn a_pass_killed_midway_resumes_complete_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut account = Account::new("v3", vec![LINE.into()]);
    let chats = 30;
    for c in 0..chats {
        let id = format!("c-{c}");
        let other = format!("+1415556{c:04}");
        let messages = (0..4)
            .map(|i| {
                v3_message(
                    &format!("m-{c}-{i}"),
                    &id,
                    &other,
                    100 + i,
                    "hello",
                    "received",
                    &[],
                )
            })
            .collect();
        account.add_chat(v3_chat(&id, None, &[&other]), messages);
    }
    let fake = fake_with(account);
    *fake.delay.lock().unwrap() = Duration::from_millis(100);
    let base = fake.base();
    let mut child = std::process::Command::new(crate::harness::BIN)
        .args(["linq", "sync", "--data-dir"])
        .arg(dir.path())
        .envs(
            env(&base, "v3", TOKEN)
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v))),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start linq sync");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let done = rusqlite::Connection::open(db_path(dir.path()))
            .ok()
            .and_then(|c| {
                c.query_row(
                    "SELECT coalesce(max(chats_done), 0) FROM sync_passes",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .ok()
            })
            .unwrap_or(0);
        if done >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill -9 the pass");
    let _ = child.wait();
    let done_before = count(dir.path(), "SELECT chats_done FROM sync_passes");
    assert!(
        (5..chats).contains(&done_before),
        "killed midway, after {done_before} chats"
    );

    *fake.delay.lock().unwrap() = Duration::ZERO;
    let before = fake.calls().len();
    let (ok, report, err) = sync(dir.path(), &fake, "v3", TOKEN);
    assert!(ok, "the resumed pass succeeds: {err}");
    assert_eq!(report["state"], "done", "{report}");
    assert_eq!(
        report["chats_done"], chats,
        "the resumed pass ends with every chat: {report}"
    );
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM sync_passes"),
        1,
        "one pass, resumed"
    );
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM messages"),
        chats * 4,
        "every message"
    );
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM events"),
        chats * 4,
        "no record logged twice"
    );
    let walked_again = fake.calls()[before..]
        .iter()
        .filter(|c| c.contains("/messages"))
        .count() as i64;
    assert!(
        walked_again <= chats - done_before + 1,
        "the chats finished before the kill are not walked again ({walked_again} walks)"
    );
}

/// Waits until `GET /api/status` shows a finished pass whose start is not `previous`.
fn pass_done(server: &Server, previous: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sync = server.api("/api/status")["sync"].clone();
        if sync["state"] == "done" && sync["started_at"] != previous["started_at"] {
            return sync;
        }
        assert!(Instant::now() < deadline, "no pass finished: {sync}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn webhook(server: &Server, message: &Value, event_id: &str) {
    let data = json!({"id": message["id"], "chat": {"id": message["chat_id"], "is_group": false,
                      "owner_handle": v3_handle(LINE, true)},
                      "direction": "inbound", "sender_handle": message["from_handle"],
                      "parts": [{"type": "text", "value": message["parts"][0]["value"]}],
                      "sent_at": message["sent_at"], "service": "iMessage"});
    let body = json!({"api_version": "v3", "webhook_version": "2026-02-03",
                      "event_type": "message.received", "event_id": event_id,
                      "created_at": at(0), "data": data})
    .to_string();
    let (status, answer) = server.post_signed(&body);
    assert_eq!(status, 200, "the webhook is accepted: {answer}");
}

#[test]
fn fetched_then_delivered_and_delivered_then_fetched_are_one_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut account = Account::new("v3", vec![LINE.into()]);
    let early = v3_message(
        "m-early",
        "c-ann",
        ANN,
        30,
        "fetched first",
        "received",
        &[],
    );
    account.add_chat(v3_chat("c-ann", None, &[ANN]), vec![early.clone()]);
    let fake = fake_with(account);
    let base = fake.base();
    let server = Server::start_with(dir.path(), &env(&base, "v3", TOKEN));
    let start = pass_done(&server, &Value::Null);
    assert_eq!(
        start["new"], 1,
        "the pass at start fetched the message: {start}"
    );
    assert_eq!(start["trigger"], "start", "{start}");
    assert_eq!(
        (start["away"].clone(), start["away_chats"].clone()),
        (json!(1), json!(1)),
        "an unread inbound message found by the pass counts for the 'while you were away' summary: {start}"
    );

    webhook(&server, &early, "evt-early");
    let late = v3_message(
        "m-late",
        "c-ann",
        ANN,
        5,
        "delivered first",
        "read",
        &[(LINE, true, "like")],
    );
    webhook(&server, &late, "evt-late");
    fake.account
        .lock()
        .unwrap()
        .as_mut()
        .expect("account")
        .messages
        .get_mut("c-ann")
        .expect("chat")
        .push(late);
    let (status, answer) = server.post_api("/api/linq/sync", "");
    assert_eq!(status, 202, "a pass on demand is accepted: {answer}");
    let demand = pass_done(&server, &start);
    assert_eq!(
        demand["new"], 0,
        "the message delivered first is not new: {demand}"
    );

    let thread = server.api("/api/chats/c-ann/messages?limit=100");
    let items = thread["messages"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = items.iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(
        ids.iter().filter(|i| **i == "m-early").count(),
        1,
        "one m-early: {ids:?}"
    );
    assert_eq!(
        ids.iter().filter(|i| **i == "m-late").count(),
        1,
        "one m-late: {ids:?}"
    );
    let late = items
        .iter()
        .find(|m| m["id"] == "m-late")
        .expect("m-late in the thread");
    assert!(
        late["read_at"].is_string(),
        "the API's read time joined the held message: {late}"
    );
    assert_eq!(
        late["reactions"].as_array().map(Vec::len),
        Some(1),
        "the reaction on its part joined it too: {late}"
    );
}

/// The highest resident set `pid` reached, from `/proc` (0 once it has exited).
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The benchmark of docs/BENCHMARKS.md at `make soak` scale (`LINQ_INBOX_SOAK=1`: 1,000 chats,
/// 100,000 messages); 100 chats and 10,000 messages otherwise. Prints time and peak RSS.
/// `LINQ_INBOX_SYNC_BENCH_BIN` runs another build of the binary (the release one).
#[test]
fn a_pass_over_a_large_account_is_complete() {
    let (chats, per_chat) = if crate::harness::soak() {
        (1000, 100)
    } else {
        (100, 100)
    };
    let dir = tempfile::tempdir().unwrap();
    let mut account = Account::new("v3", vec![LINE.into()]);
    for c in 0..chats {
        let id = format!("c-{c}");
        let other = format!("+1415557{c:04}");
        let messages = (0..per_chat)
            .map(|i| {
                v3_message(
                    &format!("m-{c}-{i}"),
                    &id,
                    &other,
                    10 + i,
                    "a message of ordinary length, about sixty characters",
                    "received",
                    &[],
                )
            })
            .collect();
        account.add_chat(v3_chat(&id, None, &[&other]), messages);
    }
    let fake = fake_with(account);
    let total = chats * per_chat;
    let (first, elapsed, peak) = timed_sync(dir.path(), &fake);
    assert_eq!(
        first["new"], total,
        "every message of the account came in: {first}"
    );
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM messages"),
        total,
        "and is in the inbox"
    );
    println!(
        "catch-up pass: {chats} chats, {total} messages, {} requests in {:.1} s, peak RSS {} MiB",
        fake.calls().len(),
        elapsed.as_secs_f64(),
        peak / 1024
    );
    let calls = fake.calls().len();
    let (second, elapsed, peak) = timed_sync(dir.path(), &fake);
    assert_eq!(
        second["new"], 0,
        "the second pass finds nothing new: {second}"
    );
    println!(
        "second pass: {} requests in {:.1} s, peak RSS {} MiB",
        fake.calls().len() - calls,
        elapsed.as_secs_f64(),
        peak / 1024
    );
}

/// Runs `linq sync --json` (`LINQ_INBOX_SYNC_BENCH_BIN`, else this build's binary) against
/// `fake`: its report, how long it took and its peak RSS in KiB.
fn timed_sync(dir: &Path, fake: &FakeLinq) -> (Value, Duration, u64) {
    let base = fake.base();
    let bin = std::env::var("LINQ_INBOX_SYNC_BENCH_BIN").unwrap_or(crate::harness::BIN.into());
    let started = Instant::now();
    let mut child = std::process::Command::new(bin)
        .args(["linq", "sync", "--json", "--data-dir"])
        .arg(dir)
        .envs(
            env(&base, "v3", TOKEN)
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v))),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start linq sync");
    let mut peak = 0;
    while child.try_wait().expect("wait").is_none() {
        peak = peak.max(peak_rss_kib(child.id()));
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    let out = child.wait_with_output().expect("output");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (report, elapsed, peak)
}

#[test]
fn a_listener_reachable_again_after_a_failed_tunnel_check_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_with(seeded("v3").0);
    let base = fake.base();
    let server = Server::start_with(dir.path(), &env(&base, "v3", TOKEN));
    let start = pass_done(&server, &Value::Null);
    let dead = format!("http://127.0.0.1:{}", crate::harness::free_port());
    let (status, report) = server.post_api(
        "/api/linq/test-delivery",
        &json!({"public_url": dead, "timeout_ms": 1000}).to_string(),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["ok"], false,
        "nothing listens there: the check fails"
    );
    // Passes run one at a time in the order asked for: one asked for now runs after any the
    // failing check asked for, so once it is done the passes on record tell.
    let (status, answer) = server.post_api("/api/linq/sync", "");
    assert_eq!(status, 202, "a pass on demand is accepted: {answer}");
    let demand = pass_done(&server, &start);
    assert_eq!(
        demand["trigger"], "demand",
        "a failing check alone starts no pass: {demand}"
    );
    assert_eq!(
        count(dir.path(), "SELECT count(*) FROM sync_passes"),
        2,
        "a failing check alone starts no pass: the first pass and the one asked for"
    );
    let tunnel = crate::linq_fake::tunnel(server.webhook);
    let (status, report) = server.post_api(
        "/api/linq/test-delivery",
        &json!({"public_url": format!("http://{tunnel}")}).to_string(),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], true, "through the tunnel again: {report}");
    let again = pass_done(&server, &demand);
    assert_eq!(
        again["trigger"], "listener",
        "reachable again: a pass fetches what Linq gave up on meanwhile"
    );
}
