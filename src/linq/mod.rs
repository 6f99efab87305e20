//! The vendor's vocabulary, translated once at the edge: one version-free model of the inbox's
//! facts (`model.rs`), one reader per dialect that maps wire shapes into it (`v2.rs` and `v3.rs`
//! for webhooks, `api.rs` for REST API records), the envelope every delivery carries, their
//! timestamps, and their signatures.

pub mod api;
pub mod data;
pub mod envelope;
pub mod error;
pub mod fetched;
pub mod json;
pub mod model;
pub mod outbox;
mod shapes;
pub mod signature;
pub mod standard_webhooks;
pub mod time;
pub mod v2;
pub mod v3;
pub mod value;

pub use envelope::parse_envelope;
pub use error::EventError;
pub use model::*;
pub use signature::{Secret, SignatureError, SignatureForm};
