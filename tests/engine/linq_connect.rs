//! Connecting to Linq (issue 8): the real binary against a local fake of Linq's v2 API and a
//! local reverse proxy standing in for the tunnel.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{cli_with, free_port, Server, SECRET};
use crate::linq_fake::{tunnel, FakeLinq, PATH, TOKEN};

/// The v2 event types, in the order the app asks for them.
const EVENTS: [&str; 13] = [
    "message.sent",
    "message.received",
    "message.read",
    "call.completed",
    "reaction.sent",
    "reaction.received",
    "typing_indicator.received",
    "typing_indicator.removed",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "participant.added",
    "participant.removed",
];

/// Environment for a server or CLI whose secret lives in config.toml and whose Linq is `fake`.
fn env<'a>(
    fake: &'a str,
    grace: &'a str,
    token: Option<&'a str>,
) -> Vec<(&'a str, Option<&'a str>)> {
    vec![
        ("LINQ_WEBHOOK_SECRET", None),
        ("LINQ_API_BASE", Some(fake)),
        ("LINQ_INBOX_SECRET_GRACE_SECS", Some(grace)),
        ("LINQ_INTEGRATION_TOKEN", token),
        // These tests are about the legacy API; v3's are in `linq_connect_v3.rs`.
        ("LINQ_API_VERSION", Some("v2")),
    ]
}

fn write_secret(dir: &Path, secret: &str) {
    std::fs::write(
        dir.join("config.toml"),
        format!("webhook_secrets = [\"{secret}\"]\n"),
    )
    .expect("write config.toml");
}

fn start(dir: &Path, fake: &FakeLinq, grace: &str) -> Server {
    write_secret(dir, SECRET);
    let base = fake.base();
    Server::start_with(dir, &env(&base, grace, None))
}

/// `linq-inbox linq ARGS` with the token in the environment.
fn linq(dir: &Path, fake: &FakeLinq, args: &[&str]) -> (bool, String, String) {
    let base = fake.base();
    let mut all = vec!["linq"];
    all.extend_from_slice(args);
    cli_with(&all, dir, None, &env(&base, "86400", Some(TOKEN)))
}

fn config_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("config.toml")).expect("config.toml")
}

fn config(dir: &Path) -> toml::Value {
    toml::from_str(&config_text(dir)).expect("config.toml parses")
}

/// Sets `[linq].key` in config.toml, keeping everything else.
fn set_linq(dir: &Path, key: &str, value: &str) {
    let mut doc: toml::Table = toml::from_str(&config_text(dir)).expect("config.toml parses");
    let linq = doc
        .entry("linq")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    linq.as_table_mut()
        .expect("[linq] is a table")
        .insert(key.into(), toml::Value::String(value.into()));
    std::fs::write(
        dir.join("config.toml"),
        toml::to_string(&doc).expect("toml"),
    )
    .expect("write");
}

fn current_secret(dir: &Path) -> String {
    config(dir)["webhook_secrets"][0]
        .as_str()
        .expect("a current secret")
        .to_string()
}

fn post_signed_with(server: &Server, secret: &str, event_id: &str) -> u16 {
    let body = crate::harness::envelope("contact.deleted", event_id, json!({"id": event_id}));
    let sig = linq_inbox::linq::signature::sign(secret.as_bytes(), body.as_bytes());
    server
        .post_raw(body.as_bytes(), Some(&sig), "application/json")
        .0
}

fn save_token(server: &Server) -> Value {
    let (status, v) = server.send_api(
        "PUT",
        "/api/linq/token",
        Some(&json!({"token": TOKEN}).to_string()),
    );
    assert_eq!(status, 200, "saving the token: {v}");
    v
}

