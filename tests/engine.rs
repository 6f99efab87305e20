//! Integration tests: the real `linq-inbox` binary over real HTTP.

#[path = "engine/auth.rs"]
mod auth;
#[path = "engine/contracts.rs"]
mod contracts;
#[path = "engine/harness.rs"]
mod harness;
#[path = "engine/linq_connect.rs"]
mod linq_connect;
#[path = "engine/linq_fake.rs"]
mod linq_fake;
#[path = "engine/sse.rs"]
mod sse;
#[path = "engine/store.rs"]
mod store;
#[path = "engine/ui.rs"]
mod ui;
#[path = "engine/v3.rs"]
mod v3;
#[path = "engine/webhook.rs"]
mod webhook;
