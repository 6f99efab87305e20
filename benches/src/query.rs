//! Timed reads of the UI API, as the UI makes them, and serve start → `/healthz` answering.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use serde::Serialize;

use crate::client::{split_url, Conn};
use crate::stats::{self, Summary};

#[derive(clap::Args)]
pub struct QueryArgs {
    /// UI server base URL, e.g. http://127.0.0.1:8788
    #[arg(long)]
    ui: String,
    #[arg(long)]
    token: String,
    /// Timed repetitions of each request (after two untimed warm-ups).
    #[arg(long, default_value = "30")]
    iterations: usize,
    /// The chat whose first page is timed.
    #[arg(long, default_value = "chat-big")]
    chat: String,
}

#[derive(Serialize)]
struct QueryResult {
    kind: &'static str,
    label: String,
    requests: Vec<String>,
    bytes: usize,
    latency: Summary,
}

/// Searches a rep would type: a rare word, everyday words, two words, a prefix, a name.
const SEARCHES: &[&str] = &[
    "zebra",
    "invoice",
    "pricing quote",
    "renew",
    "docusign signed",
    "Gonzalez",
    "the",
];

pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let (host, _) = split_url(&args.ui)?;
    let mut conn = Conn::open(&host).await?;
    let auth = format!("Bearer {}", args.token);
    let search: Vec<String> = SEARCHES
        .iter()
        .map(|q| format!("/api/search?q={}&limit=50", q.replace(' ', "%20")))
        .collect();
    let groups: Vec<(&str, Vec<String>)> = vec![
        ("search", search),
        (
            "chat list (1,000 chats)",
            vec!["/api/chats?limit=1000".into()],
        ),
        ("chat list (first 100)", vec!["/api/chats?limit=100".into()]),
        (
            "first page of the 100,000-message chat",
            vec![format!("/api/chats/{}/messages?limit=100", args.chat)],
        ),
    ];
    for (label, paths) in groups {
        let mut samples = Vec::new();
        let mut bytes = 0;
        for path in &paths {
            for i in 0..args.iterations + 2 {
                let t = Instant::now();
                let (status, body) = conn.get(path, &[("authorization", &auth)]).await?;
                let us = t.elapsed().as_micros() as u64;
                if status != 200 {
                    bail!(
                        "{path} answered {status}: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                if i >= 2 {
                    samples.push(us);
                }
                bytes = bytes.max(body.len());
            }
        }
        let result = QueryResult {
            kind: "query",
            label: label.to_string(),
            requests: paths,
            bytes,
            latency: stats::summarize(&mut samples),
        };
        println!("{}", serde_json::to_string(&result)?);
    }
    Ok(())
}

#[derive(Serialize)]
struct StartupResult {
    kind: &'static str,
    label: &'static str,
    runs_ms: Vec<f64>,
    median_ms: f64,
    max_ms: f64,
}

/// Starts `command` `runs` times; each time measures until `healthz` answers 200, then stops it
/// with SIGTERM and waits for it to exit.
pub async fn startup(
    healthz: &str,
    runs: usize,
    command: &[String],
    timeout: Duration,
) -> anyhow::Result<()> {
    let (host, path) = split_url(healthz)?;
    let (program, args) = command
        .split_first()
        .ok_or_else(|| anyhow!("no command to start"))?;
    let mut runs_ms = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        loop {
            if t.elapsed() > timeout {
                bail!("{program} did not answer {healthz} within {timeout:?}");
            }
            if let Ok(mut c) = Conn::open(&host).await {
                if let Ok((200, _)) = c.get(&path, &[]).await {
                    break;
                }
            }
            if let Some(status) = child.try_wait()? {
                bail!("{program} exited ({status}) before it answered");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        runs_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(pid) = child.id() {
            std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()?;
        }
        tokio::time::timeout(Duration::from_secs(10), child.wait()).await??;
    }
    let mut sorted = runs_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let result = StartupResult {
        kind: "startup",
        label: "serve start → /healthz",
        median_ms: sorted[sorted.len() / 2],
        max_ms: sorted[sorted.len() - 1],
        runs_ms,
    };
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}
