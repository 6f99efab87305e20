//! Settings: flag, then environment, then the config file in the data folder, then default.
//!
//! Everything that can be wrong with a setting is found here, before anything starts, and
//! reported as one sentence that says what to change.
//!
//! This is the engine's bottom layer: it imports no other module of the crate but the vendor's
//! vocabulary (`linq::Secret`). `file` reads and rewrites `config.toml` (one writer at a time,
//! atomically); `linq` is its `[linq]` table and the API base's validation, which the layers
//! above (`linq_api`, `http`, the CLI) use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use rand::RngCore;
use serde::Serialize;

use crate::linq::Secret;

mod file;
pub mod linq;

use file::read_config;
pub use file::{load_config, update_config, ConfigFile};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_UI_LISTEN: &str = "127.0.0.1:8788";
pub const DEFAULT_WEBHOOK_PATH: &str = "/webhooks/linq";
pub const CONFIG_FILE: &str = "config.toml";
pub const ENV_SECRET: &str = "LINQ_WEBHOOK_SECRET";
/// The largest attachment kept by default, in megabytes: Linq's own limit for an upload.
pub const DEFAULT_ATTACHMENT_MAX_MB: u64 = 100;
/// What every kept attachment may take together by default, in megabytes.
pub const DEFAULT_ATTACHMENTS_MAX_TOTAL_MB: u64 = 5_000;
/// A megabyte, as the attachment limits count them.
pub const MB: u64 = 1_000_000;
/// The path through the public address is tested every five minutes by default.
pub const DEFAULT_SELF_TEST_SECS: u64 = 300;

/// A rotated-out webhook secret is accepted for a day: Linq may still retry older deliveries.
pub const DEFAULT_SECRET_GRACE_SECS: u64 = 86_400;

/// The settings every subcommand (and the desktop app) accepts, before or after its name.
#[derive(Args, Clone, Debug, Default)]
pub struct SettingsArgs {
    /// Data folder (database, config file).
    #[arg(long, global = true, env = "LINQ_INBOX_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the webhook listener (the only port a tunnel should expose).
    #[arg(long, global = true, env = "LINQ_INBOX_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Path Linq posts to.
    #[arg(
        long,
        global = true,
        env = "LINQ_INBOX_WEBHOOK_PATH",
        value_name = "PATH"
    )]
    pub webhook_path: Option<String>,
    /// Address of the local UI server (loopback only).
    #[arg(long, global = true, env = "LINQ_INBOX_UI_LISTEN", value_name = "ADDR")]
    pub ui_listen: Option<String>,
    /// File holding the webhook secret(s), comma-separated for rotation. Default: LINQ_WEBHOOK_SECRET, then the config file.
    #[arg(long, global = true, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Fixed UI token for scripts and tests (default: random per launch).
    #[arg(
        long,
        global = true,
        env = "LINQ_INBOX_UI_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub ui_token: Option<String>,
    /// Accept webhooks that carry no signature.
    #[arg(long, global = true)]
    pub allow_unsigned: bool,
    /// Hours to keep typing-indicator events in the log (default 24).
    #[arg(
        long,
        global = true,
        env = "LINQ_INBOX_TYPING_RETENTION_HOURS",
        value_name = "HOURS"
    )]
    pub typing_retention_hours: Option<u64>,
    /// Base URL of Linq's partner API (tests point it at a local fake).
    #[arg(long, global = true, env = "LINQ_API_BASE", value_name = "URL")]
    pub linq_api_base: Option<String>,
    /// Which of Linq's REST APIs the account speaks: `v3` (default) or `v2` (the vendor's legacy
    /// API). Chooses the endpoints and the auth header of every Linq call.
    #[arg(long, global = true, env = "LINQ_API_VERSION", value_name = "v3|v2")]
    pub linq_api_version: Option<String>,
    /// Seconds a rotated-out webhook secret keeps being accepted (default 86400, one day).
    #[arg(
        long,
        global = true,
        env = "LINQ_INBOX_SECRET_GRACE_SECS",
        value_name = "SECONDS"
    )]
    pub secret_grace_secs: Option<u64>,
    /// Seconds between self-test deliveries through the public address (default 300; 0: off).
    #[arg(
        long,
        global = true,
        env = "LINQ_INBOX_SELF_TEST_SECS",
        value_name = "SECONDS"
    )]
    pub self_test_secs: Option<u64>,
    /// The largest attachment kept in the data folder, in megabytes (default 100).
    #[arg(
        long,
        global = true,
        env = "LINQ_INBOX_ATTACHMENT_MAX_MB",
        value_name = "MB"
    )]
    pub attachment_max_mb: Option<u64>,
    /// Megabytes all kept attachments may take together (default 5000).
    #[arg(
        long,
        global = true,
        env = "LINQ_INBOX_ATTACHMENTS_MAX_TOTAL_MB",
        value_name = "MB"
    )]
    pub attachments_max_total_mb: Option<u64>,
}

