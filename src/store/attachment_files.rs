//! Attachments kept in the data folder: which are downloaded, waiting or failed, and the queue
//! the downloader (`crate::attachments`) works from.
//!
//! Local state, like `local_reads`: the files are not in the log, so `rebuild` keeps this table
//! (and the files) as they are, and a rebuilt inbox finds its files by the same keys. A key is
//! Linq's attachment id, or `{message_id}:{position}` for an attachment Linq gave no id; the
//! same attachment sent in two messages (one pre-uploaded file) is one file. The file itself is
//! `attachments/{sha256}` in the data folder: named by its content, never by Linq's filename.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

pub use super::views::{FileState, Preview};
use super::StoreError;

/// The key of the attachment row `a` (an `attachments` alias) in SQL.
pub(crate) const KEY_SQL: &str = "coalesce(a.id, a.message_id || ':' || a.position)";

/// Raster image types a browser draws without running anything (no SVG: it is a document).
const RASTER_IMAGES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/avif",
];

/// Whether a file of `content_type` (sniffed from its bytes) is shown and served inline: raster
/// images, video and audio only. Everything else (SVG, HTML, PDF, unknown) is a download.
pub fn preview(content_type: &str) -> Option<Preview> {
    if RASTER_IMAGES.contains(&content_type) {
        Some(Preview::Image)
    } else if content_type.starts_with("video/") {
        Some(Preview::Video)
    } else if content_type.starts_with("audio/") {
        Some(Preview::Audio)
    } else {
        None
    }
}

