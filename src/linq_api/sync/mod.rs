//! Catching up through Linq's REST API: what webhooks missed while the laptop slept, the tunnel
//! was down or the app was not running (Linq gives up on a delivery after about 25 minutes).
//!
//! `pass` is one catch-up pass (list every chat, walk each one's messages back to what the store
//! holds, log what it finds as fetched records); `control` decides when a pass runs (at start,
//! after a wake, when the listener is reachable again, on demand) and keeps its status;
//! `wake` notices the machine waking (a wall-clock jump, logind's `PrepareForSleep`). Why the
//! pass is shaped as it is: docs/ARCHITECTURE.md, "Catching up".

mod control;
mod pass;
mod wake;

pub use control::{client, CatchUp, Trigger};
pub use pass::{run_pass, PassSettings};
pub use wake::{slept, watch_clock, watch_logind};

use super::error::LinqApiError;
use crate::ingest::WriteError;
use crate::store::StoreError;

/// Why a pass did not finish, each one sentence.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Api(#[from] LinqApiError),
    #[error("no Linq integration token is set: enter it in Settings → Connect to Linq, set LINQ_INTEGRATION_TOKEN, or pipe it to `linq-inbox linq token`")]
    NoToken,
    #[error("the catch-up could not save what it fetched: {0}")]
    Write(#[from] WriteError),
    #[error("the catch-up could not read the inbox: {0}")]
    Store(#[from] StoreError),
}
