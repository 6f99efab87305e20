//! The fake Linq's sending (`linq-api.md` §5): v3 `POST /api/partner/v3/chats/{id}/messages`
//! and v2 `POST /api/partner/v2/chats/{id}/chat_messages`. Like Linq it deduplicates by the
//! message's idempotency key: the same key again answers the message it already has (v2 with
//! 200 instead of 201). Failures on command: a script of answers for sends only (503, 429 with
//! `Retry-After`), and an opted-out recipient (403, code 2024) until told otherwise.

use std::collections::{HashMap, VecDeque};

use serde_json::{json, Value};

use crate::linq_fake::{Request, Scripted, TOKEN};

#[derive(Default)]
pub struct Sends {
    /// Answers to give to the next sends instead of the normal one, first in first out.
    pub script: VecDeque<Scripted>,
    /// The recipient has opted out: every send is refused with 403, code 2024.
    pub opted_out: bool,
    /// Messages accepted, in order (one per idempotency key).
    pub accepted: Vec<Value>,
    by_key: HashMap<String, Value>,
}

impl Sends {
    /// The answer to a send, or `None` when `r` is not one.
    pub fn answer(&mut self, r: &Request, body: Option<&Value>) -> Option<Scripted> {
        let path = r.target.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (version, chat) = match parts.as_slice() {
            ["api", "partner", "v3", "chats", chat, "messages"] => ("v3", *chat),
            ["api", "partner", "v2", "chats", chat, "chat_messages"] => ("v2", *chat),
            _ => return None,
        };
        if r.method != "POST" {
            return None;
        }
        if let Some(refused) = unauthorized(r, version) {
            return Some(refused);
        }
        if let Some(scripted) = self.script.pop_front() {
            return Some(scripted);
        }
        if self.opted_out {
            return Some(error(403, 2024, "Recipient has opted out of messages"));
        }
        let message = body.map(|b| b["message"].clone()).unwrap_or(Value::Null);
        let key = message["idempotency_key"].as_str().map(str::to_string);
        if let Some(existing) = key.as_ref().and_then(|k| self.by_key.get(k)) {
            return Some(ok(version, chat, existing, true));
        }
        let sent = self.accept(version, &message);
        if let Some(key) = key {
            self.by_key.insert(key, sent.clone());
        }
        Some(ok(version, chat, &sent, false))
    }

    fn accept(&mut self, version: &str, message: &Value) -> Value {
        let n = self.accepted.len() + 1;
        let sent = match version {
            "v3" => json!({"id": format!("sent-{n:04}-0000-4000-8000-000000000000"),
                "created_at": chrono::Utc::now().to_rfc3339(), "delivery_status": "pending",
                "is_read": false, "parts": message["parts"], "sent_at": null, "delivered_at": null,
                "from_handle": null, "service": null, "preferred_service": null, "effect": null,
                "reply_to": message["reply_to"]}),
            _ => {
                json!({"id": 9000 + n, "text": message["text"], "sent_at": chrono::Utc::now().to_rfc3339(),
                "delivered_at": null, "delivery_status": "pending", "is_read": false})
            }
        };
        self.accepted.push(sent.clone());
        sent
    }
}

fn ok(version: &str, chat: &str, sent: &Value, repeat: bool) -> Scripted {
    match version {
        "v3" => (
            200,
            vec![],
            json!({"chat_id": chat, "message": sent}).to_string(),
        ),
        _ => (
            if repeat { 200 } else { 201 },
            vec![],
            json!({"data": sent}).to_string(),
        ),
    }
}

/// Linq's v3 error body.
/// Linq's 401 unless `r` carries the test token the way `version` sends it (v3 a bearer, v2
/// its own header).
pub fn unauthorized(r: &Request, version: &str) -> Option<Scripted> {
    let authorized = match version {
        "v3" => r.header("authorization") == Some(format!("Bearer {TOKEN}")),
        _ => r.header("x-linq-integration-token").as_deref() == Some(TOKEN),
    };
    (!authorized).then(|| error(401, 2004, "Unauthorized"))
}

pub fn error(status: u16, code: i64, message: &str) -> Scripted {
    (
        status,
        vec![],
        json!({"success": false, "error": {"status": status, "code": code, "message": message},
               "trace_id": "0af7651916cd43dd8448eb211c80319c"})
        .to_string(),
    )
}
