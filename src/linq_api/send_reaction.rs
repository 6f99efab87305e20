//! The rep's reactions and read marks at Linq (`linq-api.md` §6, §13, §14). Reactions: v3
//! `POST /v3/messages/{id}/reactions` `{operation, type}`, v2 `POST
//! /api/partner/v2/chat_messages/{id}/reactions` `{type, operation}` (the six tapbacks). Read
//! marks: v3 `POST /v3/chats/{id}/read`, v2 `PUT /api/partner/v2/chats/{id}/mark_as_read`, no
//! body either way. Neither takes an idempotency key; both are idempotent by nature (adding a
//! reaction that is there, or marking a read chat read, changes nothing), so a change sent again
//! after a crash leaves Linq as one send would.

use reqwest::Method;
use serde_json::{json, Value};

use super::error::LinqApiError;
use super::rest::Rest;
use super::send::path_segment;
use crate::config::linq::ApiVersion;

impl Rest {
    /// Adds or removes (`operation`) the tapback `reaction` on Linq's message `message_id`;
    /// what Linq answered to name it by (v2's reaction id, v3's trace id), possibly empty.
    pub async fn send_reaction(
        &self,
        message_id: &str,
        reaction: &str,
        operation: &str,
    ) -> Result<String, LinqApiError> {
        let message = path_segment(message_id)?;
        let (path, body) = match self.version() {
            ApiVersion::V3 => (
                self.partner_path(&format!("messages/{message}/reactions")),
                json!({"operation": operation, "type": reaction}),
            ),
            ApiVersion::V2 => (
                self.partner_path(&format!("chat_messages/{message}/reactions")),
                json!({"type": reaction, "operation": operation}),
            ),
        };
        let answer = self.post(&path, &body).await?;
        Ok(answer_id(&answer))
    }

    /// Marks every message of Linq's chat `chat_id` read.
    pub async fn mark_chat_read(&self, chat_id: &str) -> Result<(), LinqApiError> {
        let chat = path_segment(chat_id)?;
        match self.version() {
            ApiVersion::V3 => {
                let path = self.partner_path(&format!("chats/{chat}/read"));
                self.request(Method::POST, &path, &[], None).await?;
            }
            ApiVersion::V2 => {
                let path = self.partner_path(&format!("chats/{chat}/mark_as_read"));
                self.request(Method::PUT, &path, &[], None).await?;
            }
        }
        Ok(())
    }
}

/// v2 `{data: {id}}`, else v3's `trace_id`, else nothing.
fn answer_id(answer: &Value) -> String {
    match answer
        .pointer("/data/id")
        .or_else(|| answer.get("trace_id"))
    {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaction_is_named_by_v2_id_or_v3_trace() {
        assert_eq!(
            answer_id(&json!({"data": {"id": 7}})),
            "7",
            "v2's reaction id"
        );
        assert_eq!(
            answer_id(&json!({"status": "ok", "trace_id": "t1"})),
            "t1",
            "v3's trace id"
        );
        assert_eq!(
            answer_id(&Value::Null),
            "",
            "a bodyless answer names nothing"
        );
    }
}
