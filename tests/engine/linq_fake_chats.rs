//! The fake Linq's new conversations (`linq-api.md` §5.3, §13): v3 `POST /api/partner/v3/chats`
//! `{from, to, message}` → `{chat: {id, ..., message}}`, v2 `POST /api/partner/v2/chats`
//! `{send_from, chat: {phone_numbers}, message: {text, idempotency_key}}` → `{data: {id, ...,
//! chat_messages}}`. Like Linq it keys chats on the line and the participants (the same call
//! again returns the same chat) and deduplicates the first message by its idempotency key.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::linq_fake::{Request, Scripted};
use crate::linq_fake_send::{error, unauthorized};

#[derive(Default)]
pub struct NewChats {
    /// Chats by (line, participants), as created.
    pub chats: HashMap<(String, Vec<String>), String>,
    /// First messages accepted, one per idempotency key.
    pub messages: HashMap<String, String>,
}

impl NewChats {
    /// The answer to a chat creation, or `None` when `r` is not one.
    pub fn answer(&mut self, r: &Request, body: Option<&Value>) -> Option<Scripted> {
        let path = r.target.split('?').next().unwrap_or_default();
        let version = match (r.method.as_str(), path) {
            ("POST", "/api/partner/v3/chats") => "v3",
            ("POST", "/api/partner/v2/chats") => "v2",
            _ => return None,
        };
        if let Some(refused) = unauthorized(r, version) {
            return Some(refused);
        }
        let body = body.cloned().unwrap_or(Value::Null);
        let (from, to, key) = match version {
            "v3" => (
                &body["from"],
                &body["to"],
                &body["message"]["idempotency_key"],
            ),
            _ => (
                &body["send_from"],
                &body["chat"]["phone_numbers"],
                &body["message"]["idempotency_key"],
            ),
        };
        let (Some(from), Some(to)) = (from.as_str(), to.as_array()) else {
            return Some(error(400, 1001, "from and to are required"));
        };
        let mut to: Vec<String> = to
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        to.sort();
        let n = self.chats.len() + 1;
        let chat_id = self
            .chats
            .entry((from.to_string(), to.clone()))
            .or_insert_with(|| match version {
                "v3" => format!("c-new-{n:04}"),
                _ => format!("{}", 7000 + n),
            })
            .clone();
        let m = self.messages.len() + 1;
        let message_id = self
            .messages
            .entry(key.as_str().unwrap_or_default().to_string())
            .or_insert_with(|| match version {
                "v3" => format!("first-{m:04}-0000-4000-8000-000000000000"),
                _ => format!("{}", 8000 + m),
            })
            .clone();
        let handles: Vec<Value> = std::iter::once(json!({"handle": from, "is_me": true}))
            .chain(to.iter().map(|t| json!({"handle": t, "is_me": false})))
            .collect();
        let answer = match version {
            "v3" => json!({"chat": {"id": chat_id, "display_name": null, "handles": handles,
                "health_status": {"status": "HEALTHY"}, "is_group": to.len() > 1, "service": "iMessage",
                "message": {"id": message_id, "created_at": chrono::Utc::now().to_rfc3339(),
                    "delivery_status": "pending", "is_read": false, "parts": body["message"]["parts"],
                    "sent_at": null, "delivered_at": null}}}),
            _ => {
                json!({"data": {"id": chat_id.parse::<i64>().unwrap_or_default(), "display_name": null,
                "service": "iMessage", "group": false, "chat_handles": [],
                "chat_messages": {"id": message_id.parse::<i64>().unwrap_or_default(),
                    "text": body["message"]["text"], "delivery_status": "pending", "is_read": false}}})
            }
        };
        Some((
            if version == "v3" { 201 } else { 200 },
            vec![],
            answer.to_string(),
        ))
    }
}
