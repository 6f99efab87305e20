//! Attachments kept in the data folder: the real binary downloads every attachment of the
//! messages it holds from the fake Linq on loopback, reads the type from the bytes, keeps to
//! its limits and its address policy, tries again after a failure, serves the local copy with
//! the security headers of DESIGN.md, and carries the files through rebuild and
//! `export --with-attachments` / `import`.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;
use crate::linq_fake::{FakeFile, FakeLinq};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";
const HTML: &[u8] =
    b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
/// The start of an MP4 (ISO base media) file: its `ftyp` box.
const MP4: &[u8] = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom\0\0\0\x08free";
const CHAT: &str = "chat-files";

fn file(bytes: &[u8], claimed: &str) -> FakeFile {
    FakeFile {
        bytes: bytes.to_vec(),
        content_type: claimed.into(),
        ..FakeFile::default()
    }
}

/// `n` bytes that start like a PNG and differ by `seed`.
fn big_png(n: usize, seed: u8) -> Vec<u8> {
    let mut bytes = PNG.to_vec();
    bytes.resize(n, seed);
    bytes
}

/// A server whose Linq API base is the fake, with extra environment.
fn start(dir: &Path, fake: &FakeLinq, env: &[(&str, Option<&str>)]) -> Server {
    let base = fake.base();
    let mut all = vec![
        ("LINQ_WEBHOOK_SECRET", Some(SECRET)),
        ("LINQ_API_BASE", Some(base.as_str())),
    ];
    all.extend_from_slice(env);
    Server::start_with(dir, &all)
}

/// Delivers one inbound v2 message carrying `attachments` (id, url, filename, mime_type).
fn deliver(server: &Server, message_id: &str, attachments: Value) {
    let body = envelope(
        "message.received",
        &format!("evt-{message_id}"),
        json!({
            "id": message_id, "chat_id": CHAT, "text": "files", "from_phone": "+15550001111",
            "sent_at": chrono::Utc::now().to_rfc3339(), "service": "iMessage",
            "chat_handles": [{"identifier": "+15550001111", "is_me": false}],
            "attachments": attachments,
        }),
    );
    let (status, answer) = server.post_signed(&body);
    assert_eq!(status, 200, "the delivery is stored: {answer}");
}

fn attachment(id: &str, url: &str, filename: &str, mime: &str) -> Value {
    json!({"id": id, "url": url, "filename": filename, "mime_type": mime})
}

