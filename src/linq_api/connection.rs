//! The connection operations shared by the CLI and the UI API: connect (create or adopt the
//! subscription), list, disconnect, rotate the secret with a grace period, test the path, and
//! the status the Settings screen shows. State lives in `config.toml`'s `[linq]` table.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::client::{LinqApiError, LinqClient, Subscription, SubscriptionRequest};
use super::delivery::{self, DeliveryReport};
use super::token::{self, Token, TokenError, TokenSource};
use crate::config::linq::{is_loopback_host, ApiVersion, RetiringSecret};
use crate::config::{self, ConfigError, ConfigFile, SecretSource, Settings};
use crate::linq::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Api(#[from] LinqApiError),
    #[error("no Linq integration token is set: enter it in Settings → Connect to Linq, set LINQ_INTEGRATION_TOKEN, or pipe it to `linq-inbox linq token`")]
    NoToken,
    #[error("no webhook secret is configured (unsigned mode); start without --allow-unsigned so the app generates one, then connect")]
    NoSecret,
    #[error("{0}")]
    BadUrl(String),
    #[error("no public URL is known yet; connect first with the tunnel's https URL (`linq-inbox linq connect --public-url URL` or Settings → Connect to Linq)")]
    NoPublicUrl,
    #[error("this app has not connected a Linq subscription yet; connect first (`linq-inbox linq connect --public-url URL` or Settings → Connect to Linq)")]
    NotConnected,
    #[error("the webhook secret comes from {0}, which this app cannot rewrite; rotate it there (list the old and new secret comma-separated during the switch)")]
    ExternalSecret(&'static str),
    #[error("the webhook secret comes from {0}, so the signing secret Linq issues for a v3 subscription could not be used; remove {0} and restart (the app then keeps Linq's secret itself), or connect with --linq-api-version v2")]
    SecretElsewhere(&'static str),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// The settings the connection operations work with: where the `[linq]` table lives, Linq's
/// API base, the webhook path, where the secret comes from, the grace period and the timeout.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    pub data_dir: PathBuf,
    pub api_base: String,
    /// The account's REST API version (`--linq-api-version`).
    pub api_version: crate::config::linq::ApiVersion,
    pub webhook_path: String,
    pub secret_source: SecretSource,
    pub grace: Duration,
    pub timeout: Duration,
}

/// The answer of `connect`.
#[derive(Debug, Clone, Serialize)]
pub struct Connected {
    pub subscription: Subscription,
    /// False when an existing subscription for the same URL was updated instead.
    pub created: bool,
    pub webhook_url: String,
    pub warnings: Vec<String>,
}

/// The answer of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub subscriptions: Vec<Subscription>,
    /// The subscription this app created or adopted, when known.
    pub current_id: Option<String>,
    pub warnings: Vec<String>,
}

/// The answer of `rotate`.
#[derive(Debug, Clone, Serialize)]
pub struct Rotated {
    pub subscription_id: String,
    /// Until when the previous secret is still accepted.
    pub previous_accepted_until: DateTime<Utc>,
}

/// What Settings → Connect to Linq shows. No secret and no full token.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub api_base: String,
    /// The REST API version the connection speaks (`v3` or `v2`).
    pub api_version: ApiVersion,
    pub token: TokenStatus,
    pub public_url: Option<String>,
    pub webhook_path: String,
    pub webhook_url: Option<String>,
    pub subscription_id: Option<String>,
    pub secret_source: SecretSource,
    /// False when the secret comes from the environment or a secret file.
    pub rotatable: bool,
    pub grace_secs: u64,
    /// Rotated-out secrets still accepted, by expiry.
    pub retiring: Vec<RetiringInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenStatus {
    pub configured: bool,
    pub source: TokenSource,
    /// `lq_a…9f3c`; never the whole token.
    pub masked: Option<String>,
    /// One sentence saying where the token lives ([`token::location`]).
    pub location: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetiringInfo {
    pub expires_at: DateTime<Utc>,
}

impl ConnectSettings {
    pub fn from_settings(settings: &Settings) -> ConnectSettings {
        ConnectSettings {
            data_dir: settings.data_dir.clone(),
            api_base: settings.linq_api_base.clone(),
            api_version: settings.linq_api_version,
            webhook_path: settings.webhook_path.clone(),
            secret_source: settings.secret_source,
            grace: settings.secret_grace,
            timeout: super::client::DEFAULT_TIMEOUT,
        }
    }

    /// The token in use (the keyring may be asked over D-Bus, so off the async threads).
    pub async fn token(&self) -> (Option<Token>, TokenSource) {
        let dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || token::current(&dir))
            .await
            .unwrap_or((None, TokenSource::None))
    }

    /// Keeps a token entered by the rep; returns where it went.
    pub async fn save_token(&self, text: &str) -> Result<TokenSource, ConnectError> {
        let token = Token::parse(text).map_err(TokenError::Invalid)?;
        let dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || token::save(&dir, &token))
            .await
            .map_err(|_| TokenError::Invalid("saving the token was interrupted".into()))?
            .map_err(ConnectError::from)
    }

    pub async fn forget_token(&self) -> Result<(), ConnectError> {
        let dir = self.data_dir.clone();
        tokio::task::spawn_blocking(move || token::forget(&dir))
            .await
            .map_err(|_| TokenError::Invalid("forgetting the token was interrupted".into()))?
            .map_err(ConnectError::from)
    }

    async fn client(&self) -> Result<LinqClient, ConnectError> {
        let (token, _) = self.token().await;
        let token = token.ok_or(ConnectError::NoToken)?;
        Ok(LinqClient::new(&self.api_base, token, self.timeout)?)
    }

    /// The full webhook URL for a public base URL: its https address plus the webhook path.
    pub fn webhook_url(&self, public_url: &str) -> Result<String, ConnectError> {
        webhook_url(public_url, &self.webhook_path).map_err(ConnectError::BadUrl)
    }

    /// Creates the subscription for `public_url` with `secret` and every event type, or, when
    /// one for the same URL exists already, updates that one (a second would double every
    /// delivery). Remembers the public URL and the subscription id. `lines` (v3): the numbers
    /// to subscribe, empty for every line, `None` to keep those of the app's subscription.
    pub async fn connect(
        &self,
        public_url: &str,
        secret: Option<&Secret>,
        lines: Option<&[String]>,
    ) -> Result<Connected, ConnectError> {
        if self.api_version == ApiVersion::V3 {
            return self.connect_v3(public_url, lines).await;
        }
        let secret = secret.ok_or(ConnectError::NoSecret)?;
        let url = self.webhook_url(public_url)?;
        let client = self.client().await?;
        let saved = config::load_config(&self.data_dir)?.linq.subscription_id;
        let existing = client.list().await?;
        let request =
            SubscriptionRequest::all_events(&url, &String::from_utf8_lossy(secret.expose()));
        let same_url: Vec<&Subscription> = existing
            .iter()
            .filter(|s| same_target(&s.webhook_url, &url))
            .collect();
        let adopt = same_url
            .iter()
            .find(|s| Some(&s.id) == saved.as_ref())
            .or(same_url.first());
        let (subscription, created) = match adopt {
            Some(s) => (client.update(&s.id, &request).await?, false),
            None => (client.create(&request).await?, true),
        };
        let base = public_url.trim().trim_end_matches('/').to_string();
        let id = subscription.id.clone();
        config::update_config(&self.data_dir, move |f| {
            f.linq.public_url = Some(base);
            f.linq.subscription_id = Some(id);
        })?;
        let mut all = existing.clone();
        if created {
            all.push(subscription.clone());
        }
        Ok(Connected {
            warnings: duplicate_warnings(&all),
            subscription,
            created,
            webhook_url: url,
        })
    }

    pub async fn list(&self) -> Result<Listing, ConnectError> {
        if self.api_version == ApiVersion::V3 {
            return self.list_v3().await;
        }
        let client = self.client().await?;
        let subscriptions = client.list().await?;
        let current_id = config::load_config(&self.data_dir)?.linq.subscription_id;
        Ok(Listing {
            warnings: duplicate_warnings(&subscriptions),
            subscriptions,
            current_id,
        })
    }

    /// Deletes `id`, or this app's own subscription when `id` is `None`. Returns the id.
    pub async fn disconnect(&self, id: Option<&str>) -> Result<String, ConnectError> {
        let saved = config::load_config(&self.data_dir)?.linq.subscription_id;
        let id = match id {
            Some(i) => i.trim().to_string(),
            None => saved.clone().ok_or(ConnectError::NotConnected)?,
        };
        if self.api_version == ApiVersion::V3 {
            self.delete_v3(&id).await?;
        } else {
            self.client().await?.delete(&id).await?;
        }
        if saved.as_deref() == Some(id.as_str()) {
            config::update_config(&self.data_dir, |f| f.linq.subscription_id = None)?;
        }
        Ok(id)
    }

    /// Replaces the webhook secret: the new one is saved (and accepted) first, next to the old
    /// one with an expiry, then Linq is told; if Linq refuses, the old state is put back.
    /// At every moment both the secret Linq signs with and the other one are accepted.
    /// `after_save` runs after each config write (the engine reloads its secrets there), then
    /// `settle` passes before Linq is told (time for a running engine to notice the file).
    pub async fn rotate(
        &self,
        after_save: impl Fn(),
        settle: Duration,
    ) -> Result<Rotated, ConnectError> {
        match self.secret_source {
            SecretSource::Environment => {
                return Err(ConnectError::ExternalSecret("LINQ_WEBHOOK_SECRET"))
            }
            SecretSource::SecretFile => return Err(ConnectError::ExternalSecret("--secret-file")),
            SecretSource::None => return Err(ConnectError::NoSecret),
            SecretSource::ConfigFile | SecretSource::Generated => {}
        }
        if self.api_version == ApiVersion::V3 {
            return self.rotate_v3(after_save).await;
        }
        let before = config::load_config(&self.data_dir)?;
        let id = before
            .linq
            .subscription_id
            .clone()
            .ok_or(ConnectError::NotConnected)?;
        let public_url = before
            .linq
            .public_url
            .clone()
            .ok_or(ConnectError::NoPublicUrl)?;
        let url = self.webhook_url(&public_url)?;
        let client = self.client().await?;
        let new_secret = config::generate_secret();
        let now = Utc::now();
        let until = self.grace_end(now);
        let kept = new_secret.clone();
        config::update_config(&self.data_dir, move |f| {
            f.linq.drop_expired(now);
            let old: Vec<String> = f
                .webhook_secrets
                .drain(..)
                .flat_map(|s| split(&s))
                .collect();
            f.linq
                .retiring_secrets
                .extend(old.into_iter().map(|secret| RetiringSecret {
                    secret,
                    expires_at: until,
                }));
            f.webhook_secrets = vec![kept];
        })?;
        after_save();
        tokio::time::sleep(settle).await;
        match client
            .update(&id, &SubscriptionRequest::all_events(&url, &new_secret))
            .await
        {
            Ok(_) => Ok(Rotated {
                subscription_id: id,
                previous_accepted_until: until,
            }),
            Err(e) => {
                config::update_config(&self.data_dir, move |f| {
                    f.webhook_secrets = before.webhook_secrets;
                    f.linq.retiring_secrets = before.linq.retiring_secrets;
                })?;
                after_save();
                Err(e.into())
            }
        }
    }

    /// Posts a signed synthetic event to the public URL and asks `stored(event_id)` whether it
    /// reached this app's store.
    pub async fn test_delivery<F, Fut>(
        &self,
        public_url: Option<&str>,
        secret: Option<&Secret>,
        timeout: Duration,
        stored: F,
    ) -> Result<DeliveryReport, ConnectError>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let secret = secret.ok_or(ConnectError::NoSecret)?;
        let base = match public_url {
            Some(u) if !u.trim().is_empty() => u.to_string(),
            _ => config::load_config(&self.data_dir)?
                .linq
                .public_url
                .ok_or(ConnectError::NoPublicUrl)?,
        };
        let url = self.webhook_url(&base)?;
        let (event_id, body) = delivery::test_envelope();
        let sent = delivery::post(&url, &body, secret, timeout).await;
        let arrived = if sent.failure.is_none() {
            stored(event_id.clone()).await
        } else {
            false
        };
        Ok(delivery::report(&url, event_id, sent, arrived))
    }

    /// The connection as Settings shows it.
    pub async fn status(&self) -> Result<Status, ConnectError> {
        let file = config::load_config(&self.data_dir)?;
        let (token, source) = self.token().await;
        let now = Utc::now();
        let webhook_url = file
            .linq
            .public_url
            .as_deref()
            .and_then(|u| self.webhook_url(u).ok());
        Ok(Status {
            api_base: self.api_base.clone(),
            api_version: self.api_version,
            token: TokenStatus {
                configured: token.is_some(),
                source,
                masked: token.map(|t| t.masked()),
                location: token::location(source, &self.data_dir),
            },
            public_url: file.linq.public_url.clone(),
            webhook_path: self.webhook_path.clone(),
            webhook_url,
            subscription_id: file.linq.subscription_id.clone(),
            secret_source: self.secret_source,
            rotatable: matches!(
                self.secret_source,
                SecretSource::ConfigFile | SecretSource::Generated
            ),
            grace_secs: self.grace.as_secs(),
            retiring: file
                .linq
                .retiring_secrets
                .iter()
                .filter(|r| r.expires_at > now)
                .map(|r| RetiringInfo {
                    expires_at: r.expires_at,
                })
                .collect(),
        })
    }
}

