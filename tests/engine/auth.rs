use crate::harness::*;

fn req(server: &Server, method: &str, path: &str, extra: &str) -> (u16, Vec<String>, String) {
    let body = if method == "POST" { "{}" } else { "" };
    let ct = if method == "POST" {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    raw_http(
        server.ui,
        format!(
            "{method} {path} HTTP/1.1\r\n{extra}{ct}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

#[test]
fn ui_auth_rules() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.post_signed(&fixture("events/message.received.json"));
    let host = format!("Host: {}\r\n", server.ui);
    let bearer = format!("Authorization: Bearer {}\r\n", server.token);
    let mut all_headers = Vec::new();

    let (s, h, body) = req(&server, "GET", "/api/chats", &host);
    assert_eq!(s, 401, "/api/chats without credentials must be 401: {body}");
    assert!(body.contains("\"error\""), "a 401 is a JSON error: {body}");
    all_headers.extend(h);

    let (s, h, _) = req(
        &server,
        "GET",
        "/api/chats",
        &format!("{host}Authorization: Bearer wrong-token\r\n"),
    );
    assert_eq!(s, 401, "a wrong bearer token must be 401");
    all_headers.extend(h);

    let (s, h, _) = req(&server, "GET", "/api/chats", &format!("{host}{bearer}"));
    assert_eq!(s, 200, "the bearer UI token must be accepted");
    all_headers.extend(h);

    let (s, h, _) = req(
        &server,
        "GET",
        "/api/chats",
        &format!("Host: evil.example:{}\r\n{bearer}", server.ui.port()),
    );
    assert_eq!(
        s, 403,
        "a non-loopback Host must be 403 (DNS rebinding), even with a valid token"
    );
    all_headers.extend(h);

    let (s, h, _) = req(
        &server,
        "POST",
        "/api/chats/324324/read",
        &format!("{host}{bearer}Origin: http://evil.example\r\n"),
    );
    assert_eq!(s, 403, "a cross-origin POST must be 403");
    all_headers.extend(h);
    let (s, h, _) = req(
        &server,
        "POST",
        "/api/chats/324324/read",
        &format!("{host}{bearer}Sec-Fetch-Site: cross-site\r\n"),
    );
    assert_eq!(s, 403, "Sec-Fetch-Site: cross-site must be 403");
    all_headers.extend(h);
    let unread = server.api("/api/chats")["chats"][0]["unread_count"].clone();
    assert_eq!(
        unread,
        serde_json::json!(1),
        "a refused cross-origin POST must have no effect"
    );

    // OPTIONS preflight never grants CORS.
    let (_, h, _) = req(
        &server,
        "OPTIONS",
        "/api/chats",
        &format!("{host}Origin: http://evil.example\r\nAccess-Control-Request-Method: GET\r\n"),
    );
    all_headers.extend(h);

    // The printed one-time login URL.
    let path = server
        .login_url
        .split_once(&server.ui.to_string())
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| {
            panic!(
                "login URL {} must point at the UI server {}",
                server.login_url, server.ui
            )
        });
    let (s, h, _) = req(&server, "GET", &path, &host);
    assert_eq!(s, 303, "the login URL must redirect with 303");
    assert!(
        h.iter().any(|l| l == "location: /"),
        "the login redirect must go to /: {h:?}"
    );
    let cookie_line = h
        .iter()
        .find(|l| l.starts_with("set-cookie:"))
        .cloned()
        .unwrap_or_else(|| panic!("the login URL must set a cookie: {h:?}"));
    assert!(
        cookie_line.contains("httponly"),
        "the session cookie must be HttpOnly: {cookie_line}"
    );
    assert!(
        cookie_line.contains("samesite=strict"),
        "the session cookie must be SameSite=Strict: {cookie_line}"
    );
    all_headers.extend(h.clone());
    let (s, h2, _) = req(&server, "GET", &path, &host);
    assert_eq!(s, 401, "a second use of the one-time login URL must be 401");
    all_headers.extend(h2);
    // raw_http lowercases headers, so fetch a cookie with its original case through a fresh login
    // with the --ui-token (which may be used as a login token).
    let (s, h3, _) = req(
        &server,
        "GET",
        &format!("/login?token={}", server.token),
        &host,
    );
    assert_eq!(s, 303, "the --ui-token also works as a login token");
    let raw_cookie = {
        let mut sock = std::net::TcpStream::connect(server.ui).unwrap();
        use std::io::{Read, Write};
        sock.write_all(
            format!(
                "GET /login?token={} HTTP/1.1\r\n{host}Connection: close\r\n\r\n",
                server.token
            )
            .as_bytes(),
        )
        .unwrap();
        let mut buf = String::new();
        sock.read_to_string(&mut buf).unwrap();
        buf.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
            .unwrap()["set-cookie:".len()..]
            .trim()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    all_headers.extend(h3);
    let (s, _, body) = req(
        &server,
        "GET",
        "/api/chats",
        &format!("{host}Cookie: {raw_cookie}\r\n"),
    );
    assert_eq!(s, 200, "the session cookie must authorize /api/*: {body}");

    for l in &all_headers {
        assert!(
            !l.starts_with("access-control-"),
            "no CORS header may ever be sent: {l}"
        );
    }
    // Webhook port, too.
    let (_, h, _) = raw_http(server.webhook, format!("OPTIONS /webhooks/linq HTTP/1.1\r\nHost: {}\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n", server.webhook).as_bytes());
    assert!(
        !h.iter().any(|l| l.starts_with("access-control-")),
        "no CORS on the webhook port: {h:?}"
    );

    // Secrets never in the logs, except the login URL line.
    server.post_raw(b"{}", Some("sha256=00"), "application/json");
    std::thread::sleep(std::time::Duration::from_millis(200));
    for line in server.all_output().lines() {
        if line.contains("Open the inbox: ") {
            continue;
        }
        assert!(
            !line.contains(SECRET),
            "the webhook secret must never be logged: {line}"
        );
        assert!(
            !line.contains(&server.token),
            "the UI token must never be logged: {line}"
        );
    }
}
