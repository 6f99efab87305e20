//! What Linq sends: the webhook envelope and events, their timestamps, and their signatures.

pub mod event;
pub mod json;
pub mod signature;
pub mod time;
pub mod value;

pub use event::{parse_envelope, Envelope, Event, EventError};
pub use signature::{Secret, SignatureError, SignatureForm};