/// The UI API address of the attachment `key` (the key percent-encoded as one path segment).
pub fn local_url(key: &str) -> String {
    let mut url = String::from("/api/attachments/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// An attachment the downloader has not seen yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub key: String,
    pub url: Option<String>,
}

/// The attachments of the messages after `after_rowid` (at most `limit` messages) that have no
/// file row yet, and the last message rowid read (`None`: no message after `after_rowid`).
pub fn undiscovered(
    conn: &Connection,
    after_rowid: i64,
    limit: i64,
) -> Result<(Vec<Wanted>, Option<i64>), StoreError> {
    let last: Option<i64> = conn
        .prepare_cached(
            "SELECT max(rowid) FROM (SELECT rowid FROM messages WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
        )?
        .query_row(params![after_rowid, limit], |r| r.get(0))?;
    let Some(last) = last else {
        return Ok((Vec::new(), None));
    };
    let wanted = conn
        .prepare_cached(&format!(
            "SELECT DISTINCT {KEY_SQL}, a.url
             FROM messages m JOIN attachments a ON a.message_id = m.id
             WHERE m.rowid > ?1 AND m.rowid <= ?2
               AND NOT EXISTS (SELECT 1 FROM attachment_files f WHERE f.key = {KEY_SQL})"
        ))?
        .query_map(params![after_rowid, last], |r| {
            Ok(Wanted {
                key: r.get(0)?,
                url: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((wanted, Some(last)))
}

/// Queues `wanted` for download (an attachment Linq gave no address for fails at once, with
/// that reason). Returns how many rows were added.
pub fn enqueue(conn: &Connection, wanted: &[Wanted], now: i64) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO attachment_files (key, url, state, error, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO NOTHING",
    )?;
    let mut added = 0;
    for w in wanted {
        let (state, error) = match &w.url {
            Some(_) => ("pending", None),
            None => (
                "failed",
                Some("Linq sent no address to download this file from."),
            ),
        };
        added += stmt.execute(params![w.key, w.url, state, error, now])?;
    }
    Ok(added)
}

/// A download to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub key: String,
    pub url: String,
    /// Failed tries so far.
    pub attempts: i64,
}

/// [`due`]'s query: `?1` now, `?2` the keys to skip (a JSON list), `?3` how many.
const DUE: &str = "SELECT key, url, attempts FROM (
         SELECT * FROM (
             SELECT key, url, attempts, 0 AS turn, retry_at, updated_at
             FROM attachment_files
             WHERE state = 'pending' AND url IS NOT NULL
               AND key NOT IN (SELECT value FROM json_each(?2))
             ORDER BY retry_at, updated_at LIMIT ?3)
         UNION ALL
         SELECT * FROM (
             SELECT key, url, attempts, 1 AS turn, retry_at, updated_at
             FROM attachment_files
             WHERE state = 'failed' AND retry_at <= ?1 AND url IS NOT NULL
               AND key NOT IN (SELECT value FROM json_each(?2))
             ORDER BY retry_at, updated_at LIMIT ?3))
     ORDER BY turn, retry_at, updated_at LIMIT ?3";

/// Up to `limit` downloads to make now, except `skip` (those in flight): waiting ones first,
/// then failures whose retry time has come, each oldest first.
pub fn due(
    conn: &Connection,
    now: i64,
    skip: &[String],
    limit: i64,
) -> Result<Vec<Due>, StoreError> {
    let skip = super::json_list(skip.iter().map(String::as_str));
    // Each half walks the index `attachment_files_due` in order and stops at the limit: no sort
    // of everything waiting (migration 0013).
    let rows = conn
        .prepare_cached(DUE)?
        .query_map(params![now, skip, limit], |r| {
            Ok(Due {
                key: r.get(0)?,
                url: r.get(1)?,
                attempts: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// When the next failure is due to be retried (ms), if any is.
pub fn next_retry(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT min(retry_at) FROM attachment_files WHERE state = 'failed' AND retry_at IS NOT NULL",
        )?
        .query_row([], |r| r.get(0))?)
}

/// A file as stored in the data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
}

/// Records the local copy of `key`.
pub fn downloaded(conn: &Connection, key: &str, file: &Kept, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE attachment_files SET state = 'downloaded', sha256 = ?2, size = ?3, content_type = ?4,
                error = NULL, retry_at = NULL, updated_at = ?5 WHERE key = ?1",
    )?
    .execute(params![key, file.sha256, file.size, file.content_type, now])?;
    Ok(())
}

/// A failed try: why, when it is tried again by itself, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    /// When to try again by itself (ms); `None`: not by itself.
    pub retry_at: Option<i64>,
    /// The failure may pass (network, Linq's server), so the rep's "Try again" may help; a
    /// limit or a refused address will not change by trying.
    pub can_retry: bool,
}

/// Records a failed try of `key`.
pub fn failed(conn: &Connection, key: &str, f: &Failure, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE attachment_files SET state = 'failed', error = ?2, retry_at = ?3, can_retry = ?4,
                attempts = attempts + 1, updated_at = ?5
         WHERE key = ?1 AND state <> 'downloaded'",
    )?
    .execute(params![key, f.reason, f.retry_at, f.can_retry, now])?;
    Ok(())
}

/// Queues failed downloads again from the first try: those given up on (a limit, a refused
/// address, too many failures) when the app starts, so a raised limit takes effect, or one
/// file the rep asked for (`only`) when trying again may help. Returns how many were queued.
pub fn requeue(conn: &Connection, only: Option<&str>, now: i64) -> Result<usize, StoreError> {
    let n = match only {
        Some(key) => conn
            .prepare_cached(
                "UPDATE attachment_files SET state = 'pending', attempts = 0, retry_at = NULL,
                        updated_at = ?2
                 WHERE key = ?1 AND state = 'failed' AND can_retry AND url IS NOT NULL",
            )?
            .execute(params![key, now])?,
        None => conn
            .prepare_cached(
                "UPDATE attachment_files SET state = 'pending', attempts = 0, updated_at = ?1
                 WHERE state = 'failed' AND retry_at IS NULL AND url IS NOT NULL",
            )?
            .execute(params![now])?,
    };
    Ok(n)
}

/// Whether a start-up [`requeue`] would change anything: the downloader asks first, so an
/// inbox with nothing waiting puts no write on the writer's queue when it starts.
pub fn has_requeueable(conn: &Connection) -> Result<bool, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM attachment_files
                 WHERE state = 'failed' AND retry_at IS NULL AND url IS NOT NULL)",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(found)
}

