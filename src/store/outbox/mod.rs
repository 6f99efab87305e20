//! The outbox in the store: `queue.rs` is the sender's queue (local state, kept by `rebuild`),
//! `project.rs` folds the outbox's log rows into the inbox (the rep's bubble and its state),
//! `reactions.rs` the rep's reactions through it, `new_chat.rs` a new conversation, `read_marks.rs` read marks sent to Linq, and
//! `actions.rs` the sender's view of both.

pub mod actions;
pub mod new_chat;
pub mod project;
pub mod queue;
pub mod reactions;
pub mod read_marks;

pub use queue::{OutboxRow, Queued};
