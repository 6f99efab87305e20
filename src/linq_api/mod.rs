//! Talking to Linq's partner API (v2) to connect the app: create, list, update and delete the
//! webhook subscription, send a test delivery through the tunnel, rotate the webhook secret.
//!
//! `client` is the typed HTTP client (one clear sentence per failure), `token` keeps the
//! integration token, `profile` is what is remembered in `config.toml`, `delivery` checks the
//! path Linq → tunnel → listener → store, and `connection` is the operations the CLI
//! (`linq-inbox linq ...`) and the UI API (`/api/linq/*`) share.

pub mod client;
pub mod connection;
pub mod delivery;
pub mod profile;
pub mod token;

pub use client::{LinqApiError, LinqClient, Subscription, SubscriptionRequest};
pub use connection::{ConnectError, Connection};
pub use token::{Token, TokenSource};

/// Linq's production API.
pub const DEFAULT_API_BASE: &str = "https://api.linqapp.com";
/// Where the v2 subscriptions live under the base.
pub const SUBSCRIPTIONS_PATH: &str = "/api/partner/v2/webhook_subscriptions";

/// The v2 event types a subscription asks for: every type this build understands except
/// `chat.created`, which v2 subscriptions do not offer (it ends `KNOWN_EVENT_TYPES`).
pub const SUBSCRIBED_EVENTS: &[&str] = crate::linq::v2::KNOWN_EVENT_TYPES
    .split_at(crate::linq::v2::KNOWN_EVENT_TYPES.len() - 1)
    .0;

/// Checks the API base setting: an `http(s)://` URL without query; returned without a trailing
/// slash. `http:` is allowed for a local fake of the API (tests) only.
pub fn validate_base(text: &str) -> Result<String, String> {
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

/// True for `localhost` and loopback IP literals.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_ask_for_the_v2_types_only() {
        assert_eq!(SUBSCRIBED_EVENTS.len(), 13, "the 13 documented v2 types");
        assert!(!SUBSCRIBED_EVENTS.contains(&"chat.created"));
    }

    #[test]
    fn the_api_base_must_be_https_unless_local() {
        assert_eq!(
            validate_base("https://api.linqapp.com/").as_deref(),
            Ok("https://api.linqapp.com")
        );
        assert!(validate_base("http://127.0.0.1:9000").is_ok());
        assert!(validate_base("http://api.linqapp.com")
            .expect_err("plain http to a remote host")
            .contains("https"));
        assert!(validate_base("ftp://x").is_err());
        assert!(validate_base("not a url").is_err());
    }
}
