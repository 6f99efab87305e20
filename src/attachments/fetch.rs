//! One download: the address checked by the policy (and every redirect with it), the bytes
//! streamed into a temporary file in the attachments folder while they are counted against
//! both limits and hashed, then renamed to their SHA-256. The type is sniffed from the first
//! bytes. Every failure is one sentence, and says whether trying again later may help.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{header, Response, StatusCode, Url};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::policy::UrlPolicy;
use super::sniff;
use crate::config::{AttachmentLimits, MB};
use crate::store::attachment_files::Kept;

/// Redirects followed before giving up (each one checked by the policy).
const MAX_REDIRECTS: usize = 5;
/// A download that sends nothing for this long is broken off (and tried again later).
const STALL: Duration = Duration::from_secs(30);
/// The name prefix of a download in progress; left over ones are removed at start.
pub const PARTIAL_PREFIX: &str = ".partial-";

/// What one download came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Kept(Kept),
    /// `retry`: a passing failure (network, Linq's server) worth trying again after a while;
    /// otherwise a limit or a refused address, tried again only at the next start or by hand.
    Failed {
        reason: String,
        retry: bool,
    },
}

fn passing(reason: impl Into<String>) -> Outcome {
    Outcome::Failed {
        reason: reason.into(),
        retry: true,
    }
}

fn refused(reason: impl Into<String>) -> Outcome {
    Outcome::Failed {
        reason: reason.into(),
        retry: false,
    }
}

/// Why `get` has no file: a failure as the worker records it, or an answer saying the address
/// is no good anymore (403, 404: a presigned URL past its expiry), which a fresh one may cure.
enum GetError {
    Failed(Outcome),
    Gone(u16),
}

impl From<Outcome> for GetError {
    fn from(outcome: Outcome) -> GetError {
        GetError::Failed(outcome)
    }
}

fn not_the_file(status: u16) -> Outcome {
    passing(format!(
        "Linq's file server answered HTTP {status} instead of the file."
    ))
}

/// Asks Linq for a fresh address of an attachment whose stored one expired
/// (`GET /v3/attachments/{id}`); `None` when there is none to be had.
pub trait FreshUrl: Send + Sync {
    fn fresh_url<'a>(
        &'a self,
        id: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send + 'a>>;
}

/// Bytes the kept files may still take, shared by the downloads in flight.
#[derive(Debug)]
pub struct Budget {
    used: AtomicU64,
    max: u64,
}

impl Budget {
    pub fn new(used: u64, max: u64) -> Budget {
        Budget {
            used: AtomicU64::new(used),
            max,
        }
    }

    /// Takes `n` bytes, or nothing when they would pass the limit.
    fn take(&self, n: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= self.max)
            })
            .is_ok()
    }

    fn give_back(&self, n: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(n))
            });
    }

    #[cfg(test)]
    fn remaining(&self) -> u64 {
        self.max.saturating_sub(self.used.load(Ordering::Acquire))
    }
}

fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / MB as f64;
    if mb >= 10.0 || mb.fract() == 0.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

/// Downloads into one folder under the limits.
pub struct Fetcher {
    client: reqwest::Client,
    policy: UrlPolicy,
    dir: PathBuf,
    limits: AttachmentLimits,
    budget: Arc<Budget>,
}

