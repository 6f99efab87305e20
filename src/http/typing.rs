//! `POST /api/chats/{chat_id}/typing` `{"typing": true|false}`: the composer says the rep is
//! typing or stopped. Forwarded to Linq (best effort, throttled: `linq_api::typing`) only in a
//! one-to-one iMessage chat; the answer says whether it was.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::state::ApiState;
use crate::store::chats::service::{typing_target, TypingTarget};

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/chats/{chat_id}/typing", post(typing))
        .with_state(state)
}

#[derive(Deserialize)]
struct TypingBody {
    typing: bool,
}

async fn typing(
    State(s): State<Arc<ApiState>>,
    Path(chat_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: TypingBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "typing must be JSON {{\"typing\": true or false}} ({e})"
        ))
    })?;
    let id = chat_id.clone();
    let target = s.read(move |c| typing_target(c, &id)).await?;
    let forwarded = match target {
        TypingTarget::NoSuchChat => return Err(ApiError::not_found("no such chat")),
        TypingTarget::Group | TypingTarget::NotIMessage => false,
        TypingTarget::Shown => {
            s.typing.note(&chat_id, body.typing);
            true
        }
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"typing": body.typing, "forwarded": forwarded})),
    )
        .into_response())
}
