//! Chats: their handles and names, unread counts, group membership and system lines (a group
//! renamed, location shared); projected by `project.rs` and `system.rs`, read by `read.rs`
//! (the chat list itself is `store::chat_list`, which also reads messages).

pub mod project;
pub mod read;
pub mod service;
pub mod system;

pub use read::unread_total;
