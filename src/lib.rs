//! Linq Inbox engine: receives Linq's signed webhooks, stores them durably in SQLite, projects
//! them into an inbox, and serves a local UI API with a live event stream.

pub mod attachments;
pub mod cli_docs;
pub mod config;
pub mod engine;
pub mod feed;
pub mod http;
pub mod ingest;
pub mod linq;
pub mod linq_api;
pub mod memory;
pub mod notify;
pub mod simulate;
pub mod store;
pub mod tunnel;
