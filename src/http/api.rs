//! The UI API: every `/api/*` endpoint of DESIGN.md, answered from reader connections.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::state::ApiState;
use crate::config::{self, SecretSource};
use crate::feed::{ActivityPage, Presence};
use crate::linq::standard_webhooks::{secret_kind, SecretKind};
use crate::linq::Secret;
use crate::store::outbox::read_marks;
use crate::store::settings::{self as prefs, SettingsPatch};
use crate::store::thread::{self, Window};
use crate::store::{
    attachment_files, calls, chat_list, chats, contacts, log, now_millis, numbers, projection,
    search, StoreError,
};

type ApiResult = Result<Json<Value>, ApiError>;

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/api/chats", get(chats).post(super::new_chat::create))
        .route("/api/chats/{chat_id}", get(chat))
        .route(
            "/api/chats/{chat_id}/messages",
            get(messages).post(super::outbox::send),
        )
        .route("/api/chats/{chat_id}/read", post(mark_read))
        .route("/api/calls", get(calls))
        .route("/api/calls/{id}", get(call))
        .route("/api/contacts", get(contacts))
        .route("/api/search", get(search_handler))
        .route("/api/events", get(events))
        .route("/api/activity", get(activity))
        .route("/api/rejected", get(rejected))
        .route("/api/settings", get(get_settings).put(put_settings))
        .route("/api/presence", post(presence))
        .route("/api/secret/reveal", post(reveal_secret))
        .route("/api/secret/regenerate", post(regenerate_secret))
        .route("/api/stream", get(super::sse::stream))
        .with_state(state)
}

#[derive(Deserialize, Default)]
pub struct Page {
    before: Option<String>,
    after: Option<String>,
    around: Option<String>,
    limit: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
}

fn limit(raw: &Option<String>, default: i64, max: i64) -> Result<i64, ApiError> {
    match raw {
        None => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("limit must be a whole number from 1 to {max}"),
            )),
        },
    }
}

async fn status(State(s): State<Arc<ApiState>>) -> ApiResult {
    let info = s.info.clone();
    let secret_kinds: Vec<SecretKind> = s
        .secrets
        .read()
        .map(|v| v.iter().map(secret_kind).collect())
        .unwrap_or_default();
    let secret_count = secret_kinds.len();
    let store_error = s.ingest.health().error();
    let db_path = s.store.path().to_path_buf();
    let (counts, last, rejected, numbers, unprojected, kept, history) = s
        .read(|c| {
            Ok((
                log::counts(c)?,
                log::last_delivery_at(c)?,
                log::rejected_total(c)?,
                numbers::number_health(c)?,
                projection::failures(c)?,
                attachment_files::usage(c)?,
                projection::history_through(c)?,
            ))
        })
        .await?;
    let limits = s.attachments.limits;
    let log_seq = *s.ingest.committed().borrow();
    let projected_seq = *s.ingest.projected().borrow();
    let size = s.store.disk_bytes();
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "listener": {"address": info.listen, "path": info.webhook_path,
                     "url": format!("http://{}{}", info.listen, info.webhook_path)},
        "ui": {"address": info.ui_listen},
        "signing": {"mode": if secret_count > 0 { "secret" } else { "unsigned" }, "secret_count": secret_count,
                    "secret_source": info.secret_source, "allow_unsigned": info.allow_unsigned,
                    "secret_kinds": secret_kinds},
        "db": {"path": db_path, "size_bytes": size, "counts": counts},
        "data_dir": info.data_dir,
        "last_event_at": last.map(crate::linq::time::format_millis),
        "rejected_count": rejected,
        "rejected_dropped": s.ingest.refusals_dropped(),
        "store": {"ok": store_error.is_none(), "error": store_error},
        "typing_retention_hours": info.typing_retention_hours,
        "numbers": numbers,
        "log_seq": log_seq,
        "projected_seq": projected_seq,
        "projection": {"lag": (log_seq - projected_seq).max(0), "max_lag": crate::ingest::MAX_LAG,
                       "failed": unprojected, "history_through": history},
        "attachments": {"max_file_bytes": limits.max_file_bytes, "max_total_bytes": limits.max_total_bytes,
                        "used_bytes": kept.used_bytes, "downloaded": kept.downloaded,
                        "pending": kept.pending, "failed": kept.failed},
        "sync": s.catch_up.status(),
    })))
}

/// A page of the chat list, keys in the order `json!` would sort them.
#[derive(serde::Serialize)]
struct ChatsPage {
    chats: Vec<crate::store::views::ChatSummary>,
    has_more: bool,
}

async fn chats(
    State(s): State<Arc<ApiState>>,
    Query(p): Query<Page>,
) -> Result<Json<ChatsPage>, ApiError> {
    let n = limit(&p.limit, 100, 1000)?;
    let before = p.before.clone();
    let mut chats = s
        .read(move |c| chat_list::chats(c, before.as_deref(), n + 1))
        .await?;
    let has_more = chats.len() as i64 > n;
    chats.truncate(n as usize);
    chats.iter_mut().for_each(|chat| s.live.decorate(chat));
    // Serialized straight from the views: a `json!` copy of a thousand summaries cost as much
    // as reading them.
    Ok(Json(ChatsPage { chats, has_more }))
}

