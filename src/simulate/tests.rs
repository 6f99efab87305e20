//! The sender and `run` against a small webhook server on a free local port.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::{TimeZone, Utc};
use clap::Parser;

use super::*;
use crate::linq::signature::verify;

const SECRET: &str = "whsec_test_7f3a";

/// A stand-in for the webhook listener: verifies like the engine, and can be told to be busy.
#[derive(Default)]
struct Hook {
    /// Answered 503 with `Retry-After: 1` the first time, then 200.
    flaky: String,
    /// Always answered 503 with `Retry-After: 0`.
    busy: String,
    /// Arrival times of every verified request, by event id.
    seen: Mutex<HashMap<String, Vec<Instant>>>,
}

async fn receive(State(hook): State<Arc<Hook>>, headers: HeaderMap, body: Bytes) -> Response {
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/json")
    {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let signature = headers
        .get("x-webhook-signature")
        .and_then(|v| v.to_str().ok());
    if verify(&[Secret::new(SECRET)], signature, &body, None).is_err() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(envelope) = crate::linq::parse_envelope(&value) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let attempts = {
        let mut seen = hook.seen.lock().unwrap_or_else(|e| e.into_inner());
        let times = seen.entry(envelope.event_id.clone()).or_default();
        times.push(Instant::now());
        times.len()
    };
    let busy = |secs: &'static str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, secs)],
        )
            .into_response()
    };
    if envelope.event_id == hook.busy {
        return busy("0");
    }
    if envelope.event_id == hook.flaky && attempts == 1 {
        return busy("1");
    }
    StatusCode::OK.into_response()
}

async fn serve(hook: Arc<Hook>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free local port");
    let addr = listener.local_addr().expect("a bound address");
    let app = Router::new()
        .route("/webhooks/linq", post(receive))
        .with_state(hook);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/webhooks/linq")
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, 0)
        .single()
        .expect("a valid instant")
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    simulate: SimulateArgs,
}

fn args(extra: &[&str]) -> SimulateArgs {
    let argv = ["linq-inbox", "--secret", SECRET]
        .iter()
        .chain(extra)
        .copied();
    Cli::try_parse_from(argv).expect("valid arguments").simulate
}

#[tokio::test]
async fn the_sender_counts_200_401_503_and_honours_retry_after() {
    let mut deliveries = generate(Scenario::Demo, 8, 11, now());
    deliveries[1].tamper = true;
    let hook = Arc::new(Hook {
        flaky: deliveries[2].event_id.clone(),
        busy: deliveries[3].event_id.clone(),
        ..Hook::default()
    });
    let addr = serve(hook.clone()).await;
    let options = SendOptions {
        concurrency: 4,
        max_retries: 2,
        ..SendOptions::default()
    };
    let target = parse_url(&url(addr)).expect("a local URL");
    let outcomes = send_all(&target, &Secret::new(SECRET), &deliveries, &options)
        .await
        .expect("the server is up");
    let info = RunInfo {
        scenario: Scenario::Demo,
        seed: 11,
        target: url(addr),
        elapsed: Duration::ZERO,
    };
    let report = Report::tally(info, &deliveries, &outcomes);

    assert_eq!(
        report.accepted, 6,
        "every good delivery but the always-busy one: {report}"
    );
    assert_eq!(report.refused, [(401, 1), (503, 1)].into(), "{report}");
    assert_eq!(
        report.expected_refusals, 1,
        "the tampered delivery was meant to be refused"
    );
    assert_eq!(report.unexpected_refusals, 1, "the busy one was not");
    assert_eq!(
        report.retries,
        1 + 2,
        "one retry for the flaky event, the maximum for the busy one"
    );
    assert_eq!(report.failed, 0);

    let seen = hook.seen.lock().unwrap_or_else(|e| e.into_inner());
    let flaky = &seen[&deliveries[2].event_id];
    assert_eq!(
        flaky.len(),
        2,
        "the flaky event was retried once, then accepted"
    );
    let waited = flaky[1] - flaky[0];
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 was honoured (waited {waited:?})"
    );
    assert_eq!(
        seen[&deliveries[3].event_id].len(),
        3,
        "the busy event was tried 1 + max_retries times"
    );
    assert!(
        !seen.contains_key(&deliveries[1].event_id),
        "a tampered delivery never verifies"
    );
}