#[test]
fn connect_sends_the_exact_request_then_adopts_instead_of_duplicating() {
    let fake = FakeLinq::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, "86400");

    let (status, v) = server.post_api(
        "/api/linq/connect",
        r#"{"public_url":"https://tunnel.example"}"#,
    );
    assert_eq!(status, 400, "no token yet: {v}");
    assert!(
        v["error"].as_str().unwrap().contains("integration token"),
        "{v}"
    );
    assert!(
        fake.seen().is_empty(),
        "nothing is sent to Linq without a token"
    );

    let saved = save_token(&server);
    assert_eq!(
        saved["token"]["masked"], "lq_t…0123",
        "the token is shown masked"
    );
    assert!(
        !saved.to_string().contains(TOKEN),
        "the full token never comes back: {saved}"
    );
    match saved["token"]["source"].as_str() {
        Some("config_file") => {
            assert!(
                config_text(dir.path()).contains(TOKEN),
                "no keyring here: the config file keeps it"
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(dir.path().join("config.toml"))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "the config file holds the token");
            }
        }
        Some("keyring") => assert!(
            !config_text(dir.path()).contains(TOKEN),
            "a keyring-held token is not also in the file"
        ),
        other => panic!("unexpected token source {other:?}"),
    }

    let (status, v) = server.post_api(
        "/api/linq/connect",
        r#"{"public_url":"https://tunnel.example/"}"#,
    );
    assert_eq!(status, 200, "connect: {v}");
    assert_eq!(
        v["created"], true,
        "a first connect creates the subscription"
    );
    assert_eq!(
        v["webhook_url"], "https://tunnel.example/webhooks/linq",
        "Linq delivers to the public URL's /webhooks/linq path"
    );
    assert_eq!(
        v["subscription"]["id"], "100",
        "Linq's numeric id is kept as text"
    );
    assert_eq!(
        fake.calls(),
        vec![format!("GET {PATH}"), format!("POST {PATH}")],
        "connect looks for an existing subscription before creating one"
    );
    let create = &fake.seen()[1];
    assert_eq!(
        create.token.as_deref(),
        Some(TOKEN),
        "X-LINQ-INTEGRATION-TOKEN carries the token"
    );
    assert_eq!(
        create.content_type.as_deref(),
        Some("application/json"),
        "the create request is sent as JSON"
    );
    assert_eq!(
        create.body,
        Some(json!({"webhook_subscription": {
            "webhook_url": "https://tunnel.example/webhooks/linq",
            "version": 2,
            "secret": SECRET,
            "active": true,
            "events": EVENTS,
        }})),
        "the body is wrapped and carries this app's secret and every event type"
    );

    // Connecting again to the same URL updates that subscription instead of adding a second.
    let (status, v) = server.post_api(
        "/api/linq/connect",
        r#"{"public_url":"https://tunnel.example"}"#,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["created"], false,
        "a second connect to the same URL adopts the subscription instead of creating one"
    );
    assert_eq!(
        fake.calls()[2..],
        [format!("GET {PATH}"), format!("PUT {PATH}/100")],
        "a reconnect updates the existing subscription in place rather than posting a duplicate"
    );
    assert_eq!(
        fake.subscriptions.lock().unwrap().len(),
        1,
        "still one subscription"
    );

    let status_now = server.api("/api/linq");
    assert_eq!(
        status_now["subscription_id"], "100",
        "the app remembers which subscription is its own"
    );
    assert_eq!(
        status_now["webhook_url"], "https://tunnel.example/webhooks/linq",
        "the status shows where Linq delivers"
    );
    assert!(
        !status_now.to_string().contains(TOKEN),
        "the status never shows the integration token"
    );

    // Regenerating the secret behind Linq's back is refused once connected: rotate instead.
    let (status, v) = server.post_api("/api/secret/regenerate", "{}");
    assert_eq!(status, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("Rotate secret"),
        "{v}"
    );
    assert_eq!(
        current_secret(dir.path()),
        SECRET,
        "the secret Linq holds is unchanged"
    );

    // A second subscription on the same URL (made by hand) is warned about.
    fake.add(json!("hand-made"), "https://tunnel.example/webhooks/linq");
    for sub in fake.subscriptions.lock().unwrap().iter_mut() {
        if sub["id"] == "100" || sub["id"] == 100 {
            sub["last_delivered_at"] = json!("2026-12-04T10:00:00Z");
            sub["delivery_attempts"] = json!(12);
        }
    }
    let listing = server.api("/api/linq/subscriptions");
    assert_eq!(
        listing["current_id"], "100",
        "the listing marks the app's own subscription"
    );
    let own = listing["subscriptions"]
        .as_array()
        .and_then(|subs| subs.iter().find(|s| s["id"] == "100"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (
            own["last_delivered_at"].clone(),
            own["delivery_attempts"].clone()
        ),
        (json!("2026-12-04T10:00:00Z"), json!(12)),
        "Linq's own view of the deliveries reaches Setup: {listing}"
    );
    let warnings = listing["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{listing}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("2 subscriptions point at"),
        "{listing}"
    );

    // The CLI sees the same account, in sentences or JSON.
    let (ok, out, err) = linq(dir.path(), &fake, &["list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("100  https://tunnel.example/webhooks/linq  active")
            && out.contains("(this app)"),
        "{out}"
    );
    assert!(err.contains("warning: 2 subscriptions point at"), "{err}");
    let (ok, out, _) = linq(dir.path(), &fake, &["list", "--json"]);
    assert!(ok, "list --json succeeds");
    let parsed: Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(
        parsed["subscriptions"].as_array().unwrap().len(),
        2,
        "the JSON listing shows every subscription on the account, the hand-made one included"
    );

    let (ok, out, err) = linq(dir.path(), &fake, &["disconnect", "hand-made"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "Deleted Linq webhook subscription hand-made; Linq no longer delivers to it.",
        "disconnect says in one sentence what it deleted and what that means"
    );
    assert_eq!(
        fake.calls().last().unwrap(),
        &format!("DELETE {PATH}/hand-made"),
        "disconnect deletes exactly the named subscription at Linq"
    );

    let (status, v) = server.send_api("DELETE", "/api/linq/subscriptions/100", None);
    assert_eq!((status, v["deleted"].clone()), (200, json!("100")), "{v}");
    assert_eq!(
        server.api("/api/linq")["subscription_id"],
        Value::Null,
        "the app forgets its own deleted subscription"
    );
    assert!(
        fake.subscriptions.lock().unwrap().is_empty(),
        "deleting the app's subscription leaves none at Linq"
    );
}

/// A scripted Linq failure: status, headers, body, and the sentence expected from the app.
type Case = (u16, Vec<(&'static str, &'static str)>, String, &'static str);

#[test]
fn linq_failures_are_one_sentence_in_the_cli_and_the_api() {
    let fake = FakeLinq::start();
    let dir = tempfile::tempdir().unwrap();
    write_secret(dir.path(), SECRET);
    let empty_list = json!({"webhook_subscriptions": []}).to_string();
    let cases: Vec<Case> = vec![
        (
            401,
            vec![],
            json!({"error": "Unauthorized"}).to_string(),
            "Linq refused the integration token (HTTP 401)",
        ),
        (
            422,
            vec![],
            json!({"errors": {"webhook_url": ["must use HTTPS"]}}).to_string(),
            "Linq refused the request: webhook_url must use HTTPS",
        ),
        (
            429,
            vec![("Retry-After", "30")],
            "{}".into(),
            "rate-limiting this token (HTTP 429); try again in 30 seconds",
        ),
        (
            503,
            vec![],
            "<html>down</html>".into(),
            "Linq had a server error (HTTP 503)",
        ),
    ];
    for (status, headers, body, expected) in &cases {
        // The list before the create succeeds; the create fails as scripted.
        fake.script(200, &[], &empty_list);
        fake.script(*status, headers, body);
        let (ok, out, err) = linq(
            dir.path(),
            &fake,
            &["connect", "--public-url", "https://t.example"],
        );
        assert!(!ok, "HTTP {status} must fail the command");
        assert!(out.is_empty(), "nothing claims success: {out}");
        assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
        assert_eq!(err.matches(expected).count(), 1, "said once: {err}");
        assert!(
            err.starts_with("linq-inbox: ") && err.contains(expected),
            "HTTP {status}: {err}"
        );
        assert!(
            !err.contains(TOKEN) && !err.contains(SECRET),
            "no secret in an error: {err}"
        );
    }
    assert_eq!(
        fake.seen().iter().filter(|s| s.method == "POST").count(),
        cases.len(),
        "each scripted failure was actually sent to Linq once"
    );

    // The same sentences reach the UI, as 502 (a 401 would read as "signed out").
    let server = start(dir.path(), &fake, "86400");
    save_token(&server);
    for (status, headers, body, expected) in &cases {
        fake.script(*status, headers, body);
        let (code, v) = server.get("/api/linq/subscriptions");
        assert_eq!(code, 502, "Linq's HTTP {status}: {v}");
        assert!(v["error"].as_str().unwrap().contains(expected), "{v}");
    }

    // A URL that is not https never reaches Linq.
    let before = fake.seen().len();
    let (ok, _, err) = linq(
        dir.path(),
        &fake,
        &["connect", "--public-url", "http://t.example"],
    );
    assert!(!ok && err.contains("must start with https://"), "{err}");
    assert_eq!(
        fake.seen().len(),
        before,
        "a non-https public URL is refused before any request reaches Linq"
    );

    // Nothing listening where the API should be.
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let (ok, _, err) = cli_with(
        &["linq", "list"],
        dir.path(),
        None,
        &env(&nowhere, "86400", Some(TOKEN)),
    );
    assert!(
        !ok && err.contains("could not reach Linq") && err.contains("nothing is listening"),
        "{err}"
    );
    assert_eq!(
        err.matches("could not reach Linq").count(),
        1,
        "said once: {err}"
    );

    // Rotation refused by Linq leaves the secret as it was.
    fake.add(json!(7), "https://t.example/webhooks/linq");
    set_linq(dir.path(), "public_url", "https://t.example");
    set_linq(dir.path(), "subscription_id", "7");
    let before = config_text(dir.path());
    fake.script(
        422,
        &[],
        &json!({"error": "secret is too short"}).to_string(),
    );
    let (status, v) = server.post_api("/api/linq/rotate", "{}");
    assert_eq!(status, 502, "{v}");
    assert_eq!(
        v["error"], "Linq refused the request: secret is too short",
        "Linq's refusal reaches the UI as one sentence with Linq's own reason"
    );
    let after = config(dir.path());
    assert_eq!(
        after["webhook_secrets"][0].as_str(),
        Some(SECRET),
        "a refused rotation changes nothing: {before}"
    );
    assert!(
        after["linq"].get("retiring_secrets").is_none(),
        "{}",
        config_text(dir.path())
    );
    assert_eq!(
        post_signed_with(&server, SECRET, "after-refused-rotation"),
        200,
        "after a refused rotation the old secret still verifies deliveries"
    );
}

#[test]
fn a_test_delivery_goes_through_the_tunnel_or_says_where_it_failed() {
    let fake = FakeLinq::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, "86400");
    let proxy = tunnel(server.webhook);

    let test = |public_url: &str| {
        let (status, v) = server.post_api(
            "/api/linq/test-delivery",
            &json!({"public_url": public_url, "timeout_ms": 5000}).to_string(),
        );
        assert_eq!(status, 200, "{v}");
        v
    };

    let ok = test(&format!("http://{proxy}"));
    assert_eq!(
        (ok["ok"].clone(), ok["stage"].clone()),
        (json!(true), json!("delivered")),
        "{ok}"
    );
    assert_eq!(
        ok["status"], 200,
        "the report carries the HTTP status the delivery came back with"
    );
    assert_eq!(
        ok["url"],
        format!("http://{proxy}/webhooks/linq"),
        "the report names the URL the test delivery was sent to"
    );
    let id = ok["event_id"].as_str().unwrap().to_string();
    let stored = server.all_events();
    assert!(
        stored
            .iter()
            .any(|e| e["event_id"] == id.as_str() && e["event_type"] == "linq_inbox.test_delivery"),
        "the test event is in the raw log"
    );
    assert_eq!(
        server.api("/api/chats")["chats"],
        json!([]),
        "a test delivery adds nothing to the inbox"
    );

    let wrong_path = test(&format!("http://{proxy}/hooks"));
    assert_eq!(
        (wrong_path["stage"].clone(), wrong_path["status"].clone()),
        (json!("path"), json!(404)),
        "{wrong_path}"
    );
    assert!(
        wrong_path["message"].as_str().unwrap().contains("404"),
        "a wrong path is explained with the 404 it got"
    );

    // The tunnel reaches a listener that holds another secret.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Server::start_with(
        other_dir.path(),
        &[("LINQ_WEBHOOK_SECRET", Some("another-apps-secret"))],
    );
    let other_tunnel = tunnel(other.webhook);
    let mismatch = test(&format!("http://{other_tunnel}"));
    assert_eq!(
        (mismatch["stage"].clone(), mismatch["status"].clone()),
        (json!("signature"), json!(401)),
        "{mismatch}"
    );
    assert!(
        mismatch["message"]
            .as_str()
            .unwrap()
            .contains("different webhook secret"),
        "a signature refusal is explained as a different webhook secret"
    );

    let nothing = test(&format!("http://127.0.0.1:{}", free_port()));
    assert_eq!(nothing["stage"], "connect", "{nothing}");
    assert!(
        nothing["message"]
            .as_str()
            .unwrap()
            .contains("nothing is listening"),
        "{nothing}"
    );

    let dead_upstream = tunnel(format!("127.0.0.1:{}", free_port()).parse().unwrap());
    let stuck = test(&format!("http://{dead_upstream}"));
    assert_eq!(
        (stuck["stage"].clone(), stuck["status"].clone()),
        (json!("tunnel"), json!(502)),
        "{stuck}"
    );

    // A tunnel that accepts the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let (status, stuck_quiet) = server.post_api(
        "/api/linq/test-delivery",
        &json!({"public_url": format!("http://{silent_addr}"), "timeout_ms": 500}).to_string(),
    );
    assert_eq!(
        status, 200,
        "the test-delivery endpoint answers even when the tunnel never does"
    );
    assert_eq!(stuck_quiet["stage"], "timeout", "{stuck_quiet}");

    let tls = test(&format!("https://127.0.0.1:{}", proxy.port()));
    assert_eq!(
        tls["stage"], "tls",
        "https to a plain-HTTP port fails the handshake: {tls}"
    );

    let dns = test("https://no-such-tunnel.invalid");
    assert_eq!(dns["stage"], "dns", "{dns}");

    // Something answers 200 but is not this app (here: the fake Linq).
    let elsewhere = test(&fake.base());
    assert_eq!(elsewhere["stage"], "not_stored", "{elsewhere}");

    // The CLI does the same against the saved public URL, and exits non-zero on failure.
    set_linq(dir.path(), "public_url", &format!("http://{proxy}"));
    let (ok, out, err) = linq(dir.path(), &fake, &["test"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with("ok: the test delivery came back through the tunnel and was stored"),
        "{out}"
    );
    let (ok, out, _) = linq(
        dir.path(),
        &fake,
        &[
            "test",
            "--public-url",
            &format!("http://{proxy}/hooks"),
            "--json",
        ],
    );
    assert!(!ok, "a failed test delivery exits non-zero");
    let report: Value = serde_json::from_str(&out).expect("--json");
    assert_eq!(
        report["stage"], "path",
        "the CLI's JSON report names the failing stage"
    );
}

#[test]
fn rotation_accepts_both_secrets_during_the_grace_period_and_only_the_new_one_after() {
    let fake = FakeLinq::start();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake, "4");
    save_token(&server);
    let (status, v) = server.post_api(
        "/api/linq/connect",
        r#"{"public_url":"https://tunnel.example"}"#,
    );
    assert_eq!(status, 200, "{v}");

    let (status, v) = server.post_api("/api/linq/rotate", "{}");
    assert_eq!(status, 200, "{v}");
    let rotated_at = Instant::now();
    let new = current_secret(dir.path());
    assert_ne!(new, SECRET, "a new secret was generated");
    assert_eq!(
        v["rotated"]["subscription_id"], "100",
        "rotation reports which subscription got the new secret"
    );
    assert_eq!(
        v["status"]["retiring"].as_array().unwrap().len(),
        1,
        "the UI shows the old secret's expiry: {v}"
    );
    assert!(
        !v.to_string().contains(&new) && !v.to_string().contains(SECRET),
        "no secret in the answer"
    );
    let put = fake.seen().last().cloned().unwrap();
    assert_eq!(
        put.method, "PUT",
        "rotation updates the subscription at Linq in place"
    );
    assert_eq!(
        put.path,
        format!("{PATH}/100"),
        "rotation updates the app's own subscription"
    );
    assert_eq!(
        put.body.unwrap()["webhook_subscription"]["secret"],
        new.as_str(),
        "Linq gets the new secret"
    );

    assert_eq!(
        post_signed_with(&server, SECRET, "old-during-grace"),
        200,
        "the old secret is accepted during the grace period"
    );
    assert_eq!(
        post_signed_with(&server, &new, "new-during-grace"),
        200,
        "the new secret is accepted at once"
    );

    // After the grace period (4 s, plus the keeper's half-second tick), only the new one.
    let wait = Duration::from_secs(5).saturating_sub(rotated_at.elapsed());
    std::thread::sleep(wait);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut old_status = post_signed_with(&server, SECRET, "old-after-grace-0");
    let mut n = 1;
    while old_status != 401 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        old_status = post_signed_with(&server, SECRET, &format!("old-after-grace-{n}"));
        n += 1;
    }
    assert_eq!(
        old_status, 401,
        "the old secret is refused after the grace period"
    );
    assert_eq!(
        post_signed_with(&server, &new, "new-after-grace"),
        200,
        "the new secret keeps working after the grace period"
    );
    assert_eq!(
        server.api("/api/linq")["retiring"],
        json!([]),
        "no secret is shown as retiring once its grace period is over"
    );

    // A rotation from the CLI reaches the running listener too.
    let (ok, out, err) = linq(dir.path(), &fake, &["rotate"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("Rotated the webhook secret of Linq subscription 100; the previous secret is still accepted until "), "{out}");
    let newest = current_secret(dir.path());
    assert_ne!(newest, new, "a CLI rotation generates yet another secret");
    assert_eq!(
        post_signed_with(&server, &newest, "newest"),
        200,
        "the running engine picked up the CLI's rotation"
    );
    assert_eq!(
        post_signed_with(&server, &new, "previous-in-grace"),
        200,
        "the secret rotated out by the CLI is still accepted during its grace period"
    );
}

