//! Messages: their rows, attachments, text parts and edits, and what Linq reports about them
//! (read receipts, deliveries, failures); projected by `project.rs`, read by `read.rs`.

pub mod project;
pub mod read;

pub use read::{carrying, message, MessageRow};
