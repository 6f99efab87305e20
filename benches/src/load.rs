//! The load generator. Open loop at a fixed rate: request `i` is due at `start + i / rate`,
//! and its latency counts from that moment, so a stalled server cannot hide its stall by
//! slowing the generator down (no coordinated omission). Closed loop (`--rate 0`): every
//! connection sends its next delivery as soon as the last one is acknowledged.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Method;
use serde::Serialize;

use crate::client::{split_url, Conn};
use crate::payload;
use crate::stats::{self, Summary};

#[derive(clap::Args, Clone)]
pub struct LoadArgs {
    /// Webhook URL, e.g. http://127.0.0.1:8787/webhooks/linq
    #[arg(long)]
    url: String,
    #[arg(long)]
    secret: String,
    /// Deliveries per second; 0 sends as fast as acknowledgements come back.
    #[arg(long, default_value = "1000")]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value = "5")]
    duration: f64,
    /// Keep-alive connections.
    #[arg(long, default_value = "64")]
    connections: usize,
    /// Chats the deliveries are spread over.
    #[arg(long, default_value = "1000")]
    chats: u64,
    /// Prefix of every event and message id; must differ between runs on one database.
    #[arg(long)]
    run: String,
    /// Name of this measurement in the results.
    #[arg(long)]
    label: String,
    /// UI server base URL: also follow `/api/stream` and time delivery → stream event.
    #[arg(long)]
    stream: Option<String>,
    #[arg(long, default_value = "")]
    token: String,
    /// A process whose peak RSS is sampled during the run.
    #[arg(long)]
    pid: Option<u32>,
    /// Closed loop: send exactly this many deliveries (`--duration` is then only a deadline).
    #[arg(long)]
    count: Option<u64>,
    /// Seconds to wait after the last acknowledgement for the stream to show every event.
    #[arg(long, default_value = "10")]
    stream_wait: f64,
    /// With `--stream`: once the stream has everything, check that the chat list shows every
    /// acknowledged delivery too (each of the run's chats, and their unread counts).
    #[arg(long)]
    check_chats: bool,
}

#[derive(Serialize)]
struct LoadResult {
    kind: &'static str,
    label: String,
    target_rate: u64,
    connections: usize,
    duration_s: f64,
    sent: u64,
    ok: u64,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    rate: f64,
    ack: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_missing: Option<u64>,
    /// From each delivery's acknowledgement to its event on the stream: the feed's and the
    /// stream's own share of `stream`, without the commit's.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_after_ack: Option<Summary>,
    /// Events that arrived on the stream more than once.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_duplicates: Option<u64>,
    /// From the last acknowledgement to the last event on the stream: how long the projection
    /// took to catch up with the log once the deliveries stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_ack_to_last_stream_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_list: Option<ChatListCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rss_peak_kib: Option<u64>,
}

/// What the chat list showed of the run after the stream had every event, against what the
/// acknowledged deliveries should make of it.
#[derive(Serialize)]
struct ChatListCheck {
    chats: u64,
    expected_chats: u64,
    unread: i64,
    expected_unread: i64,
}

struct Shared {
    args: LoadArgs,
    host: String,
    path: String,
    start: Instant,
    now_secs: i64,
    next: AtomicU64,
    /// When each delivery was due (open loop) or sent (closed loop), ns after `start`.
    sent_ns: Vec<AtomicU64>,
    /// When each delivery's 200 arrived, ns after `start`.
    acked_ns: Vec<AtomicU64>,
    total: u64,
    deadline: Instant,
}

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let (host, path) = split_url(&args.url)?;
    // Open loop knows its count; closed loop sizes the send-time table for a generous rate.
    let total = match (args.count, args.rate) {
        (Some(count), _) => count,
        (None, 0) => (60_000.0 * args.duration) as u64,
        (None, rate) => (rate as f64 * args.duration).round() as u64,
    };
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;

    let stream = match &args.stream {
        Some(base) => Some(Follower::connect(base, &args.token, &args.run, total).await?),
        None => None,
    };
    let rss_peak = Arc::new(AtomicU64::new(0));
    let sampler = args.pid.map(|pid| {
        let peak = rss_peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(kib) = stats::rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });

    let start = Instant::now() + Duration::from_millis(50);
    let shared = Arc::new(Shared {
        host,
        path,
        start,
        now_secs,
        next: AtomicU64::new(0),
        sent_ns: (0..total).map(|_| AtomicU64::new(u64::MAX)).collect(),
        acked_ns: (0..total).map(|_| AtomicU64::new(u64::MAX)).collect(),
        total,
        deadline: start + Duration::from_secs_f64(args.duration),
        args: args.clone(),
    });
    let sent_ns_for_stream = shared.clone();
    let statuses = Arc::new(Mutex::new(BTreeMap::new()));
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let shared = shared.clone();
        let statuses = statuses.clone();
        workers.push(tokio::spawn(async move { worker(shared, statuses).await }));
    }
    let mut ack = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (lat, errs) = w.await??;
        ack.extend(lat);
        errors += errs;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let statuses = statuses.lock().map(|s| s.clone()).unwrap_or_default();
    let ok = statuses.get(&200).copied().unwrap_or(0);
    let sent = shared.next.load(Ordering::Relaxed).min(total);

    let mut arrived = match stream {
        Some(f) => Some(f.finish(&sent_ns_for_stream, ok, args.stream_wait).await),
        None => None,
    };
    let chat_list = match (&args.stream, args.check_chats) {
        (Some(base), true) => Some(check_chats(base, &args, &shared).await?),
        _ => None,
    };
    if let Some(s) = sampler {
        s.abort();
    }
    let result = LoadResult {
        kind: "load",
        label: args.label,
        target_rate: args.rate,
        connections: args.connections,
        duration_s: elapsed,
        sent,
        ok,
        statuses,
        errors,
        rate: ok as f64 / elapsed,
        ack: stats::summarize(&mut ack),
        stream: arrived.as_mut().map(|a| stats::summarize(&mut a.latencies)),
        stream_missing: arrived.as_ref().map(|a| a.missing),
        stream_after_ack: arrived.as_mut().map(|a| stats::summarize(&mut a.after_ack)),
        stream_duplicates: arrived.as_ref().map(|a| a.duplicates),
        last_ack_to_last_stream_ms: arrived.as_ref().and_then(|a| a.last_ack_to_last_ms),
        chat_list,
        rss_peak_kib: args.pid.map(|_| rss_peak.load(Ordering::Relaxed)),
    };
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