/// The thread's attachments by key.
fn attachments(server: &Server) -> HashMap<String, Value> {
    let thread = server.api(&format!("/api/chats/{CHAT}/messages?limit=500"));
    thread["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["attachments"].as_array().cloned().unwrap_or_default())
        .map(|a| (a["key"].as_str().unwrap_or_default().to_string(), a))
        .collect()
}

/// Polls the thread until `done` holds for the attachment `key`; panics after 20 s.
fn wait_for(server: &Server, key: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = attachments(server).remove(key).unwrap_or(Value::Null);
        if done(&found) {
            return found;
        }
        assert!(Instant::now() < deadline, "{key} never {what}: {found}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn settled(server: &Server, key: &str) -> Value {
    wait_for(server, key, "settled", |a| {
        a["state"] == "downloaded" || (a["state"] == "failed" && a["retrying"] == false)
    })
}

/// A raw GET of the UI API: status, lowercase headers, body bytes.
fn fetch(server: &Server, path: &str) -> (u16, HashMap<String, String>, Vec<u8>) {
    fetch_with(server, path, &[])
}

fn fetch_with(
    server: &Server,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, HashMap<String, String>, Vec<u8>) {
    let url = format!("http://{}{}", server.ui, path);
    let mut request = ureq::get(&url).set("Authorization", &format!("Bearer {}", server.token));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let response = match request.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .map(|name| {
            let value = response.header(&name).unwrap_or_default().to_string();
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body).expect("read the body");
    (status, headers, body)
}

#[test]
fn the_type_comes_from_the_bytes_and_only_raster_media_is_served_inline() {
    let fake = FakeLinq::start();
    let png_as_pdf = fake.serve("scan.pdf", file(PNG, "application/pdf"));
    let html_as_png = fake.serve("photo.png", file(HTML, "image/png"));
    let video = fake.serve("clip.bin", file(MP4, "application/octet-stream"));
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, &[]);
    deliver(
        &server,
        "m-types",
        json!([
            attachment("att-png", &png_as_pdf, "scan.pdf", "application/pdf"),
            attachment("att-html", &html_as_png, "photo.png", "image/png"),
            attachment("att-video", &video, "clip.bin", "application/octet-stream"),
        ]),
    );

    let png = settled(&server, "att-png");
    assert_eq!(png["state"], "downloaded", "kept: {png}");
    assert_eq!(
        png["content_type"], "image/png",
        "a PNG named .pdf is a PNG"
    );
    assert_eq!(png["preview"], "image", "and the thread shows it in place");
    assert_eq!(png["size"], json!(PNG.len()), "its size on disk");
    assert_eq!(
        png["local_url"], "/api/attachments/att-png",
        "served locally"
    );
    let (status, headers, body) = fetch(&server, "/api/attachments/att-png");
    assert_eq!(status, 200, "the local copy is served");
    assert_eq!(body, PNG, "byte for byte");
    assert_eq!(headers["content-type"], "image/png", "type from the bytes");
    assert_eq!(headers["x-content-type-options"], "nosniff", "no sniffing");
    assert_eq!(headers["content-security-policy"], "sandbox", "sandboxed");
    assert_eq!(
        headers["content-disposition"], "inline; filename=\"scan.pdf\"; filename*=UTF-8''scan.pdf",
        "a raster image is inline"
    );

    let html = settled(&server, "att-html");
    assert_eq!(html["content_type"], "text/html", "HTML named .png is HTML");
    assert_eq!(html["preview"], Value::Null, "never shown in place");
    let (status, headers, body) = fetch(&server, "/api/attachments/att-html");
    assert_eq!(status, 200, "still downloadable");
    assert_eq!(body, HTML, "byte for byte");
    assert_eq!(headers["content-type"], "text/html", "named for what it is");
    assert_eq!(headers["content-security-policy"], "sandbox", "sandboxed");
    assert_eq!(headers["x-content-type-options"], "nosniff", "no sniffing");
    assert!(
        headers["content-disposition"].starts_with("attachment;"),
        "HTML is only ever a download: {}",
        headers["content-disposition"]
    );

    let clip = settled(&server, "att-video");
    assert_eq!(clip["content_type"], "video/mp4", "a video by its bytes");
    assert_eq!(clip["preview"], "video", "shown in place (its first frame)");
    let (_, headers, _) = fetch(&server, "/api/attachments/att-video");
    assert!(
        headers["content-disposition"].starts_with("inline;"),
        "video is inline: {}",
        headers["content-disposition"]
    );

    let (_, page, _) = fetch(&server, "/");
    let csp = &page["content-security-policy"];
    assert!(
        csp.contains("img-src 'self' data:;") && !csp.contains("img-src 'self' https:"),
        "the page loads images from the local copies only, never from Linq's addresses: {csp}"
    );

    let kept: Vec<String> = std::fs::read_dir(dir.path().join("attachments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 3, "three files: {kept:?}");
    assert!(
        kept.iter()
            .all(|name| name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())),
        "named by their SHA-256, never by Linq's filename: {kept:?}"
    );

    let (status, _, body) = fetch_with(
        &server,
        "/api/attachments/att-png",
        &[("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(
        status, 403,
        "another site's page cannot embed or read a kept file"
    );
    assert!(!body.starts_with(b"\x89PNG"), "and gets none of its bytes");

    let (status, _, body) = fetch(&server, "/api/attachments/no-such-file");
    assert_eq!(status, 404, "an unknown attachment");
    let error: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!(error["error"], "no such attachment", "says so");
}

#[test]
fn a_slow_file_is_not_served_before_it_is_whole_and_holds_up_no_other() {
    let fake = FakeLinq::start();
    let slow = fake.serve(
        "slow.png",
        FakeFile {
            pause: Duration::from_millis(400),
            ..file(&big_png(5 * 64 * 1024, 1), "image/png")
        },
    );
    let quick = fake.serve("quick.png", file(PNG, "image/png"));
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, &[]);
    deliver(
        &server,
        "m-slow",
        json!([attachment("att-slow", &slow, "slow.png", "image/png")]),
    );
    deliver(
        &server,
        "m-quick",
        json!([attachment("att-quick", &quick, "quick.png", "image/png")]),
    );
    let started = Instant::now();
    wait_for(&server, "att-quick", "downloaded", |a| {
        a["state"] == "downloaded"
    });
    let pending = attachments(&server).remove("att-slow").expect("listed");
    assert_eq!(
        pending["state"],
        "pending",
        "the slow file is still coming while the quick one is kept ({:?})",
        started.elapsed()
    );
    assert_eq!(pending["local_url"], Value::Null, "no local address yet");
    let (status, _, body) = fetch(&server, "/api/attachments/att-slow");
    assert_eq!(status, 404, "nothing to serve yet");
    let error: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!(
        error["error"], "this attachment has not been downloaded yet",
        "says why"
    );
    let slow = wait_for(&server, "att-slow", "downloaded", |a| {
        a["state"] == "downloaded"
    });
    assert_eq!(slow["size"], json!(5 * 64 * 1024), "whole");
}

#[test]
fn limits_per_file_and_in_total_hold_with_a_reason_the_rep_can_read() {
    let fake = FakeLinq::start();
    let mb = 1_000_000;
    let too_big = fake.serve("big.png", file(&big_png(mb * 3 / 2, 1), "image/png"));
    let too_big_unsaid = fake.serve(
        "unsaid.png",
        FakeFile {
            hide_length: true,
            ..file(&big_png(mb * 3 / 2, 2), "image/png")
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &fake,
        &[
            ("LINQ_INBOX_ATTACHMENT_MAX_MB", Some("1")),
            ("LINQ_INBOX_ATTACHMENTS_MAX_TOTAL_MB", Some("2")),
        ],
    );
    deliver(
        &server,
        "m-big",
        json!([
            attachment("att-big", &too_big, "big.png", "image/png"),
            attachment("att-unsaid", &too_big_unsaid, "unsaid.png", "image/png"),
        ]),
    );
    let big = settled(&server, "att-big");
    assert_eq!(big["state"], "failed", "over the per-file limit: {big}");
    assert_eq!(
        big["error"],
        "The file is 1.5 MB, over the 1 MB limit for one attachment (--attachment-max-mb).",
        "the reason, with the setting to change"
    );
    assert_eq!(big["retrying"], false, "a limit is not retried by itself");
    assert_eq!(
        big["can_retry"], false,
        "nor offered to the rep: it would fail again"
    );
    let unsaid = settled(&server, "att-unsaid");
    assert_eq!(
        unsaid["error"],
        "The file is larger than the 1 MB limit for one attachment (--attachment-max-mb).",
        "a file that does not say its size is stopped at the limit"
    );

    let parts: Vec<Value> = (0..3u8)
        .map(|i| {
            let url = fake.serve(
                &format!("part{i}.png"),
                file(&big_png(mb * 9 / 10, 10 + i), "image/png"),
            );
            attachment(&format!("att-part{i}"), &url, "part.png", "image/png")
        })
        .collect();
    deliver(&server, "m-parts", Value::Array(parts));
    let states: Vec<Value> = (0..3)
        .map(|i| settled(&server, &format!("att-part{i}")))
        .collect();
    let kept = states.iter().filter(|a| a["state"] == "downloaded").count();
    assert_eq!(
        kept, 2,
        "two 0.9 MB files fit in 2 MB, the third does not: {states:?}"
    );
    let full = states
        .iter()
        .find(|a| a["state"] == "failed")
        .expect("one refused");
    assert_eq!(
        full["error"],
        "The attachments folder is at its 2 MB limit (--attachments-max-total-mb), so this file was not kept.",
        "the total limit is named"
    );
    let status = server.api("/api/status");
    let used = status["attachments"]["used_bytes"].as_i64().unwrap();
    assert_eq!(used, 2 * (mb as i64 * 9 / 10), "what the kept files take");
    assert_eq!(
        status["attachments"]["max_total_bytes"],
        json!(2 * mb),
        "the limit is shown"
    );
    let on_disk: u64 = std::fs::read_dir(dir.path().join("attachments"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(
        on_disk, used as u64,
        "nothing else was left in the folder (no partial download)"
    );
}

#[test]
fn a_failed_download_is_tried_again_with_backoff_and_by_hand() {
    let fake = FakeLinq::start();
    let flaky = fake.serve(
        "flaky.png",
        FakeFile {
            fail_first: 2,
            ..file(PNG, "image/png")
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &fake,
        &[("LINQ_INBOX_TEST_ATTACHMENT_RETRY_MS", Some("300"))],
    );
    deliver(
        &server,
        "m-flaky",
        json!([attachment("att-flaky", &flaky, "flaky.png", "image/png")]),
    );
    let failing = wait_for(&server, "att-flaky", "failed", |a| a["state"] == "failed");
    assert_eq!(
        failing["error"], "Linq's file server answered HTTP 503 instead of the file.",
        "the failure says why"
    );
    assert_eq!(failing["retrying"], true, "and that it will be tried again");
    wait_for(&server, "att-flaky", "downloaded", |a| {
        a["state"] == "downloaded"
    });
    assert_eq!(
        fake.file_requests("flaky.png"),
        3,
        "two failures, then the file"
    );
    drop(server);

    // By hand: a file Linq does not have yet, with the automatic retry far away.
    let later = format!("{}/files/later.png", fake.base());
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, &[]);
    deliver(
        &server,
        "m-later",
        json!([attachment("att-later", &later, "later.png", "image/png")]),
    );
    let missing = wait_for(&server, "att-later", "failed", |a| a["state"] == "failed");
    assert_eq!(
        missing["error"], "Linq's file server answered HTTP 404 instead of the file.",
        "why"
    );
    assert_eq!(missing["can_retry"], true, "the rep may try it again");
    fake.serve("later.png", file(PNG, "image/png"));
    let (status, answer) = server.post_api("/api/attachments/att-later/retry", "");
    assert_eq!(status, 202, "queued again: {answer}");
    wait_for(&server, "att-later", "downloaded", |a| {
        a["state"] == "downloaded"
    });
    let (status, answer) = server.post_api("/api/attachments/att-later/retry", "");
    assert_eq!(status, 409, "a kept file has nothing to retry: {answer}");
}

#[test]
fn addresses_outside_the_policy_are_refused_without_a_request() {
    let fake = FakeLinq::start();
    let elsewhere = FakeLinq::start();
    let plain_http_host = elsewhere.serve("x.png", file(PNG, "image/png"));
    let redirect = fake.serve(
        "moved.png",
        FakeFile {
            redirect_to: Some(plain_http_host.clone()),
            ..FakeFile::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, &[]);
    deliver(
        &server,
        "m-policy",
        json!([
            attachment("att-file", "file:///etc/passwd", "passwd", "text/plain"),
            attachment("att-http", &plain_http_host, "x.png", "image/png"),
            attachment("att-ftp", "ftp://127.0.0.1/x.png", "x.png", "image/png"),
            attachment("att-moved", &redirect, "moved.png", "image/png"),
        ]),
    );
    let host = plain_http_host
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap()
        .to_string();
    for key in ["att-file", "att-http", "att-ftp", "att-moved"] {
        let a = settled(&server, key);
        assert_eq!(a["state"], "failed", "{key} is refused: {a}");
        assert_eq!(a["retrying"], false, "{key}: a refusal is final");
        let error = a["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("only https:// addresses") || error.contains("only https:// ones"),
            "{key}: the rule is named: {error}"
        );
        assert!(
            !error.contains("passwd"),
            "{key}: no path in the reason: {error}"
        );
    }
    let moved = settled(&server, "att-moved");
    assert!(
        moved["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Redirected: ")
            && moved["error"].as_str().unwrap_or_default().contains(&host),
        "a redirect is checked by the same rule: {moved}"
    );
    assert_eq!(
        elsewhere.file_requests("x.png"),
        0,
        "the other plain-http host was never asked"
    );
    let (status, answer) = server.post_api("/api/attachments/att-http/retry", "");
    assert_eq!(
        status, 409,
        "trying a refused address again is refused: {answer}"
    );
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("trying again cannot help: The app does not download")),
        "with the reason: {answer}"
    );
    assert_eq!(
        fake.file_requests("moved.png"),
        1,
        "the allowed first hop was"
    );
}

#[test]
fn kept_files_survive_rebuild_and_travel_with_export_and_import() {
    let fake = FakeLinq::start();
    let url = fake.serve("keep.png", file(PNG, "image/png"));
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, &[]);
    deliver(
        &server,
        "m-keep",
        json!([attachment("att-keep", &url, "keep.png", "image/png")]),
    );
    wait_for(&server, "att-keep", "downloaded", |a| {
        a["state"] == "downloaded"
    });
    drop(server);

    let (ok, out, err) = cli(&["rebuild"], dir.path(), None);
    assert!(ok, "rebuild: {out}{err}");
    let server = start(dir.path(), &fake, &[]);
    let kept = attachments(&server).remove("att-keep").expect("listed");
    assert_eq!(
        kept["state"], "downloaded",
        "rebuild keeps the local copy: {kept}"
    );
    assert_eq!(
        fetch(&server, "/api/attachments/att-keep").2,
        PNG,
        "and serves it"
    );
    drop(server);
    assert_eq!(fake.file_requests("keep.png"), 1, "never downloaded twice");

    let backup = tempfile::tempdir().unwrap();
    let jsonl = backup.path().join("backup.jsonl");
    let jsonl_arg = jsonl.to_str().unwrap();
    let (ok, out, err) = cli(&["export", "--out", jsonl_arg], dir.path(), None);
    assert!(ok, "export: {out}{err}");
    assert!(
        !backup.path().join("backup.attachments").exists(),
        "without the flag, no files"
    );
    let (ok, out, err) = cli(
        &["export", "--out", jsonl_arg, "--with-attachments"],
        dir.path(),
        None,
    );
    assert!(ok, "export --with-attachments: {out}{err}");
    assert!(
        err.contains("exported 1 attachment files"),
        "says what it wrote: {err}"
    );
    let (ok, _, err) = cli(&["export", "--with-attachments"], dir.path(), None);
    assert!(
        !ok && err.contains("--out"),
        "files need a folder beside a file: {err}"
    );

    let restored = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(&["import", jsonl_arg], restored.path(), None);
    assert!(ok, "import: {out}{err}");
    assert!(
        out.contains("restored 1 attachment files"),
        "the files come back: {out}"
    );
    let elsewhere = FakeLinq::start();
    let server = start(restored.path(), &elsewhere, &[]);
    let back = attachments(&server).remove("att-keep").expect("listed");
    assert_eq!(
        back["state"], "downloaded",
        "kept without a download: {back}"
    );
    assert_eq!(back["content_type"], "image/png", "type from the bytes");
    assert_eq!(
        fetch(&server, "/api/attachments/att-keep").2,
        PNG,
        "the same bytes"
    );
    assert_eq!(
        fake.file_requests("keep.png"),
        1,
        "the import did not download it again"
    );
    drop(server);

    // A file replaced in the backup stops the import before it writes anything.
    let folder = backup.path().join("backup.attachments");
    let name = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.len() == 64)
        .expect("the file");
    std::fs::write(folder.join(&name), HTML).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let (ok, out, err) = cli(&["import", jsonl_arg], fresh.path(), None);
    assert!(!ok, "a damaged backup is refused: {out}");
    assert!(
        err.contains("index.jsonl line 1") && err.contains("does not match its SHA-256"),
        "one sentence naming the line: {err}"
    );
    let (ok, out, _) = cli(&["export"], fresh.path(), None);
    assert!(ok && out.trim().is_empty(), "no event was imported: {out}");
}

#[test]
fn downloads_never_hold_up_deliveries() {
    let fake = FakeLinq::start();
    let slow: Vec<Value> = (0..3u8)
        .map(|i| {
            let url = fake.serve(
                &format!("slow{i}.png"),
                FakeFile {
                    pause: Duration::from_millis(700),
                    ..file(&big_png(8 * 64 * 1024, 20 + i), "image/png")
                },
            );
            attachment(&format!("att-slow{i}"), &url, "slow.png", "image/png")
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, &[]);
    deliver(&server, "m-slow-all", Value::Array(slow));
    wait_for(&server, "att-slow0", "listed", |a| a["state"] == "pending");
    let mut slowest = Duration::ZERO;
    for i in 0..150 {
        let body = envelope(
            "message.received",
            &format!("evt-busy-{i}"),
            json!({"id": format!("busy-{i}"), "chat_id": "chat-busy", "text": "while files download",
                   "from_phone": "+15550002222", "sent_at": chrono::Utc::now().to_rfc3339()}),
        );
        let started = Instant::now();
        let (status, answer) = server.post_signed(&body);
        slowest = slowest.max(started.elapsed());
        assert_eq!(status, 200, "delivery {i} is stored: {answer}");
    }
    eprintln!("slowest of 150 deliveries during three downloads: {slowest:?}");
    let during = attachments(&server);
    assert!(
        (0..3).all(|i| during[&format!("att-slow{i}")]["state"] == "pending"),
        "the three downloads were still running through every delivery: {during:?}"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "no delivery waited on the downloads (slowest {slowest:?})"
    );
    server.wait_projected();
    for i in 0..3 {
        wait_for(&server, &format!("att-slow{i}"), "downloaded", |a| {
            a["state"] == "downloaded"
        });
    }
}

/// A v3 account (token and API base set): an expired file address is renewed through Linq.
fn start_v3(dir: &Path, fake: &FakeLinq) -> Server {
    start(
        dir,
        fake,
        &[
            ("LINQ_INTEGRATION_TOKEN", Some(crate::linq_fake::TOKEN)),
            ("LINQ_API_VERSION", Some("v3")),
            // No second try of its own inside the test: what is seen is the one renewal.
            ("LINQ_INBOX_TEST_ATTACHMENT_RETRY_MS", Some("600000")),
        ],
    )
}

#[test]
fn an_expired_file_address_is_renewed_through_linq_and_the_download_tried_again_once() {
    use crate::linq_fake_v3::V3_ATTACHMENTS_PATH;
    let fake = FakeLinq::start();
    // `expired.png` is not served: the fake's file server answers 404, as an expired
    // presigned URL does.
    let expired = format!("{}/files/expired.png", fake.base());
    let fresh = fake.serve("fresh.png", file(PNG, "image/png"));
    let gone_too = format!("{}/files/gone-too.png", fake.base());
    fake.v3.attachments.lock().unwrap().extend([
        ("att-exp".to_string(), fresh.clone()),
        ("att-gone".to_string(), gone_too),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let server = start_v3(dir.path(), &fake);
    deliver(
        &server,
        "m-expired",
        json!([attachment("att-exp", &expired, "photo.png", "image/png")]),
    );

    let kept = settled(&server, "att-exp");
    assert_eq!(
        kept["state"], "downloaded",
        "kept from the fresh address: {kept}"
    );
    let (status, _, body) = fetch(&server, "/api/attachments/att-exp");
    assert_eq!(
        (status, body.as_slice()),
        (200, PNG),
        "the file's own bytes"
    );
    // Only the file and attachment calls: a catch-up pass at start may list chats meanwhile.
    let seen: Vec<_> = fake
        .seen()
        .into_iter()
        .filter(|s| s.path.starts_with("/files/") || s.path.starts_with(V3_ATTACHMENTS_PATH))
        .collect();
    let calls: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        calls,
        [
            "GET /files/expired.png".to_string(),
            format!("GET {V3_ATTACHMENTS_PATH}/att-exp"),
            "GET /files/fresh.png".to_string(),
        ],
        "the stored address, then Linq for a fresh one, then the fresh one"
    );
    assert_eq!(
        seen[1].authorization.as_deref(),
        Some(format!("Bearer {}", crate::linq_fake::TOKEN).as_str()),
        "the renewal is a v3 call with the integration token"
    );

    // Gone at the fresh address too: one renewal, then a passing failure that says so.
    deliver(
        &server,
        "m-gone",
        json!([attachment("att-gone", &expired, "photo.png", "image/png")]),
    );
    let failed = wait_for(&server, "att-gone", "failed", |a| a["state"] == "failed");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("HTTP 404") && e.contains("fresh address")),
        "one sentence saying the fresh address failed too: {failed}"
    );
    let renewals = fake
        .calls()
        .iter()
        .filter(|c| c.ends_with("/att-gone"))
        .count();
    assert_eq!(
        renewals,
        1,
        "renewed once, not in a loop: {:?}",
        fake.calls()
    );
}
