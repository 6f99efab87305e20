//! A new rep's first minutes without a terminal or Linq: the onboarding card's demo button, the
//! `simulate` command with nothing but the data folder, and start at login (the desktop app's).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{cli_with, Server};

/// The app's own secret only: generated on first start and kept in its data folder.
const NO_ENV_SECRET: [(&str, Option<&str>); 1] = [("LINQ_WEBHOOK_SECRET", None)];

fn wait_for_events(server: &Server, n: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = server.api("/api/status");
        if status["db"]["counts"]["events"].as_u64() == Some(n) || Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_demo_button_sends_signed_traffic_through_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &NO_ENV_SECRET);
    let (status, answer) = server.post_api("/api/demo", "{}");
    assert_eq!(status, 202, "the demo starts in the background: {answer}");
    let count = answer["events"]
        .as_u64()
        .expect("the demo says how many events it holds");
    assert!(
        count >= 20,
        "the demo is a whole story, not a token event: {answer}"
    );
    let (again, refusal) = server.post_api("/api/demo", "{}");
    assert_eq!(
        again, 409,
        "a second demo while the first is on its way is refused: {refusal}"
    );

    let status = wait_for_events(&server, count);
    assert_eq!(
        status["db"]["counts"]["events"].as_u64(),
        Some(count),
        "every demo event reached the log: {status}"
    );
    assert_eq!(
        status["rejected_count"].as_u64(),
        Some(0),
        "the listener verified every demo delivery with the app's own secret: {status}"
    );
    let events = server.all_events();
    assert!(
        events.iter().all(|e| e["signature"] != "unsigned"),
        "the demo came through the signed webhook path, not around it"
    );
    assert!(
        server.api("/api/chats")["chats"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "the projector turned the demo into chats"
    );
}

/// One HTTP/1.1 answer read off `stream`: its status, or `None` when the server closed the
/// connection instead of answering.
fn read_answer(stream: &mut std::net::TcpStream) -> Option<u16> {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    head.split_whitespace().nth(1)?.parse().ok()
}

/// The flake of `the_demo_button_sends_signed_traffic_through_the_listener` under load: the
/// demo's 202 went out before its `{}` body had arrived, hyper closed the kept-alive connection
/// rather than read the body, and the test's second request on that pooled connection met an
/// unexpected EOF. Here the body arrives late on purpose; the connection must still serve the
/// next request.
#[test]
fn a_body_that_arrives_after_the_headers_keeps_the_connection_alive() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &NO_ENV_SECRET);
    let mut stream = std::net::TcpStream::connect(server.ui).expect("connect to the UI server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "POST /api/demo HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
        server.ui, server.token
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    std::thread::sleep(Duration::from_millis(300));
    // Before the fix the 202 had been sent and the connection closed by now; the body is
    // still sent, as a client does.
    let _ = stream.write_all(b"{}");
    assert_eq!(read_answer(&mut stream), Some(202), "the demo starts");
    let again = format!("{head}{{}}");
    let _ = stream.write_all(again.as_bytes());
    assert_eq!(
        read_answer(&mut stream),
        Some(409),
        "the same connection answers the next request (a demo is on its way: 409)"
    );
}

#[test]
fn simulate_without_a_secret_signs_with_the_apps_own() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &NO_ENV_SECRET);
    let listen = server.webhook.to_string();
    let (ok, out, err) = cli_with(
        &["simulate", "--count", "6", "--json", "--listen", &listen],
        dir.path(),
        None,
        &NO_ENV_SECRET,
    );
    assert!(
        ok,
        "simulate finds the listener and secret in the app's settings: {out}{err}"
    );
    let report: Value = serde_json::from_str(&out).expect("a JSON report");
    assert_eq!(
        report["accepted"], 6,
        "every delivery was accepted: {report}"
    );
    assert_eq!(
        report["target"].as_str(),
        Some(server.webhook_url().as_str()),
        "without --to it posts to the app's own listener and path"
    );
    let status = wait_for_events(&server, 6);
    assert_eq!(status["rejected_count"], 0, "nothing was refused: {status}");
}

#[test]
fn simulate_with_no_secret_anywhere_says_how_to_get_one_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("never-started");
    let (ok, out, err) = cli_with(&["simulate", "--count", "3"], &fresh, None, &NO_ENV_SECRET);
    assert!(!ok, "with no secret there is nothing to sign with: {out}");
    assert!(
        err.contains("start the app once") && err.lines().count() == 1,
        "one sentence that says what to do: {err}"
    );
    assert!(
        !fresh.exists(),
        "simulate reads the app's settings without making a data folder or a secret"
    );
}

#[test]
fn start_at_login_belongs_to_the_desktop_app() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(
        server.api("/api/start-at-login"),
        serde_json::json!({"available": false, "enabled": false}),
        "linq-inbox serve has no start-at-login switch to offer"
    );
    let url = format!("http://{}/api/start-at-login", server.ui);
    let refused = ureq::put(&url)
        .set("Authorization", &format!("Bearer {}", server.token))
        .set("Content-Type", "application/json")
        .send_string(r#"{"enabled": true}"#);
    let status = match refused {
        Err(ureq::Error::Status(code, _)) => code,
        Ok(r) => r.status(),
        Err(e) => panic!("the UI server answers: {e}"),
    };
    assert_eq!(
        status, 409,
        "switching it under serve is refused with a reason"
    );
}
