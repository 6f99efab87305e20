//! Stand-ins for the outside world of `linq-inbox linq ...`: a fake of Linq's v2 subscription
//! API (v3's is in `linq_fake_v3.rs`) that records every request, and a reverse proxy standing
//! in for the tunnel. Both are plain std servers on loopback, one thread each, answering one request per connection.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

pub use crate::linq_fake_account::{Account, Order};
pub use crate::linq_fake_send::Sends;
use crate::linq_fake_v3::V3State;

pub const TOKEN: &str = "lq_test_integration_token_0123";
pub const PATH: &str = "/api/partner/v2/webhook_subscriptions";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// When the request arrived.
    pub at: std::time::Instant,
    pub token: Option<String>,
    /// The `Authorization` header (v3's `Bearer`).
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Option<Value>,
}

/// A scripted answer: status, extra headers, body.
pub type Scripted = (u16, Vec<(String, String)>, String);

#[derive(Clone, Default)]
pub struct FakeLinq {
    pub addr: Option<SocketAddr>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// The account's subscriptions, as Linq would answer them.
    pub subscriptions: Arc<Mutex<Vec<Value>>>,
    /// Answers to give instead of the normal ones, first in first out. Status 0 drops the
    /// connection without an answer.
    pub script: Arc<Mutex<VecDeque<Scripted>>>,
    /// Attachment files served under [`FILES`], by path.
    pub files: Arc<Mutex<std::collections::HashMap<String, FakeFile>>>,
    /// Chats and messages, for the catch-up pass's listings (`linq_fake_account.rs`).
    pub account: Arc<Mutex<Option<Account>>>,
    /// How long each answer waits (a slow Linq, so a test can kill a pass midway).
    pub delay: Arc<Mutex<Duration>>,
    /// Sending: the messages accepted, deduplicated by idempotency key (`linq_fake_send.rs`).
    pub sends: Arc<Mutex<Sends>>,
    /// v3 webhook subscriptions and lines (`linq_fake_v3.rs`).
    pub v3: V3State,
    /// Attachment pre-uploads and the bytes PUT to them (`linq_fake_compose.rs`).
    pub uploads: Arc<Mutex<crate::linq_fake_compose::Uploads>>,
}

/// A request read off a socket: request line parts, lowercase headers, body.
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

