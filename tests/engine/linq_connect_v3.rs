//! Connecting through Linq's v3 API (issue 21): the real binary against the fake's v3
//! subscriptions (`linq_fake_v3.rs`) and a local reverse proxy standing in for the tunnel.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use linq_inbox::linq::standard_webhooks::{sign, sign_legacy, signing_key};
use linq_inbox::linq::Secret;
use serde_json::{json, Value};

use crate::harness::{cli_with, Server, SECRET};
use crate::linq_fake::{tunnel, FakeLinq, TOKEN};
use crate::linq_fake_v3::{V3_LINES_PATH, V3_PATH};

/// A scripted failure: status, headers, body, and what its sentence must say.
type Case<'a> = (u16, Vec<(&'a str, &'a str)>, String, &'a str);

pub(crate) const LINES: [&str; 2] = ["+15550100001", "+15550100002"];

pub(crate) fn env(fake: &str) -> Vec<(&str, Option<&str>)> {
    vec![
        ("LINQ_WEBHOOK_SECRET", None),
        ("LINQ_API_BASE", Some(fake)),
        ("LINQ_INTEGRATION_TOKEN", Some(TOKEN)),
        ("LINQ_API_VERSION", None),
    ]
}

/// The app's own secret in config.toml, where a v3 connect may replace it.
pub(crate) fn write_secret(dir: &Path) {
    std::fs::write(
        dir.join("config.toml"),
        format!("webhook_secrets = [\"{SECRET}\"]\n"),
    )
    .expect("write config.toml");
}

/// The app with its generated-style secret in config.toml, speaking v3 (the default).
pub(crate) fn start(dir: &Path, fake: &FakeLinq) -> Server {
    write_secret(dir);
    restart(dir, fake)
}

fn restart(dir: &Path, fake: &FakeLinq) -> Server {
    let base = fake.base();
    Server::start_with(dir, &env(&base))
}

pub(crate) fn fake_with_lines() -> FakeLinq {
    let fake = FakeLinq::start();
    *fake.v3.lines.lock().unwrap() = LINES.iter().map(|l| l.to_string()).collect();
    fake
}

pub(crate) fn connect(server: &Server, body: Value) -> (u16, Value) {
    server.send_api("POST", "/api/linq/connect", Some(&body.to_string()))
}

pub(crate) fn config_secret(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("config.toml")).expect("config.toml");
    let doc: toml::Value = toml::from_str(&text).expect("config.toml parses");
    doc["webhook_secrets"][0]
        .as_str()
        .expect("a current secret")
        .to_string()
}

/// Posts a v3 event signed the way Linq signs for `secret`; the listener's status.
pub(crate) fn post_v3_signed(server: &Server, secret: &str, event_id: &str) -> u16 {
    let body = json!({"api_version": "v3", "webhook_version": "2026-02-03",
        "event_type": "phone_number.status_updated", "event_id": event_id,
        "created_at": chrono::Utc::now().to_rfc3339(), "trace_id": "t", "partner_id": "p",
        "data": {"phone_number": LINES[0], "status": "ACTIVE"}})
    .to_string();
    let at = chrono::Utc::now().timestamp();
    let key = signing_key(&Secret::new(secret));
    let sig = sign(&key, event_id, at, body.as_bytes());
    let legacy = sign_legacy(secret.as_bytes(), at, body.as_bytes());
    let ts = at.to_string();
    server
        .post_with_headers(
            body.as_bytes(),
            &[
                ("webhook-id", event_id),
                ("webhook-timestamp", ts.as_str()),
                ("webhook-signature", sig.as_str()),
                ("X-Webhook-Timestamp", ts.as_str()),
                ("X-Webhook-Signature", legacy.as_str()),
            ],
        )
        .0
}

