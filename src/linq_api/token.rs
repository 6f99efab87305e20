//! The Linq integration token: where it comes from and where it is kept.
//!
//! Order: `LINQ_INTEGRATION_TOKEN`, then the config file (where it lands when no keyring could
//! keep it), then the OS keyring. Never a command-line argument (it would show in `ps`). The
//! keyring entry is named after the data folder, so two profiles (or a test run) never share or
//! overwrite each other's token. Where no Secret Service runs (a headless box, CI) the keyring
//! call fails fast and the token goes to `config.toml`, which is always mode 0600.

use std::path::Path;

use serde::Serialize;

pub use crate::config::linq::Token;
use crate::config::{self, ConfigError};

pub const ENV_TOKEN: &str = "LINQ_INTEGRATION_TOKEN";
/// `off` keeps the token out of the OS keyring (config file only).
pub const ENV_KEYRING: &str = "LINQ_INBOX_KEYRING";
const KEYRING_SERVICE: &str = "linq-inbox";

/// Where the token in use came from; shown in the UI and `--json`, never the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    Environment,
    Keyring,
    ConfigFile,
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

fn keyring_enabled() -> bool {
    !matches!(
        std::env::var(ENV_KEYRING).as_deref().map(str::trim),
        Ok("off" | "0" | "false" | "no")
    )
}

fn keyring_entry(data_dir: &Path) -> Option<keyring::Entry> {
    if !keyring_enabled() {
        return None;
    }
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    keyring::Entry::new(
        KEYRING_SERVICE,
        &format!("integration-token:{}", dir.display()),
    )
    .ok()
}

/// The token in use and where it came from. Blocking (the keyring may be asked over D-Bus).
pub fn current(data_dir: &Path) -> (Option<Token>, TokenSource) {
    if let Ok(text) = std::env::var(ENV_TOKEN) {
        if let Ok(token) = Token::parse(&text) {
            return (Some(token), TokenSource::Environment);
        }
    }
    if let Ok(file) = config::load_config(data_dir) {
        if let Some(token) = file.linq.integration_token {
            return (Some(token), TokenSource::ConfigFile);
        }
    }
    let from_keyring = keyring_entry(data_dir)
        .and_then(|e| e.get_password().ok())
        .and_then(|text| Token::parse(&text).ok());
    match from_keyring {
        Some(token) => (Some(token), TokenSource::Keyring),
        None => (None, TokenSource::None),
    }
}

/// One sentence saying where the token lives (Settings shows it under the token; `linq status`
/// prints it), never the token itself.
pub fn location(source: TokenSource, data_dir: &Path) -> String {
    let file = data_dir.join(config::CONFIG_FILE);
    match source {
        TokenSource::Keyring => {
            "The token is kept in the system keyring (Secret Service), not in any file.".into()
        }
        TokenSource::ConfigFile => format!(
            "The token is kept in {}, readable only by you (mode 0600): no unlocked system keyring took it when it was saved.",
            file.display()
        ),
        TokenSource::Environment => {
            format!("The token comes from {ENV_TOKEN} in the app's environment; the app does not keep it.")
        }
        TokenSource::None => format!(
            "A saved token goes to the system keyring when one is running and unlocked, else to {} (mode 0600).",
            file.display()
        ),
    }
}

/// Keeps a token: in the OS keyring when one answers, else in `config.toml` (mode 0600).
/// Returns where it went. Blocking.
pub fn save(data_dir: &Path, token: &Token) -> Result<TokenSource, TokenError> {
    let in_keyring = keyring_entry(data_dir)
        .map(|e| e.set_password(token.expose()).is_ok())
        .unwrap_or(false);
    if in_keyring {
        // A token left in the file from before would shadow the keyring's.
        config::update_config(data_dir, |f| f.linq.integration_token = None)?;
        return Ok(TokenSource::Keyring);
    }
    let saved = token.clone();
    config::update_config(data_dir, move |f| f.linq.integration_token = Some(saved))?;
    Ok(TokenSource::ConfigFile)
}

/// Forgets the stored token (keyring and file). The environment variable is not ours to clear.
pub fn forget(data_dir: &Path) -> Result<(), TokenError> {
    if let Some(entry) = keyring_entry(data_dir) {
        let _ = entry.delete_credential();
    }
    config::update_config(data_dir, |f| f.linq.integration_token = None)?;
    Ok(())
}
