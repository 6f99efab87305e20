//! Chats: their handles and names, unread counts, group membership and system lines (a group
//! renamed, location shared); projected by `project.rs` and `system.rs`, summarized for the
//! chat list by `read.rs` and `summaries.rs`.

pub mod project;
pub mod read;
mod summaries;
pub mod system;

pub use read::{chat, chat_knowing, chat_titles, chats, unread_total};