#[test]
fn rotation_is_refused_when_the_secret_is_not_the_apps() {
    let fake = FakeLinq::start();
    let dir = tempfile::tempdir().unwrap();
    let base = fake.base();
    let mut vars = env(&base, "86400", Some(TOKEN));
    vars[0] = ("LINQ_WEBHOOK_SECRET", Some(SECRET));
    let (ok, _, err) = cli_with(&["linq", "rotate"], dir.path(), None, &vars);
    assert!(
        !ok && err.contains("LINQ_WEBHOOK_SECRET") && err.contains("rotate it there"),
        "{err}"
    );
    assert!(fake.seen().is_empty(), "nothing was sent to Linq");
}

#[test]
fn the_token_is_read_from_standard_input_and_shown_masked() {
    let fake = FakeLinq::start();
    let dir = tempfile::tempdir().unwrap();
    write_secret(dir.path(), SECRET);
    let base = fake.base();
    let no_token = env(&base, "86400", None);
    let (ok, out, err) = cli_with(
        &["linq", "token"],
        dir.path(),
        Some(format!("{TOKEN}\n").as_bytes()),
        &no_token,
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("Saved the integration token lq_t…0123 in "),
        "{out}"
    );
    assert!(
        !out.contains(TOKEN) && !err.contains(TOKEN),
        "the token is never printed"
    );
    let (ok, out, err) = cli_with(&["linq", "list"], dir.path(), None, &no_token);
    assert!(ok, "the saved token is used: {err}");
    assert_eq!(
        out.trim(),
        "No webhook subscriptions on this Linq account.",
        "list with the saved token reports the empty account in a sentence"
    );
    assert_eq!(
        fake.seen()[0].token.as_deref(),
        Some(TOKEN),
        "the token read from standard input is the one sent to Linq"
    );
    let (ok, _, _) = cli_with(&["linq", "token", "--forget"], dir.path(), None, &no_token);
    assert!(ok, "token --forget succeeds");
    let (ok, _, err) = cli_with(&["linq", "list"], dir.path(), None, &no_token);
    assert!(
        !ok && err.contains("no Linq integration token is set"),
        "{err}"
    );
}

