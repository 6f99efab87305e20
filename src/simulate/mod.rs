//! `linq-inbox simulate`: realistic, signed Linq webhook traffic for demos, tests and load.
//!
//! Three layers, so tests and benchmarks can take only what they need:
//! 1. `generate` / `generate_load`: pure and deterministic (scenario, count, seed, now in;
//!    vendor-shaped envelopes out). No I/O, no clock reads.
//! 2. `send_all`: posts deliveries over keep-alive HTTP(S), signs each with
//!    `linq::signature::sign` (tampered ones with a wrong key), paces them, bounds
//!    concurrency, honours `Retry-After` on 503.
//! 3. `run`: the CLI command, `SimulateArgs` in, `Report` out.

mod cast;
mod delivery;
mod generate;
mod report;
mod rng;
mod send;
mod story;
mod v3;

use std::time::Instant;

use chrono::Utc;

pub use delivery::Delivery;
pub use generate::{generate, generate_load, Scenario, DEFAULT_COUNT};
pub use report::{Latency, Report, RunInfo};
pub use send::{display_url, parse_url, send_all, ApiVersion, Outcome, SendOptions};
pub use v3::{generate_v3, PROMISED_V3_EVENT_TYPES};

use crate::config::WebhookTarget;
use crate::linq::Secret;

/// Where `linq-inbox serve` listens for webhooks by default.
pub const DEFAULT_TO: &str = "http://127.0.0.1:8787/webhooks/linq";

/// Why a simulation could not run. Each message is one sentence that says what to do, and
/// none of them contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("no webhook secret: start the app once (it makes one in its data folder), or pass --secret or set LINQ_WEBHOOK_SECRET to the secret it uses")]
    MissingSecret,
    #[error("{url:?} is not a webhook URL ({reason}); use e.g. {DEFAULT_TO}")]
    BadUrl { url: String, reason: String },
    #[error("nothing is listening at {url}; is `linq-inbox serve` running?")]
    NothingListening { url: String },
    #[error("could not reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("--count must be at least 1")]
    NothingToSend,
    #[error("could not start the HTTP client: {0}")]
    Client(String),
}

/// Deliveries per second, or as fast as possible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    PerSecond(f64),
    Unlimited,
}

impl Rate {
    fn per_second(self) -> Option<f64> {
        match self {
            Rate::PerSecond(n) => Some(n),
            Rate::Unlimited => None,
        }
    }
}

/// Parses `--rate`: `20`, `20/s`, `0.5/s`, `120/min`, or `0`/`max` for no limit.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let text = text.trim().to_ascii_lowercase();
    if matches!(text.as_str(), "0" | "max" | "unlimited") {
        return Ok(Rate::Unlimited);
    }
    let (number, per) = match text.split_once('/') {
        Some((n, unit)) => (n.trim(), unit.trim()),
        None => (text.as_str(), "s"),
    };
    let seconds = match per {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        _ => return Err(format!("unknown unit {per:?}; use e.g. 20/s or 120/min")),
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(Rate::PerSecond(n / seconds)),
        // `0/s` is as much "no limit" as `0`.
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(Rate::Unlimited),
        _ => Err(format!(
            "{text:?} is not a rate; use e.g. 20 or 20/s (0 for no limit)"
        )),
    }
}

/// `linq-inbox simulate` options.
#[derive(Clone, clap::Args)]
pub struct SimulateArgs {
    /// Webhook URL to post to (http or https, e.g. a tunnel)
    /// [default: the listener and path of the app's settings, e.g. http://127.0.0.1:8787/webhooks/linq].
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Webhook secret to sign with; with several (comma-separated, for rotation) the first
    /// [default: the app's own secret, from --secret-file or its data folder's config.toml].
    #[arg(
        long,
        env = "LINQ_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret: Option<String>,
    /// Deliveries per second: `20`, `20/s`, `120/min`, `0` for no limit
    /// [default: 10/s for demo, no limit for burst and chaos].
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate: Option<Rate>,
    /// How many events to generate (chaos adds redeliveries on top).
    #[arg(long, default_value_t = DEFAULT_COUNT)]
    pub count: usize,
    /// demo: a story with every event type; burst: many messages from one chat;
    /// chaos: demo with duplicates, shuffled order and some bad signatures.
    #[arg(long, value_enum, default_value_t = Scenario::Demo)]
    pub scenario: Scenario,
    /// Seed for reproducible traffic [default: random, printed in the report].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Requests in flight at once [default: 1 for demo, keeping the story in order; 8 otherwise].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Which Linq API to imitate: v2 (`X-Webhook-Signature`), or v3 (its event set, signed
    /// with Standard Webhooks headers and the legacy `X-Webhook-Signature` + timestamp).
    #[arg(long, value_enum, default_value_t = ApiVersion::V2)]
    pub api_version: ApiVersion,
}

