//! `config.toml` in the data folder: read, and rewritten whole.
//!
//! Several processes rewrite it: the engine (a generated secret, a rotation from the UI, the
//! secret keeper dropping an expired secret) and the CLI (`linq-inbox linq rotate`, `linq
//! token`) while the engine runs. Every change is a read-modify-write, so two at once could
//! each read the old file and the later rename would drop the other's change. So a change
//! holds an advisory lock on `config.toml.lock` from the read to the rename, and writes a
//! temporary file with a name of its own (a fixed name let two writers write into one file).
//! Readers take no lock: the rename makes every version they can see whole.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::linq::LinqSection;
use super::{ConfigError, CONFIG_FILE};

/// The lock file beside `config.toml` (the config file itself is replaced by each write, so a
/// lock on it would be a lock on a file nobody opens next).
const LOCK_FILE: &str = "config.toml.lock";

/// The config file's keys. Unknown keys are refused so a typo is noticed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_listen: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_secrets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typing_retention_hours: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_unsigned: bool,
    /// The largest attachment kept, in megabytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_max_mb: Option<u64>,
    /// Megabytes every kept attachment may take together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments_max_total_mb: Option<u64>,
    /// The connection to Linq's API: subscription, public URL, secrets in their grace period.
    #[serde(default, skip_serializing_if = "LinqSection::is_empty")]
    pub linq: LinqSection,
}

fn file_error(path: &Path, reason: impl ToString) -> ConfigError {
    ConfigError::ConfigFile {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

pub(super) fn read_config(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => return Err(file_error(path, e)),
    };
    toml::from_str(&text).map_err(|e| file_error(path, e.message()))
}

/// Reads the config file in `data_dir` (an absent file reads as empty).
pub fn load_config(data_dir: &Path) -> Result<ConfigFile, ConfigError> {
    read_config(&data_dir.join(CONFIG_FILE))
}

/// Reads, changes and rewrites the config file in `data_dir` as one step against every other
/// writer (this process or another), and returns what `change` returned.
///
/// Errors: the lock, the read, or the write failed (`ConfigError::ConfigFile`, naming the
/// file); the file is then as it was.
pub fn update_config<T>(
    data_dir: &Path,
    change: impl FnOnce(&mut ConfigFile) -> T,
) -> Result<T, ConfigError> {
    let path = data_dir.join(CONFIG_FILE);
    let _lock = lock(data_dir).map_err(|e| file_error(&path, e))?;
    let mut file = read_config(&path)?;
    let answer = change(&mut file);
    write_config(&path, &file)?;
    Ok(answer)
}

/// Holds the advisory lock on the config file until dropped (closing the file releases it).
fn lock(data_dir: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(data_dir.join(LOCK_FILE))?;
    file.lock()?;
    Ok(file)
}

/// Writes the config file with mode 0600 (it holds the webhook secret): a temporary file of its
/// own in the same folder, synced, then renamed over the old one, so a reader never sees half.
fn write_config(path: &Path, file: &ConfigFile) -> Result<(), ConfigError> {
    let fail = |reason: std::io::Error| file_error(path, reason);
    let text = toml::to_string(file).map_err(|e| file_error(path, e))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // `tempfile` creates it with mode 0600 on Unix and a name no other writer uses.
    let mut out = tempfile::Builder::new()
        .prefix(".config.toml.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    out.write_all(text.as_bytes()).map_err(fail)?;
    out.as_file().sync_all().map_err(fail)?;
    out.persist(path).map_err(|e| fail(e.error))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    }
    Ok(())
}

/// Checks a file the app wrote can be read by its owner only (it holds a secret).
#[cfg(test)]
pub(crate) fn assert_owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .expect("the file exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{} holds a secret", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `linq rotate` in the CLI and a UI write at the same moment could each read
    /// the old file, and the later rename dropped the other's change (both also wrote into one
    /// fixed `config.toml.tmp`).
    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        const WRITERS: usize = 4;
        const EACH: usize = 50;
        std::thread::scope(|scope| {
            for w in 0..WRITERS {
                let dir = dir.path();
                scope.spawn(move || {
                    for i in 0..EACH {
                        update_config(dir, |f| f.webhook_secrets.push(format!("w{w}-{i}")))
                            .expect("update");
                    }
                });
            }
        });
        let file = load_config(dir.path()).expect("read back");
        assert_eq!(
            file.webhook_secrets.len(),
            WRITERS * EACH,
            "every writer's every change is in the file: none read a version another was replacing"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert_eq!(
            leftovers,
            Vec::<String>::new(),
            "each temporary file was renamed into place"
        );
    }

    #[test]
    fn updates_answer_what_the_change_returned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let before = update_config(dir.path(), |f| {
            let before = f.webhook_secrets.len();
            f.webhook_secrets.push("s".into());
            before
        })
        .expect("update");
        assert_eq!(before, 0, "an absent file reads as empty");
        assert_owner_only(&dir.path().join(CONFIG_FILE));
    }
}
