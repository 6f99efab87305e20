//! Sending the rep's reply (`linq-api.md` §5): v3 `POST /v3/chats/{id}/messages` with the
//! message's `idempotency_key`, v2 `POST .../chats/{id}/chat_messages` with
//! `message[idempotency_key]`. Linq deduplicates by the key, so sending the same reply again
//! after a crash returns the message it already has rather than a second one.

use serde_json::{json, Value};

use super::error::LinqApiError;
use super::rest::Rest;
use crate::config::linq::ApiVersion;
use crate::store::outbox::Queued;

impl Rest {
    /// Sends `reply` with idempotency key `key`, its files read from `kept` (the data folder's
    /// attachment store); Linq's id for the message.
    pub async fn send_message(
        &self,
        reply: &Queued,
        key: &str,
        kept: &std::path::Path,
    ) -> Result<String, LinqApiError> {
        let chat = path_segment(&reply.chat_id)?;
        let answer = match self.version() {
            ApiVersion::V3 => {
                let media = self.upload_all(&reply.attachments, kept).await?;
                let path = self.partner_path(&format!("chats/{chat}/messages"));
                self.post(&path, &v3_body(reply, key, &media)).await?
            }
            // v2 takes a form (`linq-api.md` §14) and has no reply-to.
            ApiVersion::V2 => {
                let path = self.partner_path(&format!("chats/{chat}/chat_messages"));
                let fields = [
                    ("message[text]", reply.text.clone()),
                    ("message[idempotency_key]", key.to_string()),
                ];
                if reply.attachments.is_empty() {
                    self.post_multipart(&path, &fields).await?
                } else {
                    let files = super::upload::v2_parts(&reply.attachments, kept).await?;
                    self.post_multipart_files(&path, &fields, &files).await?
                }
            }
        };
        sent_id(&answer).ok_or_else(|| LinqApiError::BadAnswer {
            reason: "it does not name the sent message".into(),
        })
    }
}

fn v3_body(reply: &Queued, key: &str, media: &[String]) -> Value {
    let mut parts = Vec::new();
    if !reply.text.is_empty() {
        parts.push(json!({"type": "text", "value": reply.text}));
    }
    parts.extend(
        media
            .iter()
            .map(|id| json!({"type": "media", "attachment_id": id})),
    );
    let mut message = json!({
        "parts": parts,
        "idempotency_key": key,
    });
    if let Some(target) = &reply.reply_to {
        message["reply_to"] = json!({"message_id": target});
    }
    json!({"message": message})
}

/// The sent message's id: v3 `{chat_id, message: {id}}`, v2 `{data: {id}}` (a number).
fn sent_id(answer: &Value) -> Option<String> {
    let id = answer
        .pointer("/message/id")
        .or_else(|| answer.pointer("/data/id"))?;
    match id {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An id as one path segment: Linq's ids are UUIDs or numbers, never a path.
pub(super) fn path_segment(id: &str) -> Result<&str, LinqApiError> {
    let fits = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fits {
        Ok(id)
    } else {
        Err(LinqApiError::Rejected {
            message: format!("{id:?} is not a Linq chat id"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sent_id_is_read_from_either_version() {
        assert_eq!(
            sent_id(&json!({"chat_id": "c", "message": {"id": "m-1"}})).as_deref(),
            Some("m-1"),
            "v3 names it under message"
        );
        assert_eq!(
            sent_id(&json!({"data": {"id": 42}})).as_deref(),
            Some("42"),
            "v2 names it under data, as a number"
        );
        assert_eq!(
            sent_id(&json!({})),
            None,
            "an answer without an id is no answer"
        );
    }

    #[test]
    fn a_reply_to_rides_in_the_v3_message() {
        let reply = Queued {
            chat_id: "c".into(),
            text: "Friday works".into(),
            reply_to: Some("m9".into()),
            attachments: Vec::new(),
        };
        let body = v3_body(&reply, "k1", &["att-1".to_string()]);
        assert_eq!(
            body["message"]["idempotency_key"], "k1",
            "the key is the client's id"
        );
        assert_eq!(
            body["message"]["reply_to"]["message_id"], "m9",
            "the quoted message"
        );
        assert_eq!(
            body["message"]["parts"][0]["value"], "Friday works",
            "the text part"
        );
        assert_eq!(
            body["message"]["parts"][1],
            json!({"type": "media", "attachment_id": "att-1"}),
            "a pre-uploaded file is a media part after the text"
        );
    }

    #[test]
    fn a_chat_id_cannot_leave_its_path_segment() {
        assert!(
            path_segment("../webhook_subscriptions").is_err(),
            "no path in an id"
        );
        assert!(path_segment("6f1c-aa").is_ok(), "a uuid is one segment");
    }
}
