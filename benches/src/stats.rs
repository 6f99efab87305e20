//! Percentiles over recorded samples.

use serde::Serialize;

/// Latency summary in milliseconds.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// Summarizes samples given in microseconds.
pub fn summarize(samples_us: &mut [u64]) -> Summary {
    if samples_us.is_empty() {
        return Summary::default();
    }
    samples_us.sort_unstable();
    let at = |q: f64| {
        let i = ((samples_us.len() as f64 - 1.0) * q).round() as usize;
        samples_us[i] as f64 / 1000.0
    };
    Summary {
        count: samples_us.len(),
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        p999_ms: at(0.999),
        max_ms: samples_us[samples_us.len() - 1] as f64 / 1000.0,
    }
}

/// Resident set size of a process in KiB (Linux `/proc`), if it is still running.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_ranked_sample() {
        let mut s: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        let sum = summarize(&mut s);
        assert_eq!(sum.count, 1000, "every sample is counted");
        assert_eq!(
            sum.p50_ms, 501.0,
            "median of 1..1000 ms rounds to the 500th sample"
        );
        assert_eq!(sum.max_ms, 1000.0, "the maximum is the slowest sample");
    }
}
