//! Attachments kept in the data folder, so the history stays whole after Linq deletes its copy
//! (accounts on Linq's ephemeral tier lose media after about a day).
//!
//! Every attachment of every message the store holds (delivered, imported or fetched) is
//! downloaded in the background by [`worker`], apart from ingest; [`fetch`] makes one download
//! under the limits (per file and in total, `config::AttachmentLimits`) and the address policy
//! ([`policy`]), and once more at a fresh address when Linq's presigned one has expired
//! ([`fetch::FreshUrl`]); [`sniff`] reads the type from the bytes; [`archive`] carries the files in and
//! out with `export --with-attachments` and `import`. Files are named by their SHA-256 in
//! `attachments/` (never by Linq's filename); their state is local state in the database
//! (`store::attachment_files`), which `rebuild` keeps.

pub mod archive;
pub mod fetch;
pub mod policy;
pub mod sniff;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::{AttachmentLimits, Settings};
use crate::feed::LiveState;
use crate::ingest::Ingest;
use crate::store::{attachment_files, Store};

/// The folder inside the data folder.
pub const FOLDER: &str = "attachments";
/// The wait before the first retry of a passing failure (doubling after).
pub const RETRY_BASE: Duration = Duration::from_secs(30);
/// Tests shorten [`RETRY_BASE`] (milliseconds) to watch a retry happen.
pub const TEST_RETRY_ENV: &str = "LINQ_INBOX_TEST_ATTACHMENT_RETRY_MS";
/// Tests shorten how long a file no reply names is kept (milliseconds; a day otherwise).
pub const TEST_UNSENT_KEPT_ENV: &str = "LINQ_INBOX_TEST_UNSENT_KEPT_MS";

/// What the rest of the engine holds of the downloader: where the files are, the limits, and
/// a way to wake it (the rep asked to try a file again).
#[derive(Debug, Clone)]
pub struct Attachments {
    dir: PathBuf,
    pub limits: AttachmentLimits,
    wake: Arc<Notify>,
}

impl Attachments {
    pub fn new(data_dir: &Path, limits: AttachmentLimits) -> Attachments {
        Attachments {
            dir: data_dir.join(FOLDER),
            limits,
            wake: Arc::default(),
        }
    }

    /// The kept file with the SHA-256 `sha256`; `None` for anything that is not one.
    pub fn file(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256(sha256).then(|| self.dir.join(sha256))
    }

    /// The folder the files are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Looks at the queue again now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the downloader on the current runtime. Without a working HTTP client (no TLS
    /// backend) or folder, it says so in the log and the inbox runs without it.
    /// `fresh`: where an expired file address is renewed (v3 accounts).
    pub fn spawn(
        &self,
        settings: &Settings,
        store: &Store,
        ingest: &Ingest,
        live: &LiveState,
        fresh: Option<Arc<dyn fetch::FreshUrl>>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if let Err(e) = prepare_folder(&self.dir) {
            tracing::error!(error = %e, dir = %self.dir.display(), "attachments cannot be kept");
            return None;
        }
        let used = store
            .reader()
            .and_then(|c| attachment_files::used_bytes(&c))
            .unwrap_or(0)
            .max(0) as u64;
        let budget = Arc::new(fetch::Budget::new(used, self.limits.max_total_bytes));
        let policy = policy::UrlPolicy::new(&settings.linq_api_base);
        let fetcher = match fetch::Fetcher::new(policy, self.dir.clone(), self.limits, budget) {
            Ok(f) => Arc::new(f),
            Err(e) => {
                tracing::error!(error = %e, "the attachment downloader could not start");
                return None;
            }
        };
        let retry_base = std::env::var(TEST_RETRY_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(RETRY_BASE, Duration::from_millis);
        let worker = worker::Worker {
            store: store.clone(),
            ingest: ingest.clone(),
            live: live.clone(),
            fetcher,
            wake: self.wake.clone(),
            retry_base,
            fresh,
            dir: self.dir.clone(),
        };
        Some(tokio::spawn(worker.run(ingest.projected())))
    }
}

/// Creates the folder and removes downloads a stop left unfinished.
fn prepare_folder(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(fetch::PARTIAL_PREFIX)
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// 64 lowercase hex digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
