//! Files the rep attached to a reply: kept in the data folder (`attachments/{sha256}`) before the
//! reply is queued, so a crash after the reply's commit still has its file to send. Local state
//! (migration 0011). Each upload also gets an `attachment_files` row under its upload id, so the
//! thread shows the outgoing file from the local copy (`GET /api/attachments/{upload_id}`).
//!
//! A file no reply names (the rep removed it from the composer, dropped the failed reply, or
//! quit before sending; drafts keep text only) is forgotten a day after it was kept
//! ([`forget_unsent`]), so abandoned files do not fill the data folder.

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

/// The kept files a reply names, in its order; an id that names none (never kept, or forgotten
/// since by [`forget_unsent`]) is refused with one sentence. Read where the reply is queued, so
/// the sweep cannot forget a file between the check and the queueing.
pub fn named(conn: &Connection, ids: &[String]) -> Result<Vec<Upload>, StoreError> {
    ids.iter()
        .map(|id| {
            get(conn, id)?
                .ok_or_else(|| StoreError::Invalid(format!("no uploaded file has the id {id:?}")))
        })
        .collect()
}

/// How long a kept file that no reply names stays (ms): the composer that attached it may still
/// send it.
pub const UNSENT_KEPT_MS: i64 = 24 * 60 * 60 * 1000;

/// Uploads kept before `?1` (ms) that no reply in the outbox names, sent or not. The replies'
/// names are gathered once (not per upload); a NULL among them would make `NOT IN` match nothing.
const UNSENT: &str = "created_at < ?1 AND upload_id NOT IN (
       SELECT json_extract(a.value, '$.upload_id')
       FROM outbox o, json_each(o.request, '$.attachments') a
       WHERE o.kind = 'message' AND json_extract(a.value, '$.upload_id') IS NOT NULL)";

/// Whether any upload [`forget_unsent`] would forget (a read: the writer is asked only then).
pub fn has_unsent(conn: &Connection, cutoff: i64) -> Result<bool, StoreError> {
    Ok(conn
        .prepare(&format!(
            "SELECT EXISTS (SELECT 1 FROM uploads WHERE {UNSENT})"
        ))?
        .query_row([cutoff], |r| r.get(0))?)
}

/// A kept file nothing names any more: the caller deletes it once the forgetting commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unkept {
    pub sha256: String,
    pub size: i64,
}

/// Forgets the uploads kept before `cutoff` (ms) that no reply in the outbox names, sent or not,
/// with their local-copy rows. Returns each file nothing else keeps any more (no other upload,
/// no downloaded attachment).
pub fn forget_unsent(conn: &Connection, cutoff: i64) -> Result<Vec<Unkept>, StoreError> {
    let unsent: Vec<(String, String, i64)> = conn
        .prepare(&format!(
            "SELECT upload_id, sha256, size FROM uploads WHERE {UNSENT}"
        ))?
        .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (upload_id, _, _) in &unsent {
        conn.prepare_cached("DELETE FROM uploads WHERE upload_id = ?1")?
            .execute([upload_id])?;
        conn.prepare_cached("DELETE FROM attachment_files WHERE key = ?1")?
            .execute([upload_id])?;
    }
    let mut kept_elsewhere = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM uploads WHERE sha256 = ?1)
             OR EXISTS (SELECT 1 FROM attachment_files WHERE sha256 = ?1)",
    )?;
    let mut files: Vec<Unkept> = Vec::new();
    for (_, sha256, size) in unsent {
        if !files.iter().any(|f| f.sha256 == sha256)
            && !kept_elsewhere.query_row([&sha256], |r| r.get(0))?
        {
            files.push(Unkept { sha256, size });
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::queue::{enqueue, Queued};
    use crate::store::Store;

    fn upload(id: &str, sha256: &str) -> Upload {
        Upload {
            upload_id: id.to_string(),
            sha256: sha256.to_string(),
            filename: format!("{id}.pdf"),
            content_type: "application/pdf".to_string(),
            size: 10,
        }
    }

    #[test]
    fn a_reply_names_kept_files_in_its_order_and_an_unknown_id_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let conn = store.writer().expect("writer");
        record(&conn, &upload("upload-a", &"a".repeat(64)), 1).expect("kept");
        record(&conn, &upload("upload-b", &"b".repeat(64)), 1).expect("kept");
        let ids = ["upload-b".to_string(), "upload-a".to_string()];
        let named_ids: Vec<String> = named(&conn, &ids)
            .expect("both are kept")
            .into_iter()
            .map(|u| u.upload_id)
            .collect();
        assert_eq!(named_ids, ids, "in the reply's order");
        let unknown = named(&conn, &["upload-a".to_string(), "upload-gone".to_string()]);
        assert!(
            matches!(&unknown, Err(StoreError::Invalid(s)) if s == "no uploaded file has the id \"upload-gone\""),
            "one sentence naming the id: {unknown:?}"
        );
    }

    #[test]
    fn only_old_files_no_reply_names_are_forgotten_and_a_shared_file_stays() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let conn = store.writer().expect("writer");
        let (a, b, c, d) = (
            "a".repeat(64),
            "b".repeat(64),
            "c".repeat(64),
            "d".repeat(64),
        );
        record(&conn, &upload("upload-sent", &a), 1_000).expect("kept");
        record(&conn, &upload("upload-unsent", &b), 1_000).expect("kept");
        record(&conn, &upload("upload-twin", &c), 1_000).expect("kept");
        record(&conn, &upload("upload-twin-sent", &c), 1_000).expect("kept");
        record(&conn, &upload("upload-fresh", &d), 9_000).expect("kept");
        let reply = Queued {
            chat_id: "chat-1".to_string(),
            text: "the contract".to_string(),
            reply_to: None,
            attachments: vec![upload("upload-sent", &a), upload("upload-twin-sent", &c)],
        };
        assert!(
            enqueue(&conn, "client-1", &reply, 2_000).expect("queued"),
            "the reply naming two files is queued"
        );

        assert!(
            has_unsent(&conn, 5_000).expect("read"),
            "two old uploads no reply names"
        );
        assert!(
            !has_unsent(&conn, 500).expect("read"),
            "none kept before the earlier cutoff"
        );
        let files = forget_unsent(&conn, 5_000).expect("swept");
        assert_eq!(
            files,
            vec![Unkept {
                sha256: b,
                size: 10
            }],
            "only the unsent file nothing else keeps goes"
        );
        let left: Vec<String> = conn
            .prepare("SELECT upload_id FROM uploads ORDER BY upload_id")
            .expect("query")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("ids");
        assert_eq!(
            left,
            ["upload-fresh", "upload-sent", "upload-twin-sent"],
            "the reply's files and the one kept less than a day ago stay"
        );
        let copies: i64 = conn
            .query_row(
                "SELECT count(*) FROM attachment_files WHERE key IN ('upload-unsent', 'upload-twin')",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(
            copies, 0,
            "the forgotten uploads' local-copy rows go with them"
        );
        assert!(
            forget_unsent(&conn, 5_000).expect("again").is_empty(),
            "a second sweep finds nothing"
        );
        assert!(
            !has_unsent(&conn, 5_000).expect("read"),
            "and says so first"
        );
    }
}
