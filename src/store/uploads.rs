//! Files the rep attached to a reply: kept in the data folder (`attachments/{sha256}`) before the
//! reply is queued, so a crash after the reply's commit still has its file to send. Local state
//! (migration 0011). Each upload also gets an `attachment_files` row under its upload id, so the
//! thread shows the outgoing file from the local copy (`GET /api/attachments/{upload_id}`).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// One kept file, as a reply names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub upload_id: String,
    pub sha256: String,
    /// The rep's name for the file (shown, and sent to Linq; never a path).
    pub filename: String,
    /// Sniffed from the bytes.
    pub content_type: String,
    pub size: i64,
}

/// Records a kept file and its local copy for the thread.
pub fn record(conn: &Connection, upload: &Upload, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO uploads (upload_id, sha256, filename, content_type, size, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        upload.upload_id,
        upload.sha256,
        upload.filename,
        upload.content_type,
        upload.size,
        now
    ])?;
    conn.prepare_cached(
        "INSERT INTO attachment_files (key, state, sha256, size, content_type, updated_at)
         VALUES (?1, 'downloaded', ?2, ?3, ?4, ?5) ON CONFLICT (key) DO NOTHING",
    )?
    .execute(params![
        upload.upload_id,
        upload.sha256,
        upload.size,
        upload.content_type,
        now
    ])?;
    Ok(())
}

/// The upload `upload_id`, if there is one.
pub fn get(conn: &Connection, upload_id: &str) -> Result<Option<Upload>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT sha256, filename, content_type, size FROM uploads WHERE upload_id = ?1",
        )?
        .query_row([upload_id], |r| {
            Ok(Upload {
                upload_id: upload_id.to_string(),
                sha256: r.get(0)?,
                filename: r.get(1)?,
                content_type: r.get(2)?,
                size: r.get(3)?,
            })
        })
        .optional()?)
}