/// How much of the data folder attachments may take (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AttachmentLimits {
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

impl AttachmentLimits {
    fn resolve(args: &SettingsArgs, file: &ConfigFile) -> Result<AttachmentLimits, ConfigError> {
        let mb = |flag: &str, value: Option<u64>, default: u64| match value.unwrap_or(default) {
            0 => Err(ConfigError::Invalid(format!(
                "{flag} must be at least 1 (megabyte)"
            ))),
            n => Ok(n.saturating_mul(MB)),
        };
        Ok(AttachmentLimits {
            max_file_bytes: mb(
                "--attachment-max-mb",
                args.attachment_max_mb.or(file.attachment_max_mb),
                DEFAULT_ATTACHMENT_MAX_MB,
            )?,
            max_total_bytes: mb(
                "--attachments-max-total-mb",
                args.attachments_max_total_mb
                    .or(file.attachments_max_total_mb),
                DEFAULT_ATTACHMENTS_MAX_TOTAL_MB,
            )?,
        })
    }
}

/// Where the webhook secrets came from; shown on the status screen, never the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    SecretFile,
    Environment,
    ConfigFile,
    Generated,
    None,
}

/// Resolved, validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub webhook_path: String,
    pub ui_listen: SocketAddr,
    pub secrets: Vec<Secret>,
    pub secret_source: SecretSource,
    pub ui_token: String,
    pub allow_unsigned: bool,
    pub typing_retention_hours: u64,
    /// Linq's partner API, e.g. `https://api.linqapp.com` (no trailing slash).
    pub linq_api_base: String,
    /// The REST API dialect of the account (`--linq-api-version`).
    pub linq_api_version: linq::ApiVersion,
    /// How long a rotated-out secret is still accepted.
    pub secret_grace: std::time::Duration,
    /// How often the path through the public address is checked (zero: never).
    pub self_test_every: std::time::Duration,
    /// How much of the data folder attachments may take.
    pub attachments: AttachmentLimits,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot use the data folder {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("the config file {path} is broken: {reason}")]
    ConfigFile { path: String, reason: String },
}

