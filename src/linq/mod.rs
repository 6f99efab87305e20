//! What Linq sends: the webhook envelope and events, their timestamps, and their signatures.

pub mod event;
pub mod json;
pub mod signature;
pub mod standard_webhooks;
pub mod time;
pub mod v3;
pub mod value;

pub use event::{parse_envelope, Envelope, Event, EventError};
pub use signature::{Secret, SignatureError, SignatureForm};
