//! What the app remembers about its Linq connection, as the `[linq]` table of `config.toml`
//! (mode 0600): the API base, the public URL, the subscription it created, the integration
//! token when no OS keyring is available, and the webhook secrets that were rotated out but are
//! still accepted until their grace period ends.
//!
//! These are values of the config file, so they live with it in the bottom layer: `linq_api`
//! (which talks to Linq) reads and writes them, never the other way round.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::linq::Secret;

/// Linq's production API.
pub const DEFAULT_API_BASE: &str = "https://api.linqapp.com";

/// Checks the API base setting: an `http(s)://` URL without query; returned without a trailing
/// slash. `http:` is allowed for a local fake of the API (tests) only. The error is one sentence
/// naming the flag.
pub fn validate_api_base(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/');
    let bad = || format!("--linq-api-base must be a URL like {DEFAULT_API_BASE}, not {text:?}");
    let url = reqwest::Url::parse(trimmed).map_err(|_| bad())?;
    let local = url.host_str().map(is_loopback_host).unwrap_or(false);
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        "http" => {
            return Err(format!(
            "--linq-api-base must use https (http is only for a local test server), not {text:?}"
        ))
        }
        _ => return Err(bad()),
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(bad());
    }
    Ok(trimmed.to_string())
}

/// Which of Linq's REST APIs an account speaks. v3 is current; v2 is the vendor's legacy API
/// (`linq-api.md` Part B), with other paths, integer ids and another auth header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    #[default]
    V3,
    V2,
}

impl ApiVersion {
    /// `v3` or `v2` (any case); the error is one sentence naming the flag.
    pub fn parse(text: &str) -> Result<ApiVersion, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "v3" | "3" => Ok(ApiVersion::V3),
            "v2" | "2" => Ok(ApiVersion::V2),
            _ => Err(format!(
                "--linq-api-version must be v3 or v2 (LINQ_API_VERSION), not {text:?}"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V3 => "v3",
            ApiVersion::V2 => "v2",
        }
    }
}

/// True for `localhost` and loopback IP literals.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// An integration token. Its text never appears in `Debug` output, logs or errors.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// A token from user input: trimmed; refused when empty, too long or not printable.
    pub fn parse(text: &str) -> Result<Token, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("the integration token is empty".into());
        }
        if t.len() > 512 || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(
                "that does not look like an integration token (one line of printable characters, no spaces)"
                    .into(),
            );
        }
        Ok(Token(t.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token with all but its ends hidden, for showing it again: `lq_a…9f3c`.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 12 {
            return "•".repeat(8);
        }
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinqSection {
    /// Linq's API base, when set in the file rather than by flag or environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// Linq's REST API version for the account (`v3` or `v2`), when set in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
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
    fn the_api_version_is_v3_or_v2() {
        assert_eq!(ApiVersion::parse("V2"), Ok(ApiVersion::V2), "any case");
        assert_eq!(ApiVersion::parse(" v3 "), Ok(ApiVersion::V3), "trimmed");
        let err = ApiVersion::parse("v4").expect_err("no such API");
        assert!(err.contains("--linq-api-version"), "names the flag: {err}");
    }

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
    fn the_api_base_must_be_https_unless_local() {
        assert_eq!(
            validate_api_base("https://api.linqapp.com/").as_deref(),
            Ok("https://api.linqapp.com"),
            "the trailing slash is dropped so paths can be appended"
        );
        assert!(
            validate_api_base("http://127.0.0.1:9000").is_ok(),
            "plain http is allowed for a local fake of the API"
        );
        assert!(
            validate_api_base("http://api.linqapp.com")
                .expect_err("plain http to a remote host")
                .contains("https"),
            "the refusal says https is needed"
        );
        assert!(
            validate_api_base("ftp://x").is_err(),
            "only http(s) reaches an API"
        );
        assert!(
            validate_api_base("not a url").is_err(),
            "text that is no URL is refused"
        );
    }

    #[test]
    fn a_token_is_shown_only_masked() {
        let token = Token::parse("  lq_live_0123456789abcdef  ").expect("valid");
        assert_eq!(
            token.masked(),
            "lq_l…cdef",
            "only the token's ends are shown"
        );
        assert_eq!(
            format!("{token:?}"),
            "Token(<redacted>)",
            "Debug never prints the token"
        );
        let short = Token::parse("abc123").expect("valid");
        assert!(
            !short.masked().contains("abc"),
            "a short token shows nothing of itself"
        );
        let section = LinqSection {
            integration_token: Some(token),
            ..Default::default()
        };
        assert!(
            !format!("{section:?}").contains("0123456789"),
            "the config section's Debug hides the token"
        );
    }

    #[test]
    fn bad_tokens_are_refused_with_a_sentence() {
        assert!(Token::parse("   ").is_err(), "an empty token is refused");
        assert!(
            Token::parse("two words").is_err(),
            "a token has no whitespace"
        );
        assert!(
            Token::parse(&"x".repeat(600)).is_err(),
            "a token is at most 512 characters"
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
