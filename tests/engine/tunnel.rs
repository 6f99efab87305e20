//! "Start a tunnel for me" (issue 21): the real binary runs a stand-in tunnel program from
//! `tests/fixtures/tunnel/` (`cloudflared`, `ngrok`: each prints its address the way the real
//! one does and forwards through a local proxy), points the v3 subscription at it, follows a
//! new address after the program is killed, keeps the lines the rep chose, checks the path
//! again, and stops the program when the app quits.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::Server;
use crate::linq_connect_v3::{env, fake_with_lines, wait_for, write_secret, LINES};
use crate::linq_fake::FakeLinq;
use crate::linq_fake_v3::V3_PATH;

/// The pids the stand-in tunnel wrote, one per run.
fn standin_pids(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn signal(pid: u32, name: &str) -> bool {
    std::process::Command::new("kill")
        .args([name, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// Ends the app with `signal` and waits up to 5 s for the tunnel `pid` to end with it.
fn app_ends_with_tunnel(server: &mut Server, signal_name: &str, pid: u32) -> bool {
    if !signal(server.child.id(), signal_name) {
        return false;
    }
    let _ = server.child.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

/// Whether `GET /api/linq`'s last path check went through the tunnel's address (one `which`
/// accepts) and passed: the app checks only after pointing the subscription there, while the
/// address alone shows as soon as the program prints it.
fn checked_through(linq: &Value, which: impl Fn(&str) -> bool) -> bool {
    let address = linq["tunnel"]["address"].as_str().filter(|a| which(a));
    address.is_some_and(|a| {
        linq["path"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(a))
    }) && linq["path"]["ok"] == true
}

/// The app with both stand-ins first on its `PATH`.
fn start_with_standins(dir: &Path, fake: &FakeLinq) -> Server {
    write_secret(dir);
    let stand_in = crate::harness::fixtures().join("tunnel");
    let path = format!(
        "{}:{}",
        stand_in.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pids = dir.join("standin.pids").display().to_string();
    let base = fake.base();
    let mut vars = env(&base);
    vars.push(("PATH", Some(&path)));
    vars.push(("STANDIN_PIDS", Some(&pids)));
    Server::start_with(dir, &vars)
}

/// Starts `program` through the UI API with one chosen line, kills it with SIGKILL, follows it
/// to its next address, then quits the app; asserts every step on the fake Linq and the app.
fn runs_follows_and_stops(program: &str, request: Value) {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with_standins(dir.path(), &fake);
    let pids = dir.path().join("standin.pids");

    let before = server.api("/api/linq");
    assert_eq!(
        before["tunnel"]["available"],
        json!(["cloudflared", "ngrok"]),
        "both found on PATH: {before}"
    );
    let (code, v) = server.send_api("POST", "/api/linq/tunnel", Some(&request.to_string()));
    assert_eq!(code, 202, "started: {v}");
    let first = wait_for(&server, "/api/linq", "connected through the tunnel", |v| {
        checked_through(v, |_| true)
    });
    assert_eq!(
        first["tunnel"]["installed"], program,
        "Setup says which program runs: {first}"
    );
    let address = first["tunnel"]["address"].as_str().unwrap().to_string();
    let target = |a: &str| format!("{a}/webhooks/linq?version=2026-02-03");
    let subs = fake.v3.list();
    assert_eq!(subs[0]["target_url"], target(&address), "pointed at it");
    assert_eq!(
        subs[0]["phone_numbers"],
        json!([LINES[1]]),
        "the line the rep chose"
    );
    let first_check = first["path"]["event_id"].clone();

    let pid = *standin_pids(&pids).last().expect("the stand-in ran");
    assert!(signal(pid, "-9"), "killed the tunnel");
    // Done when the path was checked through the new address: the app checks it only after
    // pointing the subscription there (the address alone shows as soon as it is printed).
    let second = wait_for(&server, "/api/linq", "a new tunnel, a new address", |v| {
        checked_through(v, |a| a != address)
    });
    let moved = second["tunnel"]["address"].as_str().unwrap().to_string();
    assert!(
        second["tunnel"]["restarts"].as_u64() >= Some(1),
        "restarted: {second}"
    );
    let subs = fake.v3.list();
    assert_eq!(subs.len(), 1, "the subscription was updated, not doubled");
    assert_eq!(
        subs[0]["target_url"],
        target(&moved),
        "and points at the new address"
    );
    let put = fake
        .seen()
        .into_iter()
        .rfind(|s| s.method == "PUT")
        .expect("the restart updated the subscription");
    assert_eq!(
        (
            put.path.clone(),
            put.body.clone().map(|b| b["phone_numbers"].clone())
        ),
        (
            format!("{V3_PATH}/{}", subs[0]["id"].as_str().unwrap_or_default()),
            Some(json!([LINES[1]]))
        ),
        "the restart keeps the lines the rep chose"
    );
    assert_eq!(
        subs[0]["phone_numbers"],
        json!([LINES[1]]),
        "Linq still delivers only the chosen line"
    );
    assert_ne!(
        second["path"]["event_id"], first_check,
        "the restart ran a self-test of its own: {second}"
    );
    assert_eq!(
        second["path"]["url"]
            .as_str()
            .map(|u| u.starts_with(&moved)),
        Some(true),
        "deliveries flow through the new address: {second}"
    );

    let last = *standin_pids(&pids).last().expect("the second run");
    assert!(alive(last), "the second tunnel runs");
    assert!(
        app_ends_with_tunnel(&mut server, "-TERM", last),
        "the tunnel stops with the app"
    );
    server.kill();
}

#[cfg(unix)]
#[test]
fn the_app_runs_cloudflared_follows_its_new_address_keeps_the_lines_and_stops_it_on_quit() {
    runs_follows_and_stops("cloudflared", json!({ "phone_numbers": [LINES[1]] }));
}

#[cfg(unix)]
#[test]
fn the_app_runs_ngrok_when_the_rep_picks_it_follows_it_and_stops_it_on_quit() {
    runs_follows_and_stops(
        "ngrok",
        json!({ "program": "ngrok", "phone_numbers": [LINES[1]] }),
    );
}

/// An app killed outright (`kill -9`, a crash) never runs its shutdown: the tunnel it started
/// must end with it all the same, or it keeps running and the next start adds a second one.
#[cfg(target_os = "linux")]
#[test]
fn a_tunnel_ends_when_the_app_is_killed() {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with_standins(dir.path(), &fake);
    let pids = dir.path().join("standin.pids");
    let request = json!({ "phone_numbers": [LINES[1]] });
    let (code, v) = server.send_api("POST", "/api/linq/tunnel", Some(&request.to_string()));
    assert_eq!(code, 202, "started: {v}");
    wait_for(&server, "/api/linq", "the tunnel's address", |v| {
        v["tunnel"]["address"].is_string()
    });
    let pid = *standin_pids(&pids).last().expect("the stand-in ran");
    assert!(alive(pid), "the tunnel runs");

    assert!(
        app_ends_with_tunnel(&mut server, "-KILL", pid),
        "the tunnel {pid} still runs 5 s after its app was killed"
    );
    server.kill();
}

#[test]
fn without_a_tunnel_program_setup_shows_how_to_install_each_and_start_is_refused() {
    let fake = FakeLinq::start();
    let dir = tempfile::tempdir().unwrap();
    write_secret(dir.path());
    let base = fake.base();
    let mut vars = env(&base);
    let empty = dir.path().join("no-programs");
    std::fs::create_dir(&empty).expect("mkdir");
    let path = empty.display().to_string();
    vars.push(("PATH", Some(&path)));
    let server = Server::start_with(dir.path(), &vars);

    let tunnel = &server.api("/api/linq")["tunnel"];
    assert_eq!(tunnel["installed"], Value::Null, "none installed: {tunnel}");
    let programs: Vec<&str> = tunnel["install"]
        .as_array()
        .expect("install lines")
        .iter()
        .filter_map(|l| l[0].as_str())
        .collect();
    assert_eq!(
        programs,
        [
            "cloudflared",
            "cloudflared",
            "cloudflared",
            "ngrok",
            "ngrok",
            "ngrok"
        ],
        "a line per system for each program: {tunnel}"
    );
    let (code, v) = server.send_api("POST", "/api/linq/tunnel", Some("{}"));
    assert_eq!(code, 409, "nothing to run: {v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("install cloudflared or ngrok")),
        "one sentence saying what to do: {v}"
    );
}

#[cfg(unix)]
#[test]
fn a_new_address_linq_does_not_take_at_first_is_pointed_again_and_the_banner_clears() {
    let fake = fake_with_lines();
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_standins(dir.path(), &fake);
    let pids = dir.path().join("standin.pids");
    let (code, v) = server.send_api("POST", "/api/linq/tunnel", Some("{}"));
    assert_eq!(code, 202, "started: {v}");
    let first = wait_for(&server, "/api/linq", "connected through the tunnel", |v| {
        checked_through(v, |_| true)
    });
    let address = first["tunnel"]["address"].as_str().unwrap().to_string();
    // The pass at start has run, so the failure below is the one Linq gives the tunnel's update.
    wait_for(&server, "/api/status", "the pass at start ends", |v| {
        v["sync"]["finished_at"].is_string()
    });

    let (status, _, body) = crate::linq_fake_v3::v3_error(500, 3006, "internal");
    fake.script(status, &[], &body);
    let pid = *standin_pids(&pids).last().expect("the stand-in ran");
    assert!(signal(pid, "-9"), "killed the tunnel");
    let broken = wait_for(&server, "/api/linq", "the failed update is said", |v| {
        v["path"]["ok"] == false
    });
    assert_eq!(
        broken["path"]["stage"], "connect",
        "the subscription still points at the dead address: {broken}"
    );
    let second = wait_for(&server, "/api/linq", "pointed again", |v| {
        checked_through(v, |a| a != address)
    });
    let moved = second["tunnel"]["address"].as_str().unwrap_or_default();
    assert_eq!(
        fake.v3.list()[0]["target_url"],
        format!("{moved}/webhooks/linq?version=2026-02-03"),
        "the next try pointed the subscription at the new address"
    );
}
