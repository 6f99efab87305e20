//! The fake Linq's v3 webhook subscriptions and lines (`linq-api.md` §8–9): flat bodies,
//! `Authorization: Bearer`, a `signing_secret` (`whsec_` + base64) answered only by the create,
//! `target_url` unique per account (409 otherwise), and v3's error body.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::linq_fake::{FakeLinq, Request, Scripted, TOKEN};

pub const V3_PATH: &str = "/api/partner/v3/webhook-subscriptions";
pub const V3_LINES_PATH: &str = "/api/partner/v3/phone_numbers";
pub const V3_ATTACHMENTS_PATH: &str = "/api/partner/v3/attachments";

/// The v3 side of the fake account.
#[derive(Clone, Default)]
pub struct V3State {
    pub subscriptions: Arc<Mutex<Vec<Value>>>,
    /// The signing secret issued for each subscription id, as Linq keeps it to sign with.
    pub secrets: Arc<Mutex<Vec<(String, String)>>>,
    /// The account's lines (E.164).
    pub lines: Arc<Mutex<Vec<String>>>,
    /// Attachment id → its current `download_url` (`GET /v3/attachments/{id}`).
    pub attachments: Arc<Mutex<Vec<(String, String)>>>,
    next: Arc<Mutex<u32>>,
}

/// A v3 error body (§1.2).
pub fn v3_error(status: u16, code: u32, message: &str) -> Scripted {
    let body = json!({"success": false, "error": {"status": status, "code": code,
        "message": message}, "trace_id": "0af7651916cd43dd8448eb211c80319c"});
    (status, vec![], body.to_string())
}

impl V3State {
    /// The secret Linq signs `id`'s deliveries with.
    pub fn secret_of(&self, id: &str) -> Option<String> {
        let secrets = self.secrets.lock().unwrap();
        secrets
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, s)| s.clone())
    }

    pub fn list(&self) -> Vec<Value> {
        self.subscriptions.lock().unwrap().clone()
    }

    /// A subscription made elsewhere (the dashboard, another app).
    pub fn add(&self, id: &str, target_url: &str) {
        self.subscriptions.lock().unwrap().push(json!({
            "id": id, "target_url": target_url, "subscribed_events": ["message.received"],
            "is_active": true, "phone_numbers": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}));
    }
}

impl FakeLinq {
    /// The answer to a v3 subscription or lines request; `None` for any other path.
    pub fn answer_v3(&self, r: &Request, body: Option<&Value>) -> Option<Scripted> {
        let path = r.target.split('?').next().unwrap_or_default();
        let attachment = path.strip_prefix(V3_ATTACHMENTS_PATH);
        if path != V3_LINES_PATH && !path.starts_with(V3_PATH) && attachment.is_none() {
            return None;
        }
        if r.header("authorization") != Some(format!("Bearer {TOKEN}")) {
            return Some(v3_error(401, 2004, "Unauthorized"));
        }
        if let Some(id) = attachment {
            return Some(self.v3_attachment(id.trim_start_matches('/')));
        }
        if path == V3_LINES_PATH {
            let lines = self.v3.lines.lock().unwrap().clone();
            let list: Vec<Value> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    json!({
                "id": format!("00000000-0000-4000-8000-00000000000{i}"), "phone_number": l,
                "reputation": {"status": "HEALTHY", "doc_url": "https://docs.linqapp.com"},
                "forwarding_number": null})
                })
                .collect();
            return Some((200, vec![], json!({"phone_numbers": list}).to_string()));
        }
        let id = path[V3_PATH.len()..].trim_start_matches('/');
        Some(self.v3_subscription(r.method.as_str(), id, body))
    }

    /// `GET /v3/attachments/{id}` (§7): the metadata and a download URL.
    fn v3_attachment(&self, id: &str) -> Scripted {
        let known = self.v3.attachments.lock().unwrap();
        match known.iter().find(|(i, _)| i == id) {
            Some((id, url)) => {
                let body = json!({"id": id, "filename": "photo.png", "content_type": "image/png",
                    "size_bytes": 68, "created_at": "2026-12-04T00:00:00Z", "status": "complete",
                    "download_url": url});
                (200, vec![], body.to_string())
            }
            None => v3_error(404, 2001, "attachment not found"),
        }
    }

    fn v3_subscription(&self, method: &str, id: &str, body: Option<&Value>) -> Scripted {
        let mut subs = self.v3.subscriptions.lock().unwrap();
        let position = subs.iter().position(|s| s["id"] == id);
        let taken = |url: &Value, except: Option<usize>| {
            subs.iter()
                .enumerate()
                .any(|(i, s)| Some(i) != except && &s["target_url"] == url)
        };
        match (method, id.is_empty(), position) {
            ("GET", true, _) => (200, vec![], json!({"subscriptions": *subs}).to_string()),
            ("GET", false, Some(i)) => (200, vec![], subs[i].to_string()),
            ("POST", true, _) => {
                let Some(b) = body.filter(|b| b["target_url"].is_string()) else {
                    return v3_error(400, 1001, "target_url is required");
                };
                if !b["subscribed_events"].is_array() {
                    return v3_error(400, 1001, "subscribed_events is required");
                }
                if taken(&b["target_url"], None) {
                    return v3_error(
                        409,
                        1005,
                        "a subscription with this target_url already exists",
                    );
                }
                let mut next = self.v3.next.lock().unwrap();
                *next += 1;
                let new_id = format!("b1e2c3d4-0000-4000-8000-{:012}", *next);
                let secret = format!(
                    "whsec_{}",
                    base64::engine::general_purpose::STANDARD.encode(format!("fake-key-{new_id}"))
                );
                let sub = json!({"id": new_id, "target_url": b["target_url"],
                    "subscribed_events": b["subscribed_events"], "is_active": true,
                    "phone_numbers": b.get("phone_numbers").cloned().unwrap_or(Value::Null),
                    "created_at": "2026-12-04T00:00:00Z", "updated_at": "2026-12-04T00:00:00Z"});
                subs.push(sub.clone());
                self.v3
                    .secrets
                    .lock()
                    .unwrap()
                    .push((new_id, secret.clone()));
                let mut answer = sub;
                answer["signing_secret"] = json!(secret);
                (201, vec![], answer.to_string())
            }
            ("PUT", false, Some(i)) => {
                let b = body.cloned().unwrap_or(Value::Null);
                if b.get("target_url").is_some() && taken(&b["target_url"], Some(i)) {
                    return v3_error(
                        409,
                        1005,
                        "a subscription with this target_url already exists",
                    );
                }
                for key in [
                    "target_url",
                    "subscribed_events",
                    "is_active",
                    "phone_numbers",
                ] {
                    if let Some(v) = b.get(key) {
                        subs[i][key] = v.clone();
                    }
                }
                if subs[i]["phone_numbers"] == json!([]) {
                    subs[i]["phone_numbers"] = Value::Null;
                }
                (200, vec![], subs[i].to_string())
            }
            ("DELETE", false, Some(i)) => {
                subs.remove(i);
                (204, vec![], String::new())
            }
            (_, false, None) => v3_error(404, 2001, "webhook subscription not found"),
            _ => v3_error(405, 1003, "method not allowed"),
        }
    }
}
