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
mod generate;
mod report;
mod rng;
mod send;
mod story;
mod v3;

use std::time::Instant;

use chrono::Utc;

pub use generate::{generate, generate_load, Delivery, Scenario, DEFAULT_COUNT};
pub use report::{Latency, Report, RunInfo};
pub use send::{display_url, parse_url, send_all, ApiVersion, Outcome, SendOptions};
pub use v3::{generate_v3, PROMISED_V3_EVENT_TYPES};

use crate::linq::Secret;

/// Where `linq-inbox serve` listens for webhooks by default.
pub const DEFAULT_TO: &str = "http://127.0.0.1:8787/webhooks/linq";

/// Why a simulation could not run. Each message is one sentence that says what to do, and
/// none of them contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("no webhook secret: pass --secret or set LINQ_WEBHOOK_SECRET to the secret `linq-inbox serve` uses")]
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
    /// Webhook URL to post to (http or https, e.g. a tunnel).
    #[arg(long, value_name = "URL", default_value = DEFAULT_TO)]
    pub to: String,
    /// Webhook secret to sign with; with several (comma-separated, for rotation) the first.
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
    fn signing_secret(&self) -> Result<Secret, SimulateError> {
        let text = self.secret.as_deref().unwrap_or_default();
        text.split(',')
            .map(str::trim)
            .find(|s| !s.is_empty())
            .map(Secret::new)
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

/// Runs `linq-inbox simulate`: generates the scenario, sends it, and reports. A report comes
/// back even when some deliveries were refused; see `Report::is_clean` for an exit code.
pub async fn run(args: &SimulateArgs) -> Result<Report, SimulateError> {
    let url = parse_url(&args.to)?;
    let secret = args.signing_secret()?;
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
mod tests;
