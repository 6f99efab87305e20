//! Watching the path Linq → tunnel → listener: a test delivery through the saved public
//! address at start, after the machine wakes, and then every `--self-test-secs` (more often
//! while it fails). The last
//! report is `path` in `GET /api/linq`, which Setup shows as a banner saying at which stage the
//! path breaks; each check tells the catch-up pass whether the listener is reachable, so a
//! recovery fetches what Linq gave up delivering meanwhile.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::connect::{check_path, ConnectState};
use crate::linq_api::delivery;

/// While the path is broken it is checked at least this often, so a recovery shows soon.
const RETRY_WHEN_FAILING: Duration = Duration::from_secs(30);
/// How often the clocks are compared to notice a wake (`crate::linq_api::sync::slept`).
const WAKE_TICK: Duration = Duration::from_secs(5);

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
        wait_or_wake(wait).await;
    }
}

/// Sleeps `wait`, or less when the machine wakes from a sleep meanwhile: a tunnel rarely
/// survives one, and a laptop often wakes on another network.
async fn wait_or_wake(wait: Duration) {
    let until = Instant::now() + wait;
    let (mut wall, mut mono) = (SystemTime::now(), Instant::now());
    while Instant::now() < until {
        tokio::time::sleep(WAKE_TICK.min(until.saturating_duration_since(Instant::now()))).await;
        let (now_wall, now_mono) = (SystemTime::now(), Instant::now());
        if crate::linq_api::sync::slept(wall, mono, now_wall, now_mono) {
            tracing::info!("the machine woke up; checking the path Linq delivers through");
            return;
        }
        (wall, mono) = (now_wall, now_mono);
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
