//! `POST /api/uploads`: a file the rep attaches to a reply, sent as the raw body with its name in
//! `X-Filename` (percent-encoded). It is kept in the data folder by SHA-256 (streamed, hashed,
//! synced, renamed) and recorded before the answer, so the reply that names it
//! (`"attachments": [upload_id]`) can be committed like any other and survive a crash.
//! Linq takes files up to 100 MB (`linq-api.md` §5.1); a larger one is refused before anything
//! is kept: by its `Content-Length` at once, else when the stream passes the limit.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::error::ApiError;
use super::state::ApiState;
use crate::attachments::{fetch::PARTIAL_PREFIX, sniff};
use crate::store::attachment_files::local_url;
use crate::store::now_millis;
use crate::store::uploads::{self, Upload};

/// Linq's largest attachment (a pre-uploaded media part, `linq-api.md` §5.1).
pub const MAX_UPLOAD: u64 = 100 * 1024 * 1024;
/// The most files one reply carries (Linq: at most 40 media parts by URL; uploads are fewer).
const MAX_FILES: usize = 10;
/// The longest file name kept.
const MAX_NAME: usize = 255;

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/uploads", post(upload))
        .with_state(state)
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the file is larger than Linq's 100 MB limit for an attachment",
    )
}

async fn upload(
    State(s): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let filename = filename(&headers)?;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD) {
        return Err(too_large());
    }
    let dir = s.attachments.dir().to_path_buf();
    let (sha256, size, head) = keep(&dir, body).await?;
    if size == 0 {
        return Err(ApiError::bad_request("the file is empty"));
    }
    let upload = Upload {
        upload_id: format!("upload-{}", &crate::config::random_token()[..32]),
        sha256,
        filename,
        content_type: sniff::content_type(&head),
        size: size as i64,
    };
    let kept = upload.clone();
    s.ingest
        .run(move |c| uploads::record(c, &kept, now_millis()).map(|()| Value::Null))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "upload_id": upload.upload_id,
            "filename": upload.filename,
            "content_type": upload.content_type,
            "size_bytes": upload.size,
            "local_url": local_url(&upload.upload_id),
        })),
    )
        .into_response())
}

/// A reply names at most [`MAX_FILES`] kept files (which ones it names is read where it is
/// queued: `store::uploads::named`).
pub fn check_count(ids: &[String]) -> Result<(), ApiError> {
    if ids.len() > MAX_FILES {
        return Err(ApiError::bad_request(format!(
            "a reply takes at most {MAX_FILES} files"
        )));
    }
    Ok(())
}

/// The file's name from `X-Filename`: percent-decoded, its last path component, no control
/// characters.
fn filename(headers: &HeaderMap) -> Result<String, ApiError> {
    let raw = headers
        .get("x-filename")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::bad_request("the file's name is missing (X-Filename header)"))?;
    let decoded = percent_decode(raw)
        .ok_or_else(|| ApiError::bad_request("X-Filename is not percent-encoded UTF-8"))?;
    let name: String = decoded
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() || name == "." || name == ".." {
        return Err(ApiError::bad_request("the file has no usable name"));
    }
    Ok(name)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Streams `body` into the folder under its SHA-256: the hash, the size and the first bytes.
async fn keep(dir: &Path, body: Body) -> Result<(String, u64, Vec<u8>), ApiError> {
    let disk =
        |e: std::io::Error| ApiError::internal(&e, "the data folder could not take the file");
    tokio::fs::create_dir_all(dir).await.map_err(disk)?;
    let partial = dir.join(format!("{PARTIAL_PREFIX}{}", crate::config::random_token()));
    let result = stream_to(&partial, body).await;
    let (sha256, size, head) = match result {
        Ok(kept) => kept,
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
    };
    tokio::fs::rename(&partial, dir.join(&sha256))
        .await
        .map_err(disk)?;
    Ok((sha256, size, head))
}

async fn stream_to(partial: &Path, body: Body) -> Result<(String, u64, Vec<u8>), ApiError> {
    let disk =
        |e: std::io::Error| ApiError::internal(&e, "the data folder could not take the file");
    let mut file = tokio::fs::File::create(partial).await.map_err(disk)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(sniff::HEAD_BYTES);
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("the upload broke off ({e})")))?;
        size += chunk.len() as u64;
        if size > MAX_UPLOAD {
            return Err(too_large());
        }
        hasher.update(&chunk);
        let room = sniff::HEAD_BYTES.saturating_sub(head.len());
        head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        file.write_all(&chunk).await.map_err(disk)?;
    }
    file.sync_all().await.map_err(disk)?;
    Ok((hex::encode(hasher.finalize()), size, head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_one_plain_component() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-filename",
            "..%2F..%2Fetc%2Fpasswd".parse().expect("header"),
        );
        assert_eq!(filename(&h).expect("a name"), "passwd", "no path survives");
        h.insert(
            "x-filename",
            "Q3%20plan%20%E2%9C%93.pdf".parse().expect("header"),
        );
        assert_eq!(
            filename(&h).expect("a name"),
            "Q3 plan ✓.pdf",
            "UTF-8 names are kept"
        );
        h.insert("x-filename", "%2F".parse().expect("header"));
        assert!(
            filename(&h).is_err(),
            "a name that is only a path is refused"
        );
        assert!(filename(&HeaderMap::new()).is_err(), "a name is required");
    }
}
