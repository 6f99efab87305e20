//! Talking to Linq's partner API: connect the app (create, list, update and delete the webhook
//! subscription, send a test delivery through the tunnel, rotate the webhook secret) and catch
//! up on what webhooks missed.
//!
//! `rest` is the shared core every call goes through (base, auth header per API version,
//! pacing, retries honouring `Retry-After`), `error` its one-sentence failures; on top of it,
//! one module per feature: `client` (v2 webhook subscriptions), `subscriptions_v3` (v3
//! webhook subscriptions and the account's lines) with `connect_v3` (connecting through them), `listing` (chats and messages,
//! v3 and v2), `sync` (the catch-up pass and when it runs). `token` keeps the
//! integration token (what is remembered in `config.toml`'s `[linq]` table is
//! `crate::config::linq`, the layer below), `delivery` checks the
//! path Linq → tunnel → listener → store, and `connection` is the operations the CLI
//! (`linq-inbox linq ...`) and the UI API (`/api/linq/*`) share.

pub mod client;
pub mod connect_v3;
pub mod connection;
pub mod delivery;
pub mod error;
pub mod listing;
pub mod outbox;
pub mod rest;
pub mod send;
pub mod subscriptions_v3;
pub mod sync;
pub mod token;
pub mod typing;
pub mod upload;

pub use client::{LinqApiError, LinqClient, Subscription, SubscriptionRequest};
pub use connection::{ConnectError, ConnectSettings};
pub use token::{Token, TokenSource};

/// Where the v2 subscriptions live under the base.
pub const SUBSCRIPTIONS_PATH: &str = "/api/partner/v2/webhook_subscriptions";

/// The v2 event types a subscription asks for: every type this build understands except
/// `chat.created`, which v2 subscriptions do not offer (it ends `KNOWN_EVENT_TYPES`).
pub const SUBSCRIBED_EVENTS: &[&str] = crate::linq::v2::KNOWN_EVENT_TYPES
    .split_at(crate::linq::v2::KNOWN_EVENT_TYPES.len() - 1)
    .0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_ask_for_the_v2_types_only() {
        assert_eq!(SUBSCRIBED_EVENTS.len(), 13, "the 13 documented v2 types");
        assert!(
            !SUBSCRIBED_EVENTS.contains(&"chat.created"),
            "v2 subscriptions do not offer chat.created"
        );
    }
}