pub(crate) fn events() -> Vec<String> {
    linq_inbox::linq::v3::KNOWN_V3_EVENT_TYPES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn v3_connect_sends_the_exact_requests_keeps_linqs_secret_and_reconnects_in_place() {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake);
    let public = format!("http://{}", tunnel(server.webhook));

    let status = server.api("/api/linq");
    assert_eq!(
        status["api_version"], "v3",
        "Setup says which API: {status}"
    );
    let lines = server.api("/api/linq/lines");
    let numbers: Vec<&str> = lines["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["phone_number"].as_str())
        .collect();
    assert_eq!(numbers, LINES, "the account's lines, to choose from");

    let (code, v) = connect(
        &server,
        json!({"public_url": public, "phone_numbers": [LINES[1]]}),
    );
    assert_eq!(code, 200, "connect: {v}");
    assert_eq!(v["created"], true, "a first connect creates: {v}");
    assert_eq!(
        v["report"]["stage"], "delivered",
        "the path is checked: {v}"
    );
    let target = format!("{public}/webhooks/linq?version=2026-02-03");
    let seen = fake.seen();
    let calls: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        calls,
        [
            format!("GET {V3_LINES_PATH}"),
            format!("GET {V3_PATH}"),
            format!("POST {V3_PATH}")
        ],
        "list, then create"
    );
    for s in &seen {
        assert_eq!(
            s.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "v3 auth header on {} {}",
            s.method,
            s.path
        );
        assert_eq!(s.token, None, "no v2 header on v3 calls");
    }
    assert_eq!(
        seen[2].body,
        Some(json!({"target_url": target, "subscribed_events": events(),
                    "phone_numbers": [LINES[1]]})),
        "the exact create body"
    );
    let id = v["subscription"]["id"].as_str().expect("id").to_string();
    let issued = fake.v3.secret_of(&id).expect("the fake issued a secret");
    assert!(
        !v.to_string().contains(&issued) && !server.api("/api/linq").to_string().contains("whsec_"),
        "the secret is never shown again"
    );
    assert_eq!(
        config_secret(dir.path()),
        issued,
        "Linq's secret is the app's now"
    );
    assert_eq!(
        post_v3_signed(&server, &issued, "evt-after-connect"),
        200,
        "a delivery Linq signs is accepted"
    );

    // Reconnecting to the same address updates the app's own subscription, never a second.
    let (code, v) = connect(&server, json!({"public_url": public}));
    assert_eq!(code, 200, "reconnect: {v}");
    assert_eq!(v["created"], false, "updated in place: {v}");
    let put = fake.seen().last().cloned().expect("a call");
    assert_eq!(
        (put.method.as_str(), put.path.clone()),
        ("PUT", format!("{V3_PATH}/{id}")),
        "the update names the subscription"
    );
    assert_eq!(
        put.body,
        Some(json!({"target_url": target, "subscribed_events": events(),
                    "phone_numbers": [], "is_active": true})),
        "every line again: the filter is cleared"
    );
    assert_eq!(fake.v3.list().len(), 1, "still one subscription");
    assert_eq!(
        config_secret(dir.path()),
        issued,
        "an update keeps the secret"
    );

    // A subscription made by hand at the app's address (its secret unknown here) is replaced.
    let (code, _) = server.send_api("DELETE", &format!("/api/linq/subscriptions/{id}"), None);
    assert_eq!(code, 200, "disconnect");
    fake.v3.add("hand-made", &format!("{public}/webhooks/linq"));
    let (code, v) = connect(&server, json!({"public_url": public}));
    assert_eq!(code, 200, "connect over a hand-made subscription: {v}");
    let subs = fake.v3.list();
    assert_eq!(subs.len(), 1, "the hand-made one made room: {subs:?}");
    assert_ne!(subs[0]["id"], "hand-made", "replaced by the app's own");
    let newer = fake.v3.secret_of(subs[0]["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        post_v3_signed(&server, &issued, "evt-old-secret"),
        200,
        "the previous secret stays accepted for the grace period"
    );
    assert_eq!(
        post_v3_signed(&server, &newer, "evt-new-secret"),
        200,
        "the new one is accepted at once"
    );

    let (ok, out, err) = cli_with(&["linq", "status"], dir.path(), None, &env(&fake.base()));
    assert!(
        ok && out.contains("(v3)"),
        "`linq status` names the API: {out}{err}"
    );
}

#[test]
fn the_secret_linq_issued_survives_a_kill_right_after_linq_answered() {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &fake);
    // A "tunnel" that accepts and never answers holds the app right after Linq's answer.
    let stuck = TcpListener::bind("127.0.0.1:0").expect("bind");
    let public = format!("http://{}", stuck.local_addr().expect("addr"));
    let ui = server.ui;
    let auth = server.token.clone();
    let body = json!({ "public_url": public }).to_string();
    std::thread::spawn(move || {
        let _ = ureq::post(&format!("http://{ui}/api/linq/connect"))
            .set("Authorization", &format!("Bearer {auth}"))
            .set("Content-Type", "application/json")
            .send_string(&body);
    });
    let (_held, _) = stuck
        .accept()
        .expect("the app checks the path after Linq answered");
    server.kill();
    assert!(
        fake.calls().last().is_some_and(|c| c.starts_with("POST")),
        "Linq created the subscription before the kill: {:?}",
        fake.calls()
    );

    let id = fake.v3.list()[0]["id"].as_str().expect("id").to_string();
    let issued = fake.v3.secret_of(&id).expect("issued");
    let server = restart(dir.path(), &fake);
    assert_eq!(config_secret(dir.path()), issued, "kept before the kill");
    assert_eq!(
        server.api("/api/linq")["subscription_id"],
        id,
        "and which subscription it belongs to"
    );
    assert_eq!(
        post_v3_signed(&server, &issued, "evt-after-restart"),
        200,
        "Linq's deliveries are accepted after the restart"
    );
}