async fn chat(State(s): State<Arc<ApiState>>, Path(chat_id): Path<String>) -> ApiResult {
    let found = s.read(move |c| chat_list::chat(c, &chat_id)).await?;
    let mut chat = found.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such chat"))?;
    s.live.decorate(&mut chat);
    Ok(Json(json!(chat)))
}

async fn messages(
    State(s): State<Arc<ApiState>>,
    Path(chat_id): Path<String>,
    Query(p): Query<Page>,
) -> ApiResult {
    let n = limit(&p.limit, 50, 500)?;
    s.known_chat(&chat_id).await?;
    // `before` pages back, `after` pages forward, `around` opens a window on one item (a search
    // hit deep in history). The answer says whether more lies on either side it knows about.
    let page = s
        .read(move |c| {
            Ok(match (&p.before, &p.after, &p.around) {
                (None, None, Some(id)) => {
                    let (items, older, newer) = thread::thread_around(c, &chat_id, id, n)?;
                    json!({"messages": items, "has_more": older, "has_newer": newer})
                }
                (None, Some(id), None) => {
                    let (items, newer) = thread::thread(c, &chat_id, Window::After(id), n)?;
                    json!({"messages": items, "has_more": true, "has_newer": newer})
                }
                (before, None, None) => {
                    let window = before.as_deref().map_or(Window::Latest, Window::Before);
                    let (items, older) = thread::thread(c, &chat_id, window, n)?;
                    let newer = before.is_some();
                    json!({"messages": items, "has_more": older, "has_newer": newer})
                }
                _ => {
                    return Err(StoreError::Invalid(
                        "use only one of before, after and around".into(),
                    ))
                }
            })
        })
        .await?;
    Ok(Json(page))
}

async fn mark_read(State(s): State<Arc<ApiState>>, Path(chat_id): Path<String>) -> ApiResult {
    Ok(Json(mark_chat_read(&s, chat_id).await?))
}

/// Marks `chat_id` read through its newest message; answers `chat_id` and its `unread_count`.
/// The one way a chat is marked read, whether the window or a notification's "Mark as read"
/// asked.
pub async fn mark_chat_read(s: &Arc<ApiState>, chat_id: String) -> Result<Value, ApiError> {
    s.known_chat(&chat_id).await?;
    let receipts = s.live.settings().read_receipts;
    let id = chat_id.clone();
    let queued = s
        .ingest
        .run(move |conn| {
            let unread: i64 = conn.query_row("SELECT unread_count FROM chats WHERE chat_id = ?1", [&id], |r| r.get(0))?;
            // "Send read receipts to Linq": something unread was read, so Linq hears of it; and
            // reading a chat whose last mark Linq refused tries again.
            let queued = receipts
                && (unread > 0 || read_marks::refused(conn, &id)?)
                && read_marks::enqueue(conn, &id, now_millis())?;
            conn.execute(
                "INSERT INTO local_reads (chat_id, read_through)
                 SELECT ?1, coalesce(max(sent_at), 0) FROM messages WHERE chat_id = ?1
                 ON CONFLICT (chat_id) DO UPDATE SET read_through = max(read_through, excluded.read_through)",
                [&id],
            )?;
            Ok(json!(queued))
        })
        .await?
        == json!(true);
    if queued {
        s.outbox.wake();
    }
    // The read mark is local state, in the log file; the unread count it changes is the inbox's.
    let store = s.store.clone();
    let chat = chat_id.clone();
    let unread = tokio::task::spawn_blocking(move || {
        chats::project::recount_unread(&mut store.projector()?, &chat)
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "marking the chat read was interrupted",
        )
    })??;
    Ok(json!({"chat_id": chat_id, "unread_count": unread, "read_mark_queued": queued}))
}

async fn calls(State(s): State<Arc<ApiState>>, Query(p): Query<Page>) -> ApiResult {
    let n = limit(&p.limit, 100, 1000)?;
    let (calls, has_more) = s
        .read(move |c| calls::calls(c, p.before.as_deref(), n))
        .await?;
    Ok(Json(json!({"calls": calls, "has_more": has_more})))
}

