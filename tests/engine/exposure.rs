//! The local UI API against a page on another origin, forged sessions and leaks: a foreign
//! page can neither read nor change anything (fetch, form POST, DNS rebinding with a foreign
//! `Host`), a missing or forged session is refused, and neither the UI token nor the webhook
//! secret ever shows up in the logs (at trace level), API answers or error messages; the only
//! way to see the secret is the authenticated, same-origin `POST /api/secret/reveal`.

use crate::harness::*;

/// One raw exchange with the UI server; (status, headers + body as one text).
fn ui(server: &Server, method: &str, path: &str, headers: &[String], body: &str) -> (u16, String) {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    head.push_str(body);
    let (status, lines, text) = raw_http(server.ui, head.as_bytes());
    (status, format!("{}\n{text}", lines.join("\n")))
}

fn login_cookie(server: &Server) -> String {
    use std::io::{Read, Write};
    let path = server
        .login_url
        .split_once(&server.ui.to_string())
        .unwrap()
        .1
        .to_string();
    let mut sock = std::net::TcpStream::connect(server.ui).unwrap();
    sock.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.ui
        )
        .as_bytes(),
    )
    .unwrap();
    let mut buf = String::new();
    sock.read_to_string(&mut buf).unwrap();
    let line = buf
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("login sets a cookie: {buf}"));
    line["set-cookie:".len()..]
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn another_origin_can_neither_read_nor_change_anything() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    send_all(&server, &demo(40, 17));
    let cookie = format!("Cookie: {}", login_cookie(&server));
    let host = format!("Host: {}", server.ui);
    let evil = "Origin: http://evil.example".to_string();
    let before = server.state();
    let settings_before = server.api("/api/settings");
    let chat = before["chats"]["chats"][0]["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        before["chats"]["chats"][0]["unread_count"]
            .as_i64()
            .unwrap()
            > 0,
        "the first chat has unread messages to protect"
    );

    // Reads from another origin: refused outright, and never a CORS grant.
    for (what, extra) in [
        (
            "cross-origin fetch with the session cookie",
            vec![evil.clone(), cookie.clone()],
        ),
        (
            "cross-site fetch metadata",
            vec!["Sec-Fetch-Site: cross-site".to_string(), cookie.clone()],
        ),
        (
            "sandboxed page (Origin: null)",
            vec!["Origin: null".to_string(), cookie.clone()],
        ),
        (
            "look-alike origin",
            vec![
                format!("Origin: http://{}.evil.example", server.ui),
                cookie.clone(),
            ],
        ),
    ] {
        for path in [
            "/api/chats",
            "/api/events",
            "/api/activity",
            "/api/status",
            "/api/stream",
        ] {
            let mut headers = vec![host.clone()];
            headers.extend(extra.clone());
            let (s, text) = ui(&server, "GET", path, &headers, "");
            assert_eq!(s, 403, "{what}: GET {path} must be refused: {text}");
            assert!(
                !text.contains("access-control-allow"),
                "{what}: no CORS grant: {text}"
            );
        }
    }
    let (s, text) = ui(
        &server,
        "OPTIONS",
        "/api/chats",
        &[
            host.clone(),
            evil.clone(),
            "Access-Control-Request-Method: PUT".into(),
        ],
        "",
    );
    assert!(
        s >= 400 && !text.contains("access-control-allow"),
        "a preflight grants nothing: {s} {text}"
    );

    // Changes from another origin: form posts, fetches, the secret endpoints.
    for (method, path, ct, body) in [
        (
            "POST",
            format!("/api/chats/{chat}/read"),
            "application/x-www-form-urlencoded",
            "a=1",
        ),
        ("POST", format!("/api/chats/{chat}/read"), "text/plain", ""),
        (
            "POST",
            format!("/api/chats/{chat}/read"),
            "application/json",
            "{}",
        ),
        (
            "PUT",
            "/api/settings".to_string(),
            "application/json",
            "{\"previews\":false}",
        ),
        (
            "PUT",
            "/api/settings".to_string(),
            "text/plain",
            "{\"previews\":false}",
        ),
        (
            "POST",
            "/api/secret/reveal".to_string(),
            "application/json",
            "{}",
        ),
        (
            "POST",
            "/api/secret/regenerate".to_string(),
            "application/json",
            "{}",
        ),
        (
            "POST",
            "/api/presence".to_string(),
            "application/json",
            "{\"focused\":true,\"chat_id\":null}",
        ),
    ] {
        for origin in [
            evil.clone(),
            "Origin: null".to_string(),
            "Sec-Fetch-Site: cross-site".to_string(),
        ] {
            let headers = vec![
                host.clone(),
                cookie.clone(),
                origin.clone(),
                format!("Content-Type: {ct}"),
            ];
            let (s, text) = ui(&server, method, &path, &headers, body);
            assert_eq!(
                s, 403,
                "{method} {path} ({ct}) with {origin} must be refused: {text}"
            );
            assert!(
                !text.contains(SECRET),
                "a refused request never carries the secret: {text}"
            );
        }
    }

    // DNS rebinding: the attacker's name resolves to 127.0.0.1, so the request arrives with
    // the attacker's Host, maybe even with credentials.
    for bad_host in [
        format!("Host: evil.example:{}", server.ui.port()),
        format!("Host: 127.0.0.1.nip.io:{}", server.ui.port()),
        "Host: evil.example".to_string(),
        format!("Host: localhost.:{}", server.ui.port()),
        format!("Host: 127.0.0.2:{}", server.ui.port()),
    ] {
        for path in ["/api/chats", "/", "/login?token=x"] {
            let (s, text) = ui(
                &server,
                "GET",
                path,
                &[
                    bad_host.clone(),
                    cookie.clone(),
                    format!("Authorization: Bearer {}", server.token),
                ],
                "",
            );
            assert_eq!(s, 403, "{bad_host}: GET {path} must be refused: {text}");
        }
        let (s, _) = ui(
            &server,
            "POST",
            &format!("/api/chats/{chat}/read"),
            &[
                bad_host.clone(),
                cookie.clone(),
                "Content-Type: application/json".into(),
            ],
            "{}",
        );
        assert_eq!(s, 403, "{bad_host}: POST must be refused");
    }
    let (s, _, _) = raw_http(
        server.ui,
        format!("GET /api/chats HTTP/1.0\r\n{cookie}\r\n\r\n").as_bytes(),
    );
    assert_eq!(s, 403, "a request without Host is refused");

    assert_eq!(server.state(), before, "nothing changed");
    assert_eq!(
        server.api("/api/settings"),
        settings_before,
        "settings unchanged"
    );
    let (s, text) = ui(
        &server,
        "POST",
        &format!("/api/chats/{chat}/read"),
        &[host, cookie, "Content-Type: application/json".into()],
        "{}",
    );
    assert_eq!(
        s, 200,
        "the same request from the app's own page works: {text}"
    );
}

