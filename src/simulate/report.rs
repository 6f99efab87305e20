//! The tally of a run: what was accepted, redelivered, refused (and whether each refusal was
//! the one chaos asked for), what never got an answer, and how fast the server answered.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::delivery::Delivery;
use super::generate::Scenario;
use super::send::Outcome;

/// The result of `simulate`. `--json` prints it as JSON; `Display` prints a short table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub scenario: Scenario,
    pub seed: u64,
    /// Where the deliveries went, without credentials.
    pub target: String,
    pub deliveries: usize,
    /// 2xx answers to first deliveries of an event.
    pub accepted: usize,
    /// 2xx answers to redeliveries (chaos).
    pub duplicates: usize,
    /// Non-2xx answers by status code.
    pub refused: BTreeMap<u16, usize>,
    /// Deliveries that never got an answer.
    pub failed: usize,
    /// 503s retried after `Retry-After`.
    pub retries: u32,
    /// Tampered deliveries answered 401: the engine did its job.
    pub expected_refusals: usize,
    /// Every other non-2xx answer.
    pub unexpected_refusals: usize,
    /// Tampered deliveries answered 2xx: the engine accepted a bad signature.
    pub tampered_accepted: usize,
    /// The first failure's reason, to show the user something concrete.
    pub first_failure: Option<String>,
    pub elapsed_ms: f64,
    pub latency: Latency,
}

/// Round-trip times of the answered requests, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What the run was, for the report's heading.
pub struct RunInfo {
    pub scenario: Scenario,
    pub seed: u64,
    pub target: String,
    pub elapsed: Duration,
}

impl Report {
    /// Tallies outcomes against what each delivery was meant to provoke.
    pub fn tally(info: RunInfo, deliveries: &[Delivery], outcomes: &[Outcome]) -> Report {
        let mut report = Report {
            scenario: info.scenario,
            seed: info.seed,
            target: info.target,
            deliveries: deliveries.len(),
            accepted: 0,
            duplicates: 0,
            refused: BTreeMap::new(),
            failed: 0,
            retries: 0,
            expected_refusals: 0,
            unexpected_refusals: 0,
            tampered_accepted: 0,
            first_failure: None,
            elapsed_ms: millis(info.elapsed),
            latency: Latency::default(),
        };
        let mut latencies = Vec::with_capacity(outcomes.len());
        for (delivery, outcome) in deliveries.iter().zip(outcomes) {
            match outcome {
                Outcome::Answered {
                    status,
                    latency,
                    retries,
                } => {
                    report.retries += retries;
                    latencies.push(*latency);
                    report.count_answer(delivery, *status);
                }
                Outcome::Failed { reason, retries } => {
                    report.retries += retries;
                    report.failed += 1;
                    report.first_failure.get_or_insert_with(|| reason.clone());
                }
            }
        }
        report.latency = Latency::of(&mut latencies);
        report
    }

    fn count_answer(&mut self, delivery: &Delivery, status: u16) {
        let ok = (200..300).contains(&status);
        match (ok, delivery.tamper) {
            (true, true) => self.tampered_accepted += 1,
            (true, false) if delivery.duplicate_of.is_some() => self.duplicates += 1,
            (true, false) => self.accepted += 1,
            (false, true) if status == 401 => self.expected_refusals += 1,
            (false, _) => self.unexpected_refusals += 1,
        }
        if !ok {
            *self.refused.entry(status).or_default() += 1;
        }
    }

    /// Every delivery got the answer it should: good ones 2xx, tampered ones 401.
    pub fn is_clean(&self) -> bool {
        self.failed == 0 && self.unexpected_refusals == 0 && self.tampered_accepted == 0
    }

    pub fn refused_total(&self) -> usize {
        self.refused.values().sum()
    }
}

impl Latency {
    /// Nearest-rank percentiles; all zero when nothing was answered.
    fn of(samples: &mut [Duration]) -> Latency {
        samples.sort_unstable();
        let rank = |p: f64| -> f64 {
            if samples.is_empty() {
                return 0.0;
            }
            let i = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            millis(samples[i.clamp(1, samples.len()) - 1])
        };
        Latency {
            p50_ms: rank(50.0),
            p95_ms: rank(95.0),
            p99_ms: rank(99.0),
            max_ms: rank(100.0),
        }
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulate {}: {} deliveries to {} in {:.1} s (seed {})",
            self.scenario,
            self.deliveries,
            self.target,
            self.elapsed_ms / 1000.0,
            self.seed
        )?;
        writeln!(f, "  accepted    {:>6}", self.accepted)?;
        writeln!(f, "  duplicates  {:>6}", self.duplicates)?;
        writeln!(
            f,
            "  refused     {:>6}{}",
            self.refused_total(),
            self.refusal_detail()
        )?;
        writeln!(f, "  failed      {:>6}", self.failed)?;
        if self.retries > 0 {
            writeln!(
                f,
                "  retries     {:>6}  (503, after Retry-After)",
                self.retries
            )?;
        }
        if self.tampered_accepted > 0 {
            writeln!(
                f,
                "  WARNING     {:>6}  bad signatures were accepted",
                self.tampered_accepted
            )?;
        }
        if self.refused.get(&401).copied().unwrap_or(0) > self.expected_refusals {
            writeln!(
                f,
                "  hint: 401 on good deliveries means --secret differs from the server's secret"
            )?;
        }
        if let Some(reason) = &self.first_failure {
            writeln!(f, "  first failure: {reason}")?;
        }
        let l = &self.latency;
        write!(
            f,
            "  latency     p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
        )
    }
}