#[tokio::test]
async fn a_chaos_run_refuses_exactly_the_tampered_deliveries() {
    let addr = serve(Arc::new(Hook::default())).await;
    let args = args(&[
        "--to",
        &url(addr),
        "--scenario",
        "chaos",
        "--count",
        "80",
        "--seed",
        "5",
    ]);
    let report = run(&args).await.expect("the server is up");
    let expected = generate(Scenario::Chaos, 80, 5, now());
    let tampered = expected.iter().filter(|d| d.tamper).count();
    let redelivered = expected
        .iter()
        .filter(|d| !d.tamper && d.duplicate_of.is_some())
        .count();

    assert_eq!(report.deliveries, expected.len());
    assert_eq!(report.expected_refusals, tampered, "{report}");
    assert_eq!(
        report.refused,
        [(401, tampered)].into(),
        "only bad signatures are refused: {report}"
    );
    assert_eq!(report.duplicates, redelivered, "{report}");
    assert_eq!(
        report.accepted + report.duplicates + tampered,
        expected.len()
    );
    assert!(report.is_clean(), "{report}");
    assert!(report.latency.max_ms >= report.latency.p50_ms && report.latency.p50_ms > 0.0);
    let table = report.to_string();
    assert!(
        table.contains("expected (tampered), 0 unexpected"),
        "{table}"
    );
}

#[tokio::test]
async fn the_rate_paces_the_run() {
    let addr = serve(Arc::new(Hook::default())).await;
    let args = args(&[
        "--to",
        &url(addr),
        "--count",
        "6",
        "--rate",
        "20/s",
        "--seed",
        "1",
    ]);
    let report = run(&args).await.expect("the server is up");
    assert_eq!(report.accepted, 6);
    assert!(
        report.elapsed_ms >= 240.0,
        "6 deliveries at 20/s take 5 intervals of 50 ms: {report}"
    );
}

#[tokio::test]
async fn nothing_listening_is_one_clear_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a bound address");
    drop(listener);
    let error = run(&args(&["--to", &url(addr), "--count", "3"]))
        .await
        .expect_err("nobody is there");
    assert!(
        matches!(error, SimulateError::NothingListening { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "nothing is listening at {}; is `linq-inbox serve` running?",
            url(addr)
        )
    );
}

#[tokio::test]
async fn missing_secret_and_bad_url_are_refused_before_sending() {
    let mut no_secret = args(&["--count", "3"]);
    no_secret.secret = Some(" , ".into());
    assert!(matches!(
        run(&no_secret).await,
        Err(SimulateError::MissingSecret)
    ));
    let bad = args(&["--to", "localhost:8787/webhooks/linq"]);
    let error = run(&bad).await.expect_err("no scheme");
    assert!(matches!(error, SimulateError::BadUrl { .. }), "{error:?}");
    assert!(
        !error.to_string().contains(SECRET),
        "errors never show the secret"
    );
}

#[test]
fn rates_parse_in_the_forms_people_type() {
    assert_eq!(parse_rate("20"), Ok(Rate::PerSecond(20.0)));
    assert_eq!(parse_rate("20/s"), Ok(Rate::PerSecond(20.0)));
    assert_eq!(parse_rate(" 0.5/sec "), Ok(Rate::PerSecond(0.5)));
    assert_eq!(parse_rate("120/min"), Ok(Rate::PerSecond(2.0)));
    assert_eq!(parse_rate("0"), Ok(Rate::Unlimited));
    assert_eq!(parse_rate("max"), Ok(Rate::Unlimited));
    for bad in ["fast", "-3", "20/h", "", "NaN"] {
        assert!(parse_rate(bad).is_err(), "{bad:?} is not a rate");
    }
}

#[test]
fn the_cli_flags_parse_and_the_secret_stays_hidden() {
    let parsed = args(&[
        "--rate",
        "20/s",
        "--scenario",
        "burst",
        "--count",
        "200",
        "--json",
        "--seed",
        "7",
    ]);
    assert_eq!(
        parsed.to, DEFAULT_TO,
        "the default target is the local listener"
    );
    assert_eq!(parsed.rate, Some(Rate::PerSecond(20.0)));
    assert_eq!(
        (parsed.scenario, parsed.count, parsed.seed, parsed.json),
        (Scenario::Burst, 200, Some(7), true)
    );
    assert!(
        !format!("{parsed:?}").contains(SECRET),
        "Debug redacts the secret"
    );
    let rotated = Cli::try_parse_from(["linq-inbox", "--secret", "new, old"])
        .expect("valid arguments")
        .simulate;
    assert_eq!(
        rotated.signing_secret().expect("a secret"),
        Secret::new("new"),
        "the first of a rotation signs"
    );
}
