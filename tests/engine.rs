//! Integration tests: the real `linq-inbox` binary over real HTTP.

#[path = "engine/harness.rs"]
mod harness;
#[path = "engine/webhook.rs"]
mod webhook;
#[path = "engine/store.rs"]
mod store;
#[path = "engine/ui.rs"]
mod ui;
#[path = "engine/auth.rs"]
mod auth;
#[path = "engine/sse.rs"]
mod sse;