impl Report {
    /// "  (401 ×3; 3 expected: tampered, 0 unexpected)"
    fn refusal_detail(&self) -> String {
        if self.refused.is_empty() && self.expected_refusals == 0 {
            return String::new();
        }
        let by_status: Vec<String> = self
            .refused
            .iter()
            .map(|(s, n)| format!("{s} ×{n}"))
            .collect();
        format!(
            "  ({}; {} expected (tampered), {} unexpected)",
            by_status.join(", "),
            self.expected_refusals,
            self.unexpected_refusals
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(tamper: bool, duplicate_of: Option<usize>) -> Delivery {
        Delivery {
            body: "{}".into(),
            event_type: "message.received".into(),
            event_id: "e".into(),
            tamper,
            duplicate_of,
        }
    }

    fn answered(status: u16, ms: u64) -> Outcome {
        Outcome::Answered {
            status,
            latency: Duration::from_millis(ms),
            retries: 0,
        }
    }

    fn info() -> RunInfo {
        RunInfo {
            scenario: Scenario::Chaos,
            seed: 1,
            target: "http://x/".into(),
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn answers_are_sorted_into_what_they_mean() {
        let deliveries = [
            delivery(false, None),
            delivery(false, Some(0)),
            delivery(true, None),
            delivery(false, None),
            delivery(true, None),
            delivery(false, None),
        ];
        let outcomes = [
            answered(200, 1),
            answered(200, 2),
            answered(401, 3),
            answered(503, 4),
            answered(200, 5),
            Outcome::Failed {
                reason: "connection reset".into(),
                retries: 2,
            },
        ];
        let r = Report::tally(info(), &deliveries, &outcomes);
        assert_eq!(
            (r.accepted, r.duplicates, r.failed),
            (1, 1, 1),
            "the 200s, the duplicate and the failure are each counted once"
        );
        assert_eq!(
            r.refused,
            BTreeMap::from([(401, 1), (503, 1)]),
            "refusals are counted by status"
        );
        assert_eq!(
            r.expected_refusals, 1,
            "the tampered delivery's 401 was asked for"
        );
        assert_eq!(r.unexpected_refusals, 1, "the 503 was not");
        assert_eq!(r.tampered_accepted, 1, "a bad signature got through");
        assert_eq!(r.retries, 2, "retries are summed over the deliveries");
        assert!(
            !r.is_clean(),
            "a run with unexpected refusals or failures is not clean"
        );
        assert_eq!(
            r.latency.max_ms, 5.0,
            "the slowest answer is the maximum latency"
        );
        assert_eq!(r.latency.p50_ms, 3.0, "nearest rank of 5 samples");
        let table = r.to_string();
        assert!(
            !table.contains("hint"),
            "the only 401 was a tampered delivery: {table}"
        );
        assert!(
            table.contains("401 ×1, 503 ×1; 1 expected (tampered), 1 unexpected"),
            "{table}"
        );
        assert!(table.contains("connection reset"), "{table}");
    }

    #[test]
    fn a_wrong_secret_gets_a_hint() {
        let r = Report::tally(info(), &[delivery(false, None)], &[answered(401, 1)]);
        assert_eq!(
            r.unexpected_refusals, 1,
            "a 401 on an honest delivery is unexpected"
        );
        assert!(r.to_string().contains("--secret differs"), "{r}");
    }

    #[test]
    fn no_answers_means_zero_latency_not_a_panic() {
        let r = Report::tally(info(), &[], &[]);
        assert_eq!(
            r.latency,
            Latency::default(),
            "with no answers every latency is zero"
        );
        assert!(r.is_clean(), "nothing sent, nothing wrong");
    }

    #[test]
    fn the_json_form_names_statuses() {
        let r = Report::tally(info(), &[delivery(true, None)], &[answered(401, 1)]);
        let json = serde_json::to_value(&r).expect("serializes");
        assert_eq!(
            json["refused"]["401"], 1,
            "refusals are keyed by status in JSON"
        );
        assert_eq!(json["scenario"], "chaos", "the JSON names the scenario");
    }
}
