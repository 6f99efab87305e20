//! What the app remembers about its Linq connection, as the `[linq]` table of `config.toml`
//! (mode 0600): the public URL, the subscription it created, the integration token when no OS
//! keyring is available, and the webhook secrets that were rotated out but are still accepted
//! until their grace period ends.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::token::Token;
use crate::linq::Secret;

#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinqSection {
    /// Linq's API base, when set in the file rather than by flag or environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// The integration token, only when no OS keyring could keep it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_token: Option<Token>,
    /// The tunnel's public base URL, e.g. `https://abc.ngrok.app`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The id of the subscription this app created (or adopted) at Linq.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// Secrets replaced by a rotation, each accepted until its `expires_at`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retiring_secrets: Vec<RetiringSecret>,
}

/// A rotated-out webhook secret and the moment it stops being accepted.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetiringSecret {
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for RetiringSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetiringSecret")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl LinqSection {
    pub fn is_empty(&self) -> bool {
        self == &LinqSection::default()
    }

    /// The retiring secrets still inside their grace period at `now`.
    pub fn live_retiring(&self, now: DateTime<Utc>) -> Vec<Secret> {
        self.retiring_secrets
            .iter()
            .filter(|r| r.expires_at > now)
            .map(|r| Secret::new(&r.secret))
            .collect()
    }

    /// Drops the retiring secrets whose grace period is over.
    pub fn drop_expired(&mut self, now: DateTime<Utc>) {
        self.retiring_secrets.retain(|r| r.expires_at > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_secrets_are_not_live() {
        let now = Utc::now();
        let section = LinqSection {
            retiring_secrets: vec![
                RetiringSecret {
                    secret: "old".into(),
                    expires_at: now + chrono::Duration::seconds(5),
                },
                RetiringSecret {
                    secret: "older".into(),
                    expires_at: now - chrono::Duration::seconds(5),
                },
            ],
            ..LinqSection::default()
        };
        assert_eq!(
            section.live_retiring(now),
            vec![Secret::new("old")],
            "only the secret still in its grace period is accepted"
        );
        assert!(
            !format!("{section:?}").contains("old\""),
            "Debug never prints a secret"
        );
    }

    #[test]
    fn the_section_round_trips_through_toml() {
        let section = LinqSection {
            public_url: Some("https://a.example".into()),
            subscription_id: Some("42".into()),
            retiring_secrets: vec![RetiringSecret {
                secret: "s".into(),
                expires_at: Utc::now(),
            }],
            ..LinqSection::default()
        };
        let text = toml::to_string(&section).expect("serialize");
        let back: LinqSection = toml::from_str(&text).expect("parse");
        assert_eq!(back, section, "what is saved is what is read back");
    }
}
