//! What the fake Linq answers the composer: attachment pre-upload (`linq-api.md` §7):
//! `POST /api/partner/v3/attachments` answers an `attachment_id` and an `upload_url` on the fake
//! itself with `required_headers`; `PUT` there takes the bytes. Both are recorded, so a test can
//! check the exact requests. And the typing indicator (§6.3, §13), with its documented statuses.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::linq_fake::{Request, Scripted, TOKEN};
use crate::linq_fake_send::error;

/// Where the fake takes uploaded bytes (as Linq's storage would, on another path).
pub const UPLOAD_TARGET: &str = "/upload-target/";

#[derive(Default)]
pub struct Uploads {
    /// Each pre-upload's request body (`filename`, `content_type`, `size_bytes`), in order.
    pub created: Vec<Value>,
    /// The bytes and `Content-Type` PUT to each attachment's upload URL.
    pub received: HashMap<String, (Vec<u8>, Option<String>)>,
}

/// v3 `POST`/`DELETE .../chats/{id}/typing` (204), v2 `POST .../start_typing` (201) and
/// `DELETE .../stop_typing` (204); `None` for any other request.
pub fn typing(r: &Request) -> Option<Scripted> {
    let path = r.target.split('?').next().unwrap_or_default();
    let status = match (r.method.as_str(), path.rsplit('/').next()?) {
        ("POST" | "DELETE", "typing") if path.starts_with("/api/partner/v3/chats/") => 204,
        ("POST", "start_typing") if path.starts_with("/api/partner/v2/chats/") => 201,
        ("DELETE", "stop_typing") if path.starts_with("/api/partner/v2/chats/") => 204,
        _ => return None,
    };
    Some((status, vec![], String::new()))
}

impl Uploads {
    /// The answer to a pre-upload or an upload, or `None` when `r` is neither.
    pub fn answer(&mut self, r: &Request, body: Option<&Value>, base: &str) -> Option<Scripted> {
        let path = r.target.split('?').next().unwrap_or_default();
        if let Some(id) = path.strip_prefix(UPLOAD_TARGET) {
            if r.method != "PUT" || !self.created.iter().any(|c| c["id"] == id) {
                return Some(error(404, 2001, "no such upload"));
            }
            self.received
                .insert(id.to_string(), (r.body.clone(), r.header("content-type")));
            return Some((200, vec![], String::new()));
        }
        if path != "/api/partner/v3/attachments" || r.method != "POST" {
            return None;
        }
        if r.header("authorization") != Some(format!("Bearer {TOKEN}")) {
            return Some(error(401, 2004, "Unauthorized"));
        }
        let request = body.cloned().unwrap_or(Value::Null);
        let size = request["size_bytes"].as_u64().unwrap_or(0);
        if size > 100 * 1024 * 1024 {
            return Some(error(400, 1001, "size_bytes exceeds 100 MB"));
        }
        let id = format!(
            "att-{:04}-0000-4000-8000-000000000000",
            self.created.len() + 1
        );
        let mut recorded = request.clone();
        recorded["id"] = json!(id);
        self.created.push(recorded);
        let content_type = request["content_type"].clone();
        Some((
            200,
            vec![],
            json!({"attachment_id": id, "upload_url": format!("{base}{UPLOAD_TARGET}{id}"),
                   "http_method": "PUT", "required_headers": {"Content-Type": content_type},
                   "expires_at": chrono::Utc::now().to_rfc3339(),
                   "download_url": format!("https://cdn.linqapp.com/attachments/partners/p/{id}/file")})
            .to_string(),
        ))
    }
}
