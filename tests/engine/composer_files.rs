//! Attaching a file to a reply (issue 20 §3): kept in the data folder by SHA-256 before the reply
//! is committed, then sent as Linq documents it — v3 pre-upload (`POST /v3/attachments`, the
//! bytes `PUT` to `upload_url` with `required_headers`, a media part naming `attachment_id`),
//! v2 a file in the send's form (`message[attachments][]`). A file over Linq's 100 MB is refused
//! before anything is kept; a reply killed after its commit sends its file once after restart.

use std::path::Path;

use serde_json::{json, Value};

use crate::harness::{resp, Server};
use crate::linq_fake::FakeLinq;
use crate::outbox::{fake, mine, serve, serve_with, status_becomes, until, CHAT};

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// `POST /api/uploads` with `bytes` named `name`.
fn upload(server: &Server, name: &str, bytes: &[u8]) -> (u16, Value) {
    let url = format!("http://{}/api/uploads", server.ui);
    resp(
        ureq::post(&url)
            .set("Authorization", &format!("Bearer {}", server.token))
            .set("X-Filename", name)
            .send_bytes(bytes),
    )
}

fn reply_with(server: &Server, key: &str, text: &str, files: &[&str]) -> (u16, Value) {
    server.post_api(
        &format!("/api/chats/{CHAT}/messages"),
        &json!({"text": text, "client_id": key, "attachments": files}).to_string(),
    )
}

fn kept_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("attachments"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn sends_to(fake: &FakeLinq, tail: &str) -> Vec<Value> {
    fake.seen()
        .into_iter()
        .filter(|s| s.method == "POST" && s.path.ends_with(tail))
        .filter_map(|s| s.body)
        .collect()
}

#[test]
fn a_v3_reply_with_a_file_pre_uploads_it_puts_the_bytes_and_names_it_in_a_media_part() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let (status, kept) = upload(&server, "Q3%20plan.pdf", PDF);
    assert_eq!(status, 201, "the file is kept: {kept}");
    assert_eq!(kept["filename"], "Q3 plan.pdf", "the rep's name, decoded");
    assert_eq!(
        kept["content_type"], "application/pdf",
        "the type from the bytes"
    );
    let upload_id = kept["upload_id"]
        .as_str()
        .expect("an upload id")
        .to_string();

    let (status, bubble) = reply_with(
        &server,
        "f1f2f3f4-0000-4000-8000-000000000001",
        "The plan",
        &[&upload_id],
    );
    assert_eq!(status, 202, "queued: {bubble}");
    assert_eq!(
        bubble["attachments"][0]["local_url"],
        format!("/api/attachments/{upload_id}"),
        "the bubble shows the local copy at once: {bubble}"
    );
    assert_eq!(
        bubble["attachments"][0]["state"], "downloaded",
        "kept, not waiting for a download"
    );
    let (status, _) = server.get(&format!("/api/attachments/{upload_id}"));
    assert_eq!(status, 200, "the local copy is served");
    status_becomes(&server, "sent");

    let uploads = fake.uploads.lock().unwrap();
    assert_eq!(
        uploads.created.len(),
        1,
        "one pre-upload: {:?}",
        uploads.created
    );
    let created = &uploads.created[0];
    assert_eq!(
        (
            created["filename"].clone(),
            created["content_type"].clone(),
            created["size_bytes"].clone()
        ),
        (
            json!("Q3 plan.pdf"),
            json!("application/pdf"),
            json!(PDF.len())
        ),
        "the pre-upload names the file, its type and size"
    );
    let attachment_id = created["id"].as_str().expect("the fake's id").to_string();
    let (bytes, content_type) = uploads
        .received
        .get(&attachment_id)
        .expect("the bytes were PUT");
    assert_eq!(
        bytes.as_slice(),
        PDF,
        "the exact bytes reached the upload URL"
    );
    assert_eq!(
        content_type.as_deref(),
        Some("application/pdf"),
        "with the required header"
    );
    drop(uploads);
    let sends = sends_to(&fake, &format!("/v3/chats/{CHAT}/messages"));
    assert_eq!(sends.len(), 1, "one send: {sends:?}");
    assert_eq!(
        sends[0]["message"]["parts"],
        json!([{"type": "text", "value": "The plan"}, {"type": "media", "attachment_id": attachment_id}]),
        "the text, then the file by its attachment id"
    );
}

#[test]
fn a_file_over_100_mb_is_refused_before_anything_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let server = serve(dir.path(), &fake, None);
    let before = kept_files(dir.path());
    // A browser sends a File with its length: the refusal comes before a byte of it is read.
    let head = format!(
        "POST /api/uploads HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nX-Filename: huge.bin\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.ui,
        server.token,
        100 * 1024 * 1024 + 1
    );
    let (status, _, answer) = crate::harness::raw_http(server.ui, head.as_bytes());
    assert_eq!(status, 413, "too large: {answer}");
    assert!(
        answer.contains("100 MB"),
        "the refusal names the limit: {answer}"
    );
    assert_eq!(
        kept_files(dir.path()),
        before,
        "nothing was kept, not even a partial file"
    );
    let (status, answer) = reply_with(
        &server,
        "f1f2f3f4-0000-4000-8000-000000000002",
        "x",
        &["upload-nope"],
    );
    assert_eq!(
        status, 400,
        "a reply naming no kept file is refused: {answer}"
    );
    assert!(mine(&server).is_empty(), "and nothing was queued");
}

