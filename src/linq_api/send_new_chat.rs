//! Starting a conversation (`linq-api.md` §5.3, §13): v3 `POST /v3/chats` `{from, to: [handle],
//! message: {parts, idempotency_key}}` → `{chat: {id, message: {id}}}`; v2 `POST
//! /api/partner/v2/chats` `{send_from, chat: {phone_numbers}, message: {text, idempotency_key}}`
//! → `{data: {id, chat_messages}}`. Linq keys chats on the line and the participants, so the
//! same call again (after a crash) returns the same chat, and the key deduplicates the message.

use serde_json::{json, Value};

use super::error::LinqApiError;
use super::rest::Rest;
use crate::config::linq::ApiVersion;
use crate::linq::value::id_field;

impl Rest {
    /// Creates (or finds) the chat with `to` on the line `from` and sends `text` into it with
    /// idempotency key `key`; Linq's ids of the chat and of the message.
    pub async fn create_chat(
        &self,
        from: &str,
        to: &str,
        text: &str,
        key: &str,
    ) -> Result<(String, String), LinqApiError> {
        let path = self.partner_path("chats");
        let body = match self.version() {
            ApiVersion::V3 => json!({"from": from, "to": [to],
                "message": {"parts": [{"type": "text", "value": text}], "idempotency_key": key}}),
            ApiVersion::V2 => json!({"send_from": from, "chat": {"phone_numbers": [to]},
                "message": {"text": text, "idempotency_key": key}}),
        };
        let answer = self.post(&path, &body).await?;
        created_ids(&answer).ok_or_else(|| LinqApiError::BadAnswer {
            reason: "it does not name the chat and its message".into(),
        })
    }
}

/// v3 `{chat: {id, message: {id}}}`, v2 `{data: {id, chat_messages: {id} or [{id}]}}`.
fn created_ids(answer: &Value) -> Option<(String, String)> {
    match answer.get("chat") {
        Some(chat) => Some((id_field(chat, "id")?, id_field(chat.get("message")?, "id")?)),
        None => {
            let data = answer.get("data")?;
            let messages = data.get("chat_messages")?;
            let first = messages
                .as_array()
                .and_then(|a| a.first())
                .unwrap_or(messages);
            Some((id_field(data, "id")?, id_field(first, "id")?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chat_and_message_ids_are_read_from_either_version() {
        assert_eq!(
            created_ids(&json!({"chat": {"id": "c1", "message": {"id": "m1"}}})),
            Some(("c1".into(), "m1".into())),
            "v3 names both under chat"
        );
        assert_eq!(
            created_ids(&json!({"data": {"id": 5, "chat_messages": {"id": 9}}})),
            Some(("5".into(), "9".into())),
            "v2 numbers them, the message as an object"
        );
        assert_eq!(
            created_ids(&json!({"data": {"id": 5, "chat_messages": [{"id": 9}]}})),
            Some(("5".into(), "9".into())),
            "or as a list"
        );
        assert_eq!(
            created_ids(&json!({"chat": {"id": "c1"}})),
            None,
            "no message, no answer"
        );
    }
}