pub(crate) fn split(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The secrets the listener accepts per the config file at `now`: the current ones, then the
/// rotated-out ones still in their grace period.
pub fn accepted_secrets(file: &ConfigFile, now: DateTime<Utc>) -> Vec<Secret> {
    let mut secrets: Vec<Secret> = file
        .webhook_secrets
        .iter()
        .flat_map(|s| split(s))
        .map(|s| Secret::new(&s))
        .collect();
    secrets.extend(file.linq.live_retiring(now));
    secrets
}

/// Keeps the listener's secrets in step with `config.toml` while the engine runs: a rotation
/// made by the CLI is picked up, and a retiring secret stops being accepted once its grace
/// period is over. Only for secrets the config file owns.
pub async fn keep_secrets(
    data_dir: PathBuf,
    source: SecretSource,
    secrets: Arc<RwLock<Vec<Secret>>>,
) {
    if !matches!(source, SecretSource::ConfigFile | SecretSource::Generated) {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        refresh_secrets(&data_dir, &secrets);
    }
}

/// One step of `keep_secrets`; also called right after a rotation through the UI API.
pub fn refresh_secrets(data_dir: &std::path::Path, secrets: &Arc<RwLock<Vec<Secret>>>) {
    let Ok(file) = config::load_config(data_dir) else {
        // A half-edited file keeps the secrets in force rather than dropping them.
        return;
    };
    let wanted = accepted_secrets(&file, Utc::now());
    if wanted.is_empty() {
        return;
    }
    if let Ok(mut current) = secrets.write() {
        if *current != wanted {
            *current = wanted;
        }
    }
}

/// Validates a public URL and appends the webhook path unless it ends with it already.
pub fn webhook_url(public_url: &str, webhook_path: &str) -> Result<String, String> {
    let text = public_url.trim();
    let url = reqwest::Url::parse(text).map_err(|_| {
        format!("the public URL must be the https address your tunnel printed, like https://abc.ngrok.app, not {text:?}")
    })?;
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        _ => {
            return Err(format!(
            "the public URL must start with https:// (Linq delivers only over HTTPS), not {text:?}"
        ))
        }
    }
    if host.is_empty() || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "the public URL must be a plain https address without ?query or #fragment, not {text:?}"
        ));
    }
    let base = text.trim_end_matches('/');
    if url.path().trim_end_matches('/').ends_with(webhook_path) {
        Ok(base.to_string())
    } else {
        Ok(format!("{base}{webhook_path}"))
    }
}

