//! v3 secret rotation (issue 21): Linq has no rotate call for v3, so the app creates a second
//! subscription (a new signing secret, kept at once) and deletes the first. Linq then signs
//! with the new secret; deliveries still signed with the old one (retries queued before the
//! switch) are accepted for the grace period and refused after it.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::Server;
use crate::linq_connect_v3::{
    config_secret, connect, env, events, fake_with_lines, post_v3_signed, write_secret,
};
use crate::linq_fake::{tunnel, TOKEN};
use crate::linq_fake_v3::V3_PATH;

/// The grace period the app runs with here, in seconds.
const GRACE_SECS: u64 = 3;

#[test]
fn v3_rotation_sends_the_exact_requests_and_accepts_the_old_secret_only_for_the_grace_period() {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    write_secret(dir.path());
    let base = fake.base();
    let grace = GRACE_SECS.to_string();
    let mut vars = env(&base);
    vars.push(("LINQ_INBOX_SECRET_GRACE_SECS", Some(&grace)));
    let server = Server::start_with(dir.path(), &vars);
    let public = format!("http://{}", tunnel(server.webhook));
    let (code, v) = connect(
        &server,
        json!({"public_url": public, "phone_numbers": ["+15550100002"]}),
    );
    assert_eq!(code, 200, "connect: {v}");
    let old_id = v["subscription"]["id"].as_str().expect("id").to_string();
    let old = config_secret(dir.path());
    let before = fake.seen().len();

    let (code, v) = server.send_api("POST", "/api/linq/rotate", Some("{}"));
    let rotated_at = Instant::now();
    assert_eq!(code, 200, "rotate: {v}");
    let new_id = v["rotated"]["subscription_id"]
        .as_str()
        .expect("new id")
        .to_string();
    assert_ne!(new_id, old_id, "v3 rotates through a second subscription");
    let new = fake.v3.secret_of(&new_id).expect("Linq issued a secret");
    assert_eq!(
        config_secret(dir.path()),
        new,
        "the app keeps the new secret"
    );
    assert!(
        !v.to_string().contains("whsec_"),
        "no secret in the answer: {v}"
    );

    let seen: Vec<_> = fake.seen().into_iter().skip(before).collect();
    let calls: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        calls,
        [
            format!("GET {V3_PATH}"),
            format!("POST {V3_PATH}"),
            format!("DELETE {V3_PATH}/{old_id}"),
        ],
        "list (for the lines), create the new one, then delete the old one"
    );
    for s in &seen {
        assert_eq!(
            s.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "v3 auth on {} {}",
            s.method,
            s.path
        );
    }
    let body = seen[1].body.clone().expect("a create body");
    let target = body["target_url"].as_str().unwrap_or_default().to_string();
    assert!(
        target.starts_with(&format!(
            "{public}/webhooks/linq?version=2026-02-03&rotated="
        )),
        "the new subscription reaches the same listener at a distinct address: {target}"
    );
    assert_eq!(
        body,
        json!({"target_url": target, "subscribed_events": events(),
               "phone_numbers": ["+15550100002"]}),
        "the exact create body, keeping the lines the rep chose"
    );
    let subs = fake.v3.list();
    assert_eq!(
        subs.len(),
        1,
        "one subscription after the rotation: {subs:?}"
    );
    assert_eq!(subs[0]["id"], new_id.as_str(), "the new one");

    assert_eq!(
        post_v3_signed(&server, &new, "evt-new-during-grace"),
        200,
        "the new secret is accepted at once"
    );
    assert_eq!(
        post_v3_signed(&server, &old, "evt-old-during-grace"),
        200,
        "a retry signed with the old secret is accepted during the grace period"
    );

    // Past the grace period (plus the keeper's half-second tick) only the new one is.
    std::thread::sleep(Duration::from_secs(GRACE_SECS).saturating_sub(rotated_at.elapsed()));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut n = 0;
    while post_v3_signed(&server, &old, &format!("evt-old-after-grace-{n}")) != 401 {
        assert!(
            Instant::now() < deadline,
            "the old secret is refused after the grace period"
        );
        n += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        post_v3_signed(&server, &new, "evt-new-after-grace"),
        200,
        "the new secret keeps working"
    );
    assert_eq!(
        server.api("/api/linq")["retiring"],
        json!([]),
        "no secret is shown as retiring after the grace period"
    );
}

#[test]
fn two_v3_rotations_in_a_row_both_succeed() {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    let server = crate::linq_connect_v3::start(dir.path(), &fake);
    let public = format!("http://{}", tunnel(server.webhook));
    let (code, v) = connect(&server, json!({ "public_url": public }));
    assert_eq!(code, 200, "connect: {v}");
    for n in 1..=2 {
        let (code, v) = server.send_api("POST", "/api/linq/rotate", Some("{}"));
        assert_eq!(code, 200, "rotation {n} within the same second: {v}");
    }
    let subs = fake.v3.list();
    assert_eq!(subs.len(), 1, "one subscription after both: {subs:?}");
    let id = subs[0]["id"].as_str().unwrap_or_default();
    assert_eq!(
        fake.v3.secret_of(id),
        Some(config_secret(dir.path())),
        "the app keeps the last secret Linq issued"
    );
}
