//! Integration tests: the real `linq-inbox` binary over real HTTP.

#[path = "engine/abuse.rs"]
mod abuse;
#[path = "engine/auth.rs"]
mod auth;
#[path = "engine/contracts.rs"]
mod contracts;
#[path = "engine/crash.rs"]
mod crash;
#[path = "engine/disk_full.rs"]
mod disk_full;
#[path = "engine/exposure.rs"]
mod exposure;
#[path = "engine/harness.rs"]
mod harness;
#[path = "engine/hostile.rs"]
mod hostile;
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
#[path = "engine/upgrade.rs"]
mod upgrade;
#[path = "engine/v3.rs"]
mod v3;
#[path = "engine/webhook.rs"]
mod webhook;
