//! `POST /api/messages/{id}/reactions` (`{"reaction", "operation": "add"/"remove",
//! "client_id"?}`): the rep's tapback through the outbox. Committed first (queue and log row in
//! one transaction), shown at once on the bubble as the rep's own reaction with `status`
//! `sending`, then sent by the outbox's sender. The same `client_id` again is the same change;
//! without one, a change the outbox is already sending for that reaction is that change, so a
//! double click is one request either way. 202 with the message as the thread shows it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::state::ApiState;
use crate::store::names::Names;
use crate::store::outbox::reactions::{enqueue, ReactionRequest, TAPBACKS};
use crate::store::{messages, now_millis, StoreError};

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/messages/{id}/reactions", axum::routing::post(react))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    reaction: String,
    operation: String,
    client_id: Option<String>,
}

async fn react(
    State(s): State<Arc<ApiState>>,
    Path(message_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: Body = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "the reaction must be JSON with reaction and operation ({e})"
        ))
    })?;
    check(&body)?;
    let id = message_id.clone();
    let chat_id = s
        .read(move |c| chat_of(c, &id))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such message"))?;
    let request = ReactionRequest {
        message_id: message_id.clone(),
        chat_id,
        reaction: body.reaction,
        operation: body.operation,
    };
    let client_id = body
        .client_id
        .unwrap_or_else(crate::store::outbox::new_client_id);
    s.ingest
        .run(move |c| queue_unless_sending(c, &client_id, &request).map(|q| json!(q)))
        .await?;
    s.outbox.wake();
    let message = s
        .read(move |c| messages::message(c, &mut Names::new(c), &message_id))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!(message))).into_response())
}

fn bad(sentence: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, sentence)
}

fn check(body: &Body) -> Result<(), ApiError> {
    if !TAPBACKS.contains(&body.reaction.as_str()) {
        return Err(bad(format!(
            "reaction must be one of {}",
            TAPBACKS.join(", ")
        )));
    }
    if body.operation != "add" && body.operation != "remove" {
        return Err(bad("operation must be add or remove"));
    }
    match &body.client_id {
        Some(id) => super::outbox::check_client_id(id),
        None => Ok(()),
    }
}

fn chat_of(conn: &Connection, message_id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT chat_id FROM messages WHERE id = ?1")?
        .query_row([message_id], |r| r.get(0))
        .optional()?)
}

/// Queues the change unless the outbox is sending the very same one for that reaction.
fn queue_unless_sending(
    conn: &Connection,
    client_id: &str,
    request: &ReactionRequest,
) -> Result<bool, StoreError> {
    let sending: Option<String> = conn
        .prepare_cached(
            "SELECT operation FROM outbox_reactions
             WHERE message_id = ?1 AND reaction_key = ?1 || ':0:me:' || ?2 || ':' AND state = 'sending'",
        )?
        .query_row([&request.message_id, &request.reaction], |r| r.get(0))
        .optional()?;
    if sending.as_deref() == Some(request.operation.as_str()) {
        return Ok(false);
    }
    enqueue(conn, client_id, request, now_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(reaction: &str, operation: &str, client_id: Option<&str>) -> Body {
        Body {
            reaction: reaction.into(),
            operation: operation.into(),
            client_id: client_id.map(str::to_string),
        }
    }

    #[test]
    fn only_the_six_tapbacks_and_add_or_remove_pass() {
        assert!(check(&body("love", "add", None)).is_ok(), "a tapback added");
        assert!(
            check(&body("question", "remove", Some("0123456789ab"))).is_ok(),
            "a tapback removed with a key"
        );
        assert!(
            check(&body("custom", "add", None)).is_err(),
            "not a tapback"
        );
        assert!(
            check(&body("like", "toggle", None)).is_err(),
            "not an operation"
        );
        assert!(
            check(&body("like", "add", Some("../x"))).is_err(),
            "a key is letters, digits, - or _"
        );
    }

    #[test]
    fn a_made_up_client_id_is_a_valid_key() {
        let id = crate::store::outbox::new_client_id();
        assert!(
            check(&body("like", "add", Some(&id))).is_ok(),
            "the key {id} passes the same check"
        );
        assert_ne!(id, crate::store::outbox::new_client_id(), "each is new");
    }
}