impl std::fmt::Debug for SimulateArgs {
    // Written by hand so the secret never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulateArgs")
            .field("to", &self.to)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("rate", &self.rate)
            .field("count", &self.count)
            .field("scenario", &self.scenario)
            .field("seed", &self.seed)
            .field("concurrency", &self.concurrency)
            .field("json", &self.json)
            .field("api_version", &self.api_version)
            .finish()
    }
}

impl SimulateArgs {
    /// `--secret` when given (the first of a rotation), else the app's own first secret.
    fn signing_secret(&self, target: &WebhookTarget) -> Result<Secret, SimulateError> {
        match self.secret.as_deref() {
            Some(text) => text
                .split(',')
                .map(str::trim)
                .find(|s| !s.is_empty())
                .map(Secret::new),
            None => target.secrets.first().cloned(),
        }
        .ok_or(SimulateError::MissingSecret)
    }

    /// Pacing and concurrency: the demo goes at a watchable pace and strictly in order (a
    /// typing indicator must not be removed before it appears); burst and chaos go flat out.
    fn send_options(&self) -> SendOptions {
        let demo = self.scenario == Scenario::Demo;
        let default_rate = if demo {
            Rate::PerSecond(10.0)
        } else {
            Rate::Unlimited
        };
        SendOptions {
            rate: self.rate.unwrap_or(default_rate).per_second(),
            concurrency: self.concurrency.unwrap_or(if demo { 1 } else { 8 }).max(1),
            api_version: self.api_version,
            ..SendOptions::default()
        }
    }
}

/// Runs `linq-inbox simulate`: generates the scenario, sends it, and reports. `target` is the
/// app's own listener and secrets, used where `--to` or `--secret` is not given. A report comes
/// back even when some deliveries were refused; see `Report::is_clean` for an exit code.
pub async fn run(args: &SimulateArgs, target: WebhookTarget) -> Result<Report, SimulateError> {
    let url = parse_url(args.to.as_deref().unwrap_or(&target.url))?;
    let secret = args.signing_secret(&target)?;
    if args.count == 0 {
        return Err(SimulateError::NothingToSend);
    }
    let seed = args.seed.unwrap_or_else(random_seed);
    let deliveries = match args.api_version {
        ApiVersion::V2 => generate(args.scenario, args.count, seed, Utc::now()),
        ApiVersion::V3 => generate_v3(args.scenario, args.count, seed, Utc::now()),
    };
    let started = Instant::now();
    let outcomes = send_all(&url, &secret, &deliveries, &args.send_options()).await?;
    let info = RunInfo {
        scenario: args.scenario,
        seed,
        target: display_url(&url),
        elapsed: started.elapsed(),
    };
    Ok(Report::tally(info, &deliveries, &outcomes))
}

