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

/// A fresh client id: 128 random bits as a UUID (version 4). For replies made by the app itself
/// (`linq send`, a notification's inline reply); the web UI makes its own.
pub fn new_client_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
