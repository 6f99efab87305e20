//! The fake Linq's account: chats and messages listed the way `linq-api.md` documents them,
//! v3 (`GET /api/partner/v3/chats`, `.../chats/{id}/messages`, `Authorization: Bearer`, opaque
//! cursors) and v2 (`phone_numbers`, `chats?phone_number=`, `chat_messages` with `page`,
//! `sort`, `after`, `X-LINQ-INTEGRATION-TOKEN`). v3 lists in an order of the fake's own choosing
//! (newest first, or shuffled per chat); every listing signs media URLs afresh.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use crate::linq_fake::{Request, Scripted, TOKEN};

/// How the fake orders a v3 chat's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    /// A fixed shuffle per chat (seeded by the chat's id).
    Shuffled,
}

/// A seeded account.
pub struct Account {
    /// `v3` or `v2`: which API the fake serves.
    pub version: &'static str,
    pub lines: Vec<String>,
    /// Chat records in the version's shape.
    pub chats: Vec<Value>,
    /// Message records per chat id.
    pub messages: HashMap<String, Vec<Value>>,
    pub order: Order,
    pub page_size: usize,
    signed: AtomicU64,
}

impl Account {
    pub fn new(version: &'static str, lines: Vec<String>) -> Account {
        Account {
            version,
            lines,
            chats: Vec::new(),
            messages: HashMap::new(),
            order: Order::NewestFirst,
            page_size: 100,
            signed: AtomicU64::new(0),
        }
    }

    /// Adds a chat and its messages.
    pub fn add_chat(&mut self, chat: Value, messages: Vec<Value>) {
        let id = id_text(&chat["id"]);
        self.chats.push(chat);
        self.messages.entry(id).or_default().extend(messages);
    }

    /// The answer to a listing call, or `None` when `r` is not one.
    pub fn answer(&self, r: &Request) -> Option<Scripted> {
        let (path, query) = split_target(&r.target);
        let v3 = path.strip_prefix("/api/partner/v3/");
        let v2 = path.strip_prefix("/api/partner/v2/");
        let tail = match (self.version, v3, v2) {
            ("v3", Some(t), _) => t,
            ("v2", _, Some(t)) if !t.starts_with("webhook_subscriptions") => t,
            _ => return None,
        };
        if !self.authorized(r) {
            return Some(refused(self.version));
        }
        let parts: Vec<&str> = tail.split('/').collect();
        Some(match (self.version, parts.as_slice()) {
            ("v3", ["chats"]) => self.v3_page("chats", &self.chats, &query),
            ("v3", ["chats", id, "messages"]) => self.v3_messages(id, &query),
            ("v2", ["phone_numbers"]) => ok(json!({"phone_numbers": self.lines.iter()
                .enumerate().map(|(i, l)| json!({"id": i + 1, "phone_number": l})).collect::<Vec<_>>()})),
            ("v2", ["chats"]) => self.v2_chats(&query),
            ("v2", ["chats", id, "chat_messages"]) => self.v2_messages(id, &query),
            _ => (404, vec![], json!({"error": "Not found"}).to_string()),
        })
    }

    fn authorized(&self, r: &Request) -> bool {
        match self.version {
            "v3" => r.header("authorization") == Some(format!("Bearer {TOKEN}")),
            _ => r.header("x-linq-integration-token").as_deref() == Some(TOKEN),
        }
    }

    fn v3_page(&self, key: &str, items: &[Value], query: &HashMap<String, String>) -> Scripted {
        let limit = query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(20usize)
            .min(self.page_size);
        let from: usize = query
            .get("cursor")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let page: Vec<Value> = items
            .iter()
            .skip(from)
            .take(limit)
            .map(|m| self.sign(m))
            .collect();
        let next = (from + limit < items.len()).then(|| (from + limit).to_string());
        ok(json!({ key: page, "next_cursor": next }))
    }

