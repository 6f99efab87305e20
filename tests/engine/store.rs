use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;

#[test]
fn persistence_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    send_all(&server, &demo(60, 7));
    assert_eq!(
        server
            .post_raw(b"{}", Some("sha256=00"), "application/json")
            .0,
        401,
        "a delivery with a bad signature is refused"
    );
    server.rejected_at_least(1);
    let events = server.all_events();
    let before = server.state();
    assert!(
        !before["chats"]["chats"].as_array().unwrap().is_empty(),
        "the demo stream must make chats"
    );
    server.restart();
    assert_eq!(
        server.all_events(),
        events,
        "every event must survive a restart on the same data dir"
    );
    assert_eq!(
        server.state(),
        before,
        "chats, calls and contacts must survive a restart"
    );
    assert_eq!(
        server.api("/api/rejected")["total"],
        json!(1),
        "rejected deliveries survive a restart"
    );
}

#[test]
fn import_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    send_all(&server, &demo(60, 11));
    let n_events = server.all_events().len();
    drop(server);

    let (ok, exported, err) = cli(&["export"], dir.path(), None);
    assert!(ok, "export must succeed: {err}");
    assert_eq!(
        exported.lines().count(),
        n_events,
        "export writes one envelope a line"
    );
    for (i, line) in exported.lines().enumerate() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("export line {} is not JSON: {e}", i + 1));
    }
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &exported).unwrap();

    let fresh = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(&["import", file.to_str().unwrap()], fresh.path(), None);
    assert!(ok, "import into a fresh dir must succeed: {out} {err}");
    let (ok, again, err) = cli(&["export"], fresh.path(), None);
    assert!(ok, "second export must succeed: {err}");
    assert_eq!(
        again, exported,
        "export → import → export must reproduce the same JSONL"
    );
    // Importing again is idempotent.
    let (ok, _, err) = cli(&["import", "-"], fresh.path(), Some(exported.as_bytes()));
    assert!(ok, "re-import via stdin must succeed: {err}");
    let (_, third, _) = cli(&["export"], fresh.path(), None);
    assert_eq!(third, exported, "import is idempotent");

    // A file with a bad line: fails, one line error naming the line, stores nothing.
    let mut lines: Vec<&str> = exported.lines().take(5).collect();
    lines.insert(3, "{not json at all");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let empty = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(&["import", bad.to_str().unwrap()], empty.path(), None);
    assert!(
        !ok,
        "import of a file with a bad line must fail; stdout: {out}"
    );
    let err_lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        err_lines.len(),
        1,
        "the import error must be one line: {err:?}"
    );
    assert!(
        err_lines[0].contains('4'),
        "the import error must name line 4: {err:?}"
    );
    let (_, after, _) = cli(&["export"], empty.path(), None);
    assert_eq!(after, "", "a failed import must store nothing");
}

#[test]
fn rebuild_matches_incremental_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    send_all(&server, &demo(80, 23));
    let incremental = server.state();
    server.kill();
    let (ok, out, err) = cli(&["rebuild"], dir.path(), None);
    assert!(ok, "rebuild must succeed: {out} {err}");
    server.restart();
    let rebuilt = server.state();
    for key in ["chats", "calls", "contacts"] {
        assert_eq!(
            rebuilt[key], incremental[key],
            "rebuild must re-derive the same /api/{key}"
        );
    }
}

#[test]
fn crash_keeps_every_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let deliveries = demo(300, 99);
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let url = server.webhook_url();
    // Three concurrent senders, lightly paced, so requests are in flight when the kill lands.
    let deliveries = Arc::new(deliveries);
    let senders: Vec<_> = (0..3)
        .map(|k| {
            let (url, acked, deliveries) = (url.clone(), acked.clone(), deliveries.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build();
                for d in deliveries.iter().skip(k).step_by(3) {
                    let r = agent
                        .post(&url)
                        .set("Content-Type", "application/json")
                        .set("X-Webhook-Signature", &d.signature(SECRET.as_bytes()))
                        .send_string(&d.body);
                    match r {
                        Ok(resp) if resp.status() == 200 => {
                            acked.lock().unwrap().insert(d.event_id.clone());
                        }
                        Ok(_) | Err(ureq::Error::Status(..)) => {}
                        Err(_) => break, // server gone
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 120 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill();
    for t in senders {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 100,
        "the server must have acknowledged deliveries before the kill ({})",
        acked.len()
    );
    assert!(
        acked.len() < 300,
        "the kill must land mid-stream for the test to mean anything"
    );

    {
        let db = dir.path().join("linq-inbox.db");
        let conn =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "the database must be intact after SIGKILL");
    }
    server.restart();
    let stored: HashSet<String> = server
        .all_events()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "every delivery answered 200 must survive a crash; lost {lost:?}"
    );
    let conn = rusqlite::Connection::open_with_flags(
        dir.path().join("linq-inbox.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "integrity_check after restart");
}

#[test]
fn port_in_use_is_one_clear_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    // Port 0: a probed port could be taken by another test before serve binds it.
    let ui = "127.0.0.1:0".to_string();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--listen", &addr, "--ui-listen", &ui])
        .env("LINQ_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "serve on a port already in use must exit non-zero"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked"),
        "a busy port must not panic: {err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "a busy port ends startup with one clear sentence: {err:?}"
    );
    assert!(
        lines[0].contains(&addr),
        "the sentence names the busy address: {err:?}"
    );
    drop(taken);
}

#[test]
fn cli_contracts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    send_all(&server, &demo(20, 3));
    drop(server);

    // Settings before the subcommand name are the same as after it.
    let out = std::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("export")
        .env("LINQ_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "settings before the subcommand: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, after, _) = cli(&["export"], dir.path(), None);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        after,
        "--data-dir before or after `export` is the same"
    );
    assert_eq!(
        after.lines().count(),
        20,
        "the export holds every one of the 20 events, one a line"
    );

    // --out writes the same JSONL to a file.
    let file = dir.path().join("out.jsonl");
    let (ok, stdout, err) = cli(
        &["export", "--out", file.to_str().unwrap()],
        dir.path(),
        None,
    );
    assert!(ok, "export --out: {err}");
    assert_eq!(stdout, "", "export --out writes nothing to stdout");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        after,
        "export --out writes the same JSONL"
    );

    // Imported events are recorded as `unsigned`.
    let fresh = tempfile::tempdir().unwrap();
    let (ok, _, err) = cli(&["import", file.to_str().unwrap()], fresh.path(), None);
    assert!(ok, "import: {err}");
    let server = Server::start(fresh.path());
    let events = server.all_events();
    assert_eq!(
        events.len(),
        20,
        "importing the export into a fresh folder brings back all 20 events"
    );
    assert!(
        events.iter().all(|e| e["signature"] == json!("unsigned")),
        "imported events are `unsigned`"
    );
    drop(server);

    // doctor on free ports with a secret and a healthy DB passes.
    let [l, u] = free_ports().map(|port| format!("127.0.0.1:{port}"));
    let (ok, out, err) = cli(
        &["doctor", "--listen", &l, "--ui-listen", &u],
        dir.path(),
        None,
    );
    assert!(ok, "doctor must pass on a healthy setup: {out} {err}");
    assert!(
        out.contains("(ok)"),
        "doctor reports the integrity check: {out}"
    );
    assert!(
        !out.contains(SECRET) && !err.contains(SECRET),
        "doctor must not print the secret"
    );
}
