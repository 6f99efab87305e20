//! The fake Linq's reactions and read marks (`linq-api.md` §6, §13, §14): v3 `POST
//! /api/partner/v3/messages/{id}/reactions` `{operation, type}` and `POST .../v3/chats/{id}/read`;
//! v2 `POST /api/partner/v2/chat_messages/{id}/reactions` `{type, operation}` and `PUT
//! .../v2/chats/{id}/mark_as_read`. It keeps the reactions the rep has on each message the way
//! Linq would (adding one that is there changes nothing), and fails on command: a script of
//! answers for these calls only.

use std::collections::{BTreeSet, VecDeque};

use serde_json::{json, Value};

use crate::linq_fake::{Request, Scripted};
use crate::linq_fake_send::{error, unauthorized};

#[derive(Default)]
pub struct Actions {
    /// Answers to give to the next reaction or read calls instead of the normal one.
    pub script: VecDeque<Scripted>,
    /// The rep's reactions as Linq holds them: (message id, type).
    pub reactions: BTreeSet<(String, String)>,
    /// Chats marked read, one entry per call that succeeded.
    pub reads: Vec<String>,
}

impl Actions {
    /// The answer to a reaction or read call, or `None` when `r` is not one.
    pub fn answer(&mut self, r: &Request, body: Option<&Value>) -> Option<Scripted> {
        let path = r.target.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (version, call, id) = match (r.method.as_str(), parts.as_slice()) {
            ("POST", ["api", "partner", "v3", "messages", id, "reactions"]) => ("v3", "react", *id),
            ("POST", ["api", "partner", "v2", "chat_messages", id, "reactions"]) => {
                ("v2", "react", *id)
            }
            ("POST", ["api", "partner", "v3", "chats", id, "read"]) => ("v3", "read", *id),
            ("PUT", ["api", "partner", "v2", "chats", id, "mark_as_read"]) => ("v2", "read", *id),
            _ => return None,
        };
        if let Some(refused) = unauthorized(r, version) {
            return Some(refused);
        }
        if let Some(scripted) = self.script.pop_front() {
            return Some(scripted);
        }
        if call == "read" {
            self.reads.push(id.to_string());
            return Some((204, vec![], String::new()));
        }
        Some(self.react(version, id, body.unwrap_or(&Value::Null)))
    }

    fn react(&mut self, version: &str, message: &str, body: &Value) -> Scripted {
        let (Some(kind), Some(operation)) = (body["type"].as_str(), body["operation"].as_str())
        else {
            return error(400, 1001, "type and operation are required");
        };
        let key = (message.to_string(), kind.to_string());
        match operation {
            "add" => self.reactions.insert(key),
            "remove" => self.reactions.remove(&key),
            _ => return error(400, 1001, "operation must be add or remove"),
        };
        match version {
            "v3" => (
                200,
                vec![],
                json!({"message": "Reaction processed", "status": "ok",
                       "trace_id": "0af7651916cd43dd8448eb211c80319c"})
                .to_string(),
            ),
            _ => (
                201,
                vec![],
                json!({"data": {"id": 7001, "chat_message_id": message, "reaction": kind,
                       "is_from_me": true, "from_phone": null,
                       "sent_at": chrono::Utc::now().to_rfc3339()}})
                .to_string(),
            ),
        }
    }
}
