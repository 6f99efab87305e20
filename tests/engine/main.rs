//! Integration tests: the real `linq-inbox` binary over real HTTP, one module per area, plus
//! the UI router's guards driven in-process without a socket (`router`). `harness` starts the
//! binary on free ports with a temp data folder; `linq_fake` is Linq's REST API on loopback.

mod abuse;
mod attachments;
mod auth;
mod composer;
mod composer_files;
mod contracts;
mod crash;
mod disk_full;
mod exposure;
mod harness;
mod hostile;
mod keyring;
mod linq_connect;
mod linq_connect_v3;
mod linq_fake;
mod linq_fake_account;
mod linq_fake_compose;
mod linq_fake_send;
mod linq_fake_v3;
mod linq_sync;
mod onboarding;
mod outbox;
mod projector;
mod router;
mod sse;
mod store;
mod ui;
mod upgrade;
mod v3;
mod webhook;