pub fn respond(mut stream: &TcpStream, status: u16, headers: &[(String, String)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

impl FakeLinq {
    pub fn start() -> FakeLinq {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake Linq");
        let fake = FakeLinq {
            addr: Some(listener.local_addr().expect("fake address")),
            ..FakeLinq::default()
        };
        let server = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let server = server.clone();
                // A connection each: a slow file never holds up the API.
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    if let Some(request) = read_request(&stream) {
                        if server.serve_file(&stream, &request) {
                            return;
                        }
                        let (status, headers, body) = server.answer(&request);
                        std::thread::sleep(*server.delay.lock().unwrap());
                        // Status 0 is "drop the connection" (scripted failures).
                        if status != 0 {
                            respond(&stream, status, &headers, &body);
                        }
                    }
                });
            }
        });
        fake
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr.expect("started"))
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The method and path of every request so far.
    pub fn calls(&self) -> Vec<String> {
        self.seen()
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }

    pub fn script(&self, status: u16, headers: &[(&str, &str)], body: &str) {
        self.script.lock().unwrap().push_back((
            status,
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body.to_string(),
        ));
    }

    fn answer(&self, r: &Request) -> Scripted {
        let body: Option<Value> = serde_json::from_slice(&r.body)
            .ok()
            .or_else(|| form_fields(r));
        let token = r.header("x-linq-integration-token");
        self.seen.lock().unwrap().push(Seen {
            method: r.method.clone(),
            path: r.target.clone(),
            at: std::time::Instant::now(),
            token: token.clone(),
            authorization: r.header("authorization"),
            content_type: r.header("content-type"),
            body: body.clone(),
        });
        let upload = self
            .uploads
            .lock()
            .unwrap()
            .answer(r, body.as_ref(), &self.base());
        if let Some(answer) = upload.or_else(|| crate::linq_fake_compose::typing(r)) {
            return answer;
        }
        if let Some(answer) = self.sends.lock().unwrap().answer(r, body.as_ref()) {
            return answer;
        }
        if let Some(scripted) = self.script.lock().unwrap().pop_front() {
            return scripted;
        }
        if let Some(answer) = self.answer_v3(r, body.as_ref()) {
            return answer;
        }
        if let Some(answer) = self
            .account
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|a| a.answer(r))
        {
            return answer;
        }
        if !r.target.starts_with(PATH) {
            // Anything else answers 200, like a server that is not a Linq Inbox.
            return (200, vec![], "{}".into());
        }
        if token.as_deref() != Some(TOKEN) {
            return (401, vec![], json!({"error": "Unauthorized"}).to_string());
        }
        let id = r.target[PATH.len()..].trim_start_matches('/').to_string();
        let inner = body
            .as_ref()
            .map(|b| b["webhook_subscription"].clone())
            .unwrap_or(Value::Null);
        let mut subs = self.subscriptions.lock().unwrap();
        let position = subs.iter().position(|s| id_text(&s["id"]) == id);
        match (r.method.as_str(), id.is_empty(), position) {
            ("GET", true, _) => (
                200,
                vec![],
                json!({"webhook_subscriptions": *subs}).to_string(),
            ),
            ("POST", true, _) => {
                let next = 100 + subs.len() as u64;
                let sub = describe(json!(next), &inner);
                subs.push(sub.clone());
                (201, vec![], sub.to_string())
            }
            ("PUT", false, Some(i)) => {
                let sub = describe(subs[i]["id"].clone(), &inner);
                subs[i] = sub.clone();
                (200, vec![], sub.to_string())
            }
            ("DELETE", false, Some(i)) => {
                subs.remove(i);
                (204, vec![], String::new())
            }
            (_, false, None) => (404, vec![], json!({"error": "Not found"}).to_string()),
            _ => (405, vec![], "{}".into()),
        }
    }

    /// Adds a subscription as if made elsewhere (another app, a hand-made curl).
    pub fn add(&self, id: Value, url: &str) {
        self.subscriptions.lock().unwrap().push(describe(
            id,
            &json!({"webhook_url": url, "events": ["message.received"], "active": true, "secret": "x"}),
        ));
    }
}

/// Where the fake serves attachment files, as Linq's CDN would (same origin as the API base).
pub const FILES: &str = "/files/";

/// An attachment file the fake serves, and how it misbehaves on command.
#[derive(Clone, Default)]
pub struct FakeFile {
    pub bytes: Vec<u8>,
    /// The type the server claims (the app must read the bytes instead).
    pub content_type: String,
    /// Answer `503` this many times before serving the file.
    pub fail_first: usize,
    /// Send the body this slowly: the pause after each 64 KiB.
    pub pause: Duration,
    /// Leave out `Content-Length` (the body ends when the connection closes).
    pub hide_length: bool,
    /// Answer `302` to this address instead of the file.
    pub redirect_to: Option<String>,
}

impl FakeLinq {
    /// Serves `bytes` at `{base}/files/{name}`; the address to put in a message.
    pub fn serve(&self, name: &str, file: FakeFile) -> String {
        let path = format!("{FILES}{name}");
        self.files.lock().unwrap().insert(path.clone(), file);
        format!("{}{path}", self.base())
    }

    /// How many requests reached `/files/{name}`.
    pub fn file_requests(&self, name: &str) -> usize {
        let path = format!("{FILES}{name}");
        self.seen().iter().filter(|s| s.path == path).count()
    }