#[test]
fn killed_after_the_commit_a_reply_with_a_file_reaches_linq_once_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let mut server = serve(dir.path(), &fake, Some("abort-before-send"));
    let (status, kept) = upload(&server, "plan.pdf", PDF);
    assert_eq!(status, 201, "kept: {kept}");
    let upload_id = kept["upload_id"]
        .as_str()
        .expect("an upload id")
        .to_string();
    let url = format!("http://{}/api/chats/{CHAT}/messages", server.ui);
    let _ = ureq::post(&url)
        .set("Authorization", &format!("Bearer {}", server.token))
        .set("Content-Type", "application/json")
        .send_string(
            &json!({"text": "", "client_id": "f1f2f3f4-0000-4000-8000-000000000003",
                             "attachments": [upload_id]})
            .to_string(),
        );
    until("the hook killed the engine", || {
        server.child.try_wait().ok().flatten()
    });
    assert!(
        fake.uploads.lock().unwrap().created.is_empty(),
        "nothing reached Linq before the kill"
    );
    server.kill();
    let server = serve(dir.path(), &fake, None);
    let sent = status_becomes(&server, "sent");
    assert_eq!(
        sent["attachments"][0]["filename"], "plan.pdf",
        "the file survived the kill"
    );
    let sends = sends_to(&fake, &format!("/v3/chats/{CHAT}/messages"));
    assert_eq!(sends.len(), 1, "Linq got the reply once: {sends:?}");
    let uploads = fake.uploads.lock().unwrap();
    assert_eq!(uploads.received.len(), 1, "and the file once");
    assert_eq!(
        sends[0]["message"]["parts"],
        json!([{"type": "media", "attachment_id": uploads.created[0]["id"]}]),
        "a file alone is one media part"
    );
}

#[test]
fn a_v2_reply_with_a_file_sends_it_in_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeLinq::start();
    let server = crate::outbox::serve_v2_asked(
        dir.path(),
        &fake,
        "v2-evt-ask-file",
        "902",
        "send me the plan?",
    );
    for on in [true, true, false] {
        let (status, answer) = server.post_api(
            &format!("/api/chats/{CHAT}/typing"),
            &json!({"typing": on}).to_string(),
        );
        assert_eq!(status, 202, "typing accepted: {answer}");
    }
    until("v2 got one start and one stop", || {
        let calls: Vec<String> = fake
            .seen()
            .into_iter()
            .filter(|s| s.path.contains("_typing"))
            .map(|s| format!("{} {}", s.method, s.path))
            .collect();
        (calls
            == [
                format!("POST /api/partner/v2/chats/{CHAT}/start_typing"),
                format!("DELETE /api/partner/v2/chats/{CHAT}/stop_typing"),
            ])
        .then_some(())
    });
    let (status, kept) = upload(&server, "plan.pdf", PDF);
    assert_eq!(status, 201, "kept: {kept}");
    let upload_id = kept["upload_id"]
        .as_str()
        .expect("an upload id")
        .to_string();
    let (status, _) = reply_with(
        &server,
        "f1f2f3f4-0000-4000-8000-000000000004",
        "Here it is",
        &[&upload_id],
    );
    assert_eq!(status, 202, "queued");
    status_becomes(&server, "sent");
    let sends = sends_to(&fake, &format!("/v2/chats/{CHAT}/chat_messages"));
    assert_eq!(sends.len(), 1, "one send: {sends:?}");
    let message = &sends[0]["message"];
    assert_eq!(message["text"], "Here it is", "message[text]");
    assert_eq!(
        message["attachments"],
        json!([{"filename": "plan.pdf", "content": String::from_utf8_lossy(PDF)}]),
        "the file in message[attachments][], with its name and bytes"
    );
    assert!(
        fake.uploads.lock().unwrap().created.is_empty(),
        "v2 has no pre-upload"
    );
}

#[test]
fn a_file_no_reply_names_is_removed_after_its_day_and_a_sent_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let mut server = serve(dir.path(), &fake, None);
    let (status, sent) = upload(&server, "plan.pdf", PDF);
    assert_eq!(status, 201, "kept: {sent}");
    let (status, unsent) = upload(&server, "draft.pdf", b"%PDF-1.4\n% never sent\n%%EOF\n");
    assert_eq!(status, 201, "kept: {unsent}");
    let (sent_id, unsent_id) = (
        sent["upload_id"].as_str().expect("an id").to_string(),
        unsent["upload_id"].as_str().expect("an id").to_string(),
    );
    let (status, _) = reply_with(
        &server,
        "f1f2f3f4-0000-4000-8000-000000000009",
        "The plan",
        &[&sent_id],
    );
    assert_eq!(status, 202, "the reply with the first file is queued");
    status_becomes(&server, "sent");
    assert_eq!(kept_files(dir.path()).len(), 2, "both files are kept today");
    server.kill();

    // The next start, a day later (the test hook stands in for the day).
    let server = serve_with(
        dir.path(),
        &fake,
        &[("LINQ_INBOX_TEST_UNSENT_KEPT_MS", Some("0"))],
    );
    until("the file no reply names is removed", || {
        (kept_files(dir.path()).len() == 1).then_some(())
    });
    let (status, _) = server.get(&format!("/api/attachments/{unsent_id}"));
    assert_eq!(status, 404, "the unsent file is gone");
    let (status, _) = server.get(&format!("/api/attachments/{sent_id}"));
    assert_eq!(status, 200, "the sent reply's file stays");
    let bubble = mine(&server)
        .into_iter()
        .find(|m| m["text"] == "The plan")
        .expect("the sent reply");
    assert_eq!(
        bubble["attachments"][0]["state"], "downloaded",
        "and its bubble still shows the local copy: {bubble}"
    );
}