pub(crate) fn same_target(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// One warning per URL that more than one subscription points at.
pub fn duplicate_warnings(subscriptions: &[Subscription]) -> Vec<String> {
    let mut by_url: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for s in subscriptions {
        by_url
            .entry(s.webhook_url.trim_end_matches('/').to_ascii_lowercase())
            .or_default()
            .push(&s.id);
    }
    by_url
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(url, ids)| {
            format!(
                "{} subscriptions point at {url} ({}): Linq will deliver every event {} times; delete the extras with `linq-inbox linq disconnect ID`",
                ids.len(),
                ids.join(", "),
                ids.len()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_path_is_appended_once() {
        let p = "/webhooks/linq";
        assert_eq!(
            webhook_url("https://abc.ngrok.app/", p).as_deref(),
            Ok("https://abc.ngrok.app/webhooks/linq"),
            "the webhook path is appended to a bare public URL"
        );
        assert_eq!(
            webhook_url("https://abc.ngrok.app/webhooks/linq", p).as_deref(),
            Ok("https://abc.ngrok.app/webhooks/linq"),
            "a URL that already ends with the path is kept"
        );
        assert!(
            webhook_url("http://abc.ngrok.app", p)
                .expect_err("plain http to a remote host")
                .contains("https"),
            "plain http to a remote host is refused with a pointer to https"
        );
        assert!(
            webhook_url("http://127.0.0.1:9/", p).is_ok(),
            "plain http to this machine is allowed, for local testing"
        );
        assert!(
            webhook_url("abc.ngrok.app", p).is_err(),
            "a URL without a scheme is refused"
        );
        assert!(
            webhook_url("https://a.example/?x=1", p).is_err(),
            "a URL with a query is refused"
        );
    }

    #[test]
    fn two_subscriptions_on_one_url_are_flagged() {
        let sub = |id: &str, url: &str| Subscription {
            id: id.into(),
            webhook_url: url.into(),
            events: vec![],
            active: true,
            secret_configured: true,
            last_delivered_at: None,
            delivery_attempts: None,
            phone_numbers: None,
        };
        let warnings = duplicate_warnings(&[
            sub("1", "https://a.example/webhooks/linq"),
            sub("2", "https://a.example/webhooks/linq/"),
            sub("3", "https://b.example/webhooks/linq"),
        ]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("1, 2") && warnings[0].contains("2 times"),
            "the warning names the subscriptions and how many share the URL"
        );
    }

    #[test]
    fn accepted_secrets_drop_expired_ones() {
        let now = Utc::now();
        let mut file = ConfigFile {
            webhook_secrets: vec!["new".into()],
            ..ConfigFile::default()
        };
        file.linq.retiring_secrets = vec![
            RetiringSecret {
                secret: "old".into(),
                expires_at: now + chrono::Duration::seconds(10),
            },
            RetiringSecret {
                secret: "gone".into(),
                expires_at: now - chrono::Duration::seconds(1),
            },
        ];
        assert_eq!(
            accepted_secrets(&file, now),
            vec![Secret::new("new"), Secret::new("old")],
            "the current secret first, then the one in its grace period; never the expired one"
        );
    }
}
