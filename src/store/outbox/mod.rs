//! The outbox in the store: `queue.rs` is the sender's queue (local state, kept by `rebuild`),
//! `project.rs` folds the outbox's log rows into the inbox (the rep's bubble and its state).

pub mod project;
pub mod queue;

pub use queue::{OutboxRow, Queued};