async fn worker(
    shared: Arc<Shared>,
    statuses: Arc<Mutex<BTreeMap<u16, u64>>>,
) -> anyhow::Result<(Vec<u64>, u64)> {
    let args = &shared.args;
    let mut conn = Conn::open(&shared.host).await?;
    let mut latencies = Vec::new();
    let mut local: BTreeMap<u16, u64> = BTreeMap::new();
    let mut errors = 0;
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= shared.total {
            break;
        }
        let due = if let Some(per_ns) = 1_000_000_000u64.checked_div(args.rate) {
            // Exact for rates that divide a second; within a nanosecond a step otherwise.
            let due = shared.start + Duration::from_nanos(i * per_ns);
            tokio::time::sleep_until(due.into()).await;
            due
        } else {
            let now = Instant::now();
            if now >= shared.deadline {
                break;
            }
            now.max(shared.start)
        };
        let body = payload::load_delivery(&args.run, i, args.chats, shared.now_secs);
        let signature = payload::sign(args.secret.as_bytes(), body.as_bytes());
        shared.sent_ns[i as usize].store(
            due.duration_since(shared.start).as_nanos() as u64,
            Ordering::Relaxed,
        );
        let headers = [
            ("content-type", "application/json"),
            ("x-webhook-signature", signature.as_str()),
        ];
        match conn
            .send(Method::POST, &shared.path, &headers, Bytes::from(body))
            .await
        {
            Ok((status, _)) => {
                *local.entry(status).or_default() += 1;
                if status == 200 {
                    latencies.push(due.elapsed().as_micros() as u64);
                    shared.acked_ns[i as usize]
                        .store(shared.start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
            }
            Err(_) => {
                errors += 1;
                conn = Conn::open(&shared.host).await?;
            }
        }
    }
    if let Ok(mut s) = statuses.lock() {
        for (k, v) in local {
            *s.entry(k).or_default() += v;
        }
    }
    Ok((latencies, errors))
}

/// Follows `/api/stream` and notes when each of this run's events arrives.
struct Follower {
    arrivals: Arc<Mutex<Vec<(u64, Instant)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    async fn connect(base: &str, token: &str, run: &str, total: u64) -> anyhow::Result<Follower> {
        let (host, _) = split_url(base)?;
        let stream = tokio::net::TcpStream::connect(&host)
            .await
            .with_context(|| format!("cannot connect to {host}"))?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let req = hyper::Request::get("/api/stream")
            .header("host", &host)
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream")
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(req).await?;
        if response.status() != 200 {
            return Err(anyhow!("/api/stream answered {}", response.status()));
        }
        let mut body = response.into_body();
        let arrivals = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
        let out = arrivals.clone();
        let marker = format!("\"event_id\":\"{run}-e");
        let task = tokio::spawn(async move {
            let mut buf = Vec::<u8>::new();
            while let Some(Ok(frame)) = body.frame().await {
                let now = Instant::now();
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                buf.extend_from_slice(&data);
                // Complete events end with a blank line; keep any partial one for the next frame.
                let Some(end) = buf.windows(2).rposition(|w| w == b"\n\n") else {
                    continue;
                };
                let complete = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..end + 2);
                let Ok(mut list) = out.lock() else { return };
                let mut rest = complete.as_str();
                while let Some(at) = rest.find(&marker) {
                    rest = &rest[at + marker.len()..];
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(n) = digits.parse::<u64>() {
                        list.push((n, now));
                    }
                }
            }
        });
        Ok(Follower { arrivals, task })
    }

    /// Waits (up to `wait` seconds) for every acknowledged event, then times each one that
    /// arrived.
    async fn finish(self, shared: &Shared, expected: u64, wait: f64) -> Arrived {
        let deadline = Instant::now() + Duration::from_secs_f64(wait);
        while Instant::now() < deadline {
            let seen = self.arrivals.lock().map(|l| l.len() as u64).unwrap_or(0);
            if seen >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.task.abort();
        let list = self.arrivals.lock().map(|l| l.clone()).unwrap_or_default();
        let mut latencies = Vec::with_capacity(list.len());
        let mut after_ack = Vec::with_capacity(list.len());
        let mut seen = std::collections::HashSet::new();
        let mut duplicates = 0;
        let mut last_arrival = None::<Instant>;
        let since = |slot: Option<&AtomicU64>| {
            let ns = slot?.load(Ordering::Relaxed);
            (ns != u64::MAX).then(|| shared.start + Duration::from_nanos(ns))
        };
        for (n, at) in list {
            let Some(sent_at) = since(shared.sent_ns.get(n as usize)) else {
                continue;
            };
            if !seen.insert(n) {
                duplicates += 1;
                continue;
            }
            last_arrival = last_arrival.max(Some(at));
            latencies.push(at.saturating_duration_since(sent_at).as_micros() as u64);
            if let Some(acked_at) = since(shared.acked_ns.get(n as usize)) {
                after_ack.push(at.saturating_duration_since(acked_at).as_micros() as u64);
            }
        }
        let missing = expected.saturating_sub(latencies.len() as u64);
        let last_ack = shared
            .acked_ns
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .filter(|ns| *ns != u64::MAX)
            .max()
            .map(|ns| shared.start + Duration::from_nanos(ns));
        let last_ack_to_last_ms = last_ack
            .zip(last_arrival)
            .map(|(acked, shown)| shown.saturating_duration_since(acked).as_secs_f64() * 1000.0);
        Arrived {
            latencies,
            after_ack,
            missing,
            duplicates,
            last_ack_to_last_ms,
        }
    }
}

/// The stream's timings, in µs: from each delivery sent, and from its acknowledgement.
struct Arrived {
    latencies: Vec<u64>,
    after_ack: Vec<u64>,
    missing: u64,
    duplicates: u64,
    /// From the last acknowledgement to the last of the run's events on the stream.
    last_ack_to_last_ms: Option<f64>,
}

/// Reads the whole chat list and counts the run's chats and their unread messages, against
/// what the acknowledged deliveries make: every delivery's chat, and its inbound messages
/// unread (`payload::load_delivery`).
async fn check_chats(
    base: &str,
    args: &LoadArgs,
    shared: &Shared,
) -> anyhow::Result<ChatListCheck> {
    let acked: Vec<u64> = (0..shared.total)
        .filter(|&n| shared.acked_ns[n as usize].load(Ordering::Relaxed) != u64::MAX)
        .collect();
    let expected_chats = acked
        .iter()
        .map(|n| n % args.chats)
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;
    let expected_unread = acked.iter().filter(|&&n| payload::is_inbound(n)).count() as i64;
    let (host, _) = split_url(base)?;
    let mut conn = Conn::open(&host).await?;
    let auth = format!("Bearer {}", args.token);
    let prefix = format!("{}-chat", args.run);
    let (mut chats, mut unread) = (0, 0);
    let mut before: Option<String> = None;
    loop {
        let path = match &before {
            Some(b) => format!("/api/chats?limit=1000&before={b}"),
            None => "/api/chats?limit=1000".to_string(),
        };
        let (status, body) = conn.get(&path, &[("authorization", auth.as_str())]).await?;
        if status != 200 {
            return Err(anyhow!("{path} answered {status}"));
        }
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        let list = page["chats"].as_array().cloned().unwrap_or_default();
        for chat in &list {
            if chat["chat_id"]
                .as_str()
                .is_some_and(|id| id.starts_with(&prefix))
            {
                chats += 1;
                unread += chat["unread_count"].as_i64().unwrap_or(0);
            }
        }
        let next = list
            .last()
            .and_then(|c| c["chat_id"].as_str())
            .map(str::to_string);
        match (page["has_more"].as_bool(), next) {
            (Some(true), Some(cursor)) => before = Some(cursor),
            _ => break,
        }
    }
    Ok(ChatListCheck {
        chats,
        expected_chats,
        unread,
        expected_unread,
    })
}
