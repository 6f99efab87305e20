//! `POST /api/chats` (`{"to", "from", "text", "client_id"}`): a new conversation through the
//! outbox. `to` is an E.164 number, `from` one of the account's lines. When the inbox already
//! has the one-to-one chat with `to` on that line, the message is a reply in it; otherwise it
//! waits in a provisional chat (`new:{client_id}`) that becomes Linq's chat when Linq answers
//! (`store/outbox/new_chat.rs`). 202 with `chat_id` (where the rep lands) and the message as
//! the thread shows it, `status` `sending`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::outbox::{check_client_id, MAX_TEXT};
use super::state::ApiState;
use crate::store::names::Names;
use crate::store::outbox::new_chat::{enqueue, existing_chat};
use crate::store::outbox::project::bubble_by_client;
use crate::store::outbox::{queue, Queued};
use crate::store::{messages, now_millis, StoreError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChatBody {
    to: String,
    from: String,
    text: String,
    client_id: String,
}

fn bad(sentence: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, sentence)
}

/// Whether `n` is an E.164 number: `+`, a country code not starting with 0, 8 to 15 digits.
pub fn is_e164(n: &str) -> bool {
    n.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

fn check(body: &NewChatBody) -> Result<(), ApiError> {
    check_client_id(&body.client_id)?;
    if !is_e164(&body.to) {
        return Err(bad(
            "to must be a phone number in international form, like +14155550123",
        ));
    }
    if !is_e164(&body.from) {
        return Err(bad(
            "from must be one of your Linq numbers, like +14155550100",
        ));
    }
    if body.text.trim().is_empty() {
        return Err(bad("the message is empty"));
    }
    if body.text.chars().count() > MAX_TEXT {
        return Err(bad(format!(
            "the message is longer than Linq's {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

/// `POST /api/chats`.
pub async fn create(
    State(s): State<Arc<ApiState>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: NewChatBody = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "a new conversation must be JSON with to, from, text and client_id ({e})"
        ))
    })?;
    check(&body)?;
    let client_id = body.client_id.clone();
    let chat_id = s
        .ingest
        .run(move |c| queue_first(c, &body).map(Value::String))
        .await?;
    s.outbox.wake();
    let message = s
        .read(move |c| {
            let Some(id) = bubble_by_client(c, &client_id)? else {
                return Ok(None);
            };
            messages::message(c, &mut Names::new(c), &id)
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"chat_id": chat_id, "message": message})),
    )
        .into_response())
}

/// A reply in the chat the inbox has with `to` on that line, else the first message of a new
/// one; the chat's id either way.
fn queue_first(conn: &rusqlite::Connection, body: &NewChatBody) -> Result<String, StoreError> {
    let now = now_millis();
    if let Some(chat_id) = existing_chat(conn, &body.from, &body.to)? {
        let reply = Queued {
            chat_id: chat_id.clone(),
            text: body.text.clone(),
            reply_to: None,
            attachments: Vec::new(),
        };
        queue::enqueue(conn, &body.client_id, &reply, now)?;
        return Ok(chat_id);
    }
    enqueue(conn, &body.client_id, &body.from, &body.to, &body.text, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_international_numbers_pass() {
        assert!(is_e164("+14155550123"), "a US number");
        assert!(is_e164("+442071838750"), "a UK number");
        assert!(!is_e164("4155550123"), "no plus");
        assert!(!is_e164("+1 415 555 0123"), "spaces");
        assert!(!is_e164("+0123456789"), "no country code starts with 0");
        assert!(!is_e164("+1234567"), "too short");
        assert!(!is_e164("+1234567890123456"), "too long");
    }
}
