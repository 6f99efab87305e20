//! Disk full: the data folder sits on a small tmpfs that a filler file fills up. Deliveries get
//! 503 with `Retry-After`, none is acknowledged and lost, the status API and `/healthz` report
//! the problem, and once the filler is gone the same deliveries are stored without a restart.
//! Mounting needs root (CI and the dev machines run as root).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

/// A tmpfs mounted on a temp dir; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "the disk-full test mounts a small tmpfs and needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes a file until the file system refuses more.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for size in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let block = vec![0xA5u8; size];
        while f.write_all(&block).is_ok() {
            written += size as u64;
        }
    }
    let _ = f.sync_all();
    written
}

/// POSTs a signed body; (status, Retry-After).
fn deliver(agent: &ureq::Agent, url: &str, body: &str) -> (u16, Option<String>) {
    let answer = agent
        .post(url)
        .set("Content-Type", "application/json")
        .set("X-Webhook-Signature", &sign(body))
        .send_string(body);
    match answer {
        Ok(r) => (r.status(), r.header("retry-after").map(str::to_string)),
        Err(ureq::Error::Status(code, r)) => (code, r.header("retry-after").map(str::to_string)),
        Err(e) => panic!("transport error: {e}"),
    }
}

/// The `data` of every `event: store` on the UI's live stream (what raises the UI's banner).
fn store_events(server: &Server) -> std::sync::mpsc::Receiver<serde_json::Value> {
    use std::io::BufRead;
    let resp = ureq::AgentBuilder::new()
        .timeout_read(Duration::from_secs(120))
        .build()
        .get(&format!("http://{}/api/stream", server.ui))
        .set("Authorization", &format!("Bearer {}", server.token))
        .call()
        .expect("GET /api/stream");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut is_store = false;
        for line in std::io::BufReader::new(resp.into_reader()).lines() {
            let Ok(line) = line else { break };
            if let Some(event) = line.strip_prefix("event:") {
                is_store = event.trim() == "store";
            } else if let Some(data) = line.strip_prefix("data:") {
                if is_store
                    && tx
                        .send(serde_json::from_str(data.trim()).unwrap_or_default())
                        .is_err()
                {
                    break;
                }
            } else if line.is_empty() {
                is_store = false;
            }
        }
    });
    rx
}

/// The last store event once the stream has reported `ok` and then nothing for a moment (or
/// after 5 s). While the disk is nearly full a commit can still fit in space the log already
/// holds, so the store's state may flip before it settles; the UI shows the last one.
fn settles_on(
    stream: &std::sync::mpsc::Receiver<serde_json::Value>,
    ok: bool,
) -> Option<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last: Option<serde_json::Value> = None;
    loop {
        let settled = last.as_ref().is_some_and(|e| e["ok"] == json!(ok));
        let wait = if settled {
            Duration::from_millis(300)
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        match stream.recv_timeout(wait) {
            Ok(event) => last = Some(event),
            Err(_) => return last,
        }
    }
}

fn message(i: usize) -> String {
    envelope(
        "message.received",
        &format!("disk-{i}"),
        json!({"id": format!("disk-msg-{i}"), "chat_id": format!("disk-chat-{}", i % 7),
               "text": format!("message {i} {}", "padding ".repeat(40)), "from_phone": "+15550001"}),
    )
}