impl Settings {
    /// Resolves settings from flags and environment (already merged by clap), then the config
    /// file, then defaults. On a first run with no secret, generates one and saves it.
    pub fn resolve(args: &SettingsArgs) -> Result<Settings, ConfigError> {
        let data_dir = match &args.data_dir {
            Some(d) => d.clone(),
            None => default_data_dir()?,
        };
        prepare_data_dir(&data_dir)?;
        let mut file = read_config(&data_dir.join(CONFIG_FILE))?;

        let listen = parse_addr(
            "--listen",
            args.listen
                .as_deref()
                .or(file.listen.as_deref())
                .unwrap_or(DEFAULT_LISTEN),
        )?;
        let ui_listen = parse_addr(
            "--ui-listen",
            args.ui_listen
                .as_deref()
                .or(file.ui_listen.as_deref())
                .unwrap_or(DEFAULT_UI_LISTEN),
        )?;
        if !ui_listen.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "--ui-listen must be a loopback address such as 127.0.0.1:8788, not {ui_listen}; the UI API is never exposed to the network"
            )));
        }
        if listen == ui_listen && listen.port() != 0 {
            return Err(ConfigError::Invalid(format!(
                "--listen and --ui-listen are both {listen}; give the webhook listener and the UI their own ports"
            )));
        }
        let webhook_path = validate_path(
            args.webhook_path
                .as_deref()
                .or(file.webhook_path.as_deref())
                .unwrap_or(DEFAULT_WEBHOOK_PATH),
        )?;
        let allow_unsigned = args.allow_unsigned || file.allow_unsigned;
        let (mut secrets, secret_source) =
            resolve_secrets(args, &mut file, &data_dir, allow_unsigned)?;
        if matches!(
            secret_source,
            SecretSource::ConfigFile | SecretSource::Generated
        ) {
            // Secrets rotated out less than the grace period ago are still accepted.
            secrets.extend(file.linq.live_retiring(chrono::Utc::now()));
        }
        let linq_api_base = linq::validate_api_base(
            args.linq_api_base
                .as_deref()
                .or(file.linq.api_base.as_deref())
                .unwrap_or(linq::DEFAULT_API_BASE),
        )
        .map_err(ConfigError::Invalid)?;
        let attachments = AttachmentLimits::resolve(args, &file)?;
        let linq_api_version = linq::ApiVersion::parse(
            args.linq_api_version
                .as_deref()
                .or(file.linq.api_version.as_deref())
                .unwrap_or("v3"),
        )
        .map_err(ConfigError::Invalid)?;
        let ui_token = match &args.ui_token {
            Some(t) if t.trim().len() >= 8 => t.trim().to_string(),
            Some(_) => {
                return Err(ConfigError::Invalid(
                    "--ui-token must be at least 8 characters".into(),
                ))
            }
            None => random_token(),
        };
        Ok(Settings {
            data_dir,
            listen,
            webhook_path,
            ui_listen,
            secrets,
            secret_source,
            ui_token,
            allow_unsigned,
            typing_retention_hours: args
                .typing_retention_hours
                .or(file.typing_retention_hours)
                .unwrap_or(24),
            linq_api_base,
            linq_api_version,
            self_test_every: std::time::Duration::from_secs(
                args.self_test_secs.unwrap_or(DEFAULT_SELF_TEST_SECS),
            ),
            secret_grace: std::time::Duration::from_secs(
                args.secret_grace_secs.unwrap_or(DEFAULT_SECRET_GRACE_SECS),
            ),
            attachments,
        })
    }

    pub fn config_path(&self) -> PathBuf {
        self.data_dir.join(CONFIG_FILE)
    }
}

fn default_data_dir() -> Result<PathBuf, ConfigError> {
    dirs::data_dir()
        .map(|d| d.join("linq-inbox"))
        .ok_or_else(|| {
            ConfigError::Invalid(
                "no platform data folder is known here; pass --data-dir or set LINQ_INBOX_DATA_DIR"
                    .into(),
            )
        })
}