    fn v3_messages(&self, chat_id: &str, query: &HashMap<String, String>) -> Scripted {
        let Some(all) = self.messages.get(chat_id) else {
            return (
                404,
                vec![],
                json!({"success": false, "error": {"status": 404, "code": 2001,
                "message": "Chat not found"}})
                .to_string(),
            );
        };
        let mut listed = newest_first(all);
        if self.order == Order::Shuffled {
            shuffle(&mut listed, chat_id);
        }
        self.v3_page("messages", &listed, query)
    }

    fn v2_chats(&self, query: &HashMap<String, String>) -> Scripted {
        let line = query.get("phone_number").cloned().unwrap_or_default();
        let mine: Vec<Value> = self
            .chats
            .iter()
            .filter(|c| {
                c["chat_handles"].as_array().is_some_and(|hs| {
                    hs.iter()
                        .any(|h| h["phone_number"].as_str() == Some(line.as_str()))
                })
            })
            .cloned()
            .collect();
        self.v2_page(&mine, query)
    }

    fn v2_messages(&self, chat_id: &str, query: &HashMap<String, String>) -> Scripted {
        let Some(all) = self.messages.get(chat_id) else {
            return (
                404,
                vec![],
                json!({"errors": [{"status": 404, "code": "not_found",
                "title": "Not found", "detail": "chat not found"}]})
                .to_string(),
            );
        };
        let after = query.get("after").and_then(|a| millis(a));
        let mut listed: Vec<Value> = newest_first(all)
            .into_iter()
            .filter(|m| after.is_none_or(|a| millis(m["sent_at"].as_str().unwrap_or("")) > Some(a)))
            .collect();
        if query.get("sort").map(String::as_str) != Some("desc") {
            listed.reverse();
        }
        self.v2_page(&listed, query)
    }

    fn v2_page(&self, items: &[Value], query: &HashMap<String, String>) -> Scripted {
        let per_page = query
            .get("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(25usize)
            .min(self.page_size);
        let page: usize = query
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let data: Vec<Value> = items
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|m| self.sign(m))
            .collect();
        let total_pages = items.len().div_ceil(per_page);
        ok(
            json!({"data": data, "meta": {"page": page, "total_pages": total_pages,
                                          "total_count": items.len(), "per_page": per_page}}),
        )
    }

    /// The record with its media URLs signed afresh, as a presigned URL is at every listing.
    fn sign(&self, record: &Value) -> Value {
        let n = self.signed.fetch_add(1, Ordering::Relaxed);
        let mut out = record.clone();
        resign(&mut out, n);
        out
    }
}

fn resign(value: &mut Value, n: u64) {
    match value {
        Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                match v {
                    Value::String(url) if k == "url" => {
                        let bare = url.split('?').next().unwrap_or_default().to_string();
                        *url = format!("{bare}?sig={n}");
                    }
                    other => resign(other, n),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| resign(v, n)),
        _ => {}
    }
}

fn newest_first(all: &[Value]) -> Vec<Value> {
    let mut listed = all.to_vec();
    listed.sort_by_key(|m| std::cmp::Reverse(millis(m["sent_at"].as_str().unwrap_or(""))));
    listed
}

/// A fixed permutation for `seed` (a small linear congruential generator).
fn shuffle(items: &mut [Value], seed: &str) {
    let mut state = seed
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    for i in (1..items.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        items.swap(i, (state >> 33) as usize % (i + 1));
    }
}

fn millis(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn ok(body: Value) -> Scripted {
    (200, vec![], body.to_string())
}

/// A refused token, in the version's error shape.
fn refused(version: &str) -> Scripted {
    let body = match version {
        "v3" => json!({"success": false, "error": {"status": 401, "code": 2004,
                        "message": "Unauthorized"}, "trace_id": "0af7651916cd43dd8448eb211c80319c"}),
        _ => json!({"errors": [{"status": 401, "code": "unauthorized", "title": "Unauthorized"}]}),
    };
    (401, vec![], body.to_string())
}

fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Path and decoded query of a request target.
fn split_target(target: &str) -> (String, HashMap<String, String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    (path.to_string(), pairs)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