#[test]
fn disk_full_refuses_with_503_and_recovers_by_itself() {
    let fs = Tmpfs::mount("24m");
    let data: PathBuf = fs.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut server = Server::start(&data);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let url = server.webhook_url();
    let mut acked = HashSet::new();
    let mut i = 0;
    for _ in 0..30 {
        let (s, _) = deliver(&agent, &url, &message(i));
        assert_eq!(s, 200, "with space left, deliveries are stored");
        acked.insert(format!("disk-{i}"));
        i += 1;
    }

    let stream = store_events(&server);
    let filler = fs.path().join("filler");
    let filled = fill(&filler);
    let mut refused = Vec::new();
    let mut retry_after = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while refused.len() < 20 {
        assert!(
            Instant::now() < deadline && i < 5_000,
            "the full disk never refused a delivery ({} stored)",
            acked.len()
        );
        let (s, ra) = deliver(&agent, &url, &message(i));
        match s {
            200 => {
                acked.insert(format!("disk-{i}"));
            }
            503 => {
                refused.push(i);
                retry_after.insert(ra);
            }
            other => panic!("a full disk must answer 200 (stored) or 503, not {other}"),
        }
        i += 1;
    }
    assert_eq!(
        retry_after,
        HashSet::from([Some("5".to_string())]),
        "every 503 carries Retry-After: 5"
    );

    let status = server.api("/api/status");
    assert_eq!(
        status["store"]["ok"],
        json!(false),
        "the status API reports the store problem: {status}"
    );
    let error = status["store"]["error"].as_str().unwrap_or("");
    assert!(
        error.contains("disk is full"),
        "the status API says the disk is full: {error}"
    );
    let (s, _, _) = raw_http(
        server.webhook,
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.webhook
        )
        .as_bytes(),
    );
    assert_eq!(s, 503, "/healthz says the inbox cannot store");
    let reported = settles_on(&stream, false);
    assert_eq!(
        reported.as_ref().map(|e| &e["ok"]),
        Some(&json!(false)),
        "the UI's live stream says the store failed: {reported:?}"
    );
    let listed: HashSet<String> = server
        .all_events()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        listed, acked,
        "while the disk is full, reads work and show exactly what was acknowledged"
    );

    // Space comes back: Linq's retries of the refused deliveries are stored, no restart.
    std::fs::remove_file(&filler).unwrap();
    for &n in &refused {
        let (s, _) = deliver(&agent, &url, &message(n));
        assert_eq!(
            s, 200,
            "after space returns, the retried delivery disk-{n} is stored"
        );
        acked.insert(format!("disk-{n}"));
    }
    // The log took them; the projector retries its own batch a moment later (its file is
    // apart since the split, ARCHITECTURE.md "Two files"), and the store is healthy once both
    // write again.
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        let status = server.api("/api/status");
        if status["store"]["ok"] == json!(true) || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        status["store"],
        json!({"ok": true, "error": null}),
        "the problem clears by itself"
    );
    let cleared = settles_on(&stream, true);
    assert_eq!(
        cleared.as_ref().map(|e| &e["ok"]),
        Some(&json!(true)),
        "the UI's banner clears through the live stream: {cleared:?}"
    );
    let (s, _, _) = raw_http(
        server.webhook,
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.webhook
        )
        .as_bytes(),
    );
    assert_eq!(s, 200, "/healthz is healthy again");
    let rejected = server.api("/api/rejected");
    assert_eq!(
        rejected["total"],
        json!(0),
        "a 503 asks Linq to retry and is no rejected delivery: {rejected}"
    );

    server.kill();
    let logged: HashSet<String> = logged_keys(&data).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        logged, acked,
        "every acknowledged delivery is in the log, nothing else"
    );
    assert_eq!(
        integrity(&data),
        "ok",
        "the database is intact after running out of space"
    );
    let before = projections(&data);
    let (ok, out, err) = cli(&["rebuild"], &data, None);
    assert!(ok, "rebuild: {out} {err}");
    assert_eq!(
        projections(&data),
        before,
        "the projections equal a rebuild"
    );
    println!(
        "disk full: filler {} KiB, {} stored before the refusals, {} refused then stored",
        filled / 1024,
        acked.len() - refused.len(),
        refused.len()
    );
}

/// A UI write (`PUT /api/settings`): (status, Retry-After, body).
fn put_settings(agent: &ureq::Agent, server: &Server, body: &str) -> (u16, Option<String>, String) {
    let answer = agent
        .put(&format!("http://{}/api/settings", server.ui))
        .set("Authorization", &format!("Bearer {}", server.token))
        .set("Content-Type", "application/json")
        .send_string(body);
    let (status, r) = match answer {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("transport error: {e}"),
    };
    let retry = r.header("retry-after").map(str::to_string);
    (status, retry, r.into_string().unwrap_or_default())
}

/// Settings that differ on every call and take some pages, so each save needs new space.
fn muted(round: usize) -> String {
    let chats: Vec<String> = (0..400)
        .map(|c| format!("round-{round}-muted-chat-{c:04}"))
        .collect();
    json!({ "muted_chats": chats }).to_string()
}

/// Regression (issue 17): a UI write that failed on a full disk answered 400 with SQLite's text
/// ("database or disk is full"), as if the request were wrong, and did not raise the disk
/// banner (the writer turned the disk error into text before the health check saw it).
#[test]
fn ui_writes_on_a_full_disk_answer_503_with_retry_after() {
    let fs = Tmpfs::mount("24m");
    let data: PathBuf = fs.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let server = Server::start(&data);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let (s, _, body) = put_settings(&agent, &server, &muted(0));
    assert_eq!(s, 200, "with space left, settings are saved: {body}");

    let filler = fs.path().join("filler");
    fill(&filler);
    // Deliveries keep the database growing, so the full disk is met by every commit soon
    // (at the edge some still fit in space the log already holds).
    let url = server.webhook_url();
    let mut refused = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut round = 1;
    while refused.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the full disk never refused a UI write ({round} tried)"
        );
        let _ = deliver(&agent, &url, &message(round));
        let (s, retry, body) = put_settings(&agent, &server, &muted(round));
        match s {
            200 => {}
            503 => refused.push((retry, body)),
            other => panic!(
                "a UI write on a full disk answers 200 (it fit) or 503 (retry), not {other}: {body}"
            ),
        }
        round += 1;
    }
    for (retry, body) in &refused {
        assert_eq!(
            retry.as_deref(),
            Some("5"),
            "a refused UI write says when to retry, like a refused delivery: {body}"
        );
        assert!(
            !body.contains("database or disk"),
            "SQLite's text stays in the app's log, not in the answer: {body}"
        );
        assert!(
            body.contains("disk"),
            "the answer says the disk is the problem: {body}"
        );
    }
    let status = server.api("/api/status");
    assert_eq!(
        status["store"]["ok"],
        json!(false),
        "the disk banner is up while writes fail: {status}"
    );

    std::fs::remove_file(&filler).unwrap();
    let (s, _, body) = put_settings(&agent, &server, &muted(round));
    assert_eq!(
        s, 200,
        "once space returns, the same write is saved: {body}"
    );
}