#[test]
fn every_v3_failure_is_one_sentence_and_a_secret_is_kept_even_from_a_bad_answer() {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &fake);
    let public = format!("http://{}", tunnel(server.webhook));
    let v3_err = |status: u16, code: u32, message: &str| {
        json!({"success": false, "error": {"status": status, "code": code, "message": message},
               "trace_id": "t"})
        .to_string()
    };
    let cases: Vec<Case> = vec![
        (
            401,
            vec![],
            v3_err(401, 2004, "Unauthorized"),
            "Linq refused the integration token (HTTP 401)",
        ),
        (
            400,
            vec![],
            v3_err(400, 1002, "target_url must use HTTPS"),
            "Linq refused the request: target_url must use HTTPS",
        ),
        (
            429,
            vec![("Retry-After", "30")],
            v3_err(429, 1007, "slow down"),
            "try again in 30 seconds",
        ),
        (
            500,
            vec![],
            v3_err(500, 3006, "internal"),
            "Linq had a server error (HTTP 500)",
        ),
        (0, vec![], String::new(), "could not reach Linq"),
    ];
    for (status, headers, body, expected) in &cases {
        fake.script(*status, headers, body);
        let (code, v) = connect(&server, json!({"public_url": public}));
        let message = v["error"].as_str().unwrap_or_default();
        assert_eq!(code, 502, "Linq's failure is a 502 for HTTP {status}: {v}");
        assert!(
            message.contains(expected) && !message.contains('\n') && !message.contains(TOKEN),
            "HTTP {status}: one sentence naming the cause, got {message:?}"
        );
        fake.script(*status, headers, body);
        let (ok, _, err) = cli_with(
            &["linq", "connect", "--public-url", &public],
            dir.path(),
            None,
            &env(&fake.base()),
        );
        assert!(
            !ok && err.trim().lines().count() == 1 && err.contains(expected),
            "HTTP {status}: one sentence on the CLI's standard error, got {err:?}"
        );
    }
    assert!(fake.v3.list().is_empty(), "no failure created anything");

    // A create answer Linq got wrong still leaves its secret with the app.
    fake.script(200, &[], &json!({"subscriptions": []}).to_string());
    fake.script(
        201,
        &[],
        &json!({"signing_secret": "whsec_Zm9yZ290LXRoZS1yZXN0", "id": "half"}).to_string(),
    );
    let (code, v) = connect(&server, json!({"public_url": public}));
    assert_eq!(code, 502, "an unreadable answer is Linq's failure: {v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains("could not be read"),
        "{v}"
    );
    assert_eq!(
        config_secret(dir.path()),
        "whsec_Zm9yZ290LXRoZS1yZXN0",
        "the secret was saved before the rest of the answer was read"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while post_v3_signed(&server, "whsec_Zm9yZ290LXRoZS1yZXN0", "evt-half") != 200 {
        assert!(
            Instant::now() < deadline,
            "the half-answered secret is accepted"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Points the saved public address at `url`, as a tunnel restarting elsewhere would.
fn set_public_url(dir: &Path, url: &str) {
    let path = dir.join("config.toml");
    let mut doc: toml::Table =
        toml::from_str(&std::fs::read_to_string(&path).expect("config.toml")).expect("parses");
    doc["linq"]
        .as_table_mut()
        .expect("[linq]")
        .insert("public_url".into(), toml::Value::String(url.into()));
    let tmp = dir.join("config.toml.edit");
    std::fs::write(&tmp, toml::to_string(&doc).expect("toml")).expect("write");
    std::fs::rename(&tmp, &path).expect("replace config.toml");
}

/// Polls `GET path` until `ready` holds on the answer.
pub(crate) fn wait_for(
    server: &Server,
    path: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = server.api(path);
        if ready(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_broken_path_is_reported_by_stage_and_its_recovery_starts_a_catch_up() {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    write_secret(dir.path());
    let base = fake.base();
    let mut with_watch = env(&base);
    with_watch.push(("LINQ_INBOX_SELF_TEST_SECS", Some("1")));
    let server = Server::start_with(dir.path(), &with_watch);
    let public = format!("http://{}", tunnel(server.webhook));
    let (code, v) = connect(&server, json!({ "public_url": public }));
    assert_eq!(code, 200, "connect: {v}");
    assert_eq!(
        server.api("/api/linq")["path"]["ok"],
        true,
        "connected and reachable"
    );

    let dead = format!("http://127.0.0.1:{}", crate::harness::free_port());
    set_public_url(dir.path(), &dead);
    let broken = wait_for(&server, "/api/linq", "the self-test notices", |v| {
        v["path"]["ok"] == false
    });
    assert_eq!(
        broken["path"]["stage"], "connect",
        "it says where the path breaks: {broken}"
    );
    let before = server.api("/api/status")["sync"]["started_at"].clone();

    set_public_url(dir.path(), &public);
    wait_for(
        &server,
        "/api/linq",
        "the self-test sees the recovery",
        |v| v["path"]["ok"] == true,
    );
    let sync = wait_for(&server, "/api/status", "a catch-up pass starts", |v| {
        v["sync"]["trigger"] == "listener" && v["sync"]["started_at"] != before
    });
    assert_eq!(
        sync["sync"]["trigger"], "listener",
        "started by the recovery"
    );
}