    /// Answers a request for a file under [`FILES`]; false for any other path.
    fn serve_file(&self, mut stream: &TcpStream, r: &Request) -> bool {
        if !r.target.starts_with(FILES) {
            return false;
        }
        self.seen.lock().unwrap().push(Seen {
            method: r.method.clone(),
            path: r.target.clone(),
            at: std::time::Instant::now(),
            token: None,
            authorization: None,
            content_type: None,
            body: None,
        });
        let file = {
            let mut files = self.files.lock().unwrap();
            match files.get_mut(&r.target) {
                Some(f) if f.fail_first > 0 => {
                    f.fail_first -= 1;
                    None
                }
                Some(f) => Some(f.clone()),
                None => {
                    respond(stream, 404, &[], "");
                    return true;
                }
            }
        };
        let Some(file) = file else {
            respond(stream, 503, &[], &json!({"error": "try later"}).to_string());
            return true;
        };
        if let Some(to) = &file.redirect_to {
            respond(stream, 302, &[("Location".into(), to.clone())], "");
            return true;
        }
        let mut head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nConnection: close\r\n",
            file.content_type
        );
        if !file.hide_length {
            head.push_str(&format!("Content-Length: {}\r\n", file.bytes.len()));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes());
        for chunk in file.bytes.chunks(64 * 1024) {
            if stream.write_all(chunk).is_err() {
                return true;
            }
            std::thread::sleep(file.pause);
        }
        let _ = stream.flush();
        true
    }
}

/// An id as text, whether Linq sent a string or a number.
fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The subscription as Linq answers it: never the secret.
fn describe(id: Value, request: &Value) -> Value {
    json!({
        "id": id,
        "webhook_url": request["webhook_url"],
        "events": request["events"],
        "active": request["active"],
        "secret_configured": request["secret"].is_string(),
        "last_delivered_at": null,
        "delivery_attempts": 0,
    })
}

/// A reverse proxy standing in for the tunnel: forwards each request to `upstream` unchanged
/// and relays the answer; answers 502 when nothing listens upstream, as ngrok does.
pub fn tunnel(upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the tunnel");
    let addr = listener.local_addr().expect("tunnel address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let Some(request) = read_request(&stream) else {
                continue;
            };
            match TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) {
                Err(_) => respond(
                    &stream,
                    502,
                    &[],
                    &json!({"error": "the tunnel could not reach its upstream"}).to_string(),
                ),
                Ok(mut up) => {
                    let _ = up.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
                    for (k, v) in &request.headers {
                        if k != "connection" {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                    }
                    head.push_str("connection: close\r\n\r\n");
                    let _ = up.write_all(head.as_bytes());
                    let _ = up.write_all(&request.body);
                    let mut answer = Vec::new();
                    let _ = up.read_to_end(&mut answer);
                    let mut out = &stream;
                    let _ = out.write_all(&answer);
                }
            }
        }
    });
    addr
}

/// A `multipart/form-data` body's text fields as JSON, `message[text]` read as
/// `{"message": {"text": ...}}` (v2's send), so tests read a form like a JSON body.
fn form_fields(r: &Request) -> Option<Value> {
    let content_type = r.header("content-type")?;
    let boundary = content_type
        .strip_prefix("multipart/form-data")?
        .split("boundary=")
        .nth(1)?
        .trim_matches('"')
        .to_string();
    let text = String::from_utf8(r.body.clone()).ok()?;
    let mut out = serde_json::Map::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|n| n.split('"').next())
        else {
            continue;
        };
        let value = Value::String(value.trim_end_matches("\r\n").to_string());
        // A file field (`message[attachments][]`): a list of {filename, content} under `attachments`.
        if let Some(list) = name.strip_suffix("[]") {
            let filename = head
                .split("filename=\"")
                .nth(1)
                .and_then(|n| n.split('"').next());
            let (outer, inner) = list.split_once('[').unwrap_or((list, ""));
            let slot = out
                .entry(outer.to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(map) = slot {
                let files = map
                    .entry(inner.trim_end_matches(']').to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(files) = files {
                    files.push(json!({"filename": filename, "content": value}));
                }
            }
            continue;
        }
        match name.split_once('[') {
            Some((outer, inner)) => {
                let inner = inner.trim_end_matches(']').to_string();
                let slot = out
                    .entry(outer.to_string())
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
                if let Value::Object(map) = slot {
                    map.insert(inner, value);
                }
            }
            None => {
                out.insert(name.to_string(), value);
            }
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}