#[test]
fn missing_or_forged_sessions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let other_dir = tempfile::tempdir().unwrap();
    let other = Server::start(other_dir.path());
    let host = format!("Host: {}", server.ui);
    let real = login_cookie(&server);
    let (id, mac) = real.split_once('=').unwrap().1.split_once('.').unwrap();
    let from_other_install = login_cookie(&other);
    let flip = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        c[0] = if c[0] == 'a' { 'b' } else { 'a' };
        c.into_iter().collect::<String>()
    };
    let forged = [
        String::new(),
        "linq_inbox_session=".into(),
        "linq_inbox_session=.".into(),
        format!("linq_inbox_session={id}"),
        format!("linq_inbox_session={id}."),
        format!("linq_inbox_session={id}.{}", flip(mac)),
        format!("linq_inbox_session={}.{mac}", flip(id)),
        format!("linq_inbox_session={id}.{}", &mac[..mac.len() - 1]),
        format!("linq_inbox_session={id}.{}", mac.to_uppercase()),
        format!("linq_inbox_session={}", server.token),
        format!(
            "linq_inbox_session={}",
            linq_inbox::linq::signature::sign(b"guess", id.as_bytes())
        ),
        from_other_install,
        format!("other_cookie={}", real.split_once('=').unwrap().1),
        format!("xlinq_inbox_session={}", real.split_once('=').unwrap().1),
    ];
    for cookie in &forged {
        let headers = if cookie.is_empty() {
            vec![host.clone()]
        } else {
            vec![host.clone(), format!("Cookie: {cookie}")]
        };
        let (s, text) = ui(&server, "GET", "/api/chats", &headers, "");
        assert_eq!(s, 401, "session {cookie:?} must be refused: {text}");
    }
    for bearer in [
        format!("Bearer {}x", server.token),
        format!("Bearer {}", &server.token[..server.token.len() - 1]),
        format!("Bearer {}", server.token.to_uppercase()),
        "Bearer ".to_string(),
        format!("Basic {}", server.token),
        format!("Bearer {}", other.token),
    ] {
        let (s, text) = ui(
            &server,
            "GET",
            "/api/chats",
            &[host.clone(), format!("Authorization: {bearer}")],
            "",
        );
        assert_eq!(s, 401, "{bearer:?} must be refused: {text}");
    }
    let (s, _) = ui(
        &server,
        "GET",
        "/api/chats",
        &[host.clone(), format!("Cookie: {real}")],
        "",
    );
    assert_eq!(s, 200, "the real session works");
}

