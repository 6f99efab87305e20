//! Runs the real `linq-inbox` binary on free ports with a temp data dir.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SECRET: &str = "linq-inbox-fixture-secret";
pub const BIN: &str = env!("CARGO_BIN_EXE_linq-inbox");

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

/// `N` ports nobody listens on right now, all different: every listener stays bound until the
/// last one is, so the kernel cannot hand the same port out twice.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [TcpListener; N] =
        std::array::from_fn(|_| TcpListener::bind("127.0.0.1:0").unwrap());
    listeners.map(|l| l.local_addr().unwrap().port())
}

pub fn sign(body: &str) -> String {
    linq_inbox::linq::signature::sign(SECRET.as_bytes(), body.as_bytes())
}

pub struct Server {
    pub child: Child,
    pub data_dir: PathBuf,
    pub webhook: SocketAddr,
    pub ui: SocketAddr,
    pub token: String,
    pub login_url: String,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
    agent: ureq::Agent,
}

fn pump(
    r: impl Read + Send + 'static,
    sink: Arc<Mutex<Vec<String>>>,
    tx: Option<std::sync::mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &tx {
                let _ = tx.send(line.clone());
            }
            sink.lock().unwrap().push(line);
        }
    });
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[("LINQ_WEBHOOK_SECRET", Some(SECRET))])
    }

    /// Starts with `secrets` (comma-separated) as `LINQ_WEBHOOK_SECRET`.
    pub fn start_with_secrets(data_dir: &Path, secrets: &str) -> Server {
        Server::start_with(data_dir, &[("LINQ_WEBHOOK_SECRET", Some(secrets))])
    }

    /// Starts the server with extra environment: `Some(value)` sets a variable, `None` removes
    /// it (e.g. `LINQ_WEBHOOK_SECRET`, to let the config file own the secret).
    pub fn start_with(data_dir: &Path, env: &[(&str, Option<&str>)]) -> Server {
        let token = format!("tok-{}", rand_hex());
        // Retry on the rare port race between releasing and the server binding.
        for attempt in 0..5 {
            let [webhook, ui] = free_ports().map(|port| SocketAddr::from(([127, 0, 0, 1], port)));
            let mut cmd = Command::new(BIN);
            cmd.args(["serve", "--data-dir"])
                .arg(data_dir)
                .args([
                    "--listen",
                    &webhook.to_string(),
                    "--ui-listen",
                    &ui.to_string(),
                    "--ui-token",
                    &token,
                ])
                .env_remove("LINQ_INBOX_DATA_DIR")
                .env_remove("LINQ_INBOX_UI_TOKEN")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .stdin(Stdio::null());
            for (key, value) in env {
                match value {
                    Some(v) => cmd.env(key, v),
                    None => cmd.env_remove(key),
                };
            }
            let mut child = cmd.spawn().expect("spawn linq-inbox serve");
            let stdout = Arc::new(Mutex::new(Vec::new()));
            let stderr = Arc::new(Mutex::new(Vec::new()));
            let (tx, rx) = std::sync::mpsc::channel();
            pump(child.stdout.take().unwrap(), stdout.clone(), Some(tx));
            pump(child.stderr.take().unwrap(), stderr.clone(), None);
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut login_url = None;
            while Instant::now() < deadline {
                match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(line) => {
                        if let Some(i) = line.find("Open the inbox: ") {
                            login_url =
                                Some(line[i + "Open the inbox: ".len()..].trim().to_string());
                            break;
                        }
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        if let Ok(Some(_)) = child.try_wait() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            let Some(login_url) = login_url else {
                let _ = child.kill();
                let _ = child.wait();
                if attempt < 4 {
                    continue;
                }
                panic!(
                    "server did not print a login URL; stderr: {:?}",
                    stderr.lock().unwrap()
                );
            };
            let agent = ureq::AgentBuilder::new()
                .redirects(0)
                .timeout(Duration::from_secs(20))
                .build();
            let server = Server {
                child,
                data_dir: data_dir.to_path_buf(),
                webhook,
                ui,
                token,
                login_url,
                stdout,
                stderr,
                agent,
            };
            // healthz
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok((200, _)) = server.get_webhook_port("/healthz") {
                    break;
                }
                assert!(Instant::now() < deadline, "GET /healthz never answered 200");
                std::thread::sleep(Duration::from_millis(50));
            }
            return server;
        }
        unreachable!()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.kill();
        let fresh = Server::start(&self.data_dir.clone());
        let old = std::mem::replace(self, fresh);
        drop(old);
    }

    /// Waits until the projector has folded every log row into the inbox, as `/api/status`
    /// tells (`projected_seq` reaches `log_seq`); panics after 30 s.
    pub fn wait_projected(&self) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let status = self.api("/api/status");
            if status["projected_seq"] == status["log_seq"] && status["log_seq"].is_i64() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the projector never caught up with the log: {status}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhooks/linq", self.webhook)
    }

    fn get_webhook_port(&self, path: &str) -> Result<(u16, String), Box<ureq::Error>> {
        let url = format!("http://{}{}", self.webhook, path);
        match self.agent.get(&url).call() {
            Ok(r) => Ok((r.status(), r.into_string().unwrap_or_default())),
            Err(ureq::Error::Status(code, r)) => Ok((code, r.into_string().unwrap_or_default())),
            Err(e) => Err(Box::new(e)),
        }
    }

    /// POST a body to the webhook with a given signature header (None = no header).
    pub fn post_raw(&self, body: &[u8], sig: Option<&str>, content_type: &str) -> (u16, Value) {
        let mut req = self
            .agent
            .post(&self.webhook_url())
            .set("Content-Type", content_type);
        if let Some(s) = sig {
            req = req.set("X-Webhook-Signature", s);
        }
        resp(req.send_bytes(body))
    }

    /// POST a JSON body to the webhook with exactly these extra headers.
    pub fn post_with_headers(&self, body: &[u8], headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self
            .agent
            .post(&self.webhook_url())
            .set("Content-Type", "application/json");
        for (name, value) in headers {
            req = req.set(name, value);
        }
        resp(req.send_bytes(body))
    }

    pub fn post_signed(&self, body: &str) -> (u16, Value) {
        self.post_raw(body.as_bytes(), Some(&sign(body)), "application/json")
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let url = format!("http://{}{}", self.ui, path);
        resp(
            self.agent
                .get(&url)
                .set("Authorization", &format!("Bearer {}", self.token))
                .call(),
        )
    }

    pub fn api(&self, path: &str) -> Value {
        let (status, v) = self.get(path);
        assert_eq!(status, 200, "GET {path} must answer 200, got {status}: {v}");
        v
    }

    pub fn post_api(&self, path: &str, body: &str) -> (u16, Value) {
        let url = format!("http://{}{}", self.ui, path);
        resp(
            self.agent
                .post(&url)
                .set("Authorization", &format!("Bearer {}", self.token))
                .set("Content-Type", "application/json")
                .send_string(body),
        )
    }

    /// A UI API request with any method (`PUT`, `DELETE`), with a JSON body or none.
    pub fn send_api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let url = format!("http://{}{}", self.ui, path);
        let req = self
            .agent
            .request(method, &url)
            .set("Authorization", &format!("Bearer {}", self.token));
        resp(match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(b),
            None => req.call(),
        })
    }

    /// Every raw event, oldest first.
    pub fn all_events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut before: Option<i64> = None;
        loop {
            let path = match before {
                Some(b) => format!("/api/events?limit=1000&before={b}"),
                None => "/api/events?limit=1000".to_string(),
            };
            let page = self.api(&path);
            let events = page["events"].as_array().cloned().unwrap_or_default();
            if events.is_empty() {
                break;
            }
            before = events.last().and_then(|e| e["seq"].as_i64());
            out.extend(events);
            if !page["has_more"].as_bool().unwrap_or(false) {
                break;
            }
        }
        out.reverse();
        out
    }

    /// `/api/chats`, `/api/calls`, `/api/contacts` as one comparable value.
    pub fn state(&self) -> Value {
        let mut chats = self.api("/api/chats?limit=1000");
        // typing is time-dependent; unread and order are part of state.
        if let Some(list) = chats["chats"].as_array_mut() {
            for c in list {
                c["typing"] = Value::Null;
                // The local copies of attachments are kept beside ingest, on their own time.
                for a in c["last_message"]["attachments"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                {
                    if let Some(a) = a.as_object_mut() {
                        a.retain(|k, _| {
                            ["filename", "id", "key", "mime_type", "url"].contains(&k.as_str())
                        });
                    }
                }
            }
        }
        serde_json::json!({
            "chats": chats,
            "calls": self.api("/api/calls?limit=1000"),
            "contacts": self.api("/api/contacts"),
        })
    }

    /// `/api/rejected`, polled until `total` reaches `n` (records are written asynchronously).
    pub fn rejected_at_least(&self, n: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = self.api("/api/rejected?limit=1000");
            if r["total"].as_u64().unwrap_or(0) >= n || Instant::now() > deadline {
                return r;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn all_output(&self) -> String {
        let mut s = self.stdout.lock().unwrap().join("\n");
        s.push('\n');
        s.push_str(&self.stderr.lock().unwrap().join("\n"));
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UI or webhook answer as (status, JSON body, or the text when it is not JSON).
pub fn resp(r: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let (code, r) = match r {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("transport error: {e}"),
    };
    let text = r.into_string().unwrap_or_default();
    (
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn rand_hex() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos() ^ std::process::id() as u128);
    format!("{:016x}", h.finish())
}

/// A raw HTTP/1.1 exchange; returns (status, lowercase header lines, body).
pub fn raw_http(addr: SocketAddr, request: &[u8]) -> (u16, Vec<String>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(request).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (
        status,
        lines.map(|l| l.to_ascii_lowercase()).collect(),
        body.to_string(),
    )
}

/// Runs a CLI subcommand; returns (success, stdout, stderr).
pub fn cli(args: &[&str], data_dir: &Path, stdin: Option<&[u8]>) -> (bool, String, String) {
    cli_with(
        args,
        data_dir,
        stdin,
        &[("LINQ_WEBHOOK_SECRET", Some(SECRET))],
    )
}

/// `cli` with its own environment (`Some` sets a variable, `None` removes it).
pub fn cli_with(
    args: &[&str],
    data_dir: &Path,
    stdin: Option<&[u8]>,
    env: &[(&str, Option<&str>)],
) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    for (key, value) in env {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd.args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("spawn cli");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn envelope(event_type: &str, event_id: &str, data: Value) -> String {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({
        "api_version": "v2",
        "created_at": now,
        "data": data,
        "event_id": event_id,
        "event_type": event_type,
    })
    .to_string()
}

/// Posts a signed v2 `message.received` for each id, in order, all sent at `sent_at` in
/// `chat_id` (a customer's quick messages in one second), each acknowledged.
pub fn post_messages_at(server: &Server, chat_id: &str, ids: &[&str], sent_at: &str) {
    for id in ids {
        let body = envelope(
            "message.received",
            &format!("evt-{chat_id}-{id}"),
            serde_json::json!({"id": id, "chat_id": chat_id, "text": format!("quick {id}"),
                               "sent_at": sent_at, "from_phone": "+15550300004", "service": "SMS",
                               "attachments": []}),
        );
        assert_eq!(server.post_signed(&body).0, 200, "message {id} is accepted");
    }
}

pub fn demo(count: usize, seed: u64) -> Vec<linq_inbox::simulate::Delivery> {
    linq_inbox::simulate::generate(
        linq_inbox::simulate::Scenario::Demo,
        count,
        seed,
        chrono::Utc::now(),
    )
}

pub fn send_all(server: &Server, deliveries: &[linq_inbox::simulate::Delivery]) {
    for d in deliveries {
        let (status, body) = server.post_raw(
            d.body.as_bytes(),
            Some(&d.signature(SECRET.as_bytes())),
            "application/json",
        );
        let expect = if d.tamper { 401 } else { 200 };
        assert_eq!(
            status, expect,
            "delivery {} ({}) must answer {expect}: {body}",
            d.event_id, d.event_type
        );
    }
}

/// `make soak` sets `LINQ_INBOX_SOAK=1`: the same tests run longer and assert tighter numbers.
pub fn soak() -> bool {
    std::env::var("LINQ_INBOX_SOAK").is_ok_and(|v| v == "1")
}

/// The server's database file in `data_dir`.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("linq-inbox.db")
}

/// The server's inbox file (the projections) in `data_dir`, beside the log.
pub fn inbox_path(data_dir: &Path) -> PathBuf {
    data_dir.join("inbox.sqlite")
}

/// Both of the server's files as the app sees them: the log, with the inbox attached, so a
/// query names any table without a schema.
pub fn open_db(data_dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db_path(data_dir)).expect("open the log file");
    conn.execute(
        "ATTACH DATABASE ?1 AS inbox",
        [inbox_path(data_dir).to_str().expect("a UTF-8 path")],
    )
    .expect("attach the inbox file");
    conn
}

/// `PRAGMA integrity_check` on both files, when no server is using them (opened read-write so
/// a WAL left by a crash is recovered first, as the app would): "ok", or the first file's
/// findings that are not.
pub fn integrity(data_dir: &Path) -> String {
    for file in [db_path(data_dir), inbox_path(data_dir)] {
        let conn = rusqlite::Connection::open(&file).expect("open the database");
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        if check != "ok" {
            return format!("{}: {check}", file.display());
        }
    }
    "ok".into()
}

/// Every projection table (what `rebuild` re-derives), as sorted text rows.
pub fn projections(data_dir: &Path) -> Vec<String> {
    const TABLES: &[&str] = &[
        "chats",
        "chat_handles",
        "messages",
        "attachments",
        "reactions",
        "read_receipts",
        "calls",
        "contacts",
        "memberships",
        "search",
    ];
    let conn = open_db(data_dir);
    let mut out = Vec::new();
    for table in TABLES {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let cols: Vec<rusqlite::types::Value> =
                    (0..n).map(|i| r.get(i)).collect::<Result<_, _>>()?;
                Ok(format!("{table}: {cols:?}"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// (event_id, event_type) of every event in the log, read from the file.
pub fn logged_keys(data_dir: &Path) -> std::collections::HashSet<(String, String)> {
    let conn = rusqlite::Connection::open(db_path(data_dir)).expect("open the database");
    let mut stmt = conn
        .prepare("SELECT event_id, event_type FROM events")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows
}

/// p50, p95, p99 and max of `samples` in milliseconds.
pub fn percentiles(samples: &mut [f64]) -> (f64, f64, f64, f64) {
    assert!(!samples.is_empty(), "no latency samples");
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    (at(0.50), at(0.95), at(0.99), samples[samples.len() - 1])
}