impl Fetcher {
    /// Errors: the HTTP client could not be built (no TLS backend).
    pub fn new(
        policy: UrlPolicy,
        dir: PathBuf,
        limits: AttachmentLimits,
        budget: Arc<Budget>,
    ) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("linq-inbox/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher {
            client,
            policy,
            dir,
            limits,
            budget,
        })
    }

    /// Gives back the budget of a kept file that was deleted.
    pub fn give_back(&self, bytes: u64) {
        self.budget.give_back(bytes);
    }

    /// Downloads `address` into the folder. When the address is gone (403, 404) and `fresh`
    /// names where to ask and the attachment's id, the download is tried once more at the
    /// address Linq gives now.
    pub async fn fetch(&self, address: &str, fresh: Option<(&dyn FreshUrl, &str)>) -> Outcome {
        match self.get(address).await {
            Ok(response) => self.save(response).await,
            Err(GetError::Failed(outcome)) => outcome,
            Err(GetError::Gone(status)) => match fresh {
                Some((source, id)) => self.refetch(source, id, status).await,
                None => not_the_file(status),
            },
        }
    }

    async fn refetch(&self, source: &dyn FreshUrl, id: &str, status: u16) -> Outcome {
        let Some(address) = source.fresh_url(id).await else {
            return not_the_file(status);
        };
        match self.get(&address).await {
            Ok(response) => self.save(response).await,
            Err(GetError::Failed(outcome)) => outcome,
            Err(GetError::Gone(again)) => passing(format!(
                "Linq's file server answered HTTP {again} instead of the file, also at the fresh address Linq gave for it."
            )),
        }
    }

    /// The answer with the file's bytes, redirects followed one policy check at a time.
    async fn get(&self, address: &str) -> Result<Response, GetError> {
        let mut url = self.policy.check(address).map_err(refused)?;
        for _ in 0..=MAX_REDIRECTS {
            let response = match tokio::time::timeout(STALL, self.client.get(url.clone()).send())
                .await
            {
                Err(_) => {
                    return Err(passing("Linq's file server did not answer in 30 seconds.").into())
                }
                Ok(Err(e)) => {
                    return Err(passing(format!(
                        "Could not reach Linq's file server ({}).",
                        e.without_url()
                    ))
                    .into())
                }
                Ok(Ok(r)) => r,
            };
            let status = response.status();
            if status.is_redirection() {
                url = self.redirect_target(&url, &response)?;
                continue;
            }
            if status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND {
                return Err(GetError::Gone(status.as_u16()));
            }
            if !status.is_success() {
                return Err(not_the_file(status.as_u16()).into());
            }
            return Ok(response);
        }
        Err(refused(format!(
            "The file's address redirected more than {MAX_REDIRECTS} times."
        ))
        .into())
    }

    fn redirect_target(&self, from: &Url, response: &Response) -> Result<Url, Outcome> {
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| passing("Linq's file server redirected without saying where to."))?;
        let next = from
            .join(location)
            .map_err(|_| refused("Linq's file server redirected to an invalid address."))?;
        self.policy
            .check(next.as_str())
            .map_err(|reason| refused(format!("Redirected: {reason}")))
    }

    fn too_large(&self, size: Option<u64>) -> Outcome {
        let limit = megabytes(self.limits.max_file_bytes);
        refused(match size {
            Some(size) => format!(
                "The file is {}, over the {limit} limit for one attachment (--attachment-max-mb).",
                megabytes(size)
            ),
            None => format!(
                "The file is larger than the {limit} limit for one attachment (--attachment-max-mb)."
            ),
        })
    }

    fn full(&self) -> Outcome {
        refused(format!(
            "The attachments folder is at its {} limit (--attachments-max-total-mb), so this file was not kept.",
            megabytes(self.limits.max_total_bytes)
        ))
    }

    /// Streams the answer's bytes into the folder under both limits. A file that says its size
    /// holds that much of the folder's budget before its first byte, so downloads running side by
    /// side cannot each take part of the room and all fail for want of the rest.
    async fn save(&self, mut response: Response) -> Outcome {
        let declared = response.content_length();
        if let Some(length) = declared {
            if length > self.limits.max_file_bytes {
                return self.too_large(Some(length));
            }
            if !self.budget.take(length) {
                return self.full();
            }
        }
        let partial = self
            .dir
            .join(format!("{PARTIAL_PREFIX}{}", crate::config::random_token()));
        let mut held = declared.unwrap_or(0);
        let result = self.stream_into(&mut response, &partial, &mut held).await;
        match result {
            Ok((sha256, head)) => self.keep(&partial, sha256, held, &head).await,
            Err(outcome) => {
                self.budget.give_back(held);
                let _ = tokio::fs::remove_file(&partial).await;
                outcome
            }
        }
    }

    /// Writes the body to `partial`; the SHA-256 and the first bytes. `held` is the budget this
    /// download holds: taken as bytes come beyond it, and at the end exactly the bytes written.
    async fn stream_into(
        &self,
        response: &mut Response,
        partial: &Path,
        held: &mut u64,
    ) -> Result<(String, Vec<u8>), Outcome> {
        let disk =
            |e: std::io::Error| passing(format!("The data folder could not take the file ({e})."));
        let mut file = tokio::fs::File::create(partial).await.map_err(disk)?;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(sniff::HEAD_BYTES);
        let mut written = 0u64;
        loop {
            let chunk = match tokio::time::timeout(STALL, response.chunk()).await {
                Err(_) => return Err(passing("The download stalled for 30 seconds.")),
                Ok(Err(e)) => {
                    return Err(passing(format!(
                        "The download broke off ({}).",
                        e.without_url()
                    )))
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => chunk,
            };
            let n = chunk.len() as u64;
            if written + n > self.limits.max_file_bytes {
                return Err(self.too_large(None));
            }
            let more = (written + n).saturating_sub(*held);
            if more > 0 {
                if !self.budget.take(more) {
                    return Err(self.full());
                }
                *held += more;
            }
            written += n;
            hasher.update(&chunk);
            let room = sniff::HEAD_BYTES.saturating_sub(head.len());
            head.extend_from_slice(&chunk[..room.min(chunk.len())]);
            file.write_all(&chunk).await.map_err(disk)?;
        }
        file.sync_all().await.map_err(disk)?;
        // A body shorter than it said gives back what it did not use.
        self.budget.give_back(*held - written);
        *held = written;
        Ok((hex::encode(hasher.finalize()), head))
    }

    /// Moves the finished file to its name (its content's hash); a file with the same content
    /// already kept is used as it is, and its bytes are not counted twice.
    async fn keep(&self, partial: &Path, sha256: String, size: u64, head: &[u8]) -> Outcome {
        let target = self.dir.join(&sha256);
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            self.budget.give_back(size);
            let _ = tokio::fs::remove_file(partial).await;
            // Used again now: the sweep of files no reply names leaves a young file alone.
            if let Ok(file) = tokio::fs::OpenOptions::new()
                .append(true)
                .open(&target)
                .await
            {
                let _ = file
                    .into_std()
                    .await
                    .set_modified(std::time::SystemTime::now());
            }
        } else if let Err(e) = tokio::fs::rename(partial, &target).await {
            self.budget.give_back(size);
            let _ = tokio::fs::remove_file(partial).await;
            return passing(format!("The data folder could not take the file ({e})."));
        }
        Outcome::Kept(Kept {
            sha256,
            size: size as i64,
            content_type: sniff::content_type(head),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_never_passes_its_limit() {
        let budget = Budget::new(90, 100);
        assert!(budget.take(10), "up to the limit fits");
        assert!(!budget.take(1), "one byte more does not");
        budget.give_back(30);
        assert_eq!(
            budget.remaining(),
            30,
            "what a failed download took comes back"
        );
    }

    #[test]
    fn sizes_read_as_megabytes() {
        assert_eq!(megabytes(100 * MB), "100 MB", "whole");
        assert_eq!(megabytes(2_500_000), "2.5 MB", "one decimal below ten");
    }
}