/// Creates the data folder if needed and proves it is writable.
fn prepare_data_dir(dir: &Path) -> Result<(), ConfigError> {
    let fail = |reason: String| ConfigError::DataDir {
        path: dir.display().to_string(),
        reason,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(fail("it is a file, not a folder".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(|e| fail(format!("it is not writable ({e})")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn split_secrets(text: &str) -> Vec<Secret> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Secret::new)
        .collect()
}

/// The secrets configured by flag, environment or config file, in that order, with where they
/// came from; `None` when there are none (a first run generates one).
fn configured_secrets(
    args: &SettingsArgs,
    file: &ConfigFile,
) -> Result<Option<(Vec<Secret>, SecretSource)>, ConfigError> {
    if let Some(path) = &args.secret_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::Invalid(format!(
                "cannot read the secret file {}: {e}",
                path.display()
            ))
        })?;
        let secrets = split_secrets(&text);
        if secrets.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "the secret file {} holds no secret",
                path.display()
            )));
        }
        return Ok(Some((secrets, SecretSource::SecretFile)));
    }
    if let Ok(text) = std::env::var(ENV_SECRET) {
        let secrets = split_secrets(&text);
        if !secrets.is_empty() {
            return Ok(Some((secrets, SecretSource::Environment)));
        }
    }
    let configured: Vec<Secret> = file
        .webhook_secrets
        .iter()
        .flat_map(|s| split_secrets(s))
        .collect();
    Ok((!configured.is_empty()).then_some((configured, SecretSource::ConfigFile)))
}

fn resolve_secrets(
    args: &SettingsArgs,
    file: &mut ConfigFile,
    data_dir: &Path,
    allow_unsigned: bool,
) -> Result<(Vec<Secret>, SecretSource), ConfigError> {
    if let Some(found) = configured_secrets(args, file)? {
        return Ok(found);
    }
    if allow_unsigned {
        return Ok((Vec::new(), SecretSource::None));
    }
    // Saved under the config file's lock; a secret another process saved since `file` was read
    // (a second first run at the same moment) is kept and used instead.
    let generated = generate_secret();
    let (kept, saved) = update_config(data_dir, |f| {
        if f.webhook_secrets.is_empty() {
            f.webhook_secrets = vec![generated.clone()];
        }
        (
            f.webhook_secrets.clone(),
            f.webhook_secrets == [generated.clone()],
        )
    })?;
    file.webhook_secrets = kept.clone();
    let secrets = kept.iter().flat_map(|s| split_secrets(s)).collect();
    let source = if saved {
        SecretSource::Generated
    } else {
        SecretSource::ConfigFile
    };
    Ok((secrets, source))
}

/// Where the app of a data folder takes webhooks, and the secrets it checks them with: what
/// `linq-inbox simulate` posts to and signs with when it is given no `--to` or `--secret`.
#[derive(Clone)]
pub struct WebhookTarget {
    /// `http://127.0.0.1:PORT/PATH` (an all-interfaces listener is reached on loopback).
    pub url: String,
    /// Empty when no secret is configured yet (the app makes one on its first start).
    pub secrets: Vec<Secret>,
}

/// Resolves the settings that say where the webhooks go and how they are signed, the same way
/// [`Settings::resolve`] does, but changes nothing: no folder is made and no secret generated.
pub fn webhook_target(args: &SettingsArgs) -> Result<WebhookTarget, ConfigError> {
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => default_data_dir()?,
    };
    let file = read_config(&data_dir.join(CONFIG_FILE))?;
    let listen = parse_addr(
        "--listen",
        args.listen
            .as_deref()
            .or(file.listen.as_deref())
            .unwrap_or(DEFAULT_LISTEN),
    )?;
    let path = validate_path(
        args.webhook_path
            .as_deref()
            .or(file.webhook_path.as_deref())
            .unwrap_or(DEFAULT_WEBHOOK_PATH),
    )?;
    let secrets = configured_secrets(args, &file)?
        .map(|(secrets, _)| secrets)
        .unwrap_or_default();
    Ok(WebhookTarget {
        url: webhook_url(listen, &path),
        secrets,
    })
}

