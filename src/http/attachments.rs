//! `GET /api/attachments/{key}`: the local copy of an attachment, and `POST
//! /api/attachments/{key}/retry`: try a failed download again now.
//!
//! Attachments are hostile files served from the UI's own origin (DESIGN.md, "Security
//! model"): the type is the one read from the bytes when the file was kept, never the name;
//! every answer carries `X-Content-Type-Options: nosniff` and `Content-Security-Policy:
//! sandbox`; only raster images, video and audio are `inline`, everything else (SVG, HTML,
//! PDF, unknown) is `Content-Disposition: attachment`. Linq's filename is offered only as a
//! download name, sanitised.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::error::ApiError;
use super::state::ApiState;
use crate::store::attachment_files::{self as files, FileState, Kept};
use crate::store::now_millis;

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/attachments/{key}", get(attachment))
        .route("/api/attachments/{key}/retry", post(retry))
        .with_state(state)
}

async fn attachment(
    State(s): State<Arc<ApiState>>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let k = key.clone();
    let served = s
        .read(move |c| files::served(c, &k))
        .await?
        .ok_or_else(|| ApiError::not_found("no such attachment"))?;
    let kept = match (served.state, served.file) {
        (FileState::Downloaded, Some(kept)) => kept,
        (FileState::Failed, _) => {
            let why = served
                .error
                .unwrap_or_else(|| "no reason was recorded".into());
            return Err(ApiError::not_found(format!(
                "this attachment could not be downloaded: {why}"
            )));
        }
        _ => {
            return Err(ApiError::not_found(
                "this attachment has not been downloaded yet",
            ))
        }
    };
    let path = s
        .attachments
        .file(&kept.sha256)
        .ok_or_else(|| ApiError::not_found("this attachment has not been downloaded yet"))?;
    let file = tokio::fs::File::open(&path).await.map_err(|_| {
        ApiError::not_found("the local copy of this attachment is missing from the data folder")
    })?;
    Ok(file_response(file, &kept, served.filename.as_deref()))
}

/// The file with the headers its type allows.
fn file_response(file: tokio::fs::File, kept: &Kept, filename: Option<&str>) -> Response {
    let inline = files::preview(&kept.content_type).is_some();
    let body = Body::from_stream(futures_util::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    }));
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    let content_type = HeaderValue::from_str(&kept.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(kept.size.max(0) as u64),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&disposition(inline, filename)) {
        h.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// `inline` or `attachment`, with the name to save as: Linq's filename without any path, quote
/// or control character, ASCII in `filename` and exact (percent-encoded) in `filename*`.
fn disposition(inline: bool, filename: Option<&str>) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let base = filename
        .and_then(|f| f.rsplit(['/', '\\']).next())
        .unwrap_or_default();
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | ';'))
        .take(120)
        .collect();
    let clean = clean.trim().trim_start_matches('.');
    if clean.is_empty() {
        return format!("{kind}; filename=\"attachment\"");
    }
    let ascii: String = clean
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in clean.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn retry(
    State(s): State<Arc<ApiState>>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let k = key.clone();
    let known = s.read(move |c| files::served(c, &k)).await?;
    let Some(served) = known else {
        return Err(ApiError::not_found("no such attachment"));
    };
    if served.state != FileState::Failed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "this attachment has not failed; there is nothing to try again",
        ));
    }
    let queued = s
        .ingest
        .run(move |c| Ok(json!(files::requeue(c, Some(&key), now_millis())?)))
        .await?;
    if queued.as_u64() == Some(0) {
        let why = served.error.unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("trying again cannot help: {why}"),
        ));
    }
    s.attachments.wake();
    Ok((StatusCode::ACCEPTED, Json(json!({"state": "pending"}))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_filename_is_only_a_clean_download_name() {
        assert_eq!(
            disposition(false, Some("../../etc/pass\"wd;\r\nX-Evil: 1.html")),
            "attachment; filename=\"passwdX-Evil: 1.html\"; filename*=UTF-8''passwdX-Evil%3A%201.html",
            "no path, quote, semicolon or line break survives"
        );
        assert_eq!(
            disposition(true, Some("café.png")),
            "inline; filename=\"caf_.png\"; filename*=UTF-8''caf%C3%A9.png",
            "ASCII fallback and the exact name encoded"
        );
        assert_eq!(
            disposition(false, None),
            "attachment; filename=\"attachment\"",
            "no name: a neutral one"
        );
        assert_eq!(
            disposition(false, Some("...")),
            "attachment; filename=\"attachment\"",
            "dots alone are no name"
        );
    }
}
