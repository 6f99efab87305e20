//! What deserves a desktop notification.
//!
//! The policy is pure: it sees an engine event ([`Incoming`]), the rep's preferences, what the
//! window shows ([`Viewing`]) and the time, and answers with a [`Decision`]. It never reads the
//! clock or talks to the OS, so every rule is a unit test and the desktop shell stays a thin
//! adapter that shows what it is told. A burst from one chat is held back and released later as
//! one summary by [`Policy::tick`], which the shell calls about once a second.
//!
//! The rules, in the order they are applied:
//! 1. only inbound messages, inbound completed calls and (when enabled) reactions notify;
//! 2. nothing for the rep's own (outbound) messages, calls or reactions;
//! 3. nothing for an event kind the rep switched off;
//! 4. nothing for an event older than [`Rules::max_age`]: replays, imports, rebuilds and
//!    redeliveries after downtime are history, not news;
//! 5. nothing twice for one `event_id`;
//! 6. nothing for a muted chat, nor while do-not-disturb is switched on or a pause lasts;
//! 7. nothing for the chat the rep is looking at while the window has focus;
//! 8. more than [`Rules::burst_count`] events from one chat within [`Rules::burst_window`]
//!    become one summary;
//! 9. at most [`Rules::rate_limit`] notifications per [`Rules::rate_window`] overall; the rest
//!    become one "N more" summary once there is room again.

mod incoming;
mod policy;
mod text;

pub use incoming::{CallOutcome, Incoming, What};
pub use policy::{Decision, Kind, Notification, Policy, Rules, Suppressed, Viewing};