#[test]
fn a_restart_keeps_a_rotated_out_secret_only_until_its_grace_ends() {
    let fake = FakeLinq::start();
    fake.add(json!(7), "https://t.example/webhooks/linq");
    let base = fake.base();
    let rotate_with_grace = |dir: &Path, grace: &str| {
        write_secret(dir, SECRET);
        set_linq(dir, "public_url", "https://t.example");
        set_linq(dir, "subscription_id", "7");
        let (ok, _, err) = cli_with(
            &["linq", "rotate", "--json"],
            dir,
            None,
            &env(&base, grace, Some(TOKEN)),
        );
        assert!(ok, "{err}");
        current_secret(dir)
    };

    // Rotated with a day of grace, then the app starts: both secrets verify.
    let dir = tempfile::tempdir().unwrap();
    let new = rotate_with_grace(dir.path(), "86400");
    let server = Server::start_with(dir.path(), &env(&base, "86400", None));
    assert_eq!(
        post_signed_with(&server, SECRET, "old-after-restart"),
        200,
        "a restart within the grace period still accepts the rotated-out secret"
    );
    assert_eq!(
        post_signed_with(&server, &new, "new-after-restart"),
        200,
        "a restart accepts the new secret"
    );
    drop(server);

    // Rotated with a one-second grace that is over before the app starts: only the new one.
    let dir = tempfile::tempdir().unwrap();
    let new = rotate_with_grace(dir.path(), "1");
    std::thread::sleep(Duration::from_millis(1100));
    let server = Server::start_with(dir.path(), &env(&base, "1", None));
    assert_eq!(
        post_signed_with(&server, SECRET, "old-expired"),
        401,
        "an expired secret is not revived by a restart"
    );
    assert_eq!(
        post_signed_with(&server, &new, "new-only"),
        200,
        "the new secret verifies after the old one's grace ended"
    );
}