/// The webhook listener's URL as this machine reaches it (an all-interfaces listener on
/// loopback).
pub fn webhook_url(mut listen: SocketAddr, path: &str) -> String {
    if listen.ip().is_unspecified() {
        listen.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{listen}{path}")
}

/// A new webhook secret: 32 random bytes as hex.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A random token for UI sessions and login links.
pub fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn parse_addr(flag: &str, text: &str) -> Result<SocketAddr, ConfigError> {
    let text = text.trim();
    let normalized = text
        .strip_prefix("localhost:")
        .map(|port| format!("127.0.0.1:{port}"));
    normalized.as_deref().unwrap_or(text).parse().map_err(|_| {
        ConfigError::Invalid(format!(
            "{flag} must be an address like 127.0.0.1:8787, not {text:?}"
        ))
    })
}

fn validate_path(path: &str) -> Result<String, ConfigError> {
    let ok = path.starts_with('/')
        && path.len() > 1
        && path.len() <= 200
        && !path.ends_with('/')
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c))
        && path != "/healthz";
    if ok {
        Ok(path.to_string())
    } else {
        Err(ConfigError::Invalid(format!(
            "--webhook-path must be a path like /webhooks/linq (letters, digits, / - _ . ~), not {path:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &Path) -> SettingsArgs {
        SettingsArgs {
            data_dir: Some(dir.to_path_buf()),
            ..SettingsArgs::default()
        }
    }

    #[test]
    fn first_run_generates_a_private_secret_and_keeps_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = args(dir.path());
        a.secret_file = None;
        // The environment may carry a secret in CI; this test is about the generated one.
        if std::env::var(ENV_SECRET).is_ok() {
            return;
        }
        let first = Settings::resolve(&a).expect("first run");
        assert_eq!(
            first.secret_source,
            SecretSource::Generated,
            "with no secret anywhere the first run makes one"
        );
        let second = Settings::resolve(&a).expect("second run");
        assert_eq!(
            second.secret_source,
            SecretSource::ConfigFile,
            "the second run reads the secret the first one saved"
        );
        assert_eq!(
            first.secrets, second.secrets,
            "the generated secret is kept"
        );
        file::assert_owner_only(&dir.path().join(CONFIG_FILE));
    }

    #[test]
    fn bad_settings_are_one_sentence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = args(dir.path());
        a.allow_unsigned = true;
        a.ui_listen = Some("0.0.0.0:9000".into());
        let err = Settings::resolve(&a).expect_err("non-loopback UI");
        assert!(err.to_string().contains("loopback"), "{err}");
        a.ui_listen = None;
        a.listen = Some("nonsense".into());
        assert!(
            Settings::resolve(&a)
                .expect_err("bad addr")
                .to_string()
                .contains("--listen"),
            "a bad --listen address is named in the error"
        );
        a.listen = None;
        a.webhook_path = Some("no-slash".into());
        assert!(
            Settings::resolve(&a).is_err(),
            "a webhook path without a leading slash is refused"
        );
    }

    #[test]
    fn attachment_limits_come_from_flags_then_the_file_then_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = args(dir.path());
        a.allow_unsigned = true;
        let defaults = Settings::resolve(&a).expect("defaults").attachments;
        assert_eq!(
            defaults.max_file_bytes,
            DEFAULT_ATTACHMENT_MAX_MB * MB,
            "per file by default"
        );
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "allow_unsigned = true\nattachment_max_mb = 7\nattachments_max_total_mb = 70\n",
        )
        .expect("write");
        a.attachment_max_mb = Some(3);
        let limits = Settings::resolve(&a).expect("resolve").attachments;
        assert_eq!(
            (limits.max_file_bytes, limits.max_total_bytes),
            (3 * MB, 70 * MB),
            "the flag wins over the file, the file over the default"
        );
        a.attachment_max_mb = Some(0);
        let err = Settings::resolve(&a).expect_err("zero");
        assert!(err.to_string().contains("--attachment-max-mb"), "{err}");
    }

    #[test]
    fn a_broken_config_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(CONFIG_FILE), "listen = [").expect("write");
        let err = Settings::resolve(&args(dir.path())).expect_err("broken toml");
        assert!(err.to_string().contains("config file"), "{err}");
    }

    #[test]
    fn a_file_is_not_a_data_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "x").expect("write");
        let err = Settings::resolve(&args(&file)).expect_err("file as dir");
        assert!(err.to_string().contains("not a folder"), "{err}");
    }
}
