//! Watching the path Linq → tunnel → listener: a test delivery through the saved public
//! address at start and then every `--self-test-secs` (more often while it fails). The last
//! report is `path` in `GET /api/linq`, which Setup shows as a banner saying at which stage the
//! path breaks; each check tells the catch-up pass whether the listener is reachable, so a
//! recovery fetches what Linq gave up delivering meanwhile.

use std::sync::Arc;
use std::time::Duration;

use super::connect::{check_path, ConnectState};
use crate::linq_api::delivery;

/// While the path is broken it is checked at least this often, so a recovery shows soon.
const RETRY_WHEN_FAILING: Duration = Duration::from_secs(30);

/// Runs until the engine stops. `every` zero: never (the setting turned it off).
pub async fn watch_path(state: Arc<ConnectState>, every: Duration) {
    if every.is_zero() {
        return;
    }
    loop {
        let ok = check_once(&state).await;
        let wait = if ok {
            every
        } else {
            every.min(RETRY_WHEN_FAILING)
        };
        tokio::time::sleep(wait).await;
    }
}

/// One check when the app is connected; true when the path works or there is none to check.
async fn check_once(state: &Arc<ConnectState>) -> bool {
    let connected = crate::config::load_config(&state.connection.data_dir)
        .map(|f| f.linq.public_url.is_some())
        .unwrap_or(false);
    if !connected {
        return true;
    }
    match check_path(state, None, delivery::DEFAULT_TIMEOUT).await {
        Ok(report) => {
            if !report.ok {
                tracing::warn!(stage = ?report.stage, message = %report.message, "the self-test delivery failed");
            }
            report.ok
        }
        Err(_) => {
            tracing::warn!("the self-test delivery could not run (no secret, or a bad public URL)");
            false
        }
    }
}