/// Records a file brought back by `import` (an export's attachments), unless a copy is kept.
pub fn restore(conn: &Connection, key: &str, file: &Kept, now: i64) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO attachment_files (key, state, sha256, size, content_type, updated_at)
             VALUES (?1, 'downloaded', ?2, ?3, ?4, ?5)
             ON CONFLICT (key) DO UPDATE SET state = 'downloaded', sha256 = excluded.sha256,
                 size = excluded.size, content_type = excluded.content_type, error = NULL,
                 retry_at = NULL, updated_at = excluded.updated_at
             WHERE attachment_files.state <> 'downloaded'",
        )?
        .execute(params![key, file.sha256, file.size, file.content_type, now])?;
    Ok(n > 0)
}

/// An attachment as `GET /api/attachments/{id}` serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub state: FileState,
    pub file: Option<Kept>,
    pub error: Option<String>,
    /// The name Linq gave it (hostile text: only ever offered as a download name).
    pub filename: Option<String>,
}

/// The state of `key` and its file, `None` for a key no attachment has.
pub fn served(conn: &Connection, key: &str) -> Result<Option<Served>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT state, sha256, size, content_type, error FROM attachment_files WHERE key = ?1",
        )?
        .query_row(params![key], |r| {
            let state = FileState::parse(&r.get::<_, String>(0)?);
            let sha256: Option<String> = r.get(1)?;
            let file = match (state, sha256) {
                (FileState::Downloaded, Some(sha256)) => Some(Kept {
                    sha256,
                    size: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                    content_type: r
                        .get::<_, Option<String>>(3)?
                        .unwrap_or_else(|| "application/octet-stream".into()),
                }),
                _ => None,
            };
            Ok(Served {
                state,
                file,
                error: r.get(4)?,
                filename: None,
            })
        })
        .optional()?;
    let Some(mut served) = row else {
        return Ok(None);
    };
    served.filename = filename(conn, key)?;
    Ok(Some(served))
}

