//! Crash safety under load: the server is killed with SIGKILL again and again while signed
//! deliveries stream in from several senders. After every kill, with the server down:
//! every delivery that got a 200 is in the log, `PRAGMA integrity_check` says ok, and the
//! projections equal what `rebuild` derives from the log. Unanswered deliveries are sent again
//! after the restart, as Linq retries; at the end every event is stored exactly once.
//! `make soak` runs it with many more kills and deliveries.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::*;

type Key = (String, String);

/// A small xorshift: kill times differ run to run, and the seed is printed to replay one.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn kill_nine_under_load_loses_nothing() {
    let (rounds, count) = if soak() { (40, 12_000) } else { (4, 1_500) };
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash loop: {rounds} kills over {count} deliveries, seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    let deliveries = Arc::new(demo(count, seed));
    let pending: Arc<Mutex<VecDeque<usize>>> =
        Arc::new(Mutex::new((0..deliveries.len()).collect()));
    let acked: Arc<Mutex<HashSet<Key>>> = Arc::default();
    let started = Instant::now();
    let mut total_acks = 0usize;

    let mut round = 0;
    loop {
        let mut server = Server::start(dir.path());
        let last = round >= rounds;
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..4)
            .map(|_| {
                let (url, pending, acked, deliveries, stop) = (
                    server.webhook_url(),
                    pending.clone(),
                    acked.clone(),
                    deliveries.clone(),
                    stop.clone(),
                );
                std::thread::spawn(move || {
                    let agent = ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(10))
                        .build();
                    let mut acks = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let Some(i) = pending.lock().unwrap().pop_front() else {
                            if last {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        };
                        let d = &deliveries[i];
                        let answer = agent
                            .post(&url)
                            .set("Content-Type", "application/json")
                            .set("X-Webhook-Signature", &d.signature(SECRET.as_bytes()))
                            .send_string(&d.body);
                        match answer {
                            Ok(r) if r.status() == 200 => {
                                assert!(
                                    !d.tamper,
                                    "a tampered delivery was acknowledged: {}",
                                    d.event_id
                                );
                                acked
                                    .lock()
                                    .unwrap()
                                    .insert((d.event_id.clone(), d.event_type.clone()));
                                acks += 1;
                            }
                            Err(ureq::Error::Status(401, _)) if d.tamper => {}
                            // No answer (the server died) or 503: Linq would retry it.
                            _ => pending.lock().unwrap().push_back(i),
                        }
                    }
                    acks
                })
            })
            .collect();
        if !last {
            std::thread::sleep(Duration::from_millis(150 + next(&mut seed) % 500));
            server.kill();
            stop.store(true, Ordering::Relaxed);
            println!(
                "crash loop: kill {} with {} acknowledged, {} still to send",
                round + 1,
                acked.lock().unwrap().len(),
                pending.lock().unwrap().len()
            );
        }
        for s in senders {
            total_acks += s.join().expect("sender thread");
        }
        server.kill();

        let logged = logged_keys(dir.path());
        let acked_now = acked.lock().unwrap().clone();
        let lost: Vec<&Key> = acked_now.difference(&logged).collect();
        assert!(
            lost.is_empty(),
            "round {round}: {} acknowledged deliveries are missing after kill -9: {lost:?}",
            lost.len()
        );
        assert_eq!(
            integrity(dir.path()),
            "ok",
            "round {round}: integrity_check after kill -9"
        );
        // What the app does at its next start: the projector folds in whatever was committed to
        // the log but not yet projected when it was killed, from its stored cursor.
        server.restart();
        server.wait_projected();
        server.kill();
        let incremental = projections(dir.path());
        let (ok, out, err) = cli(&["rebuild"], dir.path(), None);
        assert!(ok, "rebuild after round {round}: {out} {err}");
        let rebuilt = projections(dir.path());
        if incremental != rebuilt {
            let only_inc: Vec<_> = incremental
                .iter()
                .filter(|r| !rebuilt.contains(r))
                .take(5)
                .collect();
            let only_reb: Vec<_> = rebuilt
                .iter()
                .filter(|r| !incremental.contains(r))
                .take(5)
                .collect();
            panic!("round {round}: projections differ from a rebuild;\nincremental only: {only_inc:#?}\nrebuild only: {only_reb:#?}");
        }
        // The last round sends until nothing is pending (a sender may have put one back).
        if last && pending.lock().unwrap().is_empty() {
            break;
        }
        round += 1;
        assert!(
            round < rounds + 10,
            "deliveries still pending after the last round"
        );
    }

    let expected: HashSet<Key> = deliveries
        .iter()
        .filter(|d| !d.tamper)
        .map(|d| (d.event_id.clone(), d.event_type.clone()))
        .collect();
    let logged = logged_keys(dir.path());
    assert_eq!(
        logged, expected,
        "after the retries every delivery is stored, and nothing else"
    );
    let conn = rusqlite::Connection::open(db_path(dir.path())).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows as usize,
        expected.len(),
        "each event is stored exactly once"
    );
    println!(
        "crash loop: {rounds} kills, {total_acks} acknowledgements, {} events, {:.1} s",
        expected.len(),
        started.elapsed().as_secs_f64()
    );
}
