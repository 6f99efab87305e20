//! The kept files in and out of a backup: `export --out FILE.jsonl --with-attachments` writes
//! them to the folder `FILE.attachments/` beside the JSONL (each file under its SHA-256, and
//! `index.jsonl`: one `{"key", "sha256", "size"}` a line), and `import FILE.jsonl` restores
//! them from that folder when it is there. Every file is checked against its hash before the
//! import writes anything, and its type is read from its bytes again.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{is_sha256, sniff, FOLDER};
use crate::store::attachment_files::{self as files, Kept};
use crate::store::{now_millis, StoreError};

/// The index file inside an export's attachments folder.
pub const INDEX: &str = "index.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("could not {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ArchiveError + 'a {
    move |source| ArchiveError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// One line of `index.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: String,
    sha256: String,
    size: i64,
}

/// The attachments folder of the export `jsonl`: `backup.jsonl` → `backup.attachments`.
pub fn folder_beside(jsonl: &Path) -> PathBuf {
    jsonl.with_extension("attachments")
}

/// What an export wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Exported {
    pub files: usize,
    /// Kept files missing from the data folder (removed by hand): listed nowhere, skipped.
    pub missing: usize,
}

/// Copies every kept file of the data folder `data_dir` into `out` with its index.
pub fn export(conn: &Connection, data_dir: &Path, out: &Path) -> Result<Exported, ArchiveError> {
    std::fs::create_dir_all(out).map_err(io("create", out))?;
    let index_path = out.join(INDEX);
    let mut index = BufWriter::new(File::create(&index_path).map_err(io("create", &index_path))?);
    let mut report = Exported::default();
    for (key, kept) in files::downloaded_files(conn)? {
        let source = data_dir.join(FOLDER).join(&kept.sha256);
        if !is_sha256(&kept.sha256) || !source.is_file() {
            report.missing += 1;
            continue;
        }
        let target = out.join(&kept.sha256);
        if !target.exists() {
            std::fs::copy(&source, &target).map_err(io("copy", &source))?;
        }
        let line = serde_json::to_string(&Entry {
            key,
            sha256: kept.sha256,
            size: kept.size,
        })
        .map_err(|e| ArchiveError::Invalid(e.to_string()))?;
        writeln!(index, "{line}").map_err(io("write", &index_path))?;
        report.files += 1;
    }
    index.flush().map_err(io("write", &index_path))?;
    Ok(report)
}

/// An export's file, checked against its hash and its type read from its bytes, ready to be
/// restored.
#[derive(Debug)]
pub struct Checked {
    key: String,
    source: PathBuf,
    kept: Kept,
}

/// Reads the index of the export folder `from` and checks every file it lists against its
/// SHA-256, before anything is imported: a damaged or foreign file stops the import with the
/// line it is on, and nothing is written.
pub fn check(from: &Path) -> Result<Vec<Checked>, ArchiveError> {
    let index_path = from.join(INDEX);
    let index = File::open(&index_path).map_err(io("open", &index_path))?;
    let mut checked = Vec::new();
    for (n, line) in BufReader::new(index).lines().enumerate() {
        let line = line.map_err(io("read", &index_path))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = |why: String| ArchiveError::Invalid(format!("{INDEX} line {}: {why}", n + 1));
        let entry: Entry = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
        if !is_sha256(&entry.sha256) {
            return Err(at("sha256 is not 64 lowercase hex digits".into()));
        }
        let source = from.join(&entry.sha256);
        let kept = check_file(&source, &entry.sha256).map_err(|e| at(e.to_string()))?;
        checked.push(Checked {
            key: entry.key,
            source,
            kept,
        });
    }
    Ok(checked)
}

/// What an import restored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub files: usize,
    /// Attachments whose local copy was already kept.
    pub already: usize,
}

/// Copies `checked` files into the data folder `data_dir` and records them, in one transaction.
pub fn restore(
    conn: &mut Connection,
    data_dir: &Path,
    checked: &[Checked],
) -> Result<Restored, ArchiveError> {
    let dir = data_dir.join(FOLDER);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    let mut report = Restored::default();
    for c in checked {
        let target = dir.join(&c.kept.sha256);
        if !target.exists() {
            let partial = dir.join(format!(
                "{}{}",
                super::fetch::PARTIAL_PREFIX,
                crate::config::random_token()
            ));
            std::fs::copy(&c.source, &partial).map_err(io("copy", &c.source))?;
            std::fs::rename(&partial, &target).map_err(io("move", &partial))?;
        }
        if files::restore(&tx, &c.key, &c.kept, now_millis())? {
            report.files += 1;
        } else {
            report.already += 1;
        }
    }
    tx.commit().map_err(StoreError::from)?;
    Ok(report)
}

/// The file `source` as it would be kept, if its content matches `sha256`.
fn check_file(source: &Path, sha256: &str) -> Result<Kept, ArchiveError> {
    let mut reader = BufReader::new(File::open(source).map_err(io("open", source))?);
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(sniff::HEAD_BYTES);
    let mut size = 0i64;
    loop {
        let chunk = reader.fill_buf().map_err(io("read", source))?;
        if chunk.is_empty() {
            break;
        }
        let room = sniff::HEAD_BYTES.saturating_sub(head.len());
        head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        hasher.update(chunk);
        size += chunk.len() as i64;
        let n = chunk.len();
        reader.consume(n);
    }
    if hex::encode(hasher.finalize()) != sha256 {
        return Err(ArchiveError::Invalid(format!(
            "the file {} does not match its SHA-256 (damaged or replaced)",
            source.display()
        )));
    }
    Ok(Kept {
        sha256: sha256.to_string(),
        size,
        content_type: sniff::content_type(&head),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_sits_beside_the_jsonl() {
        assert_eq!(
            folder_beside(Path::new("/tmp/backup.jsonl")),
            Path::new("/tmp/backup.attachments"),
            "the extension is replaced"
        );
        assert_eq!(
            folder_beside(Path::new("backup")),
            Path::new("backup.attachments"),
            "or added"
        );
    }

    #[test]
    fn a_replaced_file_is_refused_by_its_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"hello").expect("write");
        let sha = hex::encode(Sha256::digest(b"hello"));
        let kept = check_file(&file, &sha).expect("matches");
        assert_eq!(kept.size, 5, "its size");
        let err = check_file(&file, &"0".repeat(64)).expect_err("wrong hash");
        assert!(err.to_string().contains("does not match"), "{err}");
        let missing = check_file(&dir.path().join("gone"), &sha).expect_err("missing");
        assert!(
            missing.to_string().contains("could not open"),
            "a missing file is a sentence, not a panic: {missing}"
        );
    }
}