/// The name Linq gave the attachment `key`: by Linq's id, else by `{message_id}:{position}`.
fn filename(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    let by_id: Option<Option<String>> = conn
        .prepare_cached("SELECT filename FROM attachments WHERE id = ?1 LIMIT 1")?
        .query_row(params![key], |r| r.get(0))
        .optional()?;
    if let Some(name) = by_id {
        return Ok(name);
    }
    let Some((message_id, position)) = key.rsplit_once(':') else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached(
            "SELECT filename FROM attachments WHERE message_id = ?1 AND position = ?2 AND id IS NULL",
        )?
        .query_row(params![message_id, position.parse::<i64>().unwrap_or(-1)], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Every downloaded file: key, sha256, size (for `export --with-attachments`).
pub fn downloaded_files(conn: &Connection) -> Result<Vec<(String, Kept)>, StoreError> {
    let rows = conn
        .prepare(
            "SELECT key, sha256, size, content_type FROM attachment_files
             WHERE state = 'downloaded' AND sha256 IS NOT NULL ORDER BY key",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                Kept {
                    sha256: r.get(1)?,
                    size: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                    content_type: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How the attachments folder stands (`GET /api/status`, the Settings screen).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Bytes the kept files take (a file kept for two attachments counts once).
    pub used_bytes: i64,
    pub downloaded: i64,
    pub pending: i64,
    pub failed: i64,
}

pub fn usage(conn: &Connection) -> Result<Usage, StoreError> {
    let used_bytes = used_bytes(conn)?;
    let mut usage = Usage {
        used_bytes,
        ..Usage::default()
    };
    let mut stmt =
        conn.prepare_cached("SELECT state, count(*) FROM attachment_files GROUP BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        match FileState::parse(&state) {
            FileState::Downloaded => usage.downloaded = n,
            FileState::Failed => usage.failed = n,
            FileState::Pending => usage.pending = n,
        }
    }
    Ok(usage)
}

/// Bytes the kept files take, each distinct file once.
pub fn used_bytes(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(size), 0) FROM
               (SELECT sha256, max(size) AS size FROM attachment_files
                WHERE state = 'downloaded' AND sha256 IS NOT NULL GROUP BY sha256)",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Whether any kept attachment still uses the file `sha256`.
pub fn is_kept(conn: &Connection, sha256: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM attachment_files WHERE sha256 = ?1 AND state = 'downloaded')",
        )?
        .query_row(params![sha256], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let conn = crate::store::tests::convergence::memory_db();
        conn.execute_batch(
            "INSERT INTO messages (id, chat_id, sent_at, direction) VALUES
                ('m1', 'c', 1, 'inbound'), ('m2', 'c', 2, 'inbound'), ('m3', 'c', 3, 'outbound');
             INSERT INTO attachments (message_id, position, id, url, filename) VALUES
                ('m1', 0, 'att-1', 'https://cdn.example/a.png', 'a.png'),
                ('m1', 1, NULL, 'https://cdn.example/b.pdf', 'b.pdf'),
                ('m2', 0, NULL, NULL, 'lost.jpg'),
                ('m3', 0, 'att-1', 'https://cdn.example/a.png', 'again.png');",
        )
        .expect("seed");
        conn
    }

    fn kept(sha: &str, size: i64) -> Kept {
        Kept {
            sha256: sha.into(),
            size,
            content_type: "image/png".into(),
        }
    }

    #[test]
    fn every_attachment_is_found_once_and_one_without_an_address_fails_with_a_reason() {
        let conn = store();
        let (wanted, last) = undiscovered(&conn, 0, 100).expect("discover");
        let mut keys: Vec<&str> = wanted.iter().map(|w| w.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["att-1", "m1:1", "m2:0"],
            "Linq's id is the key, position stands in for a missing id, one file sent twice is one"
        );
        assert_eq!(last, Some(3), "read up to the last message");
        assert_eq!(enqueue(&conn, &wanted, 10).expect("enqueue"), 3, "all new");
        assert_eq!(
            undiscovered(&conn, 0, 100).expect("again").0,
            Vec::new(),
            "queued attachments are not found again"
        );
        let due: Vec<String> = due(&conn, 10, &[], 10)
            .expect("due")
            .into_iter()
            .map(|d| d.key)
            .collect();
        assert_eq!(
            due.len(),
            2,
            "the one without an address is not due: {due:?}"
        );
        let lost = served(&conn, "m2:0").expect("read").expect("known");
        assert_eq!(lost.state, FileState::Failed, "no address: failed at once");
        assert!(
            lost.error
                .as_deref()
                .is_some_and(|e| e.contains("no address")),
            "with its reason: {:?}",
            lost.error
        );
    }

    #[test]
    fn waiting_files_come_oldest_first_then_due_retries_without_sorting_the_whole_queue() {
        let conn = store();
        let mut rows = String::new();
        for i in 0..200 {
            // Waiting ones queued in an order their keys do not follow.
            let updated = (i * 37) % 200;
            rows.push_str(&format!(
                "('w{i}', 'https://cdn.example/{i}', 'pending', NULL, {updated}),"
            ));
        }
        rows.push_str(
            "('f-late', 'https://cdn.example/x', 'failed', 900, 1),
             ('f-soon', 'https://cdn.example/y', 'failed', 50, 2),
             ('f-none', NULL, 'failed', 10, 3)",
        );
        conn.execute_batch(&format!(
            "INSERT INTO attachment_files (key, url, state, retry_at, updated_at) VALUES {rows}"
        ))
        .expect("seed");
        let keys = |now, skip: &[String], limit| -> Vec<String> {
            due(&conn, now, skip, limit)
                .expect("due")
                .into_iter()
                .map(|d| d.key)
                .collect()
        };
        // updated_at = i * 37 mod 200: 0, 1 and 2 belong to w0, w173 and w146.
        assert_eq!(
            keys(100, &[], 3),
            ["w0", "w173", "w146"],
            "the oldest waiting first"
        );
        assert_eq!(
            keys(100, &["w173".into()], 3),
            ["w0", "w146", "w119"],
            "in-flight keys are skipped"
        );
        conn.execute_batch("DELETE FROM attachment_files WHERE state = 'pending'")
            .expect("drain");
        assert_eq!(
            keys(100, &[], 3),
            ["f-soon"],
            "then retries whose time has come"
        );
        assert_eq!(
            keys(1000, &[], 3),
            ["f-soon", "f-late"],
            "soonest first, none without an address"
        );

        // Picking three costs the same with 200 waiting as with 20,000: no sort of the queue.
        let steps = |conn: &Connection| {
            let mut stmt = conn.prepare(DUE).expect("prepare");
            let picked = stmt
                .query_map(params![0, "[]", 3], |_| Ok(()))
                .expect("query")
                .count();
            assert_eq!(picked, 3, "three waiting ones");
            stmt.get_status(rusqlite::StatementStatus::VmStep)
        };
        let seed = |from: i64, to: i64| {
            conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
                 INSERT INTO attachment_files (key, url, state, updated_at)
                 SELECT 'q' || i, 'https://cdn.example/q', 'pending', 1000 - i % 1000 FROM n",
                params![from, to],
            )
            .expect("queue")
        };
        seed(1, 200);
        let small = steps(&conn);
        seed(201, 20_000);
        let large = steps(&conn);
        assert!(
            large < small * 2,
            "the work to pick three grew with the queue: {small} steps for 200, {large} for 20,000"
        );
    }

    #[test]
    fn failures_wait_for_their_retry_time_and_limits_are_tried_again_at_start() {
        let conn = store();
        let (wanted, _) = undiscovered(&conn, 0, 100).expect("discover");
        enqueue(&conn, &wanted, 0).expect("enqueue");
        let passing = Failure {
            reason: "Linq's file server answered 503.".into(),
            retry_at: Some(500),
            can_retry: true,
        };
        let limit = Failure {
            reason: "The file is larger than 1 MB.".into(),
            retry_at: None,
            can_retry: false,
        };
        failed(&conn, "att-1", &passing, 1).expect("fail");
        failed(&conn, "m1:1", &limit, 1).expect("fail");
        assert!(
            due(&conn, 100, &[], 10).expect("due").is_empty(),
            "nothing is due before the retry time"
        );
        let later = due(&conn, 500, &[], 10).expect("due");
        assert_eq!(later.len(), 1, "the retry comes due: {later:?}");
        assert_eq!(later[0].attempts, 1, "with its count of tries");
        assert_eq!(
            requeue(&conn, Some("m1:1"), 600).expect("by hand"),
            0,
            "trying a limit again by hand cannot help"
        );
        assert_eq!(
            requeue(&conn, None, 600).expect("requeue"),
            1,
            "the given-up one"
        );
        assert_eq!(
            due(&conn, 100, &["att-1".into()], 10).expect("due")[0].key,
            "m1:1",
            "a limit failure is queued again; in-flight keys are skipped"
        );
    }

    #[test]
    fn only_raster_images_video_and_audio_are_shown_in_place() {
        for (ty, want) in [
            ("image/png", Some(Preview::Image)),
            ("image/jpeg", Some(Preview::Image)),
            ("video/mp4", Some(Preview::Video)),
            ("audio/mpeg", Some(Preview::Audio)),
            ("image/svg+xml", None),
            ("text/html", None),
            ("application/pdf", None),
            ("application/octet-stream", None),
        ] {
            assert_eq!(preview(ty), want, "{ty}");
        }
    }

    #[test]
    fn a_key_is_one_path_segment() {
        assert_eq!(
            local_url("m/1:0?x"),
            "/api/attachments/m%2F1%3A0%3Fx",
            "slashes, colons and queries are encoded"
        );
    }

    #[test]
    fn a_file_kept_for_two_attachments_counts_once() {
        let conn = store();
        let (wanted, _) = undiscovered(&conn, 0, 100).expect("discover");
        enqueue(&conn, &wanted, 0).expect("enqueue");
        downloaded(&conn, "att-1", &kept("aa", 100), 1).expect("kept");
        downloaded(&conn, "m1:1", &kept("aa", 100), 1).expect("kept");
        let usage = usage(&conn).expect("usage");
        assert_eq!(usage.used_bytes, 100, "the same content is one file");
        assert_eq!(
            (usage.downloaded, usage.failed, usage.pending),
            (2, 1, 0),
            "counted by state"
        );
        let served = served(&conn, "att-1").expect("read").expect("known");
        assert_eq!(
            served.filename.as_deref(),
            Some("a.png"),
            "the name comes from an attachment with that id"
        );
        assert!(is_kept(&conn, "aa").expect("kept?"), "still used");
    }
}