/// A fresh seed per run, so running the demo twice makes new events rather than duplicates.
/// 32 bits: short enough to retype from a report, and exact in JSON for any reader.
fn random_seed() -> u64 {
    u64::from(rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    // The sender and `run` against a small webhook server on a free local port.

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
        if verify(&[Secret::new(SECRET)], signature, &body).is_err() {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let Ok(text) = std::str::from_utf8(&body) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let Ok(envelope) = crate::linq::parse_envelope(text) else {
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

    /// An app with no secret yet, listening where `serve` does by default.
    fn no_target() -> WebhookTarget {
        WebhookTarget {
            url: DEFAULT_TO.into(),
            secrets: Vec::new(),
        }
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
        assert_eq!(report.failed, 0, "every delivery got an answer");

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
        let report = run(&args, no_target()).await.expect("the server is up");
        let expected = generate(Scenario::Chaos, 80, 5, now());
        let tampered = expected.iter().filter(|d| d.tamper).count();
        let redelivered = expected
            .iter()
            .filter(|d| !d.tamper && d.duplicate_of.is_some())
            .count();

        assert_eq!(
            report.deliveries,
            expected.len(),
            "every generated delivery was sent, redeliveries included"
        );
        assert_eq!(report.expected_refusals, tampered, "{report}");
        assert_eq!(
            report.refused,
            [(401, tampered)].into(),
            "only bad signatures are refused: {report}"
        );
        assert_eq!(report.duplicates, redelivered, "{report}");
        assert_eq!(
            report.accepted + report.duplicates + tampered,
            expected.len(),
            "every delivery was accepted, a duplicate, or a refused tampered one"
        );
        assert!(report.is_clean(), "{report}");
        assert!(
            report.latency.max_ms >= report.latency.p50_ms && report.latency.p50_ms > 0.0,
            "latencies were measured and the maximum is at least the median"
        );
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
        let report = run(&args, no_target()).await.expect("the server is up");
        assert_eq!(report.accepted, 6, "every paced delivery was accepted");
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
        let error = run(&args(&["--to", &url(addr), "--count", "3"]), no_target())
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
            ),
            "nothing listening says so and how to start the listener"
        );
    }

    #[tokio::test]
    async fn missing_secret_and_bad_url_are_refused_before_sending() {
        let mut no_secret = args(&["--count", "3"]);
        no_secret.secret = Some(" , ".into());
        assert!(
            matches!(
                run(&no_secret, no_target()).await,
                Err(SimulateError::MissingSecret)
            ),
            "a secret of only separators is refused before anything is sent"
        );
        let bad = args(&["--to", "localhost:8787/webhooks/linq"]);
        let error = run(&bad, no_target()).await.expect_err("no scheme");
        assert!(matches!(error, SimulateError::BadUrl { .. }), "{error:?}");
        assert!(
            !error.to_string().contains(SECRET),
            "errors never show the secret"
        );
    }

    #[test]
    fn rates_parse_in_the_forms_people_type() {
        assert_eq!(
            parse_rate("20"),
            Ok(Rate::PerSecond(20.0)),
            "a bare number is per second"
        );
        assert_eq!(
            parse_rate("20/s"),
            Ok(Rate::PerSecond(20.0)),
            "per second written as /s"
        );
        assert_eq!(
            parse_rate(" 0.5/sec "),
            Ok(Rate::PerSecond(0.5)),
            "spaces and /sec are accepted"
        );
        assert_eq!(
            parse_rate("120/min"),
            Ok(Rate::PerSecond(2.0)),
            "per minute is converted to per second"
        );
        assert_eq!(
            parse_rate("0"),
            Ok(Rate::Unlimited),
            "zero means as fast as possible"
        );
        assert_eq!(
            parse_rate("max"),
            Ok(Rate::Unlimited),
            "max means as fast as possible"
        );
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
            parsed.to, None,
            "without --to the target comes from the app's settings"
        );
        assert_eq!(parsed.rate, Some(Rate::PerSecond(20.0)), "--rate is parsed");
        assert_eq!(
            (parsed.scenario, parsed.count, parsed.seed, parsed.json),
            (Scenario::Burst, 200, Some(7), true),
            "--scenario, --count, --seed and --json are parsed"
        );
        assert!(
            !format!("{parsed:?}").contains(SECRET),
            "Debug redacts the secret"
        );
        let rotated = Cli::try_parse_from(["linq-inbox", "--secret", "new, old"])
            .expect("valid arguments")
            .simulate;
        assert_eq!(
            rotated.signing_secret(&no_target()).expect("a secret"),
            Secret::new("new"),
            "the first of a rotation signs"
        );
        let own = WebhookTarget {
            url: DEFAULT_TO.into(),
            secrets: vec![Secret::new("the-app's"), Secret::new("retiring")],
        };
        let bare = Cli::try_parse_from(["linq-inbox"])
            .expect("valid arguments")
            .simulate;
        if bare.secret.is_none() {
            // (LINQ_WEBHOOK_SECRET in the test's environment would stand in for --secret.)
            assert_eq!(
                bare.signing_secret(&own).expect("the app's secret"),
                Secret::new("the-app's"),
                "without --secret the app's own first secret signs"
            );
        }
    }
}
