//! A chat's draft (`GET/PUT/DELETE /api/chats/{chat_id}/draft`): the composer saves what the rep
//! types (debounced) and restores it when the chat opens again, across restarts of the app.
//! Local state (`store::drafts`), written through the writer like every other write.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::outbox::MAX_TEXT;
use super::state::ApiState;
use crate::store::{drafts, now_millis};

/// The longest message id a draft may quote (Linq's are UUIDs or numbers).
const MAX_ID: usize = 128;

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route(
            "/api/chats/{chat_id}/draft",
            get(read).put(save).delete(discard),
        )
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftBody {
    text: String,
    #[serde(default)]
    reply_to: Option<String>,
}

/// `GET`: the draft, or 404 when the chat has none.
async fn read(
    State(s): State<Arc<ApiState>>,
    Path(chat_id): Path<String>,
) -> Result<Response, ApiError> {
    let draft = s.read(move |c| drafts::get(c, &chat_id)).await?;
    match draft {
        Some(d) => Ok(Json(d).into_response()),
        None => Err(ApiError::not_found("this chat has no draft")),
    }
}

/// `PUT {"text", "reply_to"?}`: keeps it (an empty one clears it); 204.
async fn save(
    State(s): State<Arc<ApiState>>,
    Path(chat_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let draft: DraftBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "a draft must be JSON with text and an optional reply_to ({e})"
        ))
    })?;
    check(&draft)?;
    s.known_chat(&chat_id).await?;
    let reply_to = draft.reply_to.filter(|r| !r.is_empty());
    s.ingest
        .run(move |c| {
            drafts::put(c, &chat_id, &draft.text, reply_to.as_deref(), now_millis())
                .map(|()| Value::Null)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE`: drops the draft (there may be none); 204.
async fn discard(
    State(s): State<Arc<ApiState>>,
    Path(chat_id): Path<String>,
) -> Result<Response, ApiError> {
    s.ingest
        .run(move |c| drafts::clear(c, &chat_id).map(|()| Value::Null))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn check(draft: &DraftBody) -> Result<(), ApiError> {
    if draft.text.chars().count() > MAX_TEXT {
        return Err(ApiError::bad_request(format!(
            "a draft is longer than Linq's {MAX_TEXT} characters"
        )));
    }
    if draft.reply_to.as_ref().is_some_and(|r| r.len() > MAX_ID) {
        return Err(ApiError::bad_request(
            "reply_to is not a message id (too long)",
        ));
    }
    Ok(())
}