async fn call(State(s): State<Arc<ApiState>>, Path(id): Path<String>) -> ApiResult {
    let found = s.read(move |c| calls::call(c, &id)).await?;
    found
        .map(|c| Json(json!(c)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such call"))
}

async fn contacts(State(s): State<Arc<ApiState>>) -> ApiResult {
    let list = s.read(contacts::contacts).await?;
    Ok(Json(json!({"contacts": list})))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    kind: Option<String>,
    chat_id: Option<String>,
    limit: Option<String>,
}

async fn search_handler(State(s): State<Arc<ApiState>>, Query(q): Query<SearchQuery>) -> ApiResult {
    let n = limit(&q.limit, 50, 200)?;
    if let Some(kind) = &q.kind {
        if !search::KINDS.contains(&kind.as_str()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "kind must be message, call or contact",
            ));
        }
    }
    let text = q.q.unwrap_or_default();
    if text.len() > 500 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the search is too long",
        ));
    }
    let query = text.clone();
    let hits = s
        .read(move |c| search::search(c, &query, q.kind.as_deref(), q.chat_id.as_deref(), n))
        .await?;
    Ok(Json(json!({"query": text, "results": hits})))
}

async fn events(State(s): State<Arc<ApiState>>, Query(p): Query<Page>) -> ApiResult {
    let n = limit(&p.limit, 100, 1000)?;
    let before =
        match &p.before {
            None => None,
            Some(b) => Some(b.parse::<i64>().map_err(|_| {
                ApiError::new(StatusCode::BAD_REQUEST, "before must be a seq number")
            })?),
        };
    let (events, has_more) = s
        .read(move |c| log::events(c, before, p.event_type.as_deref(), n))
        .await?;
    Ok(Json(json!({"events": events, "has_more": has_more})))
}

/// The activity timeline: each stored event as the stream item it is (typing left out), newest
/// first, paged by `before` (a seq).
async fn activity(
    State(s): State<Arc<ApiState>>,
    Query(p): Query<Page>,
) -> Result<Json<ActivityPage>, ApiError> {
    let n = limit(&p.limit, 100, 500)?;
    let before = match &p.before {
        None => None,
        Some(b) => Some(
            b.parse::<i64>()
                .map_err(|_| ApiError::bad_request("before must be a seq number"))?,
        ),
    };
    let live = s.live.clone();
    let page = s
        .read(move |c| crate::feed::activity_page(c, &live, before, n))
        .await?;
    Ok(Json(page))
}

async fn rejected(State(s): State<Arc<ApiState>>, Query(p): Query<Page>) -> ApiResult {
    let n = limit(&p.limit, 100, 1000)?;
    let (rows, total) = s
        .read(move |c| Ok((log::rejected(c, n)?, log::rejected_total(c)?)))
        .await?;
    let dropped = s.ingest.refusals_dropped();
    Ok(Json(
        json!({"rejected": rows, "total": total, "dropped": dropped}),
    ))
}

async fn get_settings(State(s): State<Arc<ApiState>>) -> ApiResult {
    Ok(Json(json!(s.live.settings())))
}

async fn put_settings(State(s): State<Arc<ApiState>>, body: axum::body::Bytes) -> ApiResult {
    let patch: SettingsPatch = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid settings: {e}")))?;
    let updated = patch.apply(s.live.settings())?;
    let to_save = updated.clone();
    s.ingest
        .run(move |conn| prefs::save(conn, &to_save).map(|_| Value::Null))
        .await?;
    if let Ok(mut current) = s.live.settings.write() {
        *current = updated.clone();
    }
    Ok(Json(json!(updated)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceBody {
    chat_id: Option<String>,
    focused: bool,
}

async fn presence(State(s): State<Arc<ApiState>>, body: axum::body::Bytes) -> ApiResult {
    let p: PresenceBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid presence: {e}")))?;
    let presence = Presence {
        chat_id: p.chat_id,
        focused: p.focused,
    };
    if let Ok(mut current) = s.live.presence.lock() {
        *current = presence.clone();
    }
    Ok(Json(json!(presence)))
}

async fn reveal_secret(State(s): State<Arc<ApiState>>) -> ApiResult {
    let secrets = s.secrets.read().map(|v| v.clone()).unwrap_or_default();
    let first = secrets
        .first()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no webhook secret is configured"))?;
    Ok(Json(
        json!({"secret": String::from_utf8_lossy(first.expose())}),
    ))
}

async fn regenerate_secret(State(s): State<Arc<ApiState>>) -> ApiResult {
    if matches!(
        s.info.secret_source,
        SecretSource::Environment | SecretSource::SecretFile
    ) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "the secret comes from LINQ_WEBHOOK_SECRET or --secret-file; change it there",
        ));
    }
    // Replacing the secret behind Linq's back would make every delivery fail; a rotation
    // tells Linq and keeps the old secret for a grace period.
    if let Ok(Some(id)) = config::load_config(&s.info.data_dir).map(|f| f.linq.subscription_id) {
        return Err(ApiError::new(StatusCode::CONFLICT,
            format!("this app is connected to Linq subscription {id}; use Rotate secret in Settings → Connect to Linq, which gives Linq the new secret too"),
        ));
    }
    let secret = config::generate_secret();
    let saved = secret.clone();
    config::update_config(&s.info.data_dir, move |f| f.webhook_secrets = vec![saved])
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if let Ok(mut current) = s.secrets.write() {
        *current = vec![Secret::new(&secret)];
    }
    Ok(Json(json!({"secret": secret})))
}
