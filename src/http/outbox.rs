//! The outbox's UI API: `POST /api/chats/{chat_id}/messages` (a reply: committed, shown as
//! `sending`, 202), `POST /api/outbox/{id}/retry`, `DELETE /api/outbox/{id}` (a failed reply,
//! by its client id). The sender (`linq_api::outbox`) does the rest.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::state::ApiState;
use crate::store::names::Names;
use crate::store::outbox::project::bubble_by_client;
use crate::store::outbox::{queue, Queued};
use crate::store::{messages, now_millis, StoreError};

/// The longest reply Linq takes (`linq-api.md` §5.1: 10,000 characters).
pub const MAX_TEXT: usize = 10_000;

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/outbox/{id}/retry", post(retry))
        .route("/api/outbox/{id}", delete(drop_reply))
        .with_state(state)
}

/// A reply as the UI sends it; `client_id` is the client's own (the same one again is the same
/// reply).
#[derive(Deserialize)]
pub struct Reply {
    pub text: String,
    pub client_id: String,
    pub reply_to: Option<String>,
    /// Upload ids of files kept by `POST /api/uploads`.
    #[serde(default)]
    pub attachments: Vec<String>,
    /// Typed somewhere else than the composer (a notification's inline reply): the chat's draft
    /// is the rep's unfinished text in the window and stays. Never from the request body.
    #[serde(skip)]
    pub keeps_draft: bool,
}

/// `POST /api/chats/{chat_id}/messages`.
pub async fn send(
    State(s): State<Arc<ApiState>>,
    Path(chat_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let reply: Reply = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the reply must be JSON with text and client_id ({e})"),
        )
    })?;
    let message = queue_reply(&s, chat_id, reply).await?;
    Ok((StatusCode::ACCEPTED, Json(message)).into_response())
}

/// Queues `reply` in `chat_id` (committed before this returns) and wakes the sender; answers
/// the message as the thread shows it, `status` `sending`. The one way into the outbox for a
/// reply, whether the window or a notification's inline reply typed it.
pub async fn queue_reply(
    s: &Arc<ApiState>,
    chat_id: String,
    reply: Reply,
) -> Result<serde_json::Value, ApiError> {
    check(&reply)?;
    s.known_chat(&chat_id).await?;
    super::uploads::check_count(&reply.attachments)?;
    let client_id = reply.client_id.clone();
    let chat = chat_id.clone();
    let files = reply.attachments.clone();
    let text = reply.text.clone();
    let reply_to = reply.reply_to.clone().filter(|r| !r.is_empty());
    let clears_draft = !reply.keeps_draft;
    s.ingest
        .run(move |c| {
            // The files are read where the reply is queued: the sweep of files no reply names
            // cannot forget one in between.
            let queued = Queued {
                chat_id,
                text,
                reply_to,
                attachments: crate::store::uploads::named(c, &files)?,
            };
            // The reply leaves the composer: its draft goes in the same transaction.
            if clears_draft {
                crate::store::drafts::clear(c, &queued.chat_id)?;
            }
            queue::enqueue(c, &client_id, &queued, now_millis()).map(|q| json!(q))
        })
        .await?;
    s.outbox.wake();
    s.typing.replied(&chat);
    bubble(s, &reply.client_id).await
}

/// A client id is 8 to 64 letters, digits, `-` or `_` (Linq's key).
pub fn check_client_id(id: &str) -> Result<(), ApiError> {
    let id_fits = (8..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_fits {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "client_id must be 8 to 64 letters, digits, - or _ (a UUID)",
        ));
    }
    Ok(())
}

/// The same reply, or none.
fn check(reply: &Reply) -> Result<(), ApiError> {
    check_client_id(&reply.client_id)?;
    if reply.text.trim().is_empty() && reply.attachments.is_empty() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "the reply is empty"));
    }
    if reply.text.chars().count() > MAX_TEXT {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the reply is longer than Linq's {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

/// `POST /api/outbox/{id}/retry`: a failed reply goes back in the queue.
async fn retry(
    State(s): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let client_id = id.clone();
    let retried = s
        .ingest
        .run(move |c| queue::retry(c, &client_id, now_millis()).map(|r| json!(r)))
        .await?;
    if retried != json!(true) {
        return Err(not_failed(&s, id).await);
    }
    s.outbox.wake();
    Ok(Json(bubble(&s, &id).await?).into_response())
}

/// `DELETE /api/outbox/{id}`: a failed reply is dropped from the queue and the thread.
async fn drop_reply(
    State(s): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let client_id = id.clone();
    let deleted = s
        .ingest
        .run(move |c| queue::delete(c, &client_id, now_millis()).map(|r| json!(r)))
        .await?;
    if deleted != json!(true) {
        return Err(not_failed(&s, id).await);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// 404 for an unknown reply, 409 for one that is not failed.
async fn not_failed(s: &Arc<ApiState>, id: String) -> ApiError {
    match s.read(move |c| queue::row(c, &id)).await {
        Ok(Some(_)) => ApiError::new(
            StatusCode::CONFLICT,
            "only a reply that failed can be retried or deleted",
        ),
        Ok(None) => ApiError::new(StatusCode::NOT_FOUND, "no such reply in the outbox"),
        Err(e) => e,
    }
}

/// The reply's message as the thread shows it.
async fn bubble(s: &Arc<ApiState>, client_id: &str) -> Result<serde_json::Value, ApiError> {
    let client_id = client_id.to_string();
    let message = s.read(move |c| bubble_of_client(c, &client_id)).await?;
    message.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the reply is queued but the inbox has not shown it yet; reload in a moment",
        )
    })
}

fn bubble_of_client(
    conn: &Connection,
    client_id: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    let Some(id) = bubble_by_client(conn, client_id)? else {
        return Ok(None);
    };
    let message = messages::message(conn, &mut Names::new(conn), &id)?;
    Ok(message.and_then(|m| serde_json::to_value(m).ok()))
}