#[test]
fn secrets_never_leak_into_logs_answers_or_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("LINQ_WEBHOOK_SECRET", Some(SECRET)),
            ("RUST_LOG", Some("trace")),
        ],
    );
    let host = format!("Host: {}", server.ui);
    let bearer = format!("Authorization: Bearer {}", server.token);
    let mut seen = Vec::new();
    send_all(&server, &demo(30, 5));
    for sig in [Some("sha256=00"), None, Some(SECRET)] {
        let (s, r) = server.post_raw(
            fixture("events/message.received.json").as_bytes(),
            sig,
            "application/json",
        );
        assert_eq!(
            s, 401,
            "a delivery with a wrong signature is refused, whatever its body"
        );
        seen.push(r.to_string());
    }
    let (_, r) = server.post_signed("{\"not\":\"an envelope\"}");
    seen.push(r.to_string());
    server.rejected_at_least(4);
    let chat = server.api("/api/chats")["chats"][0]["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        "/api/status".to_string(),
        "/api/chats".into(),
        format!("/api/chats/{chat}"),
        format!("/api/chats/{chat}/messages"),
        "/api/calls".into(),
        "/api/contacts".into(),
        "/api/search?q=hello".into(),
        "/api/events?limit=1000".into(),
        "/api/activity?limit=500".into(),
        "/api/activity?before=x".into(),
        "/api/rejected?limit=1000".into(),
        "/api/settings".into(),
        "/api/chats/nope".into(),
        "/api/events?limit=0".into(),
        "/api/events?before=x".into(),
        "/api/nope".into(),
        "/login?token=wrong".into(),
        "/".into(),
    ] {
        let (_, text) = ui(&server, "GET", &path, &[host.clone(), bearer.clone()], "");
        seen.push(text);
        let (_, text) = ui(
            &server,
            "GET",
            &path,
            &[host.clone(), "Authorization: Bearer wrong".into()],
            "",
        );
        seen.push(text);
    }
    for body in ["{\"previews\":\"maybe\"}", "not json", "{\"unknown\":1}"] {
        let (_, text) = ui(
            &server,
            "PUT",
            "/api/settings",
            &[
                host.clone(),
                bearer.clone(),
                "Content-Type: application/json".into(),
            ],
            body,
        );
        seen.push(text);
    }
    let (_, text) = ui(
        &server,
        "POST",
        "/api/secret/regenerate",
        &[
            host.clone(),
            bearer.clone(),
            "Content-Type: application/json".into(),
        ],
        "{}",
    );
    assert!(
        text.contains("LINQ_WEBHOOK_SECRET"),
        "an environment secret cannot be regenerated from the UI: {text}"
    );
    seen.push(text);
    let (s, text) = ui(
        &server,
        "POST",
        "/api/secret/reveal",
        &[
            host.clone(),
            bearer.clone(),
            "Content-Type: application/json".into(),
        ],
        "{}",
    );
    assert!(
        s == 200 && text.contains(SECRET),
        "the one place the secret shows: an authenticated same-origin reveal"
    );
    for args in [
        &["doctor"][..],
        &["export"],
        &["import", "/nonexistent/file.jsonl"],
    ] {
        let (_, out, err) = cli(args, dir.path(), None);
        seen.push(format!("{args:?}\n{out}\n{err}"));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let logs = server.all_output();
    assert!(
        logs.lines().count() > 20,
        "trace logging was on: {} lines",
        logs.lines().count()
    );
    seen.push(logs);
    for text in &seen {
        for line in text.lines() {
            if line.contains("Open the inbox: ") {
                continue;
            }
            assert!(!line.contains(SECRET), "the webhook secret leaked: {line}");
            assert!(!line.contains(&server.token), "the UI token leaked: {line}");
        }
    }
}

#[test]
fn a_generated_secret_stays_in_its_0600_config_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let [listen, ui] = free_ports();
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args([
            "--listen",
            &format!("127.0.0.1:{listen}"),
            "--ui-listen",
            &format!("127.0.0.1:{ui}"),
        ])
        .env_remove("LINQ_WEBHOOK_SECRET")
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let config = dir.path().join("config.toml");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&config).is_ok_and(|t| t.contains("webhook_secrets")) {
        assert!(
            std::time::Instant::now() < deadline,
            "serve writes a generated secret to config.toml"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    let secret = parsed["webhook_secrets"][0].as_str().unwrap().to_string();
    assert!(
        secret.len() >= 32,
        "a generated secret is long: {}",
        secret.len()
    );
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the config file holding the secret is private");
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        logs.contains("generated"),
        "serve says a secret was generated: {logs}"
    );
    assert!(
        !logs.contains(&secret),
        "the generated secret is never printed: {logs}"
    );
}
